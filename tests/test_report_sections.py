"""`earful report`: the period-against-period sections, their numbers recomputed from the raw files, and headlines.

Real workspaces through the real CLI. Labels and topics are written into the classify/topic stage tables by the
test (from a column of the raw file, and from a keyword rule) instead of running a classifier or a topic fit, so the
expected numbers can be recomputed from the CSV here; the report only reads those tables.
"""
from __future__ import annotations

import csv
import json
import random
import re
from datetime import date, datetime, timedelta

import pytest

from tests.conftest import EXAMPLES, ingest_json, run_cli, workspace_from_rows

URR = EXAMPLES / "urr_app_reviews.csv"
TOPIC_WORDS = [(0, "crashes", "crash"), (1, "ads", "ads"), (2, "love it", "love")]


def _topic_of(text: str) -> int:
    low = text.lower()
    return next((tid for tid, _, word in TOPIC_WORDS if word in low), -1)


def _label_and_topic(db, label_column: str | None, taxonomy: str = "ardoc") -> None:
    """Stage outputs written as the classify and topics stages write them: one label and one topic per item."""
    from earful.store import Store

    with Store(db) as s, s.transaction() as con:
        src = s.sources()[0]
        raw = s.source_info(src)["raw_table"]
        if label_column:
            con.execute(f"""INSERT INTO classify_labels (item_id, taxonomy, label, method)
                            SELECT item_id, ?, "{label_column}", 'imported' FROM "{raw}"
                            WHERE "{label_column}" IS NOT NULL AND "{label_column}" <> ''""", [taxonomy])
        for tid, name, _ in TOPIC_WORDS:
            con.execute("INSERT INTO topics (topic_id, name, size, status) VALUES (?, ?, 0, 'active')", [tid, name])
        for item_id, text in s.rows("SELECT item_id, text FROM items"):
            con.execute("INSERT INTO topic_assignments VALUES (?, ?, ?, 'test-rule', 'r1', now())",
                        [item_id, _topic_of(text), 0.5])


def md_tables(md: str) -> dict[str, list[dict]]:
    """{anchor id: rows as dicts} of every table in the report's Markdown."""
    out, lines = {}, md.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r'<a id="([^"]+)"></a>', line)
        if not m:
            continue
        j = next(k for k in range(i, len(lines)) if lines[k].startswith("| "))
        head = [c.strip() for c in lines[j].strip("|").split(" | ")]
        rows = []
        for row in lines[j + 2:]:
            if not row.startswith("| "):
                break
            rows.append(dict(zip(head, [c.strip() for c in row.strip().strip("|").split(" | ")])))
        out[m.group(1)] = rows
    return out


