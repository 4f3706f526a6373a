"""Black-box probes of issue 16 (web chat, Jupyter, the CLI as a new user meets it), written without reading Earful's code.

Builds a workspace from a seeded sample of the URR app reviews (plus three hostile rows: a review text with an
<img onerror>, one with a <script>, and an app name with an <img onerror>), fits topics on it, starts `earful serve`
twice (plain, and with a fake OpenAI-compatible LLM on 127.0.0.1 that stalls, for Cancel), and probes the HTTP API
(httpx), the page (Playwright driving Debian's Chromium), Jupyter (nbclient, real kernel) and the CLI. Every expected
number is computed here from the sample CSV with plain Python.

    python bench/probes/p_web.py --earful /work/base20-earful --pythonpath /work/base20-pkg --out r.json
    python bench/probes/p_web.py --earful /work/main/.venv/bin/earful --pythonpath '' --out r.json

Prints one line per probe (id, held/FAILED, reason) and "held N of M"; writes the results as JSON to --out.
"""

from __future__ import annotations

import argparse
import csv
import html as htmllib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

URR = Path("/work/shared/datasets/urr_app_reviews/reviews_all.csv")
RESULTS: list[dict] = []
PY = "/work/main/.venv/bin/python"
INJ_TEXT_IMG = 'Crashes a lot <img src=x onerror="window.__pwned=\'stored-img\'"> please fix'
INJ_TEXT_SCRIPT = "Battery drain </script><script>window.__pwned='stored-script'</script> since update"
INJ_APP = "<img src=x onerror=\"window.__pwned='app'\">EvilApp"
INJ_Q = "<img src=x onerror=\"window.__pwned='question'\"> how many reviews?"


