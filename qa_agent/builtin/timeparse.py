"""Date phrases in questions -> time filters on the view's time column.

Design decision: relative phrases ("since March", "in March", "last 6 months") are resolved against the latest
date *in the data*, not today ("last N days/weeks/months/years" is a rolling window ending at that date):
feedback exports are often old, and "since March" over reviews that end in May 2014 means March 2014 to a user looking
at that data. The answer states the resolved dates, so this is never hidden.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from earful.qa_agent.builtin.ir import TimeRange
from earful.qa_agent.builtin.lexicon import lexicon

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


def _bounded(col: str, prep: str, start: date, end: date) -> list:
    """The one TimeRange a period said with a preposition means (start inclusive, end exclusive)."""
    lo = hi = None
    for op, k in BOUNDS.get(prep, BOUNDS["within"]):
        if op == ">=":
            lo = (start, end)[k].isoformat()
        else:
            hi = (start, end)[k].isoformat()
    return [TimeRange(col, lo, hi)]


def _month_year(m: int, latest: date) -> int:
    """The latest year in which month m started on or before the data's latest date."""
    return latest.year if m <= latest.month else latest.year - 1


@dataclass
class _Said:
    """One date phrase matched in the question, with what resolving it needs."""

    m: re.Match
    col: str              # the view's time column
    latest: date | None   # the latest date in the data
    words: str            # the phrase as the question says it

    def bounded(self, prep: str, start: date, end: date) -> list:
        return _bounded(self.col, prep, start, end)

    def within(self, start: date, end: date) -> list:
        return self.bounded("within", start, end)


ISO_DAY = r"((?:19|20)\d\d)-(\d\d?)-(\d\d?)\b"
ISO_MONTH = r"((?:19|20)\d\d)-(\d\d?)\b(?!-\d)"


def _date(y: str, m: str, d: str = "1") -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:     # 2016-02-30, 2016-13: no such date, so no date phrase (the question is declined)
        return None


def _iso_range(s: _Said) -> list | None:
    """'from 2016-01-01 to 2016-03-31', 'between 2016-01-01 and 2016-03-31': both days included."""
    g = s.m.groups()
    d1, d2 = _date(*g[1:4]), _date(*g[5:8])
    if d1 is None or d2 is None or d2 < d1:
        return None
    return s.within(d1, d2 + timedelta(days=1))


def _iso_day(s: _Said) -> list | None:
    """'since 2016-03-01', 'before 2016-03-01', 'on 2016-03-01', 'from 2016-03-01' (on, as for a day nothing else
    is meant)."""
    prep, d = s.m.group(1), _date(*s.m.group(2, 3, 4))
    if d is None:
        return None
    return s.bounded("since" if s.m.group(5) or prep == "from" else prep, d, d + timedelta(days=1))


def _iso_month(s: _Said) -> list | None:
    """'in 2016-03', 'since 2016-03': that month."""
    prep, start = s.m.group(1), _date(s.m.group(2), s.m.group(3))
    if start is None:
        return None
    return s.bounded("since" if s.m.group(4) else prep, start, _next_month(start.year, start.month))


def _years_between(s: _Said) -> list | None:
    """'between 2012 and 2014', 'from 2012 to 2014', 'in 2012-2013': whole years from the first to the last."""
    m = s.m
    prep, conn = m.group(1), m.group(3)
    y1, y2 = sorted((int(m.group(2)), int(m.group(4))))
    if (conn in ("and", "or") and prep != "between" and y2 != y1 + 1) or (prep == "between") != (conn == "and"):
        return None    # 'in 2011 and 2013' names two years, not the range between them
    return s.within(date(y1, 1, 1), date(y2 + 1, 1, 1))


def _month_range(s: _Said) -> list | None:
    """'from March to May 2014', 'between Nov 2013 and Feb 2014': whole months; a first month after the last one
    without its own year is in the year before."""
    m = s.m
    if (m.group(1) == "between") != (m.group(4) == "and"):
        return None    # 'in March and May 2014' names two months, not a range
    m1, m2, y2 = MONTHS[m.group(2)], MONTHS[m.group(5)], int(m.group(6))
    y1 = int(m.group(3)) if m.group(3) else (y2 if m1 <= m2 else y2 - 1)
    return s.within(date(y1, m1, 1), _next_month(y2, m2))


def _month(s: _Said) -> list | None:
    """'in March 2014', 'since March' (the latest March in the data), 'from May onwards'."""
    m = s.m
    prep, mon, yr = m.group(1), MONTHS[m.group(2)], m.group(3)
    if m.group(2) == "may" and not yr and prep not in ("since", "in", "during"):
        return None    # "may" is usually the verb
    if yr:
        y = int(yr)
    elif s.latest is not None:
        y = _month_year(mon, s.latest)
    else:
        return None
    return s.bounded("since" if m.group(4) else prep, date(y, mon, 1), _next_month(y, mon))


def _quarter(s: _Said) -> list:
    """'in Q1 2014', 'the second quarter of 2015', 'since Q3 2014'."""
    m = s.m
    qn = int(m.group(2)[1]) if m.group(2)[0] == "q" else ORDINALS[m.group(2).split()[0]]
    y, first = int(m.group(3)), 3 * qn - 2
    return s.bounded("since" if m.group(4) else (m.group(1) or "in"), date(y, first, 1), _next_month(y, first + 2))


