"""`Workspace`: one workspace file in a notebook, with ``ask`` (a conversation), ``sql``/``df``, ``topics``,
``topic_charts`` and ``profile``.

Design decision: a `Workspace` only reads. Questions go through `earful.qa_agent.ask.ask` (the CLI's path: settings,
engines, the saved conversation), SQL through the read-only path of ``earful sql``, and a missing or unreadable
file is an `EarfulError` saying what to do, raised here, before anything deep inside can fail on it.
"""
from __future__ import annotations

from pathlib import Path

from earful.errors import EarfulError, InputError, NotFoundError
from earful.notebook.display import NotebookAnswer, NotebookProfile, TopicCharts, frame
from earful.store.sql import quote_literal


def check_workspace(db) -> Path:
    """The workspace file at `db`, or a clear error: none there, or a folder."""
    p = Path(db).expanduser()
    if not p.exists():
        raise NotFoundError(f"no workspace at {db}",
                            hint="run 'make demo' (builds demo.duckdb) or 'earful --db PATH ingest FILE' first, or "
                                 "build a small one with earful.notebook.sample.sample_workspace(PATH)")
    if p.is_dir():
        raise InputError(f"{db} is a folder, not a workspace file", hint="pass the .duckdb file inside it")
    return p


class Workspace:
    """A workspace (DuckDB file) to question from Python. Follow-up questions continue one conversation."""

    def __init__(self, db: str | Path = "earful.duckdb", **settings_overrides):
        from earful.config import load_settings
        from earful.embeddings import set_default_model

        self.path = check_workspace(db)
        self.settings = load_settings(overrides={"db": str(self.path), **settings_overrides})
        set_default_model(self.settings.embeddings.model)
        self.conversation_id: str | None = None

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- questions ----------------------------------------------------------------------------------------------
    def ask(self, question: str, *, new: bool = False, new_conversation: bool = False) -> NotebookAnswer:
        """Ask a question; it continues this workspace's conversation unless `new` (alias `new_conversation`)."""
        from earful.qa_agent.ask import ask
        from earful.qa_agent.base import AskContext

        if not str(question or "").strip():
            raise InputError("the question is empty", hint="ws.ask('How many reviews mention battery?')")
        if new or new_conversation:
            self.conversation_id = None
        ctx = AskContext(db_path=str(self.path), settings=self.settings, conversation_id=self.conversation_id,
                         output_dir=str(self.path.resolve().parent / "earful-output"))
        ans = ask(question, ctx).to_json()
        self.conversation_id = ans.get("conversation_id") or self.conversation_id
        return NotebookAnswer(ans)

    def new_conversation(self) -> None:
        """The next `ask` starts a new conversation."""
        self.conversation_id = None

    # -- SQL ----------------------------------------------------------------------------------------------------
    def sql(self, query: str):
        """Run read-only SQL over the workspace; a polars DataFrame."""
        import polars as pl

        from earful.store.readonly import run_read_only

        table = run_read_only(str(self.path), query)
        return pl.DataFrame() if table is None else pl.from_arrow(table)

    def df(self, query: str):
        """Run read-only SQL over the workspace; a pandas DataFrame."""
        from earful.errors import require

        require("pandas", purpose="Workspace.df (use Workspace.sql for polars)")
        return self.sql(query).to_pandas()

    # -- topics and profiles ------------------------------------------------------------------------------------
    def _store(self):
        from earful.store import Store

        return Store(str(self.path), read_only=True)

    def topics(self, *, days: int = 30, examples: int = 3):
        """The fitted topics: id, name, size, share, trend (last `days` against the days before), keywords and
        example quotes with their item ids, as a polars DataFrame."""
        import polars as pl

        from earful.topics.report import topic_list

        with self._store() as store:
            doc = topic_list(store, days=days, n_examples=examples)
        rows = [{"id": t["id"], "name": t["name"], "size": t["size"], "share": t["share"], "trend": t["trend"],
                 "keywords": ", ".join(t["keywords"]), "examples": [e["text"] for e in t["examples"]],
                 "example_ids": [e["item_id"] for e in t["examples"]]} for t in doc["topics"]]
        return pl.DataFrame(rows, infer_schema_length=None) if rows else frame(["id", "name", "size", "share"], [])

    def trends(self, *, days: int = 30, source: str | None = None):
        """Emerging and fading topics: each topic's share in the last `days` (up to the newest item) against the
        `days` before, with a two-proportion z-test (Bonferroni over topics), as a polars DataFrame."""
        import polars as pl

        from earful.topics.timeline import trends

        with self._store() as store:
            rows = trends(store, days=days, source=source)
        return pl.DataFrame(rows, infer_schema_length=None) if rows else frame(["topic_id", "topic", "trend"], [])

    def items(self, item_ids):
        """The items behind an answer (``ws.items(answer.item_ids)``): id, source, time and text, in that order."""
        import polars as pl

        ids = [str(i) for i in (item_ids or [])]
        if not ids:
            return frame(["item_id", "source", "created_at", "text"], [])
        got = self.sql("SELECT item_id, source, created_at, text FROM items WHERE item_id IN ("
                       + ", ".join(quote_literal(i) for i in ids) + ")")
        order = {i: k for k, i in enumerate(ids)}
        return got.with_columns(pl.col("item_id").replace_strict(order, default=len(ids)).alias("_k")
                                ).sort("_k").drop("_k")

    def topic_charts(self, *, period: str = "month", top: int = 8) -> TopicCharts:
        """The intertopic distance map, keyword bars, hierarchy and topics over time, interactive (plotly)."""
        from earful.topics.pictures import topic_figures

        with self._store() as store:
            return TopicCharts(topic_figures(store, freq=period, top=top), f"Topics of {self.path.name}")

    def profile(self, source: str, subject_column: str, score_column: str | None = None, **options):
        """Where each subject (model, app, product) is strong and weak: `earful.qa_agent.profiles.build_profile`
        over this workspace (same options), shown with its statements, charts and table."""
        try:
            from earful.qa_agent.profiles import build_profile, tree_from_values
        except ImportError as exc:
            raise EarfulError("profiles need the earful.qa_agent.profiles module, which this install lacks",
                              hint="update Earful to a version with 'earful profile'") from exc
        column = options.get("category_column")
        if column and options.get("tree") is None and not options.get("labels") and not options.get(
                "category_source"):
            # the column's values are the tree: built here and passed in, as a --tree would be
            values = self._distinct(source, column)
            if values:
                options["tree"] = tree_from_values(values, column)
        return NotebookProfile(build_profile(str(self.path), source, subject_column, score_column, **options))

    def _distinct(self, source: str, column: str) -> list:
        from earful.store import quote_ident

        try:
            return self.sql(f"SELECT DISTINCT {quote_ident(column)} AS v FROM {quote_ident(source)}")["v"].to_list()
        except EarfulError:       # no such source or column: build_profile says which, in its own words
            return []
