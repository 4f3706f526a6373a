"""Human edits to topics (rename, merge, split, delete), stored as overrides and re-applied after every refit.

Design decision: an edit is first recorded in `topic_overrides` (in order) and then applied by the same function
that a refit uses to re-apply all of them, so an edit made today and the same edit replayed after next month's refit
cannot behave differently. Because refits keep topic ids stable (centroid matching), overrides name topics by id;
an override whose topic no longer exists is skipped (and reported), never guessed.
"""
from __future__ import annotations

import numpy as np

from earful.errors import InputError
from earful.topics import model as M
from earful.topics.base import Labeler, get_labeler
from earful.topics.keywords import ctfidf_keywords


def _record(store, op: str, topic_ids: list[int], value: str | None = None) -> dict:
    seq = int(store.scalar("SELECT coalesce(max(seq), 0) + 1 FROM topic_overrides"))
    store.con.execute("INSERT INTO topic_overrides VALUES (?, ?, ?, ?, NULL, ?)",
                      [seq, op, [int(t) for t in topic_ids], value, M.now()])
    return {"seq": seq, "op": op, "topic_ids": [int(t) for t in topic_ids], "value": value, "result_ids": None}


def _lineage(store, event: str, topic_id, prev_id) -> None:
    run = store.scalar("SELECT run_id FROM topic_runs ORDER BY fitted_at DESC LIMIT 1")
    store.con.execute("INSERT INTO topic_lineage VALUES (?, ?, ?, ?, NULL, ?)",
                      [run, event, topic_id, prev_id, M.now()])


def _active(store, tid: int) -> bool:
    return store.scalar("SELECT status FROM topics WHERE topic_id = ?", [tid]) == "active"


def apply_override(store, ov: dict, labeler: Labeler | None = None) -> bool:
    """Apply one stored override; False when its topics are not active any more (e.g. gone after a refit)."""
    op, ids, value = ov["op"], list(ov["topic_ids"]), ov["value"]
    if op == "rename":
        if not _active(store, ids[0]):
            return False
        store.con.execute("UPDATE topics SET name = ?, label_source = 'user', updated_at = ? WHERE topic_id = ?",
                          [value, M.now(), ids[0]])
        return True
    if op == "delete":
        if not _active(store, ids[0]):
            return False
        store.con.execute("UPDATE topic_assignments SET topic_id = -1, method = 'deleted' WHERE topic_id = ?", [ids[0]])
        store.con.execute("UPDATE topics SET status = 'deleted', size = 0, updated_at = ? WHERE topic_id = ?",
                          [M.now(), ids[0]])
        _lineage(store, "deleted", None, ids[0])
        return True
    if op == "merge":
        target, others = ids[0], [t for t in ids[1:] if _active(store, t)]
        if not _active(store, target) or not others:
            return False
        for t in others:
            store.con.execute("UPDATE topic_assignments SET topic_id = ?, method = 'merged' WHERE topic_id = ?",
                              [target, t])
            store.con.execute("UPDATE topics SET status = 'merged', parent_id = ?, size = 0, updated_at = ? "
                              "WHERE topic_id = ?", [target, M.now(), t])
            _lineage(store, "merged", target, t)
        M.refresh_topics(store, [target])
        return True
    if op == "split":
        return _split(store, ov, labeler)
    raise InputError(f"unknown topic override '{op}'")


