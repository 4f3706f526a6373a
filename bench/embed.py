"""Benchmark: Earful's `embed_items` vs a bare `SentenceTransformer.encode` on the same 5,000 texts, same process.

The model is loaded once before any timing (both paths share it). Order: bare, Earful cold (empty cache, vectors
written to the store), bare again (the machine is shared, so the bare rate is the mean of the two runs around
Earful's), then Earful re-run (every vector cached). Prints a table: seconds, sentences/s, ratio to bare.
Target (issue 2): Earful cold >= 0.9x bare.

    .venv/bin/python bench/embed.py [--n 5000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()

    import torch

    from earful.embeddings import Embedder, embed_items, load_model
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    work = Path(tempfile.mkdtemp(prefix="earful_embed_"))
    store = Store(work / "w.duckdb")
    ingest_file(store, ROOT / "examples" / "data" / "urr_app_reviews.csv", source="reviews")
    ingest_file(store, ROOT / "examples" / "data" / "tizard_forum_sentences.csv", source="forum")
    # keep exactly n distinct texts in the workspace, so both paths embed the same n sentences
    with store.transaction() as con:
        con.execute("""DELETE FROM items WHERE item_id NOT IN (
                         SELECT item_id FROM (SELECT item_id, row_number() OVER (PARTITION BY content_hash
                                              ORDER BY item_id) AS k FROM items) WHERE k = 1
                         ORDER BY item_id LIMIT ?)""", [args.n])
    texts = [r[0] for r in store.rows("SELECT text FROM items ORDER BY item_id")]
    assert len(texts) == args.n == len(set(texts)), (len(texts), len(set(texts)))

    emb = Embedder()
    model = load_model()
    model.encode(texts[:64], batch_size=emb.batch_size)  # warm-up, untimed

    def bare() -> float:
        t = time.perf_counter()
        model.encode(texts, batch_size=emb.batch_size, normalize_embeddings=True, convert_to_numpy=True)
        return time.perf_counter() - t

    b1 = bare()
    t = time.perf_counter()
    cold = embed_items(store, emb)
    e_cold = time.perf_counter() - t
    b2 = bare()
    t = time.perf_counter()
    warm = embed_items(store, emb)
    e_warm = time.perf_counter() - t
    assert cold["embedded"] == args.n and warm == {"embedded": 0, "cached": args.n}, (cold, warm)
    b = (b1 + b2) / 2

    from rich.console import Console
    from rich.table import Table

    tab = Table(title=f"embedding {args.n:,} texts (all-MiniLM-L6-v2, CPU, torch threads={torch.get_num_threads()}, "
                      f"batch {emb.batch_size})")
    for c in ("path", "seconds", "sentences/s", "vs bare"):
        tab.add_column(c, justify="left" if c == "path" else "right")
    tab.add_row("bare SentenceTransformer.encode (run 1)", f"{b1:.1f}", f"{args.n / b1:,.0f}", f"{b / b1:.2f}x")
    tab.add_row("bare SentenceTransformer.encode (run 2)", f"{b2:.1f}", f"{args.n / b2:,.0f}", f"{b / b2:.2f}x")
    tab.add_row("earful embed_items, cold (+ store writes)", f"{e_cold:.1f}", f"{args.n / e_cold:,.0f}",
                f"{b / e_cold:.2f}x")
    tab.add_row("earful embed_items, re-run (all cached)", f"{e_warm:.3f}", f"{args.n / e_warm:,.0f}",
                f"{b / e_warm:.0f}x")
    Console(width=110).print(tab)
    print(f"target: cold >= 0.90x bare -> {'met' if b / e_cold >= 0.9 else 'NOT met'}; "
          f"re-run speed-up over cold: {e_cold / e_warm:,.0f}x")
    store.close()
    import shutil

    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
