"""Recognisers: typed, scored spans over a question's tokens (words, numbers, dates, columns, values, quotes).

Each recogniser reads the whole question and returns every span it can vouch for, without looking at what the
others found; overlapping spans are normal (a word may be a column name and a value). The grammar (grammar.py)
chooses among them and builds plans. The word lists are in lexicon.yaml; the columns and values come from the
schema card (including its aliases, coded-value plain words and list vocabularies).

Design decision: a span carries its kind, its typed payload (an ir predicate, a column card, a measure name) and a
score; nothing here marks tokens as "used", so the order in which recognisers run changes nothing.
"""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field, replace

from earful.qa_agent.builtin import timeparse
from earful.qa_agent.builtin.ir import Cmp, In, Not, TextMatch
from earful.qa_agent.builtin.lexicon import lexicon
from earful.qa_agent.builtin.vocab import LABEL_HEADS, PLACEHOLDERS, ValueHit, singular, value_index

DOUBLE_QUOTED = r'"[^"]+"|“[^”]+”'
SINGLE_QUOTED = r"(?<!\w)'(?:[^']|(?<=\w)'(?=\w))+'(?!\w)"   # 'I'm sorry': an apostrophe inside a word is kept
TOKEN = re.compile(DOUBLE_QUOTED + "|" + SINGLE_QUOTED + r"|[A-Za-z0-9][A-Za-z0-9._/+\-]*[A-Za-z0-9+]|[A-Za-z0-9]|%")


@dataclass
class Tok:
    text: str
    low: str
    start: int
    end: int
    quoted: bool = False


@dataclass
class Span:
    i: int                       # first token
    j: int                       # one past the last token
    kind: str                    # see KINDS
    data: object = None          # the typed payload
    score: float = 1.0
    words: str = ""              # the question's words

    @property
    def n(self) -> int:
        return self.j - self.i


KINDS = ("quote", "text", "number", "time", "column", "value", "measure", "order", "group", "grain", "negation",
         "compare", "which", "about", "count", "rownoun", "people", "interp", "stage", "mention")


@dataclass
class Question:
    text: str                            # normalised
    toks: list[Tok]
    spans: list[Span] = field(default_factory=list)

    @property
    def lows(self) -> list[str]:
        return [t.low for t in self.toks]

    def words(self, i: int, j: int) -> str:
        return " ".join(t.text for t in self.toks[i:j])

    def at(self, i: int, kind: str | None = None) -> list[Span]:
        return [s for s in self.spans if s.i <= i < s.j and (kind is None or s.kind == kind)]


# ---- tokens ----------------------------------------------------------------------------------------------------
def _split_quoted(text: str, pattern: str, plain) -> str:
    out, pos = [], 0
    for m in re.finditer(pattern, text):
        out += [plain(text[pos:m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out + [plain(text[pos:])])


_MON = (r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
        r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_MONTH_NO = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                             "nov", "dec"))}
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"((?:19|20)\d\d)\b"
MONTH_DAY_RE = re.compile(rf"(?i)\b{_MON}\.?\s+{_DAY},?\s+{_YEAR}")              # 'June 1, 2013', 'Jun 1st 2013'
DAY_MONTH_RE = re.compile(rf"(?i)\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MON}\.?,?\s+{_YEAR}")   # '(the) 1st of June 2013'
# two days sharing one year: 'July 1 and Sept 30 2013', 'March 1 to March 31, 2016', '1 July - 30 Sept 2013'
_TO = r"(\s*(?:and|to|through|thru|until|till|-|–)\s*)"
MONTH_DAY_PAIR_RE = re.compile(rf"(?i)\b{_MON}\.?\s+{_DAY}{_TO}(?={_MON}\.?\s+{_DAY},?\s+{_YEAR})")
DAY_MONTH_PAIR_RE = re.compile(rf"(?i)\b{_DAY}\s+(?:of\s+)?{_MON}\.?{_TO}(?={_DAY}\s+(?:of\s+)?{_MON}\.?,?\s+{_YEAR})")


def _iso(mon: str, day: str, year: str) -> str:
    """A day written with its month's name, as an ISO date the date rules read ('2013-06-31' stays what it is: no
    such day, so the question is declined, never read as another day)."""
    return f"{year}-{_MONTH_NO[mon.lower()[:3]]:02d}-{int(day):02d}"


@functools.cache
def _lexicon_patterns() -> tuple[re.Pattern, re.Pattern]:
    """_plain's two patterns built from the lexicon's row nouns, once."""
    lx = lexicon()
    things = "|".join(sorted(set(lx.row_nouns) | {"app", "application", "game", "model", "product", "tool",
                                                  "software", "program", "reply", "assistant", "paper"}))
    say_it = re.compile(rf"(?i)\b(say|says|said|saying)\s+(?:that\s+)?(?:it|(?:the|its|this)\s+(?:{things}))\s+"
                        r"(?:is|was|are|were|gets|got)\s+(?:(?:too|very|overly|so|quite|rather)\s+)?(?=[a-z])")
    rows = "|".join(sorted({w + "s" for w in lx.row_nouns} | {"ones", "those", "cases"}))
    return say_it, re.compile(rf"(?i)\b({rows})\s+where\b")


