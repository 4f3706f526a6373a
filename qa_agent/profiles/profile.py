"""Feedbacker-style profiles: per subject and category node, a score with its interval and rank, and the strengths
and weaknesses that survive a multiple-testing correction, each with representative quotes.

Design decision: `profile_from_arrays` is the whole computation over plain arrays (subject, score, category), so
the tests, the benchmark and the database path share it; `build_profile` only reads the items from the workspace,
calls it, and adds quotes. Every subject present is used for the statistics ("the other subjects" are all of them);
`subjects` only chooses which are reported and compared. See `stats` for the test and the intervals.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from earful.errors import InputError
from earful.qa_agent.profiles import stats
from earful.qa_agent.profiles.tree import Tree, tree_from_values


@dataclass
class Quote:
    item_id: str
    text: str
    score: float


@dataclass
class Finding:
    """A significant strength or weakness of one subject at one node."""

    subject: str
    kind: str                 # "weakness" | "strength"
    node: str                 # the node's path, " / "-joined
    depth: int
    n: int
    mean: float
    lo: float
    hi: float
    overall_mean: float
    others_mean: float
    effect: float             # interaction, in score units (see stats)
    effect_sd: float          # the effect over the node's item standard deviation
    rank: float
    overall_rank: float
    z: float
    p: float
    p_adj: float
    test: str
    quotes: list[Quote] = field(default_factory=list)
    quote_space: str = ""
    item_ids: list[str] = field(default_factory=list)
    node_id: int = 0          # the node's index in the profile's tree


@dataclass
class Comparison:
    """Where two or more subjects differ most: per node, the test of the difference and its effect size."""

    subjects: list[str]
    test: str
    effect_name: str
    rows: list[dict]          # sorted: significant first, then by adjusted p, then by the size of the difference

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Profile:
    source: str
    subject_column: str
    measure: str              # "score" or "share of <column> = <value>"
    proportion: bool
    tree: Tree
    subjects: list[str]       # reported subjects
    all_subjects: list[str]   # every subject the statistics used
    n: np.ndarray             # (S_all, N) arrays below, rows in all_subjects order
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    rank: np.ndarray
    inter: stats.Interaction
    findings: list[Finding]
    comparison: Comparison | None
    notes: list[str]
    params: dict
    interval: str

    # -- lookups --------------------------------------------------------------------------------------------
    def _s(self, subject: str) -> int:
        try:
            return self.all_subjects.index(subject)
        except ValueError:
            raise InputError(f"no subject '{subject}' in this profile",
                             hint="subjects: " + ", ".join(self.all_subjects)) from None

    def find_node(self, query: str) -> int:
        """The node a user's words name: its path, its exact name, else the one node whose name contains the words
        (case-insensitive); an unknown or ambiguous query is an error listing the candidates."""
        idx, why = self.tree.resolve(query)
        if idx is not None:
            return idx
        q = query.strip().lower()
        hits = [i for i, nd in enumerate(self.tree.nodes) if i and q in nd.name.lower()]
        if len(hits) == 1:
            return hits[0]
        names = [self.tree.nodes[h].label for h in hits] or [nd.label for nd in self.tree.nodes[1:]][:20]
        raise InputError(f"'{query}' {'names several' if hits else 'names no'} categories of the tree",
                         hint="categories: " + "; ".join(names))

    def weaknesses(self, subject: str) -> list[Finding]:
        return [f for f in self.findings if f.subject == subject and f.kind == "weakness"]

    def strengths(self, subject: str) -> list[Finding]:
        return [f for f in self.findings if f.subject == subject and f.kind == "strength"]

    def node_rows(self, subject: str | None = None) -> list[dict]:
        """One row per (subject, node): n, mean and interval, rank, gaps to the subject's overall rank and mean,
        the other subjects' mean, the interaction effect and its adjusted p."""
        out = []
        sign = 1.0 if self.params["higher_is_better"] else -1.0
        for name in [subject] if subject else self.subjects:
            s = self._s(name)
            for v, nd in enumerate(self.tree.nodes):
                n = int(self.n[s, v])
                tested = bool(self.inter.tested[s, v])
                sig = tested and self.inter.p_adj[s, v] < self.params["alpha"]
                out.append({
                    "subject": name, "node": nd.label, "depth": nd.depth, "n": n,
                    "mean": _num(self.mean[s, v]), "lo": _num(self.lo[s, v]), "hi": _num(self.hi[s, v]),
                    "rank": _num(self.rank[s, v]), "rank_gap": _num(self.rank[s, v] - self.rank[s, 0]),
                    "mean_gap": _num(self.mean[s, v] - self.mean[s, 0]),
                    "others_mean": _num(self.inter.others_in[s, v]) if v else None,
                    "effect": _num(self.inter.effect[s, v]), "p_adj": _num(self.inter.p_adj[s, v]),
                    "finding": ("" if not sig else "weakness" if sign * self.inter.effect[s, v] < 0 else "strength"),
                })
        return out

    def weakest(self, subject: str, k: int = 3) -> dict:
        """'Where is X weakest?': its significant weaknesses and the statement (which says so when there are none),
        plus the `k` categories with the most negative effect whether significant or not (``p_adj`` tells)."""
        weak = self.weaknesses(subject)
        rows = [r for r in self.node_rows(subject) if r["effect"] is not None]
        sign = 1.0 if self.params["higher_is_better"] else -1.0
        rows.sort(key=lambda r: sign * r["effect"])
        return {"subject": subject, "significant": [_finding_json(f) for f in weak[:k]],
                "statement": self.statement(subject, "weakness"), "lowest_effects": rows[:k]}

    def weakest_subject(self, node_query: str) -> dict:
        """'Which model is weakest at coding?': the subjects ranked at the node, lowest first, with intervals."""
        v = self.find_node(node_query)
        sign = 1.0 if self.params["higher_is_better"] else -1.0
        order = sorted((s for s in range(len(self.all_subjects)) if self.n[s, v] > 0),
                       key=lambda s: sign * self.mean[s, v])
        rows = [{"subject": self.all_subjects[s], "n": int(self.n[s, v]), "mean": _num(self.mean[s, v]),
                 "lo": _num(self.lo[s, v]), "hi": _num(self.hi[s, v]), "rank": _num(self.rank[s, v])} for s in order]
        return {"node": self.tree.nodes[v].label, "ranking": rows,
                "weakest": rows[0]["subject"] if rows else None}

    def compare(self, subjects: list[str]) -> Comparison:
        return _comparison(self, subjects)

    def statement(self, subject: str, kind: str) -> str:
        found = [f for f in self.findings if f.subject == subject and f.kind == kind]
        if not found:
            return (f"{subject}: no significant {kind} (no category departs from its overall standing after "
                    f"{self.params['correction'].title()} correction at {self.params['alpha']:g}, "
                    f"categories with at least {self.params['min_items']} items)")
        plural = "" if len(found) == 1 else "es" if kind == "weakness" else "s"
        return f"{subject}: {len(found)} significant {kind}{plural}: " + "; ".join(
            f"{f.node} ({f.mean:.2f}, others {f.others_mean:.2f}; overall {f.overall_mean:.2f}; "
            f"effect {f.effect:+.2f}, p_adj {f.p_adj:.2g})" for f in found)

    # -- outputs --------------------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"source": self.source, "subject_column": self.subject_column, "measure": self.measure,
                "interval": self.interval, "params": self.params, "notes": self.notes,
                "tree": self.tree.to_dict(), "subjects": self.subjects,
                "nodes": self.node_rows(),
                "findings": [_finding_json(f) for f in self.findings],
                "statements": {s: [self.statement(s, "weakness"), self.statement(s, "strength")]
                               for s in self.subjects},
                "comparison": self.comparison.to_json() if self.comparison else None}

    def frames(self) -> dict:
        """The profile as polars frames (nodes, findings, comparison) for the notebook API."""
        import polars as pl

        finds = [{k: v for k, v in asdict(f).items() if k not in ("quotes", "item_ids")} |
                 {"quotes": [q.text for q in f.quotes], "quote_ids": [q.item_id for q in f.quotes]}
                 for f in self.findings]
        out = {"nodes": pl.DataFrame(self.node_rows(), infer_schema_length=None),
               "findings": pl.DataFrame(finds, infer_schema_length=None) if finds else pl.DataFrame()}
        if self.comparison:
            out["comparison"] = pl.DataFrame(
                [{k: v for k, v in r.items() if k != "means"} for r in self.comparison.rows], infer_schema_length=None)
        return out


