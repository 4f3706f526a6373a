"""Reading and writing the topic model in the store: topics, centroids, assignments, sizes, hierarchy.

Design decision: every operation that changes membership (fit, edit, assign) ends by calling `refresh_topics`, which
recomputes sizes, centroids, member scores and representative items from the assignments, so the topic table is
always derived from `topic_assignments` and never drifts from it.

A fit may be over one text field of a source (``earful topics fit --source S --field weaknesses``): the run records
it in ``topic_runs.params`` (``field``), and `texts_for` / `vectors_for` read that field's texts and vectors for as
long as that run is the latest, so names, quotes, edits and assignments all use the same texts.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from earful.embeddings import DIM, MODEL_ID, TextField, field_texts, field_vectors, get_embedding_model, item_vectors
from earful.errors import InputError, NotFoundError

N_REPRESENTATIVE = 5
CURRENT = "current"    # `texts_for` / `vectors_for`: the text field of the latest fit (None: the item text)


def now():
    return datetime.now(UTC)


def normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.maximum(norms, 1e-12)).astype(np.float32)


def group_means(X: np.ndarray, labels: np.ndarray, topics: list[int]) -> np.ndarray:
    """Normalised mean vector per topic label (sparse indicator product: fine for millions of rows)."""
    from scipy.sparse import csr_matrix

    index = {t: k for k, t in enumerate(topics)}
    rows = np.array([index.get(int(lab), -1) for lab in labels])
    keep = rows >= 0
    ind = csr_matrix((np.ones(keep.sum(), dtype=np.float32), (rows[keep], np.nonzero(keep)[0])),
                     shape=(len(topics), len(labels)))
    return normalise(np.asarray(ind @ X))


def nearest(X: np.ndarray, C: np.ndarray, threshold: float, batch: int = 65536):
    """(index of nearest centroid or -1 where its cosine similarity is under `threshold`, that similarity)."""
    idx = np.full(len(X), -1, dtype=int)
    sim = np.zeros(len(X), dtype=np.float32)
    if len(C) == 0 or len(X) == 0:
        return idx, sim
    for s in range(0, len(X), batch):
        S = X[s:s + batch] @ C.T
        best = S.argmax(axis=1)
        bsim = S[np.arange(len(best)), best]
        idx[s:s + batch] = np.where(bsim >= threshold, best, -1)
        sim[s:s + batch] = bsim
    return idx, sim


def topic_rows(store, statuses=("active",)) -> list[dict]:
    marks = ",".join("?" * len(statuses))
    tbl = store.query(f"SELECT * FROM topics WHERE status IN ({marks}) ORDER BY size DESC, topic_id", list(statuses))
    return tbl.to_pylist()


def get_topic(store, topic_id: int) -> dict:
    rows = store.query("SELECT * FROM topics WHERE topic_id = ?", [int(topic_id)]).to_pylist()
    if not rows:
        known = store.scalar("SELECT count(*) FROM topics WHERE status = 'active'")
        raise NotFoundError(f"no topic {topic_id}",
                            hint=f"see 'earful topics list' ({known} active topics)" if known else
                            "fit topics first with 'earful topics fit'")
    return rows[0]


def require_active(store, topic_id: int) -> dict:
    t = get_topic(store, topic_id)
    if t["status"] != "active":
        raise NotFoundError(f"topic {topic_id} is {t['status']}, not active", hint="see 'earful topics list'")
    return t


def fitted_embedding_model(store) -> str | None:
    """The embedding model the current topics were fitted with (runs from before the setting: MiniLM); None unfit."""
    rows = store.rows("SELECT params FROM topic_runs ORDER BY fitted_at DESC LIMIT 1")
    if not rows:
        return None
    return json.loads(rows[0][0] or "{}").get("embedding_model", MODEL_ID)


def require_fitted_model(store) -> str:
    """The current embedding model id, when it is the one the topics were fitted with; else an InputError: topic
    centroids and item vectors of two models never compare."""
    current = get_embedding_model().name
    fitted = fitted_embedding_model(store)
    if fitted is not None and fitted != current:
        raise InputError(f"the topics were fitted on vectors of the embedding model '{fitted}' and [embeddings] model "
                         f"is now '{current}'; vectors of two models never compare",
                         hint=f"refit with 'earful topics fit', or set [embeddings] model = \"{fitted}\"")
    return current


def centroids(store) -> tuple[list[int], np.ndarray]:
    tbl = store.query("SELECT topic_id, centroid FROM topics WHERE status = 'active' AND centroid IS NOT NULL "
                      "ORDER BY topic_id")
    ids = tbl.column("topic_id").to_pylist()
    if not ids:
        return [], np.zeros((0, DIM), dtype=np.float32)
    flat = tbl.column("centroid").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return ids, flat.reshape(len(ids), -1).astype(np.float32)


def write_assignments(con, item_ids, topic_ids, scores, methods, run_id) -> None:
    import pyarrow as pa

    n = len(item_ids)
    tbl = pa.table({"item_id": pa.array(item_ids, pa.string()),
                    "topic_id": pa.array(np.asarray(topic_ids, dtype=np.int32)),
                    "score": pa.array(np.asarray(scores, dtype=np.float64)),
                    "method": pa.array(methods if isinstance(methods, list) else [methods] * n, pa.string()),
                    "run_id": pa.array([run_id] * n, pa.string()),
                    "assigned_at": pa.array([now()] * n, pa.timestamp("us", tz="UTC"))})
    con.register("_topic_assign", tbl)
    con.execute("INSERT OR REPLACE INTO topic_assignments SELECT * FROM _topic_assign")
    con.unregister("_topic_assign")


def refresh_topics(store, topic_ids: list[int] | None = None) -> None:
    """Recompute size, centroid, member scores and representative items of the given (default: all active) topics."""
    ids = topic_ids or [r[0] for r in store.rows("SELECT topic_id FROM topics WHERE status = 'active'")]
    model_id = require_fitted_model(store) if ids else None
    field = run_field(store) if ids else None              # asked once, not per topic
    for tid in ids:
        members = [r[0] for r in store.rows("SELECT item_id FROM topic_assignments WHERE topic_id = ?", [tid])]
        if not members:
            store.con.execute("UPDATE topics SET size = 0, representative_ids = [] WHERE topic_id = ?", [tid])
            continue
        mids, X = vectors_for(store, members, model_id=model_id, field=field)
        c = normalise(X.mean(axis=0, keepdims=True))[0]
        sims = X @ c
        order = np.argsort(-sims, kind="stable")[:N_REPRESENTATIVE]   # ties: by item id
        import pyarrow as pa

        store.con.register("_scores", pa.table({"item_id": pa.array(mids, pa.string()),
                                                "score": pa.array(sims.astype(np.float64))}))
        store.con.execute("UPDATE topic_assignments SET score = s.score FROM _scores s "
                          "WHERE topic_assignments.item_id = s.item_id")
        store.con.unregister("_scores")
        store.con.execute("UPDATE topics SET size = ?, centroid = ?::FLOAT[], representative_ids = ?, "
                          "updated_at = ? WHERE topic_id = ?",
                          [len(mids), c.tolist(), [mids[i] for i in order], now(), tid])


def update_sizes(store) -> None:
    store.con.execute("""UPDATE topics SET size = coalesce(
        (SELECT count(*) FROM topic_assignments a WHERE a.topic_id = topics.topic_id), 0)""")


def outlier_rate(store) -> float:
    n = store.scalar("SELECT count(*) FROM topic_assignments") or 0
    return float(store.scalar("SELECT count(*) FROM topic_assignments WHERE topic_id = -1") or 0) / n if n else 0.0


def run_field(store) -> TextField | None:
    """The text field the latest fit was over (``topics fit --field``), or None when it was over the item text."""
    if not store.table_exists("topic_runs"):
        return None
    rows = store.rows("SELECT source, params FROM topic_runs ORDER BY fitted_at DESC LIMIT 1")
    column = json.loads(rows[0][1] or "{}").get("field") if rows else None
    return TextField(rows[0][0], column) if column and rows[0][0] else None


def _field(store, field) -> TextField | None:
    return run_field(store) if field == CURRENT else field


def vectors_for(store, item_ids: list[str], model_id: str | None = None, field=CURRENT):
    """(item ids, vectors) of the texts topics are about: `field`'s (default: the latest fit's) or the items'."""
    tf = _field(store, field)
    if tf is None:
        return item_vectors(store, item_ids, model_id=model_id)
    return field_vectors(store, tf, item_ids, model_id=model_id)


