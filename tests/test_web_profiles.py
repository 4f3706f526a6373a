"""The profile page of the chat server (``/profiles``, ``/profiles/<source>``): the numbers are the profile code's
(`build_profile`, as ``earful profile`` prints them) and a cell's mean is the one plain SQL computes; quotes link to
their items; two chosen subjects are compared; a source without a subject column or without categories says how
to get one; in Chromium the heatmap draws with no console errors.
"""
from __future__ import annotations

import csv
import html
import json
import random
import re

import pytest

from tests.conftest import run_cli, sql_rows
from tests.test_web_trust import Server
from tests.web_pages import Chat, browser_for, tiny_workspace

HOSTILE = "<img src=x onerror=alert(1)>"
MODELS = {"alpha": 7.0, "beta": 6.0, "gamma": 5.0}
CATEGORIES = ("Coding", "Math", "Writing")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """30 critiques per model and category, scores around each model's level; beta is 3 points worse at Math
    (a planted weakness) and one of its Math critiques holds a hostile text. A second source has no subject."""
    d = tmp_path_factory.mktemp("web_profiles")
    rnd = random.Random(0)
    rows, i = [], 0
    for model, level in MODELS.items():
        for cat in CATEGORIES:
            for k in range(30):
                weak = model == "beta" and cat == "Math"
                score = max(1, min(10, round(level + rnd.gauss(0, 1) - (3 if weak else 0))))
                text = f"{model} on {cat.lower()} task {k}: " + ("wrong formula" if weak else "a fine answer")
                rows.append([i, model, cat, score, f"2024-0{1 + k % 3}-1{k % 9}", HOSTILE if weak and k == 3 else text])
                i += 1
    src = d / "crit.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "model", "category", "score", "date", "text"])
        w.writerows(rows)
    notes = d / "notes.csv"
    notes.write_text("id,rating,text\n" + "".join(f"{k},{1 + k % 5},note {k}\n" for k in range(10)), encoding="utf-8")
    db = d / "w.duckdb"
    for path, name in ((src, "crit"), (notes, "notes")):
        r = run_cli("ingest", path, "--source", name, db=db)
        assert r.returncode == 0, r.stderr
    return db


