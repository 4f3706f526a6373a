"""The web chat and reports as an attacker and a crowd would use them, over real HTTP against `earful serve`.

Hostile data: a grouped column holding ``</script><img src=x onerror=alert(1)>`` must stay text in the chat, the
answer JSON and `earful report` HTML (checked as text here, and in Debian's Chromium driven by Playwright where
both are installed). Crowds: concurrent clients of one server get no errors and every turn is saved; concurrent
`earful ask` processes on one conversation lose no turn; SIGTERM stops the server. Exposure: a foreign Host header
is refused, and off loopback the server refuses to start without a token and then wants it on every request.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, sql_rows

HOSTILE = "</script><img src=x onerror=alert(1)>"
QUESTIONS = ["How many reviews per app?", "What is the average rating per app?",
             "How many reviews mention battery?", "How many reviews per month?"]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """A real workspace whose `app` column holds a script-breaking value (and an HTML-looking one)."""
    d = tmp_path_factory.mktemp("hostile")
    src = d / "hostile.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "app", "date", "rating", "text"])
        for i in range(12):
            w.writerow([i, HOSTILE if i % 2 else "Normal & <b>app</b>", f"2024-0{1 + i % 6}-10", 1 + i % 5,
                        f"review number {i} about the battery"])
    db = d / "w.duckdb"
    r = run_cli("ingest", src, "--source", "reviews", db=db)
    assert r.returncode == 0, r.stderr
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


class Server:
    """`earful serve` in a subprocess on a free loopback port; `url`, `proc`, `stop()` (SIGTERM)."""

    def __init__(self, db: Path, *args: str, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = ["--db", str(db), "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen([sys.executable, "-c", "from earful.cli import main; main()", *argv],
                                     cwd=db.parent, env=env or _env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def wait_ready(self, headers: dict | None = None) -> None:
        import httpx

        for _ in range(600):
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.proc.stdout.read()}")
            try:
                httpx.get(self.url + "/api/openapi.json", headers=headers or {}, timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then the exit code and output (a server that ignores SIGTERM fails the test, then is killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise AssertionError(f"server ignored SIGTERM: {out}") from None
        return self.proc.returncode, out

    def __enter__(self):
        self.wait_ready()
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


# --- 1. stored XSS -------------------------------------------------------------------------------------------

def test_json_for_html_escapes_and_round_trips():
    from earful.web.render import json_for_html

    value = {"x": [HOSTILE, "a & b", "<!-- c", "line\u2028sep\u2029end"], "n": 1.5}
    text = json_for_html(value)
    assert json.loads(text) == value
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in text


def test_answer_html_keeps_hostile_chart_values_and_titles_as_data():
    from earful.web.render import answer_html

    fig = {"data": [{"type": "bar", "x": [HOSTILE], "y": [1]}], "layout": {"title": {"text": HOSTILE}}}
    html = answer_html({"status": "answered", "answer": HOSTILE, "engine": "t", "steps": [], "item_ids": [],
                        "notes": [], "tables": [{"name": "r", "columns": ["app"], "rows": [[HOSTILE]]}],
                        "charts": [{"title": HOSTILE, "plotly": fig}]})
    assert "<img" not in html and "</script><" not in html
    assert html.count("</script>") == html.count("<script>") == 1   # only the chart's own script element


@pytest.mark.slow
def test_served_answer_and_report_keep_hostile_values_as_text(hostile_db, tmp_path):
    import httpx

    with Server(hostile_db) as srv:
        r = httpx.post(srv.url + "/api/ask", json={"question": "How many reviews per app?"}, timeout=60)
    assert r.status_code == 200
    assert "</script" not in r.text.lower() and "<img" not in r.text   # the JSON body itself
    body = r.json()
    assert body["answer"]["status"] == "answered" and HOSTILE in body["answer"]["answer"]
    html = body["html"]                                               # the fragment the page inserts
    assert "<img" not in html and html.count("</script>") == len(body["answer"]["charts"]) >= 1
    from earful.notebook import NotebookAnswer

    cell = NotebookAnswer(body["answer"])._repr_html_()                # the same answer in a Jupyter cell
    assert "<img" not in cell and "</script><img" not in cell

    qfile = tmp_path / "q.yaml"
    qfile.write_text("title: hostile\nquestions:\n  - How many reviews per app?\n")
    out = tmp_path / "r.html"
    r = run_cli("report", "--questions", qfile, "--out", out, db=hostile_db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "<img" not in page and "</script><img" not in page and "&lt;/script&gt;&lt;img" in page


# --- 4. exposure: Host header and token -----------------------------------------------------------------------

def test_foreign_host_header_is_refused_on_loopback(hostile_db):
    import httpx

    with Server(hostile_db) as srv:
        evil = httpx.get(srv.url + "/api/status", headers={"Host": "evil.example.com"})
        ours = [httpx.get(srv.url + "/api/status", headers={"Host": h}).status_code
                for h in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", "localhost")]
    assert evil.status_code in (400, 403) and "evil.example.com" in evil.json()["error"]
    assert ours == [200, 200, 200]


def test_off_loopback_needs_a_token(hostile_db):
    srv = Server(hostile_db, "--host", "0.0.0.0")
    try:
        out, _ = srv.proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.communicate()
        raise AssertionError("serve --host 0.0.0.0 started without a token") from None
    assert srv.proc.returncode == 2 and "token" in out and "EARFUL_TOKEN" in out


def test_token_is_required_on_every_request(hostile_db):
    import httpx

    token = "s3cret-token"
    srv = Server(hostile_db, "--host", "0.0.0.0", env=_env(EARFUL_TOKEN=token))
    with srv:
        auth = {"Authorization": f"Bearer {token}"}
        bare = httpx.get(srv.url + "/api/status")
        wrong = httpx.get(srv.url + "/api/status", headers={"Authorization": "Bearer nope"})
        good = httpx.get(srv.url + "/api/status", headers=auth)
        ask = httpx.post(srv.url + "/api/ask", json={"question": "How many reviews per app?"})
        evil = httpx.get(srv.url + "/api/status", headers={**auth, "Host": "evil.example.com"})
        # the page: ?token= once, then the cookie
        with httpx.Client(base_url=srv.url, follow_redirects=True) as browser:
            first = browser.get(f"/?token={token}")
            page, status = browser.get("/"), browser.get("/api/status")
            js = browser.get("/static/plotly.min.js")
    assert bare.status_code == 401 and "token" in bare.json()["error"]
    assert wrong.status_code == 401 and ask.status_code == 401 and evil.status_code == 400
    assert good.status_code == 200 and good.json()["sources"][0]["source"] == "reviews"
    assert first.status_code == 200 and "<form id=\"ask\">" in first.text and token not in str(first.url)
    assert page.status_code == status.status_code == js.status_code == 200


# --- 2. concurrency and shutdown ------------------------------------------------------------------------------

def _count_turns(db: Path) -> int:
    return sql_rows(db, "SELECT count(*) FROM conversation_turns")[0][0]


@pytest.mark.slow
def test_concurrent_clients_get_answers_and_every_turn_is_saved(hostile_db, tmp_path):
    import shutil

    import httpx

    db = tmp_path / "c.duckdb"
    shutil.copy(hostile_db, db)
    before = _count_turns(db)
    results, failures = [], []

    def client(k: int) -> None:
        conv = None
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            for i in range(4):
                r = c.post("/api/ask", json={"question": QUESTIONS[(k + i) % len(QUESTIONS)],
                                             "conversation_id": conv if i % 2 else None})
                results.append(r.status_code)
                if r.status_code != 200 or r.json()["answer"]["status"] != "answered":
                    failures.append(r.text[:300])
                else:
                    conv = r.json()["answer"]["conversation_id"]

    with Server(db) as srv:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        single = httpx.post(srv.url + "/api/ask", json={"question": QUESTIONS[0]}, timeout=60)
        rc, out = srv.stop()
    assert failures == [] and results == [200] * 24
    assert single.status_code == 200 and single.json()["answer"]["status"] == "answered"
    assert rc == 0 and "stopped" in out
    assert _count_turns(db) == before + 25


@pytest.mark.slow
def test_sigterm_stops_a_busy_server(hostile_db, tmp_path):
    import shutil

    import httpx

    db = tmp_path / "t.duckdb"
    shutil.copy(hostile_db, db)
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            while not stop.is_set():
                try:
                    c.post("/api/ask", json={"question": QUESTIONS[1]})
                except httpx.HTTPError:
                    return

    with Server(db) as srv:
        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)              # requests in flight when the signal comes
        rc, out = srv.stop()         # fails the test if the server outlives a generous bound
        stop.set()
        for t in threads:
            t.join()
    assert rc == 0 and "stopped" in out and "Traceback" not in out
    assert _count_turns(db) >= 1     # the workspace is intact and readable after the stop


@pytest.mark.slow
def test_concurrent_ask_processes_on_one_conversation_lose_no_turn(hostile_db, tmp_path):
    import shutil

    db = tmp_path / "p.duckdb"
    shutil.copy(hostile_db, db)
    base = [sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), "ask", "--json"]
    # the conversation exists first (an unknown --conversation id is an error), then 5 processes follow it up at once
    first = subprocess.run(base + [QUESTIONS[0]], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                           timeout=300)
    conv = json.loads(first.stdout)["conversation_id"]
    argv = base + ["--conversation", conv]
    procs = [subprocess.Popen(argv + [QUESTIONS[i % len(QUESTIONS)]], cwd=tmp_path, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(5)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 5, [e for _, e in outs]
    answers = [json.loads(o) for o, _ in outs]
    assert all("not saved" not in " ".join(a["notes"]) for a in answers), [a["notes"] for a in answers]
    turns = sql_rows(db, "SELECT turn, question FROM conversation_turns WHERE conversation_id = ? ORDER BY turn",
                     [conv])
    assert [t for t, _ in turns] == [1, 2, 3, 4, 5, 6]
    assert sorted(q for _, q in turns[1:]) == sorted(QUESTIONS[i % len(QUESTIONS)] for i in range(5))


# --- 1b. the same in a real browser (Debian's Chromium, driven by Playwright) ----------------------------------

def _browser_parts():
    """(chromium path, playwright's sync API), or skip saying what is missing."""
    import shutil

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; `make sandbox` tries)")
    api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                                            "(pip install -e '.[dev]'; never `playwright install`)")
    return exe, api


