"""`make demo`: Earful's main job on its embedded defaults, over the bundled sample data.

Ingests the bundled URR app reviews (a real, MIT-licensed Google Play set), embeds them with the packaged MiniLM
model, then runs each later stage that is installed (classify, topics, answers) and prints what it found. The
workspace is ``demo.duckdb`` in the current folder, so you can keep asking afterwards:
``.venv/bin/earful --db demo.duckdb ask "..."``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
DB = os.environ.get("EARFUL_DEMO_DB", "demo.duckdb")



def demo_steps() -> tuple[list, list]:
    """Each later stage's demo step, from the plugin hook ``register_demo_steps``: ``(store, console)`` steps run
    while the workspace is open; ``after_close`` steps ``(db_path, console)`` read it from other processes later."""
    from earful.plugins import Registry

    steps = Registry("register_demo_steps", "demo step").load()
    during, after = [], []
    for entry in steps.values():
        fn, options = entry if isinstance(entry, tuple) else (entry, {})
        (after if options.get("after_close") else during).append(fn)
    return during, after


def main() -> int:
    from earful.cli.common import rich_table
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.status import workspace_status
    from earful.store import Store

    console = Console()
    during, after = demo_steps()
    console.rule("Earful demo: embedded defaults, no LLM")
    with Store(DB) as store:
        r = ingest_file(store, DATA / "urr_app_reviews.csv", source="reviews")
        console.print(f"ingested {r['path']} as source 'reviews': {r['added']} added, {r['duplicates']} duplicates, "
                      f"{r['quarantined']} quarantined (detected: {r['detection']})")
        e = embed_items(store, progress=True)
        console.print(f"embedded {e['embedded']} new texts ({e['cached']} already cached)")
        for step in during:
            step(store, console)
        info = workspace_status(store)
    for step in after:
        step(DB, console)
    console.rule("workspace")
    console.print(rich_table(["source", "items", "first", "last", "embedded", "quarantined"],
                             [[s["source"], s["items"], s["first"], s["last"], s["embedded"], s["quarantined"]]
                              for s in info["sources"]]))
    console.print(f"Keep going: .venv/bin/earful --db {DB} ask \"how many reviews mention battery?\"")
    return 0


if __name__ == "__main__":
    sys.exit(main())
