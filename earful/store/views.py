"""Per-source wide views: the original columns as real columns, plus derived columns from later stages.

A stage adds columns to every source's view by registering a *view-column provider*: a function
``(con, source) -> list[str]`` of SELECT expressions over the alias ``i`` (the items row) that must each end with
``AS <name>``. Providers are registered through the plugin hook ``register_view_columns`` into `VIEW_COLUMN_PROVIDERS`
(a registry, not an if/elif), so the store never names a stage.
"""
from __future__ import annotations

from earful.plugins import Registry
from earful.store.sql import quote_ident

# name -> provider ``(con, source) -> list[str]``, filled on first use from the ``register_view_columns`` hook.
VIEW_COLUMN_PROVIDERS: Registry = Registry("register_view_columns", "view-column provider")

CANONICAL = ("item_id", "text", "created_at", "rating", "author", "source")


def _providers():
    return list(VIEW_COLUMN_PROVIDERS.values())


def _alias(expr: str) -> str:
    return expr.rsplit(" AS ", 1)[-1].strip().strip('"').lower()


def derived_names(con, sources: list[str]) -> set[str]:
    """The (lower-case) names the view-column providers give the views of `sources` (``topic``, each taxonomy, ...).

    Ingest reads this to keep an input column of one of these names under ``input_<name>`` (see `ingest.columns`):
    the derived column then has its own name in the view instead of giving way as ``derived_<name>``."""
    return {_alias(expr) for provider in _providers() for source in sources for expr in provider(con, source)}


def raw_columns(con, raw_table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema='main' AND table_name=? "
        "ORDER BY ordinal_position", [raw_table]).fetchall()
    return [r[0] for r in rows if r[0] != "item_id"]


def view_sql(con, source: str, raw_table: str) -> str:
    raw = raw_columns(con, raw_table)
    lowered = {c.lower() for c in raw}
    select = ["i.item_id AS item_id"]
    for canon in ("text", "created_at", "rating", "author"):
        if canon not in lowered:
            select.append(f"i.{canon} AS {canon}")
    select += [f"r.{quote_ident(c)}" for c in raw]
    # ingest stores a plain text column once, in items.text: put it back under its original name
    text_col = (con.execute("SELECT text_column FROM sources WHERE name = ?", [source]).fetchall() or [[None]])[0][0]
    if text_col and text_col.lower() not in lowered and text_col.lower() not in CANONICAL and "." not in text_col:
        select.append(f"i.text AS {quote_ident(text_col)}")
        lowered = lowered | {text_col.lower()}
    taken = lowered | {"item_id", "text", "created_at", "rating", "author"}
    for provider in _providers():
        for expr in provider(con, source):
            alias = _alias(expr)
            # never shadow an original column: derived ones give way (ingest keeps an input column named like a
            # derived one that exists then as input_<name>; this is for a taxonomy first run after the ingest)
            if alias in taken:
                expr = expr.rsplit(" AS ", 1)[0] + " AS " + quote_ident("derived_" + alias)
            taken.add(alias)
            select.append(expr)
    cols = ",\n    ".join(select)
    return (f"CREATE OR REPLACE VIEW {quote_ident(source)} AS SELECT\n    {cols}\n"
            f"FROM items i JOIN {quote_ident(raw_table)} r ON r.item_id = i.item_id\n"
            f"WHERE i.source = '{source.replace(chr(39), chr(39) * 2)}'")


def refresh_view(con, source: str, raw_table: str) -> None:
    con.execute(view_sql(con, source, raw_table))
