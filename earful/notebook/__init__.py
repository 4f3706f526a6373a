"""Jupyter: a `Workspace` whose answers render inline, and the ``%%ask`` / ``%earful_sql`` magics.

    from earful.notebook import Workspace
    ws = Workspace("demo.duckdb")
    ws.ask("How many reviews mention battery?")      # text, chart, table and SQL in the cell
    ws.ask("and per app?")                            # a follow-up: the same conversation
    ws.sql("SELECT app, count(*) FROM reviews GROUP BY 1")   # a polars DataFrame (ws.df(...): pandas)
    ws.topics(); ws.topic_charts(); ws.profile(...)

or, after ``%load_ext earful``, ``%earful_db demo.duckdb`` and a ``%%ask`` cell (see `earful.notebook.magics`).

Design decision: the notebook is one more app over the same `ask` path, settings and read-only SQL as the CLI and
the web chat, and renders answers with the web chat's one renderer (`earful.web.render`), so a cell shows what the
chat shows.
"""
from __future__ import annotations

from earful.notebook.display import NotebookAnswer, NotebookProfile, TopicCharts
from earful.notebook.workspace import Workspace

__all__ = ["Workspace", "NotebookAnswer", "NotebookProfile", "TopicCharts", "load_ipython_extension"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext earful.notebook`` (``%load_ext earful`` calls this too): register the magics."""
    from earful.notebook.magics import register

    register(ipython)
