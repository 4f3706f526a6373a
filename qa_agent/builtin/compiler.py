"""The one place the built-in engine writes SQL: a typed `Plan` (ir.py) in, one DuckDB SELECT out.

Design decisions:
- Every value is an escaped literal (`quote_literal`), every name a quoted identifier (`quote_ident`); text is
  matched literally and case-insensitively with ``contains(lower(col), lower('...'))``, never LIKE, so '%', '_'
  and backslashes in a phrase are just characters.
- The result's columns are fixed by the plan and named by `shape(plan)`, which the composer reads instead of
  guessing positions: ``[group] value [matching total] [having] size [all_groups]``. Every grouped or compared
  result carries its group size (the noun, e.g. ``reviews``: rows counted), so answers can say "7 of 17".
- Negation keeps rows whose value is missing out of "not X" for value predicates (an unknown rating is not
  "not 5 stars" that we can vouch for), but counts them for text and list matches (a review with no text does not
  mention "crash"): ``col IS NOT NULL AND NOT (...)`` vs ``NOT coalesce(..., false)``, as the old plan.py did.
- A list column (JSON list or a joined string) is read as ``VARCHAR[]`` (`list_sql`); a breakdown by it explodes
  the distinct values of each item (unnest), so a group's count is the items holding that value and the groups
  together count mentions.
- Top-N keeps ties (``QUALIFY rank() <= n``) and says how many groups there were in all (``all_groups``), so a chart
  of the top 30 can say "of 39". "Fewest X per group" counts X inside each group, so a group with none has 0.
- Compare returns one row per side, in the order a, b: ``side, value, [matching, total], size``; the difference,
  ratio or winner is computed by the composer from those two rows (answer.py), not in SQL.
- Examples return up to `EXAMPLE_POOL` matching items (newest first, then item_id) with ``matches`` (the count of
  all matches); evidence.py ranks them and the composer shows ``plan.limit`` of them.
- Rollups first (a lake catalog): when rollup.py finds that a rollup answers the plan, the same statement reads a
  subquery over that rollup (`rollup_from`: the plan's columns by name, each row weighted by ``__n``) and every
  row count is ``sum(__n)`` (`count_sql`); nothing else in the statement changes, so the answer is the view's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from earful.errors import InputError
from earful.qa_agent.builtin.ir import (
    Cmp,
    Column,
    Eq,
    In,
    ListHas,
    ListLen,
    Measure,
    Not,
    Plan,
    Pred,
    TextMatch,
    TimeGrain,
    TimeRange,
)
from earful.store.sql import quote_ident as qi
from earful.store.sql import quote_literal

if TYPE_CHECKING:
    from earful.qa_agent.builtin.rollup import Rollup

EXAMPLE_POOL = 2000          # examples: how many matching items the SQL hands to evidence.rank_examples
GRAIN_FORMATS = {"year": "%Y", "month": "%Y-%m", "week": "%G-W%V", "day": "%Y-%m-%d"}   # + quarter
NUMERIC_AGGS = {"avg": "round(avg({c}), 4)", "min": "min({c})", "max": "max({c})", "sum": "sum({c})",
                "median": "median({c})", "stddev": "round(stddev_samp({c}), 4)"}
CMP_OPS = ("<", "<=", ">", ">=", "=")


class PlanError(InputError):
    """A plan the compiler cannot turn into SQL (a parser bug: the plan breaks a rule of ir.py)."""


def lit(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        raise PlanError(f"cannot compare with {value!r}: give a finite number")
    if value is not None and not isinstance(value, (str, int, float, bool)):
        value = str(value)
    return quote_literal(value)


# ---- the result's columns -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """The names of a result's columns (None: not in this result)."""

    group: str | None          # the group's label column (a column name, the grain, or "side" for a compare)
    value: str                 # the measure: the noun for count, "percent" for share, avg_rating, ...
    size: str | None           # rows in the group / side / whole answer (== value for count)
    matching: str | None = None    # share: rows that match the target
    having: str | None = None      # the Having measure's value per group, when it is not the plan's measure
    all_groups: str | None = None  # top-N: how many groups there were before the cut
    id: str | None = None          # examples: item id, text, date, count of all matches
    text: str | None = None
    date: str | None = None
    matches: str | None = None