def _client(db):
    from fastapi.testclient import TestClient

    from earful.config import load_settings
    from earful.web.app import create_app

    return TestClient(create_app(load_settings(overrides={"db": str(db)}, environ={})), base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def client(db):
    with _client(db) as c:
        yield c


def _text(page: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", body.split("</style>")[-1]).split()))


def _figures(page: str) -> list[dict]:
    """The plotly figures the page draws (each chart's data and layout, as the page passes them to plotly.js)."""
    return [{"data": json.loads(d), "layout": json.loads(lay)}
            for d, lay in re.findall(r'Plotly\.newPlot\("earful-chart-\w+", (.*?), (\{.*?\}), \{responsive: true\}\)',
                                     page)]


def test_the_profile_page_shows_the_profile_codes_numbers(client, db):
    from earful.qa_agent.profiles import build_profile

    page = client.get("/profiles/crit")
    prof = build_profile(db, "crit", "model", "score", category_column="category")
    want = prof.to_json()
    text = _text(page.text)
    assert page.status_code == 200 and "Profile: crit" in text and "/static/plotly.min.js" in page.text
    assert "cdn." not in page.text.lower()
    # each subject's overall score with its interval, as the profile computed it
    for r in (r for r in want["nodes"] if r["depth"] == 0):
        assert f"{r['subject']} {r['n']} {r['mean']:.2f} {r['lo']:.2f} – {r['hi']:.2f} {r['rank']:.0f}" in text
    # the heatmap: one row per subject, one column per category, the profile's means
    heat = next(f for f in _figures(page.text) if f["data"][0]["type"] == "heatmap")["data"][0]
    assert heat["y"] == want["subjects"] and heat["x"] == list(CATEGORIES)
    # a colour scale plotly.js knows (the profile code names plotly.py's 'RdYlGn'): red is low, green is high
    assert heat["colorscale"][0] == [0.0, "rgb(165,0,38)"] and heat["colorscale"][-1] == [1.0, "rgb(0,104,55)"]
    node = {(r["subject"], r["node"]): r for r in want["nodes"]}
    for si, s in enumerate(heat["y"]):
        for ci, c in enumerate(heat["x"]):
            assert heat["z"][si][ci] == pytest.approx(node[(s, c)]["mean"], abs=1e-3)
    # one cell against plain SQL, independent of the profile code
    (sql_mean,), = sql_rows(db, "SELECT avg(score) FROM crit WHERE model = 'beta' AND category = 'Math'")
    assert heat["z"][heat["y"].index("beta")][heat["x"].index("Math")] == pytest.approx(sql_mean, abs=1e-3)
    # the planted weakness, with quotes that link to beta's Math items; the hostile quote is text
    weak = [f for f in want["findings"] if f["subject"] == "beta" and f["kind"] == "weakness"]
    assert [f["node"] for f in weak] == ["Math"]
    assert f"Math 30 {sql_mean:.2f} [{weak[0]['lo']:.2f}, {weak[0]['hi']:.2f}]" in text
    linked = re.findall(r'<section class="pf-subject" data-subject="beta">.*?</section>', page.text, flags=re.S)[0]
    ids = re.findall(r'href="/items/([^"]+)"', linked)
    beta_math = {r[0] for r in sql_rows(db, "SELECT item_id FROM crit WHERE model = 'beta' AND category = 'Math'")}
    assert 2 <= len(ids) <= 3 and set(ids) <= beta_math
    assert {q["item_id"] for q in weak[0]["quotes"]} == set(ids)
    assert HOSTILE not in page.text
    assert "beta: no significant strength" in text
    assert ("no significant weakness or strength (no category departs from its overall standing after Holm "
            "correction at 0.05, categories with at least 20 items): alpha, gamma") in text


def test_two_chosen_subjects_are_compared(client, db):
    from earful.qa_agent.profiles import build_profile

    page = client.get("/profiles/crit", params={"a": "alpha", "b": "beta"})
    comp = build_profile(db, "crit", "model", "score", category_column="category").compare(["alpha", "beta"])
    text = _text(page.text)
    top = comp.rows[0]
    assert page.status_code == 200 and top["node"] == "Math" and top["significant"]
    assert (f"Math {top['means']['alpha']:.2f} {top['means']['beta']:.2f} {top['difference']:.2f} "
            f"{top['effect']:.2f} {top['p_adj']:.3f} yes") in text
    api = client.get("/api/profiles/crit", params={"compare": "alpha,beta"}).json()
    assert api["columns"] == {"subject": "model", "score": "score", "category": "category", "labels": None}
    assert api["profile"]["comparison"]["rows"][0]["node"] == "Math"
    assert api["profile"]["comparison"]["subjects"] == ["alpha", "beta"]
    plain = client.get("/profiles/crit").text
    assert "pf-comparison" not in plain and '<form id="compare"' in plain


def test_the_list_and_sources_without_a_subject_or_categories_say_how_to_get_one(client, db, tmp_path):
    listed = client.get("/profiles")
    text = _text(listed.text)
    assert listed.status_code == 200 and 'href="/profiles/crit"' in listed.text
    assert "crit model score category" in text
    assert 'href="/profiles/notes"' not in listed.text and "a profile needs a subject column in notes" in text
    nosubject = client.get("/profiles/notes")
    assert nosubject.status_code == 200 and "--subject-column COLUMN" in _text(nosubject.text)
    assert "Plotly.newPlot" not in nosubject.text
    assert '<form id="columns"' in nosubject.text and "<option>rating</option>" in nosubject.text
    chosen = client.get("/profiles/notes", params={"subject": "id", "score": "rating"})   # columns named by hand
    assert chosen.status_code == 200 and "needs categories, and notes has no category" in _text(chosen.text)
    assert "score (rating) of 10 id values" in _text(chosen.text)
    unknown = client.get("/profiles/nosuch")
    assert unknown.status_code == 404 and "no source named 'nosuch'" in _text(unknown.text)
    badcol = client.get("/profiles/crit", params={"subject": "zzz"})
    assert badcol.status_code == 400 and "has no column 'zzz'" in _text(badcol.text)
    # 12 reviews of 3 apps, rated, with no category: the overall standing and the CLI's hint for categories
    with _client(tiny_workspace(tmp_path)) as c:
        page = c.get("/profiles/reviews")
    text = _text(page.text)
    assert page.status_code == 200 and "needs categories, and reviews has no category or task column" in text
    assert ("earful profile --source reviews --subject-column app --score-column rating --tree FILE --labels "
            "TAXONOMY` (or `--category-column COLUMN`)") in text
    assert "heatmap" not in page.text and "Maps" in text


def test_the_chat_and_views_link_to_profiles(client):
    assert 'href="/profiles"' in client.get("/").text
    assert 'href="/profiles"' in client.get("/labels").text


@pytest.mark.slow
def test_the_profile_page_in_chromium(db):
    with Server(db) as srv, browser_for() as browser:
        chat = Chat(browser, srv.url)
        chat.page.click("#side a[href='/profiles']")
        chat.page.click("a[href='/profiles/crit']")
        chat.page.wait_for_selector(".pf-heatmap .main-svg", timeout=30_000)
        heat = chat.page.locator(".pf-heatmap .heatmaplayer image, .pf-heatmap .hm").count()
        chat.page.select_option("#compare select[name=a]", "alpha")
        chat.page.select_option("#compare select[name=b]", "beta")
        chat.page.click("#compare button")
        chat.page.wait_for_selector("table.pf-comparison")
        chat.page.wait_for_selector(".pf-heatmap .main-svg")
        compared = chat.page.locator("table.pf-comparison tbody tr").first.inner_text()
        chat.page.wait_for_timeout(300)
        chat.screenshot("profile-page.png", full_page=True)
        problems = chat.problems()
        chat.page.click("section.pf-subject[data-subject='beta'] a.earful-item >> nth=0")
        quoted = chat.page.inner_text(".earful-item-text")
        img = chat.page.locator('img[src="x"]').count()
    assert heat >= 1 and compared.startswith("Math")
    assert quoted.startswith("beta on math task") or quoted == HOSTILE
    assert img == 0 and problems == [] and chat.problems() == []
