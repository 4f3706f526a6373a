"""The topics view (sizes, trend, drill-down to quotes) and label shares with their intervals, as pages of the chat
server; the numbers are the ones ``earful topics list`` and ``earful classify shares`` print.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import run_cli, sql_rows
from tests.test_web_answers_ui import HOSTILE, db  # noqa: F401 - the labelled, topic-assigned workspace fixture
from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for


@pytest.fixture(scope="module")
def views_db(db):  # noqa: F811
    """`db` plus the rest of what a topic fit leaves: its run, and every other item as an outlier."""
    from earful.store import Store

    with Store(db) as s:
        s.con.execute("INSERT INTO topic_runs (run_id, backend, n_items, n_topics, fitted_at) "
                      "VALUES ('run1', 'test', 45, 1, now())")
        s.con.execute("INSERT INTO topic_assignments (item_id, topic_id, score, method) SELECT item_id, -1, 0, 'fit' "
                      "FROM items WHERE item_id NOT IN (SELECT item_id FROM topic_assignments)")
    return db


@pytest.fixture(scope="module")
def client(views_db):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    with TestClient(create_app(load_settings(overrides={"db": str(views_db)}, environ={})),
                    base_url="http://127.0.0.1") as c:
        yield c


def _text(page: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body.split("</style>")[-1]).split())


def test_the_topics_page_lists_sizes_shares_and_trends_with_links(client, views_db):
    page = client.get("/topics")
    cli = json.loads(run_cli("topics", "list", "--json", db=views_db).stdout)
    topic = cli["topics"][0]
    text = _text(page.text)
    assert page.status_code == 200 and 'href="/topics/0"' in page.text and "Plotly.newPlot" in page.text
    assert f"Battery drain {topic['size']} {100 * topic['share']:.1f}% {topic['trend']}" in text
    assert "45 items in 1 topics" in text and "Bonferroni" in text
    from earful.store import Store
    from earful.topics.timeline import trends

    with Store(views_db, read_only=True) as s:
        test = trends(s, days=30)[0]
    assert (f"{100 * test['before_share']:.1f}% → {100 * test['recent_share']:.1f}% p={test['p_value']:.2g}") in text


def test_a_topic_drills_down_to_its_quotes(client, views_db):
    ids = [r[0] for r in sql_rows(views_db, "SELECT item_id FROM topic_assignments WHERE topic_id = 0")]
    page = client.get("/topics/0")
    text = _text(page.text)
    assert page.status_code == 200 and "Topic: Battery drain" in text and "items per month" in page.text
    assert all(f'href="/items/{i}"' in page.text for i in ids) and len(ids) == 2
    assert "review 0: the price of Maps" in text and "review 1: the battery of Chess" in text


@pytest.mark.parametrize("bad", ["9", "abc", "-5"])
def test_an_unknown_topic_is_a_404_page(client, bad):
    page = client.get(f"/topics/{bad}")
    assert page.status_code == 404 and "There is no topic" in page.text and "<script" not in page.text


def test_label_shares_show_the_same_intervals_as_the_cli(client, views_db):
    page = client.get("/labels")
    cli = json.loads(run_cli("classify", "shares", "--taxonomy", "kind", "--json", db=views_db).stdout)
    text = _text(page.text)
    assert page.status_code == 200 and "error_y" in page.text and "sampling error only" in text
    for x in cli["labels"]:
        assert (f"{x['label']} {100 * x['share']:.1f}% {100 * x['low']:.1f}% – {100 * x['high']:.1f}%") in text


def test_views_of_a_workspace_without_topics_or_labels_say_what_to_run(tmp_path):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app
    from tests.web_pages import tiny_workspace

    settings = load_settings(overrides={"db": str(tiny_workspace(tmp_path))}, environ={})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        topics, labels = c.get("/topics"), c.get("/labels")
    assert topics.status_code == 200 and "earful topics fit" in topics.text
    assert labels.status_code == 200 and "earful classify run" in labels.text


@pytest.mark.slow
def test_the_views_draw_in_chromium_at_420_px_without_errors(views_db):
    cut_js = """() => {const out = [];
        document.querySelectorAll('.earful-chart').forEach(ch => {
          const box = ch.querySelector('.main-svg').getBoundingClientRect();
          ch.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle').forEach(t => {
            const r = t.getBoundingClientRect();
            if(r.width && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
                           r.bottom > box.bottom + 1)) out.push(t.textContent);});});
        return out;}"""
    seen = {}
    with Server(views_db) as srv, browser_for() as browser:
        for path in ("/topics", "/topics/0", "/labels"):
            view = Chat(browser, srv.url, path, width=420, height=800, wait=False)
            view.page.wait_for_selector(".earful-chart .main-svg")
            view.page.wait_for_timeout(300)
            seen[path] = (view.page.evaluate(cut_js), view.problems())
        topic = Chat(browser, srv.url, "/topics/0", wait=False)
        topic.page.click("a.earful-item >> nth=0")                # a quote leads to its item
        quoted = topic.page.inner_text(".earful-item-text")
    assert seen == {p: ([], []) for p in seen}
    assert quoted.startswith("review ") and topic.problems() == []


def test_a_topic_is_renamed_from_its_page_as_the_cli_would(client, views_db):
    r = client.post("/api/topics/0/rename", json={"name": f"Battery {HOSTILE}"})
    listed = client.get("/topics").text
    cli = json.loads(run_cli("topics", "list", "--json", db=views_db).stdout)
    override = sql_rows(views_db, "SELECT op, topic_ids, value FROM topic_overrides ORDER BY seq DESC LIMIT 1")
    empty = client.post("/api/topics/0/rename", json={"name": "  "})
    unknown = client.post("/api/topics/77/rename", json={"name": "x"})
    back = client.post("/api/topics/0/rename", json={"name": "Battery drain"})
    assert r.status_code == 200 and r.json()["name"] == f"Battery {HOSTILE}"
    assert cli["topics"][0]["name"] == f"Battery {HOSTILE}" and cli["topics"][0]["label_source"] == "user"
    assert override == [("rename", [0], f"Battery {HOSTILE}")]
    assert "<img src=x" not in listed and "Battery &lt;img src=x onerror=alert(1)&gt;" in listed
    assert empty.status_code == 400 and "rename needs a non-empty name" in empty.json()["error"]
    assert unknown.status_code == 400 and "no topic 77" in unknown.json()["error"]
    assert back.status_code == 200


@pytest.mark.slow
def test_the_rename_box_on_a_topic_page(views_db):
    with Server(views_db) as srv, browser_for() as browser:
        view = Chat(browser, srv.url, "/topics/0", wait=False)
        view.page.fill("#rename input[name=name]", "Battery life")
        view.page.click("#rename button")
        view.page.wait_for_function("(document.querySelector('h2') || {}).textContent === 'Topic: Battery life'")
        view.page.fill("#rename input[name=name]", " ")
        view.page.click("#rename button")
        said = view.page.locator("#rename-said")
        view.page.wait_for_function("document.getElementById('rename-said').textContent.length > 0")
        refused = said.inner_text()
        view.page.fill("#rename input[name=name]", "Battery drain")
        view.page.click("#rename button")
        view.page.wait_for_function("(document.querySelector('h2') || {}).textContent === 'Topic: Battery drain'")
    assert refused == "rename needs a non-empty name"
    assert view.problems(("status of 400",)) == []
