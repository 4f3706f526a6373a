"""Merging topics from the chat's topics page (``POST /api/topics/merge``): the same edit ``earful topics merge``
makes (`earful.topics.edits.edit`, recorded as an override and replayed after a refit), behind the same guard as the
rename (the page's token when one is set; a body a cross-site form could send is refused), with readable errors.

Real parts: 150 bundled URR reviews, the packaged embedding model, and the registered PCA + KMeans stand-in topic
backend (these tests are about the edit, not the clustering).
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import run_cli, sql_rows, urr_sample
from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for

pytestmark = pytest.mark.slow     # embeds 150 real reviews once for the module

STANDIN = {"backend": "pca-kmeans-standin", "backend_params": {"n_topics": 5}}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.fit import fit_topics

    d = tmp_path_factory.mktemp("merge")
    with Store(d / "base.duckdb") as s:
        ingest_file(s, urr_sample(d / "r.csv", slice(0, 150)), source="reviews")
        embed_items(s)
        fit_topics(s, **STANDIN)
    return d / "base.duckdb"


@pytest.fixture
def db(fitted, tmp_path):
    shutil.copy(fitted, tmp_path / "w.duckdb")
    return tmp_path / "w.duckdb"


def _client(db, token=None):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    return TestClient(create_app(load_settings(overrides={"db": str(db)}, environ={}), token=token),
                      base_url="http://127.0.0.1")


def _active(db) -> dict[int, tuple[str, int]]:
    return {t: (n, s) for t, n, s in sql_rows(db, "SELECT topic_id, name, size FROM topics WHERE status = 'active' "
                                                  "ORDER BY topic_id")}


def test_merge_from_the_page_api_is_the_cli_edit_and_survives_a_refit(db):
    from earful.store import Store
    from earful.topics.fit import fit_topics

    before = _active(db)
    a, b, c = sorted(before, key=lambda t: -before[t][1])[:3]
    members = {r[0] for r in sql_rows(db, "SELECT item_id FROM topic_assignments WHERE topic_id IN (?, ?, ?)",
                                      [a, b, c])}
    with _client(db) as client:
        r = client.post("/api/topics/merge", json={"topic_ids": [a, b, c], "name": "Merged <b>here</b>"})
        listed = client.get("/topics").text
    assert r.status_code == 200, r.text
    assert r.json()["topic_id"] == a and r.json()["merged"] == [b, c] and r.json()["name"] == "Merged <b>here</b>"
    after = _active(db)
    assert set(after) == set(before) - {b, c}
    assert after[a] == ("Merged <b>here</b>", before[a][1] + before[b][1] + before[c][1])
    assert sql_rows(db, "SELECT topic_id, status, parent_id FROM topics WHERE topic_id IN (?, ?) ORDER BY 1",
                    [b, c]) == [(min(b, c), "merged", a), (max(b, c), "merged", a)]
    assert {r[0] for r in sql_rows(db, "SELECT item_id FROM topic_assignments WHERE topic_id = ?", [a])} == members
    assert sql_rows(db, "SELECT op, topic_ids, value FROM topic_overrides ORDER BY seq") == [
        ("merge", [a, b, c], None), ("rename", [a], "Merged <b>here</b>")]
    assert "Merged &lt;b&gt;here&lt;/b&gt;" in listed and "Merged <b>here</b>" not in listed
    cli = json.loads(run_cli("topics", "list", "--json", db=db).stdout)
    assert {t["id"]: (t["name"], t["size"]) for t in cli["topics"]}[a] == after[a]
    with Store(db) as s:                    # a refit replays every edit in order
        res = fit_topics(s, **STANDIN)
    assert res["overrides_applied"] == 2
    assert _active(db) == after
    assert sql_rows(db, "SELECT status FROM topics WHERE topic_id IN (?, ?)", [b, c]) == [("merged",), ("merged",)]


def test_merge_errors_are_readable_and_change_nothing(db):
    before = _active(db)
    a, b = sorted(before)[:2]
    with _client(db) as client:
        one = client.post("/api/topics/merge", json={"topic_ids": [a]})
        same = client.post("/api/topics/merge", json={"topic_ids": [a, a]})
        unknown = client.post("/api/topics/merge", json={"topic_ids": [a, 77]})
        empty = client.post("/api/topics/merge", json={"topic_ids": []})
        # what a cross-site form can send without a CORS preflight: not JSON, so refused
        form = client.post("/api/topics/merge", content=json.dumps({"topic_ids": [a, b]}),
                           headers={"content-type": "text/plain"})
        bad_ids = client.post("/api/topics/merge", json={"topic_ids": ["x", "y"]})
        ok = client.post("/api/topics/merge", json={"topic_ids": [a, b]})
        again = client.post("/api/topics/merge", json={"topic_ids": [a, b]})      # b is merged already
    assert one.status_code == 400 and "merge needs at least two different topic ids" in one.json()["error"]
    assert same.status_code == 400 and "at least two different" in same.json()["error"]
    assert unknown.status_code == 400 and "no topic 77" in unknown.json()["error"]
    assert empty.status_code == 400 and "merge needs a topic id" in empty.json()["error"]
    assert form.status_code == 422 and "/api/topics/merge needs a JSON body" in form.json()["error"]
    assert bad_ids.status_code == 422 and "topic_ids" in bad_ids.json()["error"]
    assert ok.status_code == 200 and again.status_code == 400 and f"topic {b} is merged, not active" in \
        again.json()["error"]
    assert sql_rows(db, "SELECT op, topic_ids FROM topic_overrides") == [("merge", [a, b])]


def test_merge_needs_the_token_when_the_server_has_one(db):
    before = _active(db)
    a, b = sorted(before)[:2]
    with _client(db, token="s3cret") as client:
        refused = client.post("/api/topics/merge", json={"topic_ids": [a, b]})
        unchanged = _active(db)
        ok = client.post("/api/topics/merge", json={"topic_ids": [a, b]}, headers={"Authorization": "Bearer s3cret"})
    assert refused.status_code == 401 and unchanged == before
    assert ok.status_code == 200 and b not in _active(db)


def test_merge_from_the_topics_page_in_chromium(db):
    before = _active(db)
    a, b, c = sorted(before, key=lambda t: -before[t][1])[:3]
    with Server(db) as srv, browser_for() as browser:
        view = Chat(browser, srv.url, "/topics", wait=False)
        view.page.wait_for_selector("#merge")
        disabled = view.page.is_disabled("#merge button")
        view.page.check(f"input.earful-pick[value='{b}']")
        view.page.check(f"input.earful-pick[value='{a}']")
        into = view.page.input_value("#merge select[name=into]")       # the larger topic is offered first
        view.page.fill("#merge input[name=name]", "Merged from the page")
        view.page.click("#merge button")
        view.page.wait_for_function(f"!document.querySelector(\"tr[data-topic='{b}']\")")
        merged_row = view.page.inner_text(f"tr[data-topic='{a}']")
        # a stale page: c is merged elsewhere meanwhile, then merged here again -> the server's reason, in words
        view.page.check(f"input.earful-pick[value='{a}']")
        view.page.check(f"input.earful-pick[value='{c}']")
        import httpx

        httpx.post(srv.url + "/api/topics/merge", json={"topic_ids": [a, c]}, timeout=30).raise_for_status()
        view.page.click("#merge button")
        view.page.wait_for_function("document.getElementById('merge-said').textContent.length > 0")
        said = view.page.inner_text("#merge-said")
    assert disabled and into == str(a)
    assert "Merged from the page" in merged_row and str(before[a][1] + before[b][1]) in merged_row
    assert f"topic {c} is merged, not active" in said
    assert view.problems(("status of 400",)) == []