def value_name(m: Measure, noun: str) -> str:
    if m.name == "count":
        return noun
    if m.name == "share":
        return "percent"
    return f"{m.name}_{m.column}"


def shape(plan: Plan) -> Shape:
    if plan.measure.name == "examples":
        return Shape(None, "matches", None, id="item_id", text="text",
                     date="date" if plan.time_column else None, matches="matches")
    noun = plan.noun or "rows"
    value = value_name(plan.measure, noun)
    group = "side" if plan.compare else _group_name(plan.group) if plan.group else None
    taken = {group, value, "matching", "total", "all_groups"}
    size = value if plan.measure.name == "count" else "total" if plan.measure.name == "share" else \
        (noun if noun not in taken else "n")
    having = None
    if plan.having is not None and plan.group is not None:
        h = value_name(plan.having.measure, noun)
        having = None if h == value or (plan.having.measure.name == "count" and size == noun) else \
            (h if h not in taken | {size} else "having_value")     # a count the size column already shows: once
    return Shape(group, value, size, matching="matching" if plan.measure.name == "share" else None,
                 having=having, all_groups="all_groups" if plan.top and plan.top.n and plan.group else None)


def _group_name(g) -> str:
    return g.grain if isinstance(g, TimeGrain) else g.name


# ---- predicates -----------------------------------------------------------------------------------------------
def list_sql(column: str, fmt: str) -> str:
    """A list column as VARCHAR[]: a JSON list (or a native list) cast through JSON, else the joined string split
    on its separator with the spaces around it trimmed. Text that is not a list is NULL (it holds no value)."""
    c = qi(column)
    if fmt in ("json", "list"):
        return f"TRY_CAST(TRY_CAST({c} AS JSON) AS VARCHAR[])"
    if fmt not in ("|", ";", ","):
        raise PlanError(f"unknown list format {fmt!r}: json, '|', ';' or ','")
    sep = lit(r"\s*[" + fmt + r"]\s*")
    return f"regexp_split_to_array(trim(CAST({c} AS VARCHAR)), {sep})"


def pred_sql(p: Pred) -> str:
    if isinstance(p, Eq):
        return f"{qi(p.column)} IS NULL" if p.value is None else f"{qi(p.column)} = {lit(p.value)}"
    if isinstance(p, In):
        if not p.values:
            return "FALSE"
        return f"{qi(p.column)} IN ({', '.join(lit(v) for v in p.values)})"
    if isinstance(p, Cmp):
        if p.op not in CMP_OPS:
            raise PlanError(f"unknown comparison {p.op!r}")
        return f"{qi(p.column)} {p.op} {lit(p.value)}"
    if isinstance(p, TextMatch):
        if not p.phrases:
            raise PlanError("a text match needs at least one phrase")
        parts = [f"contains(lower({qi(p.column)}), lower({lit(str(ph))}))" for ph in p.phrases]
        joiner = " AND " if p.mode == "all" else " OR "
        return parts[0] if len(parts) == 1 else "(" + joiner.join(parts) + ")"
    if isinstance(p, TimeRange):
        c, conds = qi(p.column), []
        if p.start:
            conds.append(f"{c} >= {_ts(p.start)}")
        if p.end:
            conds.append(f"{c} < {_ts(p.end)}")
        if not conds:
            return f"{c} IS NOT NULL"
        return conds[0] if len(conds) == 1 else "(" + " AND ".join(conds) + ")"
    if isinstance(p, ListLen):
        if p.op not in CMP_OPS:
            raise PlanError(f"unknown comparison {p.op!r}")
        values = f"list_filter(list_distinct({list_sql(p.column, p.fmt)}), lambda v: v IS NOT NULL AND v <> '')"
        return f"coalesce(len({values}), 0) {p.op} {int(p.value)}"     # no list: no values
    if isinstance(p, ListHas):
        if not p.values:
            return "FALSE"
        return f"list_has_any({list_sql(p.column, p.fmt)}, [{', '.join(lit(str(v)) for v in p.values)}])"
    if isinstance(p, Not):
        inner = pred_sql(p.pred)
        if isinstance(p.pred, (TextMatch, ListHas, Not)):
            return f"NOT coalesce({inner}, false)"   # no text / no labels: does not mention it
        return f"({qi(pred_column(p.pred))} IS NOT NULL AND NOT coalesce({inner}, false))"
    raise PlanError(f"unknown predicate {p!r}")


