"""The new engine's answer: text, table and chart worded from a typed plan and its result rows, and only from them.

Design decisions:
- Every number in the text is read from the result rows (`compiler.shape` names their columns); the plan gives
  only the words: what was counted (its filters in plain words: "since 2016-03-01", "where the text mentions
  'crash'") and the measure's name (`ir.MEASURES`). A difference, ratio or winner of a Compare is computed here from
  the two side rows, and both numbers are shown with it.
- Wording is grammatical by construction (`_count_phrase`: "1 review", "2 reviews", "no reviews"); sizes go with
  every figure over a group that is small (`SMALL_GROUP`) and with every share ("41% (7 of 17 reviews)").
- Charts never drop rows silently: all rows up to `MAX_BARS`; beyond that, or when the SQL kept the top N of
  more groups, the title says "top 30 of 39".
"""
from __future__ import annotations

from datetime import date, timedelta

from earful.qa_agent.base import Chart, ResultTable
from earful.qa_agent.builtin.compiler import Shape, shape
from earful.qa_agent.builtin.ir import (
    Cmp,
    Column,
    Eq,
    In,
    ListHas,
    ListLen,
    Not,
    Plan,
    TextMatch,
    TimeGrain,
    TimeRange,
)

SMALL_GROUP = 30      # a figure over fewer rows than this states how many
MAX_BARS = 60         # a bar chart shows at most this many bars, and says so in its title
LIST_SHOWN = 15       # a breakdown's text lists this many groups, then "... (N in all)"
CMP_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least", "=": "exactly"}
NOT_CMP_WORDS = {"<": "at least", "<=": "above", ">": "at most", ">=": "below", "=": "other than"}


# ---- numbers and nouns --------------------------------------------------------------------------------------------
def fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def singular(noun: str) -> str:
    """'reviews' -> 'review', 'categories' -> 'category' (row nouns and column names are plain plurals)."""
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun


def plural(word: str) -> str:
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def count_phrase(n, noun: str) -> str:
    """'no reviews', '1 review', '2,345 reviews'."""
    if not n:
        return f"no {plural(noun)}"
    return f"1 {singular(noun)}" if n == 1 else f"{fmt(n)} {plural(noun)}"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# ---- the plan in words ------------------------------------------------------------------------------------------
def _when(p: TimeRange) -> str:
    s, e = p.start and str(p.start)[:10], p.end and str(p.end)[:10]
    if s and e:
        try:
            d0, d1 = date.fromisoformat(s), date.fromisoformat(e)
        except ValueError:
            return f"between {s} and before {e}"
        if d0.month == d0.day == d1.month == d1.day == 1 and d1.year == d0.year + 1:
            return f"in {d0.year}"
        if d0.day == d1.day == 1 and (d1.year * 12 + d1.month) - (d0.year * 12 + d0.month) == 1:
            return f"in {d0:%B %Y}"
        return f"between {d0} and {d1 - timedelta(days=1)}"
    if s:
        return f"since {s}"
    return f"before {e}" if e else "at any time"


def _subject(column: str) -> str:
    return "the text" if column == "text" else column


def _values(vals, joiner="or") -> str:
    vals = [str(v) for v in vals]
    if len(vals) > 6:
        return f"one of {len(vals)} values ({', '.join(vals[:4])}, ...)"
    return vals[0] if len(vals) == 1 else ", ".join(vals[:-1]) + f" {joiner} {vals[-1]}"


