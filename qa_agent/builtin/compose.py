"""Answer text, tables and charts from a plan's SQL result, and only from it.

Design decision: every number in the answer text is read from the result rows (never from the plan or the card),
and the text restates what was counted (the filters in words), so a reader can see what question was answered.
"""
from __future__ import annotations

from earful.qa_agent.base import Chart, ResultTable
from earful.qa_agent.builtin.plan import Plan


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


def _where(plan: Plan) -> str:
    if not plan.filters:
        return ""
    return " where " + " and ".join(f.describe() for f in plan.filters)


def _measure_words(plan: Plan) -> str:
    share = "percent" + (f" of {plan.noun} where " + " and ".join(f.describe() for f in plan.target) + ","
                         if plan.target else "")
    return {"count": f"{plan.noun}", "share": share, "avg": f"average {plan.column}",
            "min": f"lowest {plan.column}", "median": f"median {plan.column}", "max": f"highest {plan.column}",
            "sum": f"total {plan.column}",
            "distinct": f"distinct {plan.column} values"}.get(plan.measure, plan.measure)


def compose(plan: Plan, columns: list[str], rows: list[list], out_dir: str | None):
    """Returns (answer text, tables, charts, item_ids)."""
    table = ResultTable(name="result", columns=columns, rows=rows)
    tables, charts, item_ids = [table], [], []
    where = _where(plan)
    if plan.measure == "examples":
        item_ids = [str(r[0]) for r in rows]
        if not rows:
            return f"No {plan.noun}{where}.", tables, charts, item_ids
        quotes = "\n".join(f"- \"{str(r[1])[:300]}\"" for r in rows)
        return f"{len(rows)} example {plan.noun}{where}:\n{quotes}", tables, charts, item_ids
    if not plan.group:
        r = dict(zip(columns, rows[0])) if rows else {}
        if plan.measure == "count":
            n = r.get(plan.noun)
            text = (f"There is 1 {_singular(plan.noun)}{where}." if n == 1 else
                    f"There are {fmt(n)} {plan.noun}{where}.")
        elif plan.measure == "share":
            target = " and ".join(f.describe() for f in plan.target)
            text = (f"{fmt(r.get('percent'))}% of {plan.noun}{where} ({fmt(r.get('matching'))} of "
                    f"{fmt(r.get('total'))}) are ones where {target}.")
        elif plan.measure == "distinct":
            text = f"There are {fmt(rows[0][0])} distinct {plan.column} values among {plan.noun}{where}."
        else:
            n = r.get(plan.noun)
            if not n:
                text = f"No {plan.noun}{where} have a {plan.column}, so there is no {_measure_words(plan)}."
            else:
                text = (f"The {_measure_words(plan)} of {plan.noun}{where} is {fmt(rows[0][0])} "
                        f"(over {fmt(n)} {plan.noun}).")
        return text, tables, charts, item_ids
    # breakdowns
    gname, vname = columns[0], columns[-1] if plan.measure == "share" else columns[1]
    vidx = columns.index(vname)
    if not rows:
        return f"No {plan.noun}{where}.", tables, charts, item_ids
    title = f"{_cap(_measure_words(plan))} per {gname}" + (where if len(where) < 60 else "")
    labels = [r[0] for r in rows]
    values = [r[vidx] for r in rows]
    if plan.group.startswith("@") and not plan.order:
        charts.append(Chart(**_chart("line", title, labels, values, vname, gname, out_dir)))
        peak = max(rows, key=lambda r: (r[vidx] is not None, r[vidx] or 0))
        text = (f"{_cap(_measure_words(plan))} per {gname}{where}, {fmt(labels[0])} to {fmt(labels[-1])}: "
                f"highest in {peak[0]} ({fmt(peak[vidx])}). " + _list(rows, vidx, 12))
        return text, tables, charts, item_ids
    shown = rows[:30]
    charts.append(Chart(**_chart("bar", title, [r[0] for r in shown], [r[vidx] for r in shown], vname, gname,
                                 out_dir)))
    if plan.order:
        top = rows[0]
        ties = [r[0] for r in rows[1:] if r[vidx] == top[vidx]]
        word = {"count": "the most" if plan.order == "desc" else "the fewest",
                "share": "the highest share" if plan.order == "desc" else "the lowest share",
                }.get(plan.measure, ("the highest " if plan.order == "desc" else "the lowest ") + _measure_words(plan))
        subject = f"{top[0]}" + (f" (tied with {', '.join(map(str, ties[:5]))})" if ties else "")
        what = f" {plan.noun}" if plan.measure == "count" else ""
        text = f"{subject} has {word}{what}{where} ({fmt(top[vidx])}" + \
               ("%" if plan.measure == "share" else "") + ")."
        if len(rows) > 1 and not plan.limit:
            text += " Next: " + _list(rows[1:], vidx, 4)
        elif plan.limit and len(rows) > 1:
            text = f"{'Top' if plan.order == 'desc' else 'Bottom'} {len(rows)} {_plural(gname)} by " \
                f"{_measure_words(plan).rstrip(',')}{where}: " + \
                _list(rows, vidx, plan.limit)
        return text, tables, charts, item_ids
    text = f"{_cap(_measure_words(plan))} per {gname}{where}: " + _list(rows, vidx, 15)
    return text, tables, charts, item_ids


def _cap(s: str) -> str:
    """Upper-case the first letter only: str.capitalize() would lower-case the values quoted after it."""
    return s[:1].upper() + s[1:]


def _list(rows, vidx, n) -> str:
    s = "; ".join(f"{r[0]}: {fmt(r[vidx])}" for r in rows[:n])
    return s + (f"; ... ({len(rows)} in all)" if len(rows) > n else ".")


def _chart(kind, title, labels, values, y_title, x_title, out_dir) -> dict:
    from earful import charts

    values = [float(v) if v is not None else None for v in values]
    table = charts.ChartTable(title, list(labels), {y_title: values}, x_title=x_title, y_title=y_title)
    return charts.draw(kind, table, out_dir=out_dir)   # a registered chart kind (earful.charts.CHART_KINDS)


def _plural(word: str) -> str:
    """'topic' -> 'topics', 'app_category' -> 'app_categories' (column names read as nouns in answers)."""
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular(noun: str) -> str:
    """'reviews' -> 'review' for a count of one (the row nouns are plain plurals: reviews, sentences, critiques)."""
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
