"""The executor's contract over a real workspace: results as tables, errors as values (never raised), charts from
Python, row caps, the fallback sandbox announcing itself once, and the two containment defects of the Trust issue:
bwrap's own init process must not carry Earful's environment, and modes that cannot contain writes refuse Python.
(tests/test_sandbox_conformance.py runs the full hostile suite through every mode.)
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from earful.config import load_settings
from earful.qa_agent.executor import run_python, run_sql, sandbox, sandbox_mode


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
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
    monkeypatch.setattr(sandbox, "_NOTICES_SHOWN", set())
    fb = load_settings(environ={}, overrides={"agent": {"sandbox": "subprocess"}})
    first = run_sql(str(db), "SELECT count(*) FROM items", fb)
    second = run_sql(str(db), "SELECT count(*) FROM items", fb)
    assert first.ok and first.sandbox == "subprocess" and "only SQL runs" in first.notice
    assert "Python is refused" in first.notice and "apt-get install bubblewrap" in first.notice
    assert second.ok and second.notice is None


def _needs_bwrap():
    from earful.errors import ConfigError

    try:
        sandbox.detect_mode("bwrap")
    except ConfigError:
        pytest.skip("bubblewrap does not work on this machine")


ENV_PROBE = """
import glob, os
seen, read = [repr(dict(os.environ))], []
for p in ['/proc/self/environ', '/proc/1/environ'] + glob.glob('/proc/*/environ'):
    try:
        seen.append(open(p, 'rb').read().decode('latin-1'))
        read.append(p)
    except OSError as e:
        seen.append(repr(e))
