"""The optional written summary: an LLM turns the report's tables into a few sentences; every number is checked.

Design decision: the model sees aggregates only (headlines and the section tables, never the quotes table or the
saved questions' rows unless ``[llm] send_rows`` allows data in prompts), and its text is kept only when every
number in it is a number shown in one of the report's tables; otherwise the report says why it was left out. With
no LLM configured the report is complete without it. The prompt is a versioned file beside this module.
"""
from __future__ import annotations

from importlib.resources import files

from earful.reports.model import Finding, Section, numbers

PROMPT_VERSION = "report-summary-v1"
PRIVATE_TABLES = ("topics-quotes",)         # verbatim user text: sent only with [llm] send_rows
MAX_ROWS = 25


def prompt() -> str:
    return (files("earful.reports") / "summary_prompt.md").read_text(encoding="utf-8")


def build_messages(title: str, headlines: list[Finding], sections: list[Section], send_rows: bool = False) -> list:
    """The messages for the summary call (a pure function: tested without a model)."""
    parts = [f"Report: {title}", "", "Headline findings:"]
    parts += [f"- {h.text}" for h in headlines] or ["- none"]
    for s in sections:
        for t in s.tables:
            if t.id in PRIVATE_TABLES and not send_rows:
                continue
            parts += ["", f"Table {t.id}: {t.title}", " | ".join(t.columns)]
            parts += [" | ".join(str(c) for c in r) for r in t.rows[:MAX_ROWS]]
    return [("system", prompt()), ("user", "\n".join(parts))]


def unsupported(text: str, sections: list[Section]) -> list[str]:
    """Numbers in `text` that no table cell of the report shows."""
    shown = {n for s in sections for t in s.tables for r in t.rows for c in r for n in numbers(str(c))}
    shown |= {n for s in sections for t in s.tables for n in numbers(t.title)}
    return [n for n in dict.fromkeys(numbers(text)) if n not in shown]


def summarize(settings, title: str, headlines: list[Finding], sections: list[Section]) -> dict | None:
    """{text, model, note}: the checked summary (text None when it was left out, with the reason in note); None
    when no LLM is configured."""
    from earful.llm import get_chat_model, llm_enabled

    if not llm_enabled(settings):
        return None
    from earful.llm import call_llm
    from earful.store import Store

    try:
        chat = get_chat_model(settings)
        msgs = build_messages(title, headlines, sections, send_rows=settings.llm.send_rows)
        with Store(settings.db) as store:
            reply = call_llm(store, chat, msgs, prompt_version=PROMPT_VERSION, purpose="report-summary")
    except Exception as exc:  # noqa: BLE001 - the report is complete without its summary
        return {"text": None, "model": settings.llm.model, "note": f"the written summary failed: {exc}"}
    text = " ".join((reply.text or "").split())
    bad = unsupported(text, sections)
    if bad:
        return {"text": None, "model": reply.model,
                "note": "the written summary was left out: it gave numbers that no table shows (" + ", ".join(bad)
                        + ")"}
    return {"text": text, "model": reply.model, "note": None}
