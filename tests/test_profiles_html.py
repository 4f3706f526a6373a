"""`earful profile` through the real CLI (text, --json, --html) and its HTML page in Debian's Chromium: no console
errors or page exceptions, the heatmap and radar drawn by the inlined plotly.js, a collapsible tree per subject, the
strengths and weaknesses tables with their quotes, and a hostile quote shown as text, never run."""
from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli, shared
from tests.test_profiles import TREE, _write_jsonl, stand_in_category
from tests.test_web_trust import _browser_parts

HOSTILE = "<img src=x onerror=alert(1)></script>"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """The critiques of three models plus a planted subject (weak in Math, with a hostile weakness text)."""
    d = tmp_path_factory.mktemp("profile_cli")
    keep = {"gemma-2b-it", "gpt-3.5-turbo-0125", "reka-edge"}
    rows = [json.loads(x) for x in open(shared("wildbench_v2_critiques/critiques.jsonl"), encoding="utf-8")]
    rows = [r | {"category": stand_in_category(r)} for r in rows if r["model"] in keep]
    planted = [r | {"model": "planted", "judge": "synthetic",
                    "score": max(1, r["score"] - 3) if r["category"] == "Math" else r["score"],
                    "weaknesses": (HOSTILE + " " if r["category"] == "Math" else "") + r["weaknesses"]}
               for r in rows if r["model"] == "gpt-3.5-turbo-0125"]
    src = _write_jsonl(d / "wb.jsonl", rows + planted)
    tree = d / "cata_tree.json"
    tree.write_text(json.dumps(TREE), encoding="utf-8")
    db = d / "w.duckdb"
    r = run_cli("ingest", src, "--source", "wb", db=db)
    assert r.returncode == 0, r.stderr
    return {"db": db, "tree": tree, "dir": d}


def _profile_cli(ws, *extra):
    return run_cli("profile", "--source", "wb", "--subject-column", "model", "--score-column", "score", "--tree",
                   ws["tree"], "--category-column", "category", "--unit-column", "session_id", *extra, db=ws["db"])


@pytest.mark.slow
def test_cli_text_json_and_errors(ws):
    r = _profile_cli(ws, "--subjects", "planted,gpt-3.5-turbo-0125")
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "planted: 2 significant weaknesses: Math & Data Analysis / Math" in out
    assert "planted: no significant strength" in out
    assert "where they differ most" in r.stdout
    j = _profile_cli(ws, "--json")
    data = json.loads(j.stdout)
    weak = [f for f in data["findings"] if f["subject"] == "planted" and f["kind"] == "weakness"]
    assert "Math & Data Analysis / Math" in {f["node"] for f in weak}
    assert all(2 <= len(f["quotes"]) <= 3 for f in weak)
    assert set(data["subjects"]) == {"gemma-2b-it", "gpt-3.5-turbo-0125", "reka-edge", "planted"}
    bad = run_cli("profile", "--source", "wb", "--subject-column", "nope", "--score-column", "score", db=ws["db"])
    assert bad.returncode == 2 and "no column 'nope'" in bad.stderr + bad.stdout
    helped = run_cli("profile", "--help")
    assert "--category-column" in helped.stdout and "--html" in helped.stdout


@pytest.mark.slow
def test_html_renders_in_chromium(ws):
    exe, api = _browser_parts()
    page_path = ws["dir"] / "profile.html"
    r = _profile_cli(ws, "--html", page_path)
    assert r.returncode == 0, r.stderr
    body = page_path.read_text(encoding="utf-8")
    assert "cdn" not in body.lower().split("<body>")[1][:5000] and "Plotly.newPlot" in body
    assert HOSTILE not in body                          # escaped wherever it appears
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors, dialogs = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(page_path.as_uri())
            page.wait_for_selector("#pf-heatmap .main-svg", timeout=20_000)
            page.wait_for_selector("#pf-radar .main-svg", timeout=20_000)
            assert page.locator("#pf-heatmap .hm, #pf-heatmap .heatmaplayer image").count() >= 1
            assert page.locator("section.pf-subject").count() == 4
            planted = page.locator('section.pf-subject[data-subject="planted"]')
            assert planted.locator("details.pf-node").count() >= 5          # the tree, collapsible
            weak = planted.locator("table.pf-weaknesses")
            assert weak.locator("blockquote").count() >= 2
            assert HOSTILE.split("</script>")[0] in weak.inner_text()     # the quote shown as text
            assert page.locator('img[src="x"]').count() == 0
            # collapse and reopen a node: plain <details>, no script needed
            node = planted.locator("details.pf-node").nth(1)
            node.locator("summary").first.click()
            page.wait_for_timeout(100)
            assert errors == [] and dialogs == []
        finally:
            browser.close()


@pytest.mark.parametrize("content, says", [("[1, 2, 3]", "a list holds 1, not a category name"),
                                           ('{"Alpha": {}, "Beta": {}}', "no item's category names a node")])
def test_a_tree_that_matches_nothing_is_an_error_not_an_empty_profile(ws, content, says):
    """A tree whose nodes no item reaches used to give exit 0 and a page of nothing (found by a black-box probe)."""
    tree = ws["dir"] / f"bad{len(content)}.json"
    tree.write_text(content, encoding="utf-8")
    page = ws["dir"] / f"bad{len(content)}.html"
    r = run_cli("profile", "--source", "wb", "--subject-column", "model", "--score-column", "score", "--tree", tree,
                "--category-column", "category", "--html", page, db=ws["db"])
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert not page.exists()


def test_html_to_a_path_that_cannot_be_written_is_a_clear_error(ws):
    blocker = ws["dir"] / "a-file"
    blocker.write_text("x")
    r = _profile_cli(ws, "--html", blocker / "sub" / "p.html")
    assert r.returncode == 2 and "cannot write there" in r.stderr, r.stderr
    assert "unexpected error" not in r.stderr and blocker.read_text() == "x"


def test_heatmap_colour_scale_is_spelt_out_for_plotlyjs():
    """plotly.js does not know plotly.py's 'RdYlGn' and drew the heatmap in its default reds."""
    from types import SimpleNamespace

    import numpy as np

    from earful.qa_agent.profiles.html import heatmap_figure
    from earful.qa_agent.profiles.tree import tree_from_spec

    tree = tree_from_spec({"A": {}, "B": {}})
    for better, first in ((True, "rgb(165,0,38)"), (False, "rgb(0,104,55)")):
        prof = SimpleNamespace(tree=tree, subjects=["s"], all_subjects=["s"], n=np.ones((1, 3)),
                               mean=np.full((1, 3), 5.0), params={"higher_is_better": better}, measure="score")
        scale = heatmap_figure(prof)["data"][0]["colorscale"]
        assert isinstance(scale, list) and scale[0] == [0.0, first] and scale[-1][0] == 1.0
