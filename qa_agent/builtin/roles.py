"""The grammar's role rules: small readers the grammar applies to a cover (breakdown words, negation, the share's
part and whole, merging values, the accounting of every word) and how a predicate is said in words.

Design decision: each rule reads the reader's tokens and spans and marks what it used; none writes SQL or looks at
data, so each can be tested through the corpus (tests/builtin/corpus) with an in-memory schema card.
"""
from __future__ import annotations

from earful.qa_agent.builtin.ir import Cmp, Eq, In, ListHas, ListLen, Not, TextMatch
from earful.qa_agent.builtin.vocab import LABEL_HEADS, column_signature, singular

# R below is grammar._Reader (the tokens, spans and marks of one cover being read); s is a recognise.Span

SPLIT_VERBS = {"are", "is", "were", "was", "have", "has", "had", "get", "got", "give", "gave", "that", "which",
               "mention", "mentions", "contain", "contains", "say", "says", "rated", "come", "comes"}
BASE_PREPS = {"among", "amongst", "in", "within", "for", "from", "of"}
TIME_PREPS = {"since", "before", "after", "during", "until", "till", "between"}
NEG_SKIP = {"the", "a", "an", "as", "for", "from", "in", "by", "any", "to", "are", "is", "be", "those", "of", "ones",
            "about", "regarding", "concerning",
            "that", "which", "who", "labelled", "labeled",
            "tagged", "classified", "marked", "categorized", "categorised", "flagged", "written", "posted"}

BEFORE_GROUP = {"the", "a", "an", "each", "every", "of", "one", "kind", "type", "is", "was", "are", "different",
                "distinct", "highest", "lowest", "best", "worst", "top", "most", "least", "rated", "scoring", "scored",
                "reviewed", "bottom", "first", "more", "fewer", "less", "common", "frequent", "popular", "frequently",
                "often", "cited", "used", "mentioned"}


def _trigger_before(R, s) -> int | None:
    """The breakdown word before a column mention ('per app', 'which 3 apps', 'the most common label', 'which
    reka model'), skipping articles, counts, superlatives, row nouns and a family word of the same column."""
    k, counted = s.i - 1, False
    while k >= 0:
        if _trigger(R, k) or (counted and R.lows[k] in RANK_VERBS):   # 'list the five apps with the most reviews'
            return k
        counted = counted or R.lows[k].isdigit() or R.lows[k] in R.lx.numbers
        fam = any(v.kind == "value" and v.i <= k < v.j and any(h.column == s.data.name for h in v.data[1])
                  for v in R.cover)
        if not (R.lows[k] in BEFORE_GROUP or R.lows[k].isdigit() or R.lows[k] in R.lx.numbers
                or R.used[k] == "noun" or fam):
            return None
        k -= 1
    return None


RANK_VERBS = {"rank", "list", "name", "show", "give"}   # before a count and a column: a top-N of it
JOIN_WORDS = {"and", "or", "nor", "plus", "both", "either", "the", "a", "an", "as", "well", "&", "/", "in", "of"}
COMPARATIVE = {"more", "less", "fewer", "higher", "lower", "better", "worse", "beat", "beats", "exceed", "exceeds",
               "outperform", "outperforms", "outscore", "outscores", "larger", "smaller", "bigger", "greater"}


def _prefer_list(hits, amb):
    """A value held by one list column and by plain columns with no more rows (the list's parts, 'class1'...):
    the list column, which holds every row with that value. Several list columns that hold it as often (a label
    of both levels of a taxonomy: 'ERROR' low and high) are equivalent, as `vocab.resolve` takes equal columns: the
    first by name."""
    lists = sorted({h.column for h in hits if h.list_fmt}, key=lambda c: (len(c), c))
    if not lists:
        return [], amb
    if len({column_signature([h for h in hits if h.column == c]) for c in lists}) != 1:
        return [], amb
    lcol = lists[0]
    top = max(h.count for h in hits if h.column == lcol)
    if all(h.count <= top for h in hits if h.column not in lists):
        return [h for h in hits if h.column == lcol], None
    return [], amb


def label_of(p) -> str:
    return str(p.value) if isinstance(p, Eq) else " / ".join(map(str, getattr(p, "values", ())))


def _about(R, s) -> bool:
    return any(a.kind == "about" and a.j in (s.i, s.i - 1) for a in R.words)


def k_before(lows, k: int) -> bool:
    """'the most common app' after a figure ('the highest rating of ...'): a superlative, then 'common'."""
    return k > 0 and lows[k - 1] in ("most", "least")


def _trigger(R, k: int) -> bool:
    """A word that makes a breakdown of the column after it: per/by/each, which/what, most common, top."""
    w = R.lows[k]
    if w in R.lx.which or w in ("common", "frequent", "popular", "top", "bottom", "frequently"):
        return True
    return any(s.i <= k < s.j for s in R.words if s.kind == "group")


