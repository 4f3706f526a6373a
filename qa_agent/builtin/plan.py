"""The built-in engine's query plan and its rendering to DuckDB SQL over one per-source view.

Design decision: a plan is a small plain dict-able structure (measure, filters, share target, grouping, order,
limit), so follow-up questions edit the previous turn's plan (``AskContext.history``) instead of re-parsing text,
and the SQL is a pure function of the plan (values are always rendered as escaped literals).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from earful.store.sql import quote_ident as qi
from earful.store.sql import quote_literal as lit

TEXT_OPS = ("contains", "not contains")   # the ops that match words in a text column


@dataclass
class Filter:
    column: str
    op: str                  # = | in | <= | >= | < | > | contains | not contains | time>= | time<
    value: object
    words: str = ""          # the words of the question it came from

    def sql(self) -> str:
        c = qi(self.column)
        if self.op in TEXT_OPS:
            vals = self.value if isinstance(self.value, list) else [self.value]
            # the literal text, case-insensitively: not LIKE, where '%' and '_' in the phrase would be wildcards
            parts = [f"contains(lower({c}), lower({lit(str(v))}))" for v in vals]
            any_of = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
            return any_of if self.op == "contains" else f"NOT coalesce({any_of}, false)"
        if self.op in ("in", "not in"):
            return f"{c} {self.op.upper()} ({', '.join(lit(v) for v in self.value)})"
        if self.op == "!=":   # rows with no value are not "other than X" rows we can vouch for: keep them out
            return f"{c} IS DISTINCT FROM {lit(self.value)} AND {c} IS NOT NULL"
        if self.op.startswith("time"):
            return f"{c} {self.op[4:]} TIMESTAMPTZ {lit(str(self.value) + ' 00:00:00+00')}"
        return f"{c} {self.op} {lit(self.value)}"

    def describe(self) -> str:
        if self.op in TEXT_OPS:
            vals = self.value if isinstance(self.value, list) else [self.value]
            where = "the text" if self.column == "text" else self.column
            if self.op == "not contains":
                return f"{where} mentions none of " + ", ".join(map(repr, vals)) if len(vals) > 1 else \
                    f"{where} does not mention {vals[0]!r}"
            return f"{where} mentions " + " or ".join(repr(v) for v in vals)
        if self.op in ("in", "not in") and len(self.value) > 4:
            return f"{self.column} {self.op} the {len(self.value)} values matching {self.words!r}"
        if self.op in ("in", "not in"):
            return f"{self.column} {self.op} ({', '.join(map(repr, self.value))})"
        if self.op.startswith("time"):
            return ("dated on or after " if ">=" in self.op else "dated before ") + str(self.value)
        return f"{self.column} {self.op} {self.value!r}"


@dataclass
class Plan:
    view: str
    measure: str = "count"           # count | share | avg | min | max | sum | distinct | examples
    column: str | None = None        # the measured column (avg/min/max/sum/distinct)
    filters: list[Filter] = field(default_factory=list)
    target: list[Filter] = field(default_factory=list)   # share: the rows counted, among the filtered rows
    group: str | None = None         # a column, or a time grain: @year | @month | @week | @day
    time_column: str | None = None
    order: str | None = None         # desc | asc | None (None: by group value for time, by size otherwise)
    limit: int | None = None
    noun: str = "rows"
    table: str | None = None         # read from this table instead of the view (same rows; see fast_table)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        d = dict(d)
        d["filters"] = [Filter(**f) for f in d.get("filters", [])]
        d["target"] = [Filter(**f) for f in d.get("target", [])]
        return cls(**d)

    # ---- SQL -------------------------------------------------------------------------------------------
    def where(self) -> str:
        conds = [f.sql() for f in self.filters]
        if self.group and not self.group.startswith("@"):
            conds.append(f"{qi(self.group)} IS NOT NULL")
        if self.group and self.group.startswith("@"):
            conds.append(f"{qi(self.time_column)} IS NOT NULL")
        if self.measure in ("avg", "min", "max", "sum", "median") and self.column:
            conds.append(f"{qi(self.column)} IS NOT NULL")
        return (" WHERE " + " AND ".join(conds)) if conds else ""

    def group_expr(self) -> tuple[str, str]:
        g = self.group
        if g.startswith("@"):
            fmt = {"@year": "%Y", "@month": "%Y-%m", "@day": "%Y-%m-%d", "@week": "%G-W%V"}[g]
            return f"strftime({qi(self.time_column)} AT TIME ZONE 'UTC', '{fmt}')", g[1:]
        return qi(g), g

    def value_sql(self) -> tuple[str, str]:
        m, c = self.measure, self.column
        if m == "count":
            return "count(*)", self.noun
        if m == "distinct":
            return f"count(DISTINCT {qi(c)})", f"distinct_{c}"
        if m == "avg":
            return f"round(avg({qi(c)}), 4)", f"avg_{c}"
        if m == "median":
            return f"median({qi(c)})", f"median_{c}"
        if m in ("min", "max", "sum"):
            return f"{m}({qi(c)})", f"{m}_{c}"
        if m == "share":
            t = " AND ".join(f.sql() for f in self.target) or "TRUE"
            return f"round(100.0 * count(*) FILTER (WHERE {t}) / count(*), 2)", "percent"
        raise ValueError(m)

    def columns_used(self) -> set[str]:
        cols = {f.column for f in self.filters + self.target}
        if self.group:
            cols.add(self.time_column if self.group.startswith("@") else self.group)
        if self.column:
            cols.add(self.column)
        if self.measure == "examples":
            cols |= {"item_id", "text"} | ({self.time_column} if self.time_column else set())
        return cols

    def to_sql(self) -> str:
        v = qi(self.table or self.view)
        where = self.where()
        if self.measure == "examples":
            order = f" ORDER BY {qi(self.time_column)} DESC NULLS LAST" if self.time_column else ""
            return f"SELECT item_id, text FROM {v}{where}{order} LIMIT {self.limit or 5}"
        expr, name = self.value_sql()
        if self.measure == "count" and self.group and self.order == "asc" and self.filters:
            return self._fewest_sql(v, name)
        if self.measure == "share":
            t = " AND ".join(f.sql() for f in self.target) or "TRUE"
            extra = f"count(*) FILTER (WHERE {t}) AS matching, count(*) AS total, {expr} AS percent"
        elif self.measure in ("avg", "min", "max", "sum", "median"):
            extra = f"{expr} AS {qi(name)}, count(*) AS {qi(self.noun)}"
        else:
            extra = f"{expr} AS {qi(name)}"
        if not self.group:
            return f"SELECT {extra} FROM {v}{where}"
        gexpr, gname = self.group_expr()
        if self.group.startswith("@") and not self.order:
            order = "1"
        else:
            direction = "ASC" if self.order == "asc" else "DESC"
            order = f"{qi(name)} {direction}, 1"
        lim = f" LIMIT {self.limit}" if self.limit else ""
        return f"SELECT {gexpr} AS {qi(gname)}, {extra} FROM {v}{where} GROUP BY 1 ORDER BY {order}{lim}"

    def _fewest_sql(self, v: str, name: str) -> str:
        """'Which app category has the fewest ENERGY reviews?': a group with none of the filtered rows has the
        fewest (0), so the filters count inside each group instead of dropping the groups they empty. Filters on
        the grouped column itself still choose the groups ('fewest among GAME and SYSTEM')."""
        gexpr, gname = self.group_expr()
        gcol = self.time_column if self.group.startswith("@") else self.group
        keep = [f for f in self.filters if f.column == gcol]
        counted = " AND ".join(f.sql() for f in self.filters if f.column != gcol) or "TRUE"
        conds = [f.sql() for f in keep] + [f"{qi(gcol)} IS NOT NULL"]
        lim = f" LIMIT {self.limit}" if self.limit else ""
        return (f"SELECT {gexpr} AS {qi(gname)}, count(*) FILTER (WHERE {counted}) AS {qi(name)} FROM {v} "
                f"WHERE {' AND '.join(conds)} GROUP BY 1 ORDER BY {qi(name)} ASC, 1{lim}")

    def describe(self) -> str:
        """What was understood, in words (used in answers and declines)."""
        parts = [{"count": "count of", "share": "percentage of", "avg": f"average {self.column} of",
                  "min": f"minimum {self.column} of", "max": f"maximum {self.column} of",
                  "sum": f"total {self.column} of", "median": f"median {self.column} of",
                  "distinct": f"number of distinct {self.column} among",
                  "examples": "examples of"}[self.measure], self.noun]
        if self.filters:
            parts.append("where " + " and ".join(f.describe() for f in self.filters))
        if self.target:
            parts.append("that " + " and ".join(f.describe() for f in self.target))
        if self.group:
            parts.append(f"per {self.group.lstrip('@')}")
        if self.order:
            parts.append("highest first" if self.order == "desc" else "lowest first")
        if self.limit and self.group:
            parts.append(f"top {self.limit}")
        return " ".join(parts)