def _ts(day: str) -> str:
    day = str(day)
    return f"TIMESTAMPTZ {lit(day if ' ' in day or 'T' in day else day + ' 00:00:00+00')}"


def pred_column(p: Pred) -> str:
    return pred_column(p.pred) if isinstance(p, Not) else p.column


def where_sql(preds) -> str:
    return " AND ".join(pred_sql(p) for p in preds) or "TRUE"


# ---- measures ---------------------------------------------------------------------------------------------------
def count_sql(weight: str | None = None, cond: str | None = None) -> str:
    """Rows counted (those matching `cond`): ``count(*)``, or over a rollup the sum of its weight column."""
    filt = f" FILTER (WHERE {cond})" if cond else ""
    if weight is None:
        return f"count(*){filt}"
    return f"CAST(coalesce(sum({qi(weight)}){filt}, 0) AS BIGINT)"


def measure_sql(m: Measure, target=(), exact: bool = False, weight: str | None = None) -> str:
    """The aggregate for one measure (count, share's percent, avg, ...), over the rows of the FROM/WHERE;
    `exact`: unrounded (a HAVING test: an average of 2.99996 is below 3); `weight`: rows are rollup rows."""
    n = m.name
    if n == "count":
        return count_sql(weight)
    if weight is not None and n != "share":
        raise PlanError(f"the measure {n!r} cannot be read from a rollup")
    if n == "share":
        t = where_sql(target)
        pct = f"100.0 * {count_sql(weight, t)} / nullif({count_sql(weight)}, 0)"
        return pct if exact else f"round({pct}, 2)"
    if not m.column:
        raise PlanError(f"the measure {n!r} needs a column")
    c = qi(m.column)
    if n in NUMERIC_AGGS:
        expr = NUMERIC_AGGS[n].format(c=c)
        return expr.removeprefix("round(").removesuffix(", 4)") if exact else expr
    if n == "distinct" and m.list_fmt:   # the values inside the lists, not the distinct lists
        return (f"length(list_filter(list_distinct(flatten(list({list_sql(m.column, m.list_fmt)}))), "
                f"lambda v: v <> ''))")
    if n == "distinct":
        return f"count(DISTINCT {c})"
    if n in ("earliest", "latest"):
        return f"strftime({'min' if n == 'earliest' else 'max'}({c}) AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S')"
    raise PlanError(f"the measure {n!r} is not an aggregate")


def _select_list(plan: Plan, sh: Shape, target_sql: str | None = None, weight: str | None = None) -> list[str]:
    m = plan.measure
    cols = [f"{measure_sql(m, plan.target, weight=weight)} AS {qi(sh.value)}"]
    if m.name == "share":
        t = target_sql or where_sql(plan.target)
        cols.append(f"{count_sql(weight, t)} AS matching")
    if sh.having:
        cols.append(f"{measure_sql(plan.having.measure, plan.target, weight=weight)} AS {qi(sh.having)}")
    if sh.size != sh.value:
        cols.append(f"{count_sql(weight)} AS {qi(sh.size)}")
    return cols


def _base_conds(plan: Plan, extra=()) -> list[str]:
    conds = [pred_sql(p) for p in (*plan.where, *extra)]
    g = plan.group
    if isinstance(g, Column) and not g.list_fmt:
        conds.append(f"{qi(g.name)} IS NOT NULL")
    elif isinstance(g, TimeGrain):
        conds.append(f"{qi(g.column)} IS NOT NULL")
    m = plan.measure
    if m.column and m.name not in ("count", "share", "distinct", "examples"):
        conds.append(f"{qi(m.column)} IS NOT NULL")
    return conds


def _where(conds) -> str:
    return (" WHERE " + " AND ".join(conds)) if conds else ""


def group_expr(g) -> str:
    if isinstance(g, TimeGrain):
        t = f"{qi(g.column)} AT TIME ZONE 'UTC'"
        if g.grain == "quarter":
            return f"strftime({t}, '%Y') || '-Q' || CAST(quarter({t}) AS VARCHAR)"
        if g.grain not in GRAIN_FORMATS:
            raise PlanError(f"unknown time grain {g.grain!r}: year, quarter, month, week or day")
        return f"strftime({t}, '{GRAIN_FORMATS[g.grain]}')"
    return qi(g.name)


