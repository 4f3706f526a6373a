"""Question -> query plan, against the schema card, for the built-in (no-LLM) engine.

Design decision: every token of the question must be accounted for: a question word, a measure, a grouping, a
number or date phrase, a column name, or a value from the card's vocabularies (exact, separator-insensitive,
plural, synonym, then a MiniLM near-miss). A content word left over means the engine did not understand the
question, and it declines rather than answer a different question: a wrong answer is worse than none.
"""
from __future__ import annotations

import re

from earful.qa_agent.builtin import timeparse
from earful.qa_agent.builtin.phrases import (
    ABOUT,
    AVG,
    BASE_PREPS,
    DISTINCT,
    EXAMPLES,
    FILLER,
    GRAINS,
    GROUP_TRIGGERS,
    LLM_ONLY,
    MAXW,
    MINW,
    PEOPLE,
    ROW_NOUNS,
    SHARE,
    SPLIT_VERBS,
    SUMW,
    TIME_PREPS,
    WHICH,
    ColumnNames,
    Parsed,
    _num,
    after_label_verb,
    choose_view,
    mark,
    negating_tokens,
    normalise,
    numeric_filters,
    text_filters,
    tokenize,
    view_nouns,
    which_before,
)
from earful.qa_agent.builtin.plan import TEXT_OPS, Filter, Plan
from earful.qa_agent.builtin.vocab import NUMBER_WORDS, embedding_match, resolve, singular, value_index


