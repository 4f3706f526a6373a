"""Assigning items that arrived after a fit to the existing topics, without a refit, and saying when to refit.

Design decision: assignment is nearest stored centroid with the same similarity threshold the fit used for outlier
reduction, so an item gets the topic a refit would most likely give it; `drift` compares the outlier share among
these new items with the fit's own to tell when a refit is due. Topics fitted over a text field (``--field``) assign
by that field's vectors, and only items of the fit's source whose field has a text (the rest are counted as skipped).
"""
from __future__ import annotations

import json

from earful.errors import NotFoundError

REFIT_MARGIN = 0.10   # refit when new items are this much more often outliers than fitted ones


def has_model(store) -> bool:
    return bool(store.table_exists("topics") and store.scalar("SELECT count(*) FROM topics WHERE status='active'"))


def _last_run(store) -> dict:
    rows = store.query("SELECT * FROM topic_runs ORDER BY fitted_at DESC LIMIT 1").to_pylist()
    if not rows:
        raise NotFoundError("no topics fitted yet", hint="run 'earful topics fit' first")
    return rows[0]


def assign_new(store, *, source: str | None = None, batch: int = 50_000) -> dict:
    """Assign every item that has no topic yet (embedding it first when needed). Returns counts."""
    import numpy as np

    from earful.embeddings import embed_field, embed_items, field_items
    from earful.topics import model as M

    run = _last_run(store)
    threshold = float(json.loads(run["params"] or "{}").get("threshold", 0.3))
    model_id = M.require_fitted_model(store)   # centroids of one model, vectors of the same
    field = M.run_field(store)
    sql = ("SELECT i.item_id FROM items i LEFT JOIN topic_assignments a USING (item_id) WHERE a.item_id IS NULL"
           + (" AND i.source = ?" if source or field else "") + " ORDER BY i.item_id")
    skipped = 0
    if field is None:
        embed_items(store, source=source)
        todo = [r[0] for r in store.rows(sql, [source] if source else [])]
    elif source and source != field.source:   # the topics are about a column of another source: nothing to assign
        todo = []
    else:
        unassigned = [r[0] for r in store.rows(sql, [field.source])]
        todo = field_items(store, field, unassigned)
        skipped = len(unassigned) - len(todo)
        embed_field(store, field, item_ids=todo)
    tids, C = M.centroids(store)
    assigned = outliers = 0
    for s in range(0, len(todo), batch):
        ids, X = M.vectors_for(store, todo[s:s + batch], model_id=model_id, field=field)
        idx, sim = M.nearest(X, C, threshold)
        topic = np.array([tids[k] if k >= 0 else -1 for k in idx], dtype=np.int32)
        with store.transaction() as con:
            M.write_assignments(con, ids, topic, sim, "assigned", run["run_id"])
        assigned += int((topic >= 0).sum())
        outliers += int((topic < 0).sum())
    if todo:
        M.update_sizes(store)
    out = {"new_items": len(todo), "assigned": assigned, "outliers": outliers, "threshold": threshold}
    if field is not None:
        out.update(field=field.column, source=field.source, skipped=skipped)
    return out


def drift(store) -> dict:
    """Outlier share and mean similarity of items assigned since the fit, against the fit's own."""
    run = _last_run(store)
    fit = store.rows("SELECT count(*), avg(CASE WHEN topic_id = -1 THEN 1.0 ELSE 0 END), avg(score) "
                     "FROM topic_assignments WHERE method <> 'assigned'")[0]
    new = store.rows("SELECT count(*), avg(CASE WHEN topic_id = -1 THEN 1.0 ELSE 0 END), avg(score) "
                     "FROM topic_assignments WHERE method = 'assigned'")[0]
    fit_rate = float(fit[1] or 0.0)
    new_rate = float(new[1]) if new[0] else None
    refit = bool(new[0]) and (new_rate - fit_rate > REFIT_MARGIN or new[0] > 0.5 * max(fit[0], 1))
    if not new[0]:
        advice = "no new items since the fit"
    elif refit:
        advice = ("refit recommended: " + (f"{new_rate:.0%} of new items fit no topic (fit: {fit_rate:.0%})"
                  if new_rate - fit_rate > REFIT_MARGIN else f"{new[0]} new items is over half the fitted corpus"))
    else:
        advice = f"no refit needed: {new_rate:.0%} of new items fit no topic (fit: {fit_rate:.0%})"
    return {"run_id": run["run_id"], "fitted_items": int(fit[0]), "fit_outlier_rate": round(fit_rate, 4),
            "fit_mean_similarity": round(float(fit[2] or 0), 4), "new_items": int(new[0]),
            "new_outlier_rate": None if new_rate is None else round(new_rate, 4),
            "new_mean_similarity": None if not new[0] else round(float(new[2] or 0), 4),
            "refit_recommended": refit, "advice": advice}


def after_ingest(store, source: str) -> dict | None:
    """Ingest hook (ingest/hooks.py): with a fitted topic model, assign the source's new items without a refit.
    Every ingest runs it, so numpy and the topic model code load only once topics exist (~0.07 s otherwise)."""
    if not has_model(store):
        return None
    return assign_new(store, source=source)
