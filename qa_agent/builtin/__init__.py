"""The built-in question engine: answers everyday questions with no LLM, or declines saying why.

Pipeline: schema card -> parse (question -> `Plan`) -> `Plan.to_sql()` -> `qa_agent.executor.run_sql` ->
compose (text, table, chart from the result only). Follow-ups ("and for games?", "by year instead") edit the plan
of the previous turn in ``AskContext.history``.

Design decision: confidence is all-or-nothing. If any content word of the question is not mapped to a column,
value, measure or grouping, or a word maps to two columns that would give different answers, the engine declines
with what it understood and what it could not map, and suggests an LLM; it never guesses.
"""
from __future__ import annotations

import re

from earful.qa_agent.base import Answer, AskContext, Engine, Step
from earful.qa_agent.builtin.plan import TEXT_OPS, Filter, Plan

LLM_HINT = ("Configure an LLM to answer it: `earful ask --llm openai:gpt-4o-mini \"...\"`, "
            "or set `[llm] model` in earful.toml.")
FOLLOW_START = re.compile(r"^\s*(and|what about|how about|same for|same but|now|also|but|only|just|then|ok|okay|"
                          r"per|by|for|in|top|bottom|split|broken down|excluding|except|without)\b", re.I)


class BuiltinEngine(Engine):
    name = "builtin"
    conformance = {"params": {}}  # what tests/test_engines_conformance.py builds it with

    def answer(self, question: str, ctx: AskContext) -> Answer:
        from earful.qa_agent.builtin.parse import parse
        from earful.qa_agent.schema_card import build_schema_card

        card = build_schema_card(ctx.db_path)
        if not card.views:
            return self._decline("The workspace has no data yet (run 'earful ingest FILE').", None)
        prev = _previous_plan(ctx.history)
        follow = prev is not None and (FOLLOW_START.search(question) or "instead" in question.lower())
        parsed = parse(question, card, partial=bool(prev))
        if parsed.reason and parsed.plan is None and not (prev and not parsed.unmapped and follow):
            return self._decline(_decline_text(parsed), parsed)
        if parsed.unmapped and follow and prev is not None and parsed.plan is not None \
                and len(parsed.unmapped) == len(parsed.loose_words) <= 2 \
                and any(f.op == "contains" for f in prev.filters + prev.target):
            # "How many reviews mention battery?" -> "and crash?": the new word replaces the text match
            old = next(f for f in prev.filters + prev.target if f.op == "contains")
            parsed.plan.filters.append(Filter(old.column, "contains", list(parsed.loose_words),
                                              " or ".join(parsed.loose_words)))
            parsed.fields.add("filters")
            parsed.unmapped, parsed.loose_words = [], []
        if parsed.unmapped:
            return self._decline(_decline_text(parsed), parsed)
        plan = parsed.plan
        if prev is not None and (follow or not parsed.has_measure):
            plan = _merge_followup(prev, parsed)
            if plan is None:
                return self._decline(_decline_text(parsed), parsed)
        elif not parsed.has_measure:
            parsed.reason = parsed.reason or "no measure (how many, what share, average ...) or breakdown"
            return self._decline(_decline_text(parsed), parsed)
        return self._run(plan, ctx)

    def _run(self, plan: Plan, ctx: AskContext) -> Answer:
        from earful.qa_agent.builtin.compose import compose
        from earful.qa_agent.executor import run_sql

        plan.table = fast_table(plan, ctx.db_path)
        sql = plan.to_sql()
        res = run_sql(ctx.db_path, sql, in_process=True)  # our own template SQL: escaped literals, read-only
        step = Step("sql", sql, res.ok, res.error)
        if not res.ok:
            return Answer(status="declined", engine=self.name, steps=[step], plan=plan.to_dict(),
                          answer=f"The query for this question failed ({res.error}). {LLM_HINT}")
        text, tables, charts, item_ids = compose(plan, res.columns, res.rows, ctx.output_dir)
        return Answer(status="answered", answer=text, engine=self.name, steps=[step], tables=tables,
                      charts=charts, item_ids=item_ids, plan=plan.to_dict(),
                      conversation_id=ctx.conversation_id)

    def _decline(self, text: str, parsed) -> Answer:
        # no plan on a decline: a follow-up must edit the last *answered* question, not a half-understood one
        return Answer(status="declined", answer=text, engine=self.name,
                      notes=list(parsed.unmapped) if parsed is not None else [])


