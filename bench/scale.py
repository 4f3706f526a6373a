"""Scale-out of the lake's model stages (#18): embed and classify throughput per engine on this machine, a simulated
scale-out from measured per-actor throughput and per-batch overheads, and rollup query latency on synthetic rows.

1. A small workspace (``--rows`` bundled URR reviews: ingest, MiniLM vectors, a TF-IDF model on the ardoc gold
   column) is exported to a lake; `embed` and `classify` run with ``--redo`` on ``--engine local`` and
   ``--engine ray`` (a local one-node cluster, ``num_cpus=3``; cluster start-up is timed apart).
2. Per-actor model: each stage is timed in-process on one thread (``torch.set_num_threads(1)``, what a 1-CPU Ray
   actor gets) at two batch sizes; ``t(batch) = overhead + rows / rate`` gives the per-actor rate and the fixed
   per-batch overhead. The Ray run's wall time minus that compute is Ray's per-run overhead (scheduling, actor start,
   model load, staging the input, the object store, the writes).
3. Rollups: ``--synthetic-rows`` items (5 sources, 2 years of days, ratings 1-5, one taxonomy of 6 labels) written
   as a partitioned lake with DuckDB, rollups built, then the same questions timed on the raw views and on the
   rollups (median of 5 runs, warm).

Run: .venv/bin/python bench/scale.py [--rows 400] [--synthetic-rows 20000000] [--skip-ray] [--only-rollups]

Measured 2026-11-30 on this machine: 2 cores shared with other work (1-minute load 5-15 throughout, so every rate is
several times below a quiet machine's; #18 measured 255 texts/s embedding on 2 quiet cores), 400 URR reviews,
batch 64, Ray 2.60 one-node cluster (num_cpus=3, start-up 24 s, not counted):

    engine | stage    | rows | wall s | rows/s         ray / local wall: embed 1.86x (1.50x in an earlier run),
    local  | embed    | 400  | 39.3   | 10             classify 8.3x (a 5 s job: Ray's ~45 s per-run overhead of
    local  | classify | 400  | 5.7    | 70             actor start, model load and scheduling dominates)
    ray    | embed    | 400  | 73.3   | 5
    ray    | classify | 400  | 47.1   | 8

Scale-out (per-actor rate on one thread, measured here under load, linear in workers, the per-run overhead paid
once): embedding 1B texts at 26/s per actor takes 8.6 days on 64 workers and 26 h on 512; at 128/s per actor (a quiet
core) 34 h on 64 workers and 4.3 h on 512. Classification (TF-IDF, 35k rows/s per actor) of 1B rows: 16 min on 64
workers. Rollups on 20,000,000 synthetic items (0.91 GB of Parquet, written in 72 s; rollups built in 17 s, 40,150
rows): reviews per source 435 ms raw vs 15 ms from the rollup (29x), monthly volume and mean rating of one source
266 vs 9 ms (30x), label shares of the last 90 days 2,514 vs 17 ms (148x), the same answers.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TAXONOMY = "ardoc"


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "  " + " | ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(headers), "  " + "-+-".join("-" * w for w in widths), *map(line, cells)])


def build(folder: Path, rows: int) -> Path:
    from test_lake import build_workspace

    db = folder / "w.duckdb"
    if db.exists():
        return db
    shutil.rmtree(folder, ignore_errors=True)
    return build_workspace(folder, rows=rows)


def stage_rates(lake, jobs: dict, sizes=(32, 128)) -> dict:
    """Per-actor model: rows/s and per-batch overhead of each stage on one thread, from two batch sizes."""
    import torch

    from earful.lake.catalog import connect_lake

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    try:
        con = connect_lake(lake)
        for name, job in jobs.items():
            t0 = time.perf_counter()
            stage = job.stage(**job.kwargs)
            load = time.perf_counter() - t0
            data = con.sql(job.input_sql).to_arrow_table()
            times = {}
            for b in sizes:
                n = min(b, data.num_rows)
                batch = data.slice(0, n)
                stage(batch)   # warm
                reps = max(1, 256 // n)
                t0 = time.perf_counter()
                for _ in range(reps):
                    stage(batch)
                times[n] = (time.perf_counter() - t0) / reps
            (b1, t1), (b2, t2) = sorted(times.items())
            per_row = max((t2 - t1) / max(b2 - b1, 1), 1e-9)
            overhead = max(t1 - per_row * b1, 0.0)
            out[name] = {"rate": 1.0 / per_row, "batch_overhead_s": overhead, "load_s": load, "sizes": times}
        con.close()
    finally:
        torch.set_num_threads(threads)
    return out


def engines(db: Path, work: Path, skip_ray: bool, batch: int) -> tuple[list, dict, dict]:
    from earful.lake import runner
    from earful.lake.export import export
    from earful.lake.layout import Lake
    from earful.store import Store

    with Store(db, read_only=True) as s:
        export(s, str(work / "lake"))
    lake = Lake(str(work / "lake"))
    jobs = {"embed": runner.embed_job(lake, redo=True), "classify": runner.classify_job(lake, TAXONOMY, redo=True)}
    rows, walls = [], {}
    ray_start = None
    for engine in ["local"] + ([] if skip_ray else ["ray"]):
        if engine == "ray":
            t0 = time.perf_counter()
            runner.ensure_ray(num_cpus=3)
            ray_start = time.perf_counter() - t0
        for name in jobs:
            job = {"embed": lambda: runner.embed_job(lake, redo=True),
                   "classify": lambda: runner.classify_job(lake, TAXONOMY, redo=True)}[name]()
            t0 = time.perf_counter()
            out = runner.run(lake, job, engine=engine, batch_size=batch, concurrency=2)
            wall = time.perf_counter() - t0
            walls[(engine, name)] = wall
            if engine == "local":
                walls[("load", name)] = out.get("model_load_s", 0.0)
            rows.append([engine, name, out["rows"], f"{wall:.1f}", f"{out['rows'] / wall:.0f}"])
    return rows, walls, {"ray_start_s": ray_start, "jobs": jobs, "lake": lake}


def scale_out(rates: dict, walls: dict, n_rows: int, batch: int) -> str:
    lines = []
    workers = [1, 8, 64, 512]
    sizes = [1_000_000, 100_000_000, 1_000_000_000]
    rates = dict(rates)
    if "embed" in rates:   # the same model at the rate measured on 2 quiet cores before (#18: 255 texts/s)
        rates["embed at 128/s per actor (quiet core)"] = {**rates["embed"], "rate": 127.5, "batch_overhead_s": 0.0}
        walls[("ray", "embed at 128/s per actor (quiet core)")] = walls.get(("ray", "embed"))
        walls[("load", "embed at 128/s per actor (quiet core)")] = walls.get(("load", "embed"), 0.0)
    for name, r in rates.items():
        r["load_s"] = max(r["load_s"], walls.get(("load", name), 0.0))   # the first load in this process
        compute_1 = n_rows / r["rate"] + (n_rows / batch) * r["batch_overhead_s"]
        ray_wall = walls.get(("ray", name))
        run_overhead = max(ray_wall - compute_1 / 2, 0.0) if ray_wall else 30.0   # 2 actors ran it
        rows = []
        for n in sizes:
            cells = [f"{n:,}"]
            for w in workers:
                t = run_overhead + r["load_s"] + (n / r["rate"] + (n / batch) * r["batch_overhead_s"]) / w
                cells.append(_dur(t))
            rows.append(cells)
        lines.append(f"  {name}: per actor {r['rate']:.0f} rows/s, {1000 * r['batch_overhead_s']:.1f} ms per batch, "
                     f"model load {r['load_s']:.1f} s; Ray per-run overhead {run_overhead:.1f} s")
        lines.append(table(["rows"] + [f"{w} workers" for w in workers], rows))
    return "\n".join(lines)


def _dur(s: float) -> str:
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


# -- rollups on synthetic rows --------------------------------------------------------------------------------------
def synthetic_lake(folder: Path, n: int) -> float:
    """Write `n` items and their labels as a partitioned lake with DuckDB; returns seconds."""
    import json

    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""CREATE TEMP TABLE s AS SELECT 'i' || range AS item_id,
        ['play', 'mail', 'maps', 'chat', 'shop'][1 + (hash(range) % 5)::INT] AS source,
        DATE '2024-01-01' + ((hash(range * 7) % 730)::INT) AS date,
        (1 + hash(range * 13) % 5)::DOUBLE AS rating,
        ['bug', 'feature', 'praise', 'question', 'complaint', 'other'][1 + (hash(range * 17) % 6)::INT] AS label
        FROM range({n})""")
    con.execute(f"""COPY (SELECT item_id, NULL::VARCHAR AS external_id, 'synthetic' AS text,
        date::TIMESTAMPTZ AS created_at, rating, NULL::VARCHAR AS author, md5(item_id) AS content_hash,
        'b0' AS batch_id, source, date FROM s) TO '{folder}/items' (FORMAT parquet, PARTITION_BY (source, date),
        FILENAME_PATTERN 'part-{{i}}')""")
    (folder / "labels" / "taxonomy=kind" / "model=v1").mkdir(parents=True)
    con.execute(f"""COPY (SELECT item_id, label, [label] AS labels, 0.9::DOUBLE AS probability, 'offline' AS method,
        NULL::VARCHAR AS reason, TIMESTAMPTZ '2025-01-01' AS labelled_at FROM s)
        TO '{folder}/labels/taxonomy=kind/model=v1/part-0.parquet' (FORMAT parquet)""")
    con.close()
    (folder / "_lake.json").write_text(json.dumps({"format": "earful-lake-1", "current": {
        "embeddings": [], "labels": {"kind": ["v1"]}, "topics": []}}))
    return time.perf_counter() - t0


