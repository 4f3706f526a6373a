"""Honest evaluation: stratified k-fold metrics per method, and label shares with error-aware 95% intervals.

Design decision: a share is never just "the fraction predicted". With an evaluation run, the observed predicted
shares are corrected by the measured confusion matrix (maximum likelihood by EM) and the interval comes
from a bootstrap over both the confusion matrix and the items; with only a gold sample, prediction-powered inference
(Angelopoulos et al. 2023) gives the interval; with neither, the interval is sampling-only and says so.
"""
from __future__ import annotations

import json
import uuid
import warnings
from datetime import UTC, datetime

import numpy as np

from earful.classify.base import Inputs, Taxonomy, make_classifier


def cross_validate(tax: Taxonomy, inputs: Inputs, y: list[str], methods: list[str], folds: int = 5,
                   seed: int = 0, progress=None, make=None) -> dict:
    """{method: {accuracy, macro_f1, classes, per_class, confusion}} from stratified k-fold CV.

    `make(method, taxonomy)` builds each fold's classifier (default `make_classifier`); the CLI passes one that
    gives the LLM methods (fewshot_llm, cascade) their chat model, so they are measured the same way."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
    from sklearn.model_selection import StratifiedKFold

    y = list(y)
    classes = sorted(set(y))
    k = max(2, min(folds, max(y.count(c) for c in classes)))  # rarer classes just spread over fewer folds
    out = {}
    for method in methods:
        pred: list = [None] * len(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            splits = list(StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
        for tr, te in splits:
            clf = (make or make_classifier)(method, tax)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(inputs.take(tr), [y[i] for i in tr])
                for i, lab in zip(te, clf.predict(inputs.take(te))):
                    pred[i] = lab
            if progress:
                progress(1)
        labels = sorted(set(classes) | set(pred))
        p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
        out[method] = {
            "accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, labels=classes, average="macro", zero_division=0)),
            "classes": labels,
            "per_class": [{"label": lab, "precision": float(a), "recall": float(b), "f1": float(c), "support": int(d)}
                          for lab, a, b, c, d in zip(labels, p, r, f, s)],
            "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
            "n": len(y), "folds": k,
        }
    return out


def store_eval(store, taxonomy: str, gold_column: str | None, results: dict) -> str:
    eval_id = uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    with store.transaction() as con:
        for method, r in results.items():
            con.execute("INSERT INTO classify_evals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [eval_id, taxonomy, gold_column, method, r["n"], r["folds"], r["accuracy"], r["macro_f1"],
                         json.dumps(r["classes"]), json.dumps(r["per_class"]), json.dumps(r["confusion"]), now])
    return eval_id


# -- prevalence --------------------------------------------------------------------------------------------------
PRIOR = 0.5  # Jeffreys pseudo-count per cell: a count of 0 (a label never predicted) is not a certainty of 0


# EM stopped after this many rounds: run to convergence, the ML estimate of an ill-conditioned confusion matrix puts
# the mass of a large class on a rare, confusable one (Tizard forum_new, 20 labels: 'other' 0.0% and 'invalid' 12.0%
# against true 25.0% and 0.3%; summed error over the labels 0.565). Stopped at 300, it stays near the least correction
# of what was predicted ('other' 17.9%, 'invalid' 3.6%; summed error 0.225), with every true share still inside its
# interval. The bootstrap draws stop at the same round, so the intervals describe this estimator.
EM_ROUNDS = 300


def _unmix_many(M: np.ndarray, q: np.ndarray, iters: int = EM_ROUNDS, tol: float = 1e-10,
                spread: bool = True) -> np.ndarray:
    """True shares p on the simplex that best explain predicted shares q = M^T p: the EM maximum-likelihood estimate,
    for B problems at once (M: B x K x K, q: B x K).

    EM (Saerens et al. 2002 style, with M known) stays on the simplex and degrades gracefully when M is
    ill-conditioned (many similar classes), where a direct inversion swings wildly. Where the data cannot tell some
    classes apart (a rare class whose few validation items were all predicted as another), the likelihood is flat and
    the start decides: the point estimate starts from q (`spread=False`: the least correction of what was
    predicted), the bootstrap draws start half-way to uniform (`spread=True`), because EM's updates are
    multiplicative and a class started at nearly 0 would stay there, hiding how large it could be.
    """
    K = q.shape[1]
    p = 0.5 * q + 0.5 / K if spread else np.clip(q, 1e-9, None) / np.clip(q, 1e-9, None).sum(axis=1, keepdims=True)
    for _ in range(iters):
        joint = p[:, :, None] * M                                   # P(true=i, pred=j) up to q
        col = joint.sum(axis=1, keepdims=True)
        post = np.divide(joint, col, out=np.zeros_like(joint), where=col > 0)   # P(true=i | pred=j)
        p_new = np.einsum("bij,bj->bi", post, q)
        done = np.abs(p_new - p).max() < tol
        p = p_new
        if done:
            break
    return p / p.sum(axis=1, keepdims=True)


def _unmix(M: np.ndarray, q: np.ndarray, iters: int = EM_ROUNDS) -> np.ndarray:
    return _unmix_many(np.asarray(M, dtype=float)[None], np.asarray(q, dtype=float)[None], iters, spread=False)[0]


def _rows(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row-normalised confusion matrix, per-row support); a class with no validation items counts as recognised."""
    C = np.asarray(confusion, dtype=float)
    rows = C.sum(axis=1, keepdims=True)
    return np.where(rows > 0, C / np.where(rows > 0, rows, 1), np.eye(len(C))), rows[:, 0]