def _year(s: _Said) -> list:
    """'in 2014', 'since 2013', 'before 2015', 'from 2014 onwards'."""
    prep, y = s.m.group(1), int(s.m.group(2))
    return s.bounded("since" if s.m.group(3) else prep, date(y, 1, 1), date(y + 1, 1, 1))


def _year_noun(s: _Said) -> list:
    """'the 2013 reviews': that year."""
    y = int(s.m.group(1))
    return s.within(date(y, 1, 1), date(y + 1, 1, 1))


def _year_last(s: _Said) -> list:
    """'avg rating GAME apps 2014': a question ending in a bare year means that year; not when it joins another
    date ('in 2011 and 2013': two periods, declined), follows a month ('in March and May 2014': the month rule's
    business) or follows a number ('top 5 2014')."""
    before = re.findall(r"[\w-]+", s.m.string[:s.m.start()])
    joins = ("and", "or", "nor", "to", "through", "until", "till", "from", "between", "vs", "versus", "than", "of", "-")
    if not before or before[-1] in joins or before[-1] in MONTHS or re.search(r"\d", before[-1]):
        return None
    return _year_noun(s)


def _last(s: _Said) -> list | None:
    """'last 6 months', 'the past week', 'previous 3 years': a rolling window ending at the latest date in the data."""
    if s.latest is None:
        return None
    n = s.m.group(2)
    n = 1 if not n else (int(n) if n.isdigit() else NUMW[n])
    start = _window_start(s.latest, n, s.m.group(3).rstrip("s"))
    return [TimeRange(s.col, start.isoformat(), None)]


def _window_start(latest: date, n: int, unit: str) -> date:
    """The first day of the last `n` days / weeks / months / years up to and including `latest`."""
    if unit == "day":
        return latest - timedelta(days=n - 1)
    if unit == "week":
        return latest - timedelta(days=7 * n - 1)
    if unit == "month":   # a rolling window ending at the latest date, stated in the answer
        y, mo = latest.year, latest.month - n
        while mo <= 0:
            mo += 12
            y -= 1
        return date(y, mo, min(latest.day, 28))
    return date(latest.year - n, latest.month, min(latest.day, 28))


# the date phrases, tried in this order (an earlier one's words are not read again): pattern -> reader; a reader
# returns the filters the phrase means, or None when these words are not a date phrase after all
RULES = [
    (rf"\b(between|from)\s+{ISO_DAY}\s*(and|to|until|till|through|-)\s*{ISO_DAY}", _iso_range),
    (rf"\b(since|after|before|until|on|in|during|from)\s+{ISO_DAY}{ONWARDS}", _iso_day),
    (rf"\b(since|after|before|until|in|during|from)\s+{ISO_MONTH}{ONWARDS}", _iso_month),
    (rf"\b(between|from|in|during)\s+{YEAR}\s*(and|or|to|until|till|through|-)\s*{YEAR}\b", _years_between),
    (rf"\b(from|in|during|between)\s+{MON}(?:\s+{YEAR})?\s+(to|until|till|through|and|-)\s+{MON}\s+{YEAR}\b",
     _month_range),
    (rf"\b(since|after|from|before|until|in|during)\s+(?:the\s+month\s+of\s+)?{MON}\.?(?:\s+{YEAR})?{ONWARDS}",
     _month),
    (rf"\b(?:(since|after|before|until|in|during|from|for)\s+)?(?:the\s+)?(q[1-4]|{ORDINAL}\s+quarter)"
     rf"(?:\s+of)?\s+{YEAR}{ONWARDS}", _quarter),
    (rf"\b(since|after|before|until|in|during|from|for|only|just|of)\s+(?:the\s+(?:start|beginning)\s+of\s+)?"
     rf"(?:the\s+year\s+)?{YEAR}(?!-\d){ONWARDS}", _year),     # not the year of '2016-02-30' (no such day)
    (rf"\b{YEAR}(?=\s+(?:{'|'.join(sorted(lexicon().row_nouns))})s?\b)", _year_noun),    # 'the 2013 reviews'
    # a terse question that ends in a year: 'avg rating GAME apps 2014' (recognise.dates drops it when the year is
    # part of a value: 'ICLR 2020')
    (rf"(?<=\s){YEAR}(?=\s*[?.!]?\s*$)", _year_last),
    (r"\b(?:in\s+)?(?:the\s+)?(last|past|latest|previous|final|most\s+recent)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|"
     r"ten|twelve)?\s*(days?|weeks?|months?|years?)\b", _last),
]


def time_phrases(q: str, view) -> list[tuple[int, int, list | None, str]]:
    """Every date phrase of the question: (start, end, its TimeRange predicates, words). The predicates are None
    when the view has no dates. A phrase overlapping one an earlier rule read is not read again."""
    found, taken = [], []
    col, latest, ql = view.time_column, _latest(view), q.lower()
    for rx, read in RULES:
        for m in re.finditer(rx, ql):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            words = q[m.start():m.end()]
            if col is None and read is _year_last:
                continue        # a bare year in a source with no dates is no date phrase ('... ICLR 2020')
            if col is None:
                taken.append((m.start(), m.end()))
                found.append((m.start(), m.end(), None, f"'{words}' (this source has no dates)"))
                continue
            preds = read(_Said(m, col, latest, words))
            if preds is None:
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), m.end(), preds, words))
    return found
