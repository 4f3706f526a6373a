"""Read-only SQL over a workspace, for `earful sql` and the agent's SQL path.

Two layers. The statement check gives a clear message for what is refused (anything but SELECT/WITH/DESCRIBE/
EXPLAIN/SHOW-like reads). The containment is DuckDB itself: the file opened ``read_only``, with
``enable_external_access = false`` (no file-reading table functions, COPY, ATTACH, INSTALL/LOAD, httpfs) and
``lock_configuration = true`` so the query cannot switch that back on.
"""
from __future__ import annotations

import threading
from pathlib import Path

from earful.errors import InputError, NotFoundError, ReadOnlyError

ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA"}
READ_PRAGMAS = ("pragma table_info", "pragma show_tables", "pragma version", "pragma database_size",
                "pragma show", "pragma storage_info")


def check_sql(sql: str) -> list[str]:
    """Split `sql` into statements and refuse any that could write. Returns the statements' texts."""
    import duckdb

    if not sql or not sql.strip():
        raise InputError("no SQL given")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"SQL does not parse: {str(exc).splitlines()[0]}") from exc
    out = []
    for st in statements:
        kind = st.type.name
        text = st.query.strip()
        if kind not in ALLOWED or (kind == "PRAGMA" and not text.lower().startswith(READ_PRAGMAS)):
            raise ReadOnlyError(f"refused: {kind} statements are not allowed here; this path is read-only",
                                hint="only SELECT / WITH / DESCRIBE / EXPLAIN queries run against a workspace")
        out.append(text)
    return out


_OPEN_LOCK = threading.Lock()
CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
          "autoload_known_extensions": False}


def _configure_once(con, memory_mb: int | None) -> None:
    """Set the instance-wide options and lock them, unless an earlier connection to this instance already did."""
    if con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
        return
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    if memory_mb:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    con.execute("SET lock_configuration = true")


def _connect_once(path: str, memory_mb: int | None):
    import duckdb

    with _OPEN_LOCK:  # one thread at a time configures: no race between "is it locked?" and "lock it"
        con = duckdb.connect(path, read_only=True, config=CONFIG)
        try:
            _configure_once(con, memory_mb)
            if con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]:
                raise ReadOnlyError(f"the read-only instance of {path} allows external access; refusing to use it")
        except BaseException:
            con.close()
            raise
    return con


def connect_read_only(path: str, *, memory_mb: int | None = None, wait_s: float | None = None):
    """A DuckDB connection that can read the workspace and nothing else on the machine.

    DuckDB keeps one database instance per file per process, shared by every connection to it, and settings such as
    ``enable_external_access`` and ``lock_configuration`` belong to that instance. So every read-only connection is
    opened with the same config, and only the first one on a fresh instance sets the time zone and memory limit and
    locks the configuration; the others find it locked (checked) and share it, from any number of threads. The
    instance closes with its last connection, so writers in other processes are not locked out for longer.
    `memory_mb` therefore applies when this call creates the instance. A busy file is waited for (`open_waiting`).
    """
    import duckdb

    from earful.store import open_waiting

    if not Path(path).exists():
        raise NotFoundError(f"no workspace at {path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    try:
        return open_waiting(lambda: _connect_once(str(path), memory_mb), path, wait_s)
    except duckdb.IOException as exc:
        raise InputError(f"cannot open workspace {path}: {str(exc).splitlines()[0]}",
                         hint="is it a DuckDB workspace written by earful?") from exc
    except duckdb.Error as exc:
        raise InputError(f"{path} is not a DuckDB workspace: {str(exc).splitlines()[0]}") from exc


def run_read_only(path: str, sql: str, limit: int | None = None):
    """Check, then run `sql` read-only; returns a pyarrow Table of the last statement's result."""
    import duckdb

    statements = check_sql(sql)
    con = connect_read_only(path)
    try:
        for text in statements[:-1]:
            con.execute(text)
        rel = con.sql(statements[-1])
        if rel is None:
            import pyarrow as pa
            return pa.table({})
        tbl = rel.to_arrow_table()
        return tbl.slice(0, limit) if limit else tbl
    except duckdb.PermissionException as exc:
        raise ReadOnlyError(f"refused by the read-only sandbox: {str(exc).splitlines()[0]}") from exc
    except duckdb.Error as exc:
        raise InputError(f"query failed: {str(exc).splitlines()[0]}") from exc
    finally:
        con.close()
