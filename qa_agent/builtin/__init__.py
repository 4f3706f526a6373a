"""The built-in question engine: answers everyday questions with no LLM, or declines saying why.

Pipeline: schema card -> parse (recognisers + grammar -> typed `ir.Plan`) -> `compiler.compile_sql` (over a rollup
table when `rollup.rollup_for` finds one that answers the plan on a lake-backed workspace) ->
`qa_agent.executor.run_sql` -> `answer.compose` (text, table, chart from the result only). Follow-ups ("and for
games?", "by year instead") edit the typed plan of the previous turn in ``AskContext.history``.

Design decision: confidence is all-or-nothing. If any content word of the question is not accounted for, or the
question has two readings with different answers, the engine declines with what it understood and what it could
not map, and suggests an LLM; it never guesses. No model is loaded on the way to a decline.
"""
from __future__ import annotations

from earful.qa_agent.base import Answer, AskContext, Engine, Step
from earful.qa_agent.builtin.ir import Plan, plan_from_dict

LLM_HINT = ("Configure an LLM to answer it: `earful ask --llm openai:gpt-4o-mini \"...\"`, "
            "or set `[llm] model` in earful.toml.")


class BuiltinEngine(Engine):
    name = "builtin"
    conformance = {"params": {}}  # what tests/test_engines_conformance.py builds it with

    def answer(self, question: str, ctx: AskContext) -> Answer:
        from earful.qa_agent.builtin.parse import parse
        from earful.qa_agent.schema_card import build_schema_card

        card = build_schema_card(ctx.db_path)
        if not card.views:
            return self._decline("The workspace has no data yet (run 'earful ingest FILE').", None)
        from earful.qa_agent.builtin import special

        complaints = special.complaints_intent(question)
        followup = None if complaints else special.complaints_followup(question, ctx.history)
        if complaints or followup:   # aspects ranked by negative mentions, when the workspace has them
            ans = special.complaints_answer(followup[0] if followup else question, card, ctx, self.name,
                                            earlier=followup[1] if followup else None)
            if ans is not None:
                return ans
        else:
            ans = special.profile_answer(question, card, ctx, self.name)   # "where is X weakest?" and kin
            if ans is not None:
                return ans
        parsed = parse(question, card, prev=previous_plan(ctx.history), db_path=ctx.db_path)
        if parsed.plan is None:
            ans = self._decline(decline_text(parsed), parsed)
        else:
            ans = self._run(parsed.plan, ctx, parsed.understood)
        if complaints and special.no_aspects(ctx.db_path):
            ans.answer += " " + special.ASPECT_NOTE
        return ans

    def _run(self, plan: Plan, ctx: AskContext, understood=()) -> Answer:
        from earful.qa_agent.builtin.answer import compose
        from earful.qa_agent.builtin.compiler import compile_sql
        from earful.qa_agent.builtin.rollup import rollup_for
        from earful.qa_agent.executor import run_sql

        rollup = rollup_for(plan, ctx.db_path)   # a lake catalog: a rollup that answers it, not the items
        sql = compile_sql(plan, rollup=rollup) if rollup else compile_sql(plan, fast_table(plan, ctx.db_path))
        res = run_sql(ctx.db_path, sql, in_process=True)  # our own compiled SQL: escaped literals, read-only
        step = Step("sql", sql, res.ok, res.error)
        if not res.ok:
            return Answer(status="declined", engine=self.name, steps=[step], plan=plan.to_dict(),
                          answer=f"The query for this question failed ({res.error}). {LLM_HINT}")
        columns, rows, ranked_by = res.columns, res.rows, None
        if plan.measure.name == "examples" and rows:
            columns, rows, ranked_by = _rank_examples(plan, columns, rows, ctx)
        text, tables, charts, item_ids = compose(plan, columns, rows, ctx.output_dir, ranked_by=ranked_by)
        if plan.compare is not None and plan.compare.mode == "winner":
            _winner_first(plan, tables[0])
        notes = [u for u in understood if "(read " in u]
        if notes:
            text += " (" + "; ".join(n.split("(read ", 1)[1].rstrip(")") for n in notes) + ".)"
        return Answer(status="answered", answer=text, engine=self.name, steps=[step], tables=tables,
                      charts=charts, item_ids=item_ids, plan=plan.to_dict(), notes=list(understood),
                      conversation_id=ctx.conversation_id)

    def _decline(self, text: str, parsed) -> Answer:
        # no plan on a decline: a follow-up must edit the last *answered* question, not a half-understood one
        return Answer(status="declined", answer=text, engine=self.name,
                      notes=list(parsed.unmapped) if parsed is not None else [])


def _winner_first(plan: Plan, table) -> None:
    """'Which is rated higher, A or B?': the table's first row is the answer (the winner), then the other side."""
    from earful.qa_agent.builtin.compiler import shape

    col = shape(plan).value
    if col not in table.columns or len(table.rows) != 2:
        return
    k = table.columns.index(col)
    a, b = table.rows
    if a[k] is None or b[k] is None:
        return
    if (b[k] > a[k]) == (plan.compare.order != "asc") and a[k] != b[k]:
        table.rows = [b, a]


def _rank_examples(plan: Plan, columns, rows, ctx):
    """Most representative first (evidence.rank_rows: similarity of stored vectors to the matches' centroid; no
    model is loaded), cut to the plan's limit; the rows keep the count of all matches."""
    from earful.qa_agent.builtin import evidence

    return evidence.rank_rows(ctx.db_path, plan, columns, rows)


def fast_table(plan: Plan, db_path: str) -> str | None:
    """The source's raw table when it holds exactly the view's rows (the card checks this per database state)
    and the plan reads only original columns: the same answer without the view's join."""
    from earful.qa_agent.builtin.compiler import columns_used
    from earful.qa_agent.schema_card import build_schema_card

    view = build_schema_card(db_path).view(plan.view)
    if view is None or not view.raw_equivalent or not view.raw_table:
        return None
    raw = {c.lower() for c in view.raw_columns}
    return view.raw_table if all(c and c.lower() in raw for c in columns_used(plan)) else None


def decline_text(parsed) -> str:
    parts = ["I can't answer this reliably without an LLM."]
    if parsed.understood:
        parts.append("I understood: " + "; ".join(dict.fromkeys(parsed.understood)) + ".")
    if parsed.unmapped:
        parts.append("I could not map: " + ", ".join(parsed.unmapped) + " to any column or value.")
    if parsed.reason:
        parts.append("Missing: " + parsed.reason + ".")
    parts.append(LLM_HINT)
    return " ".join(parts)


def previous_plan(history: list[dict]) -> Plan | None:
    """The typed plan of the last answered turn; an old-format or foreign entry is no previous plan."""
    for turn in reversed(history or []):
        p = turn.get("plan") if isinstance(turn, dict) else None
        if p:
            try:
                return plan_from_dict(p)
            except (ValueError, TypeError):
                return None
    return None


__all__ = ["BuiltinEngine", "decline_text", "fast_table", "previous_plan"]
