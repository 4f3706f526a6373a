"""Phrase-level readers for the built-in engine: tokens, word lists, column names, stars/scores, text mentions.

Design decision: each reader marks the tokens it accounts for (``Tok.used``), so that `parse` can tell, at the end,
which words of the question nobody understood, and decline instead of guessing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from earful.qa_agent.builtin.plan import Filter, Plan
from earful.qa_agent.builtin.vocab import NUMBER_WORDS, singular, value_index

DOUBLE_QUOTED = r'"[^"]+"|“[^”]+”'
SINGLE_QUOTED = r"(?<!\w)'(?:[^']|(?<=\w)'(?=\w))+'(?!\w)"   # 'I'm sorry': an apostrophe inside a word is kept
TOKEN = re.compile(DOUBLE_QUOTED + "|" + SINGLE_QUOTED + r"|[A-Za-z0-9][A-Za-z0-9._/+\-]*[A-Za-z0-9+]|[A-Za-z0-9]|%")
FILLER = set("""
a an the of in on at to for from with by is are was were be been being do does did have has had there their
them they it its this that these those what which who whom whose how many much number count amount total
please show me tell give list find get got i we you our your my can could would will shall may might
and or as among amongst within across per each every all any than then so such also just only overall
come comes came coming belong belongs belonging written posted left made make given receive received get
about into over under up down out off via between value values figure figures
rows row items item records record entries entry feedback data dataset
whole entire altogether same kind type types kinds sort either but
""".split())
ROW_NOUNS = {"review", "critique", "sentence", "post", "comment", "item", "row", "record", "entry", "message",
             "feedback", "response", "answer", "evaluation", "judgement", "judgment", "line", "text"}
LLM_ONLY = {"why", "explain", "summarize", "summarise", "summary", "suggest", "recommend", "should", "describe",
            "improve", "feel", "think", "opinion", "opinions", "theme", "themes", "predict", "forecast", "cause"}
SHARE = {"share", "percentage", "percent", "proportion", "fraction", "%", "ratio", "rate"}
AVG = {"average", "mean", "avg"}
MAXW = {"highest", "maximum", "max", "largest", "biggest", "greatest", "best", "most", "top", "more", "higher"}
MINW = {"lowest", "minimum", "min", "smallest", "worst", "least", "fewest", "bottom", "less", "fewer", "lower"}
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
TIME_PREPS = {"since", "before", "after", "during", "until", "till", "between"}  # a date range said so scopes a share


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
    loose_words: list[str] = field(default_factory=list)   # unmapped plain words (a follow-up may read them as text)
    reason: str = ""
    has_measure: bool = False
    fields: set = field(default_factory=set)      # which parts the question stated (for follow-ups)


def _split_quoted(text: str, pattern: str, plain) -> str:
    """`plain` applied to the parts of `text` outside the `pattern` matches; the matches kept verbatim."""
    out, pos = [], 0
    for m in re.finditer(pattern, text):
        out += [plain(text[pos:m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out + [plain(text[pos:])])


def _plain(part: str) -> str:
    part = part.replace("’", "'")
    part = re.sub(r"(?i)\b(\w+)n't\b", r"\1 not", part)
    part = re.sub(r"(?i)\b(highest|lowest|best|worst|top|most|least|poorly|better|worse)-"
                  r"(?=(rated|scor|review|common))", r"\1 ", part)
    part = re.sub(r"(?i)(?<=\w)'(s|re|ve|ll|d|m)\b", "", part)
    return re.sub(r"(?i)\b(\d+(?:\.\d+)?)\+(\s*-?\s*stars?\b)?", r"\1\2 or more", part)  # '3+ stars', 'a score of 8+'


def normalise(question: str) -> str:
    """Spell the question's own words plainly ("don't" -> "do not", "3+ stars" -> "3 or more stars", "what's" ->
    "what"), leaving quoted phrases exactly as typed: a quoted phrase is literal text to match ("I'm sorry", "3+")."""
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
# the comparison between the number and 'stars': '4 or more stars', '2 or fewer stars', '3 and above stars'
STAR_POST_RE = re.compile(
    r"\b(\d+(?:\.\d+)?|one|two|three|four|five)\s+(or (?:more|higher|above|better|greater)|and (?:above|up|higher|"
    r"more|over)|or (?:less|fewer|lower|below|worse)|and (?:below|under|lower|less))[\s-]+stars?\b", re.I)
# two numbers of a rating or score: 'rated 1 or 2', '4-5 stars', 'a score between 4 and 6', '2 to 4 stars'
RANGE_RE = re.compile(
    r"\b(?:(rated|ratings?|scores?|scored|scoring|grades?|stars?)\s+(?:of\s+|is\s+|was\s+)?)?(between\s+)?"
    r"(\d+(?:\.\d+)?)\s*(or|and|to|through|-)\s*(\d+(?:\.\d+)?)\b(?:(?:\s*-\s*|\s+)(stars?|points?)\b)?", re.I)
OPS = {"greater than or equal to": ">=", "more than or equal to": ">=", "higher than or equal to": ">=",
       "less than or equal to": "<=", "lower than or equal to": "<=", "equal to": "=", "at least": ">=",
       "no less than": ">=", "at most": "<=", "no more than": "<=", "more than": ">",
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


def _range(m, cols: ColumnNames):
    """RANGE_RE's match -> (column, [(op, value), ...]) or None when it names no rating/score."""
    word, between, a, conj, b, unit = m.groups()
    if not (word or unit) or (between and conj.lower() != "and"):
        return None
    word = (word or unit).lower()
    col = cols.score_col if word.startswith(("scor", "grade", "point")) else cols.star_col
    lo, hi = sorted((_num(a), _num(b)))
    if between or conj.lower() in ("to", "through", "-"):
        return col, [(">=", lo), ("<=", hi)]
    return col, [("in", [lo, hi])]


