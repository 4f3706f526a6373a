"""The workspace store: one DuckDB file that every stage reads from and writes to.

`Store` owns the connection, runs migrations on open, gives transactions, and (re)builds each source's wide view.
Stages never hand DataFrames to each other; they write their own derived tables (keyed by ``item_id`` or
``content_hash``) and the view picks them up through the view-column registry in `earful.store.views`.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from earful.errors import EarfulError, InputError, NotFoundError
from earful.store import migrations
from earful.store.views import refresh_view, quote_ident

__all__ = ["Store", "quote_ident"]


class Store:
    """A workspace. ``Store(path)`` opens (and migrates) it; ``Store(path, read_only=True)`` never writes."""

    def __init__(self, path: str | os.PathLike = "earful.duckdb", *, read_only: bool = False):
        import duckdb

        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise NotFoundError(f"no workspace at {self.path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
        if not read_only and self.path.parent and not self.path.parent.exists():
            raise InputError(f"folder {self.path.parent} does not exist", hint="create it or choose another --db path")
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.ConnectionException as exc:
            raise EarfulError(f"cannot open workspace {self.path}: it is already open in this process "
                              f"({'read-write' if read_only else 'read-only'})",
                              hint="close the other Store first") from exc
        except duckdb.IOException as exc:
            raise EarfulError(f"cannot open workspace {self.path}: {exc}",
                              hint="is another earful process writing to it?") from exc
        except duckdb.Error as exc:
            raise InputError(f"{self.path} is not a DuckDB workspace: {exc}") from exc
        self.con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            with self.transaction():
                migrations.apply(self.con)

    # -- lifecycle ------------------------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
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