QUESTIONS = {
    "reviews per source": ("SELECT source, count(*) FROM items GROUP BY 1",
                           "SELECT source, sum(n) FROM rollup_items GROUP BY 1"),
    "monthly volume and mean rating, one source": (
        "SELECT date_trunc('month', date), count(*), avg(rating) FROM items WHERE source = 'mail' GROUP BY 1",
        "SELECT date_trunc('month', day), sum(n), sum(rating * n) / sum(n) FROM rollup_items "
        "WHERE source = 'mail' GROUP BY 1"),
    "label shares, last 90 days": (
        "SELECT l.label, count(*) FROM items i JOIN classify_labels l USING (item_id) "
        "WHERE i.date >= DATE '2025-10-02' GROUP BY 1",
        "SELECT label, sum(n) FROM rollup_labels WHERE day >= DATE '2025-10-02' GROUP BY 1"),
}


def rollup_latency(n: int) -> tuple[str, dict]:
    from earful.lake import rollups
    from earful.lake.catalog import connect_lake
    from earful.lake.layout import Lake

    folder = Path(tempfile.mkdtemp(prefix="earful_scale_"))
    try:
        write_s = synthetic_lake(folder, n)
        lake = Lake(str(folder))
        t0 = time.perf_counter()
        parts = rollups.rebuild_all(lake)
        build_s = time.perf_counter() - t0
        con = connect_lake(lake)
        rows = []
        for name, (raw, rolled) in QUESTIONS.items():
            timing = []
            for sql in (raw, rolled):
                con.execute(sql).fetchall()
                runs = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    con.execute(sql).fetchall()
                    runs.append(time.perf_counter() - t0)
                timing.append(statistics.median(runs))
            same = sorted(map(str, con.execute(raw).fetchall())) == sorted(map(str, con.execute(rolled).fetchall()))
            rows.append([name, f"{1000 * timing[0]:.0f}", f"{1000 * timing[1]:.1f}", f"{timing[0] / timing[1]:.0f}x",
                         "yes" if same else "NO"])
        rollup_rows = con.execute("SELECT (SELECT count(*) FROM rollup_items) + (SELECT count(*) FROM rollup_labels)"
                                  ).fetchall()[0][0]
        con.close()
        size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
        info = {"write_s": write_s, "build_s": build_s, "partitions": parts, "rollup_rows": rollup_rows,
                "bytes": size}
        return table(["question", "raw ms", "rollups ms", "speed-up", "same answer"], rows), info
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=400, help="URR reviews in the sample workspace")
    ap.add_argument("--batch", type=int, default=64, help="rows per stage batch")
    ap.add_argument("--synthetic-rows", type=int, default=20_000_000, help="rows for the rollup latency part")
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "earful_scale_bench"))
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-rollups", action="store_true")
    ap.add_argument("--only-rollups", action="store_true")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} (1-minute load average at the start)")
    if not args.only_rollups:
        stages(args, work)
    if not args.skip_rollups:
        text, info = rollup_latency(args.synthetic_rows)
        print(f"\n3. Rollup query latency on {args.synthetic_rows:,} synthetic items (+ one label each): lake written "
              f"in {info['write_s']:.0f} s ({info['bytes'] / 1e9:.2f} GB), rollups built in {info['build_s']:.0f} s "
              f"({info['partitions']} partitions, {info['rollup_rows']:,} rows); median of 5 warm runs")
        print(text)