def parse(question: str, card, partial: bool = False) -> Parsed:
    res = Parsed()
    q = normalise(question)
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
    numeric_filters(q, toks, cols, numeric, problems)
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
    group = None
    for i, t in enumerate(toks):
        if t.used:
            continue
        if t.low in GRAINS and view.time_column and GRAINS[t.low] and (
                t.low.endswith("ly") or (i > 0 and lows[i - 1] in GROUP_TRIGGERS | WHICH | {"the", "a"})):
            group = GRAINS[t.low]
            t.used = "group"
            if i > 0 and lows[i - 1] in GROUP_TRIGGERS:
                toks[i - 1].used = "group"
            break
        if t.low == "over" and i + 1 < len(toks) and lows[i + 1] == "time" and view.time_column:
            group = "@month"
            t.used = toks[i + 1].used = "group"
            break
    if group is None:
        for (i, n, col) in mentions:
            before = [lows[k] for k in range(max(0, i - 7), i) if toks[k].used != "noun"]
            trig = None
            if i > 0 and lows[i - 1] in GROUP_TRIGGERS:
                trig = i - 1
            elif i > 1 and lows[i - 2] in ("for", "each", "by") and lows[i - 1] in ("each", "every", "the"):
                trig = i - 2
            elif which_before(before) and not (col.kind == "numeric" and not {"which", "common", "frequent",
                                                                               "popular"} & set(before[-2:])):
                trig = i
            elif i > 1 and lows[i - 2] in WHICH and not toks[i - 1].used \
                    and _family(value_index(view), toks[i - 1], col):
                trig = i        # 'which reka model': a breakdown of the models the word starts
            elif i > 0 and (lows[i - 1] in ("top", "bottom") or (i > 1 and lows[i - 2] in ("top", "bottom")
                                                                 and re.fullmatch(r"\d+", lows[i - 1]))):
                trig = i
            if trig is None or col.kind in ("text", "id"):
                continue
            if col.kind == "time":
                group = "@month"
            else:
                group = col.name
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
            if prev in ("top", "bottom", "first", "last") or nxt in MAXW | MINW or prev in EXAMPLES | WHICH \
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
    elif (wset & EXAMPLES) or (lows[0] in WHICH and not group and len(toks) > 1 and toks[1].used == "noun"
                               and not wset & (MAXW | MINW)):   # 'which forum has the most ...' asks for no quotes
        measure = "examples"
        use(lambda w: w in EXAMPLES)
    if measure in ("avg", "median") and not numeric_mentions and (
            {"number", "count", "amount"} & wset or ("how" in wset and "many" in wset)):
        res.reason = "an average of a count (rows per group) is not a column this engine can average"
        return res     # 'average number of reviews per app' is no average rating
    if measure and mcol is None and measure in ("avg", "sum", "min", "max", "median"):
        res.reason = f"no numeric column to take the {measure} of"
        return res
    if measure:
        plan.measure, plan.column = measure, (mcol.name if mcol is not None else None)
        res.has_measure = True
        res.fields.add("measure")
        if mcol is not None and any(c.name == mcol.name for _, c in numeric_mentions):
            res.fields.add("column")
        for i, n, c in mentions:
            if mcol is not None and c.name == mcol.name:
                for k in range(i, i + n):
                    toks[k].used = toks[k].used or "measure"

    # order
    for i, t in enumerate(toks):
        if t.low in MAXW | MINW and t.used in ("", "measure") and not (t.low in ("more", "less", "fewer")
                                                                          and plan.measure == "count" and not group):
            if group or plan.measure == "examples" or partial:
                plan.order = "desc" if t.low in MAXW else "asc"
                if t.low in ("best", "worst") and plan.measure == "count" and group and cols.star_col:
                    plan.measure, plan.column = "avg", measured_col(i).name
                t.used = t.used or "order"
                res.fields.add("order")
    rated = [t for t in toks if t.low in ("rated", "scoring", "scored") and not t.used]
    if rated and group and plan.measure == "count" and plan.order and cols.star_col:
        col = cols.score_col if rated[0].low.startswith("scor") else cols.star_col
        plan.measure, plan.column = "avg", col.name      # "the highest-rated app": its average rating
        rated[0].used = "measure"
    if "common" in lows or "frequent" in lows or "popular" in lows:
        if plan.measure not in ("count", "share"):   # 'the average rating of the most common category'
            res.reason = f"'most/least common' picks a group by its number of {plan.noun}; the " \
                         f"{ {'avg': 'average'}.get(plan.measure, plan.measure)} of that group is a question " \
                         "inside a question"
            return res
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
    for i in range(n_tok - 2):   # "other than X": the two words negate the value after them, never name one
        if lows[i] == "other" and lows[i + 1] == "than" and not any(t.used for t in toks[i:i + 3]):
            toks[i].used = toks[i + 1].used = "negation"
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
            hits = index.lookup(phrase, original, loose=loose, common_ok=n == 1 and after_label_verb(lows, i))
            non = False
            if not hits and n == 1 and phrase.startswith("non-") and len(phrase) > 5:   # "non-game" (a value
                hits = index.lookup(phrase[4:], original[4:], loose=loose)            # "non-informative" wins)
                non = bool(hits)
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
            family = nxt is not None and (not nxt.used or nxt.used == "group" and plan.group == chosen[0].column) \
                and cols.at(toks, i + n) is not None and cols.at(toks, i + n)[1].name == chosen[0].column
            if len(vals) > 1 and chosen[0].tier >= 3 and family:   # "reka models", "Samsung devices"
                nxt.used = nxt.used or "value"
                from earful.qa_agent.builtin.vocab import _whole_word, _word_prefix
                vals = sorted({e[1] for e in index.entries if e[0] == chosen[0].column and (
                    _word_prefix(phrase, str(e[1]).lower()) or _whole_word(phrase, str(e[1])))}, key=str)
            elif len(vals) > 1 and chosen[0].tier >= 3:
                res.unmapped.append(f"'{original}' could mean any of {', '.join(map(repr, vals[:6]))}")
                for t in span:
                    t.used = "ambiguous"
                continue
            negator = [] if non else negating_tokens(toks, i)
            neg = non or bool(negator)
            for k in negator:
                toks[k].used = "value"
            op = ("!=" if len(vals) == 1 else "not in") if neg else ("=" if len(vals) == 1 else "in")
            f = Filter(chosen[0].column, op, vals[0] if len(vals) == 1 else vals, original)
            values.append((i, f))
            value_end[i + n - 1] = f
            res.understood.append(f"'{original}' -> {f.describe()}")
            for t in span:
                t.used = "value"
    for t in toks:   # an 'other than' that negated no value is a word nobody understood
        if t.used == "negation":
            t.used = ""
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
        if (plan.group or "").startswith("@") and t.low in ("changed", "change", "evolved", "evolve", "trend",
                                                             "trends", "developed", "develop", "grown", "grow"):
            continue
        if t.low in ("first", "last") and i and toks[i - 1].used == "order":
            continue     # 'lowest first'
        if t.low in ("star", "stars") and i and lows[i - 1] in MAXW | MINW:
            left.append((i, t))     # 'the most stars': the highest average, or the most 5-star reviews?
            continue
        if t.low in FILLER or t.low in WHICH \
                or t.low in ("percent", "%", "instead", "rather", "and", "now", "what", "about", "how", "mentions",
                             "report", "reports", "there", "appear", "appears", "receive", "receives", "receiving",
                             "earn", "earns", "earned", "gets", "gives", "gave", "give", "write", "writes", "wrote",
                             "labelled", "labeled", "tagged", "classified", "marked", "categorized", "categorised",
                             "users", "user", "people", "customers", "exist", "exists", "written", "posted",
                             "break", "breakdown", "split") \
                or t.low in MAXW | MINW | {"common", "rated", "star", "stars", "time", "often", "scoring", "reviewed"}:
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
            res.loose_words.append(t.text)

    # merge filters; share: split into base and target
    allf = sorted(numeric + texts + values + times, key=lambda x: x[0])
    if allf:
        res.fields.add("filters")
    if plan.measure == "share":
        share_at = next((i for i, t in enumerate(toks) if t.used == "measure"), 0)
        split = next((i for i in range(share_at + 1, n_tok) if lows[i] in SPLIT_VERBS), None)
        base, target = [], []

        def _prep(i):
            if lows[i] in BASE_PREPS | TIME_PREPS:   # a phrase that starts with its own preposition: 'in 2016'
                return "in" if lows[i] in TIME_PREPS else lows[i]
            k = i - 1
            while k >= 0 and lows[k] in ("the", "a", "all"):
                k -= 1
            return lows[k] if k >= 0 else ""
        explicit_base = any(_prep(i) in BASE_PREPS - {"of"} for i, _ in allf)
        noun_at = next((i for i in range(share_at + 1, n_tok) if toks[i].used == "noun"), None)
        for i, f in allf:
            prep = _prep(i)
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
        if f.op in TEXT_OPS or f.op.startswith("time") or f.column in (cols.star_col.name if cols.star_col else "",):
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
    topic_col = view.column("topic")
    if not res.has_measure and not plan.group and topic_col is not None and (topic_col.non_null or 0) > 0 \
            and TOPIC_RANKING & set(lows):
        # "what are the top complaints about battery?": with topics fitted, the most common topics of those rows
        plan.measure, plan.group, plan.order = "count", "topic", "desc"
        plan.limit = plan.limit or 10
        res.has_measure = True
        res.understood.append("the most common topics of those " + noun)
    if not plan.measure and not partial:
        res.reason = "no measure (how many, what share, average ...) or breakdown in the question"
        return res
    res.plan = plan
    return res


TOPIC_RANKING = {"top", "main", "biggest", "major", "most", "common", "frequent", "key"}


def _family(index, tok, col) -> bool:
    """'reka' before 'model': a word that starts several values of that column (and names nothing exactly)."""
    hits = [h for h in index.lookup(tok.low, tok.text) if h.column == col.name]
    return len(hits) > 1 and hits[0].tier >= 3


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
