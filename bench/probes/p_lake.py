#!/usr/bin/env python3
"""Black-box probes for issue 18 (export to a Parquet lake, the lake catalog, lake stages, their limits).

Written without reading Earful's code: only README.md, issue18.md, `--help` and the shared datasets. Every probe
compares Earful's output with a value recomputed here (DuckDB's read_parquet over the files Earful wrote, file
mtimes, the .duckdb workspace's own answers) or with a concrete expected behaviour (a clean refusal).

    python bench/probes/p_lake.py --earful /work/base20-earful --out /tmp/p_lake.json
    python bench/probes/p_lake.py --earful /work/main/.venv/bin/earful --out /tmp/p_lake.json

Builds a workspace (a seeded sample of URR reviews + Tizard forum sentences without dates) under a temp dir,
embeds it, runs the feedback_type classifier (self-trained), exports it and makes a catalog of the lake.
"""
import argparse
import csv
import datetime as dt
import glob
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import duckdb

URR = "/work/shared/datasets/urr_app_reviews/reviews_all.csv"
TIZARD = "/work/shared/datasets/tizard_forum_posts/sentences.csv"
RESULTS = []

SQL_SAME = [
    "SELECT count(*) AS n FROM reviews",
    "SELECT source, count(*) AS n FROM items GROUP BY 1 ORDER BY 1",
    "SELECT app, count(*) AS n, round(avg(rating), 4) AS r FROM reviews GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    "SELECT count(*) AS n FROM reviews WHERE text ILIKE '%crash%'",
    "SELECT strftime(created_at, '%Y-%m') AS m, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1",
    "SELECT product, count(*) AS n FROM forum GROUP BY 1 ORDER BY 1",
    "SELECT feedback_type, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1",
]
ASK_SAME = [
    "How many reviews are there?",
    "What is the average rating of the reviews?",
    "How many 1-star reviews mention crash?",
    "Which app has the most reviews?",
    "How many reviews are there per year?",
    "How many forum sentences are there per product?",
    "What share of reviews are complaints?",
    "How many reviews mention \"battery\"?",
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def record(pid, held, reason, detail=None):
    RESULTS.append({"id": pid, "held": bool(held), "reason": reason, "detail": detail})
    print(f"{pid:30s} {'held' if held else 'FAILED'}  {reason}", flush=True)


def probe(pid, fn):
    try:
        out = fn()
        record(pid, out[0], out[1], out[2] if len(out) > 2 else None)
    except Exception as e:  # noqa: BLE001
        record(pid, False, f"probe could not complete: {type(e).__name__}: {str(e)[:300]}")


class Earful:
    def __init__(self, cmd, cwd):
        self.cmd = shlex.split(cmd)
        self.cwd = cwd
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
        for k in ("EARFUL_DB", "EARFUL_LLM", "RAY_ADDRESS"):
            self.env.pop(k, None)

    def run(self, db, *args, timeout=300):
        argv = self.cmd + (["--db", db] if db else []) + list(args)
        t = time.time()
        p = subprocess.Popen(argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            rc, err = 124, (err or "") + f"\ntimed out after {timeout}s"
        reap_ray(p.pid)
        log(f"  [{time.time() - t:6.1f}s rc={rc}] earful {' '.join(args)[:110]}")
        return rc, out, err

    def json(self, db, *args, timeout=300):
        rc, out, err = self.run(db, *args, "--json", timeout=timeout)
        if rc != 0:
            raise RuntimeError(f"rc={rc}: {(err or out)[-400:]}")
        return json.loads(out)

    def sql(self, db, q):
        d = self.json(db, "sql", q, "--limit", "100000000")
        return [dict(zip(d["columns"], r)) for r in d["rows"]]


def reap_ray(driver_pid):
    """Stop the Ray processes (GCS, raylet, dashboard, monitors) that a killed or finished earful process started:
    only those whose session folder names that process's pid (session_<date>_<time>_<pid>), never anyone else's."""
    tag = f"_{driver_pid}"
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = open(f"/proc/{d}/cmdline", "rb").read().decode(errors="replace")
        except OSError:
            continue
        if "ray" in cmd and re.search(r"session_\d{4}-\d\d-\d\d_[\d-]+_\d+" + re.escape(tag) + r"(?!\d)", cmd):
            try:
                os.kill(int(d), signal.SIGTERM)
            except OSError:
                pass


def clean_error(rc, out, err):
    text = out + err
    return rc != 0 and bool(text.strip()) and "Traceback" not in text and "unexpected error" not in text.lower()


def short(rc, out, err, n=180):
    return f"rc={rc} {(out + err).strip().replace(chr(10), ' ')[-n:]!r}"


def utc_date(ts):
    if ts is None:
        return None
    d = dt.datetime.fromisoformat(str(ts))
    if d.tzinfo:
        d = d.astimezone(dt.timezone.utc)
    return d.date().isoformat()


def part_files(lake, ds):
    return sorted(glob.glob(os.path.join(lake, ds, "**", "*.parquet"), recursive=True))


def mtimes(lake, ds):
    return {os.path.relpath(p, lake): os.stat(p).st_mtime_ns for p in part_files(lake, ds)}


def lake_partition_counts(lake, ds="items"):
    """(source, partition value) -> rows, read by this script's own DuckDB from the files Earful wrote."""
    out = {}
    con = duckdb.connect()
    for p in part_files(lake, ds):
        rel = os.path.relpath(p, os.path.join(lake, ds)).split(os.sep)
        keys = dict(x.split("=", 1) for x in rel[:-1] if "=" in x)
        n = con.execute(f"SELECT count(*) FROM read_parquet('{p}')").fetchone()[0]
        k = (keys.get("source"), keys.get("date", keys.get("month")))
        out[k] = out.get(k, 0) + n
    return out


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def norm_answer(d):
    """The parts of an ask reply that must not depend on the storage: status, answer text, table rows."""
    if not isinstance(d, dict):
        return d
    txt = re.sub(r"conversation \w+", "", d.get("answer") or "")
    tabs = [(t.get("name"), t.get("columns"), t.get("rows")) for t in d.get("tables") or []]
    return {"status": d.get("status"), "answer": txt, "tables": tabs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earful", default="/work/base20-earful")
    ap.add_argument("--out", default="p_lake_results.json")
    ap.add_argument("--reviews", type=int, default=250)
    ap.add_argument("--forum", type=int, default=100)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--ray-timeout", type=int, default=240)
    args = ap.parse_args()
    t0 = time.time()
    work = args.workdir or tempfile.mkdtemp(prefix="p_lake_")
    os.makedirs(work, exist_ok=True)
    E = Earful(args.earful, work)
    ws = os.path.join(work, "ws.duckdb")
    lake = os.path.join(work, "lake")
    cat = os.path.join(work, "cat.duckdb")
    log(f"workdir {work}")

    # ---- build ---------------------------------------------------------------------------------------------
    rng = random.Random(args.seed)
    with open(URR, encoding="utf-8", newline="") as f:
        urr = [r for r in csv.DictReader(f) if r["review_text"].strip()]
    rng.shuffle(urr)
    urr_s, urr_new = urr[:args.reviews], urr[args.reviews:args.reviews + 50]
    write_csv(os.path.join(work, "reviews.csv"), ["review_id", "app", "date", "rating", "review_text"],
              [[r["review_id"], r["app"], r["date"], r["rating"], r["review_text"]] for r in urr_s])
    with open(TIZARD, encoding="utf-8", newline="") as f:
        tz = list(csv.DictReader(f))
    rng.shuffle(tz)
    write_csv(os.path.join(work, "forum.csv"), ["id", "product", "sentence"],
              [[r["id"], r["product"], r["sentence"]] for r in tz[:args.forum]])
    E.json(ws, "ingest", "reviews.csv", "--source", "reviews", timeout=600)
    E.json(ws, "ingest", "forum.csv", "--source", "forum", timeout=600)
    steps = {
        "embed": E.run(ws, "embed", timeout=900),
        "run": E.run(ws, "classify", "run", "-t", "feedback_type", timeout=900),
    }
    rc, out, err = E.run(ws, "export", "--to", lake, "--json", timeout=600)
    exp1 = json.loads(out) if rc == 0 else None

    wcount = E.sql(ws, "SELECT source, count(*) AS n FROM items GROUP BY 1")
    wtotal = sum(r["n"] for r in wcount)
    witems = E.sql(ws, "SELECT item_id, source, text, created_at FROM items")

    probe("L00-build", lambda: (exp1 is not None and all(v[0] == 0 for v in steps.values()),
                                f"embed/classify run rcs {[v[0] for v in steps.values()]}; export rc={rc} "
                                + (json.dumps(exp1)[:160] if exp1 else (err or out)[-200:])))

    def ws_partition_counts():
        c = {}
        for r in E.sql(ws, "SELECT source, created_at FROM items"):
            k = (r["source"], utc_date(r["created_at"]))
            c[k] = c.get(k, 0) + 1
        return c

    # ---- export: counts, layout, fidelity ---------------------------------------------------------------------
    probe("L01-export-counts", lambda: (exp1["items"] == wtotal and exp1.get("raw") == wtotal,
                                        f"export says items {exp1['items']}, raw {exp1.get('raw')}; "
                                        f"workspace has {wtotal}"))

    def p_layout():
        bad = []
        pat = re.compile(r"^(items|raw)/source=([^/]+)/date=([^/]+)/part-[^/]+\.parquet$")
        srcs = set()
        for ds in ("items", "raw"):
            for p in part_files(lake, ds):
                rel = os.path.relpath(p, lake).replace(os.sep, "/")
                m = pat.match(rel)
                if not m:
                    bad.append(rel)
                    continue
                srcs.add(m.group(2))
                if not re.match(r"^\d{4}-\d{2}-\d{2}$", m.group(3)) and m.group(3) != "__HIVE_DEFAULT_PARTITION__":
                    bad.append(rel)
        want = {r["source"] for r in wcount}
        return (not bad and srcs == want and part_files(lake, "items"),
                f"{len(bad)} files off the items|raw/source=<s>/date=<YYYY-MM-DD>/part-*.parquet layout"
                + (f" e.g. {bad[:2]}" if bad else "") + f"; sources {sorted(srcs)} vs workspace {sorted(want)}")

    probe("L02-hive-layout", p_layout)

    def p_partition_counts(tag=""):
        got = lake_partition_counts(lake, "items")
        want = ws_partition_counts()
        # undated items: whatever partition name Earful uses for a NULL date, one per source
        got_n = {(s, d if d and re.match(r"^\d{4}-\d{2}-\d{2}$", d) else None): n for (s, d), n in got.items()}
        diff = {k: (got_n.get(k), want.get(k)) for k in set(got_n) | set(want) if got_n.get(k) != want.get(k)}
        return (not diff and got, f"{len(want)} (source, date) partitions in the workspace, {len(got)} in the lake;"
                f" {len(diff)} differ{tag}" + (f", e.g. {sorted(diff.items(), key=str)[:3]}" if diff else ""))

    probe("L03-partition-row-counts", p_partition_counts)

    def p_fidelity():
        con = duckdb.connect()
        rows = con.execute(f"SELECT item_id, text FROM read_parquet('{lake}/items/**/*.parquet')").fetchall()
        lk = {}
        dups = 0
        for iid, txt in rows:
            dups += iid in lk
            lk[iid] = txt
        wk = {r["item_id"]: r["text"] for r in witems}
        diff = [k for k in set(lk) | set(wk) if lk.get(k) != wk.get(k)]
        return (not diff and not dups, f"{len(diff)} item ids missing or with different text; {dups} duplicate ids")

    probe("L04-items-ids-and-text", p_fidelity)

    def p_raw():
        con = duckdb.connect()
        probs = []
        for s in ("reviews", "forum"):
            n = con.execute(f"SELECT count(*) FROM read_parquet('{lake}/raw/source={s}/**/*.parquet')").fetchone()[0]
            w = E.sql(ws, f"SELECT count(*) AS n FROM src_{s}")[0]["n"]
            cols = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{lake}/raw/source={s}/**/*.parquet',"
                                          f" union_by_name=true)").fetchall()]
            # the workspace's own raw table (src_<s>) is the reference: the text column lives in items.text there
            need = {r["column_name"] for r in E.sql(ws, f"DESCRIBE src_{s}")}
            if n != w or not need <= set(cols):
                probs.append(f"{s}: lake raw {n} rows vs src_{s} {w}; lake columns {cols[:8]}, src_{s} {sorted(need)}")
        return not probs, "; ".join(probs) or "raw rows and the columns of src_<s> kept per source"

    probe("L05-raw-per-source", p_raw)

    def p_rollups():
        con = duckdb.connect()
        files = part_files(lake, "rollups/items")
        lay = [f for f in files if not re.search(r"rollups/items/source=[^/]+/month=\d{4}-\d{2}|__HIVE_DEFAULT",
                                                  f.replace(os.sep, "/"))]
        got = {}
        for (s, m, n) in con.execute(f"SELECT source, month, sum(n) FROM read_parquet('{lake}/rollups/items/**/*.parquet',"
                                 f" hive_partitioning=true) GROUP BY 1, 2").fetchall():
            got[(s, m if m and re.match(r"^\d{4}-\d{2}$", str(m)) else None)] = n
        want = {}
        for r in witems:
            d = utc_date(r["created_at"])
            k = (r["source"], d[:7] if d else None)
            want[k] = want.get(k, 0) + 1
        diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
        return (files and not diff and not lay, f"{len(files)} rollup files, {len(lay)} off the layout; "
                f"{len(diff)} (source, month) counts differ from the workspace" + (f", e.g. {list(diff.items())[:3]}"
                                                                                    if diff else ""))

    probe("L06-rollups-match", p_rollups)

    def p_manifest():
        m = json.load(open(os.path.join(lake, "_lake.json")))
        return (set(m.get("sources", [])) == {r["source"] for r in wcount} and m.get("format"),
                f"_lake.json format {m.get('format')!r}, sources {m.get('sources')}")

    probe("L07-manifest", p_manifest)

    # ---- re-export rewrites only changed partitions ------------------------------------------------------------
    before = {ds: mtimes(lake, ds) for ds in ("items", "raw")}
    time.sleep(1.1)
    rc2, out2, err2 = E.run(ws, "export", "--to", lake, "--json", timeout=600)

    def p_reexport_same():
        after = {ds: mtimes(lake, ds) for ds in ("items", "raw")}
        changed = [f for ds in after for f in set(after[ds]) | set(before[ds])
                   if after[ds].get(f) != before[ds].get(f)]
        return (rc2 == 0 and not changed, f"re-export of an unchanged workspace: rc={rc2}, {len(changed)} of "
                                         f"{sum(len(v) for v in before.values())} items/raw files rewritten, added or "
                                         f"removed" + (f", e.g. {changed[:2]}" if changed else ""))

    probe("L08-reexport-unchanged", p_reexport_same)

    # add 3 reviews: two on a date that already has a partition, one on a new date
    dated = sorted({utc_date(r["created_at"]) for r in witems if r["source"] == "reviews" and r["created_at"]})
    d_old = dated[len(dated) // 2]
    d_new = "2017-01-15"
    assert d_new not in dated
    fmt = lambda iso: dt.date.fromisoformat(iso).strftime("%d/%m/%y")  # noqa: E731  (URR's own format)
    new_rows = [[f"probe-new-{k}", urr_new[k]["app"], fmt(d), urr_new[k]["rating"], urr_new[k]["review_text"]]
                for k, d in enumerate([d_old, d_old, d_new])]
    write_csv(os.path.join(work, "new.csv"), ["review_id", "app", "date", "rating", "review_text"], new_rows)
    E.json(ws, "ingest", "new.csv", "--source", "reviews")
    before2 = {ds: mtimes(lake, ds) for ds in ("items", "raw")}
    time.sleep(1.1)
    rc3, out3, err3 = E.run(ws, "export", "--to", lake, "--json", timeout=600)

    def p_reexport_changed():
        after = {ds: mtimes(lake, ds) for ds in ("items", "raw")}
        changed = {f for ds in after for f in set(after[ds]) | set(before2[ds]) if after[ds].get(f) !=
                   before2[ds].get(f)}
        parts = {re.sub(r"/[^/]+$", "", f.replace(os.sep, "/")) for f in changed}
        expect = {f"{ds}/source=reviews/date={d}" for ds in ("items", "raw") for d in (d_old, d_new)}
        return (rc3 == 0 and parts == expect, f"after adding rows on {d_old} (existing) and {d_new} (new): "
                f"{len(parts)} partitions rewritten {sorted(parts)[:6]}; expected exactly {sorted(expect)}")

    probe("L09-reexport-only-changed", p_reexport_changed)
    witems = E.sql(ws, "SELECT item_id, source, text, created_at FROM items")
    wtotal = len(witems)
    probe("L10-reexport-counts", lambda: p_partition_counts(" after the incremental re-export"))

    # ---- the catalog -------------------------------------------------------------------------------------------
    rc4, out4, err4 = E.run(cat, "lake", "init", lake, "--json", timeout=600)
    init = json.loads(out4) if rc4 == 0 else None

    def p_init():
        c = E.sql(cat, "SELECT source, count(*) AS n FROM items GROUP BY 1 ORDER BY 1")
        w = E.sql(ws, "SELECT source, count(*) AS n FROM items GROUP BY 1 ORDER BY 1")
        return (init and init.get("items") == wtotal and c == w,
                f"lake init rc={rc4} items {init and init.get('items')} vs workspace {wtotal}; per source catalog {c}"
                f" vs workspace {w}")

    probe("L11-lake-init-counts", p_init)

    def p_sql_same():
        diff = []
        for q in SQL_SAME:
            a = E.run(ws, "sql", q, "--json", "--limit", "100000")
            b = E.run(cat, "sql", q, "--json", "--limit", "100000")
            ra = json.loads(a[1])["rows"] if a[0] == 0 else ("error", a[2][-120:])
            rb = json.loads(b[1])["rows"] if b[0] == 0 else ("error", b[2][-120:])
            if ra != rb or a[0] != 0:
                diff.append(f"{q[:60]!r}: workspace {str(ra)[:80]} vs catalog {str(rb)[:80]}")
        return not diff, f"{len(SQL_SAME) - len(diff)} of {len(SQL_SAME)} queries equal" + (
            f"; differ: {' | '.join(diff)[:600]}" if diff else "")

    probe("L12-sql-same-as-workspace", p_sql_same)

    def p_ask_same():
        diff, answered = [], 0
        for q in ASK_SAME:
            a = E.run(ws, "ask", q, "--json", timeout=300)
            b = E.run(cat, "ask", q, "--json", timeout=300)
            ja = json.loads(a[1]) if a[1].strip().startswith("{") else {"status": f"rc={a[0]}", "answer": a[2][-100:]}
            jb = json.loads(b[1]) if b[1].strip().startswith("{") else {"status": f"rc={b[0]}", "answer": b[2][-100:]}
            answered += ja.get("status") == "answered"
            if norm_answer(ja) != norm_answer(jb):
                diff.append(f"{q!r}: workspace {ja.get('status')} {str(ja.get('answer'))[:70]!r} vs catalog "
                            f"{jb.get('status')} {str(jb.get('answer'))[:70]!r}")
        return (not diff and answered >= len(ASK_SAME) // 2,
                f"{len(ASK_SAME) - len(diff)} of {len(ASK_SAME)} answers identical ({answered} answered on the "
                f"workspace)" + (f"; differ: {' | '.join(diff)[:700]}" if diff else ""))

    probe("L13-ask-same-as-workspace", p_ask_same)

    def p_init_again():
        rc_, out_, err_ = E.run(cat, "lake", "init", lake, "--json")
        c = E.sql(cat, "SELECT count(*) AS n FROM items")[0]["n"]
        return rc_ == 0 and c == wtotal, f"second lake init rc={rc_}; catalog items {c} vs {wtotal}"

    probe("L14-lake-init-refresh", p_init_again)

    def p_init_not_lake():
        d = os.path.join(work, "notalake")
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "x.txt"), "w").write("hello")
        r = E.run(os.path.join(work, "cat2.duckdb"), "lake", "init", d)
        r2 = E.run(os.path.join(work, "cat3.duckdb"), "lake", "init", os.path.join(work, "missing_dir"))
        return (clean_error(*r) and clean_error(*r2),
                f"init on a folder that is not a lake: {short(*r)}; on a missing folder: {short(*r2)}")

    probe("L15-lake-init-not-a-lake", p_init_not_lake)

    # ---- lake stages: embed (local vs the workspace; ray vs local), classify, assign ---------------------------
    lake_ray = os.path.join(work, "lake_ray")
    shutil.copytree(lake, lake_ray)
    model = None

    def lake_vectors(path):
        con = duckdb.connect()
        rows = con.execute(f"SELECT content_hash, vector FROM read_parquet('{path}/embeddings/**/*.parquet')").fetchall()
        return rows

    def p_embed_local():
        nonlocal model
        r = E.run(cat, "lake", "embed", lake, "--engine", "local", "--json", timeout=900)
        E.run(ws, "embed", timeout=900)  # the workspace embeds its 3 new items the usual way
        wv = {x["h"]: x["v"] for x in E.sql(ws, "SELECT i.content_hash AS h, e.vector AS v FROM items i "
                                                "JOIN embeddings e USING (content_hash)")}
        rows = lake_vectors(lake)
        hashes = [h for h, _ in rows]
        lv = dict(rows)
        con = duckdb.connect()
        need = {h for (h,) in con.execute(f"SELECT DISTINCT content_hash FROM read_parquet('{lake}/items/**/*.parquet')"
                                      ).fetchall()}
        missing = need - set(lv)
        worst = 0.0
        for h in need & set(lv) & set(wv):
            worst = max(worst, max(abs(a - b) for a, b in zip(lv[h], wv[h])))
        return (r[0] == 0 and not missing and len(hashes) == len(set(hashes)) and worst <= 1e-5,
                f"lake embed --engine local {short(*r, n=120)}; {len(missing)} of {len(need)} item texts without a "
                f"vector; {len(hashes) - len(set(hashes))} duplicate vectors; max |lake - workspace| {worst:.2e}")

    probe("L16-lake-embed-local", p_embed_local)

    def p_embed_rerun():
        n0 = len(lake_vectors(lake))
        m0 = mtimes(lake, "embeddings")
        r = E.run(cat, "lake", "embed", lake, "--engine", "local", "--json", timeout=600)
        n1 = len(lake_vectors(lake))
        return (r[0] == 0 and n0 == n1 and mtimes(lake, "embeddings") == m0,
                f"second lake embed: {short(*r, n=120)}; vectors {n0} -> {n1}; embedding files unchanged: "
                f"{mtimes(lake, 'embeddings') == m0}")

    probe("L17-lake-embed-idempotent", p_embed_rerun)

    def p_embed_ray():
        r = E.run(os.path.join(work, "cat_ray.duckdb"), "lake", "embed", lake_ray, "--engine", "ray",
                  "--concurrency", "1", "--json", timeout=args.ray_timeout)
        text = r[1] + r[2]
        if r[0] != 0:
            ok = clean_error(*r) and "pip install" in text and "ray" in text.lower()
            return ok, f"--engine ray failed: {short(*r, n=220)} (a failure must be a clean error naming the pip " \
                       f"install line)"
        a, b = dict(lake_vectors(lake)), dict(lake_vectors(lake_ray))
        worst = max((max(abs(x - y) for x, y in zip(a[h], b[h])) for h in set(a) & set(b)), default=9.9)
        return (set(a) == set(b) and worst <= 1e-5,
                f"--engine ray rc=0; hashes equal to local: {set(a) == set(b)} ({len(b)} vs {len(a)}); max |ray - "
                f"local| {worst:.2e}")

    probe("L18-lake-embed-ray", p_embed_ray)

    def p_classify_local():
        r = E.run(cat, "lake", "classify", lake, "-t", "feedback_type", "--engine", "local", "--json", timeout=900)
        E.run(ws, "classify", "run", "-t", "feedback_type", timeout=900)
        wl = {x["item_id"]: x["feedback_type"] for x in E.sql(ws, "SELECT item_id, feedback_type FROM reviews "
                                                                 "UNION ALL SELECT item_id, feedback_type FROM forum")}
        con = duckdb.connect()
        files = part_files(lake, "labels")
        if not files:
            return False, f"lake classify {short(*r)}; no files under labels/"
        cols = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{lake}/labels/**/*.parquet', "
                                      f"hive_partitioning=true, union_by_name=true)").fetchall()]
        lab = "label" if "label" in cols else next((c for c in cols if "label" in c), None)
        rows = con.execute(f"SELECT item_id, {lab} FROM read_parquet('{lake}/labels/**/*.parquet', hive_partitioning=true,"
                       f" union_by_name=true)").fetchall()
        ids = [i for i, _ in rows]
        ll = dict(rows)
        diff = [i for i in wl if str(ll.get(i)) != str(wl[i])]
        return (r[0] == 0 and not diff and len(ids) == len(set(ids)),
                f"lake classify --engine local {short(*r, n=100)}; {len(diff)} of {len(wl)} items whose lake label "
                f"differs from the workspace's classify run (column {lab!r}); {len(ids) - len(set(ids))} duplicates")

    probe("L19-lake-classify-local", p_classify_local)

    def p_assign_no_topics():
        r = E.run(cat, "lake", "assign", lake, "--engine", "local")
        return clean_error(*r), f"lake assign with no fitted topics: {short(*r)} (expected a clean error)"

    probe("L20-lake-assign-no-topics", p_assign_no_topics)

    def p_bad_engine():
        r = E.run(cat, "lake", "embed", lake, "--engine", "dask")
        return (clean_error(*r) and "local" in (r[1] + r[2]),
                f"--engine dask: {short(*r)} (expected a clean error naming local/ray)")

    probe("L21-bad-engine", p_bad_engine)

    # ---- workspace commands on a lake-backed workspace (#18: accept --engine local|ray) ---------------------------
    more = [[f"probe-more-{k}", urr_new[10 + k]["app"], fmt(d_new), urr_new[10 + k]["rating"],
             urr_new[10 + k]["review_text"]] for k in range(2)]
    write_csv(os.path.join(work, "more.csv"), ["review_id", "app", "date", "rating", "review_text"], more)

    def p_ws_ingest():
        n0 = E.sql(cat, "SELECT count(*) AS n FROM items")[0]["n"]
        r = E.run(cat, "ingest", "more.csv", "--source", "reviews", "--engine", "local")
        n1 = E.sql(cat, "SELECT count(*) AS n FROM items")[0]["n"]
        return r[0] == 0 and n1 == n0 + 2, f"ingest --engine local on the lake workspace: {short(*r)}; items " \
                                            f"{n0} -> {n1} (expected +2)"

    probe("L22-ingest-engine-on-lake", p_ws_ingest)

    def p_ws_cmd(*cmd):
        def f():
            r = E.run(cat, *cmd, "--engine", "local", timeout=600)
            return r[0] == 0, f"{' '.join(cmd)} --engine local on the lake workspace: {short(*r)}"
        return f

    probe("L23-embed-engine-on-lake", p_ws_cmd("embed"))
    probe("L24-classify-run-engine-on-lake", p_ws_cmd("classify", "run", "-t", "feedback_type"))

    def p_ws_assign():
        r = E.run(cat, "topics", "assign", "--engine", "local")
        txt = r[1] + r[2]
        return ("No such option" not in txt and (r[0] == 0 or clean_error(*r)),
                f"topics assign --engine local on the lake workspace (no topics fitted): {short(*r)}")

    probe("L25-topics-assign-engine-on-lake", p_ws_assign)

    # ---- hostile export targets ---------------------------------------------------------------------------------
    def p_export_nonempty():
        d = os.path.join(work, "photos")
        os.makedirs(os.path.join(d, "items"), exist_ok=True)
        files = {"notes.txt": "my notes", "items/keep.txt": "not a partition"}
        for k, v in files.items():
            open(os.path.join(d, k), "w").write(v)
        r = E.run(ws, "export", "--to", d)
        kept = all(os.path.exists(os.path.join(d, k)) and open(os.path.join(d, k)).read() == v
                   for k, v in files.items())
        warned = bool(re.search(r"not empty|non-empty|not a lake|already contains|existing", r[1] + r[2], re.I))
        return (kept and (clean_error(*r) or warned),
                f"export into a non-empty folder that is not a lake: {short(*r)}; unrelated files kept: {kept}; "
                f"refused or warned: {clean_error(*r) or warned}")

    probe("L26-export-nonempty-unrelated", p_export_nonempty)

    def p_export_file():
        p = os.path.join(work, "afile.txt")
        open(p, "w").write("precious")
        r = E.run(ws, "export", "--to", p)
        return (clean_error(*r) and open(p).read() == "precious",
                f"export --to a file: {short(*r)}; file untouched: {open(p).read() == 'precious'}")

    probe("L27-export-to-file", p_export_file)

    def p_export_unwritable():
        d = os.path.join(work, "ro")
        os.makedirs(d, exist_ok=True)
        immutable = subprocess.run(["chattr", "+i", d], capture_output=True).returncode == 0
        if not immutable:
            os.chmod(d, 0o500)
        try:
            r = E.run(ws, "export", "--to", os.path.join(d, "lake"))
        finally:
            subprocess.run(["chattr", "-i", d], capture_output=True)
            os.chmod(d, 0o700)
        return clean_error(*r), f"export --to an unwritable folder ({'immutable' if immutable else 'mode 500'}): " \
                                f"{short(*r)}"

    probe("L28-export-unwritable", p_export_unwritable)

    # ---- the catalog's SQL: no reads outside the lake --------------------------------------------------------
    outside = os.path.join(work, "outside")
    os.makedirs(outside, exist_ok=True)
    duckdb.connect().execute(f"COPY (SELECT 'SECRET-42' AS s) TO '{outside}/secret.parquet' (FORMAT parquet)")
    open(os.path.join(outside, "secret.csv"), "w").write("s\nSECRET-42\n")

    def refused(q, db=cat):
        r = E.run(db, "sql", q)
        return clean_error(*r) and "SECRET-42" not in r[1] and "root:" not in r[1], r

    def p_outside(queries, label):
        def f():
            bad = []
            for q in queries:
                ok, r = refused(q)
                if not ok:
                    bad.append(f"{q[:70]!r} -> {short(*r, n=90)}")
            return not bad, f"{len(queries) - len(bad)} of {len(queries)} {label} refused" + (
                f"; allowed: {' | '.join(bad)}" if bad else "")
        return f

    probe("L29-sql-read-parquet-outside", p_outside(
        [f"SELECT * FROM read_parquet('{outside}/secret.parquet')", "SELECT * FROM read_parquet('/etc/*.parquet')"],
        "read_parquet outside the lake"))
    probe("L30-sql-other-file-reads", p_outside(
        ["SELECT * FROM read_csv('/etc/passwd')", f"SELECT * FROM read_csv_auto('{outside}/secret.csv')",
         "SELECT * FROM read_text('/etc/hostname')", "SELECT * FROM glob('/etc/*')",
         f"SELECT * FROM '{outside}/secret.csv'"], "file reads"))

    def p_copy():
        target = os.path.join(work, "copied.csv")
        ok1, r1 = refused(f"COPY (SELECT * FROM items) TO '{target}'")
        ok2, r2 = refused(f"COPY items FROM '{outside}/secret.csv'")
        return (ok1 and ok2 and not os.path.exists(target),
                f"COPY TO: {short(*r1, n=90)}; COPY FROM: {short(*r2, n=90)}; file written: {os.path.exists(target)}")

    probe("L31-sql-copy", p_copy)

    def p_attach():
        other = os.path.join(work, "other.duckdb")
        ok1, r1 = refused(f"ATTACH '{other}' AS o")
        ok2, r2 = refused(f"ATTACH '{ws}' AS w (READ_ONLY); SELECT count(*) FROM w.items")
        return (ok1 and ok2 and not os.path.exists(other),
                f"ATTACH new: {short(*r1, n=90)}; ATTACH the workspace: {short(*r2, n=90)}")

    probe("L32-sql-attach", p_attach)

    def p_traversal():
        q1 = f"SELECT * FROM read_parquet('{lake}/../outside/secret.parquet')"
        q2 = f"SELECT * FROM read_parquet('{lake}/items/../../outside/secret.parquet')"
        bad = [q for q in (q1, q2) if not refused(q)[0]]
        return not bad, f"{2 - len(bad)} of 2 '..' paths out of the lake refused" + (f"; allowed {bad}" if bad else "")

    probe("L33-sql-path-traversal", p_traversal)

    def p_symlink():
        link = os.path.join(lake, "meta", "innocent.parquet")
        os.symlink(os.path.join(outside, "secret.parquet"), link)
        try:
            ok, r = refused(f"SELECT * FROM read_parquet('{link}')")
        finally:
            os.remove(link)
        return ok, f"a symlink inside the lake to a file outside it: {short(*r, n=140)}"

    probe("L34-sql-symlink-out-of-lake", p_symlink)

    def p_settings():
        qs = ["SET enable_external_access = true", "INSTALL httpfs", "LOAD httpfs",
              "SELECT * FROM read_parquet('https://example.com/x.parquet')",
              "SET allowed_directories = ['/']"]
        bad = [q for q in qs if not refused(q)[0]]
        return not bad, f"{len(qs) - len(bad)} of {len(qs)} settings/extension/remote reads refused" + (
            f"; allowed: {bad}" if bad else "")

    probe("L35-sql-settings-extensions", p_settings)

    # ---- raw-table guard: a date/source predicate or a LIMIT, with a timeout and a row cap -----------------------
    def p_raw_guard():
        r = E.run(cat, "sql", "SELECT item_id, text FROM items", "--json")
        txt = r[1] + r[2]
        note = bool(re.search(r"LIMIT|predicate", txt, re.I)) and r[0] != 0
        rows = json.loads(r[1])["row_count"] if r[0] == 0 and r[1].strip().startswith("{") else None
        capped = r[0] == 0 and rows is not None and rows < wtotal and re.search(r"cap|truncat|limit", txt, re.I)
        return (note or bool(capped), f"raw query with no predicate or LIMIT on the catalog: {short(*r, n=160)} "
                                      f"(rows {rows} of {wtotal}); expected a refusal naming the rule or a stated cap")

    probe("L36-raw-query-needs-predicate", p_raw_guard)

    def p_raw_allowed():
        r1 = E.run(cat, "sql", "SELECT item_id FROM items LIMIT 7", "--json")
        r2 = E.run(cat, "sql", "SELECT count(*) AS n FROM items WHERE source = 'reviews' AND created_at >= "
                               "'2016-01-01'", "--json")
        n1 = json.loads(r1[1])["row_count"] if r1[0] == 0 else None
        n2 = json.loads(r2[1])["rows"][0][0] if r2[0] == 0 else None
        want = sum(1 for x in witems if x["source"] == "reviews" and x["created_at"]
                   and dt.datetime.fromisoformat(str(x["created_at"])) >= dt.datetime(2016, 1, 1, tzinfo=dt.timezone.utc))
        return (n1 == 7 and n2 == want, f"LIMIT 7 -> {n1} rows; with a source+date predicate count {n2} "
                                        f"(recomputed {want}); {short(*r2, n=80) if r2[0] else ''}")

    probe("L37-raw-query-with-predicate-ok", p_raw_allowed)

    def p_prefers_rollups():
        r = E.run(cat, "ask", "How many reviews are there per month?", "--json")
        d = json.loads(r[1]) if r[1].strip().startswith("{") else {}
        sqls = " ".join(s.get("code", "") for s in d.get("steps", []) if s.get("language") == "sql")
        return ("rollup" in sqls.lower(), f"ask 'How many reviews are there per month?' on the catalog: status "
                                          f"{d.get('status')}; its SQL reads: {sqls[:160]!r}")

    probe("L38-ask-prefers-rollups", p_prefers_rollups)

    # ---- a catalog whose lake folder is gone (last: it moves the lake away) ----------------------------------------
    def p_lake_gone():
        moved = lake + ".moved"
        os.rename(lake, moved)
        try:
            r1 = E.run(cat, "sql", "SELECT count(*) FROM reviews")
            r2 = E.run(cat, "ask", "How many reviews are there?")
            r3 = E.run(cat, "status")
        finally:
            os.rename(moved, lake)
        named = [lake in (r[1] + r[2]) or "lake" in (r[1] + r[2]).lower() for r in (r1, r2, r3)]
        ok = all(clean_error(*r) for r in (r1, r2, r3)) and all(named)
        return ok, f"sql: {short(*r1, n=110)}; ask: {short(*r2, n=110)}; status: {short(*r3, n=110)}"

    probe("L39-catalog-lake-deleted", p_lake_gone)

    held = sum(r["held"] for r in RESULTS)
    print(f"held {held} of {len(RESULTS)}  ({time.time() - t0:.0f}s, earful={args.earful}, workdir={work})")
    with open(args.out, "w") as f:
        json.dump({"earful": args.earful, "held": held, "total": len(RESULTS), "seconds": round(time.time() - t0),
                   "export": exp1, "probes": RESULTS}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
