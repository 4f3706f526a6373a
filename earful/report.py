"""Insight reports: a saved list of questions answered through the same `ask` path, written as one HTML file.

Design decision: a report is just questions. The questions live in a small YAML file (or the defaults below), each is
answered by the engines like any `earful ask`, and the page embeds plotly.js so the file opens offline. Scheduling is
left to the system scheduler (cron, systemd timers, CI): ``earful report`` is one idempotent command. A question
that is declined or fails is not shown as an answer but listed, with its reason, under "Could not answer"; the file
is still written in full and the CLI exits 1, so a scheduler notices.
"""
from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError, NotFoundError
from earful.web.render import STYLE, answer_html, plotly_js, table_html

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


def _reason(answer: dict) -> str:
    """Why a question got no answer: the engine's decline/error text, else the first failed step's error."""
    text = (answer.get("answer") or "").strip()
    if text:
        return text
    failed = [s.get("error") for s in answer.get("steps") or [] if not s.get("ok") and s.get("error")]
    return str(failed[0]) if failed else "the engine gave no reason"


def _answer_one(question: str, settings, output_dir: str) -> dict:
    """The Answer (as its JSON dict) for one question; a question whose `ask` raised becomes an 'error' answer."""
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext

    ctx = AskContext(db_path=settings.db, settings=settings, output_dir=output_dir)
    try:
        return ask(question, ctx).to_json()
    except Exception as exc:  # noqa: BLE001 - one failing question must not lose the others' answers
        return {"status": "error", "answer": f"{type(exc).__name__}: {exc}", "engine": "none"}


def failures_html(failed: list[dict]) -> str:
    """The report's closing "Could not answer" section: each question, its status and the reason (escaped)."""
    if not failed:
        return ""
    rows = [[f["question"], f["status"], f["reason"]] for f in failed]
    return ('<h2 id="could-not-answer">Could not answer</h2>'
            f"<p class='earful-meta'>{len(failed)} question{'s' if len(failed) != 1 else ''} got no answer, "
            "each with the reason the engine gave (or the error it raised).</p>"
            + table_html(["question", "status", "reason"], rows, max_rows=len(rows)))


def build_report(settings, questions: list[str], title: str, out: str | Path) -> dict:
    """Answer every question, write the HTML report to `out`, return a summary.

    Answered questions are rendered in order; declined or failed ones are not shown as answers but listed, with
    their reason, in a "Could not answer" section at the end. The file is written either way; the summary's
    ``could_not_answer`` and ``failed`` say what is missing (the CLI exits non-zero on it).
    """
    if not Path(settings.db).exists():    # a workspace-wide failure, not one per question (as `earful ask`)
        raise NotFoundError(f"no workspace at {settings.db}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sections, failed = [], []
    counts = {"answered": 0, "declined": 0, "error": 0}
    for q in questions:
        answer = _answer_one(q, settings, str(out.parent / (out.stem + "-files")))
        status = answer.get("status") or "error"
        counts[status] = counts.get(status, 0) + 1
        if status == "answered":
            sections.append(f'<h3 class="earful-q">{html.escape(q)}</h3>' + answer_html(answer))
        else:
            failed.append({"question": q, "status": status, "reason": _reason(answer)})
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    tally = f"{counts['answered']} of {len(questions)} questions answered"
    if failed:
        tally += f"; {len(failed)} could not be answered (listed at the end)"
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style><script>{plotly_js()}</script></head><body>"
            f"<h1>{html.escape(title)}</h1><p class='earful-meta'>workspace {html.escape(str(settings.db))} · "
            f"generated {stamp} · {html.escape(tally)}</p>{''.join(sections)}{failures_html(failed)}</body></html>")
    out.write_text(page, encoding="utf-8")
    return {"out": str(out), "questions": len(questions), **counts, "could_not_answer": len(failed),
            "failed": failed}
