"""Read-only SQL over a workspace, for `earful sql` and the agent's SQL path.

Two layers. The statement check gives a clear message for what is refused (anything but SELECT/WITH/DESCRIBE/
EXPLAIN/SHOW-like reads and PIVOT; EXPLAIN ANALYZE runs what it wraps, so that is checked too). The containment is
DuckDB itself: the file opened ``read_only``, with
``enable_external_access = false`` (no file-reading table functions, COPY, ATTACH, INSTALL/LOAD, httpfs) and
``lock_configuration = true`` so the query cannot switch that back on.

Over a lake catalog (`earful lake init`) the connection may read the lake's folder and nothing else, and a query
must not read every partition: `lake_guard` wants a date / source / item predicate or a LIMIT on the raw tables
(a source's own view, the rollups and the small tables are fine), and every query has a timeout and a row cap.
"""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

from earful.errors import ExecutionError, InputError, NotFoundError, ReadOnlyError

ALLOWED = {"SELECT", "EXPLAIN", "PRAGMA", "MULTI"}
READ_PRAGMAS = ("pragma table_info", "pragma show_tables", "pragma version", "pragma database_size",
                "pragma show", "pragma storage_info")
_HINT = "only SELECT / WITH / DESCRIBE / EXPLAIN / PIVOT queries run against a workspace"
# what EXPLAIN may carry before the statement it explains: ANALYZE and/or "(FORMAT JSON, ANALYZE)"-style options
_EXPLAIN_HEAD = re.compile(r"EXPLAIN\b(?:\s+ANALYZE\b)?\s*(?:\((?:\s*[A-Za-z_]+(?:\s+[A-Za-z_]+)?\s*,?)*\s*\))?",
                           re.IGNORECASE)
_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


def _refuse(kind: str, why: str = "") -> ReadOnlyError:
    return ReadOnlyError(f"refused: {kind} statements are not allowed here{why}; this path is read-only", hint=_HINT)


def _explained(text: str) -> str | None:
    """The statement an EXPLAIN [ANALYZE] wraps (its text), or None when its head is not one we can read exactly."""
    body = _COMMENTS.sub("", text, count=1)
    m = _EXPLAIN_HEAD.match(body)
    return body[m.end():] if m else None


def _only_reads(text: str) -> bool:
    """True when a MULTI statement (DuckDB expands a PIVOT without an IN list into several) is a query.

    DuckDB runs such a PIVOT as "CREATE TEMPORARY TYPE <enum of the pivot values>" plus the query, which is a read.
    But "CREATE TABLE t AS PIVOT ..." is MULTI too. The test: the text parses as a subquery in a FROM clause, where
    only a query can stand (it is one statement already, so it cannot close the parenthesis itself).
    """
    import duckdb

    try:
        wrapped = duckdb.extract_statements(f"SELECT * FROM (\n{text}\n)")
    except duckdb.Error:
        return False
    return len(wrapped) == 1 and wrapped[0].type.name in ("SELECT", "MULTI")


def _check_statement(kind: str, text: str, depth: int = 0) -> None:
    import duckdb

    if kind not in ALLOWED or (kind == "PRAGMA" and not text.lower().startswith(READ_PRAGMAS)):
        raise _refuse(kind)
    if kind == "MULTI" and not _only_reads(text):
        raise _refuse(kind, " (only a PIVOT/UNPIVOT query may expand to several statements)")
    if kind == "EXPLAIN":  # EXPLAIN ANALYZE runs what it wraps: check that like any other statement
        inner = _explained(text)
        try:
            parts = duckdb.extract_statements(inner) if inner and depth < 3 else []
        except duckdb.Error:
            parts = []
        if len(parts) != 1:
            raise _refuse(kind, " (the statement it explains could not be checked)")
        try:
            _check_statement(parts[0].type.name, parts[0].query.strip(), depth + 1)
        except ReadOnlyError as inner:
            raise _refuse(kind, f" when they wrap a {parts[0].type.name} statement (EXPLAIN ANALYZE would run it)") \
                from inner


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
        text = st.query.strip()
        _check_statement(st.type.name, text)
        out.append(text)
    if not out:
        raise InputError("no SQL statement given (only comments?)")
    return out


class QueryInterrupted(ExecutionError):
    """Ctrl-C stopped a read-only query; nothing was changed."""

    exit_code = 130


_LOCK = threading.Lock()  # guards _SHARED and every use of a shared base connection (cursor(), close())
_SHARED: dict[str, _Shared] = {}
CONFIG = {"enable_external_access": False, "autoinstall_known_extensions": False,
          "autoload_known_extensions": False}


# external access is turned off right after opening, once a lake catalog's folder is allowed (DuckDB takes
# allowed_directories only while external access is on)
_OPEN_CONFIG = {k: v for k, v in CONFIG.items() if k != "enable_external_access"}


