"""Topic pictures, offline: ``topics charts`` writes one interactive page with plotly.js inlined from the installed
package (no CDN), holding the intertopic distance map, keyword bars, a hierarchy dendrogram with a row per topic and
topics over time as a panel per top topic; each figure is checked against the store with plain SQL, and the page is
opened in Chromium with the network cut off.

The workspace is the notebooks' sample (`earful.notebook.sample`: 300 real URR reviews, embedded with the packaged
model, topics by the fast stand-in backend), built once per session.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli, sql_rows

pytestmark = pytest.mark.slow     # the sample workspace embeds 300 real reviews before the first test

SCRIPT_SRC = re.compile(r"<script[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.I)
PAGE_IDS = ["intertopic-distance-map", "topic-keywords", "topic-hierarchy", "topics-over-time"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from earful.notebook.sample import sample_workspace

    return sample_workspace(tmp_path_factory.getbasetemp() / "nb-sample" / "sample.duckdb", reviews=300)


@pytest.fixture(scope="module")
def figs(db):
    from earful.store import Store
    from earful.topics.pictures import topic_figures

    with Store(db, read_only=True) as s:
        return {f["title"]: f["plotly"] for f in topic_figures(s)}


def _active(db) -> dict:
    return {t: (n, s) for t, n, s in sql_rows(db, "SELECT topic_id, name, size FROM topics WHERE status = 'active'")}


def test_the_cli_page_is_offline_and_holds_the_four_pictures(db, tmp_path):
    from earful.topics.pictures import plotly_js

    out = tmp_path / "charts"
    res = run_cli("topics", "charts", "--out", out, "--json", db=db)
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    page = out / "topics.html"
    text = page.read_text(encoding="utf-8")
    assert not SCRIPT_SRC.search(text)                           # no CDN (the old page loaded cdn.plot.ly)
    assert "cdn.plot.ly/plotly" not in text
    assert plotly_js()[:2000] in text                            # the bundle of the installed plotly package
    assert text.count("Plotly.newPlot(") == 4
    for pid in PAGE_IDS:
        assert f'id="{pid}"' in text and f'"{pid}-plot"' in text
    assert {r["html"] for r in rows if r["html"]} == {f"{page}#{pid}" for pid in PAGE_IDS}
    pngs = [Path(r["png"]) for r in rows if r["png"]]
    assert len(pngs) == 3 and all(p.stat().st_size > 1000 for p in pngs)
    no_html = run_cli("topics", "charts", "--out", tmp_path / "png-only", "--no-html", "--json", db=db)
    assert no_html.returncode == 0 and not (tmp_path / "png-only" / "topics.html").exists()


def test_no_topics_is_a_clear_error(tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from tests.conftest import urr_sample

    with Store(tmp_path / "w.duckdb") as s:
        ingest_file(s, urr_sample(tmp_path / "r.csv", slice(0, 20)), source="reviews")
    res = run_cli("topics", "charts", "--out", tmp_path / "c", db=tmp_path / "w.duckdb")
    assert res.returncode == 2 and "no topics fitted yet" in res.stderr and "topics fit" in res.stderr
    assert not (tmp_path / "c" / "topics.html").exists()


def test_intertopic_map_has_a_bubble_per_topic_sized_by_its_items(db, figs):
    (trace,) = figs["Intertopic distance map"]["data"]
    active = _active(db)
    assert sorted(trace["customdata"]) == sorted(active)
    assert dict(zip(trace["customdata"], trace["marker"]["size"])) == {t: s for t, (_, s) in active.items()}
    assert len(set(zip(trace["x"], trace["y"]))) == len(active)             # placed apart, not piled up


def test_keyword_bars_are_the_largest_topics_keywords_by_weight(db, figs):
    fig = figs["Topic keywords"]
    largest = [r[0] for r in sql_rows(db, "SELECT topic_id FROM topics WHERE status = 'active' "
                                          "ORDER BY size DESC, topic_id LIMIT 8")]
    assert [int(t["name"].split(":")[0]) for t in fig["data"]] == largest
    stored = {t: set(k) for t, k in sql_rows(db, "SELECT topic_id, keywords FROM topics")}
    for trace, tid in zip(fig["data"], largest):
        assert trace["orientation"] == "h" and trace["y"] and set(trace["y"]) <= stored[tid]
        assert trace["x"] == sorted(trace["x"])             # drawn bottom-up: the heaviest keyword on top
    axes = [k for k in fig["layout"] if k.startswith("xaxis")]
    assert len(axes) == len(largest)                          # one panel each, not one crowded chart


def test_hierarchy_is_a_dendrogram_with_a_row_per_topic(db, figs):
    fig = figs["Topic hierarchy"]
    active = _active(db)
    ticks = fig["layout"]["yaxis"]["ticktext"]
    assert sorted(int(t.split(":")[0]) for t in ticks) == sorted(active)
    assert fig["layout"]["height"] >= 26 * len(active)               # grows with the topics: never squashed
    merges = sql_rows(db, "SELECT distance FROM topic_hierarchy")
    assert sorted(fig["data"][1]["x"]) == pytest.approx(sorted(round(d, 5) for (d,) in merges))
    assert len(merges) == len(active) - 1


def test_topics_over_time_is_a_panel_per_top_topic_with_its_shares(db, figs):
    fig = figs["Topics over time"]
    top = [r[0] for r in sql_rows(db, "SELECT topic_id FROM topics WHERE status = 'active' "
                                       "ORDER BY size DESC, topic_id LIMIT 6")]
    assert [int(t["name"].split(":")[0]) for t in fig["data"]] == top
    assert len({t["xaxis"] for t in fig["data"]}) == len(top)          # small multiples, not tangled lines
    month = ("strftime(date_trunc('month', created_at), '%Y-%m-%d')")
    per = dict(sql_rows(db, f"SELECT {month}, count(*) FROM topic_items WHERE created_at IS NOT NULL GROUP BY 1"))
    for trace in fig["data"]:
        tid = int(trace["name"].split(":")[0])
        counts = dict(sql_rows(db, f"SELECT {month}, count(*) FROM topic_items WHERE topic_id = ? AND created_at "
                                   "IS NOT NULL GROUP BY 1", [tid]))
        assert trace["x"] == sorted(per)
        assert trace["customdata"] == [counts.get(p, 0) for p in trace["x"]]
        assert trace["y"] == pytest.approx([round(counts.get(p, 0) / per[p], 4) for p in trace["x"]])


def test_the_page_draws_in_chromium_with_the_network_cut_off(db, tmp_path):
    exe = shutil.which("chromium")
    api = pytest.importorskip("playwright.sync_api")
    if not exe:
        pytest.skip("chromium is not installed (make browser)")
    res = run_cli("topics", "charts", "--out", tmp_path, db=db)
    assert res.returncode == 0, res.stderr
    errors, requests = [], []
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.route(re.compile(r"^https?://"), lambda r: (requests.append(r.request.url), r.abort()))
            page.goto((tmp_path / "topics.html").resolve().as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length == 4", timeout=60_000)
            drawn = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(d => "
                                  "[d.id, d.querySelectorAll('.trace, .barlayer .point, .scatterlayer .point')"
                                  ".length, d.getBoundingClientRect().height])")
        finally:
            browser.close()
    assert errors == [] and requests == []
    assert [d[0] for d in drawn] == [f"{pid}-plot" for pid in PAGE_IDS]
    assert all(d[1] > 0 and d[2] > 300 for d in drawn)


def test_the_chat_servers_topic_pictures_page_draws_the_four_in_chromium(db):
    """The chat's topics view links to the same four pictures as `topics charts --html`, drawn by the locally
    served plotly.js with no console errors (the chat had only the sizes chart and the trends table)."""
    from tests.test_web_trust import Server
    from tests.web_pages import Chat, browser_for

    with Server(db) as srv, browser_for() as browser:
        listing = Chat(browser, srv.url, "/topics", wait=False)
        listing.page.click('a[href="/topics/pictures"]')
        listing.page.wait_for_function("document.querySelectorAll('.earful-picture .js-plotly-plot').length == 4",
                                       timeout=60_000)
        titles = listing.page.locator(".earful-picture h3").all_inner_texts()
        drawn = listing.page.evaluate("[...document.querySelectorAll('.earful-picture .js-plotly-plot')].map(d => "
                                      "d.querySelectorAll('.trace, .barlayer .point, .scatterlayer .point').length)")
        problems = listing.problems()
    assert titles == ["Intertopic distance map", "Topic keywords", "Topic hierarchy", "Topics over time"]
    assert all(n > 0 for n in drawn) and problems == []


def test_the_topic_pictures_page_without_topics_says_what_to_run(tmp_path):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app
    from tests.web_pages import tiny_workspace

    settings = load_settings(overrides={"db": str(tiny_workspace(tmp_path))}, environ={})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        page = c.get("/topics/pictures")
    assert page.status_code == 200 and "no topics fitted yet" in page.text and "earful topics fit" in page.text
