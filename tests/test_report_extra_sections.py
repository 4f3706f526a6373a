"""The report's "Top complaints" and "Profiles" sections: numbers recomputed with plain SQL, planted changes as
headlines, and both sections absent (no error) when their data is not in the workspace.

A small synthetic workspace built through the real ingest, the real mention segmenter and the real lexicon polarity;
aspects are written into the aspects stage tables by a keyword rule (instead of an embedding fit) so the expected
counts can be recomputed here, as tests/test_report_sections.py does for labels and topics.
"""
from __future__ import annotations

import json
import random
import re
from datetime import date, timedelta

from tests.conftest import run_cli, sql_rows, workspace_from_rows
from tests.test_report_sections import md_tables

PHRASES = {"login": "Login keeps failing, this is terrible.", "ads": "Too many ads, really annoying.",
           "crash": "It crashes on open, awful.", "design": "The design is beautiful.",
           "battery": "Battery drains fast, awful.", "price": "The price is too high, terrible.",
           "sync": "Sync is broken, horrible.", "login-praise": "Login works great now.", "plain": "I use it daily."}
ASPECTS = [(0, "Login", "login"), (1, "Ads", "ads"), (2, "Crashes", "crash"), (3, "Design", "design"),
           (4, "Battery", "battery"), (5, "Price", "price"), (6, "Sync", "sync")]
START, DAYS, PER_DAY = date(2024, 3, 1), 21, 20


def _rows(seed: int = 1, plant: bool = True, subject: bool = True) -> list[dict]:
    """3 weeks, 20 items a day; with `plant`, login complaints go from 5% to 30% of items in the last 7 days and
    model-b's ratings in 'ui' drop."""
    rng = random.Random(seed)
    out = []
    for day in range(DAYS):
        last = day >= DAYS - 7
        for j in range(PER_DAY):
            if rng.random() < (0.30 if plant and last else 0.05):
                key = "login"
            else:
                key = rng.choice(["ads", "crash", "battery", "price", "sync", "design", "login-praise", "plain",
                                  "plain"])
            row = {"id": f"{day}-{j}", "text": f"{PHRASES[key]} Sent on day {day} as number {j}.",
                   "date": (START + timedelta(days=day)).isoformat()}
            model, cat = rng.choice(["model-a", "model-b"]), rng.choice(["billing", "ui"])
            low = plant and last and model == "model-b" and cat == "ui"
            row["rating"] = str(rng.randint(1, 2) if low else rng.randint(1, 5))
            if subject:
                row |= {"model": model, "category": cat}
            out.append(row)
    return out


def _aspects(db, fit: bool = True) -> None:
    """Mentions and polarity through the real stages; aspect ids by keyword (general mentions -2), as a fit writes."""
    from earful.store import Store
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    with Store(db) as s:
        segment(s)
        score_polarity(s, method="lexicon")
        if not fit:
            return
        with s.transaction() as con:
            for aid, name, word in ASPECTS:
                con.execute("INSERT INTO aspects (aspect_id, name, status, size) VALUES (?, ?, 'active', 0)",
                            [aid, name])
                con.execute("UPDATE mentions SET aspect_id = ?, aspect_method = 'test-rule' "
                            "WHERE aspect_id IS NULL AND lower(text) LIKE ?", [aid, f"%{word}%"])
            con.execute("UPDATE mentions SET aspect_id = -2 WHERE aspect_id IS NULL")


def _workspace(tmp_path, **kw):
    db = workspace_from_rows(tmp_path, _rows(**kw))
    _aspects(db)
    return db


def _sections(db):
    from earful.reports import data_sections, headlines

    sections, period = data_sections(str(db), since="7d")
    tops, dropped = headlines(sections)
    return {s.id: s for s in sections}, period, tops, dropped


CUR = (START + timedelta(days=DAYS - 7)).isoformat()
PREV = (START + timedelta(days=DAYS - 14)).isoformat()
END = (START + timedelta(days=DAYS)).isoformat()
WIN = (f"CASE WHEN i.created_at >= TIMESTAMPTZ '{CUR} 00:00:00+00' AND i.created_at < TIMESTAMPTZ '{END} 00:00:00+00'"
       f" THEN 'current' WHEN i.created_at >= TIMESTAMPTZ '{PREV} 00:00:00+00' "
       f"AND i.created_at < TIMESTAMPTZ '{CUR} 00:00:00+00' THEN 'previous' END")


