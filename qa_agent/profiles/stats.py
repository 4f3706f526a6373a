"""The statistics of a profile, vectorised over every (subject, node) cell at once.

Design decisions:
- Every statistic comes from per-cell sums (count, sum, sum of squares, and a histogram of the distinct score values)
  computed with one ``np.bincount`` over the items and pushed up the tree with one matrix product, so a profile of
  50 subjects x 1,000,000 items costs a few passes over the arrays, not a loop over cells.
- Intervals: a proportion (a label share, or any 0/1 score) gets the exact-coverage-leaning Wilson interval; a score
  gets a percentile bootstrap (`B` resamples, fixed seed) drawn as multinomial counts over the cell's histogram of
  distinct values, which is the same distribution as resampling the items but costs O(B x distinct values) per cell
  whatever its size. A score with more than `MAX_DISTINCT` distinct values falls back to the normal interval.
- Strengths and weaknesses are the subject x node *interaction*, estimated robustly: the (subjects x nodes) table of
  means at each depth of the tree is median-polished (Tukey) and a cell's residual is its effect, tested with a
  two-sided z test (see `interaction`). A category that is hard for everyone, or a subject that is behind everywhere,
  gives no effect; only a departure from the subject's own standing does, and, because the fit uses medians, one
  large departure does not show up as spurious opposite findings in the other categories (a mean-based contrast
  does exactly that: a planted weakness made every other category of that subject a "strength"). p-values are
  corrected per subject over the nodes tested (Holm by default, Benjamini-Hochberg on request); a node is tested
  only when the subject has `min_items` items inside it and outside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DISTINCT = 64   # a score with more distinct values than this gets the normal interval, not the bootstrap
Z95 = 1.959963984540054


@dataclass
class Cells:
    """(S subjects, N nodes) arrays: counts, sums and sums of squares of the items under each node."""

    n: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    hist: np.ndarray | None = None    # (S, N, K) counts of each distinct value, when there are few
    values: np.ndarray | None = None  # (K,) the distinct values

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.s1 / self.n

    @property
    def var(self) -> np.ndarray:
        """Sample variance (ddof 1); nan below two items."""
        return _var(self.n, self.s1, self.s2)


def _var(n, s1, s2):
    with np.errstate(invalid="ignore", divide="ignore"):
        v = (s2 - s1 * s1 / n) / (n - 1)
    v = np.where(n >= 2, np.maximum(v, 0.0), np.nan)
    return v


def cell_sums(subj: np.ndarray, node: np.ndarray, y: np.ndarray, n_subjects: int, desc: np.ndarray,
              with_hist: bool = True) -> Cells:
    """Sums per (subject, node) with every item counted at its node and all the node's ancestors.

    `node` is each item's own node (0, the root, for an item that reached no category); `desc` is
    `Tree.descendants()`."""
    n_nodes = desc.shape[0]
    key = subj.astype(np.int64) * n_nodes + node.astype(np.int64)
    size = n_subjects * n_nodes

    def up(w):   # sums at each item's own node, then over every node's subtree
        base = np.bincount(key, weights=w, minlength=size).reshape(n_subjects, n_nodes)
        return base @ desc.T

    n = up(None)
    s1 = up(y)
    s2 = up(y * y)
    cells = Cells(n=n, s1=s1, s2=s2)
    if with_hist:
        values, inverse = np.unique(y, return_inverse=True)
        if len(values) <= MAX_DISTINCT:
            k = len(values)
            base = np.bincount(key * k + inverse, minlength=size * k).reshape(n_subjects, n_nodes, k)
            cells.hist = np.einsum("snk,vn->svk", base.astype(np.float64), desc)
            cells.values = values.astype(np.float64)
    return cells


def is_proportion(y: np.ndarray) -> bool:
    return bool(len(y)) and bool(np.all((y == 0) | (y == 1)))


def wilson(n: np.ndarray, s1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (95%) for a proportion s1/n; nan where n is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s1 / n
        den = 1 + Z95 ** 2 / n
        mid = (p + Z95 ** 2 / (2 * n)) / den
        half = Z95 * np.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / den
    return mid - half, mid + half


def bootstrap(cells: Cells, n_boot: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap 95% interval of each cell's mean, as multinomial draws over its value histogram."""
    rng = np.random.default_rng(seed)
    S, N = cells.n.shape
    lo = np.full((S, N), np.nan)
    hi = np.full((S, N), np.nan)
    if cells.hist is None:   # many distinct values: the normal interval
        se = np.sqrt(cells.var / cells.n)
        return cells.mean - Z95 * se, cells.mean + Z95 * se
    vals = cells.values
    for s in range(S):        # one subject at a time bounds memory at B x N x K
        n = cells.n[s].astype(np.int64)
        ok = n > 0
        if not ok.any():
            continue
        p = cells.hist[s][ok] / n[ok, None]
        p = p / p.sum(axis=1, keepdims=True)
        draws = rng.multinomial(n[ok], p, size=(n_boot, int(ok.sum())))
        means = draws @ vals / n[ok]
        lo[s, ok], hi[s, ok] = np.percentile(means, [2.5, 97.5], axis=0)
    return lo, hi


