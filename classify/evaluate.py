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
from datetime import datetime, timezone

import numpy as np

from classify.base import Inputs, Taxonomy, make_classifier


def cross_validate(tax: Taxonomy, inputs: Inputs, y: list[str], methods: list[str], folds: int = 5,
                   seed: int = 0, progress=None) -> dict:
    """{method: {accuracy, macro_f1, classes, per_class, confusion}} from stratified k-fold CV."""
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
            clf = make_classifier(method, tax)
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
    now = datetime.now(timezone.utc)
    with store.transaction() as con:
        for method, r in results.items():
            con.execute("INSERT INTO classify_evals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [eval_id, taxonomy, gold_column, method, r["n"], r["folds"], r["accuracy"], r["macro_f1"],
                         json.dumps(r["classes"]), json.dumps(r["per_class"]), json.dumps(r["confusion"]), now])
    return eval_id


# -- prevalence --------------------------------------------------------------------------------------------------
def _unmix(M: np.ndarray, q: np.ndarray, iters: int = 300) -> np.ndarray:
    """True shares p on the simplex that best explain predicted shares q = M^T p: the EM maximum-likelihood estimate.

    EM (Saerens et al. 2002 style, with M known) stays on the simplex and, started from q, degrades gracefully when M
    is ill-conditioned (many similar classes), where a direct inversion swings wildly.
    """
    p = np.clip(q.astype(float), 1e-9, None)
    p /= p.sum()
    for _ in range(iters):
        joint = p[:, None] * M                      # P(true=i, pred=j) up to q
        col = joint.sum(axis=0)
        post = np.divide(joint, col, out=np.zeros_like(joint), where=col > 0)  # P(true=i | pred=j)
        p_new = post @ q
        if np.abs(p_new - p).max() < 1e-10:
            p = p_new
            break
        p = p_new
    return p / p.sum()


def adjusted_shares(pred_counts: np.ndarray, confusion: np.ndarray, *, n_boot: int = 400, seed: int = 0) -> dict:
    """Misclassification-adjusted shares (EM on the confusion matrix) with bootstrap 95% intervals.

    `pred_counts[j]`: items predicted as class j; `confusion[i, j]`: validation items of true class i predicted j.
    Returns {share, low, high, predicted_share} arrays over the classes.
    """
    pred_counts = np.asarray(pred_counts, dtype=float)
    C = np.asarray(confusion, dtype=float)
    N = pred_counts.sum()
    q = pred_counts / N
    rows = C.sum(axis=1, keepdims=True)
    M = np.where(rows > 0, C / np.where(rows > 0, rows, 1), np.eye(len(C)))
    p = _unmix(M, q)
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, len(q)))
    for b in range(n_boot):
        Cb = np.vstack([rng.multinomial(int(n), M[i]) if n > 0 else np.eye(len(C))[i]
                        for i, n in enumerate(rows[:, 0])]).astype(float)
        rb = Cb.sum(axis=1, keepdims=True)
        Mb = Cb / np.where(rb > 0, rb, 1)
        qb = rng.multinomial(int(N), q) / N
        boots[b] = _unmix(Mb, qb)
    low, high = np.percentile(boots, 2.5, axis=0), np.percentile(boots, 97.5, axis=0)
    return {"share": p, "low": np.minimum(low, p), "high": np.maximum(high, p), "predicted_share": q}


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


def shares(store, taxonomy: str, source: str | None = None) -> dict:
    """Each label's share among labelled items, with a 95% interval that accounts for classifier error."""
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
    methods = sorted({r[2].split(":")[0] for r in rows})
    ev = store.rows("SELECT method, classes, confusion, eval_id FROM classify_evals WHERE taxonomy = ? "
                    "ORDER BY created_at DESC", [taxonomy])
    model_methods = {r[0] for r in store.rows("SELECT DISTINCT m.method FROM classify_labels l JOIN classify_models m "
                                               "ON m.model_version = l.model_version WHERE l.taxonomy = ?", [taxonomy])}
    match = [e for e in ev if e[0] in model_methods or e[0] in methods]
    gold_rows = store.rows("SELECT g.label, l.label FROM classify_gold g JOIN classify_labels l ON l.item_id = "
                           "g.item_id AND l.taxonomy = g.taxonomy WHERE g.taxonomy = ? AND l.method <> 'human'",
                           [taxonomy])
    if match:
        classes = json.loads(match[0][1])
        for lab in sorted(set(preds) - set(classes)):
            classes.append(lab)
        C = np.zeros((len(classes), len(classes)))
        old = np.asarray(json.loads(match[0][2]), dtype=float)
        C[:len(old), :len(old)] = old
        counts = np.array([preds.count(c) for c in classes], dtype=float)
        r = adjusted_shares(counts, C)
        basis = f"adjusted by the confusion matrix of eval {match[0][3]} ({match[0][0]}); bootstrap 95% interval"
    elif len(gold_rows) >= 10:
        classes = sorted(set(preds) | {g for g, _ in gold_rows})
        r = ppi_shares(preds, [p for _, p in gold_rows], [g for g, _ in gold_rows], classes)
        basis = f"prediction-powered inference with {len(gold_rows)} gold labels (optimistic if they were trained on)"
    else:
        classes = sorted(set(preds))
        counts = np.array([preds.count(c) for c in classes], dtype=float)
        lo, hi = wilson(counts, len(preds))
        r = {"share": counts / len(preds), "low": lo, "high": hi, "predicted_share": counts / len(preds)}
        basis = ("sampling error only: no eval run or gold sample, so classifier error is NOT accounted for "
                 f"(run 'earful classify eval --taxonomy {taxonomy} --gold-column COL')")
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
