"""The built-in engine's typed plan (its IR): what a question asks, with no SQL and no words in it.

A parse produces a `Plan`; one compiler (`compiler.py`) turns a plan into SQL and nothing else writes SQL; the
composer words the answer from the plan and the result rows. Plans are frozen and compare by value, so two
readings of one question are "the same answer" exactly when their plans (or their SQL) are equal, and a follow-up
edits the previous turn's plan with `dataclasses.replace`.

Design decisions:
- Measures come from a registry (`MEASURES`): each declares what it needs (a numeric column, a date column, a
  grouped result) and the words its answer uses, so adding a measure is one entry plus its compiler case, not a
  new string compared in many places.
- Predicates are a closed set of small types (`Eq | In | Cmp | TextMatch | TimeRange | ListHas | Not`); a list
  column (JSON list or a `|`/`;`-joined string) is matched with `ListHas` and grouped with `Column(list_fmt=...)`,
  and `Plan.unit` says whether counts are of items or of list values ("mentions").
- Plans serialise to plain dicts (`to_dict` / `plan_from_dict`) tagged with their type, for the conversation
  history that follow-ups read.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


# ---- measures -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MeasureSpec:
    name: str
    needs: str = ""          # "" | "numeric" (a numeric column) | "time" (a date column) | "any" (any column)
    words: str = ""          # how the answer names it: "average {column}"
    aggregate: bool = True   # False: the answer is rows, not a figure (examples)


MEASURES: dict[str, MeasureSpec] = {m.name: m for m in (
    MeasureSpec("count", "", "number of {noun}"),
    MeasureSpec("share", "", "percentage of {noun}"),
    MeasureSpec("avg", "numeric", "average {column}"),
    MeasureSpec("min", "numeric", "lowest {column}"),
    MeasureSpec("max", "numeric", "highest {column}"),
    MeasureSpec("sum", "numeric", "total {column}"),
    MeasureSpec("median", "numeric", "median {column}"),
    MeasureSpec("stddev", "numeric", "standard deviation of {column}"),
    MeasureSpec("distinct", "any", "number of distinct {column} values"),
    MeasureSpec("earliest", "time", "earliest {column}"),
    MeasureSpec("latest", "time", "latest {column}"),
    MeasureSpec("examples", "", "examples of {noun}", aggregate=False),
)}


@dataclass(frozen=True)
class Measure:
    name: str                       # a key of MEASURES
    column: str | None = None       # the measured column (None for count/share/examples)
    list_fmt: str | None = None     # distinct of a list column (json | "|" | ";" | ","): distinct values inside

    def __post_init__(self):
        if self.name not in MEASURES:
            raise ValueError(f"unknown measure {self.name!r}")

    @property
    def spec(self) -> MeasureSpec:
        return MEASURES[self.name]


# ---- predicates -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Eq:
    column: str
    value: object


@dataclass(frozen=True)
class In:
    column: str
    values: tuple


@dataclass(frozen=True)
class Cmp:
    column: str
    op: str                         # < | <= | > | >=
    value: float | int


@dataclass(frozen=True)
class TextMatch:
    column: str
    phrases: tuple[str, ...]        # literal, case-insensitive substrings (never LIKE patterns)
    mode: str = "any"               # any | all


@dataclass(frozen=True)
class TimeRange:
    column: str
    start: str | None = None        # ISO date, inclusive
    end: str | None = None          # ISO date, exclusive


@dataclass(frozen=True)
class ListHas:
    column: str                     # a list column: JSON list or a joined string
    values: tuple                   # the item holds any of these values
    fmt: str = "json"               # json | "|" | ";" | ","


@dataclass(frozen=True)
class ListLen:
    column: str                     # a list column: the item holds `op value` distinct values
    op: str
    value: int
    fmt: str = "json"


@dataclass(frozen=True)
class Not:
    pred: Pred


Pred = Eq | In | Cmp | TextMatch | TimeRange | ListHas | ListLen | Not


# ---- groups, having, top-n, compare -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    list_fmt: str | None = None     # set: a list column, exploded so each value is its own group


@dataclass(frozen=True)
class TimeGrain:
    grain: str                      # year | quarter | month | week | day
    column: str


Group = Column | TimeGrain


@dataclass(frozen=True)
class Having:
    measure: Measure                # computed per group
    op: str                         # < | <= | > | >= | =
    value: float | int


@dataclass(frozen=True)
class TopN:
    n: int | None = None            # None: all groups, ordered
    order: str = "desc"             # desc | asc
    by: str = "measure"             # measure | group (time order)


@dataclass(frozen=True)
class Side:
    label: str                      # how the answer names this side ("gpt-4o")
    where: tuple[Pred, ...]


@dataclass(frozen=True)
class Compare:
    a: Side
    b: Side
    mode: str = "difference"        # difference (a - b) | ratio (a / b) | winner (which is higher/lower)
    order: str = "desc"             # winner: desc = the higher one wins


@dataclass(frozen=True)
class Plan:
    view: str
    measure: Measure = Measure("count")
    where: tuple[Pred, ...] = ()
    target: tuple[Pred, ...] = ()   # share: the rows counted, among the rows `where` keeps
    group: Group | None = None
    having: Having | None = None
    top: TopN | None = None
    compare: Compare | None = None
    time_column: str | None = None  # the view's date column (time ranges, "latest" N months)
    noun: str = "rows"              # what a row is called in answers ("reviews")
    unit: str = "items"             # items | mentions (a list column exploded: counts are of its values)
    limit: int | None = None        # examples: how many to show

    def replace(self, **changes) -> Plan:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return _encode(self)

    def left_out_groups(self) -> tuple[tuple[Pred, ...], tuple[str, ...]]:
        """(the other filters, the values left out of the groups): grouped by a list column, 'other than OTHER'
        on that column leaves the value OTHER out of the groups, not the items that hold it beside others."""
        g = self.group
        if not (isinstance(g, Column) and g.list_fmt):
            return self.where, ()
        out = [p for p in self.where if isinstance(p, Not) and isinstance(p.pred, ListHas)
               and p.pred.column == g.name]
        return (tuple(p for p in self.where if p not in out),
                tuple(str(v) for p in out for v in p.pred.values))


# ---- (de)serialisation ------------------------------------------------------------------------------------------
_TYPES = {c.__name__: c for c in (Measure, Eq, In, Cmp, TextMatch, TimeRange, ListHas, ListLen, Not, Column, TimeGrain,
                                  Having, TopN, Side, Compare, Plan)}


def _encode(obj):
    if dataclasses.is_dataclass(obj):
        d = {"type": type(obj).__name__}
        for f in dataclasses.fields(obj):
            d[f.name] = _encode(getattr(obj, f.name))
        return d
    if isinstance(obj, (tuple, list)):
        return [_encode(x) for x in obj]
    return obj


def _decode(obj):
    if isinstance(obj, dict) and obj.get("type") in _TYPES:
        cls = _TYPES[obj["type"]]
        kwargs = {}
        for f in dataclasses.fields(cls):
            if f.name in obj:
                v = _decode(obj[f.name])
                kwargs[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    return obj


def plan_from_dict(d: dict) -> Plan:
    """The plan `Plan.to_dict()` wrote; raises ValueError on anything else (an old or foreign history entry)."""
    if not isinstance(d, dict) or d.get("type") != "Plan":
        raise ValueError("not a typed plan")
    try:
        return _decode(d)
    except (TypeError, KeyError) as e:
        raise ValueError(f"not a typed plan: {e}") from e


__all__ = ["MEASURES", "Column", "Compare", "Cmp", "Eq", "Group", "Having", "In", "ListHas", "Measure",
           "MeasureSpec", "Not", "Plan", "Pred", "Side", "TextMatch", "TimeGrain", "TimeRange", "TopN",
           "plan_from_dict"]
