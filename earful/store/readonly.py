"""Read-only SQL over a workspace, for `earful sql` and the agent's SQL path.

Two layers. The statement check gives a clear message for what is refused (anything but SELECT/WITH/DESCRIBE/
EXPLAIN/SHOW-like reads). The containment is DuckDB itself: the file opened ``read_only``, with
``enable_external_access = false`` (no file-reading table functions, COPY, ATTACH, INSTALL/LOAD, httpfs) and
``lock_configuration = true`` so the query cannot switch that back on.
"""
from __future__ import annotations

from earful.errors import InputError, ReadOnlyError

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


def connect_read_only(path: str):
    """A DuckDB connection that can read the workspace and nothing else on the machine."""
    import duckdb
    from pathlib import Path

    if not Path(path).exists():
        from earful.errors import NotFoundError
        raise NotFoundError(f"no workspace at {path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    con = duckdb.connect(str(path), read_only=True, config={
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    })
    con.execute("SET lock_configuration = true")
    return con


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
