"""Versioned prompt files for the LLM agent, and the pure functions that build its messages from them.

Design decision: prompt text lives in ``agent.vN.yaml`` (its ``version`` is part of the LLM cache key), and every
builder here is a pure function of (question, schema card text, history, ...) -> [(role, text)], so prompts are
tested without any model. Data rows reach a prompt only through `build_plan_messages(samples=...)`, an earlier
turn's answer in `build_plan_messages(send_rows=True)` and `build_compose_messages`, and callers pass them only when
``[llm] send_rows`` is on. Without it, an earlier turn contributes its question, plan, code and answer *template*;
the built-in engine's code has its literals scrubbed unless the question or the schema card already holds them.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = "agent.v3"


@lru_cache(maxsize=8)
def load_prompts(name: str = DEFAULT) -> dict:
    import yaml

    return yaml.safe_load((HERE / f"{name}.yaml").read_text(encoding="utf-8"))


def _fill(template: str, **values) -> str:
    # str.format would choke on the JSON braces in the prompt text; replace only our named slots.
    out = template
    for k, v in values.items():
        out = out.replace("{" + k + "}", str(v))
    return out.strip()


def _clip(text, n: int = 600) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= n else text[:n] + " ..."


def build_plan_messages(question: str, schema_card: str, history: list[dict] | None = None,
                        samples: str | None = None, prompts: dict | None = None,
                        send_rows: bool = False) -> list[tuple[str, str]]:
    """System (rules + schema card [+ samples]) then earlier turns as context, then the question.

    An earlier turn's filled-in answer (which may quote reviews) is included only with `send_rows`; otherwise the
    LLM's answer template stands in for it, and built-in engine code keeps only literals the question or the card
    already shows (its SQL may hold values matched from the data).
    """
    from earful.llm.redact import scrub_values

    p = prompts or load_prompts()
    system = _fill(p["system"], schema_card=schema_card)
    if samples:
        system += "\n\n" + _fill(p["samples"], samples=samples)
    msgs: list[tuple[str, str]] = [("system", system)]
    for turn in (history or [])[-5:]:
        step = (turn.get("steps") or [{}])[-1] if turn.get("steps") else {}
        plan = turn.get("plan") if isinstance(turn.get("plan"), dict) else {}
        code = step.get("code", "") or ""
        if send_rows:
            answer = _fill(p["history_answer"], answer=_clip(turn.get("answer", "")))
        else:
            answer = _fill(p["history_template"], answer_template=_clip(plan.get("answer_template") or "(none)"))
            if turn.get("engine") != "llm":
                code = scrub_values(code, keep=(turn.get("question", ""), schema_card))
        msgs.append(("user", _fill(p["history_turn"], question=turn.get("question", ""),
                                   plan=_clip(plan.get("plan", "")), language=step.get("language", ""),
                                   code=_clip(code, 1200), answer=answer)))
    msgs.append(("user", _fill(p["user"], question=question)))
    return msgs


def build_repair_messages(messages: list[tuple[str, str]], reply_text: str, finding: str,
                          prompts: dict | None = None) -> list[tuple[str, str]]:
    """The conversation so far + the model's last reply + what went wrong (error text or an empty-result finding)."""
    p = prompts or load_prompts()
    return [*messages, ("assistant", reply_text), ("user", _fill(p["repair"], finding=_clip(finding, 2000)))]


def render_tables(tables: list[dict], max_rows: int = 30, max_cell: int = 300) -> str:
    parts = []
    for t in tables:
        rows = t["rows"][:max_rows]
        more = f"\n  ... {len(t['rows']) - max_rows} more rows" if len(t["rows"]) > max_rows else ""
        body = "\n".join("  " + json.dumps([_clip(v, max_cell) if isinstance(v, str) else v for v in r],
                                           ensure_ascii=False, default=str) for r in rows)
        parts.append(f"TABLE {t['name']} ({len(t['rows'])} rows) columns {json.dumps(t['columns'])}\n{body}{more}")
    return "\n".join(parts)


def build_compose_messages(question: str, plan: str, tables: list[dict], prompts: dict | None = None,
                           summary: str | None = None) -> list[tuple[str, str]]:
    """Only with ``send_rows`` on: the model writes the final answer from the result tables, or, for a tool that
    gives one (the profile tool), from the tool's `summary` instead of its tables."""
    p = prompts or load_prompts()
    shown = summary if summary is not None else render_tables(tables)
    return [("system", p["compose_system"].strip()),
            ("user", _fill(p["compose_user"], question=question, plan=_clip(plan), tables=shown))]


def render_samples(samples: dict[str, list[dict]], max_cell: int = 200) -> str:
    lines = []
    for view, rows in samples.items():
        lines.append(f"{view}:")
        lines += ["  " + json.dumps({k: _clip(v, max_cell) if isinstance(v, str) else v for k, v in r.items()},
                                    ensure_ascii=False, default=str) for r in rows]
    return "\n".join(lines)