def describe(p) -> str:
    """One predicate in words: "cat is plain", "the text mentions 'crash'", "since 2016-03-01"."""
    if isinstance(p, Eq):
        return f"{p.column} is {p.value}" if p.value is not None else f"{p.column} is missing"
    if isinstance(p, In):
        return f"{p.column} is {_values(p.values)}"
    if isinstance(p, Cmp):
        return f"{p.column} is {fmt(p.value)}" if p.op == "=" else \
            f"{p.column} is {CMP_WORDS.get(p.op, p.op)} {fmt(p.value)}"
    if isinstance(p, TextMatch):
        quoted = [repr(str(x)) for x in p.phrases]
        return f"{_subject(p.column)} mentions {_values(quoted, 'and' if p.mode == 'all' else 'or')}"
    if isinstance(p, TimeRange):
        return _when(p)
    if isinstance(p, ListHas):
        return f"{p.column} includes {_values(p.values)}"
    if isinstance(p, ListLen):
        return f"{p.column} holds {CMP_WORDS.get(p.op, p.op)} {fmt(p.value)} value{'' if p.value == 1 else 's'}"
    if isinstance(p, Not):
        q = p.pred
        if isinstance(q, Eq):
            return f"{q.column} is not {q.value}"
        if isinstance(q, In):
            return f"{q.column} is neither {_values(q.values, 'nor')}" if len(q.values) > 1 else \
                f"{q.column} is not {q.values[0]}"
        if isinstance(q, Cmp):
            return f"{q.column} is {NOT_CMP_WORDS.get(q.op, 'not ' + q.op)} {fmt(q.value)}"
        if isinstance(q, TextMatch):
            quoted = [repr(str(x)) for x in q.phrases]
            if len(quoted) == 1:
                return f"{_subject(q.column)} does not mention {quoted[0]}"
            return f"{_subject(q.column)} mentions {'none' if q.mode == 'any' else 'not all'} of {', '.join(quoted)}"
        if isinstance(q, ListHas):
            return f"{q.column} includes none of {', '.join(map(str, q.values))}" if len(q.values) > 1 else \
                f"{q.column} does not include {q.values[0]}"
        return f"not {describe(q)}"
    return str(p)


def scope(preds) -> str:
    """The rows counted, after the noun: " since 2016-03-01 where the text mentions 'crash' and rating is 1"."""
    times = [describe(p) for p in preds if isinstance(p, TimeRange)]
    others = [describe(p) for p in preds if not isinstance(p, TimeRange)]
    out = "".join(" " + t for t in times)
    return out + (" where " + " and ".join(others) if others else "")


def measure_words(plan: Plan, column: str | None = None) -> str:
    m = plan.measure
    return m.spec.words.format(column=column or m.column or "", noun=plan.noun)


def _target_words(plan: Plan) -> str:
    return " and ".join(describe(p) for p in plan.target) or "all of them"


# ---- compose ------------------------------------------------------------------------------------------------------
def compose(plan: Plan, columns: list[str], rows: list[list], output_dir: str | None, total: int | None = None,
            ranked_by: str | None = None):
    """Returns (answer text, tables, charts, item_ids), as the old composer did.

    `total`: how many rows the full result had when `rows` is cut short (the executor's row limit), or for
    examples the count of all matches when the rows carry no ``matches`` column. `ranked_by`: for examples,
    "embeddings" when `evidence.rank_examples` ordered them by similarity to their centroid.
    """
    sh = shape(plan)
    tables = [ResultTable(name="result", columns=list(columns), rows=[list(r) for r in rows])]
    at = {c: i for i, c in enumerate(columns)}
    if plan.measure.name == "examples":
        return _examples(plan, sh, at, rows, total, ranked_by, tables)
    recs = [{c: r[i] for c, i in at.items()} for r in rows]
    if plan.compare is not None:
        text, charts = _compare(plan, sh, recs, output_dir)
    elif plan.group is None:
        text, charts = _scalar(plan, sh, recs[0] if recs else {}), []
    else:
        text, charts = _grouped(plan, sh, recs, output_dir, total)
    return text, tables, charts, []


def _figure(plan: Plan, sh: Shape, r: dict, with_size: bool = False) -> str:
    """One value in words, with its size when that matters: '41% (7 of 17 reviews)', '3.2 (over 5 reviews)'."""
    v = r.get(sh.value)
    if plan.measure.name == "share":
        return f"{fmt(v)}% ({fmt(r.get(sh.matching))} of {count_phrase(r.get(sh.size), plan.noun)})"
    if plan.measure.name in ("earliest", "latest"):
        return _date(v)
    if plan.measure.name == "count" or sh.size is None:
        return fmt(v)
    n = r.get(sh.size)
    return f"{fmt(v)} (over {count_phrase(n, plan.noun)})" if with_size or (n or 0) < SMALL_GROUP else fmt(v)


