"""IPython magics: ``%load_ext earful``, then

    %earful_db demo.duckdb              # choose the workspace (no argument: say which one is in use)
    %%ask                               # the cell is a question; the next %%ask cell follows up
    How many reviews mention battery?
    %%ask --new                         # a new conversation
    %earful_sql SELECT count(*) FROM items            # a polars DataFrame
    %%earful_sql --out by_app                         # a cell of SQL; also stored in the variable by_app
    SELECT app, count(*) AS n FROM reviews GROUP BY 1

Design decision: the magics hold one `Workspace` per shell (chosen by ``%earful_db``, else ``EARFUL_DB`` or the
settings' default) and do nothing else: every question and query goes through its methods. An `EarfulError` is
shown as its one-line message, not a traceback (the app layer's job, as the CLI does).
"""
from __future__ import annotations

import shlex
import sys

from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

from earful.errors import EarfulError, InputError


def _flags(line: str, allowed: dict[str, bool]) -> tuple[dict, list[str]]:
    """Parse ``--flag`` / ``--opt VALUE`` from a magic's line; `allowed` maps each name to whether it takes a value.
    Returns (options, the other words)."""
    opts: dict = {}
    rest: list[str] = []
    words = shlex.split(line or "")
    i = 0
    while i < len(words):
        w = words[i]
        name = w.lstrip("-").replace("-", "_") if w.startswith("-") else None
        if name == "o":
            name = "out"
        if name is None:
            rest.append(w)
        elif name not in allowed:
            raise InputError(f"unknown option {w}", hint="options: " + ", ".join("--" + k for k in allowed))
        elif allowed[name]:
            if i + 1 >= len(words):
                raise InputError(f"{w} needs a value")
            opts[name] = words[i + 1]
            i += 1
        else:
            opts[name] = True
        i += 1
    return opts, rest


@magics_class
class EarfulMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.workspace = None

    def _ws(self):
        if self.workspace is None:
            from earful.config import load_settings
            from earful.notebook.workspace import Workspace

            self.workspace = Workspace(load_settings().db)
        return self.workspace

    def _shown(self, fn):
        """Call `fn`; an EarfulError becomes its message on stderr (the cell's result is then None)."""
        try:
            return fn()
        except EarfulError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None

    @line_magic
    def earful_db(self, line: str = ""):
        """%earful_db PATH: questions and SQL in this notebook go to the workspace at PATH (no PATH: the current)."""
        from earful.notebook.workspace import Workspace

        path = (line or "").strip()
        if not path:
            return self._shown(self._ws)

        def choose():
            self.workspace = Workspace(shlex.split(path)[0])
            return self.workspace
        return self._shown(choose)

    @line_cell_magic
    def ask(self, line: str = "", cell: str | None = None):
        """%%ask [--new]: the cell is a question, continuing the conversation unless --new; returns the answer.
        %ask QUESTION asks a one-line question the same way."""
        def run():
            if cell is None:
                opts, words = _flags(line, {"new": False})
                question = " ".join(words)
            else:
                opts, _ = _flags(line, {"new": False})
                question = cell.strip()
            return self._ws().ask(question, new=bool(opts.get("new")))
        return self._shown(run)

    @line_cell_magic
    def earful_sql(self, line: str = "", cell: str | None = None):
        """%earful_sql QUERY, or a %%earful_sql [--out NAME] cell: read-only SQL over the workspace, as a polars
        DataFrame (with --out, also stored in the variable NAME)."""
        def run():
            if cell is None:
                query, out = line, None
            else:
                opts, _ = _flags(line, {"out": True})
                query, out = cell, opts.get("out")
            if not query.strip():
                raise InputError("no SQL given", hint="%earful_sql SELECT count(*) FROM items")
            result = self._ws().sql(query)
            if out:
                self.shell.user_ns[out] = result
            return result
        return self._shown(run)


def register(ipython) -> None:
    """Register the magics with an IPython shell (what ``%load_ext earful`` does)."""
    ipython.register_magics(EarfulMagics)
