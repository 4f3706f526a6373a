"""Question -> query plan, against the schema card, for the built-in (no-LLM) engine.

Design decision: every token of the question must be accounted for: a question word, a measure, a grouping, a
number or date phrase, a column name, or a value from the card's vocabularies (exact, separator-insensitive,
plural, synonym, then a MiniLM near-miss). A content word left over means the engine did not understand the
question, and it declines rather than answer a different question: a wrong answer is worse than none.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa_agent.builtin import timeparse
from qa_agent.builtin.plan import Filter, Plan
from qa_agent.builtin.vocab import NUMBER_WORDS, embedding_match, resolve, singular, value_index

TOKEN = re.compile(r'"[^"]+"|“[^”]+”|(?<!\w)\'[^\']+\'(?!\w)|[A-Za-z0-9][A-Za-z0-9._/+\-]*[A-Za-z0-9+]|[A-Za-z0-9]|%')
FILLER = set("""
a an the of in on at to for from with by is are was were be been being do does did have has had there their
them they it its this that these those what which who whom whose how many much number count amount total
please show me tell give list find get got i we you our your my can could would will shall may might
and or as among amongst within across per each every all any than then so such also just only overall
come comes came coming belong belongs belonging written posted left made make given receive received get
about into over under up down out off via between value values figure figures
rows row items item records record entries entry feedback data dataset
whole entire altogether same kind type types kinds sort
""".split())
ROW_NOUNS = {"review", "critique", "sentence", "post", "comment", "item", "row", "record", "entry", "message",
             "feedback", "response", "answer", "evaluation", "judgement", "judgment", "line", "text"}
LLM_ONLY = {"why", "explain", "summarize", "summarise", "summary", "suggest", "recommend", "should", "describe",
            "improve", "feel", "think", "opinion", "opinions", "theme", "themes", "predict", "forecast", "cause"}
SHARE = {"share", "percentage", "percent", "proportion", "fraction", "%", "ratio", "rate"}
AVG = {"average", "mean", "avg"}
MAXW = {"highest", "maximum", "max", "largest", "biggest", "greatest", "best", "most", "top", "more"}
MINW = {"lowest", "minimum", "min", "smallest", "worst", "least", "fewest", "bottom", "less", "fewer"}
SUMW = {"sum", "total"}
EXAMPLES = {"show", "list", "quote", "quotes", "example", "examples", "sample", "samples", "give", "display"}
GROUP_TRIGGERS = {"per", "by", "each", "across", "every", "breakdown", "distribution", "split", "grouped"}
WHICH = {"which", "what"}
GRAINS = {"year": "@year", "years": "@year", "yearly": "@year", "annually": "@year", "annual": "@year",
          "month": "@month", "months": "@month", "monthly": "@month", "week": "@week", "weeks": "@week",
          "weekly": "@week", "day": "@day", "days": "@day", "daily": "@day", "quarter": None}
DISTINCT = {"different", "distinct", "unique", "separate"}
SPLIT_VERBS = {"are", "is", "were", "was", "have", "has", "had", "get", "got", "give", "gave", "that", "which",
               "mention", "mentions", "contain", "contains", "say", "says", "rated", "come", "comes"}
BASE_PREPS = {"among", "in", "within", "for", "from", "of"}


COLUMN_ALIASES = {"llm": "model", "llms": "model", "chatbot": "model", "assistant": "model", "genre": "app_category",
                  "application": "app"}
PEOPLE = {"users", "people", "customers", "persons", "reviewers", "authors", "players"}


def view_nouns(card) -> str:
    return "/".join(v.name for v in card.views)


@dataclass
class Tok:
    text: str
    low: str
    start: int
    end: int
    quoted: bool = False
    used: str = ""                 # why it is accounted for


@dataclass
class Parsed:
    plan: Plan | None = None
    understood: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    reason: str = ""
    has_measure: bool = False
    fields: set = field(default_factory=set)      # which parts the question stated (for follow-ups)


def tokenize(q: str) -> list[Tok]:
    out = []
    for m in TOKEN.finditer(q):
        t = m.group(0)
        quoted = t[0] in "\"'“"
        text = t[1:-1] if quoted else t
        out.append(Tok(text=text, low=text.lower(), start=m.start(), end=m.end(), quoted=quoted))
    return out


def mark(toks: list[Tok], start: int, end: int, why: str) -> list[int]:
    idx = []
    for i, t in enumerate(toks):
        if t.start >= start and t.end <= end and not t.used:
            t.used = why
            idx.append(i)
    return idx


class ColumnNames:
    """Column mentions: 'app category' -> app_category, 'models' -> model, 'stars' -> rating."""

    def __init__(self, view):
        self.view = view
        self.names = []
        for c in view.columns:
            if c.kind in ("empty", "other") or c.name == "item_id":
                continue
            self.names.append((c.name.lower().replace("-", "_").split("_"), c))
        rating = view.column("rating") if view.column("rating") and view.column("rating").kind == "numeric" else None
        score = view.column("score") if view.column("score") and view.column("score").kind == "numeric" else None
        self.star_col = rating or score
        self.score_col = score or rating
        if view.time_column:
            self.names.append((["date"], view.column(view.time_column)))
        for alias, target in COLUMN_ALIASES.items():
            c = view.column(target)
            if c is not None and c.kind not in ("empty", "other") and not view.column(alias):
                self.names.append((alias.split("_"), c))

    def at(self, toks: list[Tok], i: int):
        """Longest column name starting at token i: (n_tokens, ColumnCard) or None."""
        best = None
        if "_" in toks[i].low:    # a column written as it is named: label_clean, app_category
            col = self.view.column(toks[i].low)
            if col is not None and col.kind not in ("empty", "other"):
                return (1, col)
        for parts, col in self.names:
            n = len(parts)
            if i + n > len(toks):
                continue
            words = [toks[i + k].low for k in range(n)]
            if words[:-1] == parts[:-1] and (words[-1] == parts[-1] or singular(words[-1]) == parts[-1]):
                if best is None or n > best[0]:
                    best = (n, col)
        if best is None and i + 1 < len(toks):   # two or more words from inside one column's name: "ardoc label"
            for n in range(min(4, len(toks) - i), 1, -1):
                words = [singular(toks[i + k].low) for k in range(n)]
                found = {col.name: col for parts, col in self.names
                         if any([singular(p) for p in parts[s:s + n]] == words for s in range(len(parts) - n + 1))}
                if len(found) == 1:
                    best = (n, next(iter(found.values())))
                    break
        if best is None and toks[i].low in ("star", "stars") and self.star_col:
            best = (1, self.star_col)
        if best is None and toks[i].low in ("score", "scores", "grade") and self.score_col:
            best = (1, self.score_col)
        return best


def choose_view(card, toks):
    if len(card.views) == 1:
        return card.views[0], None
    words = {t.low for t in toks} | {singular(t.low) for t in toks}
    named = [v for v in card.views if v.name.lower() in words or singular(v.name.lower()) in words]
    if len(named) == 1:
        return named[0], None
    scores = []
    for v in card.views:
        idx = value_index(v)
        names = ColumnNames(v)
        col_hits = sum(1 for i, t in enumerate(toks) if t.low not in FILLER and names.at(toks, i)
                       and names.at(toks, i)[1].kind not in ("text", "id") and names.at(toks, i)[1].name
                       not in ("created_at", "rating", "date"))
        val_hits = sum(2 - min(1, h[0].tier) for t in toks if t.low not in FILLER
                       for h in [idx.lookup(t.low, t.text, loose=False)] if h)
        scores.append((col_hits + val_hits, v))
    scores.sort(key=lambda s: -s[0])
    if scores[0][0] > 0 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
        return scores[0][1], None
    return None, "which source it is about (" + ", ".join(v.name for v in card.views) + ")"


def _num(s: str):
    s = s.lower()
    if s in NUMBER_WORDS:
        return NUMBER_WORDS[s]
    try:
        return int(s)
    except ValueError:
        return float(s)


STAR_RE = re.compile(
    r"(?:\b(at least|at most|more than|less than|fewer than|over|under|above|below|greater than|higher than|"
    r"lower than|no more than|no less than)\s+)?\b(\d+(?:\.\d+)?|one|two|three|four|five|single)[\s-]*stars?\b"
    r"(?:\s*(or (?:less|fewer|lower|below|worse|under)|and (?:below|under|lower|less)|or (?:more|higher|above|"
    r"better|greater|up)|and (?:above|up|higher|more|over))|\s*\+)?(?:\s+(?:ratings?|reviews?\s+(?=or)))?", re.I)
NUMCOL_RE = re.compile(
    r"\b(rated|ratings?|scores?|scored|grades?|stars?)\s+(?:of\s+|is\s+|was\s+)?(at least|at most|more than|less than|"
    r"over|under|above|below|greater than|higher than|lower than|>=|<=|>|<|=|exactly)?\s*(\d+(?:\.\d+)?)\b"
    r"(?:\s*(or (?:less|fewer|lower|below|worse)|and (?:below|under|lower)|or (?:more|higher|above|better)|"
    r"and (?:above|up|higher|more)))?", re.I)
OPS = {"at least": ">=", "no less than": ">=", "at most": "<=", "no more than": "<=", "more than": ">",
       "over": ">", "above": ">", "greater than": ">", "higher than": ">", "less than": "<", "fewer than": "<",
       "under": "<", "below": "<", "lower than": "<", ">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "=",
       "exactly": "="}


def _post_op(s: str | None) -> str | None:
    if not s:
        return None
    s = s.lower().strip()
    if s == "+" or any(w in s for w in ("more", "higher", "above", "better", "greater", " up", "over")):
        return ">="
    return "<="


def numeric_filters(q: str, toks, cols: ColumnNames, view, found: list, problems: list):
    for rx, kind in ((STAR_RE, "star"), (NUMCOL_RE, "col")):
        for m in rx.finditer(q):
            if any(t.used for t in toks if t.start >= m.start() and t.end <= m.end() and t.start < m.end()):
                continue
            if kind == "star":
                pre, num, post = m.group(1), m.group(2), m.group(3) or ("+" if m.group(0).rstrip().endswith("+") else None)
                col = cols.star_col
            else:
                word, pre, num, post = m.group(1).lower(), m.group(2), m.group(3), m.group(4)
                col = cols.score_col if word.startswith(("score", "grade")) else cols.star_col
            if col is None:
                problems.append(m.group(0).strip())
                mark(toks, m.start(), m.end(), "unmapped")
                continue
            value = _num(num)
            op = OPS.get((pre or "").lower()) or _post_op(post) or "="
            if col.min is not None and not (float(col.min) <= float(value) <= float(col.max)):
                problems.append(f"{m.group(0).strip()} ({col.name} ranges {col.min}..{col.max})")
                mark(toks, m.start(), m.end(), "unmapped")
                continue
            idx = mark(toks, m.start(), m.end(), "number")
            found.append((idx[0] if idx else 0, Filter(col.name, op, value, m.group(0).strip())))


MENTION = {"mention", "mentions", "mentioned", "mentioning", "contain", "contains", "containing", "contained",
           "say", "says", "saying", "said", "include", "includes", "including", "word", "words", "term", "phrase"}
ABOUT = {"about", "regarding"}


def text_filters(toks, text_col: str, found: list):
    i = 0
    while i < len(toks):
        t = toks[i]
        trig = t.low in MENTION or (t.low in ABOUT and i + 1 < len(toks) and toks[i + 1].quoted)
        if not trig or t.used:
            i += 1
            continue
        j = i + 1
        while j < len(toks) and toks[j].low in ("the", "word", "words", "term", "phrase", "of", "a", "an") \
                and not toks[j].quoted:
            j += 1
        if j >= len(toks) or toks[j].used:
            i += 1
            continue
        first = toks[j]
        if not first.quoted and (first.low in FILLER or not re.search(r"[a-z]", first.low)):
            i += 1
            continue
        terms, idx, conj = [first.text], [i, j], "or"
        k = j + 1
        while k + 1 < len(toks) and toks[k].low in ("or", "and") and (toks[k + 1].quoted or not first.quoted) \
                and not toks[k + 1].used and toks[k + 1].low not in FILLER:
            conj = toks[k].low
            terms.append(toks[k + 1].text)
            idx += [k, k + 1]
            k += 2
        for n in idx:
            toks[n].used = "text"
        for n in range(i + 1, j):
            toks[n].used = "text"
        if conj == "and" and len(terms) > 1:
            for term in terms:
                found.append((i, Filter(text_col, "contains", [term], f"mention {term!r}")))
        else:
            found.append((i, Filter(text_col, "contains", terms, " or ".join(map(repr, terms)))))
        i = k
    for n, t in enumerate(toks):  # a quoted phrase that is no value of any column is matched in the text
        if t.quoted and not t.used:
            pass  # handled after value matching


def parse(question: str, card, partial: bool = False) -> Parsed:
    res = Parsed()
    q = re.sub(r"[’`]", "'", question.strip())
    q = re.sub(r"(?i)\b(\w+)n't\b", r"\1 not", q)
    q = re.sub(r"(?i)\bnon-(?=\w)", "non ", q)
    q = re.sub(r"(?i)(?<=\w)'(s|re|ve|ll|d|m)\b", "", q)
    toks = tokenize(q)
    if not toks:
        res.reason = "the question is empty"
        return res
    people = [t.text for i, t in enumerate(toks) if t.low in PEOPLE and i > 0 and toks[i - 1].low in ("many", "of")]
    if people:
        res.reason = f"counting {people[0]} (people, not {view_nouns(card)}) needs an author column and an LLM"
        return res
    llm = [t.text for t in toks if t.low in LLM_ONLY and not t.quoted]
    if llm:
        res.reason = f"'{llm[0]}' asks for interpretation, not a count or a figure"
        return res
    view, why = choose_view(card, toks)
    if view is None:
        res.reason = f"could not tell {why}"
        return res
    cols = ColumnNames(view)
    noun = view.name.lower() if singular(view.name.lower()) in ROW_NOUNS else "rows"
    plan = Plan(view=view.name, time_column=view.time_column, noun=noun)
    noun_set = False
    numeric, texts, problems = [], [], []
    text_col = view.text_column
    for i, t in enumerate(toks):   # "strengths mention X": the named free-text column, else the source's text
        hit = None if t.quoted else cols.at(toks, i)
        if hit and hit[1].kind == "text" and hit[1].name != view.text_column and singular(t.low) not in ROW_NOUNS:
            text_col = hit[1].name
            break
    text_filters(toks, text_col, texts)
    numeric_filters(q, toks, cols, view, numeric, problems)
    times = timeparse.time_filters(q, toks, view, mark, problems)
    res.unmapped += problems
    # row nouns
    for t in toks:
        if not t.used and not t.quoted and (singular(t.low) in ROW_NOUNS or t.low in (view.name.lower(),
                                                                                      singular(view.name.lower()))):
            t.used = "noun"
    # column mentions
    mentions = []   # (i, n, col)
    i = 0
    while i < len(toks):
        t = toks[i]
        hit = None if (t.used or t.quoted) else cols.at(toks, i)
        if hit and hit[1].kind != "text":
            mentions.append((i, hit[0], hit[1]))
            i += hit[0]
        else:
            i += 1
    named_columns = {c.name.lower() for _, _, c in mentions}
    lows = [t.low for t in toks]

    # grouping
    group, group_at = None, None
    for i, t in enumerate(toks):
        if t.used:
            continue
        if t.low in GRAINS and view.time_column and GRAINS[t.low] and (
                t.low.endswith("ly") or (i > 0 and lows[i - 1] in GROUP_TRIGGERS | WHICH | {"the", "a"})):
            group, group_at = GRAINS[t.low], i
            t.used = "group"
            if i > 0 and lows[i - 1] in GROUP_TRIGGERS:
                toks[i - 1].used = "group"
            break
        if t.low == "over" and i + 1 < len(toks) and lows[i + 1] == "time" and view.time_column:
            group, group_at = "@month", i
            t.used = toks[i + 1].used = "group"
            break
    if group is None:
        for (i, n, col) in mentions:
            before = [lows[k] for k in range(max(0, i - 4), i) if toks[k].used != "noun"][-3:]
            trig = None
            if i > 0 and lows[i - 1] in GROUP_TRIGGERS:
                trig = i - 1
            elif i > 1 and lows[i - 2] in ("for", "each", "by") and lows[i - 1] in ("each", "every", "the"):
                trig = i - 2
            elif _which_before(before):
                trig = i
            elif i > 0 and (lows[i - 1] == "top" or (i > 1 and lows[i - 2] == "top" and re.fullmatch(r"\d+", lows[i - 1]))):
                trig = i
            if trig is None or col.kind in ("text", "id"):
                continue
            if col.kind == "time":
                group = "@month"
            else:
                group = col.name
            group_at = i
            for k in range(min(trig, i), i + n):
                if not toks[k].used or k >= i:
                    toks[k].used = "group"
            break
    plan.group = group
    if group:
        res.fields.add("group")

    # limit: "top 3", "3 most", "bottom 5", "show 10"
    for i, t in enumerate(toks):
        if re.fullmatch(r"\d+|one|two|three|four|five|six|seven|eight|nine|ten", t.low) and not t.used:
            prev = lows[i - 1] if i else ""
            nxt = lows[i + 1] if i + 1 < len(toks) else ""
            if prev in ("top", "bottom", "first", "last") or nxt in MAXW | MINW or prev in EXAMPLES \
                    or nxt in ("examples", "example", "quotes") or (prev in ("me",) and i > 1):
                plan.limit = int(_num(t.low))
                t.used = "limit"
                res.fields.add("limit")

    # measure
    words = [(i, t) for i, t in enumerate(toks) if not t.used and not t.quoted]
    wset = {t.low for _, t in words}
    measure, mcol = None, None
    numeric_mentions = [(i, c) for i, n, c in mentions if c.kind == "numeric" and not toks[i].used]

    def measured_col(after: int):
        later = [c for i, c in numeric_mentions if i > after] or [c for i, c in numeric_mentions]
        if later:
            return later[0]
        return cols.star_col

    def use(pred):
        for i, t in words:
            if pred(t.low):
                t.used = "measure"
                return i
        return None

    if wset & SHARE:
        measure = "share"
        use(lambda w: w in SHARE)
    elif wset & AVG:
        k = use(lambda w: w in AVG)
        measure, mcol = "avg", measured_col(k)
    elif "median" in wset:
        k = use(lambda w: w == "median")
        measure, mcol = "median", measured_col(k)
    elif (wset & SUMW) and numeric_mentions and not ({"number", "many", "count"} & wset):
        k = use(lambda w: w in SUMW)
        measure, mcol = "sum", measured_col(k)
    elif ("how" in wset and "many" in wset) or ({"number", "count", "amount"} & wset) or "total" in wset:
        measure = "count"
        use(lambda w: w == "many")
        use(lambda w: w in ("number", "count", "amount", "total"))
        # "how many apps/models/devices" -> distinct values of that column
        for i, n, c in mentions:
            if toks[i].used == "" and c.kind in ("category", "label", "id") and i > 0 and \
                    (lows[i - 1] in DISTINCT | {"many", "of"}) and c.name != plan.group:
                measure, mcol = "distinct", c
                for k in range(i, i + n):
                    toks[k].used = "measure"
                if lows[i - 1] in DISTINCT:
                    toks[i - 1].used = "measure"
                break
    elif not group and numeric_mentions and (wset & (MAXW | MINW)):
        k = use(lambda w: w in MAXW | MINW)
        measure = "max" if toks[k].low in MAXW else "min"
        mcol = measured_col(k)
    elif group:
        measure = "count"
    elif (wset & EXAMPLES) or (lows[0] in WHICH and not group and len(toks) > 1 and toks[1].used == "noun"):
        measure = "examples"
        use(lambda w: w in EXAMPLES)
    if measure and mcol is None and measure in ("avg", "sum", "min", "max", "median"):
        res.reason = f"no numeric column to take the {measure} of"
        return res
    if measure:
        plan.measure, plan.column = measure, (mcol.name if mcol is not None else None)
        res.has_measure = True
        res.fields.add("measure")
        for i, n, c in mentions:
            if mcol is not None and c.name == mcol.name:
                for k in range(i, i + n):
                    toks[k].used = toks[k].used or "measure"

    # order
    for i, t in enumerate(toks):
        if t.low in MAXW | MINW and t.used in ("", "measure") and not (t.low in ("more", "less", "fewer")
                                                                          and plan.measure == "count" and not group):
            if group or plan.measure == "examples":
                plan.order = "desc" if t.low in MAXW else "asc"
                if t.low in ("best", "worst") and plan.measure == "count" and group and cols.star_col:
                    plan.measure, plan.column = "avg", measured_col(i).name
                t.used = t.used or "order"
                res.fields.add("order")
    if "common" in lows or "frequent" in lows or "popular" in lows:
        for t in toks:
            if t.low in ("common", "frequent", "popular", "often"):
                t.used = t.used or "order"
        plan.order = plan.order or "desc"

    # values
    col_words = {w for parts, _ in cols.names for w in parts}
    index = value_index(view)
    values = []   # (i, Filter)
    value_end = {}   # index of a value phrase's last token -> its filter
    n_tok = len(toks)
    for n in (5, 4, 3, 2, 1):
        for i in range(0, n_tok - n + 1):
            span = toks[i:i + n]
            if any(t.used and not (t.used == "noun" and n > 1) for t in span):
                continue
            if n > 1 and (span[0].low in FILLER or span[-1].low in FILLER or any(t.quoted for t in span)):
                continue
            if n == 1 and span[0].low in FILLER and not span[0].quoted:
                continue
            phrase = " ".join(t.low for t in span)
            original = " ".join(t.text for t in span)
            loose = not (n == 1 and (span[0].low in col_words or singular(span[0].low) in col_words
                                     or singular(span[0].low) in ROW_NOUNS))
            hits = index.lookup(phrase, original, loose=loose)
            if span[0].quoted and hits and hits[0].tier > 1:
                hits = []
            j = i - 1
            while j >= 0 and lows[j] in ("the", "a", "an"):
                j -= 1
            if hits and hits[0].tier >= 3 and j >= 0 and lows[j] in ABOUT | {"regarding", "concerning"}:
                hits = []   # "about the weather": the words of the text, not a value that contains them
            if not hits:
                continue
            chosen, amb = resolve(hits, view, named_columns)
            if amb:
                res.unmapped.append(f"'{original}' {amb}")
                for t in span:
                    t.used = "ambiguous"
                continue
            vals = sorted({h.value for h in chosen}, key=str)
            nxt = toks[i + n] if i + n < n_tok else None
            family = nxt is not None and not nxt.used and cols.at(toks, i + n) is not None and \
                cols.at(toks, i + n)[1].name == chosen[0].column     # "reka models", "Samsung devices"
            if len(vals) > 1 and chosen[0].tier >= 3 and family:
                nxt.used = "value"
                from qa_agent.builtin.vocab import _whole_word, _word_prefix
                vals = sorted({e[1] for e in index.entries if e[0] == chosen[0].column and (
                    _word_prefix(phrase, str(e[1]).lower()) or _whole_word(phrase, str(e[1])))}, key=str)
            elif len(vals) > 1 and chosen[0].tier >= 3:
                res.unmapped.append(f"'{original}' could mean any of {', '.join(map(repr, vals[:6]))}")
                for t in span:
                    t.used = "ambiguous"
                continue
            neg = i > 0 and lows[i - 1] in ("not", "non", "except", "excluding") and not toks[i - 1].used
            if neg:
                toks[i - 1].used = "value"
            op = ("!=" if len(vals) == 1 else "not in") if neg else ("=" if len(vals) == 1 else "in")
            f = Filter(chosen[0].column, op, vals[0] if len(vals) == 1 else vals, original)
            values.append((i, f))
            value_end[i + n - 1] = f
            res.understood.append(f"'{original}' -> {f.describe()}")
            for t in span:
                t.used = "value"
    for t in toks:   # the rows' noun for the answer: the first row noun the question used
        if t.used == "noun" and singular(t.low) in ROW_NOUNS and t.low not in ("feedback", "text") and not noun_set:
            plan.noun, noun_set = singular(t.low) + "s", True
    # quoted phrases that name no value: a text match
    for i, t in enumerate(toks):
        if t.quoted and not t.used:
            t.used = "text"
            texts.append((i, Filter(text_col, "contains", [t.text], repr(t.text))))

    # leftovers: column names and filler are fine; anything else must map or the question is declined
    col_words = {w for parts, _ in cols.names for w in parts}
    left = []
    used_cols = {f.column for _, f in numeric + texts + values + times}
    used_cols |= {plan.column, plan.group, view.time_column if (plan.group or "").startswith("@") else None}
    for i, t in enumerate(toks):
        if t.used:
            continue
        if (t.low in col_words or singular(t.low) in col_words) and t.low not in FILLER:
            cands = [c for parts, c in cols.names if t.low in parts or singular(t.low) in parts]
            prev = lows[i - 1] if i else ""
            if prev not in GROUP_TRIGGERS and any(c.name in used_cols or c.distinct <= 1 or c.kind == "text"
                                                  for c in cands):
                continue      # names a column the plan uses ("in the GAME category"), or a constant one
            res.unmapped.append(f"'{t.text}' (names {', '.join(c.name for c in cands)}, "
                                f"but no value or breakdown of it)")
            continue
        if t.low in FILLER or t.low in WHICH \
                or t.low in ("percent", "instead", "rather", "and", "now", "what", "about", "how", "mentions", "report",
                             "reports", "there", "appear", "appears", "receive", "receives", "receiving", "earn", "earns", "earned",
                             "gets", "gives", "gave", "give", "write", "writes", "wrote", "labelled", "labeled", "tagged", "classified", "marked", "categorized",
                             "categorised", "users", "user", "people", "customers", "exist", "exists", "written", "posted") \
                or t.low in MAXW | MINW | {"common", "rated", "star", "stars", "time", "often"}:
            continue
        if t.low.isdigit() or t.low in NUMBER_WORDS:
            left.append((i, t))
            continue
        left.append((i, t))
    rescue = len(left) <= 2    # embeddings may rescue a near-miss word or two; more than that is not understood
    import difflib
    for i, t in left:
        f = value_end.get(i - 1)
        if f is not None and t.low in ("complaint", "complaints", "problem", "problems", "issue", "issues",
                                       "one", "ones", "kind", "type", "category", "label"):
            t.used = "value"     # 'performance complaints': the value, said with a head noun
            continue
        if f is not None and f.op in ("=", "!=") and len(t.low) >= 4 and any(
                difflib.SequenceMatcher(None, t.low, w).ratio() >= 0.8 for w in str(f.value).lower().split()):
            t.used = "value"     # 'Pixel Dungon': a misspelt further word of the value just matched
            value_end[i] = f
            continue
        j = i - 1
        while j >= 0 and lows[j] in ("the", "a", "an"):
            j -= 1
        if j >= 0 and lows[j] in ABOUT | {"regarding", "concerning"} and not t.low.isdigit() and len(t.low) > 2:
            t.used = "text"
            toks[j].used = "text"
            texts.append((j, Filter(text_col, "contains", [t.text], f"about {t.text}")))
            continue
        hit = None if (not rescue or t.low.isdigit() or len(t.low) < 3) else embedding_match(t.low, index)
        if hit:
            f = Filter(hit.column, "=", hit.value, t.text)
            values.append((i, f))
            res.understood.append(f"'{t.text}' ~ {f.describe()} (similar words)")
            t.used = "value"
        else:
            res.unmapped.append(f"'{t.text}'")

    # merge filters; share: split into base and target
    allf = sorted(numeric + texts + values + times, key=lambda x: x[0])
    if allf:
        res.fields.add("filters")
    if plan.measure == "share":
        share_at = next((i for i, t in enumerate(toks) if t.used == "measure"), 0)
        split = next((i for i in range(share_at + 1, n_tok) if lows[i] in SPLIT_VERBS), None)
        base, target = [], []

        def _prep(i):
            k = i - 1
            while k >= 0 and lows[k] in ("the", "a", "all"):
                k -= 1
            return lows[k] if k >= 0 else ""
        explicit_base = any(_prep(i) in BASE_PREPS - {"of"} for i, _ in allf)
        noun_at = next((i for i in range(share_at + 1, n_tok) if toks[i].used == "noun"), None)
        for i, f in allf:
            k = i - 1
            while k >= 0 and lows[k] in ("the", "a", "all"):
                k -= 1
            prep = lows[k] if k >= 0 else ""
            if split is not None:
                is_target = i >= split and not (prep in ("among", "amongst", "within") and f.op != "contains")
            elif explicit_base:   # "share of 1-star reviews among GAME reviews": among/in/within/for/from
                is_target = prep not in BASE_PREPS - {"of"}
            else:                 # "share of gemma-2b-it critiques scoring below 4": the row noun ends the base
                is_target = noun_at is None or i > noun_at
            (target if is_target else base).append(f)
        if not target and len(base) == 1:
            target, base = base, []
        elif not target:
            res.reason = "which of the conditions the percentage is of"
            return res
        plan.filters, plan.target = _merge(base), _merge(target)
    else:
        plan.filters = _merge([f for _, f in allf])
    for f in plan.filters + plan.target:
        if f.op in ("contains",) or f.op.startswith("time") or f.column in (cols.star_col.name if cols.star_col else "",):
            res.understood.append(f.describe())
    if plan.measure in ("avg", "min", "max", "sum", "distinct", "median") and plan.column:
        res.understood.append(f"{plan.measure} of {plan.column}")
    if group:
        res.understood.append(f"per {group.lstrip('@')}")
    if "which" in lows and not plan.group and plan.measure != "examples":
        res.reason = "'which' asks for a breakdown, but no column to break down by was recognised"
        return res
    if plan.group and plan.group == plan.column:
        res.reason = f"the question groups by {plan.group} and measures it too"
        return res
    if not plan.measure and not partial:
        res.reason = "no measure (how many, what share, average ...) or breakdown in the question"
        return res
    res.plan = plan
    return res


def _which_before(before: list[str]) -> bool:
    """'which app', 'which of the apps', 'the most common label': a which-word right before, bar articles."""
    k = len(before)
    while k > 0 and before[k - 1] in ("the", "a", "of", "one", "kind", "type"):
        k -= 1
    return k > 0 and before[k - 1] in WHICH | {"common", "frequent", "popular"}


def _merge(filters: list[Filter]) -> list[Filter]:
    """Several values named for one column mean any of them ('bug reports and feature requests')."""
    out: list[Filter] = []
    for f in filters:
        prev = next((p for p in out if p.column == f.column and p.op in ("=", "in") and f.op in ("=", "in")), None)
        if prev is None:
            out.append(f)
            continue
        vals = (prev.value if prev.op == "in" else [prev.value]) + (f.value if f.op == "in" else [f.value])
        prev.op, prev.value, prev.words = "in", sorted(set(vals), key=str), prev.words + " / " + f.words
    return out
