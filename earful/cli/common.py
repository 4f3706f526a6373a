"""Shared CLI plumbing: the per-invocation state (settings, store), and output as rich tables or JSON.

Every command prints a human table by default and one JSON document with ``--json``; `emit` does both so commands
never format output twice.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from earful.store.sql import json_text as dumps  # the one JSON form, shared with what the store saves

console = Console()
console_err = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="print machine-readable JSON")


@dataclass
class State:
    db: str | None = None
    config: str | None = None
    wait: float | None = None
    _settings: Any = field(default=None, repr=False)

    def settings(self, **overrides):
        """Settings for this invocation; also tells the store how long to wait for a busy workspace (--wait)."""
        from earful.config import load_settings
        from earful.store import set_default_wait

        if self._settings is None or overrides:
            merged = {"db": self.db, "wait_s": self.wait, **overrides}
            self._settings = load_settings(self.config, merged)
            set_default_wait(self._settings.wait_s)
            from earful.embeddings import set_default_model

            set_default_model(self._settings.embeddings.model)
        return self._settings

    def store(self, read_only: bool = False, create: bool = False):
        """The workspace. Only a command that writes new data (``ingest``) passes ``create=True``; for any other, a
        --db path that does not exist is an error, not a new empty workspace that then answers "0 reviews"."""
        from pathlib import Path

        from earful.store import Store

        db = self.settings().db
        if not create and not Path(db).exists():
            raise missing_workspace(db)
        store = Store(db, read_only=read_only)
        if not read_only:   # (a read-only store checks this where it opens the file)
            from earful.store.readonly import check_lake

            try:
                check_lake(store.con, db)
            except BaseException:
                store.close()
                raise
        return store


def missing_workspace(db) -> Exception:
    """The error for a --db path (or EARFUL_DB, or ./earful.duckdb) where there is no workspace."""
    from earful.errors import NotFoundError

    return NotFoundError(f"no workspace at {db}",
                         hint=f"create it with 'earful --db {db} ingest FILE', or point --db (or EARFUL_DB) "
                              "at an existing workspace")


def show_usage_error(exc) -> int:
    """Print a click/typer usage error as click does (usage line, "Try 'earful CMD -h' for help.", the error) with
    "Did you mean ...?" for a misspelt option; returns the exit code (2 for usage errors, 1 for Abort)."""
    show = getattr(exc, "show", None)
    if show is None:   # Abort: the user said no, or pressed Ctrl-D at a prompt
        return 1
    close = getattr(exc, "possibilities", None)
    if close and getattr(exc, "option_name", None):
        exc.message = f"No such option: {exc.option_name}. Did you mean {' or '.join(sorted(close))}?"
        exc.possibilities = None
    show()
    return int(getattr(exc, "exit_code", 2) or 2)


def state(ctx: typer.Context) -> State:
    return ctx.find_root().obj


def print_json(data) -> None:
    sys.stdout.write(dumps(data) + "\n")


def rich_table(columns: list[str], rows: list, title: str | None = None, max_width: int = 60) -> Table:
    """A table of data, shown as written: cells and headers are plain text, never rich markup (a review saying
    "[b]broken[/b]" or "[llm]" lost its brackets)."""
    from rich.text import Text

    t = Table(title=Text(title) if title else None, show_lines=False)
    for c in columns:
        t.add_column(Text(str(c)), overflow="fold", max_width=max_width)
    for r in rows:
        t.add_row(*[Text("" if v is None else str(v)) for v in r])
    return t


def emit(data, *, as_json: bool, columns: list[str] | None = None, rows: list | None = None,
         title: str | None = None) -> None:
    """Print `data` as JSON, or `columns`/`rows` as a rich table (falling back to a key/value table)."""
    if as_json:
        print_json(data)
        return
    if columns is None and isinstance(data, dict):
        columns, rows = ["key", "value"], [[k, v] for k, v in data.items()]
    console.print(rich_table(columns or [], rows or [], title=title))


def arrow_to_rows(tbl) -> tuple[list[str], list[list]]:
    cols = list(tbl.column_names)
    data = tbl.to_pylist()
    return cols, [[r[c] for c in cols] for r in data]