def _lake_dirs(con) -> list[str]:
    """The local lake folders a lake catalog (`earful.lake.catalog`: a ``_lake`` table) reads; [] for a workspace.
    Only a folder that is a lake (it holds the manifest): a catalog file naming "/" gets no access at all."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                       "AND table_name = '_lake'").fetchall()[0][0]:
        return []
    return [str(Path(r[0]).resolve()).rstrip("/") + "/" for r in con.execute("SELECT url FROM _lake").fetchall()
            if r[0] and "://" not in r[0] and (Path(r[0]) / "_lake.json").is_file()]


def check_lake(con, db) -> None:
    """A lake catalog (`db`, opened as `con`) whose local lake folder is gone is a clear error saying how to point it
    at the lake again, not DuckDB's "file system operations are disabled" (or "no files found") on the first read."""
    if not is_lake_catalog(con):
        return
    gone = [r[0] for r in con.execute("SELECT url FROM _lake").fetchall()
            if r[0] and "://" not in r[0] and not Path(r[0]).exists()]
    if gone:
        raise NotFoundError(f"the lake at {gone[0]} that {db} reads is gone (no such folder)",
                            hint=f"put the folder back, or point the catalog at the lake's new place with "
                                 f"'earful --db {db} lake init FOLDER'")


def _allow_lake(con, db) -> None:
    """Allow reads under the local lake folder of a lake catalog, and nowhere else; a catalog whose lake folder is
    gone is a clear error, not DuckDB's "file system operations are disabled" on the first view read."""
    dirs = _lake_dirs(con)
    if not dirs:
        check_lake(con, db)
    if dirs:
        from earful.store.sql import quote_literal

        con.execute(f"SET allowed_directories = [{', '.join(quote_literal(d) for d in dirs)}]")


def lake_access(path: str, statements: list[str] | None = None, wait_s: float | None = None) -> list[str]:
    """For the agent's sandbox: the lake folders the database at `path` reads ([] for a .duckdb workspace), after
    `lake_guard` has checked `statements` (SQL the sandbox is about to run) over a lake catalog. A file that another
    process is writing is waited for up to `wait_s` (then `earful.store.WorkspaceBusyError`)."""
    con = connect_read_only(path, wait_s=wait_s)
    try:
        dirs = _lake_dirs(con)
        if dirs and statements:
            lake_guard(con, statements)
        return dirs
    finally:
        con.close()


# ---- queries over a lake catalog -------------------------------------------------------------------------------
LAKE_TIMEOUT_S = 120.0      # a query over a lake catalog stops after this long unless the caller gives a timeout
LAKE_MAX_ROWS = 100_000     # ... and may return at most this many rows
NARROWING = {"date", "created_at", "day", "month", "source", "item_id", "content_hash"}
PARTITION_KEYS = {"source", "date"}   # a query that reads only these (and counts) is answered from file metadata
LAKE_HINT = ("narrow it: WHERE date >= DATE '2024-01-01' (or created_at), WHERE source = 'NAME', or a LIMIT; "
             "counts by source, day, rating, label and topic are in rollup_items, rollup_labels and rollup_topics")