def texts_for(store, item_ids: list[str], field=CURRENT) -> list[str]:
    """Texts in the order of `item_ids`: of `field` (default: the latest fit's text field), else the item text."""
    import pyarrow as pa

    tf = _field(store, field)
    if tf is not None:
        return [t or "" for t in field_texts(store, tf, list(item_ids))]

    store.con.register("_want", pa.table({"item_id": pa.array(item_ids, pa.string()),
                                          "pos": pa.array(np.arange(len(item_ids)))}))
    tbl = store.query("SELECT i.text FROM _want w JOIN items i USING (item_id) ORDER BY w.pos")
    store.con.unregister("_want")
    return tbl.column("text").to_pylist()


def build_hierarchy(store) -> int:
    """Agglomerative tree over active topic centroids (average linkage, cosine): BERTopic's hierarchical_topics
    idea computed from the stored centroids. Leaves are topic ids; internal nodes are numbered from 100000."""
    from scipy.cluster.hierarchy import linkage

    store.con.execute("DELETE FROM topic_hierarchy")
    ids, C = centroids(store)
    if len(ids) < 2:
        return 0
    names = dict(store.rows("SELECT topic_id, name FROM topics WHERE status = 'active'"))
    sizes = dict(store.rows("SELECT topic_id, size FROM topics WHERE status = 'active'"))
    Z = linkage(C.astype(np.float64), method="average", metric="cosine")
    members: dict[int, list[int]] = {k: [t] for k, t in enumerate(ids)}
    node_of = {k: t for k, t in enumerate(ids)}
    rows = []
    for step, (a, b, dist, _) in enumerate(Z):
        a, b = int(a), int(b)
        k = len(ids) + step
        members[k] = members[a] + members[b]
        node_of[k] = 100000 + step
        top = sorted(members[k], key=lambda t: -(sizes.get(t) or 0))[:2]
        rows.append([node_of[k], node_of[a], node_of[b], float(dist), members[k],
                     " & ".join(str(names.get(t)) for t in top)])
    store.con.executemany("INSERT INTO topic_hierarchy VALUES (?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
