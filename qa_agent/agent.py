"""`LLMAgent`: question -> plan + SQL/Python -> contained execution -> checked answer, with a bounded repair loop.

Design decision: the model never sees data unless ``[llm] send_rows`` is on. Without it, the model writes the
program *and* an answer template before any result exists, and Earful fills the template from the result table;
error text sent back for a repair has its quoted values scrubbed, and follow-ups carry the earlier answer's template,
never its filled text. With it, a second call composes the answer from the result tables. Either way the final text
is checked: a placeholder left unfilled, an empty template, a row count standing in for a value, or a number found
in no result table, and the answer is then worded by Earful from the result table (`word_from_tables`) and says so.
Secrets are redacted (`earful.llm.redact`) from the Answer and the logged run.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from earful.qa_agent.base import Answer, AskContext, Chart, Engine, ResultTable, Step
from earful.qa_agent.profiles.tool import ProfileCall

MAX_TABLE_ROWS = 500


def _list_chart_kinds(schema: dict) -> None:
    from earful.charts import chart_kind_names

    schema["enum"] = chart_kind_names()   # the model is offered the kinds registered now


class ChartSpec(BaseModel):
    """A chart of column `y` by column `x` of the first result table, drawn by a registered chart kind."""

    type: str = Field("bar", json_schema_extra=_list_chart_kinds)
    x: str
    y: str
    title: str = ""

    @field_validator("type")
    @classmethod
    def _registered_kind(cls, value: str) -> str:
        from earful.charts import chart_kind
        from earful.errors import EarfulError

        try:
            chart_kind(value)
        except EarfulError as exc:   # a ValueError, so a model's reply with an unknown kind goes to the repair loop
            raise ValueError(str(exc)) from exc
        return value


class Plan(BaseModel):
    """What the model returns for each attempt: a program (`code` in sql or python), or a call of Earful's profile
    tool (language "profile", its arguments in `profile`; no code)."""
    plan: str = ""
    language: Literal["sql", "python", "profile"] = "sql"
    code: str = ""
    answer_template: str = ""
    chart: ChartSpec | None = None
    profile: ProfileCall | None = None


class Composed(BaseModel):
    answer: str
    item_ids: list[str] = Field(default_factory=list)


# -- checks (pure functions) ------------------------------------------------------------------------------------
_NUM = re.compile(r"(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?%?")


def _numbers_in(value) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    out = []
    for m in _NUM.finditer(str(value)):
        try:
            out.append(float(m.group().rstrip("%").replace(",", "")))
        except ValueError:
            pass
    return out


def _supported(x: float, known: list[float]) -> bool:
    for k in known:
        for cand in (k, k * 100.0):
            if abs(cand - x) <= 1e-9 or any(abs(round(cand, d) - x) < 1e-9 for d in range(0, 4)):
                return True
    return False


def unsupported_numbers(text: str, tables: list[dict], extra: tuple = ()) -> list[str]:
    """Numbers written in `text` that appear in no result table cell (nor as a row count, nor in `extra`).

    A number matches a cell when equal after rounding to 0-3 decimals or as a percentage (x100). Years and other
    numbers from the question can be passed in `extra`. The row count of a one-row table is no evidence: "1 feature
    requests" over a table that says 333 is the row count standing in for the value.
    """
    known: list[float] = [float(x) for x in extra]
    for t in tables:
        if len(t["rows"]) != 1:
            known.append(float(len(t["rows"])))
        for r in t["rows"]:
            for v in r:
                known.extend(_numbers_in(v))
    flagged = []
    for m in _NUM.finditer(text or ""):
        raw = m.group()
        try:
            x = float(raw.rstrip("%").replace(",", ""))
        except ValueError:
            continue
        if not _supported(x, known) and not _supported(abs(x), known):
            flagged.append(raw)
    return list(dict.fromkeys(flagged))


def finding_for(res) -> str | None:
    """Why a result is not usable (fed back to the model), or None when it looks like an answer."""
    if not res.ok:
        tb = f"\n{res.traceback}" if res.traceback else ""
        return f"It failed with this error: {res.error}{tb}"
    tables = res.tables or []
    if not tables or all(not t["rows"] for t in tables):
        return ("It ran but returned no rows (or no `result` was set). Check the filters against the values listed in "
                "the schema card (case, spelling) and that the right view is used.")
    first = tables[0]
    if len(first["rows"]) == 1 and all(v is None for v in first["rows"][0]):
        return "It returned a single row of NULLs, which is not an answer. Check column names and filters."
    return None


def _fmt(v) -> str:
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else f"{v:.2f}".rstrip("0").rstrip(".")
    return "" if v is None else str(v)


def fill_template(template: str, tables: list[dict]) -> tuple[str, list[str]]:
    """Fill {column} (first row of the first table) and {n_rows}; returns (text, unknown placeholders)."""
    first = tables[0] if tables else {"columns": [], "rows": []}
    row = dict(zip(first["columns"], first["rows"][0])) if first["rows"] else {}
    unknown = []

    def sub(m):
        key = m.group(1)
        if key == "n_rows":
            return str(len(first["rows"]))
        if key in row:
            return _fmt(row[key])
        unknown.append(key)
        return m.group(0)

    return re.sub(r"\{([A-Za-z_][\w ]*)\}", sub, template or ""), unknown


_PLACEHOLDER = re.compile(r"\{[A-Za-z_][\w ]*\}")
WORDED_BY_EARFUL = "(worded by Earful from the result table)"


def answer_problems(text: str, tables: list[dict], extra: tuple = ()) -> list[str]:
    """Why `text` cannot be shown as the answer to `tables` ([] when it can): a raw placeholder, no text at all,
    or numbers that no result table supports."""
    if not (text or "").strip():
        return ["the model wrote no answer"]
    problems = []
    left = _PLACEHOLDER.findall(text)
    if left:
        problems.append("placeholders left unfilled: " + ", ".join(dict.fromkeys(left)))
    flagged = unsupported_numbers(_PLACEHOLDER.sub(" ", text), tables, extra)
    if flagged:
        problems.append("numbers found in no result table: " + ", ".join(flagged))
    return problems


def fill_checked(template: str, tables: list[dict], extra: tuple = ()) -> tuple[str, list[str]]:
    """`fill_template`, then `answer_problems`, plus the template's own faults: none written, a placeholder that is
    not a result column or is NULL, or {n_rows} over a one-row table of values (it would say 1 where the table says
    333)."""
    if not (template or "").strip():
        return "", ["the model wrote no answer template"]
    text, unknown = fill_template(template, tables)
    problems = []
    if unknown:
        problems.append("the answer template refers to columns the result does not have: " + ", ".join(unknown))
    first = tables[0] if tables else {"columns": [], "rows": []}
    row = dict(zip(first["columns"], first["rows"][0])) if first["rows"] else {}
    empty = [k for k in re.findall(r"\{([A-Za-z_][\w ]*)\}", template) if k in row and row[k] is None]
    if empty:
        problems.append("the result has no value for " + ", ".join(dict.fromkeys(empty)))
    if "{n_rows}" in template and len(first["rows"]) == 1:
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in first["rows"][0]):
            problems.append("the template counts the result's rows ({n_rows} = 1) where the result holds a value")
        else:
            extra = (*extra, 1)        # "{n_rows} review matches" over one quoted review is right
    return text, problems + [p for p in answer_problems(text, tables, extra) if not p.startswith("placeholders")]


def word_from_tables(tables: list[dict], max_rows: int = 5) -> str:
    """A plain, deterministic answer from the first non-empty result table (the built-in engine's wording):
    one row -> "<column>: <value>; ..."; several -> "<value column> by <label column>: a: 1; b: 2; ... (N in all)."."""
    from earful.qa_agent.builtin.answer import fmt

    t = next((t for t in tables if t["rows"]), None)
    if t is None:
        return "No rows matched."
    rows = t["rows"]
    # an unnamed expression ("(CAST(sum(...) AS FLOAT) * 100) / count_star()") reads as "value": its digits are no
    # numbers of the answer
    cols = [c if re.fullmatch(r"[A-Za-z_]\w{0,39}", str(c)) else ("value" if i == 0 else f"value {chr(97 + i)}")
            for i, c in enumerate(t["columns"])]
    show = [i for i, c in enumerate(cols) if c != "item_id"] or list(range(len(cols)))

    def cell(v) -> str:
        s = fmt(v)
        return s if len(s) <= 120 else s[:117] + "..."

    if len(rows) == 1 and all(rows[0][i] is None for i in show):
        return (f"The result has no value ({', '.join(cols[i] for i in show[:8])} empty): no rows matched the "
                "program's filters.")
    if len(rows) == 1:
        return "; ".join(f"{cols[i]}: {cell(rows[0][i])}" for i in show[:8]) + "."

    def numeric(i):
        return all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in (r[i] for r in rows))

    label = next((i for i in show if not numeric(i)), show[0])
    value = next((i for i in show if i != label and numeric(i)), None)
    shown = rows[:max_rows]
    more = f"; ... ({len(rows)} in all)." if len(rows) > max_rows else "."
    if value is None:
        return f"{len(rows)} rows of {cols[label]}: " + "; ".join(cell(r[label]) for r in shown) + more
    return f"{cols[value]} by {cols[label]}: " + "; ".join(f"{cell(r[label])}: {cell(r[value])}" for r in shown) + more


def redact_answer(ans: Answer, settings=None) -> Answer:
    """The Answer with secrets redacted from everything a user, a log or a later prompt will see. Table cells skip
    the generic long-hex / base64 shapes (there an md5 is more likely data than a key)."""
    from earful.llm.redact import redact, redact_obj, secret_pattern

    pat = secret_pattern(settings)
    ans.answer = redact(ans.answer, pattern=pat)
    ans.notes = [redact(n, pattern=pat) for n in ans.notes]
    for st in ans.steps:
        st.code, st.error = redact(st.code, pattern=pat), redact(st.error, pattern=pat)
    ans.plan = redact_obj(ans.plan, pattern=pat)
    for t in ans.tables:
        t.rows = [[redact(v, generic=False, pattern=pat) for v in r] for r in t.rows]
    for c in ans.charts:
        c.title = redact(c.title, pattern=pat)
    return ans


def item_ids_in(tables: list[dict], limit: int = 100) -> list[str]:
    out: list[str] = []
    for t in tables:
        if "item_id" in t["columns"]:
            i = t["columns"].index("item_id")
            out += [str(r[i]) for r in t["rows"] if r[i] is not None]
    return list(dict.fromkeys(out))[:limit]


# -- the engine --------------------------------------------------------------------------------------------------
class LLMAgent(Engine):
    name = "llm"
    # tests/test_engines_conformance.py: built with a fake chat model that replies with this plan (LLM text only)
    conformance = {"params": {}, "chat_replies": ['{"plan": "count the items", "language": "sql", "code": '
                                                  '"SELECT count(*) AS n FROM items", "answer_template": '
                                                  '"There are {n} reviews.", "chart": null}']}

    def __init__(self, chat_model=None, prompts: str | None = None):
        self.chat_model = chat_model
        self.prompts_name = prompts

    def answer(self, question: str, ctx: AskContext) -> Answer:
        from earful.errors import EarfulError
        from earful.llm import get_chat_model, llm_enabled

        settings = ctx.settings
        if self.chat_model is None and not llm_enabled(settings):
            return Answer(status="declined", engine=self.name, conversation_id=ctx.conversation_id,
                          answer="No LLM is configured ([llm] model = 'none'), so only the built-in engine answers. "
                                 "Set one with --llm provider:model, EARFUL_LLM or earful.toml.")
        t0 = time.perf_counter()
        try:
            chat = self.chat_model or get_chat_model(settings)
            ans, attempts, model = self._run(question, ctx, chat)
        except EarfulError as exc:
            ans, attempts, model = Answer(status="error", answer=str(exc), engine=self.name), 0, settings.llm.model
        ans.conversation_id = ctx.conversation_id
        ans = redact_answer(ans, settings)    # `ask` saves this Answer as the conversation turn
        self._log_run(ctx, question, ans, attempts, model, (time.perf_counter() - t0) * 1000)
        return ans

    # The store is opened only around writes: the sandboxed child must be able to open the file read-only. Nor is it
    # held across the model's HTTP call (`_StorePerUse`): a slow model kept every other process (the web chat's
    # pages, `earful ask`) out of the workspace for as long as it took.
    def _call(self, ctx, chat, messages, purpose, schema):
        from earful.llm import call_llm

        return call_llm(_StorePerUse(ctx.db_path), chat, messages, prompt_version=self._prompts()["version"],
                        purpose=purpose, schema=schema, conversation_id=ctx.conversation_id,
                        retries=ctx.settings.llm.max_retries)

    def _prompts(self) -> dict:
        from earful.qa_agent.prompts import DEFAULT, load_prompts

        return load_prompts(self.prompts_name or DEFAULT)

    def _run(self, question: str, ctx: AskContext, chat):
        from earful.llm import model_id
        from earful.llm.redact import scrub_values
        from earful.qa_agent.ask import report_progress
        from earful.qa_agent.executor import run_python, run_sql
        from earful.qa_agent.prompts import build_plan_messages, build_repair_messages

        settings = ctx.settings
        card = schema_card_text(ctx.db_path)
        samples = sample_rows_text(ctx.db_path) if settings.llm.send_rows else None
        send_rows = settings.llm.send_rows
        messages = build_plan_messages(question, card, ctx.history, samples, self._prompts(), send_rows=send_rows)
        steps: list[Step] = []
        notes: list[str] = []
        good = last = None
        attempts = 0
        for attempt in range(settings.agent.max_repairs + 1):
            attempts += 1
            report_progress("llm", purpose="plan" if attempt == 0 else "repair", attempt=attempts)
            reply = self._call(ctx, chat, messages, "agent.plan" if attempt == 0 else "agent.repair", Plan)
            if reply.parsed is None:
                err = f"the reply was not the JSON program asked for ({reply.parse_error})"
                steps.append(Step(language="text", code=reply.text[:4000], ok=False, error=err))
                report_progress("unusable", error=err)
                messages = build_repair_messages(messages, reply.text, f"Your reply could not be used: {err}.")
                continue
            plan: Plan = reply.parsed
            code = _step_code(plan)
            report_progress("running", plan=plan.plan, language=plan.language, code=code)
            if plan.language == "profile":
                res = _run_profile(ctx.db_path, plan)
            else:
                res = (run_sql if plan.language == "sql" else run_python)(ctx.db_path, plan.code, settings)
            if res.notice:
                notes.append(res.notice)
            finding = finding_for(res)
            steps.append(Step(language=plan.language, code=code, ok=res.ok,
                              error=res.error if not res.ok else (finding.split(". ")[0] if finding else None)))
            report_progress("result", ok=res.ok, rows=len(res.rows), error=steps[-1].error)
            last = (plan, res)
            if finding is None:
                good = last
                break
            if not send_rows:       # errors quote cell values: "Could not convert string '...' to INT32"
                finding = scrub_values(finding, keep=(plan.code, card, question))
            messages = build_repair_messages(messages, reply.text, finding)
        mid = model_id(chat)
        if good is None:
            if last is not None and last[1].ok:      # ran, but nothing matched: say so rather than fail
                good = last
            else:
                why = steps[-1].error if steps else "no attempt"
                return Answer(status="error", engine=self.name, steps=steps, notes=notes,
                              answer=f"I could not compute an answer in {attempts} attempt(s); the last one failed: "
                                     f"{why}"), attempts, mid
        plan, res = good
        tables = res.tables
        text, item_ids = self._compose(question, ctx, chat, plan, tables, notes, tool=res)
        charts = self._charts(plan, res, ctx)
        return Answer(status="answered", answer=text, engine=self.name, steps=steps, notes=notes,
                      tables=[ResultTable(t["name"], t["columns"], t["rows"][:MAX_TABLE_ROWS]) for t in tables],
                      charts=charts, item_ids=item_ids, plan=plan.model_dump()), attempts, mid

    def _compose(self, question, ctx, chat, plan: Plan, tables, notes, tool=None) -> tuple[str, list[str]]:
        """The answer text and cited item ids: the model's (composed with send_rows, else its filled template) when
        it passes `answer_problems`, else Earful's own wording of the result table (a profile's own statement for
        the profile tool), marked as such. For the profile tool the compose call gets the tool's summary, not its
        tables (which hold quotes)."""
        from earful.qa_agent.prompts import build_compose_messages

        found_ids = item_ids_in(tables)
        if not any(t["rows"] for t in tables):
            return "The program ran but no rows matched, so there is nothing to report.", []
        extra = tuple(_numbers_in(question))
        problems: list[str] = []
        if ctx.settings.llm.send_rows:
            from earful.qa_agent.ask import report_progress

            report_progress("llm", purpose="compose")
            summary = getattr(tool, "summary", None) if plan.language == "profile" else None
            reply = self._call(ctx, chat, build_compose_messages(question, plan.plan, tables, self._prompts(),
                                                                 summary=summary), "agent.compose", Composed)
            if reply.parsed is not None:
                ids = [i for i in reply.parsed.item_ids if i in set(found_ids)]
                dropped = len(reply.parsed.item_ids) - len(ids)
                if dropped:
                    notes.append(f"{dropped} item id(s) the model cited are not in the results and were dropped")
                problems = answer_problems(reply.parsed.answer, tables, extra)
                if not problems:
                    return reply.parsed.answer, ids or found_ids
                problems = [f"composed answer: {p}" for p in problems]
            else:
                problems = ["the model's composed answer did not parse"]
        text, template_problems = fill_checked(plan.answer_template, tables, extra)
        if not template_problems:
            if problems:
                notes.append("the model's composed answer was not used (" + "; ".join(problems)
                             + "); filled from the plan's template instead")
            return text, found_ids
        notes.append("the answer is worded by Earful from the result table, not by the model: "
                     + "; ".join(problems + template_problems))
        own = getattr(tool, "statement", "") if plan.language == "profile" else ""
        return f"{own or word_from_tables(tables)} {WORDED_BY_EARFUL}", found_ids

    def _charts(self, plan: Plan, res, ctx) -> list[Chart]:
        from earful import charts as ch

        out = []
        if plan.language == "profile":     # the profile's own figures (heatmap, radar): plotly only, no PNG
            out = [Chart(title=c["title"], plotly=c["plotly"]) for c in res.charts]
        for c in ([] if plan.language == "profile" else res.charts):
            png = None
            traces = (c.get("plotly") or {}).get("data") or []
            t = traces[0] if traces else {}
            kind = ch.kind_for_trace(t.get("type")) or ch.kind_for_trace("scatter")   # else drawn as lines
            if ctx.output_dir and kind and isinstance(t.get("x"), list) and isinstance(t.get("y"), list):
                table = ch.ChartTable(c["title"], t["x"], {t.get("name") or "value": t["y"]})
                try:
                    png = ch.draw(kind, table, out_dir=ctx.output_dir)["png"]
                except Exception:  # noqa: BLE001 - the plotly figure still goes back; only the PNG is missing
                    png = None
            out.append(Chart(title=c["title"], plotly=c.get("plotly"), png=png))
        spec = plan.chart
        if spec and res.tables and spec.x in res.tables[0]["columns"] and spec.y in res.tables[0]["columns"]:
            t = res.tables[0]
            table = ch.ChartTable.from_table(t["columns"], t["rows"], spec.x, spec.y, title=spec.title)
            d = ch.draw(spec.type, table, out_dir=ctx.output_dir)   # a registered kind: ChartSpec checked it
            out.append(Chart(title=d["title"], plotly=d["plotly"], png=d.get("png")))
        return out

    def _log_run(self, ctx, question, ans: Answer, attempts: int, model: str, ms: float) -> None:
        from earful.llm.redact import redact
        from earful.store import Store

        row = [uuid.uuid4().hex, datetime.now(UTC), ctx.conversation_id, redact(question, ctx.settings),
               self.name, model, ans.status, attempts, ms, _sandbox_name(ctx.settings), json.dumps(ans.notes)]
        pending = getattr(ctx, "pending_runs", None)
        if pending is not None:      # `ask` saves it with the conversation turn: one store session fewer
            pending.append(row)
            return
        try:
            with Store(ctx.db_path) as store:
                store.con.execute("INSERT INTO agent_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        except Exception:  # noqa: BLE001 - logging must never turn an answer into an error
            pass


class _StorePerUse:
    """What `call_llm` uses of a Store (``table_exists``, ``rows``, ``con.execute``), each opening the workspace for
    that one use: its cache lookup and its log row, not the model call between them."""

    read_only = False

    def __init__(self, db_path):
        self.db_path, self.con = db_path, self

    def _use(self, fn):
        from earful.store import Store

        with Store(self.db_path) as store:
            return fn(store)

    def table_exists(self, name: str) -> bool:
        return self._use(lambda s: s.table_exists(name))

    def rows(self, sql: str, params=None) -> list[tuple]:
        return self._use(lambda s: s.rows(sql, params))

    def execute(self, sql: str, params=None) -> None:
        self._use(lambda s: s.con.execute(sql, params))


def _step_code(plan: Plan) -> str:
    """What a step shows as its code: the program, or the profile tool's arguments as JSON."""
    if plan.language == "profile":
        return json.dumps(plan.profile.model_dump(exclude_defaults=True) if plan.profile else None)
    return plan.code