def numeric_filters(q: str, toks, cols: ColumnNames, found: list, problems: list):
    for m in RANGE_RE.finditer(q):
        hit = _range(m, cols)
        if hit is None or any(t.used for t in toks if t.start >= m.start() and t.end <= m.end()):
            continue
        col, conds = hit
        vals = [v for _, c in conds for v in (c if isinstance(c, list) else [c])]
        if col is None or (col.min is not None and not all(float(col.min) <= v <= float(col.max) for v in vals)):
            problems.append(m.group(0).strip() + (f" ({col.name} ranges {col.min}..{col.max})" if col else ""))
            mark(toks, m.start(), m.end(), "unmapped")
            continue
        idx = mark(toks, m.start(), m.end(), "number")
        found += [(idx[0] if idx else 0, Filter(col.name, op, v, m.group(0).strip())) for op, v in conds]
    for rx, kind in ((STAR_POST_RE, "star_post"), (STAR_RE, "star"), (NUMCOL_RE, "col")):
        for m in rx.finditer(q):
            if any(t.used for t in toks if t.start >= m.start() and t.end <= m.end() and t.start < m.end()):
                continue
            if kind == "star_post":
                pre, num, post, col = None, m.group(1), m.group(2), cols.star_col
            elif kind == "star":
                plus = "+" if m.group(0).rstrip().endswith("+") else None
                pre, num, post = m.group(1), m.group(2), m.group(3) or plus
                col = cols.star_col
            else:
                word, pre, num, post = m.group(1).lower(), m.group(2), m.group(3), m.group(4)
                col = cols.score_col if word.startswith(("scor", "grade")) else cols.star_col
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
           "say", "says", "saying", "said", "include", "includes", "including", "word", "words", "term", "phrase",
           "talk", "talks", "talking", "discuss", "discusses", "discussing"}
ABOUT = {"about", "regarding"}


TEXT_NEGATORS = {"not", "never"}   # "don't mention X" (tokenised as "do not"), "never mention X"


def text_filters(toks, text_col: str, found: list):
    i = 0
    while i < len(toks):
        t = toks[i]
        quoted_next = i + 1 < len(toks) and toks[i + 1].quoted
        without = t.low == "without" and (quoted_next or i + 1 < len(toks) and toks[i + 1].low in (
            "the", "word", "words", "term", "phrase"))                      # "reviews without the word 'ads'"
        trig = t.low in MENTION or (t.low in ABOUT and quoted_next) or without
        if not trig or t.used:
            i += 1
            continue
        negated = [i] if without else ([i - 1] if i > 0 and toks[i - 1].low in TEXT_NEGATORS
                                       and not toks[i - 1].used else [])
        j = i + 1
        while j < len(toks) and toks[j].low in ("the", "word", "words", "term", "phrase", "of", "a", "an", "about",
                                                "both", "either") and not toks[j].quoted:   # 'both A and B'
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
        for n in range(i + 1, j):
            toks[n].used = "text"
        if negated and conj == "and" and len(terms) > 1:
            i = k      # "don't mention A and B": neither, or not both? left unmapped, so the question declines
            continue
        for n in idx + negated:
            toks[n].used = "text"
        op = "not contains" if negated else "contains"
        if conj == "and" and len(terms) > 1:
            for term in terms:
                found.append((i, Filter(text_col, op, [term], f"mention {term!r}")))
        else:
            found.append((i, Filter(text_col, op, terms, " or ".join(map(repr, terms)))))
        i = k


def which_before(before: list[str]) -> bool:
    """'which app', 'which of the apps', 'the most common label': a which-word right before, bar articles."""
    k = len(before)
    while k > 0 and (before[k - 1] in ("the", "a", "of", "one", "kind", "type", "is", "was", "are", "highest", "lowest",
                                       "best", "worst", "top", "most", "least", "rated", "scoring", "scored",
                                       "reviewed") or re.fullmatch(r"\d+", before[k - 1])):    # 'which 3 apps'
        k -= 1
    return k > 0 and before[k - 1] in WHICH | {"common", "frequent", "popular"}


LABEL_VERBS = {"labelled", "labeled", "tagged", "classified", "marked", "categorized", "categorised"}
NEGATORS = {"not", "non", "except", "excluding"}


def after_label_verb(lows: list[str], i: int) -> bool:
    """'labelled (as) other': a value is named even by a word too common to name one on its own."""
    k = i - 1
    while k >= 0 and lows[k] in ("as", "the", "a", "an"):
        k -= 1
    return k >= 0 and lows[k] in LABEL_VERBS


def negating_tokens(toks, i: int) -> list[int]:
    """The tokens that negate the value starting at i: 'not (labelled as) X', 'except X', 'other than X'."""
    k = i - 1
    skip = {"the", "a", "an", "as", "for", "from", "in", "by"} | LABEL_VERBS
    while k >= 0 and not toks[k].used and toks[k].low in skip:
        k -= 1
    if k >= 0 and toks[k].low in NEGATORS and not toks[k].used:
        return [k]
    if k > 0 and toks[k].low == "than" and toks[k].used == "negation":
        return [k - 1, k]
    return []