def _plain(part: str) -> str:
    part = part.replace("’", "'")
    part = MONTH_DAY_PAIR_RE.sub(lambda m: f"{_iso(m.group(1), m.group(2), m.group(6))}{m.group(3)}", part)
    part = DAY_MONTH_PAIR_RE.sub(lambda m: f"{_iso(m.group(2), m.group(1), m.group(6))}{m.group(3)}", part)
    part = MONTH_DAY_RE.sub(lambda m: _iso(m.group(1), m.group(2), m.group(3)), part)
    part = DAY_MONTH_RE.sub(lambda m: _iso(m.group(2), m.group(1), m.group(3)), part)
    part = re.sub(r"(?i)\b(can)'t\b", r"\1 not", part)
    part = re.sub(r"(?i)\bwon't\b", "will not", part)
    part = re.sub(r"(?i)\b(\w+)n't\b", r"\1 not", part)
    part = re.sub(r"(?i)\b(highest|lowest|best|worst|top|most|least|poorly|better|worse)-"
                  r"(?=(rated|scor|review|common))", r"\1 ", part)
    part = re.sub(r"(?i)\bwhats\b", "what is", part)
    # 'top 3 models by average score, with the averages': the figures are always shown
    part = re.sub(r"(?i),?\s+(?:with|showing|including)\s+(?:the|their)\s+(?:averages|means|counts|figures|totals|"
                  r"percentages|numbers)\s*(?=[?.!]?\s*$)", "", part)
    # 'give me the 3 apps with the most reviews', 'show me the top 5 models': a list of that many
    part = re.sub(r"(?i)\b(?:give|show|tell)\s+(?:me|us)\s+(?:the\s+)?(?=(?:top\s+)?(?:\d+|two|three|four|five|six|"
                  r"seven|eight|nine|ten|twelve)\s)", "list the ", part)
    # 'reviews longer than 30 sentences': a count column compared
    part = re.sub(r"(?i)\blonger\s+than\b", "more than", part)
    part = re.sub(r"(?i)\bshorter\s+than\b", "fewer than", part)
    # 'neither GSM8K nor PIQA': not either of them
    part = re.sub(r"(?i)\bneither\b(.*?)\bnor\b", r"not\1or", part)
    # 'sentences that ask the authors for more experiments': a request for experiments
    part = re.sub(r"(?i)\bask(?:s|ed|ing)?\s+(?:(?:the|their)\s+)?(?:(?:authors?|them|us|developers?|reviewers?)\s+)?"
                  r"(?:for|to\s+(?:fix|correct|run|do|add|perform|conduct|include|provide))\s+"
                  r"(?:(?:more|additional|further|extra|new|the|some)\s+)?", "request ", part)
    part = re.sub(r"(?i)\b(requests?)\s+for\s+(?:(?:more|additional|further|extra|new)\s+)?", r"\1 ", part)
    # 'critiques that say the response is repetitive': what they say of it is the text to find
    # (the thing reviewed only: 'say the battery is draining' keeps the battery)
    say_it, rows_where = _lexicon_patterns()
    part = say_it.sub(r"\1 ", part)
    # 'the latest date on which a review was written': a relative clause, not a question's 'which'
    part = re.sub(r"(?i)\b(date|day|time|month|year|week)\s+(?:on|in|at|during)\s+which\b", r"\1 that", part)
    # 'score-1 critiques', 'rating-5 reviews': the column, then its value
    part = re.sub(r"(?i)\b(score|rating|grade|stars?)-(\d+)\b", r"\1 \2", part)
    # 'a security/privacy review': either word
    part = re.sub(r"(?i)\b([a-z]{3,})/([a-z]{3,})\b", r"\1 or \2", part)
    # 'ignoring reviews where the device is unknown': 'where' after rows opens a clause about them
    part = rows_where.sub(r"\1 that", part)
    # 'ERROR-labelled reviews', 'privacy-related': the value, then the word that says it is one
    part = re.sub(r"(?i)(?<=\w)-(labell?ed|tagged|flagged|marked|related)\b", r" \1", part)
    part = re.sub(r"(?i)(?<=\w)'(s|re|ve|ll|d|m)\b", "", part)
    part = re.sub(r"(?i)(?<=\w)s'(?=\s|$)", "s", part)                      # "models' scores"
    part = re.sub(r"(?<=\d),(?=\d{3}\b)", "", part)                            # '1,010' -> '1010'
    return re.sub(r"(?i)\b(\d+(?:\.\d+)?)\+(\s*-?\s*stars?\b)?", r"\1\2 or more", part)  # '3+ stars'