def _negated(R, i: int, words=None, col: str | None = None) -> bool:
    """A negation right before position i (bar articles and label verbs): 'not (labelled as) X', 'other than X';
    past the rows and the value's own column: 'ignoring reviews where the device is unknown'."""
    own = {singular(w) for w in col.lower().split("_")} if col else set()
    k = i - 1
    while k >= 0:
        for s in R.words:
            if s.kind == "negation" and s.j == k + 1 and (words is None or s.words.lower() in words):
                R.mark(s, "negation")
                return True
        if own and (R.used[k] == "noun" or singular(R.lows[k]) in own or R.lows[k] in ("with", "where", "have",
                                                                                      "has", "having")):
            k -= 1
            continue
        if not ((R.lows[k] in NEG_SKIP or R.lows[k] in R.lx.neutral or R.lows[k] in ("do", "does", "did"))
                and not R.used[k]):
            return False
        k -= 1
    return False


def _share_split(R, preds, share_at: int):
    lows, n = R.lows, R.n
    if not preds:
        return "what the percentage is of (no condition to count)"
    split = next((i for i in range(share_at + 1, n) if lows[i] in SPLIT_VERBS), None)
    noun_at = next((i for i in range(share_at + 1, n) if R.used[i] == "noun"), None)

    def prep(i):
        if lows[i] in BASE_PREPS | TIME_PREPS:
            return "in" if lows[i] in TIME_PREPS else lows[i]
        k = i - 1
        while k >= 0 and lows[k] in ("the", "a", "all"):
            k -= 1
        return lows[k] if k >= 0 else ""
    explicit = any(prep(i) in BASE_PREPS - {"of"} for i, _ in preds)
    base, target = [], []
    for i, p in preds:
        pr = prep(i)
        if split is not None:
            is_target = (i >= split or R.ends.get(id(p), i) > split) and not (
                pr in ("among", "amongst", "within") and not isinstance(p, TextMatch))
        elif explicit:
            is_target = pr not in BASE_PREPS - {"of"}
        else:
            is_target = noun_at is None or i > noun_at
        (target if is_target else base).append(p)
    if not target and len(base) == 1:
        target, base = base, []
    elif not target:
        return "which of the conditions the percentage is of"
    return base, tuple(_merge(target))


def _merge(preds: list, keep: set = frozenset()) -> list:
    """Several values named for one column mean any of them ('bug reports and feature requests'), except in the
    columns of `keep` ('both UI and BATTERY': each its own condition)."""
    out: list = []
    for p in preds:
        if getattr(p, "column", None) in keep:
            out.append(p)
            continue
        if isinstance(p, Cmp) and p.op == "=" and sum(isinstance(x, (Cmp, Eq, In)) and getattr(x, "op", "=") == "="
                                                      and x.column == p.column for x in preds) > 1:
            p = Eq(p.column, p.value)      # '5-star and 1-star reviews': either rating (both is none)
        if isinstance(p, (Eq, In)):
            prev = next((x for x in out if isinstance(x, (Eq, In)) and x.column == p.column), None)
            if prev is not None:
                vals = (prev.values if isinstance(prev, In) else (prev.value,)) + \
                    (p.values if isinstance(p, In) else (p.value,))
                out[out.index(prev)] = In(p.column, tuple(sorted(set(vals), key=str)))
                continue
        if isinstance(p, Not) and isinstance(p.pred, (Eq, In)):
            prev = next((x for x in out if isinstance(x, Not) and isinstance(x.pred, (Eq, In))
                         and x.pred.column == p.pred.column), None)
            if prev is not None:       # not A and not B: none of them
                vals = tuple(prev.pred.values if isinstance(prev.pred, In) else (prev.pred.value,)) + \
                    tuple(p.pred.values if isinstance(p.pred, In) else (p.pred.value,))
                out[out.index(prev)] = Not(In(p.pred.column, tuple(sorted(set(vals), key=str))))
                continue
        if isinstance(p, ListHas):
            prev = next((x for x in out if isinstance(x, ListHas) and x.column == p.column), None)
            if prev is not None:
                out[out.index(prev)] = ListHas(p.column, tuple(sorted(set(prev.values + p.values), key=str)), p.fmt)
                continue
        if p not in out:
            out.append(p)
    return out


def _stage_missing(R) -> str:
    """'top complaints' before labels exist, 'topics' before a topic model: say which command to run."""
    lx, view = R.lx, R.view
    for s in R.words:
        if s.kind != "stage" or R.used[s.i]:
            continue
        spec = lx.stages[s.data]
        if s.data == "topics":
            topic = view.column("topic")
            if topic is None or not topic.non_null:
                return f"'{s.words}' needs topics: run `{spec['command']}` first"
            continue
        if spec["ranking"] & set(R.lows) or R.lows[0] in ("what", "which"):
            return (f"'{s.words}' needs labels that say what each item is about: run `{spec['command']}` "
                    f"(or `earful topics fit`) first")
    return ""


def _pred_col(p):
    return _pred_col(p.pred) if isinstance(p, Not) else p.column