def ranks(mean: np.ndarray, n: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Rank of each subject at each node (1 = best; ties share the better rank); nan where it has no items."""
    m = np.where(n > 0, mean if higher_is_better else -mean, np.nan)
    filled = np.where(np.isnan(m), -np.inf, m)
    # rank = 1 + number of subjects strictly better
    better = (filled[None, :, :] > filled[:, None, :]).sum(axis=1)
    return np.where(np.isnan(m), np.nan, 1.0 + better)


def _group_var(n, s1, s2, proportion: bool):
    if proportion:   # binomial variance with a half-count of smoothing, so 0% and 100% cells still have spread
        p = (s1 + 0.5) / (n + 1.0)
        return p * (1 - p)
    return _var(n, s1, s2)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    """Two-sided normal p-value (math.erfc over the few S x N values; no scipy import on the common path)."""
    import math

    z = np.asarray(z, dtype=np.float64)
    return np.vectorize(lambda v: math.erfc(abs(v) / math.sqrt(2.0)) if np.isfinite(v) else np.nan,
                        otypes=[np.float64])(z) if z.size else z.copy()


@dataclass
class Interaction:
    """(S, N) arrays of the subject x node test; nan where the node was not tested for the subject."""

    effect: np.ndarray       # score points: (in - others in) - (out - others out)
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    p_adj: np.ndarray
    tested: np.ndarray       # bool
    others_in: np.ndarray    # mean of the other subjects inside the node
    sd: np.ndarray           # pooled item standard deviation of the node, for a standardised effect


def median_polish(table: np.ndarray, iterations: int = 10) -> np.ndarray:
    """Tukey's median polish of a (subjects x categories) table of means (nan = empty): the fitted
    overall + row + column values; a single outlying cell barely moves the fit, so it stands out as a residual."""
    res = table.copy()
    fit = np.zeros_like(table)
    for _ in range(iterations):
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)   # an all-empty row or column
                row = np.nan_to_num(np.nanmedian(res, axis=1, keepdims=True))
                res = res - row
                col = np.nan_to_num(np.nanmedian(res, axis=0, keepdims=True))
                res = res - col
        fit = fit + row + col
    return fit


def interaction(cells: Cells, depth: np.ndarray, min_items: int = 20, proportion: bool = False,
                correction: str = "holm", test_cells: Cells | None = None) -> Interaction:
    """The subject x node test for every subject and node (the root excluded), corrected per subject.

    For the nodes of each depth, the (subjects x nodes) table of means is median-polished; a node's effect for a
    subject is its residual: how far the subject's mean there is from what its overall level and the category's
    difficulty predict. Medians, not means, so one strong departure (a planted weakness) does not make every other
    category look like a strength. ``se^2 = v_in/n_in + pi/2 (v_others/n_others + v_subject/n_subject)``: the cell's
    own error plus a conservative allowance for the fitted column and row. `test_cells` (scores centred on their
    unit's mean, when items come in units such as one task answered by every model) gives the test's means and
    variances; the reported means stay the raw ones."""
    tc = test_cells or cells
    n, s1, s2 = tc.n, tc.s1, tc.s2
    tn, t1, t2 = n.sum(axis=0), s1.sum(axis=0), s2.sum(axis=0)          # all subjects, per node
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
        effect = np.full_like(mean, np.nan)
        for d in np.unique(depth[depth > 0]):
            cols = np.flatnonzero(depth == d)
            table = np.where(n[:, cols] >= min(min_items, 2), mean[:, cols], np.nan)
            effect[:, cols] = table - median_polish(table)
        v_in = _group_var(n, s1, s2, proportion) / n
        on, o1, o2 = tn - n, t1 - s1, t2 - s2
        v_oth = _group_var(on, o1, o2, proportion) / on
        v_subj = (_group_var(n[:, :1], s1[:, :1], s2[:, :1], proportion) / n[:, :1])
        se = np.sqrt(v_in + np.pi / 2 * (v_oth + v_subj))
        z = effect / se
        sd = np.sqrt(_group_var(cells.n.sum(axis=0), cells.s1.sum(axis=0), cells.s2.sum(axis=0),
                                proportion))[None, :] * np.ones_like(n)
        others_in = (cells.s1.sum(axis=0) - cells.s1) / (cells.n.sum(axis=0) - cells.n)
    tested = (n >= min_items) & (on >= 2) & (n[:, :1] - n >= min_items) & np.isfinite(z) & (se > 0)
    tested[:, 0] = False
    p = np.where(tested, two_sided_p(np.where(tested, z, 0.0)), np.nan)
    p_adj = np.full_like(p, np.nan)
    for s in range(n.shape[0]):
        idx = np.flatnonzero(tested[s])
        if len(idx):
            p_adj[s, idx] = adjust(p[s, idx], correction)
    return Interaction(effect=np.where(tested, effect, np.nan), se=se, z=np.where(tested, z, np.nan), p=p,
                       p_adj=p_adj, tested=tested, others_in=others_in, sd=sd)


def adjust(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) adjusted p-values."""
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    elif method in ("bh", "fdr", "benjamini-hochberg"):
        adj = np.minimum.accumulate(m / np.arange(m, 0, -1) * ranked[::-1])[::-1]
    else:
        from earful.errors import InputError

        raise InputError(f"unknown correction '{method}'", hint="use holm or bh")
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


def compare_subjects(cells: Cells, idx: list[int], proportion: bool = False, min_items: int = 20,
                     correction: str = "holm") -> dict[str, np.ndarray]:
    """Per node, how the subjects `idx` differ: two subjects get Welch's z test of the difference with Cohen's d;
    more get the Wald chi-square test of equal means (df k-1) with the range of means and eta squared. p-values are
    corrected over the nodes tested."""
    n, s1, s2 = cells.n[idx], cells.s1[idx], cells.s2[idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        m = s1 / n
        v = _group_var(n, s1, s2, proportion)
        w = n / v
        tested = (n.min(axis=0) >= min_items) & np.all(np.isfinite(w) & (w > 0), axis=0)
        if len(idx) == 2:
            diff = m[0] - m[1]
            se = np.sqrt(v[0] / n[0] + v[1] / n[1])
            stat = diff / se
            pooled = np.sqrt(((n[0] - 1) * v[0] + (n[1] - 1) * v[1]) / (n[0] + n[1] - 2))
            effect = diff / pooled
            p = two_sided_p(np.where(tested, stat, 0.0))
            test = "Welch z test of the difference in means"
            effect_name = "Cohen's d"
        else:
            from scipy.special import chdtrc  # the chi-square survival function (scipy.stats imports for ~5 s)

            mw = (w * m).sum(axis=0) / w.sum(axis=0)
            stat = (w * (m - mw) ** 2).sum(axis=0)
            diff = m.max(axis=0) - m.min(axis=0)
            grand = s1.sum(axis=0) / n.sum(axis=0)
            ss_between = (n * (m - grand) ** 2).sum(axis=0)
            ss_total = s2.sum(axis=0) - n.sum(axis=0) * grand ** 2
            effect = ss_between / ss_total
            p = chdtrc(len(idx) - 1, np.where(tested, stat, 0.0))
            test = f"Wald chi-square test of equal means (df {len(idx) - 1})"
            effect_name = "eta squared"
    p = np.where(tested, p, np.nan)
    p_adj = np.full_like(p, np.nan)
    t = np.flatnonzero(tested)
    if len(t):
        p_adj[t] = adjust(p[t], correction)
    return {"mean": m, "n": n, "diff": diff, "stat": stat, "effect": effect, "p": p, "p_adj": p_adj,
            "tested": tested, "test": test, "effect_name": effect_name}