def _run_profile(db_path, plan: Plan):
    """Earful's profile tool (`earful.qa_agent.profiles.tool`): arguments, not code, so it runs here, read-only."""
    from earful.qa_agent.profiles.tool import ToolResult, run_profile_tool

    if plan.profile is None:
        return ToolResult(ok=False, error="language 'profile' needs the tool's arguments in `profile`")
    return run_profile_tool(db_path, plan.profile)


def _sandbox_name(settings) -> str:
    from earful.qa_agent.executor import sandbox_mode

    try:
        return sandbox_mode(settings)
    except Exception:  # noqa: BLE001
        return "unknown"


def schema_card_text(db_path: str) -> str:
    """The workspace's schema card as prompt text (the companion module), or a minimal one from the catalog."""
    try:
        from earful.qa_agent.schema_card import build_schema_card
    except ImportError:
        build_schema_card = None
    if build_schema_card is not None:
        return build_schema_card(str(db_path)).to_prompt()
    from earful.store.readonly import connect_read_only

    con = connect_read_only(str(db_path))
    try:
        rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()
    finally:
        con.close()
    out: dict[str, list[str]] = {}
    for t, c, ty in rows:
        out.setdefault(t, []).append(f"{c} {ty}")
    return "\n".join(f"TABLE {t}: " + ", ".join(cols) for t, cols in out.items())


def sample_rows_text(db_path: str, per_view: int = 3) -> str:
    """A few rows of each per-source view (only called when ``[llm] send_rows`` is on)."""
    from earful.qa_agent.prompts import render_samples
    from earful.store.readonly import connect_read_only

    con = connect_read_only(str(db_path))
    try:
        views = [r[0] for r in con.execute("SELECT name FROM sources ORDER BY name").fetchall()]
        samples = {}
        for v in views:
            cur = con.execute(f'SELECT * FROM "{v}" LIMIT {int(per_view)}')
            cols = [d[0] for d in cur.description]
            samples[v] = [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()
    return render_samples(samples)