def _names_value(R, k: int) -> bool:
    """The words after position k lead to a value the plan uses: 'label (is|other than|not) OTHER'."""
    j = k + 1
    while j < R.n and R.used[j] != "value" and R.lows[j] in ("other", "than", "not", "is", "of", "as", "the", "but",
                                                              "except", ":"):
        j += 1
    return j < R.n and j > k and R.used[j] == "value"


def _account(R, used_cols: set) -> None:
    """Every word must be accounted for: used by the plan, a known lexicon word, or a function word."""
    lx, r, q = R.lx, R.r, R.q
    value_ends = {s.j: s for s in R.cover if s.kind == "value" and R.used[s.i] == "value"}
    lexical = set()
    for s in R.words:
        if s.kind in ("measure", "order", "group", "grain", "which", "compare", "about", "mention", "negation",
                      "rownoun", "people"):
            lexical |= set(range(s.i, s.j))
    # 'how many complaints?' where no value says what a complaint is: not a count of every item
    stage_words = {k: s for s in R.words if s.kind == "stage" for k in range(s.i, s.j)}
    for s in R.cover:
        if s.kind == "column" and not R.used[s.i] and s.i in value_ends and s.n == 1 \
                and R.lows[s.i] in lx.value_heads:
            R.mark(s, "value")          # 'the UI label': the value, said with a head noun
            continue
        if s.kind == "column" and not R.used[s.i]:
            c = s.data
            inside = any(w in c2.lower().split("_") for c2 in used_cols for w in (s.words.lower(),
                                                                               singular(s.words.lower())))
            k = s.i - 1
            while k >= 0 and R.lows[k] in ("the", "a", "an", "each", "every"):
                k -= 1
            trig = k >= 0 and any(w.kind == "group" and w.i <= k < w.j for w in R.words)
            if not trig and (c.name in used_cols or inside or c.distinct <= 1 or c.kind == "text"
                             or c.kind == "time"):
                R.mark(s, "column")
                continue
            r.unmapped.append(f"'{s.words}' (names {c.name}, but no value or breakdown of it)")
            R.mark(s, "unmapped")
    for k, t in enumerate(q.toks):
        if R.used[k]:
            continue
        if k in value_ends and t.low in lx.value_heads:
            continue              # 'performance complaints': the value, said with a head noun
        if t.low in LABEL_HEADS and _names_value(R, k):
            continue              # 'a label other than OTHER': the head noun, then the value
        if t.low in lx.function or t.low in lx.neutral:
            continue
        if k in lexical and not (t.low.isdigit()):
            if any(s.kind == "negation" and s.i <= k < s.j for s in R.words) and t.low in ("not", "except",
                                                                                          "excluding", "outside"):
                r.unmapped.append(f"'{t.text}' (negates nothing that was understood)")
            continue
        if t.quoted:
            continue
        if k in stage_words and t.low not in ("topic", "topics", "theme", "themes"):
            spec = lx.stages[stage_words[k].data]
            r.unmapped.append(f"'{t.text}' (no column or value says which items are {t.text}: label them with "
                              f"a taxonomy that has it, `{spec['command']}`)")
            continue
        if k in stage_words:
            continue
        # 'the high-level PRICING label' with PRICING read in labels_high: words of that column's own name
        parts = [singular(w) for w in t.low.split("-") if w]
        names = {singular(w) for c in used_cols for w in c.lower().split("_")}
        if any(w in names for w in parts) and all(w in names or w in lx.common for w in parts):
            continue
        r.unmapped.append(f"'{t.text}'")
        r.loose_words.append(t.text)


def _mword(name: str) -> str:
    return {"avg": "average", "stddev": "standard deviation", "min": "minimum", "max": "maximum"}.get(name, name)


def _describe(p) -> str:
    if isinstance(p, Not):
        inner = p.pred
        if isinstance(inner, TextMatch):
            return "the text mentions none of " + ", ".join(map(repr, inner.phrases)) if len(inner.phrases) > 1 \
                else f"the text does not mention {inner.phrases[0]!r}"
        return "not " + _describe(inner)
    if isinstance(p, Eq):
        return f"{p.column} = {p.value!r}"
    if isinstance(p, In):
        return f"{p.column} in ({', '.join(map(repr, p.values))})"
    if isinstance(p, ListHas):
        return f"{p.column} includes " + " or ".join(map(repr, p.values))
    if isinstance(p, ListLen):
        return f"{p.column} holds {p.op} {p.value} values"
    if isinstance(p, TextMatch):
        return "the text mentions " + (" and " if p.mode == "all" else " or ").join(map(repr, p.phrases))
    if hasattr(p, "op"):
        return f"{p.column} {p.op} {p.value}"
    if hasattr(p, "start"):
        if p.start and p.end:
            return f"dated from {p.start} to before {p.end}"
        return f"dated from {p.start} on" if p.start else f"dated before {p.end}"
    return str(p)
