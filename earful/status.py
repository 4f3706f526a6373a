"""A workspace summary (`earful status`, the demo's closing table): sources, counts, dates and derived data."""
from __future__ import annotations


def workspace_status(store) -> dict:
    sources = []
    for name in store.sources():
        n, first, last, emb = store.rows("""
            SELECT count(*), min(created_at), max(created_at),
                   count(*) FILTER (WHERE content_hash IN (SELECT content_hash FROM embeddings))
            FROM items WHERE source = ?""", [name])[0]
        q = store.scalar("SELECT count(*) FROM quarantine WHERE source = ?", [name])
        sources.append({"source": name, "items": n, "first": first, "last": last, "embedded": emb, "quarantined": q})
    return {"db": str(store.path), "sources": sources,
            "notes": [] if sources else ["empty workspace: run 'earful ingest FILE --source NAME'"]}
