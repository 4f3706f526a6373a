"""Topic fit + assignment at scale: 100,000 and 1,000,000 synthetic-but-varied items through the real store.

Synthetic items are made from the real URR reviews' embeddings, not by embedding new text (to save hours): each
synthetic vector is a real review's vector plus a random projection of Gaussian noise, renormalised, and carries
that review's text. They are written straight into `items`/`embeddings` (bypassing CSV ingest, which is benched
in bench/ingest.py), then `topics.fit.fit_topics` runs unchanged: BERTopic on a sample of `--sample-cap` items,
outlier reassignment, nearest-centroid assignment of the rest in batches, id matching, persistence. After the
fit, 1% more synthetic items arrive and `topics.assign.assign_new` assigns them. Each size runs in a fresh
process (spawn); peak RSS is that process's.

Run: .venv/bin/python bench/topics_scale.py [--sizes 100000 1000000] [--sample-cap 20000]

Measured 2026-11-27, 2 shared cores (load ~0.5-1), each size in its own run, min_cluster_size ~0.3*sqrt(20k) = 42,
UMAP n_neighbors 30 (the sample's size sets both; a 100k default sample would give 95 and 30):

    items     | clustered | topics | raw outliers | outliers | load s | fit+assign s | assign new     | peak MB | db MB
    100,000   | 20,000    | 103    | 22.3%        | 1.4%     | 3      | 65           | 1,000 in 0.1s  | 2172    | 168
    1,000,000 | 20,000    | 116    | 24.2%        | 1.2%     | 24     | 70           | 10,000 in 0.6s | 8899    | 1573

``--aspects`` (issue 14): the same items segmented into mentions, polarity-scored and given aspect topics with
`fit_aspects`' defaults (a seeded sample of 50,000 mentions embedded and clustered, every other mention whose text
has a vector assigned to the nearest aspect, the rest by the text classifier), then 1% more items segmented and
assigned (`assign_new_mentions`). The synthetic items repeat the 7,753 real texts, so their mentions repeat ~18,000
distinct texts: embedding the sample costs its distinct texts only, and most mentions find a cached vector (a real
workspace would send more of them to the text classifier). 2026-12-01, 2 shared cores (load 2-4 from other work):

    items   | mentions | seg+pol s | clustered | embedded | by text | aspects | outliers | fit s | new mentions  | peak
    100,000   | 234,973   | 41  | 50,000 | 13,969 | 4,604  | 267 | 0.6% | 417 | 2,417 in 1.5s   | 3118
    1,000,000 | 2,351,912 | 341 | 50,000 | 14,024 | 53,341 | 270 | 0.9% | 626 | 23,690 in 10.1s | 15564

(topics fit in the same runs: 100 and 104 topics, 272 and 215 s, peak 2,308 and 8,343 MB; 37 minutes for both sizes.)
The million items fit in 24 GB, but the aspect fit's peak (15.6 GB) is nearly twice the topics fit's: `fit_aspects`
holds the ids and texts of all 2.35 million mentions in Python and reads the vector of every mention whose text has
one (here ~2.3 million, 3.5 GB as float32, plus Arrow's copy) to assign them by nearest centroid; reading and
assigning those in batches is the next step if workspaces grow further. The first try of the 100,000 row ran the
text classifier's SVM on every mention with a vector (~200,000) and was stopped after 20 minutes in `LinearSVC.fit`;
it now learns from a seeded sample of at most 20,000 (`topics.aspect_assign.TEXT_TRAIN_CAP`).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REVIEWS = ROOT.parent / "shared" / "datasets" / "urr_app_reviews" / "reviews_all.csv"


def _real(seed_db: Path):
    from earful.embeddings import embed_items, item_vectors
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    with Store(seed_db) as s:
        if not s.scalar("SELECT count(*) FROM items"):    # a workspace of the same reviews (the demo's) is fine too
            ingest_file(s, REVIEWS, source="urr")
        embed_items(s)
        ids, X = item_vectors(s)
        texts = dict(s.rows("SELECT item_id, text FROM items"))
    return X, [texts[i] for i in ids]


def _synth(X, texts, n, start, rng):
    import pyarrow as pa

    base = rng.integers(0, len(X), n)
    proj = rng.normal(size=(64, X.shape[1])).astype(np.float32) / 8.0   # random projection of 64-d noise
    noise = rng.normal(size=(n, 64)).astype(np.float32) @ proj
    noise *= 0.35 / np.linalg.norm(noise, axis=1, keepdims=True)          # cosine to the source review ~0.94
    V = X[base] + noise
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    ids = [f"syn{start + i:08d}" for i in range(n)]
    days = rng.integers(0, 365, n)
    items = pa.table({"item_id": ids, "source": ["synth"] * n, "external_id": ids,
                      "text": [texts[b] for b in base],
                      "created_at": pa.array((np.datetime64("2025-01-01") + days.astype("timedelta64[D]"))
                                             .astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC")),
                      "rating": pa.array([None] * n, pa.float64()), "author": pa.array([None] * n, pa.string()),
                      "content_hash": ids, "batch_id": ["synth"] * n})
    emb = pa.table({"content_hash": ids, "model_id": ["all-MiniLM-L6-v2"] * n,
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(V.reshape(-1)), 384)})
    return items, emb


def _load(store, items, emb, chunk=200_000):
    cols = [r[0] for r in store.rows("SELECT column_name FROM information_schema.columns WHERE table_name='items' "
                                     "ORDER BY ordinal_position")]
    for s in range(0, items.num_rows, chunk):
        with store.transaction() as con:
            con.register("_i", items.slice(s, chunk))
            con.register("_e", emb.slice(s, chunk))
            con.execute(f"INSERT INTO items ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _i")
            con.execute("INSERT INTO src_synth SELECT item_id FROM _i")
            con.execute("INSERT INTO embeddings SELECT * FROM _e")
            con.unregister("_i")
            con.unregister("_e")


def one_size(n, sample_cap, seed_db, workdir, q, aspects=False):
    from earful.store import Store
    from earful.topics.assign import assign_new
    from earful.topics.fit import fit_topics

    X, texts = _real(Path(seed_db))
    rng = np.random.default_rng(7)
    db = Path(workdir) / f"scale_{n}.duckdb"
    db.unlink(missing_ok=True)
    with Store(db) as s:
        s.con.execute("CREATE TABLE src_synth (item_id VARCHAR)")
        s.con.execute("INSERT INTO sources (name, raw_table, text_column) VALUES ('synth', 'src_synth', 'text')")
        t = time.perf_counter()
        items, emb = _synth(X, texts, n, 0, rng)
        _load(s, items, emb)
        del items, emb
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        res = fit_topics(s, sample_cap=sample_cap)
        fit_s = time.perf_counter() - t
        more = max(1, n // 100)
        items, emb = _synth(X, texts, more, n, rng)
        _load(s, items, emb)
        t = time.perf_counter()
        a = assign_new(s)
        assign_s = time.perf_counter() - t
        peak_topics = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        asp = _aspects(s, X, texts, n + more, rng) if aspects else None
    q.put({"n": n, "load_s": load_s, "fit_s": fit_s, "assign_s": assign_s, "new": a["new_items"],
           "topics": res["topics"], "fitted_on": res["fitted_on"], "raw": res["outlier_rate_raw"],
           "outliers": res["outlier_rate"], "peak_mb": peak_topics, "aspects": asp,
           "db_mb": db.stat().st_size / 2**20})


def _aspects(s, X, texts, start, rng) -> dict:
    """Issue 14's stage on the same workspace: segment + polarity, `fit_aspects` with its defaults (a sample of
    mentions about as large as `topics.fit.default_sample_cap` embedded and clustered, the rest assigned by their
    vector when their text already has one, else by the text classifier), then 1% more items segmented and given
    their aspects (`assign_new_mentions`). Peak RSS is the process's whole peak (topics fit included)."""
    from earful.topics.aspects import assign_new_mentions, fit_aspects
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    t = time.perf_counter()
    seg = segment(s)
    score_polarity(s)
    seg_s = time.perf_counter() - t
    t = time.perf_counter()
    res = fit_aspects(s)
    fit_s = time.perf_counter() - t
    more = max(1, start // 100)
    items, emb = _synth(X, texts, more, start, rng)
    _load(s, items, emb)
    t = time.perf_counter()
    seg2 = segment(s)
    score_polarity(s)
    new = assign_new_mentions(s)
    new_s = time.perf_counter() - t
    return {"mentions": seg["mentions"], "seg_s": seg_s, "fit_s": fit_s, "aspects": res["aspects"],
            "fitted_on": res["fitted_on"], "embedded": res["embedded"], "by_text": res["by_text"],
            "general": res["general"], "outliers": res["outlier_rate"], "new_mentions": seg2["mentions_added"],
            "new_s": new_s, "new_assigned": new["assigned"] + new["general"] + new["outliers"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--sample-cap", type=int, default=20_000)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--aspects", action="store_true",
                    help="then segment the same items into mentions and fit aspect topics over them (issue 14)")
    args = ap.parse_args()
    seed_db = Path(args.workdir) / "earful_bench_topics.duckdb"
    _real(seed_db)  # ingest + embed the real reviews once (cached in seed_db)
    ctx = mp.get_context("spawn")
    rows, arows = [], []
    for n in args.sizes:
        q = ctx.Queue()
        p = ctx.Process(target=one_size, args=(n, args.sample_cap, str(seed_db), args.workdir, q, args.aspects))
        p.start()
        import queue

        while True:
            try:
                r = q.get(timeout=5)
                break
            except queue.Empty:
                if not p.is_alive():
                    raise RuntimeError(f"size {n} failed (see its traceback above)") from None
        p.join()
        rows.append([f"{r['n']:,}", f"{r['fitted_on']:,}", r["topics"], f"{r['raw']:.1%}", f"{r['outliers']:.1%}",
                     f"{r['load_s']:.0f}", f"{r['fit_s']:.0f}", f"{r['new']:,} in {r['assign_s']:.1f}s",
                     f"{r['peak_mb']:.0f}", f"{r['db_mb']:.0f}"])
        print("done: " + " | ".join(str(c) for c in rows[-1]), flush=True)
        if r["aspects"]:
            a = r["aspects"]
            arows.append([f"{r['n']:,}", f"{a['mentions']:,}", f"{a['seg_s']:.0f}", f"{a['fitted_on']:,}",
                          f"{a['embedded']:,}", f"{a['by_text']:,}", a["aspects"], f"{a['outliers']:.1%}",
                          f"{a['fit_s']:.0f}", f"{a['new_mentions']:,} in {a['new_s']:.1f}s", f"{a['peak_mb']:.0f}"])
            print("aspects: " + " | ".join(str(c) for c in arows[-1]), flush=True)
    head = ["items", "clustered", "topics", "raw outliers", "outliers", "load s", "fit+assign s", "assign new",
            "peak MB", "db MB"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    if arows:
        _table(["items", "mentions", "seg+pol s", "clustered", "embedded", "by text", "aspects", "outliers", "fit s",
                "new mentions", "peak MB"], arows)
    return 0


def _table(head, rows) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))


if __name__ == "__main__":
    sys.exit(main())