def is_lake_catalog(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name = '_lake'").fetchall()[0][0])


def _walk(node, out: dict, in_where: bool = False) -> None:
    """Collect from a DuckDB parse tree (json_serialize_sql): table names, CTE names, columns named in WHERE / ON /
    HAVING clauses, and whether the outermost query has a LIMIT."""
    if isinstance(node, list):
        for x in node:
            _walk(x, out, in_where)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "BASE_TABLE" and node.get("table_name"):
        out["tables"].add(node["table_name"].lower())
    if node.get("class") == "COLUMN_REF":
        name = {c.lower() for c in node.get("column_names", [])[-1:]}
        out["columns"] |= name
        if in_where:
            out["narrowed"] |= name & NARROWING
    if node.get("class") == "STAR" or node.get("type") == "STAR":
        out["columns"].add("*")
    for entry in (node.get("cte_map") or {}).get("map", []) if isinstance(node.get("cte_map"), dict) else []:
        out["ctes"].add(str(entry.get("key", "")).lower())
    for key, value in node.items():
        _walk(value, out, in_where or key in ("where_clause", "condition", "having", "qualify"))


def lake_guard(con, statements: list[str]) -> None:
    """Refuse a statement over a lake catalog's raw tables (its views over the items' Parquet files) that carries no
    date / source / item predicate and no LIMIT and reads a data column: it would read every partition (``count(*)``
    by source or date reads only the files' metadata, and runs). A source's own views (``<source>``,
    ``src_<source>``) are one source's partitions already; the rollups and the small tables are always fine. No-op
    on a .duckdb workspace."""
    import json

    if not is_lake_catalog(con):
        return
    views = {r[0].lower() for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                              "AND schema_name = 'main'").fetchall()}
    scoped = {n.lower() for r in con.execute("SELECT name, raw_table FROM sources").fetchall() for n in r if n}
    raw = {v for v in views if not v.startswith("rollup_")} - scoped
    for text in statements:
        words = text.split(None, 2)
        head = [w.upper() for w in words[:2]]
        if head[0] in ("DESCRIBE", "SHOW", "PRAGMA") or (head[0] == "EXPLAIN" and "ANALYZE" not in head[1:]):
            continue   # the schema, or a plan: nothing is read
        tree = json.loads(con.execute("SELECT json_serialize_sql(?::VARCHAR)", [text]).fetchall()[0][0])
        if tree.get("error"):   # not a plain query (DESCRIBE, PRAGMA, EXPLAIN, PIVOT): checked by its words
            words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}
            if words & raw and not words & NARROWING and "limit" not in words:
                raise InputError(f"refused: this query reads the raw lake table(s) {', '.join(sorted(words & raw))} "
                                 "whole", hint=LAKE_HINT)
            continue
        for st in tree.get("statements", []):
            out = {"tables": set(), "ctes": set(), "narrowed": set(), "columns": set()}
            _walk(st.get("node"), out)
            hit = (out["tables"] - out["ctes"]) & raw
            limited = any(m.get("type") == "LIMIT_MODIFIER" for m in (st.get("node") or {}).get("modifiers", []))
            keys_only = out["columns"] <= PARTITION_KEYS   # count(*), by source / date: no data column is read
            if hit and not out["narrowed"] and not limited and not keys_only:
                raise InputError(f"refused: a query over the raw lake table(s) {', '.join(sorted(hit))} must carry a "
                                 "date or source predicate or a LIMIT (it would read every partition)", hint=LAKE_HINT)


def _capped(con, text: str, cap: int):
    """The last statement's rows, at most `cap` of them (the lake's row cap): more is an error, not a cut."""
    rel = con.sql(text)
    if rel is None:
        return None
    tbl = rel.limit(cap + 1).to_arrow_table()
    if tbl.num_rows > cap:
        raise InputError(f"refused: the result has more than {cap:,} rows (the row cap for queries over a lake)",
                         hint="aggregate it (GROUP BY, count) or add a LIMIT")
    return tbl


class _Shared:
    """One configured, locked base connection to a file, and how many cursors of it are in use."""

    def __init__(self, base):
        self.base = base
        self.users = 0


def _open_base(path: str, memory_mb: int | None):
    """A new base connection: configured (UTC, memory limit, no progress bar on stdout), then locked."""
    import duckdb

    con = duckdb.connect(path, read_only=True, config=_OPEN_CONFIG)
    try:
        if not con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]:
            _allow_lake(con, path)   # a lake catalog's views read its lake's Parquet files: that folder only
            con.execute("SET enable_external_access = false")
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")  # local: cursors of this base inherit it
            if memory_mb:
                con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
            con.execute("SET lock_configuration = true")
        if con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]:
            raise ReadOnlyError(f"the read-only instance of {path} allows external access; refusing to use it")
    except BaseException:
        con.close()
        raise
    return con


class ReadOnlyConnection:
    """A cursor of the process's shared read-only connection to a workspace; ``close()`` hands it back.

    Behaves like a DuckDB connection (attributes are the cursor's). The shared base closes with its last cursor,
    so a writer in another process waits only while reads are running.
    """

    def __init__(self, key: str, cursor):
        self._key = key
        self._cursor = cursor

    def __getattr__(self, name):
        cur = self.__dict__.get("_cursor")
        if cur is None:
            raise AttributeError(name)
        return getattr(cur, name)

    def close(self) -> None:
        cur, self._cursor = self.__dict__.get("_cursor"), None
        if cur is None:
            return
        cur.close()
        with _LOCK:
            shared = _SHARED.get(self._key)
            if shared is not None:
                shared.users -= 1
                if shared.users <= 0:
                    del _SHARED[self._key]
                    shared.base.close()

    def __enter__(self) -> ReadOnlyConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # a caller that forgot close() must not keep the workspace open for the process's life
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _cursor_of_shared(path: str, memory_mb: int | None) -> ReadOnlyConnection:
    key = os.path.realpath(path)
    with _LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = _SHARED[key] = _Shared(_open_base(key, memory_mb))
        cur = shared.base.cursor()
        shared.users += 1
    return ReadOnlyConnection(key, cur)