def fast_table(plan: Plan, db_path: str) -> str | None:
    """The source's raw table when it holds exactly the view's rows (the card checks this per database state)
    and the plan reads only original columns: the same answer without the view's join."""
    from earful.qa_agent.schema_card import build_schema_card

    view = build_schema_card(db_path).view(plan.view)
    if view is None or not view.raw_equivalent or not view.raw_table:
        return None
    raw = {c.lower() for c in view.raw_columns}
    return view.raw_table if all(c and c.lower() in raw for c in plan.columns_used()) else None


def _decline_text(parsed) -> str:
    parts = ["I can't answer this reliably without an LLM."]
    if parsed.understood:
        parts.append("I understood: " + "; ".join(dict.fromkeys(parsed.understood)) + ".")
    if parsed.unmapped:
        parts.append("I could not map: " + ", ".join(parsed.unmapped) + " to any column or value.")
    if parsed.reason:
        parts.append("Missing: " + parsed.reason + ".")
    parts.append(LLM_HINT)
    return " ".join(parts)


def _previous_plan(history: list[dict]) -> Plan | None:
    for turn in reversed(history or []):
        p = turn.get("plan") if isinstance(turn, dict) else None
        if p and isinstance(p, dict) and "view" in p and "measure" in p:
            try:
                return Plan.from_dict(p)
            except TypeError:
                return None
    return None


def _merge_followup(prev: Plan, parsed) -> Plan | None:
    """Edit the previous plan with what the follow-up states: its filters replace those on the same column."""
    new = parsed.plan
    if new is None or new.view != prev.view:
        return None
    plan = Plan.from_dict(prev.to_dict())
    if "measure" in parsed.fields and new.measure != "count" or (new.measure == "count" and "measure" in parsed.fields
                                                                 and not new.group):
        keep_col = new.measure in ("avg", "min", "max", "sum", "median") and "column" not in parsed.fields \
            and plan.measure in ("avg", "min", "max", "sum", "median") and plan.column
        plan.measure, plan.column = new.measure, (plan.column if keep_col else new.column)
        if new.measure == "share":
            plan.target = new.target
    if "group" in parsed.fields:
        if new.group != plan.group and "limit" not in parsed.fields:
            plan.limit = None
        plan.group = new.group
        if new.group and new.group.startswith("@"):
            plan.order = None
    if "order" in parsed.fields:
        plan.order = new.order
    if "limit" in parsed.fields:
        plan.limit = new.limit
    incoming = new.filters + (new.target if new.measure == "share" and plan.measure != "share" else [])
    if new.measure == "share" and plan.measure == "share" and "measure" not in parsed.fields:
        incoming = new.filters + new.target
    for f in incoming:
        plan.filters = [g for g in plan.filters if not _same_slot(g, f)]
        plan.target = [g for g in plan.target if not _same_slot(g, f)]
    plan.filters += [Filter(**vars(f)) for f in incoming]
    if plan.group and not plan.group.startswith("@"):
        plan.filters = [f for f in plan.filters if f.column != plan.group or f.op in TEXT_OPS]
    return plan


def _same_slot(a: Filter, b: Filter) -> bool:
    if a.column != b.column:
        return False
    if a.op.startswith("time") and b.op.startswith("time"):
        return True
    return (a.op in TEXT_OPS) == (b.op in TEXT_OPS)


__all__ = ["BuiltinEngine"]
