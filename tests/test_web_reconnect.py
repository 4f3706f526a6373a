"""A streamed question survives a reload: the server keeps each run's events by run id (numbered, sent as the SSE
``id``), ``GET /api/runs/<id>/events`` sends them again after a ``Last-Event-ID`` and then the live ones, and
``/c/<id>`` finds the conversation's running question (even a new conversation's first one) and follows it to its
answer; a run that ended meanwhile is simply in the history, once.

Against a real ``earful serve`` (streams need a real server) and the scripted slow fake LLM of the cancel tests.
"""
from __future__ import annotations

import json
import threading

import pytest

from tests.fake_openai import FakeOpenAIServer
from tests.test_web_stream import UNMAPPED, llm_env, plan, wait_until
from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for, tiny_workspace

pytestmark = pytest.mark.slow     # a server subprocess, worker processes, a fake model server

KINDS = ["run", "engine", "declined", "engine", "llm", "running", "result", "saving", "answer"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tiny_workspace(tmp_path_factory.mktemp("reconnect"))


def events(response):
    """(id, kind, data) for each server-sent event of a streaming response."""
    eid = kind = None
    for line in response.iter_lines():
        if line.startswith("id:"):
            eid = int(line[3:].strip())
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            yield eid, kind, json.loads(line[5:])


def _slow_llm():
    release = threading.Event()

    def slow(_body):
        release.wait(120)
        return plan("SELECT count(*) AS n FROM reviews")
    return release, slow


def test_a_resumed_stream_replays_the_steps_in_order_once_then_goes_on_live(db):
    import httpx

    release, slow = _slow_llm()
    with FakeOpenAIServer(slow) as llm, Server(db, env=llm_env(llm.url)) as srv, \
            httpx.Client(base_url=srv.url, timeout=120) as c:
        first = []
        with c.stream("POST", "/api/ask", json={"question": UNMAPPED}, headers={"Accept": "text/event-stream"}) as r:
            for e in events(r):
                first.append(e)
                if e[1] == "llm":
                    wait_until(lambda: len(llm.bodies) == 1, "the model to receive the plan request")
                    break                                # the page is reloaded: its stream is gone
        run_id, conv = first[0][2]["run_id"], first[0][2]["conversation_id"]
        during = c.get(f"/api/conversations/{conv}").json()
        page = c.get(f"/c/{conv}")
        seen = first[1][0]                               # the page had shown up to the second event
        with c.stream("GET", f"/api/runs/{run_id}/events", headers={"Last-Event-ID": str(seen)}) as r:
            resumed = []
            for e in events(r):
                resumed.append(e)
                if e[1] == "llm":
                    release.set()                        # the model answers now: the rest arrives live
        after = c.get(f"/api/conversations/{conv}").json()
        replay = list(events(c.get(f"/api/runs/{run_id}/events")))      # all of it again, from the start
        bad = c.get(f"/api/runs/{run_id}/events", params={"after": "abc"})
        unknown = c.get("/api/runs/nosuchrun/events")

        # a follow-up in the same conversation: while it runs, the conversation shows the earlier turn and the run
        release.clear()
        with c.stream("POST", "/api/ask", json={"question": UNMAPPED, "conversation_id": conv},
                      headers={"Accept": "text/event-stream"}) as r:
            follow_id = None
            for e in events(r):
                if e[1] == "run":
                    follow_id = e[2]["run_id"]
                if e[1] == "llm":
                    break
        wait_until(lambda: len(llm.bodies) == 2, "the model to receive the follow-up")
        mid = c.get(f"/api/conversations/{conv}").json()
        release.set()
        tail = list(events(c.get(f"/api/runs/{follow_id}/events", headers={"Last-Event-ID": "3"})))
        end = c.get(f"/api/conversations/{conv}").json()
    assert [k for _, k, _ in first] == KINDS[:5] and [i for i, _, _ in first] == list(range(5))
    assert during["turns"] == [] and during["running"] == {"run_id": run_id, "question": UNMAPPED}
    assert page.status_code == 200                       # a new conversation's page, before its first turn is saved
    assert [i for i, _, _ in resumed] == list(range(seen + 1, len(KINDS)))       # in order, each once, none missed
    assert [k for _, k, _ in resumed] == KINDS[seen + 1:]
    assert [d for _, _, d in resumed[:3]] == [d for _, _, d in first[seen + 1:]]  # the replay is what was sent
    assert resumed[-1][2]["answer"]["answer"] == "There are 12 reviews."
    assert [(i, k) for i, k, _ in replay] == list(enumerate(KINDS))
    assert after["running"] is None and [t["question"] for t in after["turns"]] == [UNMAPPED]
    assert bad.status_code == 400 and "Last-Event-ID must be an event number" in bad.json()["error"]
    assert unknown.status_code == 404 and "nosuchrun" in unknown.json()["error"]
    assert len(mid["turns"]) == 1 and mid["running"]["run_id"] == follow_id
    assert [k for _, k, _ in tail] == KINDS[4:] and tail[0][0] == 4
    assert len(end["turns"]) == 2 and end["running"] is None


# --- in Debian's Chromium ------------------------------------------------------------------------------------

def test_reloading_mid_stream_follows_the_run_to_its_answer(db):
    release, slow = _slow_llm()
    with FakeOpenAIServer(slow) as llm, Server(db, env=llm_env(llm.url)) as srv, browser_for() as browser:
        chat = Chat(browser, srv.url)
        chat.ask(UNMAPPED)
        chat.page.wait_for_selector(".earful-steps li[data-kind='llm']", timeout=60_000)
        at = chat.page.url
        chat.page.reload()
        chat.page.wait_for_selector(".earful-steps li[data-kind='llm']", timeout=60_000)
        waiting = (chat.page.is_disabled("#q"), chat.page.is_visible("#cancel"),
                   chat.page.locator(".earful-q").all_inner_texts())
        release.set()
        answered = chat.settled(".earful-answer")
        folded = chat.page.locator("details.earful-steps-done").last
        summary = folded.locator("summary").inner_text()
        kinds = folded.locator("li").evaluate_all("els => els.map(e => e.dataset.kind)")
        answers = chat.page.locator(".earful-answer").count()
        chat.page.reload()                               # after the end: the answer is in the history, once
        chat.page.wait_for_selector(".earful-answer")
        chat.page.wait_for_timeout(500)
        again = (chat.page.locator(".earful-answer").count(), chat.page.locator(".earful-steps").count(),
                 chat.page.is_disabled("#q"))
    assert "/c/" in at and chat.page.url == at
    assert waiting == (True, True, [UNMAPPED])
    assert "There are 12 reviews." in answered and answers == 1
    assert kinds == ["engine", "declined", "engine", "llm", "running", "result", "saving"] and summary == "7 steps"
    assert again == (1, 0, False)
    assert chat.problems() == []