def connect_read_only(path: str, *, memory_mb: int | None = None, wait_s: float | None = None):
    """A DuckDB connection that can read the workspace and nothing else on the machine.

    DuckDB keeps one database instance per file per process, and settings such as ``enable_external_access`` and
    ``lock_configuration`` belong to that instance: a second connection that tries to set them again fails. So
    the process keeps one base connection per file, configured and locked once, and every caller gets its own
    ``cursor()`` of it (a connection of its own, which inherits the base's settings), from any number of threads.
    `memory_mb` applies when this call opens the base. A busy file is waited for (`earful.store.open_waiting`).
    """
    import duckdb

    from earful.store import open_waiting

    if not Path(path).exists():
        raise NotFoundError(f"no workspace at {path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    try:
        return open_waiting(lambda: _cursor_of_shared(str(path), memory_mb), path, wait_s)
    except duckdb.IOException as exc:
        raise InputError(f"cannot open workspace {path}: {str(exc).splitlines()[0]}",
                         hint="is it a DuckDB workspace written by earful?") from exc
    except duckdb.Error as exc:
        raise InputError(f"{path} is not a DuckDB workspace: {str(exc).splitlines()[0]}") from exc


def _settle(done: threading.Event, patience_s: float = 30.0) -> None:
    """Wait for an interrupted query's thread to finish (DuckDB stops at its next check), ignoring more Ctrl-Cs."""
    end = time.monotonic() + patience_s
    while not done.is_set() and time.monotonic() < end:
        try:
            done.wait(0.1)
        except KeyboardInterrupt:
            continue


def run_read_only(path: str, sql: str, limit: int | None = None, *, timeout_s: float | None = None,
                  memory_mb: int | None = None, wait_s: float | None = None):
    """Check, then run `sql` read-only; returns a pyarrow Table of the last statement's result.

    Every statement runs in turn (each one's rows are drained) and the last one's result comes back. The query runs
    in a worker thread that this thread watches: after `timeout_s` seconds, or on Ctrl-C when this is the main
    thread, it is stopped with ``interrupt()`` (DuckDB does not see Python's SIGINT while it computes).
    """
    import duckdb

    statements = check_sql(sql)
    con = connect_read_only(path, memory_mb=memory_mb, wait_s=wait_s)
    cap = None
    try:
        if is_lake_catalog(con):   # a lake: no query reads every partition; a timeout and a row cap always
            lake_guard(con, statements)
            timeout_s, cap = timeout_s or LAKE_TIMEOUT_S, LAKE_MAX_ROWS
    except BaseException:
        con.close()
        raise
    box: dict = {}
    done = threading.Event()  # not Thread.is_alive(): a join() cut short by Ctrl-C can leave that wrong (< 3.13)

    def work() -> None:
        try:
            for text in statements[:-1]:
                cur = con.execute(text)
                while cur.fetchmany(10_000):
                    pass
            if cap is not None:
                box["table"] = _capped(con, statements[-1], cap)
            else:
                rel = con.sql(statements[-1])
                box["table"] = None if rel is None else rel.to_arrow_table()
        except BaseException as exc:  # handed to the watching thread
            box["error"] = exc
        finally:
            done.set()

    deadline = time.monotonic() + timeout_s if timeout_s else None
    why = None
    threading.Thread(target=work, name="earful-sql", daemon=True).start()
    try:
        while not done.wait(0.05):
            if deadline is not None and time.monotonic() > deadline:
                why = "timeout"
                con.interrupt()
                break
    except KeyboardInterrupt:
        why = "sigint"
        con.interrupt()
    _settle(done)
    if done.is_set():
        con.close()
    exc = box.get("error")
    if why == "sigint":
        raise QueryInterrupted("interrupted: the query was stopped (nothing was changed)")
    if (why == "timeout" and "table" not in box) or isinstance(exc, duckdb.InterruptException):
        raise ExecutionError(f"query stopped after {timeout_s:g} s (the [sql] timeout_s limit)",
                             hint="narrow the query, or raise timeout_s under [sql] in earful.toml "
                                  "(or EARFUL_SQL_TIMEOUT_S)")
    if isinstance(exc, duckdb.PermissionException):
        raise ReadOnlyError(f"refused by the read-only sandbox: {str(exc).splitlines()[0]}") from exc
    if isinstance(exc, duckdb.OutOfMemoryException):
        raise ExecutionError(f"query needs more memory than allowed: {str(exc).splitlines()[0]}",
                             hint="narrow the query, or raise memory_mb under [sql] in earful.toml") from exc
    if isinstance(exc, duckdb.Error):
        raise InputError(f"query failed: {str(exc).splitlines()[0]}") from exc
    if exc is not None:
        raise exc
    tbl = box.get("table")
    if tbl is None:
        import pyarrow as pa
        return pa.table({})
    return tbl.slice(0, limit) if limit else tbl
