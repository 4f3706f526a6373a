"""The web chat, the HTML report and the notebook API all go through the same `ask` path and renderer."""
import json

import pytest

from tests.conftest import EXAMPLES, run_cli


@pytest.fixture(scope="module")
def forum_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "w.duckdb"
    r = run_cli("ingest", EXAMPLES / "tizard_forum_sentences.csv", "--source", "forum", db=db)
    assert r.returncode == 0, r.stderr
    return db


def test_render_escapes_and_includes_code():
    from earful.web.render import answer_html

    html = answer_html({"status": "answered", "answer": "<b>3</b> items", "engine": "t",
                        "steps": [{"language": "sql", "code": "SELECT 1 < 2", "ok": True, "error": None}],
                        "tables": [{"name": "r", "columns": ["a"], "rows": [["<x>"]]}], "charts": [],
                        "item_ids": [], "notes": ["number 7 not found in results"]})
    assert "&lt;b&gt;3&lt;/b&gt;" in html and "SELECT 1 &lt; 2" in html and "&lt;x&gt;" in html
    assert "number 7 not found" in html


def test_web_ask_and_status(forum_db):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    client = TestClient(create_app(load_settings(overrides={"db": str(forum_db)}, environ={})),
                        base_url="http://127.0.0.1")
    page = client.get("/")
    assert page.status_code == 200 and "/static/plotly.min.js" in page.text
    assert client.get("/static/plotly.min.js").text.startswith("/**")
    assert client.get("/favicon.ico").status_code == 204        # the browser asks for it; a 404 was a console error
    st = client.get("/api/status").json()
    assert st["sources"][0]["source"] == "forum" and st["sources"][0]["items"] == 3810
    r = client.post("/api/ask", json={"question": "How many sentences come from the Firefox forum?"})
    assert r.status_code == 200
    body = r.json()
    assert body["answer"]["status"] in ("answered", "declined")
    assert body["answer"]["answer"] in body["html"] or "&" in body["html"]
    if body["answer"]["status"] == "answered":
        assert "1700" in body["answer"]["answer"].replace(",", "")
    assert client.post("/api/ask", json={"question": ""}).status_code == 422


@pytest.mark.slow
def test_report_cli_writes_html(forum_db, tmp_path):
    qfile = tmp_path / "q.yaml"
    qfile.write_text("title: Weekly forum report\nquestions:\n  - How many sentences come from the Firefox forum?\n"
                     "  - What is the most common label among VLC sentences?\n")
    out = tmp_path / "r.html"
    r = run_cli("report", "--questions", qfile, "--out", out, "--json", db=forum_db)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["questions"] == 2 and summary["answered"] + summary["declined"] + summary["error"] == 2
    text = out.read_text()
    assert "Weekly forum report" in text and "Firefox forum" in text and "Plotly" in text


def test_report_bad_questions_file(forum_db, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\n")
    r = run_cli("report", "--questions", bad, db=forum_db)
    assert r.returncode == 2 and "questions" in r.stderr


def test_notebook_workspace(forum_db):
    from earful.notebook import Workspace

    ws = Workspace(forum_db)
    res = ws.sql("SELECT product, count(*) AS n FROM forum GROUP BY 1 ORDER BY 1")
    assert res.to_dicts() == [{"product": "Firefox", "n": 1700}, {"product": "VLC", "n": 2110}]
    ans = ws.ask("How many sentences come from the Firefox forum?")
    assert ans["status"] in ("answered", "declined") and "earful-answer" in ans._repr_html_()
