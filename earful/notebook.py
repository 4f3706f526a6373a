"""Jupyter: a `Workspace` object whose answers render inline (text, tables, plotly charts, the code that ran).

    from earful.notebook import Workspace
    ws = Workspace("demo.duckdb")
    ws.ask("How many reviews mention battery?")      # renders in the cell
    ws.sql("SELECT app, count(*) FROM reviews GROUP BY 1").pl()   # polars DataFrame

It goes through the same `ask` path, settings and read-only SQL as the CLI.
"""
from __future__ import annotations

from pathlib import Path

from earful.web.render import answer_html, plotly_js


class NotebookAnswer:
    """An Answer dict that renders as HTML in Jupyter; `.data` is the JSON contract, `.tables_pl()` polars frames."""

    _js_sent = False

    def __init__(self, data: dict):
        self.data = data

    def __getitem__(self, key):
        return self.data[key]

    def __repr__(self) -> str:
        return f"<{self.data['status']}: {self.data['answer']}>"

    def _repr_html_(self) -> str:
        head = ""
        if not NotebookAnswer._js_sent:  # load plotly.js once per kernel, from the installed package
            head = f"<script>{plotly_js()}</script>"
            NotebookAnswer._js_sent = True
        return head + answer_html(self.data)

    def tables_pl(self):
        import polars as pl

        return [pl.DataFrame(t["rows"], schema=t["columns"], orient="row") for t in self.data.get("tables", [])]


class SqlResult:
    def __init__(self, table):
        self.table = table

    def pl(self):
        import polars as pl

        return pl.from_arrow(self.table)

    def _repr_html_(self) -> str:
        from earful.cli.common import arrow_to_rows
        from earful.web.render import table_html

        cols, rows = arrow_to_rows(self.table)
        return table_html(cols, rows)


class Workspace:
    def __init__(self, db: str | Path = "earful.duckdb", **settings_overrides):
        from earful.config import load_settings

        self.settings = load_settings(overrides={"db": str(db), **settings_overrides})
        from earful.embeddings import set_default_model

        set_default_model(self.settings.embeddings.model)
        self.conversation_id: str | None = None

    def ask(self, question: str, *, new_conversation: bool = False) -> NotebookAnswer:
        """Ask a question; follow-ups continue the same conversation unless `new_conversation`."""
        from earful.qa_agent.ask import ask
        from earful.qa_agent.base import AskContext

        if new_conversation:
            self.conversation_id = None
        ctx = AskContext(db_path=self.settings.db, settings=self.settings, conversation_id=self.conversation_id,
                         output_dir=str(Path(self.settings.db).resolve().parent / "earful-output"))
        ans = ask(question, ctx).to_json()
        self.conversation_id = ans.get("conversation_id") or self.conversation_id
        return NotebookAnswer(ans)

    def sql(self, query: str) -> SqlResult:
        from earful.store.readonly import run_read_only

        return SqlResult(run_read_only(self.settings.db, query))
