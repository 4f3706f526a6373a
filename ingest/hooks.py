"""After-ingest hooks: later stages that keep derived data current when new items arrive.

A hook is ``(store, source) -> dict | None`` listed here by dotted path (a registry, not an if/elif); it runs in the
ingest command after each file's transaction commits, and its result is added to that file's summary under the
hook's name. Example: with a topic model fitted, new items are assigned to existing topics without a refit.
"""
from __future__ import annotations

import importlib

AFTER_INGEST: dict[str, str] = {
    "topics": "topics.assign:after_ingest",
}


def run_after_ingest(store, source: str) -> dict:
    out = {}
    for name, path in AFTER_INGEST.items():
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        result = getattr(module, attr)(store, source)
        if result is not None:
            out[name] = result
    return out
