"""Black-box probes of issue 15 (profiles), written without reading Earful's code.

Every expected number is computed here from the raw files in ../shared/datasets with plain Python. The WildBench
critiques carry no task category, so this script adds a deterministic one per task (session_id hashed into WildBench's
five groups, and a nested `Group > Task` column); with categories assigned at random no model has a true weakness
(the null), and a planted subject (gpt-3.5-turbo-0125's rows with Coding & Debugging scores lowered by 3) has one.

    python bench/probes/p_profiles.py --earful /work/base20-earful --pythonpath /work/base20-pkg --out r.json
    python bench/probes/p_profiles.py --earful /work/main/.venv/bin/earful --pythonpath '' --out r.json

Prints one line per probe (id, held/FAILED, reason) and "held N of M"; writes the results as JSON to --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

DATA = Path("/work/shared/datasets")
WB = DATA / "wildbench_v2_critiques" / "critiques.jsonl"
CLAP = DATA / "clap_app_reviews" / "reviews.csv"
URR = DATA / "urr_app_reviews" / "reviews_all.csv"
CATS = ["Coding & Debugging", "Creative Tasks", "Math & Data Analysis", "Planning & Reasoning",
        "Information/Advice seeking"]
GROUP = {"Coding & Debugging": "Technical", "Math & Data Analysis": "Technical", "Creative Tasks": "Open-ended",
         "Planning & Reasoning": "Open-ended", "Information/Advice seeking": "Open-ended"}
EVIL_NAME = "<script>window.__pwned=1</script>evil-model"
EVIL_Q = ('The response <img src=x onerror="window.__pwned=3"> is weak. </script><script>window.__pwned=4</script> '
          'It fails the task badly.')

RESULTS: list[dict] = []


def cat_of(session_id: str) -> str:
    return CATS[int(session_id[:4], 16) % 5]


# ---------------------------------------------------------------- running earful

class Runner:
    def __init__(self, earful: str, pythonpath: str, work: Path):
        self.cmd = shlex.split(earful)
        self.work = work
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
        self.env.pop("EARFUL_DEBUG", None)
        if pythonpath:
            self.env["PYTHONPATH"] = pythonpath
        else:
            self.env.pop("PYTHONPATH", None)

    def __call__(self, *args: str, db: str | None = None, timeout: int = 300):
        full = self.cmd + (["--db", db] if db else []) + list(args)
        t = time.time()
        p = subprocess.run(full, cwd=self.work, env=self.env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.time() - t


def clean_error(rc: int, out: str, err: str) -> tuple[bool, str]:
    """A clear error: non-zero exit, no traceback, no 'unexpected error', something said on stderr/stdout."""
    both = out + err
    if rc == 0:
        return False, "exit 0 (expected an error)"
    if "Traceback" in both:
        return False, f"traceback (rc {rc}): {both.strip().splitlines()[-1][:160]}"
    if "unexpected error" in both.lower():
        return False, f"'unexpected error' (rc {rc}): {both.strip()[:160]}"
    if not both.strip():
        return False, f"rc {rc} with no message"
    return True, f"rc {rc}: {both.strip().splitlines()[-1][:160] if both.strip() else ''}"


def probe(pid: str, what: str):
    def deco(fn):
        t = time.time()
        try:
            ok, reason = fn()
        except Exception as e:  # a bug in the probe or an unexpected shape of the output
            ok, reason = False, f"probe raised {type(e).__name__}: {e}"[:300]
            traceback.print_exc(limit=2, file=sys.stderr)
        RESULTS.append({"id": pid, "what": what, "held": bool(ok), "reason": reason, "s": round(time.time() - t, 1)})
        print(f"{pid:5s} {'held' if ok else 'FAILED':6s} {what}: {reason}", flush=True)
        return fn
    return deco


# ---------------------------------------------------------------- independent statistics

def mean(xs):
    return sum(xs) / len(xs)


def sd(xs):
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def ranks_desc(means: dict) -> dict:
    """Rank 1 = highest mean; ties share (min rank, average rank) -> returns both."""
    vals = sorted(means.values(), reverse=True)
    out = {}
    for s, m in means.items():
        first = vals.index(m) + 1
        count = vals.count(m)
        out[s] = (first, first + (count - 1) / 2)
    return out


def wilson(k, n, z=1.959964):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


def node_name_matches(node: str, name: str) -> bool:
    if node == name:
        return True
    for sep in (" / ", " > ", "/", ">"):
        if node.split(sep)[-1].strip() == name and sep in node:
            return True
    return False


def find_node(nodes, subject, name):
    hits = [r for r in nodes if r["subject"] == subject and node_name_matches(str(r["node"]), name)]
    # prefer the exact name, then the shortest path
    hits.sort(key=lambda r: (r["node"] != name, len(str(r["node"]))))
    return hits[0] if hits else None


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earful", default="/work/base20-earful")
    ap.add_argument("--pythonpath", default="/work/base20-pkg")
    ap.add_argument("--out", default="p_profiles_results.json")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="p_profiles_"))
    work.mkdir(parents=True, exist_ok=True)
    E = Runner(a.earful, a.pythonpath, work)
    print(f"earful: {a.earful}  pythonpath: {a.pythonpath!r}  workdir: {work}", flush=True)

    # ---- raw data and derived files
    wb = [json.loads(line) for line in WB.open(encoding="utf-8")]
    for r in wb:
        r["task"] = cat_of(r["session_id"])
        r["task_path"] = f"{GROUP[r['task']]} > {r['task']}"
    models = sorted({r["model"] for r in wb})
    (work / "crit.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in wb), encoding="utf-8")
    plain = [{k: v for k, v in r.items() if k not in ("task", "task_path")} for r in wb]
    (work / "plain.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in plain), "utf-8")
    planted = [dict(r) for r in wb]
    for r in wb:
        if r["model"] == "gpt-3.5-turbo-0125":
            q = dict(r, model="planted-model", model_test="planted/model")
            if q["task"] == "Coding & Debugging":
                q["score"] = max(1, q["score"] - 3)
            planted.append(q)
    (work / "planted.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in planted), "utf-8")
    # unit-majority source: two models' rows moved to the next category; the task's majority stays the same
    shifted_models = {"gemma-2b-it", "reka-edge"}
    mixed = []
    for r in wb:
        q = dict(r)
        if r["model"] in shifted_models:
            q["task"] = CATS[(CATS.index(r["task"]) + 1) % 5]
        mixed.append(q)
    (work / "mixed.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in mixed), "utf-8")
    # injection source: gemma-7b-it renamed to a script tag, its coding scores lowered so quotes are shown
    inj = []
    for r in wb:
        if r["model"] not in ("gemma-7b-it", "gpt-3.5-turbo-0125", "reka-edge"):
            continue
        q = dict(r)
        if r["model"] == "gemma-7b-it":
            q["model"] = EVIL_NAME
            if q["task"] == "Coding & Debugging":
                q["score"] = 1
                q["weaknesses"] = EVIL_Q + " " + q["weaknesses"]
        inj.append(q)
    (work / "inj.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in inj), "utf-8")
    tree = {"Technical": {"Coding & Debugging": {}, "Math & Data Analysis": {}},
            "Open-ended": {"Creative Tasks": {}, "Planning & Reasoning": {}, "Information/Advice seeking": {}}}
    (work / "cata_tree.json").write_text(json.dumps(tree, indent=2))
    (work / "bad_tree.json").write_text("{ this is: not json ,,, ]")
    (work / "list_tree.json").write_text("[1, 2, 3]")
    clap = list(csv.DictReader(CLAP.open(encoding="utf-8")))
    urr = [r for r in csv.DictReader(URR.open(encoding="utf-8")) if r["review_text"].strip()]

    # expected WildBench numbers
    by = defaultdict(list)
    for r in wb:
        by[(r["model"], r["task"])].append(r["score"])
        by[(r["model"], "(all)")].append(r["score"])
        by[(r["model"], GROUP[r["task"]])].append(r["score"])

    # ---- workspaces
    t0 = time.time()
    rc, out, err, _ = E("ingest", "crit.jsonl", "--source", "critiques", "--json", db="w.duckdb")
    ingest_msg = (rc, out[-400:], err[-400:])
    E("ingest", "planted.jsonl", "--source", "critiques", db="wp.duckdb")
    E("ingest", "mixed.jsonl", "--source", "mixed", db="wm.duckdb")
    E("ingest", "plain.jsonl", "--source", "critiques", db="wn.duckdb")
    E("ingest", "inj.jsonl", "--source", "critiques", db="wi.duckdb")
    E("ingest", str(CLAP), "--source", "clap", db="wc.duckdb")
    E("ingest", str(URR), "--source", "urr", db="wu.duckdb")
    print(f"(workspaces built in {time.time() - t0:.0f} s)", flush=True)

    def profile(db, *args):
        rc, out, err, dt = E("profile", *args, "--json", db=db)
        if rc != 0:
            raise RuntimeError(f"profile rc {rc}: {(err or out).strip()[-300:]}")
        return json.loads(out)

    base = ["--source", "critiques", "--subject-column", "model", "--score-column", "score"]
    cache: dict = {}

    def main_profile():
        if "main" not in cache:
            cache["main"] = profile("w.duckdb", *base, "--category-column", "task", "--unit-column", "session_id")
        return cache["main"]

    @probe("PF01", "ingest of the critiques (with a task column) adds all 8,181 rows")
    def _():
        rc, out, err = ingest_msg
        n = E("sql", "SELECT count(*) AS n FROM critiques", "--json", db="w.duckdb")[1]
        ok = rc == 0 and "8181" in n
        return ok, f"rc {rc}; count -> {n.strip()[:80]}"

    @probe("PF02", "profile --json lists exactly the 8 models of the raw file")
    def _():
        p = main_profile()
        return sorted(p["subjects"]) == models, f"{len(p['subjects'])} subjects: {sorted(p['subjects']) == models}"

    @probe("PF03", "per model x category item counts equal the raw counts (40 cells + 8 overall)")
    def _():
        p = main_profile()
        bad = []
        for m in models:
            for c in CATS + ["(all)"]:
                row = find_node(p["nodes"], m, c)
                if row is None or row["n"] != len(by[(m, c)]):
                    bad.append(f"{m}/{c}: {row and row['n']} vs {len(by[(m, c)])}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF04", "per model x category mean scores equal the raw means (|diff| < 1e-4)")
    def _():
        p = main_profile()
        bad = []
        for m in models:
            for c in CATS + ["(all)"]:
                row = find_node(p["nodes"], m, c)
                exp = mean(by[(m, c)])
                if row is None or abs(row["mean"] - exp) > 1e-4:
                    bad.append(f"{m}/{c}: {row and row['mean']} vs {exp:.4f}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF05", "rank among models per category (1 = highest mean) equals the raw ranking")
    def _():
        p = main_profile()
        bad = []
        for c in CATS + ["(all)"]:
            rk = ranks_desc({m: mean(by[(m, c)]) for m in models})
            for m in models:
                row = find_node(p["nodes"], m, c)
                if row is None or row["rank"] not in rk[m]:
                    bad.append(f"{m}/{c}: {row and row['rank']} vs {rk[m]}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF06", "every 95% interval contains its mean, lo < hi, and its width is within 30% of 2x1.96 sd/sqrt(n)")
    def _():
        p = main_profile()
        bad = []
        for m in models:
            for c in CATS + ["(all)"]:
                row = find_node(p["nodes"], m, c)
                xs = by[(m, c)]
                w = 2 * 1.96 * sd(xs) / math.sqrt(len(xs))
                if row is None or not (row["lo"] <= row["mean"] <= row["hi"]) or not (row["lo"] < row["hi"]):
                    bad.append(f"{m}/{c}: [{row and row['lo']}, {row and row['hi']}]")
                elif abs((row["hi"] - row["lo"]) - w) > 0.3 * w:
                    bad.append(f"{m}/{c}: width {row['hi'] - row['lo']:.3f} vs normal {w:.3f}")
        return not bad, f"{len(bad)} off" + (f": {bad[:3]}" if bad else "")

    @probe("PF07", "mean_gap = category mean - the model's overall mean; rank_gap = category rank - overall rank")
    def _():
        p = main_profile()
        bad = []
        for m in models:
            allr = find_node(p["nodes"], m, "(all)")
            for c in CATS:
                row = find_node(p["nodes"], m, c)
                eg = mean(by[(m, c)]) - mean(by[(m, "(all)")])
                if abs(row["mean_gap"] - eg) > 1e-3 or abs(row["rank_gap"] - (row["rank"] - allr["rank"])) > 1e-9:
                    bad.append(f"{m}/{c}: gap {row['mean_gap']} vs {eg:.4f}, rank_gap {row['rank_gap']}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:2]}" if bad else "")

    @probe("PF08", "null (task categories assigned at random): no model gets a significant weakness or strength")
    def _():
        p = main_profile()
        f = p.get("findings") or []
        st = " ".join(" ".join(v) for v in (p.get("statements") or {}).values())
        return not f and st.count("no significant weakness") == 8, f"{len(f)} findings: {str(f)[:200]}"

    @probe("PF09", "planted subject (coding scores -3) gets a significant weakness at Coding & Debugging, its top one")
    def _():
        p = profile("wp.duckdb", *base, "--category-column", "task", "--unit-column", "session_id")
        f = [x for x in p.get("findings") or [] if "planted-model" in json.dumps(x)]
        weak = [x for x in f if "weak" in json.dumps(x).lower()]
        ok = bool(weak) and "Coding & Debugging" in json.dumps(weak[0])
        others = [x for x in weak if "Coding & Debugging" not in json.dumps(x)]
        return ok, f"{len(weak)} weakness finding(s) for planted-model: {json.dumps(weak)[:240]}; others {len(others)}"

    @probe("PF10", "planted weakness comes with 1-3 quotes whose item ids are planted-model's Coding rows")
    def _():
        p = profile("wp.duckdb", *base, "--category-column", "task", "--unit-column", "session_id")
        f = [x for x in p.get("findings") or [] if "planted-model" in json.dumps(x) and
             "Coding & Debugging" in json.dumps(x)]
        if not f:
            return False, "no finding to check"
        s = json.dumps(f[0])
        import re
        hit = sorted(set(re.findall(r'"item_id": "([0-9A-Za-z_-]+)"', s)))
        if not hit:
            return False, f"no item ids in the finding: {s[:200]}"
        ids = ",".join("'" + i + "'" for i in hit)
        rows = json.loads(E("sql", f"SELECT item_id, model, task FROM critiques WHERE item_id IN ({ids})", "--json",
                            db="wp.duckdb")[1])["rows"]
        good = {r[0] for r in rows if r[1] == "planted-model" and r[2] == "Coding & Debugging"}
        wrong = [i for i in hit if i not in good]
        return 1 <= len(hit) <= 3 and not wrong, f"{len(hit)} item id(s) quoted, {len(wrong)} not planted-model's coding rows"

    @probe("PF11", "--subjects a,b: only the two are reported; comparison difference = mean(a) - mean(b) per category")
    def _():
        a_, b_ = "gemma-2b-it", "gpt-3.5-turbo-0125"
        p = profile("w.duckdb", *base, "--category-column", "task", "--subjects", f"{a_},{b_}")
        subs = sorted({r["subject"] for r in p["nodes"]})
        rows = p["comparison"]["rows"]
        bad = []
        for c in CATS:
            r = next((x for x in rows if node_name_matches(str(x["node"]), c)), None)
            d = mean(by[(a_, c)]) - mean(by[(b_, c)])
            if r is None or abs(abs(r["difference"]) - abs(d)) > 1e-3:
                bad.append(f"{c}: {r and r['difference']} vs {d:.4f}")
        return subs == sorted([a_, b_]) and not bad, f"subjects {subs}; {len(bad)} wrong differences {bad[:2]}"

    @probe("PF12", "Feedbacker cata_tree.json ({} leaves) + --category-column: parent nodes pool their children")
    def _():
        p = profile("w.duckdb", *base, "--tree", "cata_tree.json", "--category-column", "task")
        bad = []
        for m in models:
            for c in ["Technical", "Open-ended"] + CATS:
                row = find_node(p["nodes"], m, c)
                xs = by[(m, c)]
                if row is None or row["n"] != len(xs) or abs(row["mean"] - mean(xs)) > 1e-4:
                    bad.append(f"{m}/{c}: {row and (row['n'], row['mean'])} vs {(len(xs), round(mean(xs), 4))}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF13", "a column with 'Group > Task' values nests: group nodes pool their tasks")
    def _():
        p = profile("w.duckdb", *base, "--category-column", "task_path")
        bad = []
        for m in models:
            for c in ["Technical", "Open-ended"] + CATS:
                row = find_node(p["nodes"], m, c)
                xs = by[(m, c)]
                if row is None or row["n"] != len(xs) or abs(row["mean"] - mean(xs)) > 1e-4:
                    bad.append(f"{m}/{c}: {row and (row['n'], row['mean'])} vs {(len(xs), round(mean(xs), 4))}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF14", "--unit-column: items of one task share its majority category (2 of 8 models' rows moved)")
    def _():
        p = profile("wm.duckdb", "--source", "mixed", "--subject-column", "model", "--score-column", "score",
                    "--category-column", "task", "--unit-column", "session_id")
        bad = []
        for m in sorted(shifted_models):
            for c in CATS:
                row = find_node(p["nodes"], m, c)
                if row is None or row["n"] != len(by[(m, c)]):
                    bad.append(f"{m}/{c}: {row and row['n']} vs {len(by[(m, c)])}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF15", "without --unit-column each row keeps its own (moved) category")
    def _():
        p = profile("wm.duckdb", "--source", "mixed", "--subject-column", "model", "--score-column", "score",
                    "--category-column", "task")
        exp = Counter((r["model"], r["task"]) for r in mixed)
        bad = [f"{m}/{c}" for m in sorted(shifted_models) for c in CATS
               if (find_node(p["nodes"], m, c) or {}).get("n") != exp[(m, c)]]
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    @probe("PF16", "CLAP app reviews: rating per app_category x CLAP label, counts/means/ranks equal the raw file")
    def _():
        p = profile("wc.duckdb", "--source", "clap", "--subject-column", "app_category", "--score-column", "rating",
                    "--category-column", "category")
        cb = defaultdict(list)
        for r in clap:
            cb[(r["app_category"], r["category"])].append(float(r["rating"]))
        subs = sorted({r["app_category"] for r in clap})
        labs = sorted({r["category"] for r in clap})
        bad = []
        for lab in labs:
            present = {s: mean(cb[(s, lab)]) for s in subs if cb[(s, lab)]}
            rk = ranks_desc(present)
            for s in present:
                row = find_node(p["nodes"], s, lab)
                if row is None or row["n"] != len(cb[(s, lab)]) or abs(row["mean"] - present[s]) > 1e-4:
                    bad.append(f"{s}/{lab}: {row and (row['n'], row['mean'])} vs {len(cb[(s, lab)])}")
                elif row["rank"] not in rk[s]:
                    bad.append(f"{s}/{lab}: rank {row['rank']} vs {rk[s]}")
        return not bad, f"{len(bad)} wrong of {sum(1 for k in cb)} cells" + (f": {bad[:3]}" if bad else "")

    @probe("PF17", "--label-share category=BUG per app_category: share and Wilson 95% interval equal the raw ones")
    def _():
        p = profile("wc.duckdb", "--source", "clap", "--subject-column", "app_category", "--label-share",
                    "category=BUG", "--category-column", "app_category")
        bad = []
        for s in sorted({r["app_category"] for r in clap}):
            n = sum(1 for r in clap if r["app_category"] == s)
            k = sum(1 for r in clap if r["app_category"] == s and r["category"] == "BUG")
            lo, hi = wilson(k, n)
            row = find_node(p["nodes"], s, "(all)")
            if row is None or row["n"] != n or abs(row["mean"] - k / n) > 1e-4 or abs(row["lo"] - lo) > 2e-3 \
                    or abs(row["hi"] - hi) > 2e-3:
                bad.append(f"{s}: {row and (row['n'], row['mean'], row['lo'], row['hi'])} vs "
                           f"{(n, round(k / n, 4), round(lo, 4), round(hi, 4))}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:2]}" if bad else "")

    @probe("PF18", "URR reviews by app (3 apps, ardoc label as category): counts and means equal the raw file")
    def _():
        apps = ["2048", "A Comic Viewer", "AcDisplay"]
        p = profile("wu.duckdb", "--source", "urr", "--subject-column", "app", "--score-column", "rating",
                    "--category-column", "ardoc_label_auto", "--subjects", ",".join(apps))
        ub = defaultdict(list)
        for r in urr:
            ub[(r["app"], r["ardoc_label_auto"])].append(float(r["rating"]))
            ub[(r["app"], "(all)")].append(float(r["rating"]))
        bad = []
        for (s, c), xs in ub.items():
            if s not in apps or not c:
                continue
            row = find_node(p["nodes"], s, c)
            if row is None or row["n"] != len(xs) or abs(row["mean"] - mean(xs)) > 1e-4:
                bad.append(f"{s}/{c}: {row and (row['n'], row['mean'])} vs {(len(xs), round(mean(xs), 4))}")
        return not bad, f"{len(bad)} wrong" + (f": {bad[:3]}" if bad else "")

    # ---- questions through ask
    def ask(db, q):
        rc, out, err, _ = E("ask", q, "--json", db=db)
        if rc != 0:
            return {"status": f"rc{rc}", "answer": (err or out)[-300:], "tables": [], "_rc": rc, "_err": err}
        d = json.loads(out)
        d["_rc"] = rc
        d["_err"] = err
        return d

    def declined_clearly(d):
        txt = (d.get("answer") or "")
        return d.get("status") != "answered" and "Traceback" not in txt + d.get("_err", "") and len(txt) > 20

    @probe("PQ01", "ask 'which model is weakest at coding?' names the lowest Coding mean (raw) or declines clearly")
    def _():
        d = ask("w.duckdb", "which model is weakest at coding?")
        exp = min(models, key=lambda m: mean(by[(m, "Coding & Debugging")]))
        v = mean(by[(exp, "Coding & Debugging")])
        if d["status"] == "answered":
            ok = exp in d["answer"] and f"{v:.2f}" in d["answer"]
            return ok, f"expected {exp} {v:.2f}; got: {d['answer'][:160]}"
        return declined_clearly(d), f"declined: {d['answer'][:160]}"

    @probe("PQ02", "ask 'which model is strongest at math?' names the highest Math mean (raw) or declines clearly")
    def _():
        d = ask("w.duckdb", "which model is strongest at math?")
        exp = max(models, key=lambda m: mean(by[(m, "Math & Data Analysis")]))
        v = mean(by[(exp, "Math & Data Analysis")])
        if d["status"] == "answered":
            ok = exp in d["answer"] and f"{v:.2f}" in d["answer"]
            return ok, f"expected {exp} {v:.2f}; got: {d['answer'][:160]}"
        return declined_clearly(d), f"declined: {d['answer'][:160]}"

    @probe("PQ03", "ask 'where is gemma-2b-it weakest?' under the null says no significant weakness")
    def _():
        d = ask("w.duckdb", "where is gemma-2b-it weakest?")
        if d["status"] == "answered":
            ok = "no significant weakness" in d["answer"] and "gemma-2b-it" in d["answer"]
            return ok, f"got: {d['answer'][:200]}"
        return declined_clearly(d), f"declined: {d['answer'][:160]}"

    @probe("PQ04", "ask 'where is planted-model weakest?' names Coding & Debugging")
    def _():
        d = ask("wp.duckdb", "where is planted-model weakest?")
        if d["status"] == "answered":
            ok = "Coding & Debugging" in d["answer"] and "no significant weakness" not in d["answer"]
            return ok, f"got: {d['answer'][:200]}"
        return declined_clearly(d), f"declined: {d['answer'][:160]}"

    @probe("PQ05", "ask 'profile gemma-2b-it against gpt-3.5-turbo-0125': per-category means of both match raw")
    def _():
        a_, b_ = "gemma-2b-it", "gpt-3.5-turbo-0125"
        d = ask("w.duckdb", f"profile {a_} against {b_}")
        if d["status"] != "answered":
            return declined_clearly(d), f"declined: {d['answer'][:160]}"
        blob = json.dumps(d.get("tables")) + d["answer"]
        miss = []
        for m in (a_, b_):
            for c in CATS:
                v = mean(by[(m, c)])
                if not any(s in blob for s in (f"{v:.2f}", f"{v:.3f}", f"{v:.6f}", f"{round(v, 4)}")):
                    miss.append(f"{m}/{c} {v:.2f}")
        return a_ in blob and b_ in blob and not miss, f"{len(miss)} means missing {miss[:3]}; {d['answer'][:120]}"

    @probe("PQ06", "ask on CLAP 'which app category is weakest at PERFORMANCE?' (mean rating) or declines clearly")
    def _():
        d = ask("wc.duckdb", "which app category is weakest at PERFORMANCE?")
        cb = defaultdict(list)
        for r in clap:
            if r["category"] == "PERFORMANCE":
                cb[r["app_category"]].append(float(r["rating"]))
        exp = min(cb, key=lambda s: mean(cb[s]))
        if d["status"] == "answered":
            ok = exp in d["answer"] and f"{mean(cb[exp]):.2f}" in d["answer"]
            return ok, f"expected {exp} {mean(cb[exp]):.2f}; got: {d['answer'][:180]}"
        return declined_clearly(d), f"declined: {d['answer'][:160]}"

    @probe("PQ07", "no category column: 'which model is weakest at coding?' declines and says how to give categories")
    def _():
        d = ask("wn.duckdb", "which model is weakest at coding?")
        txt = d.get("answer") or ""
        ok = d["status"] != "answered" and any(w in txt for w in ("--category-column", "--tree", "--labels"))
        return ok, f"status {d['status']}: {txt[:200]}"

    @probe("PQ08", "ask 'where is nosuch-model weakest?' does not answer about another model")
    def _():
        d = ask("w.duckdb", "where is nosuch-model weakest?")
        txt = d.get("answer") or ""
        if d["status"] == "answered":
            return False, f"answered: {txt[:200]}"
        return declined_clearly(d), f"status {d['status']}: {txt[:200]}"

    # ---- hostile input
    def prof_err(db, *args, html=None):
        if html and Path(work, html).exists():
            Path(work, html).unlink()
        rc, out, err, _ = E("profile", *args, *(["--html", html] if html else []), db=db)
        ok, why = clean_error(rc, out, err)
        if html and Path(work, html).exists():
            return False, f"{why}; but wrote {html}"
        return ok, why

    @probe("PH01", "--tree file that is not JSON: clear error, non-zero exit, no HTML written")
    def _():
        ok, why = prof_err("w.duckdb", *base, "--tree", "bad_tree.json", "--category-column", "task", html="h1.html")
        return ok, why

    @probe("PH02", "--tree file holding a JSON list (not a tree): clear error")
    def _():
        return prof_err("w.duckdb", *base, "--tree", "list_tree.json", "--category-column", "task", html="h2.html")

    @probe("PH03", "--tree pointing at a missing file: clear error")
    def _():
        return prof_err("w.duckdb", *base, "--tree", "no_such_tree.json", "--category-column", "task")

    @probe("PH04", "--subjects with an unknown subject: clear error naming it")
    def _():
        rc, out, err, _ = E("profile", *base, "--category-column", "task", "--subjects",
                            "gemma-2b-it,nosuch-model", db="w.duckdb")
        ok, why = clean_error(rc, out, err)
        return ok and "nosuch-model" in out + err, why

    @probe("PH05", "--subject-column that does not exist: clear error naming it")
    def _():
        rc, out, err, _ = E("profile", "--source", "critiques", "--subject-column", "modle", "--score-column",
                            "score", "--category-column", "task", db="w.duckdb")
        ok, why = clean_error(rc, out, err)
        return ok and "modle" in out + err, why

    @probe("PH06", "--score-column holding text (strengths): clear error")
    def _():
        rc, out, err, _ = E("profile", "--source", "critiques", "--subject-column", "model", "--score-column",
                            "strengths", "--category-column", "task", db="w.duckdb")
        return clean_error(rc, out, err)

    @probe("PH07", "--category-column that does not exist: clear error naming it")
    def _():
        rc, out, err, _ = E("profile", *base, "--category-column", "taks", db="w.duckdb")
        ok, why = clean_error(rc, out, err)
        return ok and "taks" in out + err, why

    @probe("PH08", "--html into a path whose parent is a file: clear error, non-zero exit")
    def _():
        rc, out, err, _ = E("profile", *base, "--category-column", "task", "--html", "crit.jsonl/sub/p.html",
                            db="w.duckdb")
        return clean_error(rc, out, err)

    @probe("PH09", "--source that does not exist: clear error")
    def _():
        rc, out, err, _ = E("profile", "--source", "critiqeus", "--subject-column", "model", "--score-column",
                            "score", "--category-column", "task", db="w.duckdb")
        return clean_error(rc, out, err)

    html_state: dict = {}

    @probe("PH10", "--html page is self-contained (no http(s) script src) and holds a heatmap")
    def _():
        rc, out, err, _ = E("profile", *base, "--category-column", "task", "--html", "prof.html", db="w.duckdb")
        f = work / "prof.html"
        if rc != 0 or not f.exists():
            return False, f"rc {rc}, exists {f.exists()}: {(err or out)[-200:]}"
        s = f.read_text(encoding="utf-8", errors="replace")
        ext = [x for x in ("<script src=\"http", "<script src='http", "<link href=\"http", "<link href='http")
               if x in s]
        html_state["ok"] = True
        return not ext and "heatmap" in s, f"{len(s)} bytes; external refs {ext}; 'heatmap' in page {'heatmap' in s}"

    @probe("PH11", "HTML-injection in a model name and a quote: the --html file escapes both")
    def _():
        rc, out, err, _ = E("profile", *base, "--category-column", "task", "--html", "inj.html", "--json",
                            db="wi.duckdb")
        f = work / "inj.html"
        if rc != 0 or not f.exists():
            return False, f"rc {rc}, exists {f.exists()}: {(err or out)[-200:]}"
        s = f.read_text(encoding="utf-8", errors="replace")
        raw_hits = [x for x in ("<script>window.__pwned=1</script>", "<img src=x onerror",
                                "<script>window.__pwned=4</script>") if x in s]
        present = "evil-model" in s and "__pwned=3" in s
        html_state["inj"] = True
        return not raw_hits and present, f"unescaped: {raw_hits}; payloads present (escaped): {present}"

    @probe("PH12", "Chromium: profile page renders a heatmap, no console errors, no external requests")
    def _():
        if not html_state.get("ok"):
            return False, "no page to load (PH10 failed)"
        return chromium_check(a.chromium, work / "prof.html", expect_heatmap=True)

    @probe("PH13", "Chromium: injected page runs none of the payloads (window.__pwned stays undefined)")
    def _():
        if not html_state.get("inj"):
            return False, "no page to load (PH11 failed)"
        return chromium_check(a.chromium, work / "inj.html", expect_heatmap=False, pwn=True)

    held = sum(r["held"] for r in RESULTS)
    print(f"held {held} of {len(RESULTS)}")
    Path(a.out).write_text(json.dumps({"earful": a.earful, "pythonpath": a.pythonpath, "held": held,
                                       "total": len(RESULTS), "results": RESULTS}, indent=1))
    return 0


def chromium_check(chromium: str, page_path: Path, expect_heatmap: bool, pwn: bool = False):
    from playwright.sync_api import sync_playwright
    errors, external, dialogs = [], [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        pg = b.new_page()
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.on("request", lambda r: external.append(r.url) if r.url.startswith("http") else None)
        pg.goto(page_path.as_uri())
        pg.wait_for_timeout(1500)
        heat = pg.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(
            d => (d.data || []).some(t => t.type === 'heatmap'))""")
        pwned = pg.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")
        b.close()
    if pwn:
        return pwned is None and not dialogs, f"__pwned={pwned}; dialogs {dialogs}; console errors {errors[:2]}"
    ok = (heat or not expect_heatmap) and not errors and not external
    return ok, f"heatmap drawn {heat}; console errors {errors[:2]}; external {external[:2]}"


if __name__ == "__main__":
    sys.exit(main())