@pytest.fixture(scope="module")
def urr(tmp_path_factory):
    root = tmp_path_factory.mktemp("urr")
    db = root / "w.duckdb"
    ingest_json(db, URR)
    _label_and_topic(db, "ardoc_label_auto")
    out = root / "out"
    r = run_cli("report", "--since", "30d", "--out", out, "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    return json.loads(r.stdout), (out / "report.md").read_text(), (out / "report.html").read_text()


def _raw_periods():
    """The CSV's rows that hold a review, each with its period for --since 30d (latest date 2016-07-14)."""
    with open(URR, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["review_text"].strip() and r["date"].strip()]
    for r in rows:
        r["day"] = datetime.strptime(r["date"], "%d/%m/%y").date()
    latest = max(r["day"] for r in rows)
    cur0, prev0 = latest - timedelta(days=29), latest - timedelta(days=59)
    for r in rows:
        r["win"] = "current" if r["day"] >= cur0 else "previous" if r["day"] >= prev0 else None
    return [r for r in rows if r["win"]], latest


def test_bundled_report_has_every_section_with_numbers_from_the_raw_file(urr):
    summary, md, page = urr
    rows, latest = _raw_periods()
    assert latest == date(2016, 7, 14)
    assert summary["period"]["current"] == ["2016-06-15", "2016-07-14"]
    assert summary["period"]["previous"] == ["2016-05-16", "2016-06-14"]
    assert "up to the data's latest date, 2016-07-14" in md
    assert summary["sections"] == ["volume", "labels", "topics", "ratings", "profiles"]   # profiles: per app
    tables = md_tables(md)
    n = {w: sum(r["win"] == w for r in rows) for w in ("previous", "current")}

    vol = tables["volume-by-source"][0]       # volume
    assert (int(vol["previous"]), int(vol["current"])) == (n["previous"], n["current"])

    by_label = tables["labels-ardoc"]          # label shares: counts and shares per period
    labelled = {w: [r["ardoc_label_auto"] for r in rows if r["win"] == w and r["ardoc_label_auto"]]
                for w in n}
    assert {r["label"] for r in by_label} == set(labelled["previous"]) | set(labelled["current"])
    for r in by_label:
        for w in ("previous", "current"):
            k = labelled[w].count(r["label"])
            assert int(r[f"{w} n"]) == k
            assert r[f"{w} share (95% CI)"].startswith(f"{100 * k / len(labelled[w]):.1f}%")

    topics = {r["topic"]: r for r in tables["topics-trend"]}   # topics: share of all items, outliers included
    for tid, name, _ in TOPIC_WORDS:
        for w in ("previous", "current"):
            k = sum(r["win"] == w and _topic_of(r["review_text"]) == tid for r in rows)
            assert int(topics[name][f"{w} n"]) == k
            assert topics[name][f"{w} share"] == f"{100 * k / n[w]:.1f}%"

    ratings = {r["group"]: r for r in tables["ratings"]}        # ratings: overall and per app
    for w in ("previous", "current"):
        vals = [float(r["rating"]) for r in rows if r["win"] == w]
        assert int(ratings["all"][f"{w} n"]) == len(vals)
        assert ratings["all"][f"{w} mean"] == f"{sum(vals) / len(vals):.2f}"
    app = "Pixel Dungeon"
    for w in ("previous", "current"):
        vals = [float(r["rating"]) for r in rows if r["win"] == w and r["app"] == app]
        assert ratings[f"app = {app}"][f"{w} mean"] == f"{sum(vals) / len(vals):.2f}"

    # headlines first, each linking to its table; the page is self-contained (plotly.js inline, no CDN)
    assert md.index("## Headline findings") < md.index("## Volume")
    for h in summary["headlines"]:
        assert f'href="#{h["table"]}"' in page and f'id="{h["table"]}"' in page
    from earful.web.render import plotly_js

    bundle = plotly_js()
    assert bundle in page and "Plotly.newPlot" in page
    rest = page.replace(bundle, "")
    assert "<script src=" not in rest and "https://" not in rest
    assert summary["unchecked_findings"] == []


def _synthetic_rows(seed: int = 1, plant: bool = True) -> list[dict]:
    """8 weeks, 40 items a day; with `plant`, 'bug' and the login topic roughly double in the last 7 days, and
    model-b's ratings drop."""
    rng = random.Random(seed)
    rows, start = [], date(2024, 3, 1)
    for day in range(56):
        last = day >= 49
        for j in range(40):
            login = rng.random() < (0.24 if plant and last else 0.10)
            text = "cannot login again" if login else rng.choice(["nice app", "too many ads", "crash on open",
                                                                  "love it", "meh"])
            kind = "bug" if rng.random() < (0.36 if plant and last else 0.16) else rng.choice(["praise", "question"])
            model = rng.choice(["model-a", "model-b"])
            low = plant and last and model == "model-b"                 # model-b's ratings drop in the last week
            rows.append({"id": f"{day}-{j}", "text": f"{text} #{day}-{j}", "kind": kind, "model": model,
                         "date": (start + timedelta(days=day)).isoformat(),
                         "rating": str(rng.randint(1, 3) if low else rng.randint(1, 5))})
    return rows


def _synthetic(tmp_path, plant: bool = True):
    global TOPIC_WORDS
    db = workspace_from_rows(tmp_path, _synthetic_rows(plant=plant))
    saved = TOPIC_WORDS
    TOPIC_WORDS = saved + [(3, "login trouble", "login")]
    try:
        _label_and_topic(db, "kind", taxonomy="kind")
    finally:
        TOPIC_WORDS = saved
    return db


def test_planted_change_becomes_a_headline(tmp_path):
    db = _synthetic(tmp_path)
    r = run_cli("report", "--since", "7d", "--out", tmp_path / "out", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    summary = json.loads(r.stdout)
    texts = [h["text"] for h in summary["headlines"] if h["kind"] == "significant"]
    assert any(t.startswith("Label 'bug' (kind) rose from") for t in texts), texts
    assert any(t.startswith("Topic 'login trouble' is emerging") for t in texts), texts
    assert any(t.startswith("The average rating for model 'model-b' fell from") for t in texts), texts
    assert not any("'model-a'" in t for t in texts), texts
    md = (tmp_path / "out" / "report.md").read_text()
    tables = md_tables(md)
    login = next(row for row in tables["topics-trend"] if row["topic"] == "login trouble")
    assert login["trend"] == "emerging"
    bug = next(row for row in tables["labels-kind"] if row["label"] == "bug")
    assert bug["significant"] == "yes"
    quotes = tables["topics-quotes"]                  # quotes with their item ids, from the period it grew in
    assert any(q["topic"] == "login trouble" and "login" in q["quote"] and len(q["item id"]) == 16 for q in quotes)


def _shuffle_dates(db, seed: int) -> None:
    from earful.store import Store

    with Store(db) as s, s.transaction() as con:
        rows = s.rows("SELECT item_id, created_at FROM items ORDER BY item_id")
        dates = [d for _, d in rows]
        random.Random(seed).shuffle(dates)
        con.execute("CREATE TEMP TABLE shuffled (item_id VARCHAR, d TIMESTAMPTZ)")
        con.executemany("INSERT INTO shuffled VALUES (?, ?)", [(i, d) for (i, _), d in zip(rows, dates)])
        con.execute("UPDATE items SET created_at = shuffled.d FROM shuffled WHERE items.item_id = shuffled.item_id")
        con.execute("DROP TABLE shuffled")


def test_shuffled_dates_give_no_significant_headline_in_most_seeds(tmp_path):
    from earful.reports import data_sections, headlines

    db = _synthetic(tmp_path)
    flagged = []
    for seed in range(20):
        _shuffle_dates(db, seed)
        sections, _ = data_sections(str(db), since="7d")
        tops, dropped = headlines(sections)
        assert not dropped
        flagged.append(any(f.kind == "significant" for f in tops))
    assert sum(flagged) <= 4, flagged        # Holm keeps the family-wise error near 5% per table


def test_headline_numbers_are_checked_against_their_row():
    from earful.reports.model import Finding, Table, check_finding

    t = Table("t", "t", ["label", "previous share", "current share", "p"], [["bug", "12.0% (10.1–14.6%)", "19.0%",
                                                                             "0.003"]])
    ok = Finding("Label 'bug 2' rose from 12.0% to 19.0% (p = 0.003).", "t", 0)
    assert check_finding(ok, {"t": t}) is None           # numbers inside quoted names are not claims
    wrong = Finding("Label 'bug' rose from 12.0% to 21.0% (p = 0.003).", "t", 0)
    assert "21.0" in check_finding(wrong, {"t": t})
    assert "missing" in check_finding(Finding("x", "t", 3), {"t": t})


def test_period_options(tmp_path):
    from earful.errors import InputError
    from earful.reports.period import resolve

    p = resolve(date(2024, 4, 25), "7d")
    assert (p.start, p.end, p.prev_start) == (date(2024, 4, 19), date(2024, 4, 26), date(2024, 4, 12))
    p = resolve(date(2024, 4, 25), "2w", date_to="2024-03-31")
    assert p.label() == "2024-03-18 to 2024-03-31" and p.label("previous") == "2024-03-04 to 2024-03-17"
    p = resolve(date(2024, 4, 25), date_from="2024-04-01", date_to="2024-04-10")
    assert p.label("previous") == "2024-03-22 to 2024-03-31"
    for bad in ({"since": "7 parsecs"}, {"since": "7d", "date_from": "2024-01-01"},
                {"date_from": "2024-05-01", "date_to": "2024-04-01"}, {"since": "99999999d"}):
        with pytest.raises(InputError):
            resolve(date(2024, 4, 25), **bad)


def test_out_naming_an_existing_file_is_a_clear_error(tmp_path):
    db = _synthetic(tmp_path, plant=False)
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    r = run_cli("report", "--since", "7d", "--out", afile, db=db)
    assert r.returncode == 2 and "is a file, not a folder" in r.stderr, r.stderr
    assert afile.read_text() == "keep me"


def test_section_builders_are_an_extension_point(tmp_path):
    from earful.reports import SECTION_BUILDERS, Finding, Section, Table, data_sections, register_section

    db = _synthetic(tmp_path, plant=False)

    def complaints(ctx):
        n = ctx.store.scalar("SELECT count(*) FROM items")
        t = Table("complaints", "Top complaints", ["aspect", "items"], [["login", str(n)]])
        return Section("complaints", "Top complaints", tables=[t], findings=[Finding(f"{n} complaints.", t.id, 0)])

    def nothing(ctx):
        return None

    register_section(complaints, before="ratings")
    register_section(nothing)
    try:
        sections, _ = data_sections(str(db), since="7d")
        assert [s.id for s in sections] == ["volume", "labels", "topics", "complaints", "ratings", "profiles"]
    finally:
        SECTION_BUILDERS.remove(complaints)
        SECTION_BUILDERS.remove(nothing)


def test_undated_workspace_still_reports_its_questions(tmp_path):
    db = workspace_from_rows(tmp_path, [{"id": str(i), "text": f"sentence {i}"} for i in range(5)])
    qfile = tmp_path / "q.yaml"
    qfile.write_text("questions:\n  - How many items are there?\n")
    r = run_cli("report", "--questions", qfile, "--out", tmp_path / "out", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    summary = json.loads(r.stdout)
    assert summary["period"] is None and summary["sections"] == ["questions"] and summary["answered"] == 1
    assert "no item has a date, so nothing is compared between periods" in (tmp_path / "out" / "report.md").read_text()


def test_hostile_values_stay_text_in_both_files(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    rows = _synthetic_rows()[:400]
    for r in rows[::3]:
        r["kind"] = hostile
    db = workspace_from_rows(tmp_path, rows)
    _label_and_topic(db, "kind", taxonomy="kind")
    r = run_cli("report", "--since", "7d", "--out", tmp_path / "out", db=db)
    assert r.returncode == 0, r.stderr
    md, page = (tmp_path / "out" / "report.md").read_text(), (tmp_path / "out" / "report.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in md and "<img" not in md
    assert "<img" not in page.replace(__import__("earful.web.render", fromlist=["plotly_js"]).plotly_js(), "")


def test_summary_prompt_sends_aggregates_only():
    from earful.reports.model import Finding, Section, Table
    from earful.reports.summary import build_messages

    quotes = Table("topics-quotes", "Quotes", ["topic", "item id", "quote"], [["login", "abc", "my SECRET text"]])
    trend = Table("topics-trend", "Topics", ["topic", "current share"], [["login", "25.0%"]])
    sec = Section("topics", "Topics", tables=[trend, quotes])
    head = Finding("Topic 'login' is emerging: 10.0% to 25.0% of items.", "topics-trend", 0, "significant")
    system, user = build_messages("Weekly", [head], [sec])
    assert system[0] == "system" and "Use only numbers that appear in the tables" in system[1]
    assert "Topic 'login' is emerging" in user[1] and "login | 25.0%" in user[1]
    assert "SECRET" not in user[1]                                       # user text only with [llm] send_rows
    assert "SECRET" in build_messages("Weekly", [head], [sec], send_rows=True)[1][1]


@pytest.mark.parametrize("invent", [False, True])
def test_llm_summary_is_kept_only_when_its_numbers_are_in_the_tables(tmp_path, monkeypatch, invent):
    from tests.conftest import sql_rows
    from tests.fake_openai import FakeOpenAIServer

    db = _synthetic(tmp_path)
    tail = "Nearly 97% of reviews mention login." if invent else "The login trouble topic is emerging."
    said = []

    def reply(body):       # the fake model quotes the bug row of the table it was sent
        row = re.search(r"\nbug \| \d+ \| ([\d.]+%) [^|]*\| \d+ \| ([\d.]+%)", body["messages"][-1]["content"])
        said.append(f"Label 'bug' rose from {row.group(1)} to {row.group(2)} of labelled items. {tail}")
        return said[-1]

    with FakeOpenAIServer(reply) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        r = run_cli("report", "--since", "7d", "--out", tmp_path / "out", "--json", db=db)
        sent = json.dumps(server.bodies)
    assert r.returncode == 0, r.stderr + r.stdout
    [text] = said
    assert "labels-kind" in sent and "cannot login again" not in sent       # tables went, quotes did not
    md = (tmp_path / "out" / "report.md").read_text()
    summary = json.loads(r.stdout)["summary"]
    if invent:
        assert summary["text"] is None and "gave numbers that no table shows (97)" in summary["note"]
        assert "## Summary" in md and "Nearly 97%" not in md
    else:
        assert summary["text"] == text and md.index("## Summary") < md.index("## Headline findings")
        assert text in md and "every number checked" in md
    assert sql_rows(db, "SELECT count(*) FROM llm_calls WHERE purpose = 'report-summary'") == [(1,)]