def normalise(question: str) -> str:
    """Spell the question's own words plainly ("don't" -> "do not", "3+ stars" -> "3 or more stars"), leaving
    quoted phrases exactly as typed: a quoted phrase is literal text to match ("I'm sorry", "3+")."""
    return _split_quoted(question.strip(), DOUBLE_QUOTED,
                         lambda part: _split_quoted(part.replace("`", "'"), SINGLE_QUOTED, _plain))


def tokenize(q: str) -> list[Tok]:
    out = []
    for m in TOKEN.finditer(q):
        t = m.group(0)
        quoted = t[0] in "\"'“"
        text = t[1:-1] if quoted else t
        out.append(Tok(text=text, low=text.lower(), start=m.start(), end=m.end(), quoted=quoted))
    return out


def _tok_range(toks: list[Tok], start: int, end: int) -> tuple[int, int] | None:
    idx = [k for k, t in enumerate(toks) if t.start >= start and t.end <= end]
    return (idx[0], idx[-1] + 1) if idx else None


# ---- lexicon words -----------------------------------------------------------------------------------------------
def _phrase_spans(q: Question, phrases, kind: str, data) -> list[Span]:
    out = []
    lows = q.lows
    for ph in phrases:
        n = len(ph)
        for i in range(len(lows) - n + 1):
            if tuple(lows[i:i + n]) == ph and not any(t.quoted for t in q.toks[i:i + n]):
                out.append(Span(i, i + n, kind, data, 1.0, q.words(i, i + n)))
    return out


@functools.lru_cache(maxsize=4096)
def _near_row_noun(w: str) -> str:
    """The row noun a typo means ('sentnces' -> 'sentence'), or ''."""
    lx = lexicon()
    if len(w) < 6 or singular(w) in lx.row_nouns:
        return ""
    near = difflib.get_close_matches(w, sorted(lx.row_nouns | {n + "s" for n in lx.row_nouns}), n=1, cutoff=0.85)
    return singular(near[0]) if near else ""


def words(q: Question) -> list[Span]:
    lx = lexicon()
    out = []
    for name, phrases in lx.measures.items():
        out += _phrase_spans(q, phrases, "measure", name)
    for order, phrases in lx.order.items():
        out += _phrase_spans(q, phrases, "order", order)
    out += _phrase_spans(q, lx.group_triggers, "group", None)
    for grain, phrases in lx.grains.items():
        out += _phrase_spans(q, phrases, "grain", grain)
    out += _phrase_spans(q, lx.negation, "negation", None)
    for mode, phrases in lx.compare.items():
        out += _phrase_spans(q, phrases, "compare", mode)
    out += _phrase_spans(q, lx.about, "about", None)
    for i, t in enumerate(q.toks):
        if t.quoted:
            continue
        w = t.low
        if w in lx.which:
            out.append(Span(i, i + 1, "which", w, 1.0, t.text))
        if w in lx.mention:
            out.append(Span(i, i + 1, "mention", w, 1.0, t.text))
        if singular(w) in lx.row_nouns or w in lx.row_nouns:
            out.append(Span(i, i + 1, "rownoun", singular(w), 1.0, t.text))
        elif len(w) >= 6 and w.isalpha() and not lx.ignorable(w) and (near := _near_row_noun(w)):   # 'sentnces'
            out.append(Span(i, i + 1, "rownoun", near, 0.9, t.text))
        if w in lx.people:
            out.append(Span(i, i + 1, "people", w, 1.0, t.text))
        if w in lx.interpretive:
            out.append(Span(i, i + 1, "interp", w, 1.0, t.text))
        if re.fullmatch(r"\d+", w) or w in lx.numbers:
            out.append(Span(i, i + 1, "count", int(w) if w.isdigit() else lx.numbers[w], 1.0, t.text))
        for stage, spec in lx.stages.items():
            if w in spec["words"]:
                out.append(Span(i, i + 1, "stage", stage, 1.0, t.text))
    return out


# ---- quoted phrases and text mentions ------------------------------------------------------------------------------
def quotes(q: Question, text_col: str) -> list[Span]:
    return [Span(i, i + 1, "quote", TextMatch(text_col, (t.text,)), 1.0, t.text)
            for i, t in enumerate(q.toks) if t.quoted]