def adjusted_draws(pred_counts: np.ndarray, confusion: np.ndarray, *, n_boot: int = 400,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(EM point estimate of the true shares, n_boot x K draws of them) for one set of predictions.

    The draws are a Bayesian bootstrap: each confusion row ~ Dirichlet(counts + PRIOR) and the predicted shares ~
    Dirichlet(counts + PRIOR), then EM. Unlike resampling the observed proportions, a cell seen 0 times (a label the
    classifier never predicted, a confusion the validation never showed) still varies, so its interval does not
    collapse to [0, 0].
    """
    counts = np.asarray(pred_counts, dtype=float)
    C = np.asarray(confusion, dtype=float)
    K = len(C)
    M, support = _rows(C)
    p = _unmix(M, counts / counts.sum())
    rng = np.random.default_rng(seed)
    pseudo = np.where(support[:, None] > 0, C, np.eye(K)) + PRIOR   # no validation items: one hit on the diagonal
    Mb = np.stack([rng.dirichlet(pseudo[i], size=n_boot) for i in range(K)], axis=1)   # B x K x K
    qb = rng.dirichlet(counts + PRIOR, size=n_boot)
    return p, _unmix_many(Mb, qb)


def _never_predicted_bound(counts: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """For each class with no predictions, a share it cannot be shown to be below (rule of three over its recall):
    had its share been 3 / (N x recall), about 3 of N items would have been predicted as it (P(none) ~ 5%)."""
    C = np.asarray(confusion, dtype=float)
    K = len(C)
    recall = (np.diag(C) + PRIOR) / (C.sum(axis=1) + K * PRIOR)   # posterior mean: never exactly 0
    bound = np.minimum(1.0, 3.0 / (counts.sum() * recall))
    return np.where(np.asarray(counts) == 0, bound, 0.0)


def adjusted_shares(pred_counts: np.ndarray, confusion: np.ndarray, *, n_boot: int = 400, seed: int = 0) -> dict:
    """Misclassification-adjusted shares (EM on the confusion matrix) with bootstrap 95% intervals.

    `pred_counts[j]`: items predicted as class j; `confusion[i, j]`: validation items of true class i predicted j.
    Returns {share, low, high, predicted_share} arrays over the classes.
    """
    counts = np.asarray(pred_counts, dtype=float)
    p, boots = adjusted_draws(counts, confusion, n_boot=n_boot, seed=seed)
    return _summary(p, boots, counts / counts.sum(), _never_predicted_bound(counts, confusion))


def _summary(p: np.ndarray, boots: np.ndarray, q: np.ndarray, floor: np.ndarray | None = None) -> dict:
    low, high = np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)
    high = np.maximum(high, p) if floor is None else np.maximum(np.maximum(high, p), floor)
    return {"share": p, "low": np.minimum(low, p), "high": high, "predicted_share": q}


def ppi_shares(pred_all: list[str], pred_gold: list[str], gold: list[str], classes: list[str]) -> dict:
    """Prediction-powered inference for each class's share: all predictions plus a gold sample's rectifier."""
    N, n = len(pred_all), len(gold)
    share, low, high, q = [], [], [], []
    for c in classes:
        f = np.array([x == c for x in pred_all], dtype=float)
        rect = np.array([g == c for g in gold], dtype=float) - np.array([x == c for x in pred_gold], dtype=float)
        theta = f.mean() + rect.mean()
        se = np.sqrt(f.var(ddof=1) / N + rect.var(ddof=1) / n) if n > 1 and N > 1 else 0.5
        share.append(theta)
        low.append(max(0.0, theta - 1.96 * se))
        high.append(min(1.0, theta + 1.96 * se))
        q.append(f.mean())
    return {"share": np.clip(share, 0, 1), "low": np.array(low), "high": np.array(high), "predicted_share": np.array(q)}


def wilson(k: np.ndarray, n: int, z: float = 1.96):
    p = k / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return centre - half, centre + half


def _latest_evals(store, taxonomy: str) -> dict[str, tuple]:
    """{method: (classes, confusion, eval_id)} of the newest evaluation of each method of `taxonomy`."""
    out: dict[str, tuple] = {}
    for method, classes, confusion, eval_id in store.rows(
            "SELECT method, classes, confusion, eval_id FROM classify_evals WHERE taxonomy = ? "
            "ORDER BY created_at DESC", [taxonomy]):
        out.setdefault(method, (json.loads(classes), json.loads(confusion), eval_id))
    return out


def _grouped_shares(groups: dict[str, list[str]], evals: dict[str, tuple], n_boot: int = 400) -> tuple:
    """(classes, {share, low, high, predicted_share}, basis) over all predictions: each method's predictions are
    corrected by its own eval's confusion matrix (those without one: sampling error only), and the bootstrap draws
    of the groups are added item-weighted, draw by draw."""
    classes: list[str] = []
    for m in sorted(groups):
        for c in (evals[m][0] if m in evals else []) + sorted(set(groups[m])):
            if c not in classes:
                classes.append(c)
    K, n = len(classes), sum(len(v) for v in groups.values())
    p, boots, q, floor = np.zeros(K), np.zeros((n_boot, K)), np.zeros(K), np.zeros(K)
    used, unadjusted = [], []
    for seed, m in enumerate(sorted(groups)):
        preds = groups[m]
        w = len(preds) / n
        counts = np.array([preds.count(c) for c in classes], dtype=float)
        if m in evals:
            ev_classes, ev_conf, eval_id = evals[m]
            C = np.zeros((K, K))
            pos = [classes.index(c) for c in ev_classes]
            C[np.ix_(pos, pos)] = np.asarray(ev_conf, dtype=float)
            pg, bg = adjusted_draws(counts, C, n_boot=n_boot, seed=seed)
            floor = np.maximum(floor, w * _never_predicted_bound(counts, C))
            used.append(f"eval {eval_id} ({m}, {len(preds)} item(s))")
        else:
            pg = counts / counts.sum()
            bg = np.random.default_rng(seed).dirichlet(counts + PRIOR, size=n_boot)
            unadjusted.append(f"{m} ({len(preds)} item(s))")
        p += w * pg
        boots += w * bg
        q += w * counts / counts.sum()
    basis = (f"adjusted by the confusion {'matrices' if len(used) > 1 else 'matrix'} of " + ", ".join(used)
             + "; bootstrap 95% interval")
    if unadjusted:
        basis += ("; labels by a method with no eval count with sampling error only: " + ", ".join(unadjusted))
    return classes, _summary(p, boots, q, floor), basis


def _eval_hint(taxonomy: str, methods) -> str:
    names = sorted({"llm" if m == "fewshot_llm" else m for m in methods})
    return f"run 'earful classify eval --taxonomy {taxonomy} --gold-column COL --methods {','.join(names)}'"


def shares(store, taxonomy: str, source: str | None = None) -> dict:
    """Each label's share among labelled items, with a 95% interval that accounts for classifier error.

    Each label remembers its method (`joint`, `fewshot_llm`, `cascade:llm`, ...); the predictions of a method are
    corrected by the newest `classify eval` of that method (cascade labels by the eval of `cascade`)."""
    from earful.errors import NotFoundError

    where = "AND i.source = ?" if source else ""
    params = [taxonomy] + ([source] if source else [])
    rows = store.rows(f"SELECT l.item_id, l.label, l.method FROM classify_labels l JOIN items i ON i.item_id = "
                      f"l.item_id WHERE l.taxonomy = ? {where}", params)
    if not rows:
        raise NotFoundError(f"no labels for taxonomy '{taxonomy}'" + (f" in source '{source}'" if source else ""),
                            hint=f"run 'earful classify run --taxonomy {taxonomy}' first")
    gold_of = dict(store.rows("SELECT item_id, label FROM classify_gold WHERE taxonomy = ?", [taxonomy]))
    known = [gold_of[r[0]] for r in rows if r[0] in gold_of]   # gold items: their share is known, not estimated
    rows = [r for r in rows if r[0] not in gold_of]
    if not rows:
        classes = sorted(set(known))
        labels = [{"label": c, "share": round(known.count(c) / len(known), 4),
                   "low": round(known.count(c) / len(known), 4), "high": round(known.count(c) / len(known), 4),
                   "predicted_share": None, "predicted": 0} for c in classes]
        labels.sort(key=lambda d: -d["share"])
        return {"taxonomy": taxonomy, "source": source, "n": len(known), "n_gold": len(known),
                "basis": "every item has a gold label: shares are exact", "labels": labels}
    preds = [r[1] for r in rows]
    groups: dict[str, list[str]] = {}
    for _, label, method in rows:
        groups.setdefault(method.split(":")[0], []).append(label)
    evals = _latest_evals(store, taxonomy)
    gold_rows = store.rows("SELECT g.label, l.label FROM classify_gold g JOIN classify_labels l ON l.item_id = "
                           "g.item_id AND l.taxonomy = g.taxonomy WHERE g.taxonomy = ? AND l.method <> 'human'",
                           [taxonomy])
    if any(m in evals for m in groups):
        classes, r, basis = _grouped_shares(groups, evals)
    elif len(gold_rows) >= 10:
        classes = sorted(set(preds) | {g for g, _ in gold_rows})
        r = ppi_shares(preds, [p for _, p in gold_rows], [g for g, _ in gold_rows], classes)
        basis = (f"prediction-powered inference with {len(gold_rows)} gold labels (optimistic if they were trained "
                 f"on; for intervals from a held-out confusion matrix, {_eval_hint(taxonomy, groups)})")
    else:
        classes = sorted(set(preds))
        counts = np.array([preds.count(c) for c in classes], dtype=float)
        lo, hi = wilson(counts, len(preds))
        r = {"share": counts / len(preds), "low": lo, "high": hi, "predicted_share": counts / len(preds)}
        basis = ("sampling error only: no eval run or gold sample, so classifier error is NOT accounted for "
                 f"({_eval_hint(taxonomy, groups)})")
    for c in sorted(set(known) - set(classes)):
        classes.append(c)
        r = {k: np.append(v, 0.0) for k, v in r.items()}
    n, g = len(preds), len(known)
    if g:  # mix the exactly known gold part with the estimated rest
        basis += f"; {g} gold item(s) counted exactly"

    def mix(v, c):
        return (n * float(v) + known.count(c)) / (n + g)
    labels = [{"label": c, "share": round(mix(r["share"][j], c), 4), "low": round(mix(r["low"][j], c), 4),
               "high": round(mix(r["high"][j], c), 4), "predicted_share": round(float(r["predicted_share"][j]), 4),
               "predicted": preds.count(c)} for j, c in enumerate(classes)]
    labels.sort(key=lambda d: -d["share"])
    return {"taxonomy": taxonomy, "source": source, "n": n + g, "n_gold": g, "basis": basis, "labels": labels}