def _date(v) -> str:
    s = str(v) if v is not None else "n/a"
    return s[:10] if s.endswith("00:00:00") or len(s) <= 10 else f"{s[:10]} ({s[11:16]} UTC)"


def _scalar(plan: Plan, sh: Shape, r: dict) -> str:
    m, noun, where = plan.measure.name, plan.noun, scope(plan.where)
    v = r.get(sh.value)
    if m == "count":
        return f"There {'is' if v == 1 else 'are'} {count_phrase(v, noun)}{where}."
    if m == "share":
        n = r.get(sh.size)
        if not n:
            return f"There are no {plural(noun)}{where}, so there is no percentage."
        return (f"{fmt(v)}% of {plural(noun)}{where} ({fmt(r.get(sh.matching))} of {fmt(n)}) are ones where "
                f"{_target_words(plan)}.")
    if m == "distinct":
        one = v == 1
        return (f"There {'is' if one else 'are'} {fmt(v)} distinct {plan.measure.column} "
                f"value{'' if one else 's'} among {plural(noun)}{where}.")
    n = r.get(sh.size)
    if not n or v is None:
        return (f"No {plural(noun)}{where} have a {plan.measure.column}, so there is no "
                f"{measure_words(plan)}.")
    if m in ("earliest", "latest"):
        which = "oldest" if m == "earliest" else "newest"
        if plan.measure.column == plan.time_column:
            return f"The {which} {singular(noun)}{where} is dated {_date(v)} (of {count_phrase(n, noun)})."
        return f"The {measure_words(plan)} of {plural(noun)}{where} is {_date(v)} (of {count_phrase(n, noun)})."
    return f"The {measure_words(plan)} of {plural(noun)}{where} is {fmt(v)} (over {count_phrase(n, noun)})."


def _examples(plan, sh, at, rows, total, ranked_by, tables):
    noun, where = plan.noun, scope(plan.where)
    matches = total if total is not None else (rows[0][at[sh.matches]] if rows and sh.matches in at else len(rows))
    shown = rows[:plan.limit or 5]
    tables[0].rows = [list(r) for r in shown]
    ids = [str(r[at[sh.id]]) for r in shown]
    if not shown:
        return f"There are no {plural(noun)}{where}, so there are no examples.", tables, [], ids
    order = "most representative first" if ranked_by == "embeddings" else "newest first"
    head = (f"{len(shown)} example{'s' if len(shown) != 1 else ''} ({order}) of the {count_phrase(matches, noun)}"
            f"{where}:" if matches != 1 else f"The only {singular(noun)}{where}:")
    lines = []
    for r in shown:
        d = f" ({r[at[sh.date]]})" if sh.date in at and r[at[sh.date]] else ""
        lines.append(f"- [{r[at[sh.id]]}]{d} \"{str(r[at[sh.text]])[:300]}\"")
    return head + "\n" + "\n".join(lines), tables, [], ids


