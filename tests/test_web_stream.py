"""Streamed questions and Cancel, against a real `earful serve` and a scripted fake LLM (its text only).

``POST /api/ask`` with ``Accept: text/event-stream`` streams the run's steps as they happen (engine, plan, code,
running, result, repairs, saving) and then the answer; ``POST /api/runs/<id>/cancel`` stops the run on the server:
the worker process is gone, the model gets no further request, a sandboxed query's process is killed, and nothing
is saved. The JSON API is unchanged. The page shows the steps live and says when a question was cancelled.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import sql_rows
from tests.fake_openai import FakeOpenAIServer
from tests.test_web_trust import Server, _env
from tests.web_pages import Chat, browser_for, tiny_workspace

pytestmark = pytest.mark.slow     # a server subprocess, worker processes, a fake model server

UNMAPPED = "which frobnication quux plugh?"     # the built-in engine declines it, so the LLM agent answers


def plan(code: str, template: str = "There are {n} reviews.", text: str = "count the reviews") -> str:
    return json.dumps({"plan": text, "language": "sql", "code": code, "answer_template": template, "chart": None})


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tiny_workspace(tmp_path_factory.mktemp("stream"))


def llm_env(url: str) -> dict:
    return _env(EARFUL_LLM_MODEL="openai-compatible:fake", EARFUL_LLM_BASE_URL=url, EARFUL_LLM_MAX_RETRIES="0",
                EARFUL_AGENT_MAX_REPAIRS="2", EARFUL_AGENT_TIMEOUT_S="120")


def stream(client, question: str, conversation_id: str | None = None):
    """(kind, data) for each server-sent event of one streamed question."""
    with client.stream("POST", "/api/ask", json={"question": question, "conversation_id": conversation_id},
                       headers={"Accept": "text/event-stream"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.read()
        kind = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                yield kind, json.loads(line[5:])


def wait_until(check, what: str, timeout_s: float = 30.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode("latin-1").rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_steps_stream_in_order_then_the_answer_and_the_turn_is_saved(db):
    import httpx

    good = plan("SELECT count(*) AS n FROM reviews")
    with FakeOpenAIServer([good]) as llm, Server(db, env=llm_env(llm.url)) as srv, \
            httpx.Client(base_url=srv.url, timeout=120) as c:
        seen = list(stream(c, UNMAPPED))
        conv = seen[0][1]["conversation_id"]
        follow = list(stream(c, "How many reviews per app?", conv))       # a follow-up on the same conversation
        plain = c.post("/api/ask", json={"question": "How many reviews per app?"})   # the JSON API as before
    kinds = [k for k, _ in seen]
    assert kinds == ["run", "engine", "declined", "engine", "llm", "running", "result", "saving", "answer"]
    by = {k: d for k, d in seen}
    assert [d["engine"] for k, d in seen if k == "engine"] == ["builtin", "llm"]
    assert by["running"]["code"] == "SELECT count(*) AS n FROM reviews" and by["running"]["language"] == "sql"
    assert by["result"] == {"kind": "result", "ok": True, "rows": 1, "error": None}
    answer = by["answer"]["answer"]
    assert answer["status"] == "answered" and answer["answer"] == "There are 12 reviews."
    assert answer["conversation_id"] == conv and "earful-answer" in by["answer"]["html"]
    assert [k for k, _ in follow][-1] == "answer" and follow[-1][1]["answer"]["conversation_id"] == conv
    assert plain.status_code == 200 and plain.json()["answer"]["status"] == "answered"
    turns = sql_rows(db, "SELECT question FROM conversation_turns WHERE conversation_id = ? ORDER BY turn", [conv])
    assert turns == [(UNMAPPED,), ("How many reviews per app?",)]


def test_a_repair_streams_as_a_failed_result_then_a_repair_request(db):
    import httpx

    replies = [plan("SELECT nope FROM reviews"), plan("SELECT count(*) AS n FROM reviews")]
    with FakeOpenAIServer(replies) as llm, Server(db, env=llm_env(llm.url)) as srv, \
            httpx.Client(base_url=srv.url, timeout=120) as c:
        seen = list(stream(c, UNMAPPED))
    steps = [(k, d.get("purpose"), d.get("ok")) for k, d in seen if k in ("llm", "result")]
    assert steps == [("llm", "plan", None), ("result", None, False), ("llm", "repair", None), ("result", None, True)]
    failed = next(d for k, d in seen if k == "result" and not d["ok"])
    assert "nope" in failed["error"] and seen[-1][0] == "answer"


def test_cancel_stops_a_slow_llm_call_on_the_server(db):
    import httpx

    release = threading.Event()

    def slow(_body):                       # the model takes as long as the test wants, then asks for a repair
        release.wait(120)
        return plan("SELECT nope FROM reviews")

    before = sql_rows(db, "SELECT count(*) FROM conversation_turns")[0][0]
    with FakeOpenAIServer(slow) as llm, Server(db, env=llm_env(llm.url)) as srv, \
            httpx.Client(base_url=srv.url, timeout=120) as c:
        seen, state, run_id = [], {}, None
        for kind, data in stream(c, UNMAPPED):
            seen.append(kind)
            if kind == "llm":               # the plan request is on its way: wait until the model has it
                wait_until(lambda: len(llm.bodies) == 1, "the model to receive the plan request")
                state["during"] = c.get(f"/api/runs/{run_id}").json()
                state["cancel"] = c.post(f"/api/runs/{run_id}/cancel").json()
            if kind == "run":
                run_id = data["run_id"]
            if kind == "cancelled":
                state["message"] = data["message"]
        state["after"] = c.get(f"/api/runs/{run_id}").json()
        release.set()                       # the model answers now, to a client that is gone
        time.sleep(1.0)                     # room for a still-running agent to send its repair request
        requests = len(llm.bodies)
        again = list(stream(c, "How many reviews per app?"))     # the server is free for the next question
    assert seen[-1] == "cancelled" and "cancelled" in state["message"] and "nothing was saved" in state["message"]
    assert state["during"]["worker_alive"] and state["cancel"]["stopped"] is True
    assert state["after"]["outcome"] == "cancelled" and not state["after"]["worker_alive"]
    assert not alive(state["after"]["worker_pid"])
    assert requests == 1                                         # no repair request: the agent is gone
    assert again[-1][0] == "answer"
    assert sql_rows(db, "SELECT count(*) FROM conversation_turns")[0][0] == before + 1   # only the later question


def _runner_processes(root: int) -> list[int]:
    from earful.web.runs import _descendants

    return [p for p in _descendants(root) if alive(p)]


def test_cancel_kills_a_running_sandboxed_query(db):
    import httpx

    endless = plan("SELECT count(*) AS n FROM range(1000000000000) t(x) WHERE x % 7 = 3")
    with FakeOpenAIServer([endless]) as llm, Server(db, env=llm_env(llm.url)) as srv, \
            httpx.Client(base_url=srv.url, timeout=120) as c:
        seen, state, run_id = [], {}, None
        for kind, data in stream(c, UNMAPPED):
            seen.append(kind)
            if kind == "run":
                run_id = data["run_id"]
            if kind == "running":
                worker = c.get(f"/api/runs/{run_id}").json()["worker_pid"]
                sandbox = wait_until(lambda w=worker: _runner_processes(w), "the sandboxed query's process")
                state["sandbox"] = sandbox
                c.post(f"/api/runs/{run_id}/cancel")
        state["gone"] = wait_until(lambda: not any(alive(p) for p in state["sandbox"]) or None,
                                   "the sandboxed query's processes to end", timeout_s=20)
    assert seen[-1] == "cancelled" and "result" not in seen
    assert state["sandbox"] and state["gone"]


def test_unknown_conversation_and_run_ids_are_clear_404s(db):
    import httpx

    with Server(db) as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        ask = c.post("/api/ask", json={"question": "How many reviews?", "conversation_id": "nosuchconv1"},
                     headers={"Accept": "text/event-stream"})
        cancel = c.post("/api/runs/nosuchrun/cancel")
    assert ask.status_code == 404 and "no conversation 'nosuchconv1'" in ask.json()["error"]
    assert cancel.status_code == 404 and "nosuchrun" in cancel.json()["error"]


# --- in Debian's Chromium ------------------------------------------------------------------------------------

def test_the_page_shows_steps_live_and_cancel_says_so(db):
    release = threading.Event()

    def slow(_body):
        release.wait(120)
        return plan("SELECT count(*) AS n FROM reviews")

    with FakeOpenAIServer(slow) as llm, Server(db, env=llm_env(llm.url)) as srv, browser_for() as browser:
        chat = Chat(browser, srv.url)
        chat.ask(UNMAPPED)
        chat.page.wait_for_selector(".earful-steps li[data-kind='llm']", timeout=60_000)
        live = chat.page.inner_text(".earful-steps")
        cancel_shown = chat.page.is_visible("#cancel")
        chat.screenshot("chat-streamed-steps.png")
        chat.page.click("#cancel")
        said = chat.settled(".earful-cancelled")
        release.set()
        llm.reply = [plan("SELECT count(*) AS n FROM reviews")]
        chat.ask(UNMAPPED)                                   # asked again, it streams to the end
        chat.page.wait_for_selector(".earful-steps li[data-kind='result']", state="attached", timeout=60_000)
        answered = chat.settled(".earful-answer")
        folded = chat.page.locator("details.earful-steps-done").last
        summary = folded.locator("summary").inner_text()
        steps = folded.locator(".earful-steps").text_content()
        chat.page.wait_for_timeout(300)
    assert "built-in engine: started" in live and "asking the model for a plan" in live and cancel_shown
    assert said.startswith("cancelled")
    assert "There are 12 reviews." in answered and "running the SQL" in steps and "result: 1 row(s)" in steps
    assert "SELECT count(*) AS n FROM reviews" in steps and summary == "7 steps"
    assert chat.problems() == []


def test_worker_processes_do_not_outlive_the_server(db):
    import httpx

    release = threading.Event()
    with FakeOpenAIServer(lambda _b: (release.wait(120), plan("SELECT 1 AS n"))[1]) as llm:
        srv = Server(db, env=llm_env(llm.url))
        with srv, httpx.Client(base_url=srv.url, timeout=60) as c:
            worker = None
            for kind, data in stream(c, UNMAPPED):
                if kind == "run":
                    worker = c.get(f"/api/runs/{data['run_id']}").json()["worker_pid"]
                if kind == "llm":
                    break
            rc, out = srv.stop()
            gone = wait_until(lambda: not alive(worker) or None, "the worker to end with the server", 20)
        release.set()
    assert rc == 0 and gone and Path("/proc/self").exists()     # /proc is where `alive` looks