# ---- rollups ----------------------------------------------------------------------------------------------------
WEIGHT = "__n"
ROLLUP_COLUMNS = {"time": "(r.day::TIMESTAMP AT TIME ZONE 'UTC')", "rating": "CAST(r.rating AS {type})",
                  "label": "r.label", "topic_id": "r.topic_id",
                  "topic": "CASE WHEN r.topic_id = -1 THEN 'outlier' ELSE tt.name END"}


def rollup_from(r: Rollup) -> str:
    """The FROM of a plan answered from a rollup: the plan's columns over the rollup rows of the view's source (a
    time column is its UTC day at midnight, a rating the view's type, a topic's name as the view names it)."""
    cols = []
    for name, kind, typ in r.columns:
        if kind not in ROLLUP_COLUMNS or not typ.replace(" ", "").isalpha():
            raise PlanError(f"cannot read column {name!r} ({kind}, {typ}) from a rollup")
        cols.append(f"{ROLLUP_COLUMNS[kind].format(type=typ)} AS {qi(name)}")
    cols.append(f"r.n AS {WEIGHT}")
    join = " LEFT JOIN topics tt ON tt.topic_id = r.topic_id" if any(k == "topic" for _, k, _ in r.columns) else ""
    where = f"r.source = {lit(r.source)}" + (f" AND r.taxonomy = {lit(r.taxonomy)}" if r.taxonomy else "")
    return f"(SELECT {', '.join(cols)} FROM {qi(r.table)} r{join} WHERE {where}) AS rolled"


# ---- the statement ----------------------------------------------------------------------------------------------
def compile_sql(plan: Plan, table: str | None = None, rollup: Rollup | None = None) -> str:
    """The SQL for `plan`, reading `table` instead of the plan's view when given (the same rows; `fast_table`), or
    the `rollup` that rollup.rollup_for found answers it (the same numbers; rows weighted)."""
    src = rollup_from(rollup) if rollup is not None else qi(table or plan.view)
    weight = WEIGHT if rollup is not None else None
    m = plan.measure
    if m.name not in ("count", "share") and m.spec.needs and not m.column:
        raise PlanError(f"the measure {m.name!r} needs a column")
    if plan.compare is not None:
        return _compare_sql(plan, src, weight)
    if m.name == "examples":
        if weight is not None:
            raise PlanError("examples cannot be read from a rollup")
        return _examples_sql(plan, src)
    sh = shape(plan)
    if plan.group is None:
        if plan.having is not None or plan.top is not None:
            raise PlanError("having and top-N need a group")
        return f"SELECT {', '.join(_select_list(plan, sh, weight=weight))} FROM {src}{_where(_base_conds(plan))}"
    g = plan.group
    if isinstance(g, Column) and g.list_fmt:
        if weight is not None:
            raise PlanError("a list column cannot be read from a rollup")
        kept, left_out = plan.left_out_groups()
        inner = (f"SELECT *, unnest(list_distinct({list_sql(g.name, g.list_fmt)})) AS __value "
                 f"FROM {src}{_where(_base_conds(plan.replace(where=kept)))}")
        src, gexpr, conds = f"({inner}) AS exploded", "__value", ["__value IS NOT NULL", "__value <> ''"]
        if left_out:
            conds.append(f"__value NOT IN ({', '.join(lit(v) for v in left_out)})")
        counted = None
    elif m.name == "count" and isinstance(g, Column) and plan.top and plan.top.order == "asc" \
            and plan.top.by == "measure" and plan.where:
        # fewest: the filters count inside each group, so a group with none of the rows has 0 (is not dropped);
        # filters on the grouped column itself still choose the groups
        keep = [p for p in plan.where if pred_column(p) == g.name]
        counted = where_sql([p for p in plan.where if pred_column(p) != g.name])
        gexpr, conds = qi(g.name), [pred_sql(p) for p in keep] + [f"{qi(g.name)} IS NOT NULL"]
    else:
        gexpr, conds, counted = group_expr(g), _base_conds(plan), None
    cols = _select_list(plan, sh, weight=weight)
    value_expr = measure_sql(m, plan.target, weight=weight)
    if counted is not None:
        value_expr = count_sql(weight, counted)
        cols[0] = f"{value_expr} AS {qi(sh.value)}"
    sql = f"SELECT {gexpr} AS {qi(sh.group)}, {', '.join(cols)}"
    if sh.all_groups:
        sql += f", count(*) OVER () AS {sh.all_groups}"
    sql += f" FROM {src}{_where(conds)} GROUP BY 1"
    if plan.having is not None:
        h = plan.having
        if h.op not in CMP_OPS:
            raise PlanError(f"unknown comparison {h.op!r}")
        sql += f" HAVING {measure_sql(h.measure, plan.target, exact=True, weight=weight)} {h.op} {lit(h.value)}"
    # by position and expression, never by the value's alias: an alias such as "reviews" can also be the view's
    # name, and QUALIFY binds a name to the table first (the whole row, not the count)
    top = plan.top
    if top is None:
        order = "1 ASC" if isinstance(g, TimeGrain) else "2 DESC NULLS LAST, 1"
    elif top.by == "group":
        order = f"1 {'DESC' if top.order == 'desc' else 'ASC'}"
        if top.n:   # a window's ORDER BY 1 would be the constant 1, not the first column: LIMIT after ORDER BY
            return sql + f" ORDER BY {order} LIMIT {int(top.n)}"
    else:
        direction = f"{'ASC' if top.order == 'asc' else 'DESC'} NULLS LAST"
        order = f"2 {direction}, 1"
        if top.n:   # ties at the cut are kept: "the most" with two equal groups names both
            sql += f" QUALIFY rank() OVER (ORDER BY {value_expr} {direction}) <= {int(top.n)}"
    return sql + f" ORDER BY {order}"


