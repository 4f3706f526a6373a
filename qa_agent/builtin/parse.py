"""Question -> typed Plan for the built-in engine: recognise spans, read every cover with the grammar, decide.

Steps: pick the view the question is about; `recognise` the spans; `grammar.readings` gives one Reading per
cover; readings that give a plan are compiled, and when two of them give different SQL the question is
ambiguous: decline naming both. A follow-up ("and for games?", "by year instead") is read as a partial question and
edits the previous turn's plan.

Design decision: confidence is all-or-nothing. A content word nobody accounted for, a phrase with two meanings that
give different answers, or a missing measure is a decline that says what was understood and what was not; a
wrong answer is worse than none. Nothing on this path loads a model, so a decline is as fast as an answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from earful.qa_agent.builtin import grammar
from earful.qa_agent.builtin.ir import Column, Eq, In, ListHas, Not, Plan, TextMatch, TimeGrain, TimeRange, TopN
from earful.qa_agent.builtin.lexicon import lexicon
from earful.qa_agent.builtin.recognise import Question, columns, normalise, recognise, tokenize
from earful.qa_agent.builtin.vocab import singular, value_index


@dataclass
class Parsed:
    plan: Plan | None = None
    understood: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    reason: str = ""
    notes: list[str] = field(default_factory=list)


def choose_view(card, question: str):
    """The view the question is about: the only one, the one named, or the one whose columns/values it names."""
    if len(card.views) == 1:
        return card.views[0], None
    toks = tokenize(normalise(question))
    words = {t.low for t in toks} | {singular(t.low) for t in toks}
    named = [v for v in card.views if v.name.lower() in words or singular(v.name.lower()) in words]
    if len(named) == 1:
        return named[0], None
    lx = lexicon()
    scores = []
    q = Question(text=normalise(question), toks=toks)
    for v in card.views:
        idx = value_index(v)
        col_hits = sum(1 for s in columns(q, v) if s.data.kind not in ("text", "id") and s.score >= 1.0
                       and s.data.name not in ("created_at", "rating", "date") and not lx.ignorable(s.words.lower()))
        val_hits = sum(2 - min(1, h[0].tier) for t in toks if not lx.ignorable(t.low)
                       for h in [idx.lookup(t.low, t.text, loose=False)] if h)
        scores.append((col_hits + val_hits, v))
    scores.sort(key=lambda s: -s[0])
    if scores[0][0] > 0 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
        return scores[0][1], None
    return None, "which source it is about (" + ", ".join(v.name for v in card.views) + ")"


def parse(question: str, card, prev: Plan | None = None, db_path: str | None = None) -> Parsed:
    """`db_path`: where readings that differ in SQL are run to see whether their answers differ too."""
    res = Parsed()
    if not question.strip():
        res.reason = "the question is empty"
        return res
    lx = lexicon()
    interp = next((t.text for t in tokenize(normalise(question)) if not t.quoted and t.low in lx.interpretive), None)
    if interp:      # decided before any recogniser runs: a decline costs a tokenisation
        res.reason = f"'{interp}' asks for interpretation, not a count or a figure"
        return res
    view, why = choose_view(card, question)
    if prev is not None and (view is None or view.name != prev.view):
        pv = card.view(prev.view)
        view = pv if pv is not None and (view is None or _follow_start(question)) else view
    if view is None:
        res.reason = f"could not tell {why}"
        return res
    q = recognise(question, view)
    if not q.toks:
        res.reason = "the question is empty"
        return res
    follow = prev is not None and prev.view == view.name
    reads = grammar.readings(q, view, partial=follow)
    good = [r for r in reads if r.plan is not None and not r.unmapped]
    if follow:
        merged = []
        for r in reads:
            m = _merge_followup(prev, r, q)
            if m is not None:
                merged.append(m)
        if merged and (_follow_start(question) or not any(
                "measure" in r.stated or "group" in r.stated for r in good)):
            good = merged
    if not good:
        best = min(reads, key=lambda r: (len(r.unmapped), bool(r.reason))) if reads else grammar.Reading(
            reason="nothing in the question was understood")
        res.understood, res.unmapped, res.reason = best.understood, best.unmapped, best.reason
        if not res.reason and not res.unmapped:
            res.reason = "no measure (how many, what share, average ...) or breakdown in the question"
        return res
    from earful.qa_agent.builtin.compiler import compile_sql

    distinct: dict[str, grammar.Reading] = {}
    for r in good:
        distinct.setdefault(compile_sql(r.plan), r)
    if len(distinct) > 1:
        a, b = list(distinct.values())[:2]
        if not _same_answer(list(distinct), db_path):
            res.reason = (f"the question has two readings that give different answers: {a.cover or 'one'}; or "
                          f"{b.cover or 'another'}")
            res.understood = a.understood
            return res
        others = " or ".join(r.cover or "another" for r in list(distinct.values())[1:])
        res.plan = a.plan
        res.understood = a.understood + [f"readings with one answer (read {a.cover or 'one way'} or {others}: "
                                         "the same result)"]
        return res
    r = next(iter(distinct.values()))
    res.plan, res.understood = r.plan, r.understood
    return res


SAME_ANSWER_READINGS = 4     # at most this many readings are run to see whether they agree


def _same_answer(sqls: list[str], db_path: str | None) -> bool:
    """Whether every reading's SQL gives the same rows (two date columns holding the same dates, a label in two
    list columns on the same items): then the ambiguity changes nothing and the question is answered, saying so.
    Our own compiled SQL, run read-only in process; any failure, or more than `SAME_ANSWER_READINGS` readings, is
    'not the same' (the caller declines as before)."""
    if not db_path or len(sqls) > SAME_ANSWER_READINGS:
        return False
    from earful.qa_agent.executor import run_sql

    first = None
    for sql in sqls:
        out = run_sql(db_path, sql, in_process=True)
        if not out.ok:
            return False
        rows = [tuple(r) for r in out.rows]
        if first is None:
            first = rows
        elif rows != first:
            return False
    return True


def _follow_start(question: str) -> bool:
    lows = [t.low for t in tokenize(normalise(question))]
    if "instead" in lows or "rather" in lows:
        return True
    return any(tuple(lows[:len(p)]) == p for p in lexicon().followup)


def _slot(p) -> tuple:
    """Which part of a plan a predicate fills: its column, and whether it is a text match, a time range or a value."""
    inner = p.pred if isinstance(p, Not) else p
    kind = "text" if isinstance(inner, TextMatch) else "time" if isinstance(inner, TimeRange) else "value"
    return inner.column, kind


def _merge_followup(prev: Plan, r: grammar.Reading, q) -> grammar.Reading | None:
    """The previous plan edited by what the follow-up states: its filters replace those on the same column."""
    new = r.plan
    if new is None or r.unmapped:
        # 'and crash?': a word or two nobody understood replace the previous text match
        texts = [p for p in prev.where + prev.target if isinstance(p, TextMatch)]
        if texts and r.loose_words and len(r.loose_words) == len(r.unmapped) <= 2 and not r.reason \
                and not r.stated:
            old = texts[0]
            repl = TextMatch(old.column, tuple(r.loose_words))
            plan = prev.replace(where=tuple(repl if p == old else p for p in prev.where),
                                target=tuple(repl if p == old else p for p in prev.target))
            return grammar.Reading(plan=plan, understood=[f"the text mentions {' or '.join(r.loose_words)}"],
                                   cover=r.cover)
        return None
    if r.unmapped or new.view != prev.view:
        return None
    plan = prev
    if "measure" in r.stated:
        m = new.measure
        if m.name in ("avg", "median", "stddev", "min", "max", "sum") and prev.measure.column and \
                prev.measure.name in ("avg", "median", "stddev", "min", "max", "sum") and not any(
                    s.kind == "column" and s.data.name == m.column for s in q.spans):
            m = m.__class__(m.name, prev.measure.column)
        plan = plan.replace(measure=m, target=new.target if m.name == "share" else (), compare=None)
    if "group" in r.stated:
        plan = plan.replace(group=new.group, top=new.top if "top" in r.stated else (
            None if isinstance(new.group, TimeGrain) else plan.top), having=None)
    elif "top" in r.stated and plan.group is not None:
        top = new.top if new.top is not None else TopN(plan.top.n if plan.top else None, r.order or "desc")
        plan = plan.replace(top=top)
    if plan.group is None and plan.top is not None:
        plan = plan.replace(top=None)
    incoming = list(new.where) + (list(new.target) if new.measure.name == "share" and "measure" not in r.stated
                                  else [])
    if "measure" not in r.stated and prev.measure.name != "share" and new.measure.name == "share":
        incoming += list(new.target)
    where, target = list(plan.where), list(plan.target)
    for p in incoming:
        where = [x for x in where if _slot(x) != _slot(p)]
        target = [x for x in target if _slot(x) != _slot(p)]
    if prev.measure.name == "share" and "measure" not in r.stated:
        # 'what about 5-star?' after a share: the new condition replaces the one on its column, where it was
        tslots = {_slot(x) for x in prev.target}
        for p in incoming:
            (target if _slot(p) in tslots else where).append(p)
    else:
        where += incoming
    if isinstance(plan.group, Column) and "group" not in r.stated and any(
            isinstance(p, (Eq, In, ListHas)) and p.column == plan.group.name for p in incoming):
        plan = plan.replace(group=None, top=None, having=None)    # 'only GAME' after 'per app category'
    if isinstance(plan.group, Column):
        where = [p for p in where if not (isinstance(p, (Eq, In, ListHas)) and p.column == plan.group.name)]
    plan = plan.replace(where=tuple(where), target=tuple(target))
    return grammar.Reading(plan=plan, understood=r.understood, stated=r.stated, cover=r.cover)


__all__ = ["Parsed", "choose_view", "parse"]
