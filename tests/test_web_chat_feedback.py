"""The chat page while a question runs and when it fails, in Debian's Chromium against a real `earful serve`.

While a question runs the input and the Ask button are disabled and a "working… N s" indicator shows; every failure
(a 500 with a text or HTML body, Earful's JSON ``{"error"}``, FastAPI's 422 ``detail`` list, a dropped connection,
a too-long question) leaves a readable sentence in the log, shown as text, and the input usable again with the
question kept. Pending and failing responses are made with Playwright's ``page.route``; the rest is the real server.
Screenshots go to $EARFUL_SCREENSHOTS when that is set (the README's pictures).
"""
from __future__ import annotations

import re

import pytest

from tests import web_pages
from tests.conftest import run_cli
from tests.test_web_trust import Server, _browser_parts

pytestmark = pytest.mark.slow     # a server subprocess and a browser

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory):
    d = tmp_path_factory.mktemp("chatfb")
    src = d / "tiny.csv"
    src.write_text("id,app,date,rating,text\n" + "".join(
        f"{i},{'ab'[i % 2]},2024-0{1 + i % 3}-10,{1 + i % 5},review {i} about the battery\n" for i in range(8)),
        encoding="utf-8")
    db = d / "w.duckdb"
    r = run_cli("ingest", src, "--source", "reviews", db=db)
    assert r.returncode == 0, r.stderr
    return db


@pytest.fixture(scope="module")
def served(tiny_db):
    """(server, browser): one real server and one Chromium for the module."""
    exe, api = _browser_parts()
    with Server(tiny_db) as srv, api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            yield srv, browser
        finally:
            browser.close()


class Chat(web_pages.Chat):
    """One chat page (tests/web_pages.py: its JS exceptions, dialogs, ask and read the log), and whether the input,
    the Ask button and the working indicator are live."""

    def enabled(self) -> dict:
        return self.page.evaluate("({q: !document.getElementById('q').disabled, "
                                  "ask: !document.getElementById('go').disabled, "
                                  "working: !document.getElementById('working').hidden})")


def _fail_with(chat: Chat, **fulfil) -> None:
    chat.page.route("**/api/ask", lambda route: route.fulfill(**fulfil))


def test_input_is_disabled_with_a_working_indicator_while_a_question_runs(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    held = []
    chat.page.route("**/api/ask", lambda route: held.append(route))   # waits here until the test lets it go
    chat.ask("How many reviews per app?")
    chat.page.wait_for_function("document.getElementById('q').disabled")
    chat.page.wait_for_function("/^[1-9][0-9]* s$/.test(document.getElementById('elapsed').textContent)")
    pending = chat.enabled()
    working = chat.page.inner_text("#working")
    chat.screenshot("chat-working.png")
    chat.page.press("#q", "Enter")                        # a second submit while one runs sends nothing
    assert len(held) == 1
    held[0].continue_()                                   # on to the real server
    answer = chat.settled(".earful-answer")
    after = chat.enabled()
    assert pending == {"q": False, "ask": False, "working": True}
    assert re.fullmatch(r"working… [1-9]\d* s", working.strip()), working
    assert after == {"q": True, "ask": True, "working": False}
    assert "answered" in answer and chat.page.locator(".earful-err").count() == 0 and chat.exceptions == []


def test_a_500_with_a_text_body_shows_a_readable_message(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    _fail_with(chat, status=500, content_type="text/plain", body="Internal Server Error")
    chat.ask("How many reviews per app?")
    message = chat.settled(".earful-err")
    chat.screenshot("chat-error.png")
    assert "the server failed while answering (HTTP 500" in message and "Internal Server Error" in message
    assert "earful serve" in message                                    # where to look next
    assert chat.exceptions == [] and chat.enabled() == {"q": True, "ask": True, "working": False}
    assert chat.page.input_value("#q") == "How many reviews per app?"   # kept, to ask again


def test_a_422_shows_the_validation_messages(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    detail = {"detail": [{"type": "missing", "loc": ["body", "conversation_id"], "msg": "Field required"},
                         {"type": "string_type", "loc": ["body", "question"], "msg": "Input should be a string"}]}
    _fail_with(chat, status=422, json=detail)
    chat.ask("How many reviews per app?")
    message = chat.settled(".earful-err")
    assert message == "conversation_id: Field required; question: Input should be a string"
    assert chat.exceptions == [] and chat.enabled()["q"]


def test_earful_json_error_and_a_dropped_connection_are_readable(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    _fail_with(chat, status=500, json={"error": "the workspace is locked: try again"})
    chat.ask("How many reviews per app?")
    said = chat.settled(".earful-err")
    chat.page.unroute("**/api/ask")
    chat.page.route("**/api/ask", lambda route: route.abort("connectionrefused"))
    chat.ask("How many reviews per app?")
    chat.page.wait_for_function("document.querySelectorAll('.earful-err').length == 2")
    dropped = chat.settled(".earful-err")
    assert said == "the workspace is locked: try again"
    assert dropped.startswith("could not reach the Earful server")
    assert chat.exceptions == [] and chat.enabled()["q"]


def test_a_too_long_question_says_so_from_the_real_server(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    longest = ("how many reviews mention battery " * 70)[:1999] + "??"     # ends in no space (the page trims)
    assert len(longest) == 2001
    chat.ask(longest)
    message = chat.settled(".earful-err")
    chat.ask(longest[:2000])                              # at the limit: answered as usual
    chat.settled(".earful-answer")
    assert message == "the question is too long: 2,001 characters, at most 2,000; shorten it or ask it in parts"
    assert chat.page.locator(".earful-err").count() == 1 and chat.exceptions == []


@pytest.mark.parametrize("fulfil", [
    {"status": 500, "json": {"error": f"bad {HOSTILE} value"}},
    {"status": 500, "content_type": "text/plain", "body": f"bad {HOSTILE} value"},
    {"status": 502, "content_type": "text/html", "body": f"<html><body><h1>Bad gateway</h1>{HOSTILE}</body></html>"},
    {"status": 422, "json": {"detail": [{"loc": ["body", "question"], "msg": f"bad {HOSTILE} value"}]}},
], ids=["json-error", "text", "html", "detail"])
def test_error_text_is_shown_as_text_and_never_runs(served, fulfil):
    srv, browser = served
    chat = Chat(browser, srv.url)
    _fail_with(chat, **fulfil)
    chat.ask("How many reviews per app?")
    message = chat.settled(".earful-err")
    chat.page.wait_for_timeout(300)                       # time for an injected image's error handler to fire
    injected = chat.page.eval_on_selector_all('img[src="x"], img[onerror]', "els => els.length")
    assert chat.dialogs == [] and injected == 0 and chat.exceptions == []
    if "html" in fulfil.get("content_type", ""):
        assert message.startswith("the server failed while answering (HTTP 502") and "Bad gateway" in message
    else:
        assert HOSTILE in message                        # shown literally
