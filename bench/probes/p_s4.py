#!/usr/bin/env python3
"""Black-box probes for session 4's work: text fields (#15), profiles (#15), per-mention polarity (#14), lake/Ray
(#18) and hostile inputs around them.

Written without reading Earful's code: only README.md, issues 14/15/18, `--help` output and the datasets. Every
expected value is computed here from the raw files (WildBench critiques.jsonl, URR reviews_all.csv, hand-made
texts) or is a concrete expected behaviour (a clean refusal: the exit code, a message naming what was wrong, no
traceback, nothing changed in the workspace, checked by counting every table through `earful sql` before and after).

    cd /tmp/x && /work/main/.venv/bin/python /work/main/bench/probes/p_s4.py --earful /work/base21-earful
    cd /tmp/x && /work/main/.venv/bin/python /work/main/bench/probes/p_s4.py --earful /work/main/.venv/bin/earful

Workspaces are built under a temp dir (`--workdir` keeps them). Topic fits use `--backend pca-kmeans-standin`.
The interface probed (being built in session 4): `topics fit --source S --field COL`, `classify run|train|eval
--source S --field COL` storing labels under `TAX@COL`, `profile --tree topics` over a field fit.
"""
import argparse
import csv
import hashlib
import http.server
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WB = "/work/shared/datasets/wildbench_v2_critiques/critiques.jsonl"
URR = "/work/shared/datasets/urr_app_reviews/reviews_all.csv"
S_TOKEN = "zorblaxian"   # planted in strengths only
W_TOKEN = "quuxfeldic"   # planted in weaknesses only
CATS = ["Coding", "Math", "Writing", "Advice"]
EVALUATIVE = {"great", "love", "good", "ok", "okay", "works", "work", "app", "apps", "game", "games", "nice",
              "awesome", "best", "excellent", "amazing", "fun", "cool", "perfect", "wonderful", "fantastic",
              "thanks", "useful", "praise", "like", "loved", "easy", "simple", "super", "happy", "recommend"}
RESULTS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def record(pid, held, reason):
    RESULTS.append({"id": pid, "held": bool(held), "reason": reason})
    print(f"{pid:34s} {'HELD' if held else 'FAILED'}  {reason}", flush=True)


def probe(pid, fn):
    try:
        held, reason = fn()
        record(pid, held, reason)
    except Exception as e:  # noqa: BLE001
        record(pid, False, f"probe could not complete: {type(e).__name__}: {str(e)[:300]}")


def reap_ray(driver_pid):
    """Stop Ray processes whose session folder names this earful process's pid (only ours)."""
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