def _split(store, ov: dict, labeler: Labeler | None) -> bool:
    from sklearn.cluster import KMeans

    tid, parts = ov["topic_ids"][0], int(ov["value"] or 2)
    if not _active(store, tid):
        return False
    members = [r[0] for r in store.rows("SELECT item_id FROM topic_assignments WHERE topic_id = ? ORDER BY item_id",
                                        [tid])]
    if len(members) < 2 * parts:
        raise InputError(f"topic {tid} has {len(members)} items, too few to split into {parts}")
    mids, X = M.vectors_for(store, members, model_id=M.require_fitted_model(store))   # the fit's text field's
    labels = KMeans(n_clusters=parts, random_state=42, n_init=4).fit_predict(X)
    order = [int(k) for k in np.argsort(-np.bincount(labels, minlength=parts), kind="stable")]  # biggest part first
    result = list(ov.get("result_ids") or [])
    if len(result) != parts:
        start = int(store.scalar("SELECT coalesce(max(topic_id), -1) + 1 FROM topics"))
        result = list(range(start, start + parts))
        store.con.execute("UPDATE topic_overrides SET result_ids = ? WHERE seq = ?", [result, ov["seq"]])
    docs = M.texts_for(store, mids)
    kws = ctfidf_keywords(docs, labels)
    run = store.scalar("SELECT run_id FROM topics WHERE topic_id = ?", [tid])
    now = M.now()
    drafts = []
    for new_id, k in zip(result, order):
        part = [mids[i] for i in np.nonzero(labels == k)[0]]
        store.con.execute("UPDATE topic_assignments SET topic_id = ?, method = 'split' "
                          "WHERE item_id IN (SELECT unnest(?::VARCHAR[]))", [new_id, part])
        store.con.execute("""INSERT INTO topics (topic_id, keywords, status, parent_id, run_id, created_at, updated_at)
                             VALUES (?, ?, 'active', ?, ?, ?, ?)
                             ON CONFLICT (topic_id) DO UPDATE SET keywords = excluded.keywords, status = 'active',
                               parent_id = excluded.parent_id, run_id = excluded.run_id,
                               updated_at = excluded.updated_at""",
                          [new_id, kws.get(k, []), tid, run, now, now])
        _lineage(store, "split", new_id, tid)
    store.con.execute("UPDATE topics SET status = 'split', size = 0, updated_at = ? WHERE topic_id = ?", [now, tid])
    M.refresh_topics(store, result)
    from earful.topics.fit import drafts_for

    rows = {r[0]: r for r in store.rows(
        "SELECT topic_id, keywords, representative_ids, size FROM topics WHERE topic_id IN (SELECT unnest(?::INT[]))",
        [result])}
    drafts = drafts_for(store, [(t, rows[t][1], rows[t][2], rows[t][3]) for t in result])
    lab = labeler or get_labeler("keywords")
    for t, (name, desc) in zip(result, lab.label(drafts)):
        store.con.execute("UPDATE topics SET name = ?, description = ?, label_source = ? WHERE topic_id = ?",
                          [name, desc, lab.name, t])
    return True


def apply_overrides(store, labeler: Labeler | None = None) -> int:
    """Replay every stored override in order (after a refit). Returns how many applied."""
    rows = store.query("SELECT * FROM topic_overrides ORDER BY seq").to_pylist()
    return sum(1 for ov in rows if apply_override(store, ov, labeler))


def edit(store, op: str, topic_ids: list[int], value: str | None = None, labeler: Labeler | None = None) -> dict:
    """Validate, record and apply one edit in a single transaction; returns the override with its result ids."""
    if not topic_ids:
        raise InputError(f"{op} needs a topic id")
    for t in topic_ids:
        M.require_active(store, t)
    if op == "merge" and len(set(topic_ids)) < 2:
        raise InputError("merge needs at least two different topic ids", hint="earful topics merge INTO OTHER...")
    if op == "rename" and not (value or "").strip():
        raise InputError("rename needs a non-empty name")
    if op == "split" and int(value or 2) < 2:
        raise InputError("split needs --into 2 or more")
    with store.transaction():
        ov = _record(store, op, topic_ids, value.strip() if op == "rename" else value)
        apply_override(store, ov, labeler)
        M.update_sizes(store)
        M.build_hierarchy(store)
        ov["result_ids"] = store.scalar("SELECT result_ids FROM topic_overrides WHERE seq = ?", [ov["seq"]])
    store.refresh_views()
    return ov
