"""`earful sql` and the read-only DuckDB layer under attack and under load (issue 11, "Trust").

Real DuckDB files in tmp_path, the real CLI in a subprocess where the behaviour is user-facing. Covers: many threads
reading one workspace at once, a workspace another process holds (busy, --wait), the time limit and Ctrl-C, and the
statements that hid a write (EXPLAIN ANALYZE) or were refused though they only read (PIVOT, several SELECTs).
"""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest

from earful.errors import ReadOnlyError
from tests.conftest import ROOT, run_cli

HOSTILE = ["SET enable_external_access = true", "SELECT * FROM read_csv('/etc/passwd')",
           "SET lock_configuration = false"]


@pytest.fixture
def ws(tmp_path):
    """A real workspace: Earful's migrations plus a small `reviews` table (g in 0..2)."""
    from earful.store import Store

    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        s.con.execute("CREATE TABLE reviews AS SELECT range AS i, range % 3 AS g, 'text ' || range AS text "
                      "FROM range(300)")
    return db


def test_many_threads_read_one_workspace_at_once(ws):
    from earful.store.readonly import connect_read_only, run_read_only

    errors: list[str] = []
    results: list[int] = []
    start = threading.Barrier(20)

    def client(n: int) -> None:
        start.wait()
        for q in range(20):
            try:
                if q % 2:
                    tbl = run_read_only(str(ws), f"SELECT count(*) AS n FROM reviews WHERE i >= {n}")
                    results.append(tbl.column("n")[0].as_py() + n)
                else:
                    con = connect_read_only(str(ws))
                    try:
                        results.append(con.execute("SELECT count(*) FROM reviews").fetchall()[0][0])
                    finally:
                        con.close()
            except Exception as exc:  # noqa: BLE001 - every failure is what this test counts
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [300] * 400
    # a single client afterwards still works, and the containment still holds
    assert run_read_only(str(ws), "SELECT count(*) AS n FROM reviews").column("n")[0].as_py() == 300
    for bad in HOSTILE:
        with pytest.raises(ReadOnlyError):
            run_read_only(str(ws), bad)
    con = connect_read_only(str(ws))
    try:
        assert con.execute("SELECT current_setting('enable_external_access'), "
                           "current_setting('lock_configuration')").fetchall() == [(False, True)]
    finally:
        con.close()


def test_hostile_statements_refused_while_other_connections_are_open(ws):
    from earful.store.readonly import connect_read_only, run_read_only

    held = [connect_read_only(str(ws)) for _ in range(3)]
    try:
        for bad in HOSTILE:
            with pytest.raises(ReadOnlyError):
                run_read_only(str(ws), bad)
        with pytest.raises(Exception, match="(?i)locked|external access|disabled"):
            held[0].execute("SET enable_external_access = true")
    finally:
        for c in held:
            c.close()


HOLD = ("import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n"
        "con.close()\n")


