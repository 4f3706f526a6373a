"""`earful sql` and the read-only DuckDB layer under attack and under load (issue 11, "Trust").

Real DuckDB files in tmp_path, the real CLI in a subprocess where the behaviour is user-facing. Covers: many threads
reading one workspace at once, a workspace another process holds (busy, --wait), the time limit and Ctrl-C, and the
statements that hid a write (EXPLAIN ANALYZE) or were refused though they only read (PIVOT, several SELECTs).
"""
from __future__ import annotations

import os
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