MAX_JSON_IDS = 200   # item ids listed per finding in JSON (all of them stay on the Finding)


def _finding_json(f: Finding) -> dict:
    d = asdict(f)
    d["item_ids_total"] = len(f.item_ids)
    d["item_ids"] = f.item_ids[:MAX_JSON_IDS]
    return d


def _num(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else round(x, 6)


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, each item's index into them), None as ''. pandas' hash-based factorize when it is
    installed (it comes with BERTopic): np.unique sorts a million Python strings ~50x slower."""
    arr = np.asarray(values, dtype=object)
    try:
        import pandas as pd
    except ImportError:   # pragma: no cover - pandas comes with bertopic
        arr = np.array(["" if v is None else str(v) for v in arr], dtype=object)
        return np.unique(arr, return_inverse=True)
    codes, uniques = pd.factorize(pd.Series(arr).fillna("").astype(str), sort=True)
    return np.asarray(uniques, dtype=object), codes.astype(np.int64)


def node_index(tree: Tree, category: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each item's node (0 for an item that reached none) and notes on the values that named no node."""
    values, inverse = factorize(category)
    mapped = np.zeros(len(values), dtype=np.int64)
    problems: dict[str, int] = {}
    counts = np.bincount(inverse, minlength=len(values))
    for k, val in enumerate(values):
        idx, why = tree.resolve(val)
        if idx is None:
            problems[why] = problems.get(why, 0) + int(counts[k])
        else:
            mapped[k] = idx
    notes = [f"{n} items in no category: {why}" for why, n in sorted(problems.items(), key=lambda kv: -kv[1])[:10]]
    if len(values) and not mapped.any():
        examples = ", ".join(repr(str(v)) for v in values[:3])
        raise InputError(f"no item's category names a node of the tree {tree.origin or ''}: the categories are "
                         f"{examples}{', ...' if len(values) > 3 else ''}; the tree's top nodes are "
                         f"{', '.join(repr(tree.nodes[i].name) for i in tree.top[:5])}",
                         hint="give a tree whose nodes are these categories (by name or path), or another "
                              "--category-column")
    return mapped[inverse], notes


def profile_from_arrays(subject, y, category, tree: Tree | None = None, *, subjects: list[str] | None = None,
                        min_items: int = 20, alpha: float = 0.05, correction: str = "holm", n_boot: int = 1000,
                        seed: int = 0, higher_is_better: bool = True, intervals: bool = True,
                        proportion: bool | None = None, source: str = "", subject_column: str = "subject",
                        measure: str = "score", notes: list[str] | None = None, unit=None) -> Profile:
    """The profile of items given as arrays. `category` values name tree nodes (see `Tree.resolve`); with no tree,
    the tree is made from the category values. `intervals=False` skips the bootstrap (the null-seed tests). `unit`
    (one value per item, e.g. the task each response answers) makes the test paired: scores are centred on their
    unit's mean before testing, which takes the units' difficulty out of the noise."""
    subject = np.asarray(subject, dtype=object)
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        raise InputError("the profile has no items", hint="check the source, the subject and score columns")
    if tree is None:
        tree = tree_from_values(category)
    names, subj_idx = factorize(subject)
    all_subjects = names.tolist()
    node, node_notes = node_index(tree, category)
    proportion = stats.is_proportion(y) if proportion is None else proportion
    desc = tree.descendants()
    cells = stats.cell_sums(subj_idx, node, y, len(all_subjects), desc, with_hist=intervals and not proportion)
    mean = cells.mean
    if not intervals:
        lo = hi = np.full_like(mean, np.nan)
        interval = "none"
    elif proportion:
        lo, hi = stats.wilson(cells.n, cells.s1)
        interval = "Wilson 95%"
    else:
        lo, hi = stats.bootstrap(cells, n_boot=n_boot, seed=seed)
        interval = f"bootstrap 95% ({n_boot} resamples, seed {seed})" if cells.hist is not None else \
            "normal 95% (too many distinct scores to bootstrap by histogram)"
    rank = stats.ranks(mean, cells.n, higher_is_better)
    test_cells = None
    if unit is not None:   # paired design: test on scores centred on their unit's mean
        _, u = factorize(unit)
        centred = y - (np.bincount(u, weights=y) / np.bincount(u))[u]
        test_cells = stats.cell_sums(subj_idx, node, centred, len(all_subjects), desc, with_hist=False)
    depth = np.array([nd.depth for nd in tree.nodes])
    inter = stats.interaction(cells, depth, min_items=min_items, proportion=proportion, correction=correction,
                              test_cells=test_cells)
    chosen = list(subjects) if subjects else all_subjects
    for s in chosen:
        if s not in all_subjects:
            raise InputError(f"no items for subject '{s}'", hint="subjects: " + ", ".join(all_subjects[:30]))
    params = {"min_items": min_items, "alpha": alpha, "correction": correction, "n_boot": n_boot, "seed": seed,
              "higher_is_better": higher_is_better, "n_items": int(len(y)), "n_nodes": len(tree)}
    prof = Profile(source=source, subject_column=subject_column, measure=measure, proportion=proportion, tree=tree,
                   subjects=chosen, all_subjects=all_subjects, n=cells.n, mean=mean, lo=lo, hi=hi, rank=rank,
                   inter=inter, findings=[], comparison=None, notes=list(notes or []) + node_notes, params=params,
                   interval=interval)
    prof._cells = cells   # kept for comparisons
    prof._node = node
    prof._subj = subj_idx
    prof.findings = _findings(prof, chosen)
    if len(chosen) >= 2:
        prof.comparison = _comparison(prof, chosen)
    return prof


TEST_NAME = ("z test of the subject x category interaction: the residual of a median polish of the subjects x "
             "categories table of means")


def _findings(prof: Profile, chosen: list[str]) -> list[Finding]:
    out = []
    alpha = prof.params["alpha"]
    sign = 1.0 if prof.params["higher_is_better"] else -1.0
    it = prof.inter
    for name in chosen:
        s = prof.all_subjects.index(name)
        for v in np.flatnonzero(it.tested[s] & (it.p_adj[s] < alpha)):
            nd = prof.tree.nodes[v]
            eff = float(it.effect[s, v])
            out.append(Finding(
                subject=name, kind="weakness" if sign * eff < 0 else "strength", node=nd.label, depth=nd.depth,
                n=int(prof.n[s, v]), mean=float(prof.mean[s, v]), lo=float(prof.lo[s, v]), hi=float(prof.hi[s, v]),
                overall_mean=float(prof.mean[s, 0]), others_mean=float(it.others_in[s, v]), effect=eff,
                effect_sd=float(eff / it.sd[s, v]) if it.sd[s, v] > 0 else float("nan"),
                rank=float(prof.rank[s, v]), overall_rank=float(prof.rank[s, 0]), z=float(it.z[s, v]),
                p=float(it.p[s, v]), p_adj=float(it.p_adj[s, v]), test=TEST_NAME, node_id=int(v)))
    out.sort(key=lambda f: (f.subject, f.kind != "weakness", f.p_adj, -abs(f.effect)))
    return out


def _comparison(prof: Profile, names: list[str]) -> Comparison:
    if len(names) < 2:
        raise InputError("a comparison needs at least two subjects", hint="e.g. --subjects a,b")
    idx = [prof._s(n) for n in names]
    res = stats.compare_subjects(prof._cells, idx, proportion=prof.proportion, min_items=prof.params["min_items"],
                                 correction=prof.params["correction"])
    rows = []
    for v, nd in enumerate(prof.tree.nodes):
        tested = bool(res["tested"][v])
        rows.append({"node": nd.label, "depth": nd.depth,
                     "means": {n: _num(res["mean"][k, v]) for k, n in enumerate(names)},
                     "n": {n: int(res["n"][k, v]) for k, n in enumerate(names)},
                     "difference": _num(res["diff"][v]), "statistic": _num(res["stat"][v]) if tested else None,
                     "effect": _num(res["effect"][v]) if tested else None,
                     "p": _num(res["p"][v]), "p_adj": _num(res["p_adj"][v]),
                     "significant": bool(tested and res["p_adj"][v] < prof.params["alpha"])})
    rows.sort(key=lambda r: (not r["significant"], r["p_adj"] if r["p_adj"] is not None else 2.0,
                             -abs(r["difference"] or 0.0)))
    return Comparison(subjects=list(names), test=res["test"], effect_name=res["effect_name"], rows=rows)


def add_quotes(prof: Profile, store, item_ids: np.ndarray, y: np.ndarray, k: int = 3, strength_column: str = "text",
               weakness_column: str = "text") -> None:
    """Fill each finding's quotes and item ids (see `quotes` for how representatives are chosen). The candidates'
    texts are read in one query per quote column, not one per finding."""
    from earful.qa_agent.profiles import data, quotes

    desc = prof.tree.descendants()
    codes = prof._subj
    plans = []
    for f in prof.findings:
        idx = np.flatnonzero((codes == prof.all_subjects.index(f.subject)) & (desc[f.node_id, prof._node] > 0))
        idx = idx[np.argsort(item_ids[idx], kind="stable")]       # by item id: the candidates are the first ones
        f.item_ids = item_ids[idx].tolist()
        ys = y[idx]
        side = ys < ys.mean() if f.kind == "weakness" else ys > ys.mean()
        if not prof.params["higher_is_better"]:
            side = ~side
        cand = idx[: quotes.MAX_CANDIDATES]
        plans.append((f, cand, side[: quotes.MAX_CANDIDATES]))
    for col in {weakness_column, strength_column}:
        mine = [p for p in plans if (weakness_column if p[0].kind == "weakness" else strength_column) == col]
        wanted = sorted({i for _, cand, _ in mine for i in item_ids[cand].tolist()})
        texts = data.texts(store, prof.source, col, wanted)
        for f, cand, side in mine:
            ids = item_ids[cand].tolist()
            chosen, space = quotes.representatives(store, ids, texts, k=k, side=side, column=col)
            score = dict(zip(ids, y[cand].tolist()))
            f.quotes = [Quote(item_id=i, text=texts.get(i, ""), score=score[i]) for i in chosen]
            f.quote_space = space