def stages(args, work: Path) -> None:
    db = build(work / f"ws{args.rows}", args.rows)
    shutil.rmtree(work / "lake", ignore_errors=True)
    rows, walls, ctx = engines(db, work, args.skip_ray, args.batch)
    print(f"\n1. Throughput per engine ({args.rows} reviews, batch {args.batch}, ray: 2 actors of 1 CPU; "
          f"Ray cluster start {ctx['ray_start_s'] or 0:.1f} s, not counted)")
    print(table(["engine", "stage", "rows", "wall s", "rows/s"], rows))
    for name in ctx["jobs"]:
        if ("ray", name) in walls:
            print(f"  {name}: ray / local wall time = {walls[('ray', name)] / walls[('local', name)]:.2f}x")
    rates = stage_rates(ctx["lake"], ctx["jobs"])
    print("\n2. Simulated scale-out: T(N) = Ray per-run overhead + model load + rows x (1/rate + batch overhead/"
          "batch) / N")
    print("   assumptions: one 1-CPU actor per worker core at the per-actor rate measured here (one thread), linear"
          " in workers (no shared bottleneck: the input is read from object storage in parallel, outputs written"
          " by the workers); the per-run overhead measured on this machine is paid once; staging the input on the"
          " driver (DuckDB anti-join, measured inside the Ray run) is assumed to stay under the compute time, which"
          " at 1B rows needs the input read directly from the items partitions instead")
    print(scale_out(rates, walls, args.rows, args.batch))
    if not args.skip_ray:
        import ray

        ray.shutdown()


if __name__ == "__main__":
    main()
