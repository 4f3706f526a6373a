"""After-ingest hooks: later stages that keep derived data current when new items arrive.

A stage implements the plugin hook ``after_ingest(store, source) -> {name: summary} | None`` (see `earful.plugins`);
it runs in the ingest command after each file's transaction commits, and what it returns is added to that file's
summary. Example: with a topic model fitted, the topics stage assigns new items to existing topics without a refit.
Ingest names no later stage.
"""
from __future__ import annotations


def run_after_ingest(store, source: str) -> dict:
    from earful.plugins import call_hook

    out = {}
    for result in call_hook("after_ingest", store=store, source=source):
        if result:
            out.update(result)
    return out
