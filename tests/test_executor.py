"""The executor's contract over a real workspace: results as tables, errors as values (never raised), charts from
Python, row caps, and the fallback sandbox announcing itself once.
"""
from __future__ import annotations

import pytest

from earful.config import load_settings
from qa_agent.executor import run_python, run_sql, sandbox, sandbox_mode


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from earful.store import Store
    from ingest.pipeline import ingest_file
    from tests.conftest import EXAMPLES

    db = tmp_path_factory.mktemp("exec") / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, EXAMPLES / "tizard_forum_sentences.csv", source="forum")
        n = s.scalar("SELECT count(*) FROM items")
    return db, n


def test_sql_result_matches_in_process_duckdb(ws):
    db, n = ws
    res = run_sql(str(db), "SELECT product, count(*) AS n FROM forum GROUP BY product ORDER BY n DESC")
    assert res.ok and res.columns == ["product", "n"] and sum(r[1] for r in res.rows) == n
    assert res.tables[0]["name"] == "result" and res.sandbox == sandbox_mode()


def test_in_process_path_gives_the_same_rows_and_still_refuses_writes(ws):
    db, _ = ws
    sql = "SELECT product, count(*) AS n FROM forum GROUP BY product ORDER BY product"
    inp = run_sql(str(db), sql, in_process=True)
    assert inp.sandbox == "in-process" and inp.rows == run_sql(str(db), sql).rows
    assert not run_sql(str(db), "DROP TABLE items", in_process=True).ok
    assert not run_sql(str(db), "SELECT * FROM read_csv('/etc/passwd')", in_process=True).ok


def test_sql_errors_are_values(ws):
    db, _ = ws
    bad = run_sql(str(db), "SELECT nope FROM forum")
    assert not bad.ok and "nope" in bad.error
    assert not run_sql(str(db), "SELEC 1").ok
    assert "no workspace" in run_sql(str(db.parent / "missing.duckdb"), "SELECT 1").error


def test_row_cap_marks_truncation(ws):
    db, n = ws
    res = run_sql(str(db), "SELECT item_id FROM items", max_rows=5)
    assert res.ok and len(res.rows) == 5 and res.truncated


def test_python_tables_stdout_and_chart(ws):
    db, n = ws
    code = ("import polars as pl\nimport plotly.express as px\n"
            "df = con.sql('SELECT product, count(*) AS n FROM forum GROUP BY 1 ORDER BY 1').pl()\n"
            "print('rows', df.height)\nresult = df\ntables = {'total': {'n': [int(df['n'].sum())]}}\n"
            "fig = px.line(x=df['product'].to_list(), y=df['n'].to_list(), title='per product')")
    res = run_python(str(db), code)
    assert res.ok, res.error
    assert [t["name"] for t in res.tables] == ["result", "total"] and res.tables[1]["rows"] == [[n]]
    assert res.stdout.startswith("rows ")
    assert res.charts[0]["title"] == "per product" and sum(res.charts[0]["plotly"]["data"][0]["y"]) == n


def test_python_errors_come_back_with_traceback(ws):
    db, _ = ws
    syn = run_python(str(db), "result = (")
    assert not syn.ok and syn.error.startswith("SyntaxError")
    err = run_python(str(db), "x = 1\nresult = 1 / 0")
    assert not err.ok and "ZeroDivisionError" in err.error and "<generated>" in err.traceback


def test_fallback_mode_announces_itself_once(ws, monkeypatch):
    db, _ = ws
    monkeypatch.setattr(sandbox, "_NOTICE_SHOWN", False)
    fb = load_settings(environ={}, overrides={"agent": {"sandbox": "subprocess"}})
    first = run_sql(str(db), "SELECT count(*) FROM items", fb)
    second = run_sql(str(db), "SELECT count(*) FROM items", fb)
    assert first.ok and first.sandbox == "subprocess" and "NOT cut off" in first.notice
    assert second.ok and second.notice is None


def test_unknown_sandbox_setting_is_a_config_error():
    from earful.errors import ConfigError

    with pytest.raises(ConfigError):
        sandbox.detect_mode("docker")
