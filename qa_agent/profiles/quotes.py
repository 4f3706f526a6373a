"""Representative quotes for a strength or weakness: the subject's items nearest the centroid of its items there.

Design decision: the centroid is taken in the space of the texts that are quoted. When the quotes come from an
item's `text` and every candidate has a stored embedding of it (`earful.embeddings.item_vectors`, nothing is
embedded here), that space is the embeddings'; otherwise (no embeddings, or a quote column of its own such as
WildBench's ``weaknesses`` / ``strengths``, whose stored vectors would be those of the joined text that mixes
praise and criticism) it is a TF-IDF space fitted on the candidates' quote texts (deterministic, no model).
Quotes come from the items on the finding's side of the subject's own mean at the node (below it for a weakness,
above it for a strength), so a weakness is illustrated by the critiques of the responses that made it; the nearest
`k` by cosine similarity are chosen, ties broken by item id. At most `MAX_CANDIDATES` items (the first by item id)
are considered.
"""
from __future__ import annotations

import numpy as np

MAX_CANDIDATES = 2000


def _normalise(m: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(norm > 0, norm, 1.0)


def _stored_vectors(store, ids: list[str]) -> np.ndarray | None:
    try:
        from earful.embeddings import item_vectors

        if not store.table_exists("embeddings") or not store.scalar("SELECT count(*) FROM embeddings"):
            return None
        got_ids, mat = item_vectors(store, ids)
    except Exception:  # noqa: BLE001 - no usable embeddings (no model configured, other dim): fall back to TF-IDF
        return None
    if len(got_ids) != len(ids):
        return None
    pos = {i: k for k, i in enumerate(got_ids)}
    return mat[[pos[i] for i in ids]]


def _tfidf_sims(texts: list[str]) -> np.ndarray:
    """Cosine similarity of each text to the centroid, in a TF-IDF space fitted on these texts (kept sparse)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(texts)   # rows l2-normalised
    except ValueError:   # every text empty or only stop words
        return np.zeros(len(texts))
    return np.asarray(x @ np.asarray(x.mean(axis=0)).ravel()).ravel()


def representatives(store, ids: list[str], texts: dict[str, str], k: int = 3,
                    side: np.ndarray | None = None, column: str = "text") -> tuple[list[str], str]:
    """The `k` item ids nearest the centroid of `ids` (restricted to `side` where given) and the space used.
    `texts` are the candidates' texts of `column`; stored embeddings are used only when that is the item `text`."""
    order = sorted(range(len(ids)), key=lambda j: ids[j])[:MAX_CANDIDATES]
    ids = [ids[j] for j in order]
    if side is not None:
        side = np.asarray(side, dtype=bool)[order]
    if not ids:
        return [], "none"
    vecs = _stored_vectors(store, ids) if column.lower() == "text" else None
    if vecs is None:
        sims, space = _tfidf_sims([texts.get(i, "") for i in ids]), f"TF-IDF of {column}"
    else:
        vecs = _normalise(np.asarray(vecs, dtype=np.float64))
        sims, space = vecs @ vecs.mean(axis=0), "stored embeddings"
    pool = np.arange(len(ids))
    if side is not None:
        if side.any():
            pool = pool[side]
    ordered = sorted(pool.tolist(), key=lambda j: (-round(float(sims[j]), 12), ids[j]))
    chosen = [ids[j] for j in ordered if texts.get(ids[j], "").strip()][:k]
    return chosen, space
