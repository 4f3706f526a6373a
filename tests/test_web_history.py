"""Conversation history in the web chat: the workspace's conversations in a side panel, ``/c/<id>`` opens one
(a reload keeps it), "New conversation" starts one, and an unknown id is a clear 404 page.

API tests use FastAPI's client over a real workspace; the page tests run Debian's Chromium against `earful serve`.
"""
from __future__ import annotations

import pytest

from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for, tiny_workspace


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tiny_workspace(tmp_path_factory.mktemp("history"))


@pytest.fixture
def client(db):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    with TestClient(create_app(load_settings(overrides={"db": str(db)}, environ={})),
                    base_url="http://127.0.0.1") as c:
        yield c


def test_conversations_are_listed_newest_first_and_open_with_their_turns(client):
    first = client.post("/api/ask", json={"question": "How many reviews per app?"}).json()["answer"]
    conv = first["conversation_id"]
    client.post("/api/ask", json={"question": "What is the average rating per app?", "conversation_id": conv})
    other = client.post("/api/ask", json={"question": "How many reviews per month?"}).json()["answer"]
    listed = client.get("/api/conversations").json()["conversations"]
    turns = client.get(f"/api/conversations/{conv}").json()
    page = client.get(f"/c/{conv}")
    assert [c["conversation_id"] for c in listed[:2]] == [other["conversation_id"], conv]
    assert listed[1]["title"] == "How many reviews per app?" and listed[1]["turns"] == 2
    assert [t["question"] for t in turns["turns"]] == ["How many reviews per app?",
                                                       "What is the average rating per app?"]
    assert turns["turns"][0]["answer"]["answer"] == first["answer"] and "earful-answer" in turns["turns"][0]["html"]
    assert page.status_code == 200 and f'"conversation_id": "{conv}"' in page.text


@pytest.mark.parametrize("bad", ["nosuchconv99", "a.b;drop", "x" * 80])
def test_an_unknown_conversation_is_a_404_that_says_so(client, bad):
    page = client.get(f"/c/{bad}")
    api = client.get(f"/api/conversations/{bad}")
    ask = client.post("/api/ask", json={"question": "How many reviews?", "conversation_id": bad})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "There is no conversation" in page.text and 'href="/"' in page.text and "<script" not in page.text
    assert api.status_code == 404 and "no conversation" in api.json()["error"]
    assert ask.status_code == 404 and "start a new one" in ask.json()["error"]


def test_any_unknown_page_is_an_html_404_and_an_unknown_api_route_a_json_one(client):
    page = client.get("/c/..%2F..%2Fetc")
    api = client.get("/api/nothing-here")
    assert page.status_code == 404 and "There is no page" in page.text and 'href="/"' in page.text
    assert api.status_code == 404 and "GET /api/nothing-here" in api.json()["error"]


def test_a_hostile_conversation_id_stays_text_in_the_404_page(client):
    page = client.get("/c/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    assert page.status_code == 404 and "<img" not in page.text and "&lt;img" in page.text


@pytest.mark.slow
def test_the_page_keeps_the_conversation_on_reload_and_lists_it(db):
    with Server(db) as srv, browser_for() as browser:
        chat = Chat(browser, srv.url)
        chat.ask("How many reviews per app?")
        chat.settled(".earful-answer")
        chat.page.wait_for_url("**/c/*")
        chat.ask("What is the average rating per app?")        # a follow-up in the same conversation
        chat.settled(".earful-answer >> nth=1")
        url = chat.page.url
        conv = url.rsplit("/", 1)[1]
        chat.page.wait_for_function(f"(document.querySelector(\"#history a[data-id='{conv}']\") || "
                                    f"{{}}).textContent?.endsWith('· 2')")     # the panel caught up
        listed = chat.page.inner_text(f"#history a[data-id='{conv}']")
        current = chat.page.get_attribute(f"#history a[data-id='{conv}']", "class")
        chat.page.reload()
        chat.page.wait_for_selector(".earful-answer >> nth=1")
        questions = chat.page.locator(".earful-q").all_inner_texts()
        charts = chat.page.locator(".earful-chart .main-svg").count()
        chat.page.evaluate("window.scrollTo(0, 0)")
        chat.screenshot("chat-history.png")
        chat.page.click("#new")                                  # a new conversation: empty log, URL /
        chat.page.wait_for_url(srv.url + "/")
        empty = chat.page.locator("#log > *").count()
        chat.page.wait_for_selector("#suggest-top .earful-suggest")     # the new page has settled
        chat.page.wait_for_selector(f"#history a[data-id='{conv}']:not(.current)")
        chat.page.click(f"#history a[data-id='{conv}']")        # and back through the side panel
        chat.page.wait_for_selector(".earful-answer >> nth=1")
        back = chat.page.url
        missing = Chat(browser, srv.url, "/c/nosuchconv99", wait=False)
        status, text = missing.response.status, missing.page.inner_text("body")
        problems = chat.problems()
    assert url == back == f"{srv.url}/c/{conv}"
    assert listed.startswith("How many reviews per app?") and "2" in listed and "current" in current
    assert questions == ["How many reviews per app?", "What is the average rating per app?"] and charts >= 1
    assert empty == 0
    assert status == 404 and "There is no conversation 'nosuchconv99'" in text
    assert problems == []