def mentions(q: Question, text_col: str) -> list[Span]:
    """'mention X', 'talk about X or Y', 'contain both the words A and B', 'without the word X', 'never mention X'."""
    lx, toks, out = lexicon(), q.toks, []
    lead = {"the", "a", "an", "of", "about", "both", "either"} | lx.text_heads
    for i, t in enumerate(toks):
        quoted_next = i + 1 < len(toks) and toks[i + 1].quoted
        without = t.low == "without" and (quoted_next or (i + 1 < len(toks) and toks[i + 1].low in (
            {"the"} | lx.text_heads)))
        if t.quoted or not (t.low in lx.mention or without or (t.low in ("about", "regarding") and quoted_next)):
            continue
        j = i + 1
        while j < len(toks) and toks[j].low in lead and not toks[j].quoted:
            j += 1
        if j >= len(toks):
            continue
        first = toks[j]
        if not first.quoted and (lx.ignorable(first.low) or not re.search(r"[a-z]", first.low)):
            continue
        terms, conj, k = [first.text], "or", j + 1
        while k + 1 < len(toks) and toks[k].low in ("or", "and") and (toks[k + 1].quoted or not first.quoted) \
                and not lx.ignorable(toks[k + 1].low) and (toks[k + 1].quoted or re.search(r"[a-z]", toks[k + 1].low)):
            conj = toks[k].low
            terms.append(toks[k + 1].text)
            k += 2
        neg_at = i if without else (i - 1 if i > 0 and toks[i - 1].low in ("not", "never", "no") else None)
        start = neg_at if neg_at is not None else i
        if neg_at is not None and conj == "and" and len(terms) > 1:
            continue      # "don't mention A and B": neither, or not both? left unread, so the question declines
        pred = TextMatch(text_col, tuple(terms), "all" if conj == "and" else "any")
        out.append(Span(start, k, "text", Not(pred) if neg_at is not None else pred, 2.0, q.words(start, k)))
    return out


# ---- numbers of a rating or score -----------------------------------------------------------------------------
CMP = (r"greater than or equal to|more than or equal to|higher than or equal to|less than or equal to|"
       r"lower than or equal to|at least|at most|more than|less than|fewer than|over|under|above|below|greater than|"
       r"higher than|lower than|no more than|no less than")
STAR_RE = re.compile(
    r"(?:\b(" + CMP + r")\s+)?\b(\d+(?:\.\d+)?|one|two|three|four|five|single)[\s-]*stars?\b"
    r"(?:\s*(or (?:less|fewer|lower|below|worse|under)|and (?:below|under|lower|less)|or (?:more|higher|above|"
    r"better|greater|up)|and (?:above|up|higher|more|over))|\s*\+)?(?:\s+(?:ratings?|reviews?\s+(?=or)))?", re.I)
NUMCOL_RE = re.compile(
    r"\b(rated|ratings?|scores?|scored|scoring|grades?|stars?)\s+(?:of\s+|is\s+|was\s+)?(" + CMP +
    r"|equal to|>=|<=|>|<|=|exactly)?\s*(\d+(?:\.\d+)?)\b(?:\s+points?\b)?"
    r"(?:\s*(or (?:less|fewer|lower|below|worse)|and (?:below|under|lower)|or (?:more|higher|above|better)|"
    r"and (?:above|up|higher|more)))?", re.I)
STAR_POST_RE = re.compile(
    r"\b(\d+(?:\.\d+)?|one|two|three|four|five)\s+(or (?:more|higher|above|better|greater)|and (?:above|up|higher|"
    r"more|over)|or (?:less|fewer|lower|below|worse)|and (?:below|under|lower|less))[\s-]+stars?\b", re.I)
RANGE_RE = re.compile(
    r"\b(?:(rated|ratings?|scores?|scored|scoring|grades?|stars?)\s+(?:of\s+|is\s+|was\s+)?)?(between\s+)?"
    r"(\d+(?:\.\d+)?)\s*(or|and|to|through|-)\s*(\d+(?:\.\d+)?)\b(?:(?:\s*-\s*|\s+)(stars?|points?)\b)?", re.I)
# a named numeric column with a comparison: 'helpfulness below 3', 'a relevance score of at least 4'
OPS = {"greater than or equal to": ">=", "more than or equal to": ">=", "higher than or equal to": ">=",
       "less than or equal to": "<=", "lower than or equal to": "<=", "equal to": "=", "at least": ">=",
       "no less than": ">=", "at most": "<=", "no more than": "<=", "more than": ">",
       "over": ">", "above": ">", "greater than": ">", "higher than": ">", "less than": "<", "fewer than": "<",
       "under": "<", "below": "<", "lower than": "<", ">=": ">=", "<=": "<=", ">": ">", "<": "<", "=": "=",
       "exactly": "="}


def _num(s: str):
    s = s.lower()
    if s in lexicon().numbers:
        return lexicon().numbers[s]
    try:
        return int(s)
    except ValueError:
        return float(s)


def _post_op(s: str | None) -> str | None:
    if not s:
        return None
    s = s.lower().strip()
    if s == "+" or any(w in s for w in ("more", "higher", "above", "better", "greater", " up", "over")):
        return ">="
    return "<="