class Earful:
    def __init__(self, cmd, cwd, pythonpath=None):
        self.cmd = shlex.split(cmd)
        self.cwd = cwd
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
        if pythonpath:
            self.env["PYTHONPATH"] = pythonpath
        for k in ("EARFUL_DB", "EARFUL_LLM", "RAY_ADDRESS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                  "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "GOOGLE_APPLICATION_CREDENTIALS"):
            self.env.pop(k, None)
        self.env["AWS_CONFIG_FILE"] = os.path.join(cwd, "no-aws-config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(cwd, "no-aws-credentials")
        self.env["AWS_EC2_METADATA_DISABLED"] = "true"

    def run(self, db, *args, timeout=300, env=None):
        argv = self.cmd + (["--db", db] if db else []) + list(args)
        t = time.time()
        p = subprocess.Popen(argv, cwd=self.cwd, env=dict(self.env, **(env or {})), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            rc, err = 124, (err or "") + f"\ntimed out after {timeout}s"
        reap_ray(p.pid)
        self.last_s = time.time() - t
        log(f"  [{self.last_s:6.1f}s rc={rc}] earful {' '.join(args)[:120]}")
        return rc, out, err

    def json(self, db, *args, timeout=300, env=None):
        rc, out, err = self.run(db, *args, "--json", timeout=timeout, env=env)
        if rc != 0:
            raise RuntimeError(f"rc={rc}: {(err or out)[-400:]}")
        return json.loads(out)

    def sql(self, db, q):
        d = self.json(db, "sql", q, "--limit", "100000000")
        return [dict(zip(d["columns"], r)) for r in d["rows"]]

    def snapshot(self, db):
        """Row count of every base table: the workspace's state for 'nothing changed'."""
        tabs = [r["table_name"] for r in self.sql(db, "SELECT table_name FROM information_schema.tables "
                                                       "WHERE table_type = 'BASE TABLE' ORDER BY 1")]
        q = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM \"{t}\"" for t in tabs)
        return {r["t"]: r["n"] for r in self.sql(db, q)}


def clean_error(rc, out, err, code=None):
    text = out + err
    ok = rc != 0 and rc != 124 and bool(text.strip()) and "Traceback" not in text \
        and "unexpected error" not in text.lower()
    return ok and (code is None or rc == code)


def short(rc, out, err, n=200):
    return f"rc={rc} {(out + err).strip().replace(chr(10), ' ')[-n:]!r}"


def norm(s):
    return re.sub(r"\s+", " ", s or "").strip()


def walk(o):
    """Every (key, value) pair in a nested JSON value."""
    if isinstance(o, dict):
        for k, v in o.items():
            yield k, v
            yield from walk(v)
    elif isinstance(o, list):
        for v in o:
            yield from walk(v)


# ---------------------------------------------------------------- data (all from the raw files)
def wb_sample(n_sessions, seed):
    rows = [json.loads(line) for line in open(WB, encoding="utf-8")]
    by = {}
    for r in rows:
        by.setdefault(r["session_id"], []).append(r)
    full = sorted(s for s, rs in by.items() if len({r["model"] for r in rs}) == 8)
    sids = random.Random(seed).sample(full, n_sessions)
    out = []
    for s in sorted(sids):
        out.extend(sorted(by[s], key=lambda r: r["model"]))
    return out


def cat_of(sid):
    return CATS[int(hashlib.md5(sid.encode()).hexdigest(), 16) % len(CATS)]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


TONE_YAML = """name: {name}
multi_label: false
labels:
  - name: praise
    description: "The text praises the response: what it does well; accurate, clear, helpful, well-structured,
      detailed, thorough, relevant."
    examples: ["The response is clear and well-organized.",
               "It accurately addresses the user's request with helpful detail."]
  - name: criticism
    description: "The text criticises the response: what it lacks or gets wrong; errors, missing details,
      inaccuracies, lacks depth, fails to address, could be improved."
    examples: ["The response lacks specific examples.", "It contains factual errors and misses key details."]
"""

PROBLEM_YAML = """name: probe_problem
multi_label: false
labels:
  - name: problem
    description: "The review reports a problem: a crash, a bug, something that does not work."
    examples: ["It keeps crashing", "won't open"]
  - name: other
    description: "Anything else: praise, a question, a wish."
    examples: ["Love it", "Please add dark mode"]
"""

# WildBench's twelve task tags (the leaves of the built-in `wildbench` tree), as a taxonomy for the judged responses
WB_TAGS = {
    "Information seeking": "The user asks for facts or an explanation of something.",
    "Creative Writing": "The user asks for a story, poem, song, script or other creative text.",
    "Coding & Debugging": "The user asks to write, explain or fix program code.",
    "Reasoning": "The user asks to solve a logic puzzle or reason step by step.",
    "Editing": "The user asks to rewrite, proofread, shorten or translate a given text.",
    "Math": "The user asks to solve a mathematics problem or calculation.",
    "Planning": "The user asks for a plan, schedule, itinerary or strategy.",
    "Brainstorming": "The user asks for many ideas, names or suggestions.",
    "Role playing": "The user asks the assistant to act as a character or persona.",
    "Advice seeking": "The user asks for personal or professional advice.",
    "Data Analysis": "The user asks to analyse data, tables or statistics.",
    "Others": "Anything else.",
}
WB_TASKS_YAML = "name: wildbench_tasks\nmulti_label: false\nlabels:\n" + "".join(
    f"  - name: {json.dumps(k)}\n    description: {json.dumps(v)}\n    examples: [{json.dumps(v)}]\n"
    for k, v in WB_TAGS.items())

# contrastive / failure-of-expectation sentences: (id, text, clause that must be a negative mention)
POLARITY = [
    ("pol1", "Although the interface is clean, notifications never arrive.", "notifications never arrive"),
    ("pol2", "Love the design but it keeps crashing", "it keeps crashing"),
    ("pol3", "Great app, however sync stopped working after the update", "sync stopped working"),
    ("pol4", "It no longer loads my files", "no longer loads my files"),
    ("pol5", "won't open since update", "won't open since update"),
]
EMOJI = [("emo1", "\U0001F621\U0001F621", "negative"), ("emo2", "\U0001F44D", "positive")]


# ---------------------------------------------------------------- fake OpenAI-compatible server
class FakeLLM:
    def __init__(self, label):
        self.bodies = []
        reply = json.dumps({"label": label, "labels": [label], "confidence": 0.9, "reason": "fixed"})
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                b = json.dumps({"data": [{"id": "fake", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def do_POST(self):
                n = int(self.headers.get("content-length", 0))
                body = self.rfile.read(n).decode(errors="replace")
                outer.bodies.append(body)
                try:
                    req = json.loads(body)
                except ValueError:
                    req = {}
                msg = {"role": "assistant", "content": reply}
                if req.get("tools"):
                    msg = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "c1", "type": "function",
                        "function": {"name": req["tools"][0]["function"]["name"], "arguments": reply}}]}
                out = {"id": "x", "object": "chat.completion", "created": 0, "model": req.get("model", "m"),
                       "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                b = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/v1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--earful", default="earful")
    ap.add_argument("--pythonpath", default=None, help="PYTHONPATH for the earful subprocesses")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--sessions", type=int, default=30, help="WildBench tasks sampled (x 8 models)")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--ray-timeout", type=int, default=240)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="p_s4_")
    os.makedirs(work, exist_ok=True)
    E = Earful(args.earful, work, args.pythonpath)
    t0 = time.time()
    log(f"workdir {work}")

    # ================================================================ A: text fields (WildBench)
    rows = wb_sample(args.sessions, args.seed)
    for i, r in enumerate(rows):
        r["cat"] = cat_of(r["session_id"])
        if i % 3 == 0:
            r["strengths"] = r["strengths"] + f" The {S_TOKEN} framing is strong."
        if i % 3 == 1:
            r["weaknesses"] = r["weaknesses"] + f" The {W_TOKEN} part is weak."
    # one row of each of the first 6 sessions gets another category: the session's majority is still cat_of(sid)
    sids = sorted({r["session_id"] for r in rows})
    flipped = set()
    for s in sids[:6]:
        r = next(r for r in rows if r["session_id"] == s)
        r["cat"] = next(c for c in CATS if c != cat_of(s))
        flipped.add((s, r["model"]))
    blank = [rows[i] for i in range(5, len(rows), 37)][:7]
    for k, r in enumerate(blank):
        r["weaknesses"] = "" if k % 2 else "   "
    blank_keys = {(r["session_id"], r["model"]) for r in blank}
    n_rows = len(rows)
    wb_path = os.path.join(work, "critiques.jsonl")
    write_jsonl(wb_path, rows)
    db = os.path.join(work, "wb.duckdb")
    rc, out, err = E.run(db, "ingest", wb_path, "--source", "critiques", "--json")
    log(f"ingest critiques: {short(rc, out, err)}")
    strengths_texts = [norm(r["strengths"]) for r in rows]
    weakness_texts = [norm(r["weaknesses"]) for r in rows if norm(r["weaknesses"])]
    n_nonblank = len(weakness_texts)
    added = []  # rows A07 adds to the critiques source (all with a non-blank weaknesses field)

    def n_items(dbp):
        return E.sql(dbp, "SELECT count(*) AS n FROM items")[0]["n"]

    probe("S00-setup-ingest", lambda: (rc == 0 and n_items(db) == n_rows,
                                       f"{n_rows} sampled WildBench rows ingested: {short(rc, out, err, 120)}"))

    # ================================================================ B: profiles (category column, unit majority)
    expect = {}
    maj = {s: cat_of(s) for s in sids}
    for r in rows:
        c = maj[r["session_id"]]
        expect.setdefault((r["model"], c), []).append(r["score"])
    prof = {}

    def p_prof_json():
        r = E.run(db, "profile", "--source", "critiques", "--subject-column", "model", "--score-column", "score",
                  "--category-column", "cat", "--unit-column", "session_id", "--json", timeout=600)
        if r[0] != 0:
            return False, f"profile --category-column cat --unit-column session_id: {short(*r)}"
        prof["d"] = json.loads(r[1])
        return True, "profile --json parses"
    probe("B01-profile-json-parses", p_prof_json)

    def p_prof_subjects():
        d = prof["d"]
        models = {r["model"] for r in rows}
        has = {n["subject"] for n in d["nodes"] if n.get("node") == "(all)"}
        return models <= has, f"{len(models & has)} of 8 models have a profile"
    probe("B02-profile-every-model", p_prof_subjects)

    def p_prof_means():
        d = prof["d"]
        bad, n = [], 0
        for n_ in d["nodes"]:
            key = (n_["subject"], n_["node"])
            if key in expect:
                n += 1
                v = expect[key]
                m = sum(v) / len(v)
                if n_["n"] != len(v) or abs(n_["mean"] - m) > 1e-4:
                    bad.append(f"{key}: n {n_['n']} vs {len(v)}, mean {n_['mean']} vs {m:.4f}")
        return n == len(expect) and not bad, (f"{n} of {len(expect)} (model, category) cells checked against "
                                              f"plain recomputation (session majority); {len(bad)} differ "
                                              f"{bad[:2]}")
    probe("B03-profile-means-recomputed", p_prof_means)

    def p_unit_share():
        d = prof["d"]
        by = {}
        for n_ in d["nodes"]:
            if n_.get("node") in CATS:
                by.setdefault(n_["node"], set()).add(n_["n"])
        uneven = {c: sorted(v) for c, v in by.items() if len(v) > 1}
        return bool(by) and not uneven, (f"every sampled task has all 8 models, so a category's n must be equal "
                                         f"across models when a task's items share one category; uneven: {uneven}")
    probe("B04-profile-unit-items-share-category", p_unit_share)

    def p_prof_wildbench():
        out_rows = []
        import gzip
        want = {(r["session_id"], r["model"]) for r in rows}
        with gzip.open("/work/shared/datasets/wildbench_v2_critiques/model_outputs.jsonl.gz", "rt") as f:
            for line in f:
                o = json.loads(line)
                if (o["session_id"], o["model"]) in want:
                    out_rows.append({"session_id": o["session_id"], "model": o["model"],
                                     "model_output": (o["model_output"] or "")[:320] or "(empty)"})
        p = os.path.join(work, "outputs.jsonl")
        write_jsonl(p, out_rows)
        E.run(db, "ingest", p, "--source", "outputs", "--text", "model_output")
        tasks_yaml = os.path.join(work, "wildbench_tasks.yaml")  # not built in: the probe's own taxonomy file
        open(tasks_yaml, "w").write(WB_TASKS_YAML)
        E.run(db, "classify", "run", "-t", tasks_yaml, "--source", "outputs", timeout=900)
        r = E.run(db, "profile", "--source", "critiques", "--subject-column", "model", "--score-column", "score",
                  "--tree", "wildbench", "--labels", "wildbench_tasks", "--category-source", "outputs",
                  "--unit-column", "session_id", "--json", timeout=600)
        if r[0] != 0:
            return False, f"profile --tree wildbench --labels wildbench_tasks: {short(*r)}"
        d = json.loads(r[1])
        models = {r_["model"] for r_ in rows}
        has = {n["subject"] for n in d["nodes"] if n.get("node") == "(all)"}
        by = {}
        for n_ in d["nodes"]:
            if n_.get("node") != "(all)" and n_.get("depth") == 1:
                by.setdefault(n_["node"], {})[n_["subject"]] = n_["n"]
        uneven = {c: v for c, v in by.items() if len(set(v.values())) > 1 or set(v) != models}
        return models <= has and bool(by) and not uneven, (
            f"wildbench tree via labels of the outputs: {len(models & has)}/8 models profiled, {len(by)} top-level "
            f"groups; groups whose n differs across models (a task split across groups): {list(uneven)[:3]}")
    probe("B05-profile-wildbench-labels-unit", p_prof_wildbench)


    fit = {}

    def p_fit():
        r = E.run(db, "topics", "fit", "--source", "critiques", "--field", "weaknesses", "--backend",
                  "pca-kmeans-standin", "--json", timeout=600)
        fit["r"] = r
        if r[0] != 0:
            return False, f"topics fit --field weaknesses: {short(*r)}"
        fit["d"] = json.loads(r[1])
        return True, f"fit on weaknesses: {short(*r, n=160)}"
    probe("A01-topics-fit-field", p_fit)

    lst = {}

    def topics_dump():
        if "list" not in lst:
            lst["list"] = E.json(db, "topics", "list", "--examples", "3")
            lst["list_text"] = E.run(db, "topics", "list", "--examples", "3")
            shows = []
            for t in lst["list"].get("topics", [])[:40]:
                shows.append(E.json(db, "topics", "show", str(t["id"])))
            lst["shows"] = shows
        return lst

    def p_no_strength_word():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit to inspect (A01 failed)"
        d = topics_dump()
        blob = json.dumps([d["list"], d["shows"]], ensure_ascii=False).lower()
        topics = d["list"].get("topics", [])
        if not topics:
            return False, "the fit has no topics"
        hit = S_TOKEN in blob
        return not hit, (f"strengths-only word '{S_TOKEN}' (in {sum(S_TOKEN in s for s in strengths_texts)} "
                         f"strengths texts, no weaknesses text) {'SHOWS' if hit else 'never shows'} in the "
                         f"{len(topics)} weakness topics' names/keywords/quotes")
    probe("A02-field-fit-no-strengths-words", p_no_strength_word)

    def p_quotes_from_field():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit to inspect (A01 failed)"
        d = topics_dump()
        quotes = []
        for t in d["list"].get("topics", []):
            for ex in t.get("examples") or []:
                q = ex.get("text") if isinstance(ex, dict) else ex
                if isinstance(q, str):
                    quotes.append(q)
        bad = []
        for q in quotes:
            q2 = norm(re.sub(r"^\([0-9a-f]{8,}\)\s*", "", q)).rstrip(".…").strip()
            q2 = q2[:120]
            if not any(q2 in w for w in weakness_texts):
                bad.append(q2[:80])
        return bool(quotes) and not bad, (f"{len(quotes)} example quotes; {len(bad)} not found in any weaknesses "
                                          f"text{': ' + repr(bad[:2]) if bad else ''}")
    probe("A03-field-fit-quotes-are-weaknesses", p_quotes_from_field)

    def p_list_says_field():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit to inspect (A01 failed)"
        d = topics_dump()
        in_json = any(k in ("field", "text_field") and v == "weaknesses" for k, v in walk([d["list"], d["shows"]]))
        rc_, o, e = d["list_text"]
        head = "\n".join((o + e).splitlines()[:3])
        in_text = "weaknesses" in head
        return in_json or in_text, (f"topics list/show JSON has field=weaknesses: {in_json}; list's header names it: "
                                    f"{in_text} ({head[:120]!r})")
    probe("A04-list-show-name-the-field", p_list_says_field)

    def p_blank_count():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit (A01 failed)"
        r = fit["r"]
        d = fit["d"]
        nb = n_rows - n_nonblank
        said_json = any(isinstance(v, int) and v == nb and re.search(r"skip|blank|empty|missing", k)
                        for k, v in walk(d))
        said_text = bool(re.search(rf"\b{nb}\b[^\n]{{0,60}}(skip|blank|empty)|(skip|blank|empty)[^\n]{{0,60}}\b{nb}\b",
                                   r[1] + r[2], re.I))
        return said_json or said_text, f"{nb} items with a blank weaknesses field; the fit says so: json={said_json} " \
                                       f"text={said_text}"
    probe("A05-blank-field-count-said", p_blank_count)

    def p_blank_unassigned():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit (A01 failed)"
        got = E.sql(db, "SELECT session_id, model, topic_id FROM critiques")
        bad = [(g["session_id"][:10], g["model"], g["topic_id"]) for g in got
               if (g["session_id"], g["model"]) in blank_keys and g["topic_id"] is not None and g["topic_id"] >= 0]
        nonblank_topic = sum(1 for g in got if (g["session_id"], g["model"]) not in blank_keys
                             and g["topic_id"] is not None and g["topic_id"] >= 0)
        return not bad and nonblank_topic > 0, (f"{len(blank_keys)} blank-field items: {len(bad)} given a topic "
                                                f"{bad[:2]}; {nonblank_topic} non-blank items have one")
    probe("A06-blank-field-items-skipped", p_blank_unassigned)

    # A07: new rows whose weaknesses copy a fitted row's, with strengths of another row -> same topic as the copy
    def p_assign_field():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit (A01 failed)"
        got = {(g["session_id"], g["model"]): g["topic_id"]
               for g in E.sql(db, "SELECT session_id, model, topic_id FROM critiques")}
        src = [r for r in rows if (r["session_id"], r["model"]) not in blank_keys
               and got.get((r["session_id"], r["model"])) not in (None, -1)]
        rnd = random.Random(7)
        picks = rnd.sample(src, min(10, len(src)))
        new, expect = [], {}
        for k, r in enumerate(picks):
            other = next(o for o in rnd.sample(src, len(src))
                         if got[(o["session_id"], o["model"])] != got[(r["session_id"], r["model"])])
            sid = f"probe-new-{k}"
            new.append({"session_id": sid, "model": r["model"], "model_test": r["model"], "judge": r["judge"],
                        "score": r["score"], "strengths": other["strengths"], "weaknesses": r["weaknesses"],
                        "cat": "Coding"})
            expect[sid] = got[(r["session_id"], r["model"])]
        p = os.path.join(work, "critiques_new.jsonl")
        write_jsonl(p, new)
        r1 = E.run(db, "ingest", p, "--source", "critiques")
        if r1[0] == 0:
            added.extend(new)
        r2 = E.run(db, "topics", "assign", "--source", "critiques", "--json", timeout=600)
        if r2[0] != 0:
            return False, f"topics assign: {short(*r2)}"
        now = {g["session_id"]: g["topic_id"] for g in
               E.sql(db, "SELECT session_id, topic_id FROM critiques WHERE session_id LIKE 'probe-new-%'")}
        same = sum(1 for s, t in expect.items() if now.get(s) == t)
        return same >= 8, (f"{same} of {len(expect)} new rows (weaknesses copied from a fitted row, strengths from a "
                           f"row of another topic) got the copied row's topic (ingest rc={r1[0]})")
    probe("A07-assign-uses-field", p_assign_field)

    def refusal(pid, argv, must, code=2, dbp=None):
        dbp = dbp or db

        def fn():
            before = E.snapshot(dbp)
            r = E.run(dbp, *argv, timeout=300)
            after = E.snapshot(dbp)
            text = (r[1] + r[2]).lower()
            named = all(re.search(m, text) for m in must)
            same = before == after
            diff = {k: (before.get(k), after.get(k)) for k in set(before) | set(after)
                    if before.get(k) != after.get(k)}
            extra = " " + str(diff)[:120] if diff else ""
            return clean_error(*r, code=code) and named and same, (
                f"{short(*r, n=160)}; names {must}: {named}; workspace unchanged: {same}{extra}")
        probe(pid, fn)

    fit_args = ["topics", "fit", "--backend", "pca-kmeans-standin"]
    refusal("A08-fit-field-without-source", fit_args + ["--field", "weaknesses"], [r"--source"])
    refusal("A09-fit-field-unknown-column", fit_args + ["--source", "critiques", "--field", "nosuchcol"],
            [r"nosuchcol"])
    refusal("A10-fit-field-numeric-column", fit_args + ["--source", "critiques", "--field", "score"],
            [r"score", r"text|numeric|string|varchar"])

    # ---------------------------------------------------------------- classify on a field
    tone = os.path.join(work, "critique_tone.yaml")
    open(tone, "w").write(TONE_YAML.format(name="critique_tone"))
    E.run(db, "classify", "run", "-t", tone, "--source", "critiques", timeout=900)  # the joined text, first
    cls = {}

    def labels_of(tax):
        return {(g["session_id"], g["model"]): g["label"] for g in E.sql(
            db, f"SELECT c.session_id, c.model, l.label FROM classify_labels l JOIN critiques c USING (item_id) "
                f"WHERE l.taxonomy = '{tax}'")}

    def p_cls_field():
        joined_before = labels_of("critique_tone")
        r = E.run(db, "classify", "run", "-t", tone, "--source", "critiques", "--field", "weaknesses", "--json",
                  timeout=900)
        cls["w"] = r
        if r[0] != 0:
            return False, f"classify run --field weaknesses: {short(*r)}"
        lw = labels_of("critique_tone@weaknesses")
        joined_after = labels_of("critique_tone")
        cls["lw"], cls["joined"] = lw, joined_after
        want = n_nonblank + len(added)
        ok = len(lw) == want and joined_after == joined_before and len(joined_before) > 0
        return ok, (f"critique_tone@weaknesses: {len(lw)} labels (expected {want} non-blank weaknesses); "
                    f"labels of critique_tone over the joined text kept: {joined_after == joined_before} "
                    f"({len(joined_before)} before, {len(joined_after)} after)")
    probe("C01-classify-field-stored-as-TAX@COL", p_cls_field)

    def p_cls_shares():
        r = E.run(db, "classify", "shares", "-t", "critique_tone@weaknesses", "--source", "critiques", "--json")
        if r[0] != 0:
            return False, f"classify shares -t critique_tone@weaknesses: {short(*r)}"
        d = json.loads(r[1])
        ns = [v for k, v in walk(d) if k in ("predicted_items", "items", "n", "n_items", "labelled")
              and isinstance(v, int)]
        want = n_nonblank + len(added)
        return want in ns or sum(v for k, v in walk(d) if k == "predicted_items"
                                 and isinstance(v, int)) == want, (
            f"shares over critique_tone@weaknesses: counts seen {sorted(set(ns))[:8]}, expected {want} items")
    probe("C02-classify-shares-TAX@COL", p_cls_shares)

    def p_cls_direction():
        if cls.get("w", (1,))[0] != 0:
            return False, "no field labels (C01 failed)"
        r = E.run(db, "classify", "run", "-t", tone, "--source", "critiques", "--field", "strengths", timeout=900)
        if r[0] != 0:
            return False, f"classify run --field strengths: {short(*r)}"
        ls_ = labels_of("critique_tone@strengths")
        lw = cls["lw"]
        cw = sum(v == "criticism" for v in lw.values()) / max(1, len(lw))
        cs = sum(v == "criticism" for v in ls_.values()) / max(1, len(ls_))
        return len(ls_) == n_rows + len(added) and cw >= cs + 0.3, (
            f"share labelled 'criticism': {cw:.2f} on weaknesses vs {cs:.2f} on strengths ({len(ls_)} strengths "
            f"labels; expected the weaknesses share >= strengths + 0.30)")
    probe("C03-classify-field-text-is-used", p_cls_direction)

    # gold from the weaknesses text alone: does it mention an example / examples?
    gold_rows = [r for r in rows if norm(r["weaknesses"])]

    def gold_of(r):
        return "asks_examples" if re.search(r"\bexamples?\b", r["weaknesses"], re.I) else "other"

    gold_csv = os.path.join(work, "gold.csv")
    with open(gold_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["gid", "strengths", "weaknesses", "g", "score"])
        for k, r in enumerate(gold_rows):
            w.writerow([f"g{k}", r["strengths"], r["weaknesses"], gold_of(r), r["score"]])
    gdb = os.path.join(work, "gold.duckdb")
    E.run(gdb, "ingest", gold_csv, "--source", "gold", "--text", "strengths", "--id", "gid")
    gold_by_id = {f"g{k}": gold_of(r) for k, r in enumerate(gold_rows)}

    def eval_acc(field):
        r = E.run(gdb, "classify", "eval", "-t", "wgold", "--gold-column", "g", "--source", "gold", "--field", field,
                  "--methods", "tfidf", "--folds", "3", "--json", timeout=600)
        if r[0] != 0:
            return None, r
        d = json.loads(r[1])
        accs = [v.get("accuracy") for k, v in walk(d) if isinstance(v, dict) and v.get("method") == "tfidf"
                and isinstance(v.get("accuracy"), (int, float))]
        accs += [v["tfidf"]["accuracy"] for k, v in walk(d) if isinstance(v, dict)
                 and isinstance(v.get("tfidf"), dict) and "accuracy" in v["tfidf"]]
        return (accs[0] if accs else None), r

    def p_eval_field():
        aw, rw = eval_acc("weaknesses")
        if aw is None:
            return False, f"classify eval --field weaknesses: {short(*rw)}"
        as_, rs = eval_acc("strengths")
        if as_ is None:
            return False, f"classify eval --field strengths: {short(*rs)}"
        return aw >= as_ + 0.05, (f"gold = 'weaknesses mention examples'; tfidf accuracy on --field weaknesses "
                                  f"{aw:.3f} vs --field strengths {as_:.3f} (expected weaknesses >= strengths + 0.05)")
    probe("C04-classify-eval-field", p_eval_field)

    def p_train_run_field():
        r = E.run(gdb, "classify", "train", "-t", "wgold", "--gold-column", "g", "--source", "gold", "--field",
                  "weaknesses", "--method", "tfidf", "--json", timeout=600)
        if r[0] != 0:
            return False, f"classify train --field weaknesses: {short(*r)}"
        r2 = E.run(gdb, "classify", "run", "-t", "wgold", "--source", "gold", "--field", "weaknesses", "--json",
                   timeout=600)
        if r2[0] != 0:
            return False, f"classify run -t wgold --field weaknesses after train: {short(*r2)}"
        got = {g["gid"]: g["label"] for g in E.sql(
            gdb, "SELECT s.gid, l.label FROM classify_labels l JOIN gold s USING (item_id) "
                 "WHERE l.taxonomy = 'wgold@weaknesses'")}
        agree = sum(got.get(k) == v for k, v in gold_by_id.items()) / len(gold_by_id)
        return len(got) == len(gold_by_id) and agree >= 0.8, (
            f"wgold@weaknesses: {len(got)} of {len(gold_by_id)} labelled, agreement with the gold {agree:.2f} "
            f"(expected >= 0.80: the gold is a word rule on the same field)")
    probe("C05-classify-train-run-field", p_train_run_field)

    run_args = ["classify", "run", "-t", tone]
    refusal("C06-classify-field-without-source", run_args + ["--field", "weaknesses"], [r"--source"])
    refusal("C07-classify-field-unknown-column", run_args + ["--source", "critiques", "--field", "nosuchcol"],
            [r"nosuchcol"])
    refusal("C08-classify-field-numeric", run_args + ["--source", "critiques", "--field", "score"],
            [r"score", r"text|numeric|string|varchar"])

    # ---------------------------------------------------------------- profile over weakness topics
    def p_profile_topics():
        if fit.get("r", (1,))[0] != 0:
            return False, "no field fit (A01 failed)"
        d = E.json(db, "profile", "--source", "critiques", "--subject-column", "model", "--score-column", "score",
                   "--tree", "topics", timeout=600)
        names = {t["name"] for t in topics_dump()["list"].get("topics", [])}
        leaves = {n["node"] for n in d.get("nodes", []) if n.get("node") != "(all)"}
        hit = {t for t in names if any(t == leaf or leaf.endswith(t) for leaf in leaves)}
        models = {r["model"] for r in rows}
        return bool(hit) and len(hit) >= 0.8 * len(names) and models <= set(d.get("subjects", [])), (
            f"{len(hit)} of {len(names)} weakness-topic names are profile nodes; subjects "
            f"{len(set(d.get('subjects', [])) & models)}/8")
    probe("P01-profile-tree-of-weakness-topics", p_profile_topics)

    # ================================================================ C: mentions and polarity (issue 14)
    urr = [r for r in csv.DictReader(open(URR, encoding="utf-8", newline="")) if r["review_text"].strip()]
    urr = random.Random(args.seed).sample(urr, 150)
    rev_rows = [[r["review_id"], r["app"], r["date"], r["rating"], r["review_text"]] for r in urr]
    for pid, text, _ in POLARITY:
        rev_rows.append([pid, "ProbeApp", "01/06/16", "2", text])
    for pid, text, _ in EMOJI:
        rev_rows.append([pid, "ProbeApp", "01/06/16", "3", text])
    rev_csv = os.path.join(work, "reviews.csv")
    with open(rev_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review_id", "app", "date", "rating", "review_text"])
        w.writerows(rev_rows)
    rdb = os.path.join(work, "reviews.duckdb")
    E.run(rdb, "ingest", rev_csv, "--source", "reviews", "--id", "review_id", "--time", "date", "--time-format",
          "%d/%m/%y", "--text", "review_text", "--rating", "rating")
    rm = E.run(rdb, "topics", "mentions", "--source", "reviews", "--json", timeout=600)
    ment = {}

    def mentions_of(ext):
        if "all" not in ment:
            ment["all"] = E.sql(rdb, "SELECT i.external_id, m.seq, m.text, m.polarity, m.start_char, m.end_char "
                                     "FROM mentions m JOIN items i USING (item_id) ORDER BY 1, 2")
        return [m for m in ment["all"] if m["external_id"] == ext]

    for pid, text, clause in POLARITY:
        def fn(pid=pid, text=text, clause=clause):
            if rm[0] != 0:
                return False, f"topics mentions: {short(*rm)}"
            ms = mentions_of(pid)
            hit = [m for m in ms if clause.lower() in (m["text"] or "").lower()]
            pol = [m["polarity"] for m in hit]
            return bool(hit) and all(p == "negative" for p in pol), (
                f"{text!r}: the mention holding {clause!r} is {pol or 'missing'} (mentions: "
                f"{[(m['text'], m['polarity']) for m in ms]})"[:300])
        probe(f"K0{pid[-1]}-polarity-{pid}", fn)

    def p_emoji_kept():
        got = {g["external_id"] for g in E.sql(rdb, "SELECT external_id FROM items")}
        q = {g["source"] for g in E.sql(rdb, "SELECT source FROM quarantine")}
        kept = [e for e, _, _ in EMOJI if e in got]
        return len(kept) == len(EMOJI), f"emoji-only reviews kept as items: {kept} (quarantine sources {q})"
    probe("K06-emoji-only-kept-as-items", p_emoji_kept)

    def p_emoji_polarity():
        if rm[0] != 0:
            return False, f"topics mentions: {short(*rm)}"
        res = []
        ok = True
        for e, text, want in EMOJI:
            ms = mentions_of(e)
            pols = [m["polarity"] for m in ms]
            res.append((text, pols))
            ok = ok and bool(ms) and want in pols and all(p in (want, "neutral") for p in pols)
        return ok, f"emoji-only mentions (expected 😡😡 negative, 👍 positive): {res}"
    probe("K07-emoji-only-mention-polarity", p_emoji_polarity)

    since = "2015-01-01"

    def p_complaints():
        ra = E.run(rdb, "topics", "aspects", "fit", "--source", "reviews", "--backend", "pca-kmeans-standin",
                   "--json", timeout=900)
        if ra[0] != 0:
            return False, f"topics aspects fit: {short(*ra)}"
        r = E.run(rdb, "topics", "complaints", "--since", since, "--source", "reviews", "--json")
        if r[0] != 0:
            return False, f"topics complaints --since {since}: {short(*r)}"
        d = json.loads(r[1])
        items = d if isinstance(d, list) else next((v for k, v in walk(d) if isinstance(v, list) and v
                                                     and isinstance(v[0], dict) and "aspect" in v[0]), [])
        ment["complaints"] = items
        praise = [a.get("aspect") for a in items
                  if str(a.get("aspect", "")).lower().startswith("praise")
                  or all(t in EVALUATIVE for t in re.findall(r"[a-z']+", str(a.get("aspect", "")).lower()))]
        noneg = [a.get("aspect") for a in items if not (isinstance(a.get("negative"), int) and a["negative"] > 0)]
        return bool(items) and not praise and not noneg, (
            f"{len(items)} aspects {[a.get('aspect') for a in items]}; praise-named: {praise}; "
            f"without negative mentions: {noneg}")
    probe("K08-complaints-aspects-no-praise", p_complaints)

    def p_complaints_counts():
        items = ment.get("complaints")
        if not items:
            return False, "no complaints (K08 failed)"
        # dates from the raw CSV, polarity and aspect from the mentions Earful stored
        date_of = {}
        for row in rev_rows:
            d, m, y = row[2].split("/")
            date_of[row[0]] = f"20{y}-{m}-{d}"
        ms = E.sql(rdb, "SELECT i.external_id, m.polarity, m.aspect_id FROM mentions m JOIN items i USING (item_id)")
        bad = []
        for a in items:
            n = sum(1 for m in ms if m["aspect_id"] == a.get("aspect_id") and m["polarity"] == "negative"
                    and date_of.get(m["external_id"], "0") >= since)
            if n != a.get("negative"):
                bad.append((a.get("aspect"), a.get("negative"), n))
            for q in a.get("quotes") or []:
                if str(q.get("created_at", ""))[:10] < since:
                    bad.append((a.get("aspect"), "quote before since", q.get("created_at")))
        return not bad, (f"negative-mention counts recomputed (raw dates >= {since}, stored mention polarity and "
                         f"aspect): {len(items) - len(bad)} of {len(items)} agree; {bad[:3]}")
    probe("K09-complaints-counts-since", p_complaints_counts)

    # ================================================================ D: lake and Ray (issue 18)
    ldb = os.path.join(work, "lakews.duckdb")
    ucsv = os.path.join(work, "urr120.csv")
    with open(ucsv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["review_id", "app", "date", "rating", "review_text"])
        w.writerows(rev_rows[:120])
    E.run(ldb, "ingest", ucsv, "--source", "urr", "--id", "review_id", "--time", "date", "--time-format",
          "%d/%m/%y", "--text", "review_text", "--rating", "rating")
    E.run(ldb, "classify", "run", "-t", "feedback_type", "--source", "urr", timeout=900)
    lake = os.path.join(work, "lake")
    rx = E.run(ldb, "export", "--to", lake, "--json", timeout=600)
    probe("D01-export-lake", lambda: (rx[0] == 0 and os.path.exists(os.path.join(lake, "_lake.json")),
                                      f"export --to lake: {short(*rx, n=120)}"))
    cat = os.path.join(work, "cat.duckdb")
    ri = E.run(cat, "lake", "init", lake, "--json")
    probe("D02-lake-init", lambda: (ri[0] == 0 and E.sql(cat, "SELECT count(*) AS n FROM urr")[0]["n"] == 120,
                                    f"lake init: {short(*ri, n=120)}"))
    problem = os.path.join(work, "probe_problem.yaml")
    open(problem, "w").write(PROBLEM_YAML)
    fake = FakeLLM("problem")
    # the LLM is configured as README says: EARFUL_LLM + EARFUL_<SECTION>_<KEY> (here [llm] base_url)
    llm_env = {"OPENAI_API_KEY": "sk-fake", "EARFUL_LLM": "openai-compatible:fake", "EARFUL_LLM_BASE_URL": fake.url}
    try:
        import ray  # noqa: F401
        have_ray = True
    except Exception:  # noqa: BLE001
        have_ray = False

    def lake_copy(name):
        d = os.path.join(work, name)
        shutil.copytree(lake, d)
        c = os.path.join(work, name + ".duckdb")
        E.run(c, "lake", "init", d)
        return c

    def lake_labels(c, tax):
        try:
            return {g["item_id"]: g["label"] for g in E.sql(
                c, f"SELECT item_id, label FROM classify_labels WHERE taxonomy = '{tax}' AND source = 'urr' "
                   f"LIMIT 100000")}
        except RuntimeError:
            return {g["item_id"]: g["label"] for g in E.sql(
                c, f"SELECT l.item_id, l.label FROM classify_labels l JOIN urr u USING (item_id) "
                   f"WHERE l.taxonomy = '{tax}' LIMIT 100000")}

    for method in ("llm", "cascade"):
        def fn(method=method):
            c_local, c_ray = lake_copy(f"lake_{method}_local"), lake_copy(f"lake_{method}_ray")
            n0 = len(fake.bodies)
            rl = E.run(c_local, "classify", "run", "-t", problem, "--method", method, "--llm-budget", "50",
                       "--engine", "local", env=llm_env, timeout=600)
            rr = E.run(c_ray, "classify", "run", "-t", problem, "--method", method, "--llm-budget", "50",
                       "--engine", "ray", env=llm_env, timeout=args.ray_timeout)
            calls = len(fake.bodies) - n0
            text = (rr[1] + rr[2]).lower()
            if rr[0] == 0:
                if rl[0] != 0:
                    return False, f"ray rc=0 but local failed ({short(*rl, n=120)}): nothing to compare"
                a, b = lake_labels(c_local, "probe_problem"), lake_labels(c_ray, "probe_problem")
                return bool(a) and a == b, (f"--engine ray equal to local: {a == b} ({len(b)} vs {len(a)} labels; "
                                            f"{calls} LLM requests)")
            if not have_ray:
                return clean_error(*rr) and "pip install" in text, f"ray not installed: {short(*rr)}"
            said = ("llm" in text or "cascade" in text) and ("ray" in text or "lake" in text)
            return clean_error(*rr) and said, (f"--engine ray --method {method}: {short(*rr, n=220)} (a failure must "
                                               f"be a clean error saying the LLM stage is not available on Ray)")
        probe(f"D0{3 if method == 'llm' else 4}-lake-classify-{method}-ray", fn)

    def p_ray_unreachable():
        c = lake_copy("lake_badray")
        before = lake_labels(c, "feedback_type")
        # --redo: there is work to do (every item already has a feedback_type label from the workspace)
        r = E.run(c, "classify", "run", "-t", "feedback_type", "--redo", "--engine", "ray",
                  env={"RAY_ADDRESS": "127.0.0.1:1"}, timeout=90)
        s = E.last_s
        text = (r[1] + r[2]).lower()
        after = lake_labels(c, "feedback_type")
        return clean_error(*r) and s <= 75 and "ray" in text and after == before, (
            f"RAY_ADDRESS=127.0.0.1:1 classify run --redo --engine ray: {short(*r, n=200)} after {s:.0f}s (expected "
            f"a clear error naming Ray within ~60 s); feedback_type labels kept: {after == before} ({len(before)} "
            f"-> {len(after)}){'' if have_ray else ' (ray not installed)'}")
    probe("D05-ray-address-unreachable", p_ray_unreachable)

    def p_ray_unreachable_embed():
        c = os.path.join(work, "lake_badray.duckdb")
        r = E.run(c, "lake", "embed", os.path.join(work, "lake_badray"), "--engine", "ray", "--redo",
                  env={"RAY_ADDRESS": "127.0.0.1:1"}, timeout=90)
        s = E.last_s
        text = (r[1] + r[2]).lower()
        return clean_error(*r) and s <= 75 and "ray" in text, (
            f"lake embed --engine ray --redo with RAY_ADDRESS=127.0.0.1:1: {short(*r, n=200)} after {s:.0f}s")
    probe("D06-ray-address-unreachable-embed", p_ray_unreachable_embed)

    def p_s3_export():
        before = sorted(os.listdir(work))
        r = E.run(ldb, "export", "--to", "s3://earful-probe-no-such-bucket-4/lake", timeout=120)
        after = sorted(os.listdir(work))
        new = sorted(set(after) - set(before))
        text = (r[1] + r[2]).lower()
        return clean_error(*r) and not new and re.search(r"credential|s3|endpoint|access", text) is not None, (
            f"export to s3:// without credentials: {short(*r, n=200)}; new local entries: {new}")
    probe("D07-export-s3-no-credentials", p_s3_export)

    def p_s3_lake_init():
        c = os.path.join(work, "s3cat.duckdb")
        r = E.run(c, "lake", "init", "s3://earful-probe-no-such-bucket-4/lake", timeout=120)
        text = (r[1] + r[2]).lower()
        return clean_error(*r) and re.search(r"credential|s3|endpoint|access", text) is not None, (
            f"lake init s3:// without credentials: {short(*r, n=200)}; catalog file left: {os.path.exists(c)}")
    probe("D08-lake-init-s3-no-credentials", p_s3_lake_init)

    # ================================================================ E: hostile inputs
    refusal("E01-fit-field-sql-injection",
            fit_args + ["--source", "critiques", "--field", "text; DROP TABLE items"],
            [r"text; drop table items|column"])
    refusal("E02-classify-field-sql-injection",
            run_args + ["--source", "critiques", "--field", 'weaknesses" FROM items; DROP TABLE items; --'],
            [r"drop table items|column"])
    bad_tax = os.path.join(work, "bad_at.yaml")
    open(bad_tax, "w").write(TONE_YAML.format(name="tone@weaknesses"))
    refusal("E03-taxonomy-name-with-at", ["classify", "run", "-t", bad_tax, "--source", "critiques"], [r"@"],
            code=None)
    refusal("E04-field-empty-string", fit_args + ["--source", "critiques", "--field", ""], [r"empty|blank|column"])

    def p_huge_field():
        hdb = os.path.join(work, "huge.duckdb")
        base = [dict(r) for r in rows[:40]]
        huge = dict(base[0], session_id="huge-1", weaknesses="The answer lacks detail. " * 12000)  # ~290 KB
        p = os.path.join(work, "huge.jsonl")
        write_jsonl(p, base + [huge])
        r = E.run(hdb, "ingest", p, "--source", "critiques")
        if r[0] != 0:
            return False, f"ingest with a 290 KB weaknesses: {short(*r)}"
        n_i = E.sql(hdb, "SELECT count(*) AS n FROM items")[0]["n"]
        n_q = E.sql(hdb, "SELECT count(*) AS n FROM quarantine")[0]["n"]
        r2 = E.run(hdb, "topics", "fit", "--source", "critiques", "--field", "weaknesses", "--backend",
                   "pca-kmeans-standin", "--json", timeout=600)
        return n_i + n_q == 41 and r2[0] == 0, (f"41 rows -> {n_i} items + {n_q} quarantined; topics fit --field "
                                                f"weaknesses: {short(*r2, n=120)}")
    probe("E05-huge-field-value", p_huge_field)

    def p_non_utf8():
        ndb = os.path.join(work, "nonutf8.duckdb")
        p = os.path.join(work, "nonutf8.jsonl")
        with open(p, "wb") as f:
            for r in rows[:20]:
                f.write((json.dumps(r) + "\n").encode())
            f.write(b'{"session_id": "bad-1", "model": "m", "score": 5, "strengths": "ok \xff\xfe bytes", '
                    b'"weaknesses": "bad \xc3\x28 here"}\n')
        r = E.run(ndb, "ingest", p, "--source", "critiques")
        if r[0] not in (0,) and not clean_error(*r):
            return False, f"ingest: {short(*r)}"
        n_i = E.sql(ndb, "SELECT count(*) AS n FROM items")[0]["n"] if os.path.exists(ndb) else 0
        n_q = E.sql(ndb, "SELECT count(*) AS n FROM quarantine")[0]["n"] if os.path.exists(ndb) else 0
        r2 = E.run(ndb, "classify", "run", "-t", tone, "--source", "critiques", "--field", "weaknesses",
                   timeout=600) if n_i else (1, "", "")
        return n_i + n_q == 21 and n_i >= 20 and r2[0] == 0, (
            f"21 lines (1 with non-UTF-8 bytes) -> {n_i} items + {n_q} quarantined (ingest rc={r[0]}); classify run "
            f"--field weaknesses after: {short(*r2, n=100)}")
    probe("E06-non-utf8-jsonl", p_non_utf8)

    refusal("E07-shares-unknown-field-taxonomy", ["classify", "shares", "-t", "critique_tone@nosuchcol"],
            [r"nosuchcol|critique_tone@nosuchcol"], code=None)

    def p_lake_field():
        r = E.run(cat, "classify", "run", "-t", problem, "--source", "urr", "--field", "app", "--engine", "local",
                  timeout=600)
        text = (r[1] + r[2]).lower()
        if r[0] == 0:
            got = lake_labels(cat, "probe_problem@app")
            return len(got) == 120, f"--field on a lake-backed workspace ran: {len(got)} labels under probe_problem@app"
        return clean_error(*r) and "field" in text and "lake" in text, f"--field on a lake catalog: {short(*r)}"
    probe("E08-field-on-lake-catalog", p_lake_field)

    n_held = sum(r["held"] for r in RESULTS)
    print(f"held {n_held} of {len(RESULTS)}  ({time.time() - t0:.0f}s, earful={args.earful})", flush=True)
    if args.out:
        json.dump(RESULTS, open(args.out, "w"), indent=1)
    fake.srv.shutdown()


if __name__ == "__main__":
    main()