def test_complaints_and_profiles_recomputed_with_plain_sql_and_planted_changes_are_headlines(tmp_path):
    db = _workspace(tmp_path)
    r = run_cli("report", "--since", "7d", "--out", tmp_path / "out", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    summary = json.loads(r.stdout)
    assert summary["sections"][-2:] == ["complaints", "profiles"] and summary["unchecked_findings"] == []
    tables = md_tables((tmp_path / "out" / "report.md").read_text())

    # top complaints: negative mentions per aspect and all mentions per period, straight from the tables
    counts = dict(((a, w), (n, k)) for a, w, n, k in sql_rows(db, f"""
        SELECT coalesce(a.name, 'other'), {WIN} AS w, count(*), count(*) FILTER (WHERE m.polarity = 'negative')
        FROM mentions m JOIN items i USING (item_id) LEFT JOIN aspects a ON a.aspect_id = m.aspect_id
        WHERE w IS NOT NULL GROUP BY ALL"""))
    total = {w: sum(n for (_, ww), (n, _) in counts.items() if ww == w) for w in ("previous", "current")}
    rows = {row["aspect"]: row for row in tables["complaints"]}
    negative_now = {a: counts.get((a, "current"), (0, 0))[1] for _, a, _ in ASPECTS}
    shown = [row["aspect"] for row in tables["complaints"]]
    assert set(shown) == {a for a in negative_now if negative_now[a]}
    assert [negative_now[a] for a in shown] == sorted(negative_now[a] for a in shown)[::-1]   # ranked
    for name in shown:
        n_now, k_now = counts[(name, "current")]
        k_before = counts.get((name, "previous"), (0, 0))[1]
        row = rows[name]
        assert (int(row["negative mentions"]), int(row["mentions"])) == (k_now, n_now)
        assert row["negative share"] == f"{100 * k_now / n_now:.1f}%"
        assert int(row["previous negative"]) == k_before
        assert row["share of all mentions before"] == f"{100 * k_before / total['previous']:.1f}%"
        assert row["share now"] == f"{100 * k_now / total['current']:.1f}%"
    assert rows["Login"]["trend"] == "rising" and rows["Login"]["rank"] == "1"
    assert int(rows["Login"]["previous rank"]) > 3                  # so it is a new top complaint
    assert rows["Ads"]["trend"] == "stable" and rows["Crashes"]["trend"] == "stable"
    quotes = tables["complaints-quotes"]            # quotes carry item ids; praise of the same aspect beside them
    login_q = [q for q in quotes if q["aspect"] == "Login"]
    assert {q["side"] for q in login_q} == {"complaint", "praise"}
    ids = dict(sql_rows(db, "SELECT item_id, text FROM items"))
    for q in login_q:
        assert q["quote"] in ids[q["item id"]]
        assert ("failing" in q["quote"]) == (q["side"] == "complaint")

    # profiles: mean rating per model and category in each period
    means = {(m, c, w): (n, avg) for m, c, w, n, avg in sql_rows(db, f"""
        SELECT v.model, v.category, {WIN} AS w, count(*), avg(i.rating) FROM items i
        JOIN reviews v USING (item_id) WHERE w IS NOT NULL GROUP BY ALL""")}
    prof = {(row["model"], row["category"]): row for row in tables["profiles-reviews"]}
    for (m, c, w), (n, avg) in means.items():
        row = prof[(m, c)]
        assert int(row[f"{w} n"]) == n and row[f"{w} mean"] == f"{avg:.2f}"
    assert prof[("model-b", "ui")]["verdict"] == "worse"
    assert [k for k, row in prof.items() if row["verdict"] != "no significant change"] in (
        [("model-b", "ui")], [("model-b", "ui"), ("model-b", "overall")])

    texts = [h["text"] for h in summary["headlines"] if h["kind"] == "significant"]
    assert any(re.match(r"Complaints about 'Login' \(a new top complaint, rank 1\) rose from [\d.]+% to [\d.]+% of "
                        r"all mentions, \d+ negative mentions now", t) for t in texts), texts
    assert any(t.startswith("model 'model-b' got worse in 'ui': mean rating") for t in texts), texts
    assert not any("'model-a'" in t or "'Ads'" in t or "got worse overall" in t for t in texts), texts
    weakest = {row["model"]: row for row in tables["profiles-reviews-weakest"]}   # the profile of this period
    assert weakest["model-b"]["weakest category"] == "ui" and weakest["model-b"]["mean"] == prof[("model-b", "ui")][
        "current mean"]
    page = (tmp_path / "out" / "report.html").read_text()
    for h in summary["headlines"]:
        assert f'href="#{h["table"]}"' in page


def test_headline_numbers_come_from_the_cited_row(tmp_path):
    from earful.reports.model import numbers

    secs, _, tops, dropped = _sections(_workspace(tmp_path))
    assert not dropped
    tables = {t.id: t for s in secs.values() for t in s.tables}
    cited = [f for f in tops if f.table in ("complaints", "profiles-reviews")]
    assert len(cited) >= 2
    for f in cited:
        shown = {n for cell in tables[f.table].rows[f.row] for n in numbers(cell)}
        assert numbers(f.text) and set(numbers(f.text)) <= shown


def test_sections_absent_without_their_data(tmp_path):
    # no mentions at all, no subject column: neither section, no error
    db = workspace_from_rows(tmp_path, _rows(subject=False))
    secs, *_ = _sections(db)
    assert "complaints" not in secs and "profiles" not in secs and "ratings" in secs
    # mentions and polarity but no aspects fitted: still no complaints section
    _aspects(db, fit=False)
    secs, *_ = _sections(db)
    assert "complaints" not in secs


def test_no_change_means_no_complaint_or_profile_headline_in_most_seeds(tmp_path):
    flagged = 0
    for seed in range(8):
        (tmp_path / str(seed)).mkdir()
        db = workspace_from_rows(tmp_path / str(seed), _rows(seed=seed, plant=False))
        _aspects(db)
        secs, _, tops, dropped = _sections(db)
        assert not dropped and "complaints" in secs and "profiles" in secs
        flagged += any(f.table in ("complaints", "profiles-reviews") for f in tops)
    assert flagged <= 2          # Holm keeps each table's family-wise error near 5%