def score_columns(view) -> list:
    """The numeric columns a bare 'score' may name: the one called `score`, else every column with 'score' as a
    word of its name ('justification_score', 'relevance_score'). Two or more: 'score' is ambiguous."""
    c = view.column("score")
    if c is not None and c.kind == "numeric":
        return [c]
    return [c for c in view.columns if c.kind == "numeric" and not c.canonical
            and "score" in c.name.lower().replace("-", "_").split("_")]


def numeric_columns(view) -> tuple:
    """(the star column, the score column): 'stars' reads the rating, 'score' the score, either falls back. When
    several columns are scores, the score column is None: a bare 'score' must not silently pick one (nor the
    rating, which the ingest may have copied from one of them)."""
    def numeric(name):
        c = view.column(name)
        return c if c is not None and c.kind == "numeric" else None
    rating, scores = numeric("rating"), score_columns(view)
    score = scores[0] if len(scores) == 1 else None
    if len(scores) > 1:
        return rating, None
    return rating or score, score or rating


def numbers(q: Question, view) -> list[Span]:
    """Ratings and scores: '1-star', '4 stars or more', 'rated below 3', 'a score between 4 and 6', '9-10'.
    A number outside the column's range is a span with no predicate (the grammar declines naming the range)."""
    star_col, score_col = numeric_columns(view)
    out, text = [], q.text

    def add(m, col, preds):
        r = _tok_range(q.toks, m.start(), m.end())
        if r is None:
            return
        words = m.group(0).strip()
        if col is None:
            out.append(Span(r[0], r[1], "number", None, 2.0, words))
            return
        vals = [p.value for p in preds if isinstance(p, Cmp)] + [v for p in preds if isinstance(p, In)
                                                                 for v in p.values]
        if col.min is not None and not all(float(col.min) <= float(v) <= float(col.max) for v in vals):
            out.append(Span(r[0], r[1], "number", None, 2.0, f"{words} ({col.name} ranges {col.min}..{col.max})"))
            return
        out.append(Span(r[0], r[1], "number", tuple(preds), 2.0 + 0.01 * (r[1] - r[0]), words))

    for m in RANGE_RE.finditer(text):
        word, between, a, conj, b, unit = m.groups()
        if not (word or unit) or (between and conj.lower() != "and"):
            continue
        w = (word or unit).lower()
        col = score_col if w.startswith(("scor", "grade", "point")) else star_col
        lo, hi = sorted((_num(a), _num(b)))
        if col is None:
            add(m, None, ())
        elif between or conj.lower() in ("to", "through", "-"):
            add(m, col, (Cmp(col.name, ">=", lo), Cmp(col.name, "<=", hi)))
        else:
            add(m, col, (In(col.name, (lo, hi)),))
    for rx, kind in ((STAR_POST_RE, "post"), (STAR_RE, "star"), (NUMCOL_RE, "col")):
        for m in rx.finditer(text):
            if kind == "post":
                pre, num, post, col = None, m.group(1), m.group(2), star_col
            elif kind == "star":
                plus = "+" if m.group(0).rstrip().endswith("+") else None
                pre, num, post, col = m.group(1), m.group(2), m.group(3) or plus, star_col
            else:
                word, pre, num, post = m.group(1).lower(), m.group(2), m.group(3), m.group(4)
                col = score_col if word.startswith(("scor", "grade")) else star_col
            op = OPS.get((pre or "").lower()) or _post_op(post) or "="
            add(m, col, (Cmp(col.name, op, _num(num)),) if col is not None else ())
    return out


GENERIC_RE = re.compile(r"\b(?:(" + CMP + r"|exactly)\s+(\d+(?:\.\d+)?|one|two|three|four|five)|(\d+(?:\.\d+)?)\s+"
                        r"(or (?:more|fewer|less|higher|"
                        r"above|lower|below|greater)|and (?:above|up|more|over|below|under|less)))\b", re.I)


def comparisons(q: Question, cols: list[Span] = ()) -> list[Span]:
    """A comparison with a bare number ('more than 1010', '20 or more', 'above 3.6'): (op, value), for a
    condition on a group (Having) or a named numeric column. A number in words only before a list column ('more
    than one label'): 'at least one review' stays words."""
    out = []
    lists = {s.i for s in cols if getattr(s.data, "list_fmt", None)}
    for m in GENERIC_RE.finditer(q.text):
        r = _tok_range(q.toks, m.start(), m.end())
        if r is None or (m.group(2) and m.group(2).isalpha() and r[1] not in lists):
            continue
        if m.group(2) is not None:
            op, v = OPS.get(m.group(1).lower(), "="), _num(m.group(2))
        else:
            op, v = _post_op(m.group(4)), _num(m.group(3))
        out.append(Span(r[0], r[1], "cmp", (op, v), 1.5, m.group(0)))
    return out