def _visit(page, load) -> dict:
    """Open a page with `load(page)` and report what a hostile value could have done there."""
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    load(page)
    try:
        page.wait_for_selector(".earful-chart .main-svg", timeout=15_000)   # plotly drew the chart
        drawn = True
    except Exception:  # noqa: BLE001 - a broken chart script is reported below, not raised here
        drawn = False
    page.wait_for_timeout(300)    # time for an injected image's error handler to fire
    return {"dialogs": dialogs, "drawn": drawn,
            "injected": page.eval_on_selector_all('img[src="x"], img[onerror]', "els => els.length"),
            "text": page.inner_text("body")}


@pytest.mark.slow
def test_hostile_values_do_not_run_in_chromium(hostile_db, tmp_path):
    exe, api = _browser_parts()
    qfile = tmp_path / "q.yaml"
    qfile.write_text("title: hostile\nquestions:\n  - How many reviews per app?\n")
    report = tmp_path / "r.html"
    r = run_cli("report", "--questions", qfile, "--out", report, db=hostile_db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    def chat(page):
        page.goto(srv.url + "/")
        page.wait_for_function("document.getElementById('ws').textContent.length > 0")   # status loaded
        page.fill("#q", "How many reviews per app?")
        page.press("#q", "Enter")
        page.wait_for_selector(".earful-answer", timeout=60_000)

    with Server(hostile_db) as srv, api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            seen = {"report": _visit(browser.new_page(), lambda page: page.goto(report.as_uri())),
                    "chat": _visit(browser.new_page(), chat)}
        finally:
            browser.close()
    ran = {where: (s["dialogs"], s["injected"]) for where, s in seen.items()}
    assert ran == {"report": ([], 0), "chat": ([], 0)}      # no alert fired, no element was injected
    assert all(s["drawn"] and HOSTILE in s["text"] for s in seen.values())   # shown, as text; charts drawn


def test_turns_queued_together_are_each_saved_and_a_bad_one_costs_only_itself(tmp_path):
    """Group commit in `save_turn`: the writer saves every queued turn; a failing turn does not sink the batch."""
    from earful.qa_agent.ask import _Turn, save_turn, workspace_lock
    from earful.qa_agent.base import Answer
    from earful.store import Store

    db = tmp_path / "g.duckdb"
    Store(db).close()
    conv = "groupcommit1"
    good = [_Turn(conv, f"q{i}", Answer(status="answered", answer=str(i), engine="t"), None) for i in range(3)]
    bad = _Turn(conv, "bad", Answer(status="answered", answer="x", engine="t"), [["not", "an agent_runs row"]])
    lock = workspace_lock(db)
    for t in [good[0], good[1], bad, good[2]]:     # queued by other threads, as under a busy server
        lock.add(t)
    save_turn(str(db), conv, "q3", Answer(status="answered", answer="3", engine="t"))
    assert [t.error for t in good] == [None, None, None] and bad.error is not None and lock.pending == []
    rows = sql_rows(db, "SELECT turn, question FROM conversation_turns WHERE conversation_id = ? ORDER BY turn",
                    [conv])
    assert rows == [(1, "q0"), (2, "q1"), (3, "q2"), (4, "q3")]
