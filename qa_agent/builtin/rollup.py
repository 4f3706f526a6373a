"""Rollups first: whether a plan can be answered from a lake-backed workspace's rollup tables instead of its views.

A lake catalog (`earful lake init`) carries ``rollup_items`` (count by source, day, rating), ``rollup_labels`` (by
source, day, taxonomy, label) and ``rollup_topics`` (by source, day, topic_id). A count or share over one source's
view, filtered and grouped only by columns one rollup holds, has the same answer over that rollup (rows weighted by
``n``), reading thousands of rows instead of the items.

Design decision: this pass writes no SQL. `rollup_for` only decides, and returns a `Rollup` (which table, which of
the plan's columns is which rollup column, the source); `compiler.compile_sql(plan, rollup=...)` writes the SQL, as
it writes every other. A column maps only where its values are the rollup's by construction: the canonical
``created_at`` (its UTC day, so only whole-day ranges and day-or-coarser grains), the canonical ``rating`` or the
source's numeric rating column, a taxonomy's label column and ``topic_id`` / ``topic``; anything else (text matches,
other columns, averages, examples, sub-day times) is answered from the view as before. A lake is recognised by its
``_lake`` table, so the question engine never imports the lake package.
"""
from __future__ import annotations

from dataclasses import dataclass

from earful.qa_agent.builtin.ir import Cmp, Eq, In, Not, Plan, TimeGrain, TimeRange

MEASURES = ("count", "share")
TABLES = {"rollup_items": {"time", "rating"}, "rollup_labels": {"time", "label"},
          "rollup_topics": {"time", "topic_id", "topic"}}
DAY_GRAINS = ("year", "quarter", "month", "week", "day")
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT")


@dataclass(frozen=True)
class Rollup:
    table: str                                  # rollup_items | rollup_labels | rollup_topics
    source: str                                 # the view's source (rows filtered to it)
    columns: tuple[tuple[str, str, str], ...]   # (the plan's column, its kind: time|rating|label|topic_id|topic,
    #                                              the view column's SQL type, so values read back as the view's)
    taxonomy: str | None = None                 # rollup_labels: the taxonomy of the label column


def rollup_for(plan: Plan, db_path: str) -> Rollup | None:
    """The rollup that answers `plan` exactly, or None (not a lake, or the plan needs the items)."""
    from earful.qa_agent.builtin.compiler import columns_used

    if plan.measure.name not in MEASURES or plan.unit != "items":
        return None
    if plan.having is not None and plan.having.measure.name not in MEASURES:
        return None
    if not _simple(plan):
        return None
    info = _lake_info(db_path, plan.view)
    if info is None:
        return None
    kinds = {}
    for col in columns_used(plan):
        kind = info["columns"].get(col.lower())
        if kind is None:
            return None
        kinds[col] = kind
    taxonomies = {k[1] for k in kinds.values() if k[0] == "label"}
    if len(taxonomies) > 1:
        return None
    wanted = {k[0] for k in kinds.values()}
    table = next((t for t, has in TABLES.items() if wanted <= has and t in info["rollups"]), None)
    if table is None:
        return None
    shares = plan.measure.name == "share" or (plan.having is not None and plan.having.measure.name == "share")
    if shares and table != "rollup_items":
        return None   # a share's total counts every row, and the label / topic rollups only labelled / assigned items
    return Rollup(table=table, source=info["source"], taxonomy=next(iter(taxonomies), None),
                  columns=tuple(sorted((c, k[0], info["types"][c.lower()]) for c, k in kinds.items())))


def _preds(plan: Plan):
    yield from plan.where
    yield from plan.target
    if plan.compare is not None:
        yield from plan.compare.a.where
        yield from plan.compare.b.where


def _simple(plan: Plan) -> bool:
    """Only predicates a rollup can evaluate: (not) equal / in / compare, and whole-day time ranges."""
    g = plan.group
    if g is not None and (getattr(g, "list_fmt", None) or (isinstance(g, TimeGrain) and g.grain not in DAY_GRAINS)):
        return False
    for p in _preds(plan):
        while isinstance(p, Not):
            p = p.pred
        if isinstance(p, TimeRange):
            if any(b and (" " in str(b) or "T" in str(b)) for b in (p.start, p.end)):
                return False
        elif not isinstance(p, (Eq, In, Cmp)):
            return False
    return True


def _lake_info(db_path: str, view: str) -> dict | None:
    """For a lake catalog's per-source view: its source, the rollups present, and which view columns map to a
    rollup column ({lower name: (kind, taxonomy)}); None for a .duckdb workspace or any other view."""
    from earful.qa_agent.executor import run_sql
    from earful.qa_agent.schema_card import build_schema_card

    def rows(sql: str):
        res = run_sql(db_path, sql, in_process=True)
        return res.rows if res.ok else None

    names = {r[0] for r in rows("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                "AND (table_name = '_lake' OR starts_with(table_name, 'rollup_'))") or []}
    card = build_schema_card(db_path).view(view)
    if "_lake" not in names or card is None or not card.raw_equivalent:
        return None
    src = rows(f"SELECT name, rating_column FROM sources WHERE name = {_lit(view)}")
    if not src:
        return None
    source, rating_column = src[0]
    # the rollups count every item of the source: they must hold the view's rows (fresh, and items pair with raw)
    total = rows(f"SELECT coalesce(sum(n), 0) FROM rollup_items WHERE source = {_lit(source)}") \
        if "rollup_items" in names else None
    if not total or total[0][0] != card.rows:
        return None
    raw = {c.lower() for c in card.raw_columns}
    types = {c.name.lower(): c.type for c in card.columns}
    cols: dict[str, tuple[str, str | None]] = {}
    if "created_at" not in raw:
        cols["created_at"] = ("time", None)
    if "rating" not in raw and types.get("rating") == "DOUBLE":
        cols["rating"] = ("rating", None)
    rc = (rating_column or "").lower()
    if rc in raw and types.get(rc) in (*INTEGER_TYPES, "DOUBLE"):
        cols[rc] = ("rating", None)   # items.rating is this column read as a number: the same values
    if "topic_id" not in raw and "topic" not in raw:
        cols.update({"topic_id": ("topic_id", None), "topic": ("topic", None)})
    if "rollup_labels" in names:
        for (taxonomy,) in rows("SELECT DISTINCT taxonomy FROM rollup_labels") or []:
            name = _taxonomy_column(taxonomy)
            if name not in raw:
                cols[name] = ("label", taxonomy)
    return {"source": source, "rollups": names - {"_lake"}, "types": types,
            "columns": {c: k for c, k in cols.items() if c in types}}


def _taxonomy_column(taxonomy: str) -> str:
    import re

    return re.sub(r"[^a-z0-9_]", "_", taxonomy.lower())   # as classify.views names a taxonomy's column


def _lit(value: str) -> str:
    from earful.store.sql import quote_literal

    return quote_literal(value)
