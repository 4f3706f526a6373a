"""After-ingest hooks: later stages that keep derived data current when new items arrive.

A hook is ``(store, source) -> dict | None`` listed here by dotted path (a registry, not an if/elif); it runs in the
ingest command after each file's transaction commits, and its result is added to that file's summary under the
hook's name. Example: with a topic model fitted, new items are assigned to existing topics without a refit.
"""
from __future__ import annotations

AFTER_INGEST: dict[str, str] = {
    "topics": "earful.topics.assign:after_ingest",
}


def run_after_ingest(store, source: str) -> dict:
    from earful.registry import load_optional

    out = {}
    for name, path in AFTER_INGEST.items():
        hook = load_optional(path)
        if hook is None:
            continue
        result = hook(store, source)
        if result is not None:
            out[name] = result
    return out