def column_numbers(q: Question, cols: list[Span]) -> list[Span]:
    """A named numeric column followed by a comparison and a number: 'helpfulness below 3', 'score of at least 8'."""
    out = []
    lows = q.lows
    for s in cols:
        c = s.data
        if c.kind != "numeric":
            continue
        k = s.j
        while k < len(lows) and lows[k] in ("of", "is", "was", "score", "rating"):
            k += 1
        rest = " ".join(lows[k:k + 6])
        two = re.match(r"(\d+)\s+or\s+(\d+)\b(?!\s+(?:more|higher|above|better|less|fewer|lower|below|worse|up))", rest)
        if two and two.group(1) != two.group(2) and c.min is not None and all(
                float(c.min) <= float(x) <= float(c.max) for x in two.groups()):
            # 'a justification score of 1 or 2': either value
            j = k + 3
            out.append(Span(s.i, j, "number", (In(c.name, (_num(two.group(1)), _num(two.group(2)))),), 2.5,
                            q.words(s.i, j)))
            continue
        m = re.match(r"(" + CMP + r"|equal to|exactly|>=|<=|>|<|=)?\s*(\d+(?:\.\d+)?)\b"
                     r"(\s+(?:or|and) (?:more|higher|above|better|less|fewer|lower|below|worse|up|under))?", rest)
        if not m or not (m.group(1) or m.group(3)) and k == s.j:
            continue
        op = OPS.get(m.group(1) or "") or _post_op(m.group(3)) or "="
        n_words = len(m.group(0).split())
        value = _num(m.group(2))
        if c.min is not None and not float(c.min) <= float(value) <= float(c.max):
            out.append(Span(s.i, k + n_words, "number", None, 2.5, f"{q.words(s.i, k + n_words)} "
                                                                   f"({c.name} ranges {c.min}..{c.max})"))
            continue
        out.append(Span(s.i, k + n_words, "number", (Cmp(c.name, op, value),), 2.5, q.words(s.i, k + n_words)))
    return out


# ---- dates -----------------------------------------------------------------------------------------------------
def dates(q: Question, view) -> list[Span]:
    out = []
    for start, end, preds, words in timeparse.time_phrases(q.text, view):
        r = _tok_range(q.toks, start, end)
        if r is not None and words.strip().isdigit() and r[0] > 0 and value_index(view).lookup(
                f"{q.toks[r[0] - 1].low} {q.toks[r[0]].low}", q.words(r[0] - 1, r[1]), loose=False):
            continue            # a bare year that ends a value ('ICLR 2020'), not a date
        if r is not None:
            out.append(Span(r[0], r[1], "time", tuple(preds) if preds is not None else None,
                            3.0 + 0.01 * (r[1] - r[0]), words))
    return out


# ---- columns -----------------------------------------------------------------------------------------------------
COUNT_COLUMN = re.compile(r"(?:n|num|number|nb|count)_([a-z][a-z_]*)|([a-z][a-z_]*)_(?:count|num|number)")


def column_names(view) -> list[tuple[list[str], object]]:
    """(name words, column card) for every column a question may name: its name, its plain-word aliases."""
    lx = lexicon()
    names = []
    for c in view.columns:
        if (c.kind in ("empty", "other") and not getattr(c, "list_fmt", None)) or c.name == "item_id":
            continue
        parts = c.name.lower().replace("-", "_").split("_")
        parsed = view.column(c.parsed_into) if getattr(c, "parsed_into", None) else None
        names.append((parts, parsed or c))       # a raw 'date' parsed into created_at: its name means created_at
        counted = COUNT_COLUMN.fullmatch(c.name.lower())
        if counted and c.kind == "numeric":       # n_sentences, num_votes, word_count: 'number of sentences'
            names.append((["number", "of", *(counted.group(1) or counted.group(2)).split("_")], c))
        for a in getattr(c, "aliases", None) or []:
            names.append((str(a).lower().split(), c))
        # an id column names the thing it identifies: 'sessions' -> session_id, 'forums' -> forum_id (not the rows)
        thing = re.fullmatch(r"([a-z]+)_?id", c.name.lower())
        own = singular(view.name.lower())      # over a view of sentences, 'reviews' may name review_id
        rows = {"item", "row", "record", "entry", "text", own} if own in lx.row_nouns else lx.row_nouns | {own}
        if thing and c.kind not in ("text", "empty", "time") and singular(thing.group(1)) not in rows \
                and not any(singular(o.name.lower()) == singular(thing.group(1)) for o in view.columns):
            # ... unless a column is named so itself: 'topic' is the topic column, not topic_id
            names.append(([thing.group(1)], c))
    if view.time_column:
        names.append((["date"], view.column(view.time_column)))
    star_col, score_col = numeric_columns(view)
    for w in lx.rating_words:
        if star_col is not None and not view.column(w):
            names.append(([w], star_col))
    scores = score_columns(view)
    for w in lx.score_words:       # several score columns: 'score' names each of them (two readings: a decline)
        for c in (scores if len(scores) > 1 else [score_col] if score_col is not None else []):
            if not view.column(w):
                names.append(([w], c))
    for alias, targets in lx.column_synonyms.items():
        for target in targets:
            c = view.column(view.time_column) if target == "@time" and view.time_column else view.column(target)
            if c is not None and c.kind not in ("empty", "other") and not view.column(alias):
                names.append((alias.split(), c))
                break
    return names


