"""The report's saved questions: a YAML list answered through the same `ask` path, and the workspace's monitors.

Design decision: a question that is declined or fails (or a monitor whose SQL fails) is not shown as an answer but
listed, with its reason, under "Could not answer"; the report is still written in full and the CLI exits 1, so cron
and CI notice. Monitors re-run their saved SQL (`earful.monitors`), so their change since the last run is the same
query over newer data.
"""
from __future__ import annotations

import html
from pathlib import Path

from earful.errors import InputError
from earful.reports.model import Finding, Section, Table
from earful.web.render import answer_html, table_html

DEFAULT_TITLE = "Earful insight report"


def load_questions(path: str | Path | None) -> tuple[str, list[str]]:
    """(title, questions) from a YAML file ``{title: ..., questions: [...]}``; no file: the default title, none."""
    if path is None:
        return DEFAULT_TITLE, []
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
    return str(data.get("title") or DEFAULT_TITLE), qs


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


def questions_section(settings, questions: list[str], files_dir: str) -> tuple[Section | None, list[dict], dict]:
    """(section of answered questions, failures, counts by status) for the YAML questions."""
    counts = {"answered": 0, "declined": 0, "error": 0}
    if not questions:
        return None, [], counts
    sec = Section("questions", "Saved questions", "Each question answered now by `earful ask` (same engines).")
    failed = []
    md = []
    for q in questions:
        answer = _answer_one(q, settings, files_dir)
        status = answer.get("status") or "error"
        counts[status] = counts.get(status, 0) + 1
        if status == "answered":
            sec.html_extra += f'<h3 class="earful-q">{html.escape(q)}</h3>' + answer_html(answer)
            from earful.reports.render import md_table, md_text

            md.append(f"### {md_text(q)}\n\n{md_text(answer.get('answer', ''))}\n")
            for t in answer.get("tables") or []:
                md.append(md_table(t.get("columns", []), [[str(v) for v in r] for r in t.get("rows", [])[:50]]))
        else:
            failed.append({"question": q, "status": status, "reason": _reason(answer)})
    sec.md_extra = "\n".join(md)
    return sec, failed, counts


def monitors_section(db_path: str) -> tuple[Section | None, list[dict], list[dict]]:
    """(section, failures, results) from re-running every monitor; each run is added to its history."""
    from earful.monitors import list_all, run_all, show_value
    from earful.reports.stats import fmt_p, p_text
    from earful.store import Store

    with Store(db_path) as store:
        if not list_all(store):
            return None, [], []
    results = run_all(db_path)
    table = Table("monitors", "Monitors: latest value and change since the last run",
                  ["monitor", "question", "previous run", "latest", "change", "p", "significant", "alerts"], [])
    sec = Section("monitors", "Monitors", "Saved questions (`earful ask ... --save NAME`) re-run with their saved "
                  "SQL; a share's change since the previous run is tested with a two-proportion z-test.", [table])
    failed = []
    for j, r in enumerate(results):
        prev, latest = show_value(r["previous"]), show_value(r)
        change = "n/a" if r["change"] is None else (f"{100 * r['change']:+.1f} pp" if r.get("n") else
                                                    f"{r['change']:+g}")
        p = "n/a" if r["p"] is None else fmt_p(r["p"])
        table.rows.append([r["name"], r["question"], prev, latest, change, p, "yes" if r["significant"] else "no",
                           "; ".join(r["alerts"]) or "none"])
        if r["status"] == "error":
            failed.append({"question": f"monitor {r['name']}: {r['question']}", "status": "error",
                           "reason": r["error"]})
            continue
        if r["significant"]:
            sec.findings.append(Finding(f"Monitor '{r['name']}': {_short(prev)} -> {_short(latest)} "
                                        f"(significant, {p_text(r['p'])}).", table.id, j, "significant",
                                        r["p"]))
        for why in r["alerts"]:
            if why.startswith("above"):
                sec.findings.append(Finding(f"Monitor '{r['name']}' is at {_short(latest)}, {why}.", table.id, j,
                                            "alert", 0.0))
    sec.data["monitors"] = results
    return sec, failed, results


def _short(shown: str) -> str:
    """'12.0% (30 of 250)' -> '12.0%' (the headline keeps the share, the table keeps the counts)."""
    return shown.split(" (")[0]
