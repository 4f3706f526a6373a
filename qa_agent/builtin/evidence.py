"""Examples as evidence: the matching items, most representative first, for "show me 5 one-star reviews that
mention crash" and "what do users say about battery?".

Design decision: "representative" is the cosine similarity of an item's stored embedding to the centroid (the
mean of the unit vectors) of the whole example pool the SQL returned, using only vectors already in the workspace
(`embeddings` joined on content_hash, m0001/m0004); no model is ever loaded here, so an examples answer costs a
query and some numpy. The model whose vectors cover most of the pool is used (ties: the default model, then by
name); identical vectors (the same text) are shown once. Without any stored vectors, or for items that have none,
the order is the SQL's: newest first, then by item_id (`compiler._examples_sql`), items without a vector after
those with one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ranking:
    ids: list[str]           # the chosen item ids, best first
    by: str                  # "embeddings" (similarity to the pool's centroid) | "newest" (the SQL's order)
    model_id: str | None = None


def ranking(db_path: str, item_ids, limit: int | None = None) -> Ranking:
    """Rank `item_ids` (the example pool, in the SQL's order) and keep the first `limit` (None: all)."""
    ids = [str(i) for i in dict.fromkeys(item_ids)]
    cut = (lambda xs: xs[:limit]) if limit is not None else (lambda xs: xs)
    if len(ids) < 2:
        return Ranking(cut(ids), "newest")
    model_id = _best_model(db_path, ids)
    if model_id is None:
        return Ranking(cut(ids), "newest")
    from earful.embeddings import item_vectors
    from earful.store import Store

    store = Store(db_path, read_only=True)
    try:
        got, mat = item_vectors(store, ids, model_id=model_id)
    finally:
        store.close()
    if len(got) == 0:
        return Ranking(cut(ids), "newest")
    mat = np.asarray(mat, dtype=np.float64)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    unit = mat / np.where(norms == 0, 1.0, norms)
    centroid = unit.mean(axis=0)
    c_norm = np.linalg.norm(centroid)
    scores = unit @ (centroid / c_norm) if c_norm else np.zeros(len(got))
    pos = {i: k for k, i in enumerate(ids)}
    order = sorted(range(len(got)), key=lambda k: (-round(float(scores[k]), 9), pos[got[k]]))
    ranked, seen = [], set()
    for k in order:
        key = unit[k].round(6).tobytes()
        if key in seen:
            continue      # the same text again: one of them is enough
        seen.add(key)
        ranked.append(got[k])
    have = set(got)
    ranked += [i for i in ids if i not in have]
    return Ranking(cut(ranked), "embeddings", model_id)


def rank_examples(db_path: str, item_ids, limit: int | None = None) -> list[str]:
    """The item ids, most representative first (see the module docstring), at most `limit` of them."""
    return ranking(db_path, item_ids, limit).ids


def rank_rows(db_path: str, plan, columns: list[str], rows: list[list]) -> tuple[list[str], list[list], str]:
    """An examples result (the compiled SQL's rows) ranked and cut to ``plan.limit`` (default 5):
    (columns, rows, ranked_by) for ``answer.compose(plan, columns, rows, out, ranked_by=ranked_by)``. Rows keep
    their ``matches`` column (the count of all matches), so the answer still states it."""
    at = list(columns).index("item_id")
    r = ranking(db_path, [row[at] for row in rows], plan.limit or 5)
    by_id = {str(row[at]): row for row in rows}
    return list(columns), [by_id[i] for i in r.ids], r.by


def _best_model(db_path: str, ids: list[str]) -> str | None:
    import duckdb

    from earful.embeddings import MODEL_ID
    from earful.qa_agent.builtin.compiler import EMBEDDING_COVERAGE_SQL
    from earful.store.readonly import connect_read_only

    con = connect_read_only(str(db_path))
    try:
        counts = con.execute(EMBEDDING_COVERAGE_SQL, [ids]).fetchall()
    except duckdb.CatalogException:   # a workspace without the embeddings table: no vectors to rank by
        return None
    finally:
        con.close()
    if not counts:
        return None
    return min(counts, key=lambda mc: (-mc[1], mc[0] != MODEL_ID, mc[0]))[0]


__all__ = ["Ranking", "rank_examples", "rank_rows", "ranking"]
