"""The workspace store: one DuckDB file that every stage reads from and writes to.

`Store` owns the connection, runs migrations on open, gives transactions, and (re)builds each source's wide view.
Stages never hand DataFrames to each other; they write their own derived tables (keyed by ``item_id`` or
``content_hash``) and the view picks them up through the view-column registry in `earful.store.views`.

Design decision: a workspace that another process is writing (an ingest, a classify run) or that this process has
open the other way (read-only vs read-write) is *busy*, not broken. Every open goes through `open_waiting`, which
retries with backoff for a bounded time (``--wait`` / ``EARFUL_WAIT``, `set_default_wait`) like any database client,
then raises `WorkspaceBusyError` naming the process DuckDB says holds the file.
"""
from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

from earful.errors import EarfulError, InputError, NotFoundError
from earful.store import migrations
from earful.store.sql import quote_ident
from earful.store.views import refresh_view

__all__ = ["Store", "WorkspaceBusyError", "open_waiting", "quote_ident", "set_default_wait"]

_DEFAULT_WAIT_S = 10.0


class WorkspaceBusyError(EarfulError):
    """The workspace file is held by another process (or this one, opened the other way); try again later."""

    exit_code = 75  # EX_TEMPFAIL: the same command may work when the holder is done


def set_default_wait(seconds: float) -> None:
    """How long opens wait for a busy workspace when the caller does not say (the CLI sets it from --wait)."""
    global _DEFAULT_WAIT_S
    _DEFAULT_WAIT_S = max(0.0, float(seconds))


def _busy_reason(exc: Exception) -> str | None:
    """Why DuckDB could not open the file, when the reason is that someone else has it; else None."""
    import duckdb

    text = str(exc)
    if isinstance(exc, duckdb.IOException) and "Could not set lock on file" in text:
        m = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", text)
        if m:
            return f"another process holds it (PID {m.group(2)}, {Path(m.group(1)).name})"
        return "another process holds it"
    if isinstance(exc, duckdb.ConnectionException) and "different configuration" in text:
        return "this process has it open the other way (read-only vs read-write)"
    return None


def open_waiting(connect, path, wait_s: float | None = None):
    """Call ``connect()`` until it stops failing because the file is busy, for at most `wait_s` seconds."""
    wait = _DEFAULT_WAIT_S if wait_s is None else max(0.0, float(wait_s))
    deadline = time.monotonic() + wait
    delay = 0.02
    while True:
        try:
            return connect()
        except Exception as exc:
            reason = _busy_reason(exc)
            if reason is None:
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkspaceBusyError(
                    f"workspace {path} is busy: {reason}; waited {wait:g} s",
                    hint="try again when it finishes, or wait longer with 'earful --wait SECONDS ...' "
                         "(or EARFUL_WAIT)") from exc
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.5)


class Store:
    """A workspace. ``Store(path)`` opens (and migrates) it; ``Store(path, read_only=True)`` never writes.

    A read-only Store shares the process's read-only DuckDB instance with `earful.store.readonly` (external access
    off, configuration locked), so it can be open alongside any number of read-only queries from other threads.
    """

    def __init__(self, path: str | os.PathLike = "earful.duckdb", *, read_only: bool = False,
                 wait_s: float | None = None):
        import duckdb

        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise NotFoundError(f"no workspace at {self.path}",
                                hint="run 'earful ingest FILE' first, or pass --db PATH")
        if not read_only and self.path.parent and not self.path.parent.exists():
            raise InputError(f"folder {self.path.parent} does not exist", hint="create it or choose another --db path")
        if read_only:
            from earful.store.readonly import connect_read_only

            self.con = connect_read_only(str(self.path), wait_s=wait_s)
            return
        try:
            self.con = open_waiting(lambda: duckdb.connect(str(self.path)), self.path, wait_s)
        except duckdb.IOException as exc:
            raise EarfulError(f"cannot open workspace {self.path}: {exc}",
                              hint="is another earful process writing to it?") from exc
        except duckdb.Error as exc:
            raise InputError(f"{self.path} is not a DuckDB workspace: {exc}") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        with self.transaction():
            migrations.apply(self.con)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self):
        """One all-or-nothing unit of work: killed or failing half-way, the workspace is unchanged."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- queries --------------------------------------------------------------------------------------------
    def query(self, sql: str, params: list | None = None):
        """Run SQL and return a pyarrow Table (DuckDB 2.x: relations have no fetchone; use arrow)."""
        return self.con.sql(sql, params=params or None).to_arrow_table()

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def scalar(self, sql: str, params: list | None = None):
        row = self.con.execute(sql, params or []).fetchall()
        return row[0][0] if row else None

    def table_exists(self, name: str) -> bool:
        return bool(self.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema='main' AND table_name=?", [name]))

    # -- sources --------------------------------------------------------------------------------------------
    def sources(self) -> list[str]:
        return [r[0] for r in self.rows("SELECT name FROM sources ORDER BY name")]

    def source_info(self, name: str) -> dict:
        cur = self.con.execute("SELECT * FROM sources WHERE name = ?", [name])
        row = cur.fetchall()
        if not row:
            known = ", ".join(self.sources()) or "none yet"
            raise NotFoundError(f"no source named '{name}' (known: {known})", hint="ingest it with --source NAME")
        return dict(zip([d[0] for d in cur.description], row[0]))

    def refresh_views(self, source: str | None = None) -> None:
        """Rebuild the wide per-source view(s) so new derived columns (labels, topics) appear."""
        for name in [source] if source else self.sources():
            refresh_view(self.con, name, self.source_info(name)["raw_table"])