def probe(pid: str, what: str):
    def deco(fn):
        t = time.time()
        try:
            ok, reason = fn()
        except Exception as e:
            ok, reason = False, f"probe raised {type(e).__name__}: {e}"[:300]
            traceback.print_exc(limit=3, file=sys.stderr)
        RESULTS.append({"id": pid, "what": what, "held": bool(ok), "reason": str(reason)[:600],
                        "s": round(time.time() - t, 1)})
        print(f"{pid:5s} {'held' if ok else 'FAILED':6s} {what}: {str(reason)[:300]}", flush=True)
        return fn
    return deco


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class SlowLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that stalls (up to 120 s) before answering: something to cancel."""
    hits: list[str] = []

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"data": [{"id": "gpt-4o-mini", "object": "model"}]}')

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        self.rfile.read(n)
        SlowLLM.hits.append(self.path)
        for _ in range(240):
            time.sleep(0.5)
        body = {"id": "x", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "SELECT 1"}}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())
        except OSError:
            pass


def table_map(t: dict) -> dict:
    """First text cell -> first numeric cell after it, per row."""
    out = {}
    for r in t.get("rows") or []:
        key = next((c for c in r if isinstance(c, str)), None)
        num = next((c for c in r if isinstance(c, (int, float)) and not isinstance(c, bool)), None)
        if key is not None:
            out[key] = num
    return out


def same_counts(got: dict, exp: dict, tol: float = 0.0) -> list:
    bad = [f"{k}: {got.get(k)} vs {v}" for k, v in exp.items()
           if got.get(k) is None or abs(float(got[k]) - v) > tol]
    bad += [f"extra {k}" for k in got if k not in exp]
    return bad


def clean_cli_error(rc, out, err, want_rc=None):
    both = out + err
    if rc == 0:
        return False, "exit 0"
    if want_rc is not None and rc != want_rc:
        return False, f"rc {rc} (want {want_rc}): {both.strip()[-200:]}"
    if "Traceback" in both or "unexpected error" in both.lower():
        return False, f"rc {rc}: crash: {both.strip()[-200:]}"
    return True, f"rc {rc}: {both.strip()[-200:]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earful", default="/work/base20-earful")
    ap.add_argument("--pythonpath", default="/work/base20-pkg")
    ap.add_argument("--out", default="p_web_results.json")
    ap.add_argument("--workdir", default="")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--sample", type=int, default=400)
    a = ap.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="p_web_"))
    work.mkdir(parents=True, exist_ok=True)
    cmd = shlex.split(a.earful)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
    env.pop("EARFUL_DEBUG", None)
    env.pop("EARFUL_LLM", None)
    env.pop("EARFUL_DB", None)
    if a.pythonpath:
        env["PYTHONPATH"] = a.pythonpath
    else:
        env.pop("PYTHONPATH", None)
    print(f"earful: {a.earful}  pythonpath: {a.pythonpath!r}  workdir: {work}", flush=True)

    def E(*args, timeout=600, extra_env=None):
        p = subprocess.run(cmd + list(args), cwd=work, env=dict(env, **(extra_env or {})), capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    # ---- the sample and its expected numbers
    rows = [r for r in csv.DictReader(URR.open(encoding="utf-8")) if r["review_text"].strip()]
    sample = random.Random(16).sample(rows, a.sample)
    base = dict(sample[0])
    inj = [dict(base, review_id="inj-img", app="Injected App", rating="1", date="01/05/16", review_text=INJ_TEXT_IMG),
           dict(base, review_id="inj-script", app="Injected App", rating="2", date="01/05/16",
                review_text=INJ_TEXT_SCRIPT),
           dict(base, review_id="inj-app", app=INJ_APP, rating="1", date="01/05/16", review_text="Evil app is bad")]
    data = sample + inj
    with (work / "reviews.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(data)
    per_app = Counter(r["app"] for r in data)
    per_app_1 = Counter(r["app"] for r in data if r["rating"] == "1")
    rat = defaultdict(list)
    for r in data:
        rat[r["app"]].append(float(r["rating"]))
    avg_app = {k: sum(v) / len(v) for k, v in rat.items()}
    n5 = sum(1 for r in data if r["rating"] == "5")
    N = len(data)

    t0 = time.time()
    rc, out, err = E("--db", "w.duckdb", "ingest", "reviews.csv", "--source", "reviews")
    ingest_ok = rc == 0
    rc_e, _, err_e = E("--db", "w.duckdb", "embed")
    rc_t, out_t, err_t = E("--db", "w.duckdb", "topics", "fit", timeout=900)
    print(f"(ingest rc {rc}, embed rc {rc_e}, topics fit rc {rc_t}; {time.time() - t0:.0f} s)", flush=True)
    if rc_t != 0:
        print("topics fit:", (err_t or out_t)[-300:], flush=True)
    shutil.copy(work / "w.duckdb", work / "w_llm.duckdb")
    ids = json.loads(E("--db", "w.duckdb", "sql", "SELECT item_id, text FROM reviews WHERE text LIKE '%__pwned%'",
                       "--json")[1] or '{"rows": []}')["rows"]
    inj_item = next((i for i, t in ids if "stored-img" in t), None)

    # ---- servers
    port, port2, fport = free_port(), free_port(), free_port()
    fake = ThreadingHTTPServer(("127.0.0.1", fport), SlowLLM)
    fake.daemon_threads = True
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    logs = [open(work / "serve.log", "w"), open(work / "serve_llm.log", "w")]
    srv = subprocess.Popen(cmd + ["--db", "w.duckdb", "serve", "--port", str(port)], cwd=work, env=env,
                           stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True)
    llm_env = dict(env, EARFUL_LLM="openai:gpt-4o-mini", EARFUL_LLM_BASE_URL=f"http://127.0.0.1:{fport}/v1",
                   OPENAI_API_KEY="sk-fake-probe")
    srv2 = subprocess.Popen(cmd + ["--db", "w_llm.duckdb", "serve", "--port", str(port2)], cwd=work, env=llm_env,
                            stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True)
    U, U2 = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port2}"
    for u in (U, U2):
        for _ in range(120):
            try:
                if httpx.get(u + "/api/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
    try:
        run_probes(a, work, E, U, U2, N, per_app, per_app_1, avg_app, n5, ingest_ok, rc_t, inj_item)
    finally:
        for s in (srv, srv2):
            try:
                os.killpg(s.pid, signal.SIGTERM)
                s.wait(timeout=15)
            except Exception:
                s.kill()
        fake.shutdown()
    held = sum(r["held"] for r in RESULTS)
    print(f"held {held} of {len(RESULTS)}")
    Path(a.out).write_text(json.dumps({"earful": a.earful, "pythonpath": a.pythonpath, "held": held,
                                       "total": len(RESULTS), "results": RESULTS}, indent=1))
    return 0


def run_probes(a, work, E, U, U2, N, per_app, per_app_1, avg_app, n5, ingest_ok, rc_t, inj_item):
    c = httpx.Client(base_url=U, timeout=120)
    st: dict = {}

    def ask(q, conv=None, client=c):
        body = {"question": q}
        if conv:
            body["conversation_id"] = conv
        r = client.post("/api/ask", json=body)
        return r

    # ------------------------------------------------------------ API
    @probe("WA01", "POST /api/ask 'How many reviews per app?': table equals the sample's counts per app")
    def _():
        r = ask("How many reviews per app?")
        j = r.json()
        ans = j.get("answer") or {}
        st["conv"] = ans.get("conversation_id")
        bad = same_counts(table_map((ans.get("tables") or [{}])[0]), dict(per_app))
        return r.status_code == 200 and not bad, f"HTTP {r.status_code}; {len(bad)} wrong {bad[:3]}"

    @probe("WA02", "follow-up 'and for 1-star reviews?' in the same conversation: counts per app of 1-star reviews")
    def _():
        r = ask("and for 1-star reviews?", st.get("conv"))
        ans = r.json().get("answer") or {}
        bad = same_counts(table_map((ans.get("tables") or [{}])[0]), dict(per_app_1))
        same = ans.get("conversation_id") == st.get("conv")
        return r.status_code == 200 and same and not bad, \
            f"same conversation {same}; {len(bad)} wrong {bad[:3]}; {str(ans.get('answer'))[:120]}"

    @probe("WA03", "GET /api/conversations lists it with 2 turns; /api/conversations/<id> holds both questions")
    def _():
        lst = c.get("/api/conversations").json()
        lst = lst.get("conversations", lst) if isinstance(lst, dict) else lst
        mine = [x for x in lst if x.get("conversation_id") == st.get("conv")]
        one = c.get(f"/api/conversations/{st.get('conv')}").json()
        qs = [t.get("question") for t in one.get("turns", [])]
        ok = bool(mine) and mine[0].get("turns") == 2 and qs == ["How many reviews per app?", "and for 1-star reviews?"]
        return ok, f"listed {bool(mine)} turns {mine and mine[0].get('turns')}; questions {qs}"

    @probe("WA04", "/c/<id> serves the page (200); /c/<unknown> and /api/conversations/<unknown> are 404")
    def _():
        r1 = c.get(f"/c/{st.get('conv')}")
        r2 = c.get("/api/conversations/nosuch123")
        r3 = c.get("/c/nosuch123")
        ok = r1.status_code == 200 and r2.status_code == 404 and r3.status_code == 404
        return ok, f"/c/id {r1.status_code}, api unknown {r2.status_code}, /c/unknown {r3.status_code}"

    @probe("WA05", "two concurrent asks: both right (average rating per app; reviews rated 5), separate conversations")
    def _():
        res = {}

        def go(k, q):
            res[k] = httpx.post(U + "/api/ask", json={"question": q}, timeout=120)
        th = [threading.Thread(target=go, args=("avg", "What is the average rating per app?")),
              threading.Thread(target=go, args=("n5", "How many reviews have a rating of 5?"))]
        [t.start() for t in th]
        [t.join() for t in th]
        a1 = res["avg"].json().get("answer") or {}
        a2 = res["n5"].json().get("answer") or {}
        bad = same_counts(table_map((a1.get("tables") or [{}])[0]), avg_app, tol=0.006)
        txt2 = json.dumps(a2.get("tables")) + str(a2.get("answer"))
        ok = not bad and str(n5) in txt2 and a1.get("conversation_id") != a2.get("conversation_id")
        return ok, f"avg: {len(bad)} wrong {bad[:2]}; n5={n5} in answer {str(n5) in txt2}: {str(a2.get('answer'))[:80]}"

    @probe("WA06", "a 2,500-character question: a 4xx with a readable JSON error (not 500, not a bare 'error')")
    def _():
        r = ask("How many reviews mention " + "crash " * 415 + "?")
        try:
            msg = json.dumps(r.json())
        except ValueError:
            msg = r.text
        ok = 400 <= r.status_code < 500 and len(msg) > 25 and ("2,000" in msg or "2000" in msg or "long" in msg)
        return ok, f"HTTP {r.status_code}: {msg[:160]}"

    @probe("WA07", "a question of exactly 2,000 characters is not a server error")
    def _():
        q = ("How many reviews mention crash " * 80)[:1999] + "?"
        r = ask(q)
        return r.status_code < 500 and len(q) == 2000, f"HTTP {r.status_code}: {r.text[:120]}"

    @probe("WA08", "bad JSON body and a body without 'question': 4xx with a JSON error, no 500")
    def _():
        r1 = c.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
        r2 = c.post("/api/ask", json={"q": "hi"})
        r3 = c.post("/api/ask", json={"question": 42})
        codes = [r1.status_code, r2.status_code, r3.status_code]
        js = []
        for r in (r1, r2, r3):
            try:
                r.json()
                js.append(True)
            except ValueError:
                js.append(False)
        return all(400 <= x < 500 for x in codes) and all(js), f"codes {codes}, JSON bodies {js}; {r1.text[:100]}"

    @probe("WA09", "Accept: text/event-stream streams run -> steps -> answer events; the answer's table is right")
    def _():
        kinds, answer = [], None
        with httpx.stream("POST", U + "/api/ask", json={"question": "How many reviews per app?"},
                          headers={"Accept": "text/event-stream"}, timeout=120) as r:
            ctype = r.headers.get("content-type", "")
            buf = ""
            for chunk in r.iter_text():
                buf += chunk
                while "\n\n" in buf:
                    block, buf = buf.split("\n\n", 1)
                    kind = next((ln[6:].strip() for ln in block.splitlines() if ln.startswith("event:")), "message")
                    data = "".join(ln[5:].strip() for ln in block.splitlines() if ln.startswith("data:"))
                    kinds.append(kind)
                    if kind == "answer":
                        answer = json.loads(data)["answer"]
        bad = same_counts(table_map((answer or {}).get("tables", [{}])[0]), dict(per_app)) if answer else ["none"]
        ok = "event-stream" in ctype and kinds[:1] == ["run"] and kinds[-1] == "answer" and len(kinds) >= 3 \
            and not bad
        return ok, f"{ctype}; events {kinds}; table wrong {bad[:2]}"

    @probe("WA10", "Cancel: a stalled LLM answer is cancelled within 10 s and nothing is saved")
    def _():
        SlowLLM.hits.clear()
        kinds, conv, run_id, t_cancel, t_end = [], None, None, None, None

        def cancel_later():
            nonlocal t_cancel
            for _ in range(60):
                if run_id and SlowLLM.hits:
                    break
                time.sleep(0.5)
            time.sleep(1)
            t_cancel = time.time()
            httpx.post(f"{U2}/api/runs/{run_id}/cancel", timeout=30)
        th = threading.Thread(target=cancel_later)
        th.start()
        try:
            with httpx.stream("POST", U2 + "/api/ask", json={"question": "Write a short poem about these reviews"},
                              headers={"Accept": "text/event-stream"}, timeout=90) as r:
                buf = ""
                for chunk in r.iter_text():
                    buf += chunk
                    while "\n\n" in buf:
                        block, buf = buf.split("\n\n", 1)
                        kind = next((ln[6:].strip() for ln in block.splitlines() if ln.startswith("event:")), "")
                        data = "".join(ln[5:].strip() for ln in block.splitlines() if ln.startswith("data:"))
                        kinds.append(kind)
                        if kind == "run":
                            d = json.loads(data)
                            run_id, conv = d.get("run_id"), d.get("conversation_id")
                        if kind in ("cancelled", "answer", "error"):
                            t_end = time.time()
        except httpx.HTTPError as e:
            kinds.append(f"http error {type(e).__name__}")
        th.join()
        saved = httpx.get(f"{U2}/api/conversations/{conv}", timeout=30)
        turns = len(saved.json().get("turns", [])) if saved.status_code == 200 else 0
        took = (t_end - t_cancel) if (t_end and t_cancel) else None
        ok = "cancelled" in kinds and took is not None and took < 10 and turns == 0 and bool(SlowLLM.hits)
        return ok, f"LLM called {len(SlowLLM.hits)}x; events {kinds}; end {took and round(took, 1)} s after cancel; " \
                   f"turns saved {turns}"

    @probe("WA11", "cancel of an unknown run id: 404 with a JSON error")
    def _():
        r = c.post("/api/runs/nosuchrun/cancel")
        return r.status_code == 404 and "error" in r.text, f"HTTP {r.status_code}: {r.text[:100]}"

    @probe("WA12", "/api/sql runs a read-only SELECT right (count per app equals the sample)")
    def _():
        j = c.post("/api/sql", json={"sql": "SELECT app, count(*) AS n FROM reviews GROUP BY app"}).json()
        bad = same_counts(table_map(j), dict(per_app))
        return not bad, f"{len(bad)} wrong {bad[:3]}"

    @probe("WA13", "/api/sql refuses writes (DELETE, DROP, CREATE, UPDATE, INSERT, ATTACH) and the rows stay")
    def _():
        stmts = ["DELETE FROM reviews", "DROP TABLE src_reviews", "CREATE TABLE x AS SELECT 1",
                 "UPDATE src_reviews SET rating = 0", "INSERT INTO src_reviews SELECT * FROM src_reviews LIMIT 1",
                 f"ATTACH '{work}/evil.duckdb' AS e", "SELECT 1; DELETE FROM reviews",
                 "WITH x AS (DELETE FROM reviews RETURNING *) SELECT * FROM x"]
        passed = []
        for s in stmts:
            r = c.post("/api/sql", json={"sql": s})
            if r.status_code < 300 and "error" not in r.text:
                passed.append(s)
        n = c.post("/api/sql", json={"sql": "SELECT count(*) AS n FROM reviews"}).json()["rows"][0][0]
        return not passed and n == N and not (work / "evil.duckdb").exists(), f"ran: {passed}; rows {n} (want {N})"

    @probe("WA14", "/api/sql refuses to read files (read_text, read_csv, glob, a DuckDB file) or write one (COPY)")
    def _():
        target = work / "leak.csv"
        stmts = ["SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_csv('/etc/passwd')",
                 "SELECT * FROM glob('/etc/*')", f"SELECT * FROM '{work}/reviews.csv'",
                 f"COPY (SELECT * FROM reviews) TO '{target}'",
                 "SELECT * FROM read_text('/proc/self/environ')", "INSTALL httpfs", "LOAD httpfs",
                 "SELECT * FROM duckdb_settings() WHERE name = 'enable_external_access' AND value = 'false' "
                 "AND 1 = 0 UNION ALL SELECT content, 1, 1, 1, 1 FROM read_blob('/etc/hostname')"]
        leaked = []
        for s in stmts:
            r = c.post("/api/sql", json={"sql": s})
            if "root:" in r.text or (r.status_code < 300 and '"rows": [[' in r.text and "error" not in r.text):
                leaked.append(s[:40])
        return not leaked and not target.exists(), f"not refused: {leaked}; COPY target exists {target.exists()}"

    @probe("WA15", "/api/sql caps rows: SELECT * FROM range(5000) returns at most 1,000 rows, marked truncated")
    def _():
        j = c.post("/api/sql", json={"sql": "SELECT * FROM range(5000)"}).json()
        return len(j.get("rows", [])) <= 1000 and j.get("truncated") is True, \
            f"{len(j.get('rows', []))} rows, truncated {j.get('truncated')}"

    @probe("WA16", "/items/<id> of the stored <img onerror> review shows its text escaped; unknown id is 404")
    def _():
        if not inj_item:
            return False, "injected item not found in the workspace"
        r = c.get(f"/items/{inj_item}")
        s = r.text
        raw = 'onerror="window.__pwned' in s or "<img src=x" in s
        shown = "__pwned" in s and ("&lt;img" in s or "&lt;" in s)
        r404 = c.get("/items/nosuchitem").status_code
        return r.status_code == 200 and not raw and shown and r404 == 404, \
            f"HTTP {r.status_code}; raw tag in page {raw}; escaped text shown {shown}; unknown -> {r404}"

    @probe("WA17", "a foreign Host header (DNS rebinding) is refused")
    def _():
        r = c.get("/api/status", headers={"Host": "evil.example"})
        return 400 <= r.status_code < 500, f"HTTP {r.status_code}"

    @probe("WA18", "/topics lists every fitted topic (names from `topics list`), sizes add up to the items")
    def _():
        if rc_t != 0:
            return False, "topics fit failed in set-up"
        tl = json.loads(E("--db", "w.duckdb", "topics", "list", "--json")[1])
        tl = tl.get("topics", tl) if isinstance(tl, dict) else tl
        r = c.get("/topics")
        s = htmllib.unescape(r.text)
        names = [str(t.get("name") or t.get("label")) for t in tl]
        missing = [n for n in names if n not in s]
        sizes = sum(int(t.get("size") or t.get("n") or 0) for t in tl)
        return r.status_code == 200 and not missing and sizes <= N and names, \
            f"HTTP {r.status_code}; {len(names)} topics, missing on page {missing[:3]}; sizes {sizes} of {N}"

    @probe("WA19", "/labels with no labels yet: 200 and a message naming `earful classify`")
    def _():
        r = c.get("/labels")
        return r.status_code == 200 and "classify" in r.text, f"HTTP {r.status_code}; {r.text[-200:]!r}"

    # ------------------------------------------------------------ Chromium
    browser_probes(a, work, U, U2, per_app, per_app_1, inj_item)

    # ------------------------------------------------------------ Jupyter
    jupyter_probes(a, work, per_app, per_app_1, N)

    # ------------------------------------------------------------ CLI
    cli_probes(E, work)


def browser_probes(a, work, U, U2, per_app, per_app_1, inj_item):
    from playwright.sync_api import sync_playwright
    errors: list[str] = []
    dialogs: list[str] = []
    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=a.chromium, args=["--no-sandbox"])
    ctx = b.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})

    def newpage(c=ctx):
        p = c.new_page()
        p.on("console", lambda m: errors.append(f"{p.url}: {m.text}") if m.type == "error" else None)
        p.on("pageerror", lambda e: errors.append(f"{p.url}: {e}"))
        p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        return p

    pg = newpage()
    bs: dict = {}

    def ask_in_page(p, q, timeout=60000):
        n_before = p.locator(".earful-answer").count()
        e_before = p.locator(".earful-err").count()  # an earlier refusal (edited SQL) is also .earful-err
        p.fill("#q", q)
        p.click("#go")
        p.wait_for_function(f"document.querySelectorAll('.earful-answer').length > {n_before} || "
                            f"document.querySelectorAll('.earful-err').length > {e_before}", timeout=timeout)
        return p.locator(".earful-answer").nth(n_before) if p.locator(".earful-answer").count() > n_before else None

    @probe("WB01", "page: ask shows streamed steps, then the chart before the table; the table's counts are right")
    def _():
        pg.goto(U + "/")
        pg.wait_for_selector("#q")
        seen_steps = []
        pg.expose_function("__probeStep", lambda k: seen_steps.append(k))
        pg.evaluate("""() => new MutationObserver(ms => ms.forEach(m => m.addedNodes.forEach(n => {
            if (n.nodeType === 1 && n.tagName === 'LI' && n.closest && n.closest('.earful-steps'))
              window.__probeStep(n.dataset.kind || n.textContent.slice(0, 40)); })))
            .observe(document.body, {childList: true, subtree: true})""")
        ans = ask_in_page(pg, "How many reviews per app?")
        if ans is None:
            return False, "no answer: " + (pg.locator(".earful-err").first.text_content() or "")[:200]
        pg.wait_for_selector(".earful-answer .js-plotly-plot", timeout=20000)
        order = pg.evaluate("""() => {const a = [...document.querySelectorAll('.earful-answer')].pop();
            const ch = a.querySelector('.js-plotly-plot'), tb = a.querySelector('table');
            if (!ch || !tb) return null;
            return !!(ch.compareDocumentPosition(tb) & Node.DOCUMENT_POSITION_FOLLOWING);}""")
        cells = pg.evaluate("""() => {const t = [...document.querySelectorAll('.earful-answer')].pop()
            .querySelector('table'); return [...t.querySelectorAll('tbody tr')].map(r =>
            [...r.querySelectorAll('td')].map(td => td.textContent));}""")
        got = {r[0]: float(r[1]) for r in cells if len(r) >= 2 and r[1].replace('.', '', 1).isdigit()}
        exp_top = dict(sorted(per_app.items(), key=lambda kv: -kv[1])[:len(got)])
        bad = [k for k, v in got.items() if per_app.get(k) != v]
        bs["url"] = pg.url
        return bool(seen_steps) and order is True and got and not bad and len(got) <= 20, \
            f"steps seen {seen_steps[:5]}; chart before table {order}; {len(got)} rows shown, wrong {bad[:3]}" \
            f" (sample has {len(per_app)} apps, top {list(exp_top)[:2]})"

    @probe("WB02", "page: the URL becomes /c/<id>, and a reload shows the same question and answer")
    def _():
        url = pg.url
        pg.reload()
        pg.wait_for_selector(".earful-answer", timeout=20000)
        txt = pg.inner_text("body")
        return "/c/" in url and "How many reviews per app?" in txt and "A Comic Viewer" in txt \
            and pg.url == url, f"url {url}; after reload {pg.url}; question shown {'How many reviews per app?' in txt}"

    @probe("WB03", "page: the side panel lists the conversation and links to /c/<id>")
    def _():
        conv = pg.url.rsplit("/c/", 1)[-1]
        hrefs = pg.eval_on_selector_all("#history a", "as => as.map(a => a.getAttribute('href'))")
        return any(conv in (h or "") for h in hrefs), f"conversation {conv}; links {hrefs[:4]}"

    @probe("WB04", "page: Download CSV gives every row of the table (counts per app equal the sample)")
    def _():
        with pg.expect_download(timeout=15000) as dl:
            pg.locator(".earful-answer").last.locator("button.earful-csv, button:has-text('Download CSV')").first.click()
        path = dl.value.path()
        rows = list(csv.reader(open(path, encoding="utf-8")))
        got = {r[0]: float(r[1]) for r in rows[1:] if len(r) >= 2}
        bad = same_counts(got, dict(per_app))
        return not bad and len(rows) == len(per_app) + 1, f"{len(rows) - 1} rows; wrong {bad[:3]}"

    @probe("WB05", "page: edited SQL that writes (DROP TABLE) is refused with a message; the data stays")
    def _():
        ta = pg.locator(".earful-answer").last.locator("textarea.earful-sql").first
        ta.fill("DROP TABLE src_reviews")
        pg.locator(".earful-answer").last.locator("button.earful-run, button:has-text('Run edited SQL')").first.click()
        pg.wait_for_selector(".earful-sqlout .earful-err, .earful-sqlout table", timeout=20000)
        out = pg.locator(".earful-answer").last.locator(".earful-sqlout").first.inner_text()
        n = httpx.post(U + "/api/sql", json={"sql": "SELECT count(*) FROM reviews"}).json()["rows"][0][0]
        return ("refused" in out.lower() or "not allowed" in out.lower() or "read-only" in out.lower()) and \
            n == sum(per_app.values()), f"message {out[:140]!r}; rows {n}"

    @probe("WB06", "page: follow-up 'and for 1-star reviews?' answers in the same conversation (URL unchanged)")
    def _():
        url = pg.url
        ans = ask_in_page(pg, "and for 1-star reviews?")
        txt = ans.inner_text() if ans else ""
        top = max(per_app_1.values())
        ok_top = any(f"{k}: {top}" in txt for k, v in per_app_1.items() if v == top)
        return ans is not None and pg.url == url and ok_top, \
            f"url kept {pg.url == url}; answer {txt[:140]!r}"

    @probe("WB07", "page: a 2,500-char question shows a readable message and keeps the question in the input")
    def _():
        q = "How many reviews mention " + "crash " * 415 + "?"
        pg.fill("#q", q)
        pg.click("#go")
        pg.wait_for_selector(".earful-err", timeout=30000)
        msg = pg.locator(".earful-err").last.inner_text()
        kept = pg.input_value("#q")
        return len(msg) > 25 and msg.strip().lower() != "error" and kept.strip() == q.strip(), \
            f"message {msg[:140]!r}; question kept {kept.strip() == q.strip()}"

    @probe("WB08", "page: script injection in a question and in stored reviews/app names does not execute")
    def _():
        p2 = newpage()
        p2.goto(U + "/")
        p2.wait_for_selector("#q")
        ask_in_page(p2, INJ_Q)
        ask_in_page(p2, "How many reviews per app?")
        ask_in_page(p2, "Show reviews that mention pwned")
        p2.wait_for_timeout(1000)
        pw1 = p2.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)")
        shown_q = "onerror" in p2.inner_text("body")
        p3 = newpage()
        pw2 = []
        for path in ["/topics", "/labels"] + ([f"/items/{inj_item}"] if inj_item else []):
            p3.goto(U + path)
            p3.wait_for_timeout(500)
            pw2.append(p3.evaluate("() => window.__pwned === undefined ? null : String(window.__pwned)"))
        p2.close()
        p3.close()
        return pw1 is None and not any(pw2) and not dialogs and shown_q and inj_item, \
            f"__pwned chat={pw1} topics/labels/item={pw2}; dialogs {dialogs}; question shown as text {shown_q}"

    @probe("WB09", "page at 420 px: no horizontal overflow, the chart fits the width")
    def _():
        c4 = b.new_context(viewport={"width": 420, "height": 860})
        p4 = newpage(c4)
        p4.goto(bs.get("url") or U + "/")
        p4.wait_for_selector(".earful-answer .js-plotly-plot", timeout=20000)
        p4.wait_for_timeout(800)
        m = p4.evaluate("""() => {const c = document.querySelector('.earful-answer .js-plotly-plot');
            const r = c.getBoundingClientRect(); const sv = c.querySelector('svg.main-svg');
            return {sw: document.documentElement.scrollWidth, iw: window.innerWidth, left: r.left, right: r.right,
                    svg: sv ? sv.getBoundingClientRect().width : null};}""")
        c4.close()
        ok = m["sw"] <= m["iw"] + 1 and m["right"] <= m["iw"] + 1 and m["left"] >= -1 and \
            (m["svg"] is None or m["svg"] <= m["iw"] + 1)
        return ok, json.dumps(m)

    @probe("WB10", "page: Cancel on a stalled LLM answer shows 'cancelled' within 10 s and re-enables the input")
    def _():
        p5 = newpage()
        p5.goto(U2 + "/")
        p5.wait_for_selector("#q")
        SlowLLM.hits.clear()
        p5.fill("#q", "Write a short poem about these reviews")
        p5.click("#go")
        p5.wait_for_selector("#cancel:not([hidden])", timeout=30000)
        dis = p5.evaluate("() => document.querySelector('#q').disabled")
        for _ in range(40):
            if SlowLLM.hits:
                break
            p5.wait_for_timeout(250)
        t = time.time()
        p5.click("#cancel")
        p5.wait_for_selector(".earful-cancelled", timeout=10000)
        took = time.time() - t
        p5.wait_for_function("() => !document.querySelector('#q').disabled", timeout=10000)
        p5.close()
        return dis and took < 10, f"input disabled while running {dis}; cancelled shown after {took:.1f} s"

    @probe("WB11", "no console errors on any page visited (chat, /c/<id>, 420 px, /topics, /labels, /items)")
    def _():
        p6 = newpage()
        for path in ["/topics", "/labels"] + ([f"/items/{inj_item}"] if inj_item else []):
            p6.goto(U + path)
            p6.wait_for_timeout(300)
        p6.close()
        real = [e for e in errors if "status of 4" not in e]  # a 4xx resource is a refused request, not a bug
        return not real, f"{len(real)} console errors: {real[:3]}"

    b.close()
    pw.stop()
    return True


def jupyter_probes(a, work, per_app, per_app_1, N):
    import nbformat
    from nbclient import NotebookClient
    db = str(work / "w.duckdb")
    cells = [
        "%load_ext earful",
        f"%earful_db {db}",
        "%%ask\nHow many reviews per app?",
        "%%ask\nand for 1-star reviews?",
        "%earful_sql SELECT count(*) AS n FROM reviews",
        "%%earful_sql --out by_app\nSELECT app, count(*) AS n FROM reviews GROUP BY app",
        "import json as _j\nprint('BYAPP', type(by_app).__module__, _j.dumps(dict(zip(by_app['app'].to_list(), "
        "by_app['n'].to_list()))))",
        "from earful.notebook import Workspace\nws = Workspace(" + repr(db) + ")\n"
        "ans = ws.ask('How many reviews per app?')\n"
        "t = ans.tables[0]\nprint('WSASK', type(t).__module__, type(ans.charts[0]).__module__, "
        "_j.dumps(dict(zip(t[t.columns[0]].to_list(), t[t.columns[1]].to_list()))))\n"
        "print('WSDF', type(ws.df('SELECT 1 AS x')).__module__)",
        "from earful.errors import EarfulError\ntry:\n    Workspace(" + repr(str(work / "no_such_ws.duckdb")) +
        ")\n    print('MISSING no error')\nexcept Exception as e:\n"
        "    print('MISSING', type(e).__name__, isinstance(e, EarfulError), str(e)[:200])",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in cells]
    env_before = os.environ.get("PYTHONPATH")
    if a.pythonpath:
        os.environ["PYTHONPATH"] = a.pythonpath
    else:
        os.environ.pop("PYTHONPATH", None)
    os.environ["HF_HUB_OFFLINE"] = "1"
    err = None
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(work)}}).execute()
    except Exception as e:
        err = f"{type(e).__name__}: {e}"[:300]
    finally:
        if env_before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_before

    def out_text(i):
        parts = []
        for o in nb.cells[i].get("outputs", []):
            if o.get("output_type") == "stream":
                parts.append(o.get("text", ""))
            elif o.get("output_type") == "error":
                parts.append(f"ERROR {o.get('ename')}: {o.get('evalue')}")
            else:
                d = o.get("data", {})
                parts.append(d.get("text/plain", "") + " " + d.get("text/html", ""))
        return "\n".join(parts)

    def errored(i):
        return any(o.get("output_type") == "error" for o in nb.cells[i].get("outputs", []))

    @probe("WJ01", "Jupyter: %load_ext earful and %earful_db run without error")
    def _():
        return err is None and not errored(0) and not errored(1), f"{err or ''} {out_text(0)[:100]} {out_text(1)[:100]}"

    @probe("WJ02", "Jupyter: %%ask 'How many reviews per app?' shows the sample's counts")
    def _():
        s = out_text(2)
        top = max(per_app.values())
        miss = [] if any(f"{k}: {top}" in s for k, v in per_app.items() if v == top) else [f"top {top}"]
        return not errored(2) and not miss, f"missing {miss}; {s[:160]!r}"

    @probe("WJ03", "Jupyter: the next %%ask cell follows up ('and for 1-star reviews?' -> 1-star counts per app)")
    def _():
        s = out_text(3)
        top = max(per_app_1.values())
        miss = [] if any(f"{k}: {top}" in s for k, v in per_app_1.items() if v == top) else [f"top {top}"]
        return not errored(3) and not miss, f"missing {miss}; {s[:160]!r}"

    @probe("WJ04", "Jupyter: %earful_sql returns a frame with the right count; %%earful_sql --out keeps a polars frame")
    def _():
        s4, s6 = out_text(4), out_text(6)
        ok4 = str(N) in s4 and not errored(4)
        got = {}
        if "BYAPP" in s6:
            mod = s6.split("BYAPP", 1)[1].split()[0]
            got = json.loads(s6.split("BYAPP", 1)[1].split(None, 1)[1].strip().splitlines()[0])
        else:
            mod = None
        bad = same_counts(got, dict(per_app))
        return ok4 and mod and mod.startswith("polars") and not bad, \
            f"count shown {ok4}; by_app module {mod}; wrong {bad[:2]}; {s6[:120]!r}"

    @probe("WJ05", "Jupyter: Workspace.ask -> .tables[0] polars with the right counts, .charts[0] plotly; .df pandas")
    def _():
        s = out_text(7)
        if "WSASK" not in s:
            return False, s[:240]
        parts = s.split("WSASK", 1)[1].strip().split(None, 2)
        got = json.loads(parts[2].splitlines()[0])
        bad = same_counts(got, dict(per_app))
        pd_ok = "WSDF pandas" in s
        return parts[0].startswith("polars") and parts[1].startswith("plotly") and not bad and pd_ok, \
            f"table {parts[0]}, chart {parts[1]}, df pandas {pd_ok}, wrong {bad[:2]}"

    @probe("WJ06", "Jupyter: Workspace('missing path') raises a clear EarfulError (not FileNotFoundError)")
    def _():
        s = out_text(8)
        return "MISSING" in s and " True " in s and "no_such_ws" in s, s[:240]


def cli_probes(E, work):
    @probe("WC01", "CLI: --version prints a version, exit 0")
    def _():
        rc, out, err = E("--version")
        import re
        return rc == 0 and re.search(r"\d+\.\d+", out + err) is not None, f"rc {rc}: {(out + err).strip()[:100]}"

    @probe("WC02", "CLI: -h prints usage and the commands, exit 0")
    def _():
        rc, out, err = E("-h")
        return rc == 0 and "Usage" in out and "serve" in out and "profile" in out, f"rc {rc}: {out[:80]!r}"

    @probe("WC03", "CLI: a misspelt subcommand ('stauts') is a usage error (exit 2) suggesting 'status'")
    def _():
        rc, out, err = E("--db", "w.duckdb", "stauts")
        ok, why = clean_cli_error(rc, out, err, want_rc=2)
        return ok and "status" in (out + err), why

    @probe("WC04", "CLI: 'status --josn' is a usage error (exit 2) with 'Did you mean --json'")
    def _():
        rc, out, err = E("--db", "w.duckdb", "status", "--josn")
        ok, why = clean_cli_error(rc, out, err, want_rc=2)
        return ok and "--json" in (out + err), why

    @probe("WC05", "CLI: 'ask' with no question is a usage error (exit 2)")
    def _():
        rc, out, err = E("--db", "w.duckdb", "ask")
        return clean_cli_error(rc, out, err, want_rc=2)

    @probe("WC06", "CLI: --db with a misspelt path: status says there is no workspace and creates nothing")
    def _():
        rc, out, err = E("--db", "w.duckbd", "status")
        ok, why = clean_cli_error(rc, out, err)
        return ok and not (work / "w.duckbd").exists() and "w.duckbd" in out + err, \
            f"{why}; file created {(work / 'w.duckbd').exists()}"

    @probe("WC07", "CLI: ask on a misspelt --db path is an error and creates nothing (no 'There are 0 reviews')")
    def _():
        rc, out, err = E("--db", "typo2.duckdb", "ask", "How many reviews are there?")
        ok, why = clean_cli_error(rc, out, err)
        return ok and not (work / "typo2.duckdb").exists() and "0 reviews" not in out, \
            f"{why}; file created {(work / 'typo2.duckdb').exists()}"

    @probe("WC08", "CLI: ask --conversation typo123 is an error and starts no conversation")
    def _():
        before = len(json.loads(E("--db", "w.duckdb", "conversations", "--limit", "1000", "--json")[1]))
        rc, out, err = E("--db", "w.duckdb", "ask", "--conversation", "typo123", "How many reviews are there?")
        after = len(json.loads(E("--db", "w.duckdb", "conversations", "--limit", "1000", "--json")[1]))
        ok, why = clean_cli_error(rc, out, err)
        return ok and "typo123" in out + err and before == after, f"{why}; conversations {before} -> {after}"

    @probe("WC09", "CLI: square brackets survive in messages (an unknown source named 'x[llm]y')")
    def _():
        rc, out, err = E("--db", "w.duckdb", "profile", "--source", "x[llm]y", "--subject-column", "app",
                         "--score-column", "rating")
        return rc != 0 and "x[llm]y" in out + err, f"rc {rc}: {(out + err).strip()[-160:]}"


if __name__ == "__main__":
    sys.exit(main())
