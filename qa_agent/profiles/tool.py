"""The profile as a tool of the LLM agent: the model names a profile (source, columns, what to find) and Earful runs
the same `build_profile` the CLI, the built-in engine and the web page run, returning its tables, charts and quotes.

Design decision: the model writes *arguments*, never code. `ProfileCall` is a closed schema (unknown keys are an
error the repair loop sends back); columns are quoted identifiers checked against the source by the profile code;
a tree is only one of Earful's built-in trees (a model never names a file to read). The result has the executor's
shape (`ok`, `error`, `tables`, `charts`, `rows`, `notice`, `traceback`), so the agent checks, fills and words it like
a program's. What may go back to the model is `ToolResult.summary`: the profile's shape, its statements and its first
table, never an item's text (quotes stay in the answer's tables) and only when ``[llm] send_rows`` allows results.
"""
from __future__ import annotations

import json
import traceback as tb
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

QUESTIONS = ("weakest", "strongest", "weakest_subject", "strongest_subject", "compare", "overview")


class ProfileCall(BaseModel):
    """Arguments of Earful's profile tool (see the agent prompt)."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="the view holding the feedback")
    subject_column: str = Field(description="column naming the subject (model, app, product)")
    score_column: str | None = Field(None, description="numeric score or rating column")
    label_share: str | None = Field(None, description="instead of a score: COLUMN=VALUE, the share of that label")
    question: Literal["weakest", "strongest", "weakest_subject", "strongest_subject", "compare", "overview"] = \
        "overview"
    subject: str | None = Field(None, description="for weakest/strongest: the subject")
    subjects: list[str] = Field(default_factory=list, description="for compare: two or more subjects")
    category: str | None = Field(None, description="for weakest_subject/strongest_subject: the category")
    category_column: str | None = None
    labels: str | None = Field(None, description="a classify taxonomy whose labels are the categories")
    tree: Literal["wildbench", "topics"] | None = Field(
        None, description="a built-in tree; 'topics': the fitted topics under their hierarchy groups")
    unit_column: str | None = None
    category_source: str | None = None


@dataclass
class ToolResult:
    """The executor's result shape, plus what the profile tool alone has."""

    ok: bool
    tables: list[dict] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    notice: str | None = None
    statement: str = ""
    summary: str = ""
    profile_json: dict | None = None

    @property
    def rows(self) -> list:
        return self.tables[0]["rows"] if self.tables else []


def _r(x, d: int = 3):
    return None if x is None else round(float(x), d)


def _table(name: str, columns: list[str], rows: list[list]) -> dict:
    return {"name": name, "columns": columns, "rows": rows}


def run_profile_tool(db_path, call: ProfileCall | dict | None, quotes: int = 3) -> ToolResult:
    """Build the profile `call` names and return its tables (the first answers `call.question`), charts (heatmap,
    radar) and quotes. Every error becomes a failed result whose message the repair loop can act on."""
    from earful.errors import EarfulError

    if call is None:
        return ToolResult(ok=False, error="language 'profile' needs the tool's arguments in `profile`")
    try:
        call = call if isinstance(call, ProfileCall) else ProfileCall.model_validate(call)
        return _run(db_path, call, quotes)
    except EarfulError as exc:
        return ToolResult(ok=False, error=str(exc) + (f" ({exc.hint})" if getattr(exc, "hint", None) else ""))
    except ValueError as exc:      # pydantic: an unknown key or a wrong type in the model's arguments
        return ToolResult(ok=False, error=f"the profile arguments are not valid: {exc}")
    except Exception as exc:  # noqa: BLE001 - a tool failure is reported to the repair loop, never raised
        return ToolResult(ok=False, error=f"{type(exc).__name__}: {exc}", traceback=tb.format_exc(limit=3))


def _run(db_path, call: ProfileCall, quotes: int) -> ToolResult:
    from earful.errors import InputError
    from earful.qa_agent.profiles import build_profile
    from earful.qa_agent.profiles.html import profile_figures

    q = call.question
    if q in ("weakest", "strongest") and not call.subject:
        raise InputError(f"question '{q}' needs `subject`", hint="name the subject, e.g. \"subject\": \"gemma-2b-it\"")
    if q == "compare" and len(call.subjects) < 2:
        raise InputError("question 'compare' needs two or more `subjects`", hint="e.g. \"subjects\": [\"a\", \"b\"]")
    if q in ("weakest_subject", "strongest_subject") and not call.category:
        raise InputError(f"question '{q}' needs `category`", hint="name a category of the tree")
    chosen = call.subjects if q == "compare" else [call.subject] if call.subject else None
    prof = build_profile(db_path, call.source, call.subject_column, call.score_column, label_share=call.label_share,
                         tree=call.tree, category_column=call.category_column, labels=call.labels,
                         unit_column=call.unit_column, category_source=call.category_source, subjects=chosen,
                         quotes=quotes)
    tables, statement = _answer_tables(prof, call)
    quote_rows = [[f.subject, f.node, f.kind, q.item_id, q.score, q.text] for f in prof.findings for q in f.quotes]
    if quote_rows:
        tables.append(_table("quotes", ["subject", "category", "finding", "item_id", "score", "text"], quote_rows))
    charts = [{"title": f"profile {c['title']}", "plotly": c["plotly"]} for c in profile_figures(prof)]
    return ToolResult(ok=True, tables=tables, charts=charts, statement=statement,
                      summary=summary(prof, tables[0], statement), profile_json=prof.to_json(),
                      notice="; ".join(prof.notes) or None)


