"""The grammar over recognised spans: a cover of the question, then every reading of it as a typed Plan.

Steps: (1) `covers` picks non-overlapping content spans (quoted text, mentions, numbers, dates, values, columns),
longest and most specific first; where one phrase has two equally good meanings (a value in two columns, a word
that is a value of one column and names another) each meaning is its own cover. (2) `read` turns a cover into a
Plan by small role rules (measure, group, order, filters, share base/target, compare, having) or a reason to
decline. (3) Every word must be accounted for: a span the plan used, a word of the lexicon, or a function word.

Design decision: a cover is read without looking back at the text; two covers that give different plans are two
readings, and the caller compiles both and declines naming them when their SQL differs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from earful.qa_agent.builtin.ir import (
    Cmp,
    Column,
    Compare,
    Eq,
    Having,
    In,
    ListHas,
    ListLen,
    Measure,
    Not,
    Plan,
    Side,
    TextMatch,
    TimeGrain,
    TopN,
)
from earful.qa_agent.builtin.lexicon import lexicon
from earful.qa_agent.builtin.recognise import Question, Span, numeric_columns
from earful.qa_agent.builtin.roles import (
    COMPARATIVE,
    JOIN_WORDS,
    RANK_VERBS,
    _about,
    _account,
    _describe,
    _merge,
    _mword,
    _negated,
    _pred_col,
    _prefer_list,
    _share_split,
    _stage_missing,
    _trigger,
    _trigger_before,
    k_before,
    label_of,
)
from earful.qa_agent.builtin.vocab import resolve, singular

CONTENT = ("quote", "text", "number", "time", "value", "column", "cmp")
NUMERIC_MEASURES = ("avg", "median", "stddev", "sum", "min", "max")


@dataclass
class Reading:
    plan: Plan | None = None
    reason: str = ""
    understood: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    loose_words: list[str] = field(default_factory=list)
    stated: set = field(default_factory=set)       # which parts the question stated (a follow-up keeps the rest)
    cover: str = ""                                 # the cover's content spans, in words (names a reading)
    order: str | None = None                        # a follow-up's order with no group of its own ('and the highest?')


# ---- covers -------------------------------------------------------------------------------------------------------
def _rank(s: Span) -> tuple:
    cls = 0 if s.kind in ("text", "number", "time", "cmp") else 1
    if s.kind == "time" and s.data is None:   # a year in a source with no dates: a value holding it wins ('ICLR 2020')
        cls = 1
    if s.kind == "quote":     # a bare quoted word that is exactly a value is that value (the value wins the tie)
        return (1, -s.n, 1, -s.score, s.i)
    tier = s.data[1][0].tier if s.kind == "value" else 2
    # at one place: the longer phrase; then an exact value over a column name over a looser value
    kind_order = {"value": 0 if tier <= 1 else 2, "column": 1}.get(s.kind, 0)
    return (cls, -s.n, kind_order, -s.score, s.i)


def _excluding(R, i: int) -> bool:
    """The negation before position i takes things out ('excluding', 'except', 'other than', 'ignoring'...), so
    'excluding A and B' is neither; a plain 'not' ('not A and B') stays ambiguous."""
    neg = [s for s in R.words if s.kind == "negation" and s.j <= i and R.used[s.i] == "negation"]
    return bool(neg) and max(neg, key=lambda s: s.j).words.lower() not in ("not", "non", "no", "never")


def covers(q: Question, limit: int = 4, view=None) -> list[list[Span]]:
    """Non-overlapping content spans, best first; a phrase with two equally good meanings gives two covers. A row
    noun names no column, except another thing's id in a view of parts: 'reviews' -> review_id over sentences."""
    lx = lexicon()
    own = singular(view.name.lower()) if view is not None else None
    cands = sorted([s for s in q.spans if s.kind in CONTENT and not (
        s.kind == "column" and s.data.kind in ("text", "label", "id", "other")
        and singular(s.words.lower()) in lx.row_nouns
        and not (own in lx.row_nouns and singular(s.words.lower()) != own and s.data.name.lower().endswith("id")))],
        key=_rank)
    phrases = [s for s in q.spans if s.kind not in CONTENT + ("compare",) and s.n > 1]
    chosen: list[list[Span]] = [[]]
    for s in cands:
        nxt = []
        for cov in chosen:
            if any(s.i < c.j and c.i < s.j for c in cov):
                # an equally good meaning of the same words (same place, same length, same rank) is another cover
                same = [c for c in cov if c.i == s.i and c.j == s.j and _rank(c)[:3] == _rank(s)[:3]
                        and ({c.kind, s.kind} == {"value", "column"} or (
                            c.kind == s.kind and c.kind in ("column", "number") and c.data is not None
                            and s.data is not None and c.data != s.data))]
                if same and len(chosen) + len(nxt) < limit:
                    nxt.append([c for c in cov if c is not same[0]] + [s])
                nxt.append(cov)
                continue
            # a multi-word lexicon phrase ('other than', 'how many', 'number of') over the same words wins over a
            # one-word value inside it
            if s.kind in ("value", "column") and any(p.i <= s.i and s.j <= p.j and p.n > s.n for p in phrases):
                nxt.append(cov)
                continue
            nxt.append(cov + [s])
        chosen = nxt
    out, seen = [], set()
    for cov in chosen:
        key = tuple(sorted((c.i, c.j, c.kind, id(c)) for c in cov))   # two columns for one word: two covers
        if key not in seen:
            seen.add(key)
            out.append(sorted(cov, key=lambda c: c.i))
    return out