# a label column's head word said another way: 'high-level category' -> labels_high
HEAD_SAME = {singular(w): "label" for w in LABEL_HEADS if singular(w) != "label"}


def columns(q: Question, view) -> list[Span]:
    lx = lexicon()
    names = column_names(view)
    joined = {n: {"".join(parts): col for parts, col in names if len(parts) == n} for n in (1, 2)}   # for typos
    toks, out = q.toks, []
    for i, t in enumerate(toks):
        if t.quoted:
            continue
        if "_" in t.low:      # a column written as it is named: label_clean, app_category
            col = view.column(t.low)
            if col is not None and col.kind not in ("empty", "other"):
                out.append(Span(i, i + 1, "column", col, 1.5, t.text))
                continue
        found = {}
        for parts, col in names:
            n = len(parts)
            if i + n > len(toks) or any(x.quoted for x in toks[i:i + n]):
                continue
            ws = [toks[i + k].low for k in range(n)]
            if ws[:-1] == parts[:-1] and singular(ws[-1]) == singular(parts[-1]):
                found.setdefault((n, col.name), col)
        # the words of a column's name in another order or with hyphens: 'high-level label' -> labels_high
        for n in (3, 2, 1):
            if i + n > len(toks) or any(x.quoted for x in toks[i:i + n]):
                continue
            sub = [HEAD_SAME.get(singular(w), singular(w)) for x in toks[i:i + n] for w in x.low.split("-")]
            if len(sub) < 2:
                continue
            bag = {col.name: col for parts, col in names if len(parts) > 1 and {singular(p) for p in parts} <= set(sub)
                   and all(w in {singular(p) for p in parts} or w in lx.common for w in sub)
                   and singular(sub[-1]) in {singular(p) for p in parts}
                   and singular(sub[0]) in {singular(p) for p in parts}}
            if len(bag) == 1:
                c = next(iter(bag.values()))
                found.setdefault((n, c.name), c)
                break
        # two or more words from inside one column's name: "ardoc label", "source dataset"
        for n in range(min(4, len(toks) - i), 1, -1):
            ws = [singular(toks[i + k].low) for k in range(n)]
            inside = {col.name: col for parts, col in names
                      if any([singular(p) for p in parts[s:s + n]] == ws for s in range(len(parts) - n + 1))}
            if len(inside) == 1 and not any(x.quoted for x in toks[i:i + n]):
                c = next(iter(inside.values()))
                found.setdefault((n, c.name), c)
                break
        # a typo of a column's name ('ratng', 'app categry'): one clear winner, a weaker span; not a row noun's
        if not any(k[0] == 2 for k in found):
            for n in (2, 1):
                if i + n > len(toks) or any(x.quoted for x in toks[i:i + n]) or (n == 1 and found):
                    continue
                key = "".join(x.low for x in toks[i:i + n])
                if len(key) < 5 or not key.isalpha() or (n == 1 and (lx.ignorable(key) or key in lx.common or
                                                                     _near_row_noun(key))):
                    continue
                keys = joined[n]
                if key in keys or value_index(view).lookup(q.words(i, i + n), q.words(i, i + n)):
                    continue        # a value's words ('by authora': the author 'Canary AuthorA') are no typo
                near = difflib.get_close_matches(key, sorted(keys), n=2, cutoff=0.85)
                if len(near) == 1 or (len(near) == 2 and keys[near[0]] is keys[near[1]]):
                    out.append(Span(i, i + n, "column", keys[near[0]], 0.8, q.words(i, i + n)))
                    break
        if not found and len(t.low) >= 4 and not lx.ignorable(t.low) and t.low not in lx.common \
                and singular(t.low) not in lx.row_nouns and singular(t.low) != singular(view.name.lower()):
            inside = {col.name: col for parts, col in names if len(parts) > 1 and t.low in parts}
            if len(inside) == 1:
                c = next(iter(inside.values()))
                out.append(Span(i, i + 1, "column", c, 0.9, t.text))    # weaker than a whole name
        for (n, _), col in found.items():
            out.append(Span(i, i + n, "column", col, 1.0 + 0.1 * n, q.words(i, i + n)))
    return out


