"""Answers in the web chat: chart first, tables paginated and sortable with CSV download, the SQL copyable and
editable (an edited query runs read-only as in ``earful sql``; a write is refused readably), suggested questions
from the workspace's columns, labels and topics, and item pages (text, metadata, labels, topic, similar items).
Narrow screens: at 420 px wide no chart label is cut.

API tests use FastAPI's client over a real workspace; page tests run Debian's Chromium against `earful serve`.
"""
from __future__ import annotations

import csv

import pytest

from tests.conftest import run_cli, sql_rows
from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for

HOSTILE = "<img src=x onerror=alert(1)>"
APPS = ["Maps", "Chess", "Notes"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """45 reviews of 3 apps over 3 months (one holding a hostile text), with labels and a topic on some items."""
    d = tmp_path_factory.mktemp("answers")
    src = d / "reviews.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "app", "date", "rating", "text"])
        for i in range(45):
            text = HOSTILE if i == 7 else f"review {i}: the {'battery' if i % 2 else 'price'} of {APPS[i % 3]}"
            w.writerow([i, APPS[i % 3], f"2024-0{1 + i % 3}-{10 + i % 9}", 1 + i % 5, text])
    db = d / "w.duckdb"
    r = run_cli("ingest", src, "--source", "reviews", db=db)
    assert r.returncode == 0, r.stderr
    # what a classify run and a topic fit leave in the workspace, written directly for three items
    from earful.store import Store

    ids = [r[0] for r in sql_rows(db, "SELECT item_id FROM reviews ORDER BY CAST(id AS INTEGER) LIMIT 3")]
    with Store(db) as s:
        for i, item in enumerate(ids):
            s.con.execute("INSERT INTO classify_labels (item_id, taxonomy, label, probability, method) "
                          "VALUES (?, 'kind', ?, 0.9, 'keywords')", [item, ["Bug report", "Praise", "Bug report"][i]])
        s.con.execute("INSERT INTO topics (topic_id, name, keywords, size, status) "
                      "VALUES (0, 'Battery drain', ['battery', 'drain'], 2, 'active')")
        for item in ids[:2]:
            s.con.execute("INSERT INTO topic_assignments (item_id, topic_id, score, method) VALUES (?, 0, 0.8, 'fit')",
                          [item])
        s.refresh_views()         # as `earful classify run` does: the taxonomy becomes a column of the view
    return db


@pytest.fixture(scope="module")
def client(db):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    settings = load_settings(overrides={"db": str(db), "sql": {"timeout_s": 2}}, environ={})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        yield c


def _item(db, n: int) -> str:
    return sql_rows(db, "SELECT item_id FROM reviews WHERE id = ?", [str(n)])[0][0]


# --- rendering and the API -----------------------------------------------------------------------------------

def test_the_chart_comes_before_the_tables_and_item_ids_link_on_the_web_only():
    from earful.web.render import answer_html

    answer = {"status": "answered", "answer": "a", "engine": "t", "notes": [], "steps": [],
              "tables": [{"name": "rows", "columns": ["app", "n"], "rows": [["Maps", 3]]}],
              "charts": [{"title": "n by app", "plotly": {"data": [{"type": "bar", "x": ["Maps"], "y": [3]}],
                                                         "layout": {}}}], "item_ids": ["ab/1", HOSTILE]}
    web, report = answer_html(answer, item_link="/items/"), answer_html(answer)
    assert web.index("earful-chart") < web.index("earful-table")
    assert 'href="/items/ab%2F1"' in web and 'href="/items/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"' in web
    assert "<img" not in web and "href=" not in report and "ab/1" in report


def test_chart_layouts_grow_their_margins_to_fit_labels():
    from earful.web.render import responsive_layout

    out = responsive_layout({"title": {"text": "Average rating per application version over the last months"},
                             "xaxis": {"title": {"text": "version"}}, "yaxis2": {}, "width": 900})
    assert out["xaxis"]["automargin"] and out["yaxis"]["automargin"] and out["yaxis2"]["automargin"]
    assert "width" not in out and out["autosize"] and "<br>" in out["title"]["text"]


def test_an_edited_query_runs_read_only_with_a_row_cap(client):
    ok = client.post("/api/sql", json={"sql": "SELECT app, count(*) AS n FROM reviews GROUP BY app ORDER BY app"})
    big = client.post("/api/sql", json={"sql": "SELECT range AS x FROM range(5000)"})
    assert ok.status_code == 200 and ok.json()["rows"] == [["Chess", 15], ["Maps", 15], ["Notes", 15]]
    assert big.json()["row_count"] == 5000 and len(big.json()["rows"]) == 1000 and big.json()["truncated"]


@pytest.mark.parametrize("sql,said", [
    ("DELETE FROM items", "DELETE statements are not allowed"),
    ("INSERT INTO items SELECT * FROM items", "INSERT statements are not allowed"),
    ("SELECT * FROM read_csv('/etc/passwd')", "refused"),
    ("ATTACH '/tmp/x.duckdb' AS x", "not allowed"),
    ("SELECT count(*) FROM range(100000000000) t(x) WHERE x % 7 = 1", "query stopped after 2 s"),
], ids=["delete", "insert", "file", "attach", "timeout"])
def test_a_write_file_access_or_a_runaway_query_is_refused_readably(client, db, sql, said):
    before = sql_rows(db, "SELECT count(*) FROM items")[0][0]
    r = client.post("/api/sql", json={"sql": sql})
    assert r.status_code in (400, 500) and said in r.json()["error"]
    assert sql_rows(db, "SELECT count(*) FROM items")[0][0] == before == 45


def test_suggestions_come_from_columns_labels_and_topics(client):
    qs = client.get("/api/suggestions").json()["questions"]
    assert "How many reviews per app?" in qs and "How many reviews per month?" in qs
    assert "What is the average rating per app?" in qs
    assert "How many reviews per kind?" in qs                            # the taxonomy of the labels
    assert "How many reviews per topic?" in qs and "Which topics are the largest?" in qs
    assert not any("review 1" in q or "img" in q for q in qs)          # no review text in a suggestion


def test_every_suggestion_is_answered_without_a_model(client):
    qs = client.get("/api/suggestions").json()["questions"]
    statuses = {q: client.post("/api/ask", json={"question": q}).json()["answer"]["status"] for q in qs}
    assert set(statuses.values()) == {"answered"}, statuses


def test_the_item_page_shows_text_metadata_labels_and_topic(client, db):
    item = _item(db, 0)
    data = client.get(f"/api/items/{item}").json()
    page = client.get(f"/items/{item}")
    hostile = client.get(f"/items/{_item(db, 7)}")
    missing = client.get("/items/nosuchitem")
    assert data["text"] == "review 0: the price of Maps" and data["metadata"]["app"] == "Maps"
    assert data["labels"][0]["label"] == "Bug report" and data["topic"]["name"] == "Battery drain"
    assert page.status_code == 200 and "review 0: the price of Maps" in page.text and "Battery drain" in page.text
    assert "earful embed" in page.text                      # not embedded yet: says how to get similar items
    assert "<img src=x" not in hostile.text and "&lt;img src=x onerror=alert(1)&gt;" in hostile.text
    assert missing.status_code == 404 and "There is no item &#x27;nosuchitem&#x27;" in missing.text


@pytest.mark.slow
def test_similar_items_come_from_the_stored_embeddings(db, tmp_path):
    import shutil

    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    copy = tmp_path / "e.duckdb"
    shutil.copy(db, copy)
    r = run_cli("embed", db=copy)                              # the real packaged embedding model
    assert r.returncode == 0, r.stderr
    with TestClient(create_app(load_settings(overrides={"db": str(copy)}, environ={})),
                    base_url="http://127.0.0.1") as c:
        data = c.get(f"/api/items/{_item(copy, 1)}").json()
        page = c.get(f"/items/{_item(copy, 1)}").text
    similar = data["similar"]
    assert data["embedded"] and len(similar) == 5 and _item(copy, 1) not in [s["item_id"] for s in similar]
    assert [s["score"] for s in similar] == sorted((s["score"] for s in similar), reverse=True)
    assert "battery" in similar[0]["text"]                     # its nearest neighbour is about the battery too
    assert f'href="/items/{similar[0]["item_id"]}"' in page


# --- in Debian's Chromium ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(db):
    with Server(db) as srv, browser_for() as browser:
        yield srv, browser


@pytest.mark.slow
def test_chart_first_then_a_paginated_sortable_table_with_csv(served):
    srv, browser = served
    chat = Chat(browser, srv.url)
    chat.page.wait_for_selector("#suggest-top .earful-suggest button")
    chat.page.click("#suggest-top .earful-suggest button >> text='How many reviews per app?'")
    chat.settled(".earful-answer")
    chat.page.wait_for_selector(".earful-chart .main-svg")
    order = chat.page.evaluate("""() => {const a = document.querySelector('.earful-answer');
        const c = a.querySelector('.earful-chart'), t = a.querySelector('.earful-grid');
        return !!(c && t && (c.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING));}""")
    chat.page.evaluate("document.querySelector('.earful-q').scrollIntoView()")
    chat.screenshot("chat-answer.png")
    # an edited query with 45 rows: pages of 20, sortable, downloadable
    chat.page.fill(".earful-sql", "SELECT item_id, app, rating FROM reviews ORDER BY CAST(id AS INTEGER)")
    chat.page.click(".earful-run")
    out = chat.page.locator(".earful-sqlout")
    out.locator(".earful-rows").wait_for()
    first_page = out.locator("tbody tr").count(), out.locator(".earful-rows").inner_text()
    out.locator(".earful-next").click()
    second = out.locator(".earful-rows").inner_text()
    out.locator("th button", has_text="rating").click()
    out.locator("th button", has_text="rating").click()         # descending
    top = out.locator("tbody tr").first.locator("td").nth(2).inner_text()
    with chat.page.expect_download() as dl:
        out.locator(".earful-csv").click()
    lines = open(dl.value.path(), encoding="utf-8").read().splitlines()
    link = out.locator("tbody tr").first.locator("a.earful-item")
    href = link.get_attribute("href")
    problems = chat.problems()
    assert order is True
    assert first_page == (20, "1–20 of 45 rows") and second == "21–40 of 45 rows" and top == "5"
    assert lines[0] == "item_id,app,rating" and len(lines) == 46 and lines[1].endswith(",5")
    assert href.startswith("/items/") and problems == []


@pytest.mark.slow
def test_the_sql_is_copyable_and_a_write_is_refused_readably(served, db):
    srv, browser = served
    chat = Chat(browser, srv.url)
    chat.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    chat.ask("How many reviews per app?")
    chat.settled(".earful-answer")
    shown = chat.page.input_value(".earful-sql")
    chat.page.click(".earful-copy")
    chat.page.wait_for_function("document.querySelector('.earful-copy').textContent === 'Copied'")
    copied = chat.page.evaluate("navigator.clipboard.readText()")
    chat.page.fill(".earful-sql", "DELETE FROM items")
    chat.page.click(".earful-run")
    refused = chat.page.locator(".earful-sqlout .earful-err").inner_text()
    assert copied == shown and shown.startswith("SELECT")
    assert "DELETE statements are not allowed" in refused and "read-only" in refused
    assert chat.console == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    assert sql_rows(db, "SELECT count(*) FROM items")[0][0] == 45 and chat.problems(("status of 400",)) == []


@pytest.mark.slow
def test_an_item_link_opens_the_item_page(served, db):
    srv, browser = served
    chat = Chat(browser, srv.url)
    chat.ask("Show reviews that mention battery")          # the answer cites its items
    chat.settled(".earful-answer")
    cited = chat.page.locator(".earful-ids a.earful-item").count()
    cells = chat.page.locator(".earful-grid a.earful-item").count()
    chat.page.locator(".earful-ids a.earful-item").first.click()
    chat.page.wait_for_selector(".earful-item-text")
    quoted = chat.page.inner_text(".earful-item-text")
    chat.page.go_back()
    chat.page.wait_for_selector(".earful-answer")        # the conversation is back (its URL is /c/<id>)
    chat.page.fill(".earful-sql", "SELECT item_id, text FROM reviews WHERE id = '7'")
    chat.page.click(".earful-run")
    chat.page.locator(".earful-sqlout a.earful-item").click()
    chat.page.wait_for_selector(".earful-item-text")
    text = chat.page.inner_text(".earful-item-text")
    chat.page.wait_for_timeout(300)       # time for an injected image's error handler to fire
    injected = chat.page.eval_on_selector_all('img[src="x"]', "els => els.length")
    assert cited >= 1 and cells >= 1 and "battery" in quoted
    assert text == HOSTILE and injected == 0 and chat.problems() == []


@pytest.mark.slow
def test_at_420_px_no_chart_label_is_cut(served):
    srv, browser = served
    chat = Chat(browser, srv.url, width=420, height=860)
    chat.ask("What is the average rating per app?")
    chat.settled(".earful-answer")
    chat.page.wait_for_selector(".earful-chart .main-svg")
    chat.page.wait_for_timeout(500)       # plotly's responsive relayout
    cut = chat.page.evaluate("""() => {
        const out = [];
        document.querySelectorAll('.earful-chart').forEach(ch => {
          const box = ch.querySelector('.main-svg').getBoundingClientRect();
          ch.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle').forEach(t => {
            const r = t.getBoundingClientRect();
            if(r.width && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
                           r.bottom > box.bottom + 1)) out.push(t.textContent);});
          if(box.right > window.innerWidth + 1) out.push('chart wider than the screen');});
        return out;}""")
    labels = chat.page.locator(".earful-chart .xtick text").count()
    wide = chat.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    chat.screenshot("chat-narrow.png")
    assert labels >= 3 and cut == [] and wide and chat.problems() == []


@pytest.mark.slow
def test_long_category_labels_and_a_long_title_fit_at_420_px(served):
    from earful.charts import bar
    from earful.web.render import STYLE, chart_html, plotly_js

    _, browser = served
    names = ["Super Long Application Name Number One", "Another Rather Verbose Product Title", "Short"]
    chart = bar("Average rating per application across every platform and version we ship", names, [3.5, 4.25, 2],
                x_title="application name", y_title="average rating")
    page = browser.new_page(viewport={"width": 420, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_content(f"<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
                     f"<style>{STYLE}</style><script>{plotly_js()}</script></head><body>{chart_html(chart)}"
                     "</body></html>")
    page.wait_for_selector(".earful-chart .main-svg")
    page.wait_for_timeout(300)
    cut = page.evaluate("""() => {const out = [];
        const box = document.querySelector('.earful-chart .main-svg').getBoundingClientRect();
        document.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle').forEach(t => {
          const r = t.getBoundingClientRect();
          if(r.width && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
                         r.bottom > box.bottom + 1)) out.push(t.textContent);});
        return {out, width: box.width};}""")
    ticks = page.locator(".xtick text").all_inner_texts()
    assert cut["out"] == [] and cut["width"] <= 420 and errors == []
    assert len(ticks) == 3          # every label drawn (plotly may angle them; none is dropped or cut)
