"""A workspace summary (`earful status`, the demo's closing table): sources, counts, dates and derived data.

Design decision: an item counts as embedded only when it has a vector of the current embedding model (the
``[embeddings] model`` setting): vectors another model left behind are never compared with this model's, so counting
them would report coverage that similar/classify/topics cannot use.
"""
from __future__ import annotations


def _current_model_id() -> str:
    """The id the current model's vectors are stored under (`Embedder().model_id`), without loading the model."""
    from earful.embeddings import current_model, get_embedding_model
    from earful.errors import EarfulError

    name = current_model()
    try:
        return get_embedding_model(name).name   # a local folder is stored under its resolved path
    except EarfulError:                         # not available here: nothing can have been embedded with it
        return name


def workspace_status(store, model_id: str | None = None) -> dict:
    """Per source: items, dates, quarantined rows and how many items have a vector of `model_id` (default: the
    current embedding model)."""
    model_id = model_id or _current_model_id()
    sources = []
    for name in store.sources():
        n, first, last, emb = store.rows("""
            SELECT count(*), min(created_at), max(created_at),
                   count(*) FILTER (WHERE content_hash IN (SELECT content_hash FROM embeddings WHERE model_id = ?))
            FROM items WHERE source = ?""", [model_id, name])[0]
        q = store.scalar("SELECT count(*) FROM quarantine WHERE source = ?", [name])
        sources.append({"source": name, "items": n, "first": first, "last": last, "embedded": emb, "quarantined": q})
    return {"db": str(store.path), "embedding_model": model_id, "sources": sources,
            "notes": [] if sources else ["empty workspace: run 'earful ingest FILE --source NAME'"]}