def _answer_tables(prof, call: ProfileCall) -> tuple[list[dict], str]:
    q = call.question
    sign = 1.0 if prof.params["higher_is_better"] else -1.0
    if q in ("weakest", "strongest"):
        s = call.subject
        kind = "weakness" if q == "weakest" else "strength"
        rows = [r for r in prof.node_rows(s) if r["depth"] > 0 and r["effect"] is not None]
        rows.sort(key=lambda r: (sign * r["effect"]) * (1 if q == "weakest" else -1))
        overall = next(r for r in prof.node_rows(s) if r["depth"] == 0)
        cols = ["subject", "category", "items", "mean", "lo", "hi", "rank", "overall_mean", "others_mean", "effect",
                "p_adj", "finding"]
        t = _table("profile", cols, [[s, r["node"], r["n"], _r(r["mean"]), _r(r["lo"]), _r(r["hi"]), _r(r["rank"], 1),
                                      _r(overall["mean"]), _r(r["others_mean"]), _r(r["effect"]), _r(r["p_adj"], 4),
                                      r["finding"]] for r in rows])
        return [t], prof.statement(s, kind)
    if q in ("weakest_subject", "strongest_subject"):
        res = prof.weakest_subject(call.category)
        ranking = res["ranking"] if q == "weakest_subject" else list(reversed(res["ranking"]))
        t = _table("ranking", ["category", "subject", "items", "mean", "lo", "hi", "rank"],
                   [[res["node"], r["subject"], r["n"], _r(r["mean"]), _r(r["lo"]), _r(r["hi"]), _r(r["rank"], 1)]
                    for r in ranking])
        word = "lowest" if q == "weakest_subject" else "highest"
        top = ranking[0] if ranking else None
        statement = (f"At {res['node']}, {top['subject']} has the {word} mean {prof.measure} ({top['mean']:.2f} over "
                     f"{top['n']} items)." if top else f"No subject has items at {res['node']}.")
        return [t], statement
    if q == "compare":
        comp = prof.comparison
        names = comp.subjects
        t = _table("comparison", ["category", *[f"mean {n}" for n in names], "difference", "effect", "p_adj",
                                  "significant"],
                   [[r["node"], *[_r(r["means"][n]) for n in names], _r(r["difference"]), _r(r["effect"]),
                     _r(r["p_adj"], 4), r["significant"]] for r in comp.rows])
        sig = [r for r in comp.rows if r["significant"]]
        statement = (f"{' and '.join(names)} differ significantly in {len(sig)} of {len(comp.rows)} categories "
                     f"({comp.test})." if sig else f"{' and '.join(names)} differ significantly in no category.")
        return [t], statement
    top = [0] + prof.tree.top
    rows = []
    for name in prof.subjects:
        s = prof.all_subjects.index(name)
        rows += [[name, prof.tree.nodes[v].label, int(prof.n[s, v]), _r(prof.mean[s, v]), _r(prof.rank[s, v], 1)]
                 for v in top if prof.n[s, v]]
    statement = " ".join(prof.statement(n, "weakness") for n in prof.subjects[:8])
    return [_table("overview", ["subject", "category", "items", "mean", "rank"], rows)], statement


def summary(prof, first: dict, statement: str, max_rows: int = 30) -> str:
    """What the model may be told of a profile (only with ``[llm] send_rows``): its shape, the statement and the first
    table (aggregates per category), never an item's text."""
    head = (f"Earful's profile tool ran: {prof.measure} by {prof.subject_column} in {prof.source}, "
            f"{len(prof.all_subjects)} subjects over {len(prof.tree) - 1} categories ({prof.params['n_items']} items); "
            f"intervals: {prof.interval}; strengths and weaknesses tested with Holm correction at "
            f"{prof.params['alpha']:g}, categories with at least {prof.params['min_items']} items.")
    rows = first["rows"][:max_rows]
    more = f"\n... {len(first['rows']) - max_rows} more rows" if len(first["rows"]) > max_rows else ""
    body = "\n".join(json.dumps(r, default=str, ensure_ascii=False) for r in rows)
    return (f"{head}\nStatement: {statement}\nTABLE {first['name']} ({len(first['rows'])} rows) columns "
            f"{json.dumps(first['columns'])}\n{body}{more}")