def _compare(plan: Plan, sh: Shape, recs: list[dict], out_dir):
    c, noun, where, m = plan.compare, plan.noun, scope(plan.where), plan.measure.name
    what = f"number of {plural(noun)}" if m == "count" else measure_words(plan)
    if m == "share":
        what = f"share of {plural(noun)} where {_target_words(plan)}"
    if len(recs) != 2:
        return f"The comparison of {c.a.label} and {c.b.label} gave {len(recs)} rows instead of two.", []
    a, b = recs
    va, vb = a.get(sh.value), b.get(sh.value)

    def side(label, r):
        if m == "count":
            return f"{label}: {count_phrase(r.get(sh.value), noun)}"
        if m == "share":
            return f"{label}: {_figure(plan, sh, r)}"
        return f"{label}: {_figure(plan, sh, r, True).replace(' (over ', ' over ').rstrip(')')}"

    both = f"{side(c.a.label, a)} vs {side(c.b.label, b)}"
    charts = [_bar(f"{_cap(what)}: {c.a.label} vs {c.b.label}{where}", [c.a.label, c.b.label], [va, vb],
                   sh.value, "", out_dir)] if m not in ("earliest", "latest") else []
    for label, v in ((c.a.label, va), (c.b.label, vb)):
        if v is None:
            return (f"There is no {what} for {label}{where}, so {c.a.label} and {c.b.label} cannot be compared "
                    f"({both})."), charts
    unit = " percentage points" if m == "share" else ""
    if va == vb:
        return f"{c.a.label} and {c.b.label} have the same {what}{where} ({both}).", charts
    if m in ("earliest", "latest"):
        first = c.a.label if va < vb else c.b.label
        return f"{first} has the earlier {what}{where} ({both}).", charts
    if c.mode == "ratio":
        if not vb:
            return f"{c.b.label}'s {what}{where} is 0, so there is no ratio ({both}).", charts
        return f"{c.a.label}'s {what}{where} is {fmt(round(va / vb, 3))} times {c.b.label}'s ({both}).", charts
    diff = fmt(_round(abs(va - vb))) + unit
    if c.mode == "winner":
        a_wins = (va > vb) == (c.order != "asc")
        win = c.a.label if a_wins else c.b.label
        hi = "higher" if c.order != "asc" else "lower"
        return f"{win} has the {hi} {what}{where}, by {diff} ({both}).", charts
    more = ("more" if m == "count" else "higher") if va > vb else ("fewer" if m == "count" else "lower")
    return f"{c.a.label}'s {what}{where} is {diff} {more} than {c.b.label}'s ({both}).", charts


def _round(x):
    return round(x, 4) if isinstance(x, float) else x


def _grouped(plan: Plan, sh: Shape, recs: list[dict], out_dir, total):
    kept, left_out = plan.left_out_groups()
    noun, where, g = plan.noun, scope(kept), sh.group
    if left_out:
        where += f"{',' if where else ''} leaving out the {g} value{'s' if len(left_out) > 1 else ''} " \
                 f"{_values(left_out, 'and')}"
    what = f"number of {plural(noun)}" if plan.measure.name == "count" else measure_words(plan)
    if plan.measure.name == "share":
        what = f"share of {plural(noun)} where {_target_words(plan)}"
    all_groups = max([total or 0, len(recs)] + [r.get(sh.all_groups) or 0 for r in recs])
    is_list = isinstance(plan.group, Column) and plan.group.list_fmt or plan.unit == "mentions"
    note = (f" Counts are of mentions (values), not {plural(noun)}: a {singular(noun)} with several {g} values "
            f"counts once under each, so the counts can add up to more than the number of {plural(noun)}."
            if is_list else "")
    if plan.having is not None and plan.top is not None and plan.top.by == "measure":
        # 'of the source datasets with at least 100 critiques, which has the lowest mean score': a ranking of the
        # groups that pass
        where = f" among {plural(g)} with {_having_words(plan.having, noun)}" + where
    elif plan.having is not None:
        h = plan.having
        hwords = _having_words(h, noun)
        if not recs:
            return f"No {singular(g)} has {hwords}{where}.{note}", []
        k = len(recs)
        head = f"{fmt(k)} {singular(g) if k == 1 else plural(g)} {'has' if k == 1 else 'have'} {hwords}{where}: "
        if h.measure != plan.measure and plan.measure.name != "count":     # the average rating of each app ...
            head = head[:-2] + f"; their {what}: "
        return head + _list(plan, sh, recs) + note, _charts(plan, sh, recs, what, where, out_dir, all_groups)
    if not recs:
        return f"There are no {plural(noun)}{where}.", []
    charts = _charts(plan, sh, recs, what, where, out_dir, all_groups)
    top = plan.top
    if isinstance(plan.group, TimeGrain) and (top is None or top.by == "group"):
        peak = max(recs, key=lambda r: (r[sh.value] is not None, r[sh.value] or 0))
        span = f"{recs[0][g]} to {recs[-1][g]}" if len(recs) > 1 else f"{recs[0][g]}"
        return (f"{_cap(what)} per {g}{where}, {span}: highest in {peak[g]}, with {_figure(plan, sh, peak)}. "
                + _list(plan, sh, recs) + note), charts
    if top is not None and top.by == "measure":
        best, word = recs[0], _superlative(plan, top.order)
        ties = [r for r in recs if r[sh.value] == best[sh.value]]
        if top.n in (1, None):
            if len(ties) > 1:
                names = _values([r[g] for r in ties], "and")
                text = f"{names} are tied for {word}{where}, with {_figure(plan, sh, best)} each."
            else:
                text = f"{best[g]} has {word}{where}: {_figure(plan, sh, best, True)}."
            rest = recs[len(ties):]
            if rest and top.n is None:
                text += " Next: " + _list(plan, sh, rest, 4)
            return text + note, charts
        cut = f" ({len(recs)} shown: tied at the cut)" if top.n and len(recs) > top.n else ""
        head = f"{'Top' if top.order != 'asc' else 'Bottom'} {fmt(top.n)} of {fmt(all_groups)} {plural(g)} by {what}"
        return f"{head}{where}{cut}: " + _list(plan, sh, recs) + note, charts
    return f"{_cap(what)} per {g}{where}: " + _list(plan, sh, recs) + note, charts