def _compare_sql(plan: Plan, src: str, weight: str | None = None) -> str:
    c = plan.compare
    if plan.group is not None or plan.having is not None:
        raise PlanError("a comparison of two sides cannot also be broken down by a group")
    if plan.measure.name == "examples":
        raise PlanError("examples cannot be compared")
    sh = shape(plan)
    parts = []
    for k, side in enumerate((c.a, c.b), 1):
        cols = ", ".join(_select_list(plan, sh, weight=weight))
        parts.append(f"SELECT {k} AS __k, {lit(side.label)} AS side, {cols} FROM {src}"
                     f"{_where(_base_conds(plan, side.where))}")
    names = ", ".join(qi(n) for n in dict.fromkeys(x for x in (sh.group, sh.value, sh.matching, sh.size) if x))
    return f"SELECT {names} FROM ({' UNION ALL '.join(parts)}) AS sides ORDER BY __k"


def _examples_sql(plan: Plan, src: str) -> str:
    conds = [pred_sql(p) for p in plan.where]
    t = plan.time_column
    date = f", strftime({qi(t)} AT TIME ZONE 'UTC', '%Y-%m-%d') AS date" if t else ""
    order = f"{qi(t)} DESC NULLS LAST, item_id" if t else "item_id"
    return (f"SELECT item_id, text{date}, count(*) OVER () AS matches FROM {src}{_where(conds)} "
            f"ORDER BY {order} LIMIT {EXAMPLE_POOL}")


# evidence.py: which embedding models hold vectors for the example pool (parameter: the list of item ids)
EMBEDDING_COVERAGE_SQL = ("SELECT e.model_id, count(DISTINCT i.item_id) AS n FROM items i JOIN embeddings e "
                          "ON e.content_hash = i.content_hash WHERE list_contains(?, i.item_id) GROUP BY 1")


def columns_used(plan: Plan) -> set[str]:
    """Every column the SQL reads (`fast_table` may use the raw table when all are original columns)."""
    cols: set[str] = set()

    def add_preds(preds):
        for p in preds:
            cols.add(pred_column(p))

    add_preds(plan.where)
    add_preds(plan.target)
    if plan.compare:
        add_preds(plan.compare.a.where)
        add_preds(plan.compare.b.where)
    g = plan.group
    if g is not None:
        cols.add(g.column if isinstance(g, TimeGrain) else g.name)
    for m in (plan.measure, plan.having.measure if plan.having else None):
        if m is not None and m.column:
            cols.add(m.column)
    if plan.measure.name == "examples":
        cols |= {"item_id", "text"} | ({plan.time_column} if plan.time_column else set())
    return cols


__all__ = ["EMBEDDING_COVERAGE_SQL", "EXAMPLE_POOL", "PlanError", "Shape", "columns_used", "compile_sql", "count_sql",
           "list_sql", "pred_sql", "rollup_from", "shape"]