# ---- reading a cover -------------------------------------------------------------------------------------------
class _Reader:
    def __init__(self, q: Question, view, cover: list[Span], partial: bool):
        self.q, self.view, self.cover, self.partial = q, view, cover, partial
        self.lx = lexicon()
        self.lows = q.lows
        self.n = len(q.toks)
        self.used = [""] * self.n           # why each token is accounted for
        self.ends: dict[int, int] = {}      # id(predicate) -> one past its phrase's last token
        self.r = Reading(cover=", ".join(f"{s.words!r} as {_kind_words(s)}" for s in cover))
        self.star_col, self.score_col = numeric_columns(view)
        covered = set()
        for s in cover:
            covered |= set(range(s.i, s.j))
        # lexicon words where no content span is
        self.words = [s for s in q.spans if s.kind not in CONTENT and not any(k in covered for k in range(s.i, s.j))]

    # helpers
    def mark(self, s: Span | int, why: str, j: int | None = None):
        i, j = (s.i, s.j) if isinstance(s, Span) else (s, j if j is not None else s + 1)
        for k in range(i, j):
            self.used[k] = self.used[k] or why

    def word(self, kind: str, data=None, start: int = 0) -> list[Span]:
        return [s for s in self.words if s.kind == kind and (data is None or s.data == data) and s.i >= start]

    def has(self, kind: str, data=None) -> bool:
        return bool(self.word(kind, data))

    def prev_word(self, i: int, skip=("the", "a", "an"), nouns: bool = False) -> int:
        k = i - 1
        while k >= 0 and (self.lows[k] in skip or nouns and self.used[k] == "noun"):
            k -= 1
        return k

    def decline(self, reason: str) -> Reading:
        self.r.reason = reason
        self.r.plan = None
        return self.r


def _pred_values(p) -> set[str]:
    """The values a column predicate names, lower-cased ('device is not ?' -> {'?'})."""
    if isinstance(p, Not):
        return _pred_values(p.pred)
    if isinstance(p, Eq):
        return {str(p.value).lower()}
    if isinstance(p, (In, ListHas)):
        return {str(v).lower() for v in p.values}
    return set()


def _kind_words(s: Span) -> str:
    if s.kind == "value":
        hits = s.data[1]
        return f"a value of {hits[0].column}"
    if s.kind == "column":
        return f"the column {s.data.name}"
    if s.kind == "number" and s.data:
        return "a condition on " + ", ".join(dict.fromkeys(getattr(p, "column", "?") for p in s.data))
    return s.kind