def _having_words(h, noun: str) -> str:
    """'at least 10 reviews', 'an average rating below 3'."""
    cmp_ = f"{CMP_WORDS.get(h.op, h.op)} {fmt(h.value)}"
    if h.measure.name == "count":
        return f"{cmp_} {plural(noun)}"
    words = h.measure.spec.words.format(column=h.measure.column or "", noun=plural(noun))
    if h.measure.name == "share":
        return f"a {words} {cmp_}%"
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words} {cmp_}"


def _superlative(plan: Plan, order: str) -> str:
    hi = order != "asc"
    m = plan.measure.name
    if m == "count":
        return f"the {'most' if hi else 'fewest'} {plural(plan.noun)}"
    if m == "share":
        return f"the {'highest' if hi else 'lowest'} share of {plural(plan.noun)} where {_target_words(plan)}"
    return f"the {'highest' if hi else 'lowest'} {measure_words(plan)}"


def _list(plan: Plan, sh: Shape, recs: list[dict], n: int = LIST_SHOWN) -> str:
    def one(r):
        if sh.having and plan.measure.name == "count":   # the figure the groups passed on, and their size
            return f"{r[sh.group]}: {fmt(r[sh.having])} ({count_phrase(r[sh.size], plan.noun)})"
        if sh.having:
            return f"{r[sh.group]}: {_figure(plan, sh, r)}, {sh.having} {fmt(r[sh.having])}"
        return f"{r[sh.group]}: {_figure(plan, sh, r)}"

    s = "; ".join(one(r) for r in recs[:n])
    return s + (f"; ... ({len(recs)} in all)." if len(recs) > n else ".")


def _charts(plan: Plan, sh: Shape, recs, what, where, out_dir, all_groups) -> list[Chart]:
    if plan.measure.name in ("earliest", "latest"):
        return []     # dates: the table shows them
    g = sh.group
    title = f"{_cap(what)} per {g}" + (where if len(where) < 60 else "")
    if isinstance(plan.group, TimeGrain) and (plan.top is None or plan.top.by == "group"):
        return [_chart("line", title, [r[g] for r in recs], [r[sh.value] for r in recs], sh.value, g, out_dir)]
    shown = recs[:MAX_BARS]
    if len(shown) < all_groups:
        word = "bottom" if plan.top is not None and plan.top.order == "asc" else "top"
        title += f" ({word} {len(shown)} of {all_groups})"
    return [_bar(title, [r[g] for r in shown], [r[sh.value] for r in shown], sh.value, g, out_dir)]


def _bar(title, labels, values, y_title, x_title, out_dir) -> Chart:
    return _chart("bar", title, labels, values, y_title, x_title, out_dir)


def _chart(kind, title, labels, values, y_title, x_title, out_dir) -> Chart:
    from earful import charts

    values = [float(v) if isinstance(v, (int, float)) else None for v in values]
    table = charts.ChartTable(title, list(labels), {y_title: values}, x_title=x_title, y_title=y_title)
    return Chart(**charts.draw(kind, table, out_dir=out_dir))


__all__ = ["compose", "count_phrase", "describe", "fmt", "scope"]
