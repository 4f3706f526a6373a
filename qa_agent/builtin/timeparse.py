"""Date phrases in questions -> time filters on the view's time column.

Design decision: relative phrases ("since March", "in March", "last 6 months") are resolved against the latest
date *in the data*, not today ("last N days/weeks/months/years" is a rolling window ending at that date):
feedback exports are often old, and "since March" over reviews that end in May 2014 means March 2014 to a user looking
at that data. The answer states the resolved dates, so this is never hidden.
"""
from __future__ import annotations

import re
from datetime import date

from earful.qa_agent.builtin.phrases import ROW_NOUNS
from earful.qa_agent.builtin.plan import Filter

MONTHS = {m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                          "september", "october", "november", "december"])}
MONTHS.update({k[:3]: v for k, v in list(MONTHS.items())})
MONTHS["sept"] = 9
MON = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|" \
      r"jun|jul|aug|sep|sept|oct|nov|dec)"
YEAR = r"((?:19|20)\d\d)"
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": 4}
ORDINAL = "(?:" + "|".join(ORDINALS) + ")"
NUMW = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "twelve": 12}


def _next_month(y: int, m: int) -> date:
    return date(y + (m == 12), 1 if m == 12 else m + 1, 1)


def _latest(view) -> date | None:
    col = view.column(view.time_column) if view.time_column else None
    if col is None or not col.max:
        return None
    try:
        return date.fromisoformat(str(col.max)[:10])
    except ValueError:
        return None


# 'from March 2014 onwards': from that period on, not within it
ONWARDS = r"(\s+(?:onwards?|on(?=\s*[?.!]*$)|and later|or later|and after))?\b"
# a period [start, end) said with a preposition -> the filters it means; any other preposition: within it
BOUNDS = {"since": ((">=", 0),), "after": ((">=", 1),), "before": (("<", 0),), "until": (("<", 1),),
          "within": ((">=", 0), ("<", 1))}


def _bounded(col: str, prep: str, start: date, end: date, words: str) -> list:
    bounds = BOUNDS.get(prep, BOUNDS["within"])
    return [Filter(col, "time" + op, (start, end)[k].isoformat(), words) for op, k in bounds]


def _month_year(m: int, latest: date) -> int:
    """The latest year in which month m started on or before the data's latest date."""
    return latest.year if m <= latest.month else latest.year - 1


def time_filters(q: str, toks, view, mark, problems: list) -> list:
    found = []
    col = view.time_column
    latest = _latest(view)
    ql = q.lower()

    def add(m, filters):
        idx = mark(toks, m.start(), m.end(), "time")
        for f in filters:
            found.append((idx[0] if idx else 0, f))

    def rng(lo: date, hi: date, words: str):
        return _bounded(col, "within", lo, hi, words)

    patterns = [
        (rf"\b(between|from|in|during)\s+{YEAR}\s*(and|or|to|until|till|through|-)\s*{YEAR}\b", "between"),
        (rf"\b(from|in|during|between)\s+{MON}(?:\s+{YEAR})?\s+(to|until|till|through|and|-)\s+{MON}\s+{YEAR}\b",
         "monrange"),
        (rf"\b(since|after|from|before|until|in|during)\s+(?:the\s+month\s+of\s+)?{MON}\.?(?:\s+{YEAR})?{ONWARDS}",
         "month"),
        (rf"\b(?:(since|after|before|until|in|during|from|for)\s+)?(?:the\s+)?(q[1-4]|{ORDINAL}\s+quarter)"
         rf"(?:\s+of)?\s+{YEAR}{ONWARDS}", "quarter"),
        (rf"\b(since|after|before|until|in|during|from|for|only|just)\s+(?:the\s+year\s+)?{YEAR}{ONWARDS}", "year"),
        (rf"\b{YEAR}(?=\s+(?:{'|'.join(ROW_NOUNS)})s?\b)", "year_noun"),    # 'the 2013 reviews'
        (r"\b(?:in\s+)?(?:the\s+)?(last|past|latest|previous)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|"
         r"ten|twelve)?\s*(days?|weeks?|months?|years?)\b", "last"),
    ]
    for rx, kind in patterns:
        for m in re.finditer(rx, ql):
            if any(t.used for t in toks if t.start >= m.start() and t.end <= m.end()):
                continue
            if col is None:
                problems.append(f"'{q[m.start():m.end()]}' (this source has no dates)")
                mark(toks, m.start(), m.end(), "unmapped")
                continue
            words = q[m.start():m.end()]
            if kind == "between":
                prep, conn = m.group(1), m.group(3)
                y1, y2 = sorted((int(m.group(2)), int(m.group(4))))
                if (conn in ("and", "or") and prep != "between" and y2 != y1 + 1) or (prep == "between") != (
                        conn == "and"):
                    continue    # 'in 2011 and 2013' names two years, not the range between them
                add(m, rng(date(y1, 1, 1), date(y2 + 1, 1, 1), words))
            elif kind == "monrange":
                if (m.group(1) == "between") != (m.group(4) == "and"):
                    continue    # 'in March and May 2014' names two months, not a range
                m1, m2, y2 = MONTHS[m.group(2)], MONTHS[m.group(5)], int(m.group(6))
                y1 = int(m.group(3)) if m.group(3) else (y2 if m1 <= m2 else y2 - 1)
                add(m, rng(date(y1, m1, 1), _next_month(y2, m2), words))
            elif kind == "month":
                prep, mon, yr = m.group(1), MONTHS[m.group(2)], m.group(3)
                if m.group(2) == "may" and not yr and prep not in ("since", "in", "during"):
                    continue   # "may" is usually the verb
                if yr:
                    y = int(yr)
                elif latest is not None:
                    y = _month_year(mon, latest)
                else:
                    continue
                add(m, _bounded(col, "since" if m.group(4) else prep, date(y, mon, 1), _next_month(y, mon), words))
            elif kind == "quarter":      # 'in Q1 2014', 'the second quarter of 2015'
                qn = int(m.group(2)[1]) if m.group(2)[0] == "q" else ORDINALS[m.group(2).split()[0]]
                y, first = int(m.group(3)), 3 * qn - 2
                add(m, _bounded(col, "since" if m.group(4) else (m.group(1) or "in"), date(y, first, 1),
                                _next_month(y, first + 2), words))
            elif kind == "year_noun":
                y = int(m.group(1))
                add(m, rng(date(y, 1, 1), date(y + 1, 1, 1), words))
            elif kind == "year":
                prep, y = m.group(1), int(m.group(2))
                add(m, _bounded(col, "since" if m.group(3) else prep, date(y, 1, 1), date(y + 1, 1, 1), words))
            elif kind == "last":
                if latest is None:
                    continue
                n = m.group(2)
                n = 1 if not n else (int(n) if n.isdigit() else NUMW[n])
                unit = m.group(3).rstrip("s")
                if unit == "day":
                    from datetime import timedelta
                    start = latest - timedelta(days=n - 1)
                elif unit == "week":
                    from datetime import timedelta
                    start = latest - timedelta(days=7 * n - 1)
                elif unit == "month":   # a rolling window ending at the latest date, stated in the answer
                    y, mo = latest.year, latest.month - n
                    while mo <= 0:
                        mo += 12
                        y -= 1
                    start = date(y, mo, min(latest.day, 28))
                else:
                    start = date(latest.year - n, latest.month, min(latest.day, 28))
                add(m, [Filter(col, "time>=", start.isoformat(), words)])
    return found