raise RuntimeError(repr(read) + ' || ' + ' || '.join(seen)[:8000])
"""


def test_bwrap_init_process_does_not_carry_earfuls_environment(ws, monkeypatch):
    """bwrap's own init (pid 1 inside) kept the environment bwrap was started with, whatever --clearenv gave the
    child: a program read OPENAI_API_KEY from /proc/1/environ and raised it as its error (which went on to the LLM)."""
    _needs_bwrap()
    db, _ = ws
    canary = "sk-canary-5e1f0c2d9a"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    bw = load_settings(environ={}, overrides={"agent": {"sandbox": "bwrap"}})
    res = run_python(str(db), ENV_PROBE, bw)
    assert res.sandbox == "bwrap" and not res.ok and "RuntimeError" in res.error
    assert "'/proc/1/environ'" in res.error.split(" || ")[0]   # the probe did read bwrap's init's environment
    assert canary not in json.dumps([res.error, res.traceback, res.stdout, res.rows], default=str)


HOSTILE_WRITE = """
import sys
open({target!r}, 'r+b').write(b'PWNED')
open([p for p in sys.path if p.endswith('site-packages')][0] + '/zz_earful_pwned_probe.pth', 'w').write('# x')
result = {{'done': [1]}}
"""


@pytest.mark.parametrize("mode", ["subprocess", "unshare"])
def test_modes_that_cannot_contain_writes_refuse_python(mode, tmp_path):
    """unshare and subprocess let generated code write host files (a workspace file got a PWNED header, a .pth
    was planted in the virtualenv): they now run SQL only, and say how to get Python."""
    import sysconfig

    from earful.errors import ConfigError, EarfulError

    settings = load_settings(environ={}, overrides={"agent": {"sandbox": mode, "timeout_s": 5}})
    try:
        sandbox_mode(settings)
    except ConfigError as exc:
        pytest.skip(f"{mode} does not work here: {exc}")
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).execute("CREATE TABLE t AS SELECT 42 AS x").close()
    victim = tmp_path / "notes.txt"
    victim.write_bytes(b"original")
    pth = Path(sysconfig.get_paths()["purelib"]) / "zz_earful_pwned_probe.pth"
    try:
        res = run_python(str(db), HOSTILE_WRITE.format(target=str(victim)), settings)
        planted = pth.exists()
    finally:
        pth.unlink(missing_ok=True)
    assert not planted and victim.read_bytes() == b"original"
    from earful.qa_agent.executor import PythonRefused, python_allowed

    assert not res.ok and res.sandbox == mode and res.error == str(PythonRefused(mode))
    assert isinstance(PythonRefused(mode), EarfulError) and not python_allowed(settings)
    assert "apt-get install bubblewrap" in res.error and 'sandbox = "unsafe"' in res.error and "SQL" in res.error
    assert run_sql(str(db), "SELECT x FROM t", settings).rows == [[42]]      # SQL still answers


def test_auto_without_bubblewrap_is_sql_only_never_unsafe(ws, monkeypatch):
    db, _ = ws
    monkeypatch.setattr(sandbox, "_WORKS", {"bwrap": False})
    auto = load_settings(environ={}, overrides={"agent": {"sandbox": "auto"}})
    assert sandbox_mode(auto) in ("unshare", "subprocess")
    res = run_python(str(db), "result = {'x': [1]}", auto)
    assert not res.ok and res.error.startswith("Python is not run in sandbox mode")
    assert run_sql(str(db), "SELECT count(*) AS n FROM items", auto).ok


def test_unsafe_runs_python_with_an_empty_environment_and_says_what_is_exposed(ws, monkeypatch):
    db, n = ws
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-unsafe-77")
    monkeypatch.setattr(sandbox, "_NOTICES_SHOWN", set())
    unsafe = load_settings(environ={}, overrides={"agent": {"sandbox": "unsafe"}})
    res = run_python(str(db), "import os\nresult = {'n': [con.execute('SELECT count(*) FROM items').fetchone()[0]],"
                              " 'env': [sorted(os.environ)], 'db': [con.execute('PRAGMA database_list').fetchall()]}",
                     unsafe)
    assert res.ok and res.sandbox == "unsafe" and res.rows[0][0] == n, res.error
    assert "OPENAI_API_KEY" not in res.rows[0][1] and str(db) not in json.dumps(res.rows[0][2])   # a copy
    for exposed in ("READ every file", "WRITE wherever", "NETWORK", "NOT contained"):
        assert exposed in res.notice


def test_a_named_mode_that_cannot_start_is_a_config_error(monkeypatch):
    from earful.errors import ConfigError

    monkeypatch.setattr(sandbox, "_WORKS", {"bwrap": False, "unshare": False})
    for mode in ("bwrap", "unshare"):
        with pytest.raises(ConfigError, match="apt-get install bubblewrap"):
            sandbox.detect_mode(mode)
    assert sandbox.detect_mode("auto") == "subprocess" and sandbox.detect_mode("unsafe") == "unsafe"


def test_unknown_sandbox_setting_is_a_config_error():
    from earful.errors import ConfigError

    with pytest.raises(ConfigError):
        sandbox.detect_mode("docker")


def _hold_for_writing(db: Path, seconds: float):
    """Another process holding the workspace read-write (as an ingest does) for `seconds`."""
    import subprocess
    import sys

    code = (f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('held', flush=True); "
            f"time.sleep({seconds}); c.close()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.slow
def test_a_workspace_being_written_is_waited_for_then_called_busy(tmp_path):
    """The sandboxed runner used to hand DuckDB's lock error to the agent's repair loop, which cannot fix it."""
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 42 AS a")
    settings = load_settings(overrides={"wait_s": 1.0}, environ={})
    holder = _hold_for_writing(db, 30)
    try:
        res = run_sql(str(db), "SELECT a FROM t", settings)
    finally:
        holder.kill()
        holder.wait()
    assert not res.ok and "workspace is busy" in res.error and "--wait" in res.error
    holder = _hold_for_writing(db, 1.5)          # released while we wait: the query then runs
    try:
        res = run_sql(str(db), "SELECT a FROM t", load_settings(overrides={"wait_s": 20.0}, environ={}))
    finally:
        holder.wait()
    assert res.ok and res.rows == [[42]], res.error
