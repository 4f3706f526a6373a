"""Time per question of the built-in engine (parse + plan + SQL run + compose) on a ~1,000,000-row workspace.

usage: .venv/bin/python bench/builtin_engine.py [--rows 1000000] [--repeat 5] [--workdir DIR]

Builds one workspace holding the three datasets of ../shared/eval/dev_qa.jsonl (CLAP reviews, WildBench
critiques, Tizard forum sentences), ingested with the real pipeline, then grows it to about --rows rows by
repeating every real row with a new item id (the long WildBench critique texts of the copies are cut to 300
characters to keep the file small). The schema card is built once (its time is reported apart: it is cached per
database state), then every dev question is asked --repeat times in-process and timed. Prints a table per
question and p50/p95 over all timings, then the same for a few questions the engine must decline (a decline in
a warm process must be as fast as an answer). Answers are not scored here (the copies change the counts); run
../shared/eval/run_qa.py for correctness.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
DATA = [("reviews", "datasets/clap_app_reviews/reviews.csv", "review", 0.60),
        ("critiques", "datasets/wildbench_v2_critiques/critiques.jsonl", "weaknesses", 0.245),
        ("forum", "datasets/tizard_forum_posts/sentences.csv", "sentence", 0.155)]
# questions no built-in engine can answer: timed as declines (an LLM's kind of question, or words it cannot map)
DECLINES = ["Why do users feel betrayed by the last update?", "Summarise the tone of the forum in one paragraph.",
            "Which reviewer is the most trustworthy?", "What would a product manager fix first, and why?",
            "How many reviews mention the blorptastic flux capacitor gizmo wobble?"]


def build(db: Path, rows: int) -> dict:
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    s = Store(db)
    try:
        for source, path, text, _ in DATA:
            ingest_file(s, SHARED / path, source=source, overrides={"text": text})
        con = s.con
        for source, _, _, frac in DATA:
            n = con.execute("SELECT count(*) FROM items WHERE source = ?", [source]).fetchall()[0][0]
            k = max(1, round(rows * frac / n))
            raw = con.execute("SELECT raw_table FROM sources WHERE name = ?", [source]).fetchall()[0][0]
            cols = [r[0] for r in con.execute(f'DESCRIBE "{raw}"').fetchall()]
            cut = ", ".join(f'left("{c}", 300) AS "{c}"' for c in ("strengths", "weaknesses") if c in cols)
            with s.transaction():
                replace = "item_id || '-' || g AS item_id" + (", " + cut if cut else "")
                con.execute(f"""INSERT INTO "{raw}" SELECT s.* REPLACE ({replace})
                                FROM "{raw}" s, range(1, {k}) r(g)""")
                con.execute(f"""INSERT INTO items SELECT i.* REPLACE (item_id || '-' || g AS item_id,
                                {'left(text, 300)' if cut else 'text'} AS text)
                                FROM items i, range(1, {k}) r(g) WHERE source = '{source}'""")
        con.execute("CHECKPOINT")
        return {src: con.execute("SELECT count(*) FROM items WHERE source = ?", [src]).fetchall()[0][0]
                for src, *_ in DATA}
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    from earful.qa_agent.base import AskContext
    from earful.qa_agent.builtin import BuiltinEngine
    from earful.qa_agent.schema_card import build_schema_card

    work = Path(a.workdir or tempfile.mkdtemp(prefix="earful-bench-"))
    db = work / "bench.duckdb"
    t0 = time.perf_counter()
    sizes = build(db, a.rows) if not db.exists() else {}
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_schema_card(str(db))
    t_card = time.perf_counter() - t0
    qs = [json.loads(line) for line in open(SHARED / "eval" / "dev_qa.jsonl") if line.strip()]
    engine = BuiltinEngine()
    ctx = AskContext(db_path=str(db), settings=None)
    from earful.qa_agent.builtin import fast_table
    from earful.qa_agent.builtin.compiler import compile_sql
    from earful.qa_agent.builtin.parse import parse
    from earful.store.readonly import run_read_only

    card = build_schema_card(str(db))
    cols = {"total": [], "parse": [], "sql": []}
    table = []
    for q in qs:
        ts = {"total": [], "parse": [], "sql": []}
        status = ""
        for _ in range(a.repeat):
            t = time.perf_counter()
            ans = engine.answer(q["question"], ctx)          # parse + plan + run_sql (sandbox) + compose
            ts["total"].append((time.perf_counter() - t) * 1000)
            status = ans.status
            t = time.perf_counter()
            parsed = parse(q["question"], card)              # parse + plan + compile alone
            sql = compile_sql(parsed.plan, fast_table(parsed.plan, str(db))) if parsed.plan else None
            ts["parse"].append((time.perf_counter() - t) * 1000)
            if sql:                                          # the same SQL in-process (no sandbox start-up)
                t = time.perf_counter()
                run_read_only(str(db), sql)
                ts["sql"].append((time.perf_counter() - t) * 1000)
        for k in cols:
            cols[k] += ts[k]
        table.append((q["id"], q["question"][:52], status, *(statistics.median(ts[k]) if ts[k] else 0.0
                                                              for k in ("parse", "sql", "total"))))
    total = sum(sizes.values()) if sizes else "(existing)"
    print(f"workspace: {total} rows {sizes} built in {t_build:.1f}s; schema card (once per db state) {t_card:.2f}s")
    print(f"{'id':4} {'question':52} {'status':9} {'parse+plan':>10} {'sql in-proc':>11} {'answer()':>9}  (ms, median)")
    for row in table:
        print(f"{row[0]:4} {row[1]:52} {row[2]:9} {row[3]:10.1f} {row[4]:11.1f} {row[5]:9.1f}")
    for k, label in (("parse", "parse + plan"), ("sql", "SQL in-process (read-only DuckDB)"),
                     ("total", "answer() end to end (parse + plan + run_sql in-process + compose)")):
        xs = sorted(cols[k])
        p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
        print(f"{label:72} p50 {statistics.median(xs):8.1f} ms  p95 {p95:8.1f} ms  (n={len(xs)})")
    declines = []
    for question in DECLINES:
        for _ in range(a.repeat):
            t = time.perf_counter()
            ans = engine.answer(question, ctx)
            declines.append((time.perf_counter() - t) * 1000)
        print(f"     {question[:52]:52} {ans.status:9} {statistics.median(declines[-a.repeat:]):9.1f} ms (median)")
    xs = sorted(declines)
    print(f"{'decline (warm process, answer() end to end)':72} p50 {statistics.median(xs):8.1f} ms  "
          f"p95 {xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]:8.1f} ms  (n={len(xs)})")
    print("target: p50 < 50 ms per question, and per decline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
