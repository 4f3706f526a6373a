"""Insight reports: a saved list of questions answered through the same `ask` path, written as one HTML file.

Design decision: a report is just questions. The questions live in a small YAML file (or the defaults below), each is
answered by the engines like any `earful ask`, and the page embeds plotly.js so the file opens offline. Scheduling is
left to the system scheduler (cron, systemd timers, CI): ``earful report`` is one idempotent command.
"""
from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError
from earful.web.render import STYLE, answer_html, plotly_js

DEFAULT_QUESTIONS = [
    "How many items are there per month?",
    "What is the average rating per month?",
]


def load_questions(path: str | Path | None) -> tuple[str, list[str]]:
    """(title, questions) from a YAML file ``{title: ..., questions: [...]}``, or the defaults."""
    if path is None:
        return "Earful insight report", list(DEFAULT_QUESTIONS)
    import yaml

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such questions file", hint="write a YAML file with a 'questions:' list")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"{p} is not valid YAML: {exc}") from exc
    qs = data.get("questions") if isinstance(data, dict) else None
    if not qs or not all(isinstance(q, str) and q.strip() for q in qs):
        raise InputError(f"{p} needs a non-empty 'questions:' list of strings")
    return str(data.get("title") or "Earful insight report"), qs


def build_report(settings, questions: list[str], title: str, out: str | Path) -> dict:
    """Answer every question, write the HTML report to `out`, return a summary."""
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sections, counts = [], {"answered": 0, "declined": 0, "error": 0}
    for q in questions:
        ctx = AskContext(db_path=settings.db, settings=settings, output_dir=str(out.parent / (out.stem + "-files")))
        answer = ask(q, ctx).to_json()
        counts[answer["status"]] = counts.get(answer["status"], 0) + 1
        sections.append(f'<h3 class="earful-q">{html.escape(q)}</h3>' + answer_html(answer))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style><script>{plotly_js()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='earful-meta'>workspace {html.escape(str(settings.db))} · "
            f"generated {stamp}</p>{''.join(sections)}</body></html>")
    out.write_text(page, encoding="utf-8")
    return {"out": str(out), "questions": len(questions), **counts}