def read(q: Question, view, cover: list[Span], partial: bool = False) -> Reading:
    """One cover -> a Reading: its Plan, or the reason it cannot be answered."""
    R = _Reader(q, view, cover, partial)
    lx, lows, r = R.lx, R.lows, R.r
    # --- what this engine never answers
    for s in R.words:
        if s.kind == "interp":
            return R.decline(f"'{s.words}' asks for interpretation, not a count or a figure")
        if s.kind == "people" and s.i > 0 and lows[s.i - 1] in ("many", "of", "distinct", "different"):
            return R.decline(f"counting {s.words} (people, not {view.name}) needs an author column")
    for s in cover:
        if s.kind in ("number", "time") and s.data is None:
            r.unmapped.append(f"'{s.words}'")
            R.mark(s, "unmapped")
    # --- the noun for rows
    noun = view.name.lower() if singular(view.name.lower()) in lx.row_nouns else "rows"
    for s in R.words:
        if s.kind == "rownoun" or s.words.lower() in (view.name.lower(), singular(view.name.lower())):
            R.mark(s, "noun")
            if s.kind == "rownoun" and s.data not in ("feedback", "text", "row", "item") and noun == "rows":
                noun = s.data + "s"
    for k, w in enumerate(lows):
        if w in (view.name.lower(), singular(view.name.lower())):
            R.mark(k, "noun")
    cols = [s for s in cover if s.kind == "column"]
    values = [s for s in cover if s.kind == "value"]

    # --- group: 'per X', 'by year', 'which X', 'most common X', 'top 3 X', 'monthly'
    group, group_span, g_trig = None, None, None
    for s in R.words:
        if s.kind == "grain" and view.time_column and (
                s.words.lower().endswith("ly") or s.words.lower() == "over time"
                or (R.prev_word(s.i) >= 0 and _trigger(R, R.prev_word(s.i, ("the", "a", "an", "each", "every"))))):
            group, group_span = TimeGrain(s.data, view.time_column), s
            R.mark(s, "group")
            k = R.prev_word(s.i, ("the", "a", "an", "each", "every"))
            if k >= 0:
                R.mark(k, "group")
            break
    if group is None:
        for s in cols:
            c = s.data
            k = _trigger_before(R, s)
            if k is None or c.kind in ("text", "id"):
                continue
            if c.kind == "time" and any(w.kind == "measure" and w.data in ("earliest", "latest") for w in R.words):
                continue      # 'on what date was the most recent review': the latest date, not a breakdown
            if lows[k] in lx.which and c.kind == "numeric" and not ({"common", "frequent", "popular"} &
                                                                    set(lows[k:s.i])):
                continue
            if lows[k] == "whose" and any(v.i >= s.j and any(h.column == c.name for h in v.data[1])
                                          for v in values):
                continue      # 'critiques whose error types include Redundancy': a filter on that column, no breakdown
            if c.kind == "time":
                group = TimeGrain("month", view.time_column)
            else:
                group = Column(c.name, getattr(c, "list_fmt", None))
            group_span, g_trig = s, k
            R.mark(s, "group")
            if lows[k] not in lx.which:
                R.mark(k, "group")
            break
    which_at = next((k for k, w in enumerate(lows) if w in lx.which or (
        w == "each" and (k + 1 == R.n or lows[k + 1] in ("one", "of")))), None)
    if group is None and which_at is not None:
        # 'of the source datasets with at least 100 critiques, which has the lowest ...', 'for the apps with more
        # than 100 reviews, what is the average rating of each': the groups named first
        for s in cols:
            k = R.prev_word(s.i)
            if s.j <= which_at and k >= 0 and lows[k] in ("of", "among", "amongst", "for") and (
                    s.data.kind in ("category", "label") or getattr(s.data, "list_fmt", None)):
                group, group_span, g_trig = Column(s.data.name, getattr(s.data, "list_fmt", None)), s, k
                R.mark(s, "group")
                R.mark(k, "group")
                break
    if group is not None:
        r.stated.add("group")
        r.understood.append(f"per {group.grain if isinstance(group, TimeGrain) else group.name}")

    # --- measure
    measure, m_at, m_end = None, None, [None]

    def numeric_after(i: int):
        nums = [s for s in cols if s.data.kind == "numeric" and s is not group_span]
        later = [s for s in nums if s.i > i] or nums
        return later[0] if later else None

    mwords = sorted(R.word("measure"), key=lambda s: (s.i, -s.n))
    lead = lows[0] in ("list", "show", "display", "give") or lows[:2] in (["please", "list"], ["please", "show"])
    mwords = [s for s in mwords if s.data != "examples" or lead or s.words.lower() not in (
        "list", "show me", "display")]     # 'critiques list X as an error type': a verb, not 'list 5 examples'
    ranked = g_trig is not None and lows[g_trig] in RANK_VERBS     # 'list the five apps with the most reviews'
    if ranked:
        mwords = [s for s in mwords if not (s.data == "examples" and s.i <= g_trig < s.j)]
    names = [s.data for s in mwords]
    how_many = any(s.data == "count" for s in mwords)
    many_at = next((s.j - 1 for s in mwords if s.data == "count" and s.words.lower() == "how many"), None)
    # 'how many apps ...': the column counted right after 'how many (different)'
    cnt_span = next((s for s in cols if many_at is not None and s is not group_span and
                     (s.data.kind in ("category", "label", "id") or getattr(s.data, "list_fmt", None)) and
                     R.prev_word(s.i, ("different", "distinct", "unique", "separate")) == many_at), None)

    def take(name, col_span=None, default_col=None):
        nonlocal measure, m_at
        s = next(s for s in mwords if s.data == name)
        R.mark(s, "measure")
        m_at = s.i
        m_end[0] = s.j
        col = col_span.data.name if col_span is not None else default_col
        if col_span is not None:
            R.mark(col_span, "measure")
        measure = Measure(name, col)
        r.stated.add("measure")
        return measure

    if "share" in names:
        take("share")
    elif any(n in names for n in ("avg", "median", "stddev")):
        name = next(n for n in names if n in ("avg", "median", "stddev"))
        at = next(s for s in mwords if s.data == name)
        cs = numeric_after(at.i)
        in_number = next((p.column for s in cover if s.kind == "number" and s.data for p in s.data
                          if getattr(view.column(p.column), "kind", "") == "numeric"), None)
        if cs is None and how_many and cnt_span is None:
            return R.decline("an average of a count (rows per group) is not a column this engine can average")
        if cs is None and R.star_col is None and in_number is None:
            return R.decline(f"no numeric column to take the {_mword(name)} of")
        take(name, cs, (in_number or R.star_col.name) if cs is None else None)
    elif "sum" in names and numeric_after(0) is not None and not how_many:
        take("sum", numeric_after(0))
    elif how_many:
        take("count")
    elif group is None and any(n in names for n in ("min", "max")) and numeric_after(0) is not None:
        name = next(n for n in names if n in ("min", "max"))
        at = next(s for s in mwords if s.data == name)
        take(name, numeric_after(at.i))
    elif group is None and any(n in names for n in ("earliest", "latest")) and view.time_column and (
            "when" in lows or any(s.data.kind == "time" for s in cols) or "date" in lows):
        name = next(n for n in names if n in ("earliest", "latest"))
        take(name, None, view.time_column)
        for s in cols:
            if s.data.kind == "time":
                R.mark(s, "measure")
        R.mark(lows.index("when"), "measure") if "when" in lows else None
    elif group is None and any(n in names for n in ("earliest", "latest")) and not view.time_column and (
            "when" in lows or "date" in lows):
        return R.decline(f"this source ({view.name}) has no dates")
    elif "examples" in names or (lows and lows[0] in ("list", "show", "quote") and not ranked):
        if "examples" in names:
            take("examples")
        else:
            measure, m_at = Measure("examples"), 0
            R.mark(0, "measure")
            r.stated.add("measure")
    elif group is not None:
        measure = Measure("count")
    if measure is not None and measure.name == "count":
        # 'how many apps / different models': the number of distinct values of that column
        for s in cols:
            k = R.prev_word(s.i, ("different", "distinct", "unique", "separate"))
            if s is group_span or (s.data.kind not in ("category", "label", "id") and not getattr(
                    s.data, "list_fmt", None)) or k < 0 or lows[k] not in (
                    "many", "of") or R.used[s.i]:
                continue
            if k != m_at + 1 and lows[k] != "many":
                continue
            measure = Measure("distinct", s.data.name, getattr(s.data, "list_fmt", None))
            R.mark(s, "measure")
            R.mark(k + 1, "measure", s.i)
            break

    # --- order and top-N
    top = None
    orders = [s for s in R.word("order") if R.used[s.i] in ("", "measure", "group")]
    if group is not None:
        orders = sorted(orders, key=lambda s: s.i)
        o = next((s for s in orders if s.words.lower() not in ("many", "top")), None) or \
            next((s for s in orders if s.words.lower() == "top"), None)
        if len({s.data for s in orders if s.words.lower() not in ("top", "more", "less")}) > 1:
            return R.decline("both a highest and a lowest: " + ", ".join(s.words for s in orders))
        if o is not None:
            top = TopN(None, o.data)
            R.mark(o, "order")
            for s in orders:
                R.mark(s, "order")
            nxt = next((c for c in cols if c.data.kind == "numeric" and c is not group_span and c.i > o.i
                        and all(w in ("the", "a", "an", "average", "mean") for w in lows[o.j:c.i])), None)
            if o.words.lower() in ("highest", "lowest", "higher", "lower", "top", "bottom") and nxt is not None \
                    and measure.name == "count" and "measure" not in r.stated:
                measure = Measure("avg", nxt.data.name)     # 'which reviewer gives the lowest ratings'
                R.mark(nxt, "measure")
            elif o.words.lower() in ("best", "worst", "better", "worse") and measure.name == "count" \
                    and R.star_col is not None:
                cs = numeric_after(o.i)
                measure = Measure("avg", cs.data.name if cs is not None else R.star_col.name)
                if cs is not None:
                    R.mark(cs, "measure")
        elif isinstance(group, Column) and ("which" in lows or {"common", "frequent", "popular", "often",
                                                                 "frequently"} & set(lows)):
            top = TopN(None, "desc")
        for s in R.word("count"):
            k = s.i
            if R.used[k]:
                continue
            before = lows[k - 1] if k else ""
            after = lows[k + 1] if k + 1 < R.n else ""
            if before in ("top", "bottom", "first", "last") or before in lx.which or (
                    group_span is not None and k + 1 == group_span.i) or after in ("most", "least", "highest",
                                                                                   "lowest", "best", "worst"):
                top = TopN(int(s.data), top.order if top else ("asc" if before == "bottom" else "desc"))
                R.mark(s, "limit")
                if before in ("top", "bottom", "first", "last"):
                    R.mark(k - 1, "limit")
        if top is not None:
            r.stated.add("top")
        in_cover = {k for c in cover for k in range(c.i, c.j) if c.kind != "column"}
        rated = [k for k, w in enumerate(lows) if w in ("rated", "scoring", "scored") and R.used[k] in ("", "noun")
                 and k not in in_cover]          # 'critiques scoring 10' is a condition, not 'highest-scoring'
        if rated and rated[0] > 0 and lows[rated[0] - 1] not in ("highest", "lowest", "best", "worst", "top",
                                                                 "most", "least", "poorly", "better", "worse",
                                                                 "well", "badly", "higher", "lower"):
            rated = []
        if rated and top is not None and measure.name == "count" and R.star_col is not None:
            col = R.score_col if lows[rated[0]].startswith("scor") else R.star_col
            measure = Measure("avg", col.name)     # 'the highest-rated app': its average rating
            R.mark(rated[0], "measure")
    elif partial and orders and measure is None:
        o = orders[0]
        R.mark(o, "order")
        r.order = o.data
        r.stated.add("top")
    elif measure is not None and measure.name == "examples":
        for s in R.word("count"):
            if not R.used[s.i]:
                R.mark(s, "limit")
                r.stated.add("limit")
                break
    if measure is not None and measure.name not in ("count", "share") and isinstance(group, Column) \
            and group.name == measure.column:
        return R.decline(f"the question groups by {group.name} and measures it too")
    common = [k for k, w in enumerate(lows) if w in ("common", "frequent", "popular", "often")]
    if common and measure is not None and measure.name in NUMERIC_MEASURES + ("distinct",) and (
            group is None or (g_trig is not None and lows[g_trig] in ("common", "frequent", "popular"))) or (
            g_trig is not None and lows[g_trig] in ("common", "frequent", "popular") and k_before(lows, g_trig)
            and any(s.data.kind == "numeric" and s is not group_span for s in cols)):
        return R.decline(f"'most/least common' picks a group by its number of {noun}; the {_mword(measure.name)} "
                         "of that group is a question inside a question")

    # --- filters: values, numbers, dates, text
    preds: list[tuple[int, object]] = []
    named_cols = {s.data.name.lower() for s in cols}
    for s in values:
        non, hits = s.data
        chosen, amb = resolve(hits, view, named_cols)
        if amb:
            chosen, amb = _prefer_list(hits, amb)
        if amb:
            r.unmapped.append(f"'{s.words}' {amb}")
            R.mark(s, "ambiguous")
            continue
        col = view.column(chosen[0].column)
        vals = sorted({h.value for h in chosen}, key=str)
        fam = next((c for c in cols if c.i == s.j and c.data.name == chosen[0].column), None)
        lead = s.i
        if len(vals) > 1 and chosen[0].tier >= 3:
            said = lows[s.i - 1] if s.i else ""
            every = said in ("both", "all") or (lx.numbers.get(said) or (int(said) if said.isdigit() else 0)) == len(
                vals)                       # 'the two Gemma ones': as many as the word starts
            if fam is None and not every:
                r.unmapped.append(f"'{s.words}' could mean any of {', '.join(map(repr, vals[:6]))}")
                R.mark(s, "ambiguous")
                continue
            if fam is not None:
                R.mark(fam, "value")        # 'reka models': the family of values the word starts
            if every:
                R.mark(s.i - 1, "value")
                lead = s.i - 1
        if col is not None and (getattr(col, "constant", False) or (col.distinct == 1 and col.non_null)):
            return R.decline(f"{vals[0]} is the {col.name} of every row, so it does not pick out any {noun}")
        if chosen[0].list_fmt:
            pred = ListHas(col.name, tuple(vals), chosen[0].list_fmt)
        elif len(vals) == 1:
            pred = Eq(col.name, vals[0])
        else:
            pred = In(col.name, tuple(vals))
        neg = non == "non" or _negated(R, lead, col=col.name if col is not None else None)
        if neg:
            pred = Not(pred)
        how = "" if chosen[0].tier <= 1 else (f" (read {s.words!r} as the value {vals[0]!r} of {col.name}"
                                              + (", not as a text search)" if chosen[0].tier == 2 and vals[0] != s.words
                                                 and _about(R, s) else ")")
                                              if len(vals) == 1 else
                                              f" (read {s.words!r} as the {col.name} values "
                                              f"{', '.join(map(repr, vals))})")
        if non == "non" and not s.words.lower().startswith("non"):
            how = f" (read {s.words!r} as any {col.name} but {vals[0]!r})"     # 'that have a polarity'
        about = any(a.kind == "about" and a.j == s.i for a in R.words) or (
            s.i > 1 and lows[s.i - 1] in ("the", "a") and any(a.kind == "about" and a.j == s.i - 1 for a in R.words))
        if about and not how:     # 'sentences about clarity': the label, not a text search; said in the answer
            how = f" (read {s.words!r} as the value {vals[0]!r} of {col.name}, not as a text search)"
        r.understood.append(f"'{s.words}' -> {_describe(pred)}{how}")
        R.mark(s, "value")
        if not neg and preds and isinstance(preds[-1][1], Not) and _pred_col(preds[-1][1]) == col.name \
                and isinstance(pred, (Eq, In, ListHas)):
            # 'not labelled other or non-informative': the negation covers the whole list
            between = lows[R.ends.get(id(preds[-1][1]), s.i):s.i]
            if between and all(w in ("or", "nor", ",") for w in between):
                pred = Not(pred)
            elif between and all(w in ("and", ",") for w in between) and _excluding(R, preds[-1][0]):
                pred = Not(pred)    # 'excluding other and non-informative': a list taken out, neither of them
            elif between and all(w in ("and", ",") for w in between):
                return R.decline(f"'not {label_of(preds[-1][1].pred)} and {label_of(pred)}': neither of them, "
                                 "or not both?")
        if any(pp == pred for _, pp in preds):
            continue            # 'privacy-related reviews (PRIVACY label)': one value named twice is that value
        preds.append((s.i, pred))
        R.ends[id(pred)] = s.j
    for s in cover:
        if s.kind == "number" and s.data is not None:
            neg = _negated(R, s.i, ("not", "never"))
            ps = [Not(p) if neg else p for p in s.data]
            preds += [(s.i, p) for p in ps]
            for p in ps:
                R.ends[id(p)] = s.j
            R.mark(s, "number")
            r.understood.append(f"'{s.words}' -> " + " and ".join(_describe(p) for p in ps))
        elif s.kind == "time" and s.data is not None:
            preds += [(s.i, p) for p in s.data]
            R.mark(s, "time")
            r.understood.append(f"'{s.words}' -> " + " and ".join(_describe(p) for p in s.data))
        elif s.kind in ("text", "quote"):
            p = s.data
            named = next((pp for _, pp in preds if s.kind == "quote" and s.data.phrases[0].lower() in
                          _pred_values(pp)), None)
            if named is not None:
                # "leaving out the unknown '?' device": the quote restates a value already read, not a text search
                R.mark(s, "value")
                r.understood.append(f"'{s.words}' -> names the value of {_pred_col(named)} already read")
                continue
            if s.kind == "quote" and _negated(R, s.i, ("not", "never", "without")):
                p = Not(p)
            preds.append((s.i, p))
            R.ends[id(p)] = s.j
            R.mark(s, "text")
            r.understood.append(_describe(p))
    # 'about W' / 'regarding W' with W not otherwise understood: a text match
    text_col = view.text_column or "text"
    for s in R.word("about"):
        k = s.j
        while k < R.n and lows[k] in ("the", "a", "an"):
            k += 1
        if k < R.n and not R.used[k] and not lx.ignorable(lows[k]) and len(lows[k]) > 2 and not lows[k].isdigit() \
                and not any(c.i <= k < c.j for c in cover):
            p = TextMatch(text_col, (q.toks[k].text,))
            preds.append((k, p))
            R.mark(s.i, "text", k + 1)
            r.understood.append(f"about {q.toks[k].text!r}: {_describe(p)}")

    # --- two subjects compared: 'A vs B', 'which is rated higher, A or B', 'how much higher is A than B'
    compare = None
    # '5-star reviews' is a subject too ('how many times more 5-star than 1-star reviews')
    pos = [(i, p) for i, p in preds if isinstance(p, (Eq, In)) or (isinstance(p, Cmp) and p.op == "=")]
    by_col: dict[str, list] = {}
    for i, p in pos:
        by_col.setdefault(p.column, []).append((i, p))
    cmp_words = R.word("compare")
    strong = [s for s in cmp_words if s.data in ("difference", "ratio", "winner")] + \
        [s for s in cmp_words if s.data == "pair" and s.words.lower() in ("vs", "versus", "compared to",
                                                                         "compared with", "against", "compare",
                                                                         "comparison", "compared", "contrast")]
    pair = next(((c, v) for c, v in by_col.items() if len(v) == 2), None)
    if pair:
        (ia, pa), (ib, pb) = sorted(pair[1], key=lambda x: x[0])
        between = lows[R.ends.get(id(pa), ia + 1):ib]
        joined = all(w in JOIN_WORDS or singular(w) in lx.row_nouns or w in lx.value_heads
                     or w in pair[0].lower().split("_") for w in between)
        comparative = [k for k, w in enumerate(lows) if w in COMPARATIVE and R.used[k] in ("", "measure")]
        signal = strong or comparative or "than" in lows or ((any(w in lx.which | {"who"} for w in lows) or lows[0] in
                                                              ("is", "are", "does", "do", "did")) and "or" in between)
        if signal and measure is None:
            # 'which is rated higher, A or B': the average of the rating; 'whose outputs say X more often': a count
            rated = next((k for k, w in enumerate(lows) if w in lx.rating_words | lx.score_words), None)
            col = (R.score_col if lows[rated].startswith(("scor", "grade", "point")) else R.star_col) \
                if rated is not None else None
            quality = {"better", "worse", "higher", "lower", "best", "worst"} & set(lows)
            if col is None and quality:     # 'is A better than B': the average of the rating (or score)
                col = R.star_col
                if col is None:
                    return R.decline(f"'{sorted(quality)[0]}' compares a quality, and this source has no rating "
                                     "or score to compare")
            elif col is not None:
                R.mark(rated, "measure")
            measure = Measure("avg", col.name) if col is not None else Measure("count")
        if signal and measure.spec.aggregate:
            if group is not None and not (isinstance(group, Column) and group.name == pair[0]):
                return R.decline(f"a comparison of {_describe(pa)} and {_describe(pb)} within a breakdown by "
                                 "another column")
            group, top = None, None
            ratio = any(s.data == "ratio" for s in strong)
            asks = any(w in lx.which | {"who"} for w in lows) or (lows[0] in ("is", "are", "does", "do", "did", "was",
                                                                          "were", "has", "have") and "or" in between)
            winner = (asks or any(s.data == "winner" for s in strong)) \
                and not any(
                s.data == "difference" for s in strong) and not ratio
            mode = "ratio" if ratio else "winner" if winner else "difference"
            lower = any(w in lows for w in ("lower", "worse", "less", "fewer", "lowest", "worst"))
            def label(p, i):
                if isinstance(p, Cmp):          # a number says itself best in the question's words: '5-star'
                    return q.words(i, R.ends.get(id(p), i + 1))
                return str(p.value) if isinstance(p, Eq) else " / ".join(map(str, p.values))
            compare = Compare(Side(label(pa, ia), (pa,)), Side(label(pb, ib), (pb,)), mode,
                              "asc" if lower else "desc")
            preds = [(i, p) for i, p in preds if p is not pa and p is not pb]
            for s in cmp_words + R.word("order") + R.word("which"):
                R.mark(s, "compare")
            for k in comparative:
                R.mark(k, "compare")
            r.stated.add("compare")
            r.understood.append(f"{compare.a.label} compared with {compare.b.label} ({mode})")
        elif not joined:
            return R.decline(f"two values of {pair[0]} ({label_of(pa)}, {label_of(pb)}): whether to compare them "
                             "or count them together")

    # --- having: 'how many apps average below 3 stars', 'how many models have more than 1010 outputs'
    having = None
    if isinstance(group, Column) and compare is None and measure is not None and measure.name in NUMERIC_MEASURES \
            and m_end[0] is not None:
        # 'which models have an average score below 5': the condition is on each group's average, not on rows
        k = m_end[0]
        col_here = next((c for c in cols if c.i == k and c.data.name == measure.column), None)
        after = col_here.j if col_here is not None else k
        num = [(i, p) for i, p in preds if isinstance(p, Cmp) and p.column == measure.column and i == k]
        cmp_ = [c for c in cover if c.kind == "cmp" and c.i == after and not R.used[c.i]]
        if len(num) == 1:
            having = Having(measure, num[0][1].op, num[0][1].value)
            preds = [x for x in preds if x[1] is not num[0][1]]
        elif len(cmp_) == 1:
            having = Having(measure, *cmp_[0].data)
            R.mark(cmp_[0], "having")
        if having is not None:
            top = None
            r.understood.append(f"{group.name} values whose {_mword(measure.name)} {measure.column} is "
                                f"{having.op} {having.value}")
    count_rule = measure is not None and measure.name == "count" and "which" in lows
    if isinstance(group, Column) and having is None and compare is None and measure is not None and (
            count_rule or measure.name in NUMERIC_MEASURES):
        # 'which apps have more than 100 reviews': a condition on each group's count; with another measure ('of the
        # source datasets with at least 100 critiques, which has the lowest mean score', 'the average rating of
        # each'): groups with enough rows, then the ranking or all of them
        cmp_ = [c for c in cover if c.kind == "cmp" and not R.used[c.i] and c.j < R.n and (
            singular(lows[c.j]) in lx.row_nouns or lows[c.j] in (view.name.lower(), singular(view.name.lower())))]
        if len(cmp_) == 1:
            having = Having(Measure("count"), *cmp_[0].data)
            top = None if count_rule else top
            R.mark(cmp_[0], "having")
            r.understood.append(f"{group.name} values with {having.op} {having.value} {noun}")
    if cnt_span is not None and group is None and compare is None and measure is not None:
        cmps = [s for s in cover if s.kind == "cmp" and not R.used[s.i]]
        m = measure if measure.name in NUMERIC_MEASURES else None
        num = [(i, p) for i, p in preds if m is not None and isinstance(p, Cmp) and p.column == m.column]
        if m is not None and len(num) == 1:
            having = Having(m, num[0][1].op, num[0][1].value)
            preds = [x for x in preds if x[1] is not num[0][1]]
        elif m is not None and len(cmps) == 1:
            having = Having(m, *cmps[0].data)
            R.mark(cmps[0], "having")
        elif m is None and len(cmps) == 1 and cmps[0].j < R.n and (
                singular(lows[cmps[0].j]) in lx.row_nouns or lows[cmps[0].j] in (view.name.lower(),
                                                                               singular(view.name.lower()))):
            having = Having(Measure("count"), *cmps[0].data)
            R.mark(cmps[0], "having")
        if having is not None:
            c = cnt_span.data
            group = Column(c.name, getattr(c, "list_fmt", None))
            measure, top = having.measure, None
            R.mark(cnt_span, "group")
            r.stated |= {"group", "measure"}
            r.understood.append(f"{c.name} values whose {_mword(having.measure.name)} "
                                f"{having.measure.column or noun} is {having.op} {having.value}")

    # 'reviews with more than 40 sentences': a comparison followed by a word that names one numeric column
    for c in cover:
        if c.kind != "cmp" or R.used[c.i] or c.j >= R.n or having is not None:
            continue
        w = singular(lows[c.j])
        if w == singular(noun) or lx.ignorable(w):
            continue
        listed = next((x for x in cols if x.i == c.j and getattr(x.data, "list_fmt", None)), None)
        if listed is not None and float(c.data[1]).is_integer():
            # 'reviews with more than one low-level label': how many values the item's list holds
            p = ListLen(listed.data.name, c.data[0], int(c.data[1]), listed.data.list_fmt)
            preds.append((c.i, p))
            R.mark(c.i, "number", listed.j)
            r.understood.append(f"'{q.words(c.i, listed.j)}' -> {_describe(p)}")
            continue
        named = next((x for x in cols if x.i == c.j and x.data.kind == "numeric"), None)
        nums = [named.data] if named is not None else [
            col for col in view.columns if col.kind == "numeric" and
            w in {singular(x) for x in col.name.lower().split("_")}]
        if len(nums) == 1:
            p = Cmp(nums[0].name, *c.data)
            preds.append((c.i, p))
            R.mark(c.i, "number", named.j if named is not None else c.j + 1)
            r.understood.append(f"'{q.words(c.i, c.j + 1)}' -> {_describe(p)}")

    # 'how many models other than X have a score below 4': the critiques of those models, or the models? The two
    # readings give different numbers (rows vs distinct values): decline naming both
    if measure is not None and measure.name == "distinct" and having is None and any(
            _pred_col(p) == measure.column and isinstance(p, Not) for _, p in preds) and len(preds) > 1:
        return R.decline(f"two readings: the number of {noun} (rows) or of distinct {measure.column} values, "
                         f"where {' and '.join(_describe(p) for _, p in preds)}")

    # --- a measure is needed
    if measure is None:
        if partial:
            measure = Measure("count")
        else:
            stage = _stage_missing(R)
            if stage:
                return R.decline(stage)
            if not (preds and group is None and compare is None and having is None and "noun" in R.used
                    and lows[0] not in lx.which):
                _account(R, set())
                return R.decline("no measure (how many, what share, average ...) or breakdown in the question")
            # 'sentences mentioning crash', 'A Comic Viewer reviews from 2013-01-01 to 2013-06-30?': rows named
            # with filters and no measure: how many there are, and examples of them
            measure = Measure("examples")
            r.understood.append(f"no measure named: how many {noun} match, with examples")
    if "which" in lows and group is None and compare is None and measure.name != "examples" and not partial:
        return R.decline("'which' asks for a breakdown, but no column to break down by was recognised")

    # --- share: which conditions are the part, which the whole
    if "both" in lows:
        # 'both UI and BATTERY labels': every value, not any of them; a one-value column cannot hold both
        same = {}
        for _, p in preds:
            if isinstance(p, (Eq, In, ListHas)):
                same.setdefault(p.column, []).append(p)
        for col, ps in same.items():
            if len(ps) > 1 and not all(isinstance(p, ListHas) for p in ps):
                return R.decline(f"each {singular(noun)} has one {col}, so it cannot be both "
                                 + " and ".join(label_of(p) for p in ps))
        both = {col for col, ps in same.items() if len(ps) > 1}
    else:
        both = set()
    where, target = [p for _, p in preds], ()
    if measure.name == "share":
        split = _share_split(R, preds, m_at or 0)
        if isinstance(split, str):
            return R.decline(split)
        where, target = split
    where = _merge(where, both)
    if isinstance(group, Column):
        where = [p for p in where if not (isinstance(p, (Eq, In)) and p.column == group.name)] \
            if top is not None and top.order == "desc" and False else where
    stage = _stage_missing(R)
    if stage and not values:
        return R.decline(stage)
    used_cols = {_pred_col(p) for p in list(where) + list(target)}
    used_cols |= {measure.column, having.measure.column if having else None}
    if group is not None:
        used_cols.add(group.column if isinstance(group, TimeGrain) else group.name)
    if compare is not None:
        used_cols |= {_pred_col(p) for p in compare.a.where + compare.b.where}
    _account(R, used_cols - {None})
    unit = "mentions" if isinstance(group, Column) and group.list_fmt else "items"
    r.plan = Plan(view=view.name, measure=measure, where=tuple(where), target=tuple(target), group=group,
                  having=having, top=top, compare=compare, time_column=view.time_column, noun=noun, unit=unit,
                  limit=next((int(s.data) for s in R.word("count") if R.used[s.i] == "limit"), None)
                  if measure.name == "examples" else None)
    if where or target:
        r.stated.add("filters")
    return r


def readings(q: Question, view, partial: bool = False) -> list[Reading]:
    return [read(q, view, cov, partial) for cov in covers(q, view=view)]


__all__ = ["Reading", "covers", "read", "readings"]