# ---- values ------------------------------------------------------------------------------------------------------
def no_values(q: Question, view) -> list[Span]:
    """'sentences with no aspect': the value a column stores for 'none' ('none', 'n/a', '?'), when the column has
    exactly one such value; 'sentences that have a polarity': any other value."""
    out, toks = [], q.toks
    for i in range(len(toks) - 1):
        # 'no aspect': that value; 'that have a polarity', 'with an aspect': any other (the 'non' of it)
        has = toks[i].low in ("a", "an", "any") and i > 0 and toks[i - 1].low in ("have", "has", "having", "had",
                                                                                  "with")
        if not (toks[i].low == "no" or has) or toks[i + 1].quoted:
            continue
        word = singular(toks[i + 1].low)
        for c in view.columns:
            if c.kind not in ("category", "label") or singular(c.name.lower()) != word:
                continue
            empty = [(v, n) for v, n in c.values if v is not None and str(v).strip().lower() in PLACEHOLDERS]
            if len(empty) == 1:
                hit = ValueHit(column=c.name, value=empty[0][0], count=int(empty[0][1]), tier=2)
                out.append(Span(i, i + 2, "value", ("non" if has else "", [hit]), 3.0, q.words(i, i + 2)))
    return out


def values(q: Question, view, lexical: set[int] = frozenset()) -> list[Span]:
    """Value phrases (1-5 words): exact, separator-insensitive, plural/synonym, plain-word alias, unique prefix,
    a value inside a list column. The payload is the list of hits of the best tier (the grammar picks the column)."""
    lx = lexicon()
    index = value_index(view)
    toks, out = q.toks, []
    for n in (5, 4, 3, 2, 1):
        for i in range(len(toks) - n + 1):
            span = toks[i:i + n]
            if n > 1 and (any(t.quoted for t in span) or lx.ignorable(span[0].low) and span[0].low not in
                          ("new",) or lx.ignorable(span[-1].low)):
                continue
            if n == 1 and lx.ignorable(span[0].low) and not span[0].quoted and span[0].low not in lx.common:
                continue
            phrase = " ".join(t.low for t in span)
            original = " ".join(t.text for t in span)
            lex = any(k in lexical for k in range(i, i + n))     # a lexicon word never starts a looser match
            loose = not (n == 1 and singular(span[0].low) in lx.row_nouns) and not lex
            labelled = _after_label_verb(q.lows, i)
            hits = index.lookup(phrase, original, loose=loose, common_ok=labelled,
                                typo=n <= 3 and not any(k in lexical or singular(q.toks[k].low) in lx.row_nouns
                                                        or lx.ignorable(q.toks[k].low) for k in range(i, i + n)))
            if not hits and n == 1 and phrase.startswith("non-") and len(phrase) > 5:   # "non-game"
                sub = index.lookup(phrase[4:], original[4:], loose=loose)
                if sub:
                    out.append(Span(i, i + n, "value", ("non", sub), 1.0 + n - 0.1 * sub[0].tier, original))
                continue
            if span[0].quoted and hits and hits[0].tier > (3 if labelled else 1):
                hits = []       # a quote is literal text, unless a label verb says it is a label: judged "not ok"
            elif span[0].quoted and hits and hits[0].tier > 1:
                hits = [replace(h, tier=1) for h in hits]      # ... and then the label, not a text search
            if hits:
                out.append(Span(i, i + n, "value", ("", hits), 1.0 + n - 0.1 * hits[0].tier, original))
    return out


LABEL_VERBS = {"labelled", "labeled", "tagged", "classified", "marked", "categorized", "categorised", "flagged",
               "judged", "rated", "graded", "assessed"}


def _after_label_verb(lows: list[str], i: int) -> bool:
    k = i - 1
    while k >= 0 and lows[k] in ("as", "the", "a", "an"):
        k -= 1
    return k >= 0 and lows[k] in LABEL_VERBS


def recognise(question: str, view) -> Question:
    """Every span every recogniser finds in `question` over `view`."""
    text = normalise(question)
    q = Question(text=text, toks=tokenize(text))
    cols = columns(q, view)
    text_col = view.text_column or "text"
    lx = lexicon()
    for s in cols:   # "strengths mention X": a named free-text column, else the source's text
        if s.data.kind == "text" and s.data.name != text_col and singular(s.words.lower()) not in lx.row_nouns \
                and not any(t.quoted for t in q.toks[s.i:s.j]):
            text_col = s.data.name
            break
    lexical = words(q)
    covered = {k for s in lexical for k in range(s.i, s.j)}
    q.spans = (lexical + quotes(q, text_col) + mentions(q, text_col) + numbers(q, view) + dates(q, view)
               + cols + column_numbers(q, cols) + comparisons(q, cols) + values(q, view, covered) + no_values(q, view))
    return q


__all__ = ["KINDS", "Question", "Span", "Tok", "column_names", "normalise", "numeric_columns", "recognise",
           "tokenize"]