@pytest.fixture
def holder(ws):
    """Another process holding the workspace read-write (as an ingest does) until told to let go."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(ws)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.stdin.close()
        proc.wait(30)


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from earful.cli import main; main()", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("command", [["sql", "SELECT count(*) AS n FROM reviews"], ["ask", "How many reviews?"]])
def test_busy_workspace_says_busy_after_waiting(ws, holder, command):
    r = run_cli("--wait", "1", *command, db=ws)
    assert r.returncode != 0
    assert "unexpected" not in r.stderr
    assert "busy" in r.stderr and f"PID {holder.pid}" in r.stderr, r.stderr
    assert "--wait" in r.stderr


@pytest.mark.slow
def test_busy_workspace_is_waited_for(ws, holder):
    proc = _cli("--db", str(ws), "--wait", "60", "sql", "SELECT count(*) AS n FROM reviews", "--json")
    time.sleep(1.5)  # the CLI is now waiting for the holder (or still starting: either way it must succeed)
    assert proc.poll() is None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert '"rows": [[300]]' in out


RUNAWAY = "SELECT count(*) AS n FROM range(1000000000) a, range(1000000000) b WHERE a.range + b.range = 7"


@pytest.mark.slow
def test_runaway_query_is_stopped_by_the_time_limit(ws):
    env_cfg = ws.parent / "earful.toml"
    env_cfg.write_text("[sql]\ntimeout_s = 1\nmemory_mb = 512\n")
    r = run_cli("--config", str(env_cfg), "sql", RUNAWAY, db=ws)
    assert r.returncode == 1, r.stderr
    assert "stopped after 1 s (the [sql] timeout_s limit)" in r.stderr
    assert "unexpected" not in r.stderr


def test_memory_limit_applies_and_no_progress_bar_reaches_stdout(ws):
    from earful.store.readonly import run_read_only

    tbl = run_read_only(str(ws), "SELECT current_setting('memory_limit') AS m, "
                                 "current_setting('enable_progress_bar') AS bar", memory_mb=300)
    assert tbl.to_pylist() == [{"m": "286.1 MiB", "bar": False}]  # 300 MB, shown in MiB


@pytest.mark.slow
def test_ctrl_c_interrupts_the_query(ws):
    proc = _cli("--db", str(ws), "sql", RUNAWAY)
    time.sleep(3)  # started and computing
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("earful sql ignored Ctrl-C for 30 s")
    assert proc.returncode == 130, err
    assert "query was stopped" in err


def test_explain_analyze_checks_what_it_wraps(ws):
    from earful.store.readonly import run_read_only

    for bad in ["EXPLAIN ANALYZE CREATE TEMP VIEW reviews AS SELECT 1 AS i",
                "EXPLAIN ANALYZE INSERT INTO reviews VALUES (1, 1, 'x')",
                "EXPLAIN (FORMAT json) CREATE TEMP TABLE t AS SELECT 1"]:
        with pytest.raises(ReadOnlyError, match="EXPLAIN"):
            run_read_only(str(ws), bad)
    r = run_cli("sql", "EXPLAIN ANALYZE CREATE TEMP VIEW reviews AS SELECT 1 AS i", db=ws)
    assert r.returncode == 2 and "refused" in r.stderr
    assert run_read_only(str(ws), "EXPLAIN ANALYZE SELECT count(*) FROM reviews").num_rows >= 1


def test_pivot_and_several_statements_read(ws):
    from earful.store.readonly import run_read_only

    tbl = run_read_only(str(ws), "PIVOT (SELECT g FROM reviews) ON g USING count(*)")  # DuckDB runs 2 statements
    assert sorted(tbl.column_names) == ["0", "1", "2"] and tbl.to_pylist() == [{"0": 100, "1": 100, "2": 100}]
    tbl = run_read_only(str(ws), "UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v")
    assert tbl.to_pylist() == [{"k": "a", "v": 1}, {"k": "b", "v": 2}]
    with pytest.raises(ReadOnlyError):
        run_read_only(str(ws), "CREATE TABLE z AS PIVOT reviews ON g USING count(*)")
    r = run_cli("sql", "SELECT 1 AS a; SELECT 2 AS b", "--json", db=ws)
    assert r.returncode == 0, r.stderr
    assert '"columns": ["b"], "rows": [[2]]' in r.stdout


@pytest.mark.slow
def test_writer_and_readers_in_one_process_wait_for_each_other(ws):
    """A web server's threads: a read-write Store (saving a turn) waits for running reads, and reads wait for it."""
    from earful.store import Store, WorkspaceBusyError
    from earful.store.readonly import connect_read_only

    reader = connect_read_only(str(ws))
    threading.Timer(0.5, reader.close).start()
    with Store(ws, wait_s=30) as s:   # opens once the reader is done
        s.con.execute("CREATE TABLE turns AS SELECT 1 AS n")
        with pytest.raises(WorkspaceBusyError, match="busy: this process has it open the other way"):
            connect_read_only(str(ws), wait_s=0.2)
        closer = threading.Timer(0.5, s.close)
        closer.start()
        con = connect_read_only(str(ws), wait_s=30)   # opens once the writer is done
        try:
            assert con.execute("SELECT n FROM turns").fetchall() == [(1,)]
        finally:
            con.close()
        closer.join()
