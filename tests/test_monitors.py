"""Monitors: `earful ask ... --save NAME` keeps the question with its SQL; re-runs use that SQL and keep history.

Real workspaces, real CLI, the built-in engine (no LLM). The share answer ("What share of reviews mention
login?") is the built-in engine's matching/total shape, so a change between runs gets a two-proportion test.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import ingest_json, run_cli, sql_rows, workspace_from_rows

QUESTION = "What share of reviews mention login?"


def _rows(n: int, login_every: int, start: int = 0, day: str = "2024-03-01") -> list[dict]:
    return [{"id": str(start + i), "text": ("cannot login" if i % login_every == 0 else "fine app") + f" #{start + i}",
             "rating": "3", "date": day} for i in range(n)]


@pytest.fixture
def db(tmp_path):
    return workspace_from_rows(tmp_path, _rows(200, 10))          # 20 of 200 mention login: 10.0%


def _more(db, tmp_path, rows):
    import csv

    path = tmp_path / "more.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    ingest_json(db, path, "--source", "reviews")


def test_ask_save_keeps_the_sql_and_reruns_it_with_history(db, tmp_path):
    r = run_cli("ask", QUESTION, "--save", "login", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    asked = json.loads(r.stdout)
    [(name, question, sql, plan)] = sql_rows(db, "SELECT name, question, sql, plan FROM monitors")
    assert (name, question) == ("login", QUESTION)
    assert sql == asked["steps"][-1]["code"] and json.loads(plan) == asked["plan"]

    first = json.loads(run_cli("monitors", "run", "--json", db=db).stdout)["monitors"][0]
    assert (first["k"], first["n"], first["value"]) == (20, 200, 0.1) and first["previous"] is None
    again = json.loads(run_cli("monitors", "run", "--json", db=db).stdout)["monitors"][0]
    assert again["value"] == 0.1 and again["change"] == 0 and not again["significant"]

    _more(db, tmp_path, _rows(200, 2, start=1000, day="2024-03-08"))   # 100 more of 200: 120 of 400 = 30.0%
    third = json.loads(run_cli("monitors", "run", "--json", db=db).stdout)["monitors"][0]
    assert (third["k"], third["n"]) == (120, 400) and third["significant"] and third["p"] < 0.001
    assert [s for (s,) in sql_rows(db, "SELECT DISTINCT sql FROM monitors")] == [sql]       # same SQL throughout
    assert [v for (v,) in sql_rows(db, "SELECT value FROM monitor_runs ORDER BY run_at")] == [0.1, 0.1, 0.3]

    shown = run_cli("monitors", "show", "login", "--json", db=db)
    hist = json.loads(shown.stdout)["history"]
    assert [h["value"] for h in hist] == [0.3, 0.1, 0.1] and json.loads(shown.stdout)["sql"] == sql
    listed = json.loads(run_cli("monitors", "list", "--json", db=db).stdout)
    assert listed[0]["name"] == "login" and listed[0]["runs"] == 3


def test_report_says_the_change_since_the_last_run(db, tmp_path):
    assert run_cli("ask", QUESTION, "--save", "login", db=db).returncode == 0
    assert run_cli("monitors", "run", db=db).returncode == 0                     # 10.0% (20 of 200)
    _more(db, tmp_path, _rows(200, 2, start=1000, day="2024-03-08"))
    r = run_cli("report", "--out", tmp_path / "out", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    summary = json.loads(r.stdout)
    heads = [h["text"] for h in summary["headlines"]]
    assert "Monitor 'login': 10.0% -> 30.0% (significant, p < 0.0001)." in heads
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| login | What share of reviews mention login? | 10.0% (20 of 200) | 30.0% (120 of 400) | +20.0 pp |" in md


def test_threshold_and_alert_on_change(db, tmp_path):
    assert run_cli("ask", QUESTION, "--save", "login", db=db).returncode == 0
    r = run_cli("monitors", "set", "login", "--threshold", "25", "--alert-on-change", "--json", db=db)
    assert json.loads(r.stdout)["threshold"] == 25 and json.loads(r.stdout)["alert_on_change"] is True
    first = json.loads(run_cli("monitors", "run", "--json", db=db).stdout)
    assert first["alerts"] == 0                                        # 10% is under 25%, and no previous run
    _more(db, tmp_path, _rows(200, 2, start=1000, day="2024-03-08"))
    r = run_cli("report", "--out", tmp_path / "out", "--json", db=db)
    summary = json.loads(r.stdout)
    assert summary["alerts"] == [{"monitor": "login", "alerts": ["above its threshold 25",
                                                                 "changed significantly since the last run"]}]
    top = summary["headlines"][0]                                      # alerts come first
    assert top["kind"] == "alert" and top["text"] == "Monitor 'login' is at 30.0%, above its threshold 25."


def test_unanswerable_question_is_not_saved(db):
    r = run_cli("ask", "Why do people uninstall it?", "--save", "why", db=db)
    assert r.returncode == 2
    assert "not answered (declined), so there is nothing to monitor" in r.stderr
    assert sql_rows(db, "SELECT count(*) FROM monitors") == [(0,)]
    assert run_cli("ask", QUESTION, "--save", "bad name!", db=db).returncode == 2
    empty = run_cli("ask", QUESTION, "--save", "", db=db)     # an empty name is refused, not silently skipped
    assert empty.returncode == 2 and "not allowed" in empty.stderr, empty.stderr


def test_failing_monitor_is_listed_and_report_exits_nonzero(db, tmp_path):
    import duckdb

    assert run_cli("ask", QUESTION, "--save", "login", db=db).returncode == 0
    con = duckdb.connect(str(db))
    con.execute("UPDATE monitors SET sql = 'SELECT count(*) FROM no_such_table'")
    con.close()
    r = run_cli("report", "--out", tmp_path / "out", "--json", db=db)
    assert r.returncode == 1
    summary = json.loads(r.stdout)
    [failed] = summary["failed"]
    assert failed["question"] == f"monitor login: {QUESTION}" and "no_such_table" in failed["reason"]
    assert "## Could not answer" in (tmp_path / "out" / "report.md").read_text()
    assert sql_rows(db, "SELECT status FROM monitor_runs") == [("error",)]


def test_remove(db):
    assert run_cli("ask", QUESTION, "--save", "login", db=db).returncode == 0
    assert run_cli("monitors", "run", db=db).returncode == 0
    assert run_cli("monitors", "remove", "login", db=db).returncode == 0
    assert sql_rows(db, "SELECT count(*) FROM monitors") == [(0,)]
    assert sql_rows(db, "SELECT count(*) FROM monitor_runs") == [(0,)]
    r = run_cli("monitors", "show", "login", db=db)
    assert r.returncode == 2 and "no monitor named 'login'" in r.stderr
