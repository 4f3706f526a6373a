"""Insight reports: what changed in the current period against the one before it, as HTML and Markdown.

Design decision: ``earful report`` is one idempotent command that cron, a systemd timer, CI or ``earful schedule``
runs. It builds sections from the workspace's own tables (`sections.SECTION_BUILDERS`, the extension point),
re-runs the monitors and answers any YAML questions, turns every significant change into a headline that cites the
table row backing it (checked: `model.check_finding`), and writes ``report.html`` (plotly.js embedded) and
``report.md``. Questions that could not be answered are listed at the end and the summary says so (the CLI exits 1).
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError, NotFoundError
from earful.reports import extra_sections  # noqa: F401  (registers "Top complaints" and "Profiles")
from earful.reports.model import Finding, Section, Table, check_finding
from earful.reports.questions import load_questions
from earful.reports.render import Report, to_html, to_markdown
from earful.reports.sections import SECTION_BUILDERS, ReportContext, register_section

__all__ = ["SECTION_BUILDERS", "Finding", "ReportContext", "Section", "Table", "build_report", "load_questions",
           "out_paths", "register_section"]

MAX_HEADLINES = 10


def out_paths(out: str | Path) -> tuple[Path, Path]:
    """(html, markdown) paths: `out` is a folder (report.html, report.md) or, ending in .html, the HTML file."""
    out = Path(out)
    if out.suffix.lower() in (".html", ".htm"):
        return out, out.with_suffix(".md")
    return out / "report.html", out / "report.md"


def headlines(sections: list[Section]) -> tuple[list[Finding], list[str]]:
    """Checked findings, alerts first, then significant changes by p-value, then the rest; and the dropped ones."""
    tables = {t.id: t for s in sections for t in s.tables}
    kept, dropped = [], []
    for s in sections:
        for f in s.findings:
            why = check_finding(f, tables)
            (dropped.append(f"{f.text} ({why})") if why else kept.append(f))
    order = {"alert": 0, "significant": 1, "info": 2}
    kept.sort(key=lambda f: (order.get(f.kind, 3), f.p))
    return kept[:MAX_HEADLINES], dropped


def data_sections(db_path: str, *, since: str | None = None, date_from: str | None = None,
                  date_to: str | None = None, source: str | None = None) -> tuple[list[Section], dict | None]:
    """Every registered section builder's section over the two periods (read-only), and the period as JSON; ([],
    None) when no item has a date and no --from/--to says where the period is."""
    from earful.reports.period import resolve
    from earful.store import Store

    with Store(db_path, read_only=True) as store:
        if source:
            store.source_info(source)        # NotFoundError naming the known sources
        ((earliest, latest),) = store.rows("SELECT min(created_at)::DATE, max(created_at)::DATE FROM items "
                                           "WHERE created_at IS NOT NULL" + (" AND source = ?" if source else ""),
                                           [source] if source else [])
        if latest is None and not (date_from or date_to):
            return [], None          # no dates at all: no periods to compare (the questions and monitors remain)
        period = resolve(latest, since, date_from, date_to)
        ctx = ReportContext(store, period, source)
        sections = [s for b in SECTION_BUILDERS if (s := b(ctx)) is not None]
    out = period.to_json() | {"label": period.label(), "previous_label": period.label("previous")}
    if latest is not None and (period.prev_start > latest or period.end <= earliest):
        out["warning"] = (f"both periods ({period.label('previous')} and {period.label()}) lie outside the data, "
                          f"which runs from {earliest} to {latest}: every count is 0")
    elif latest is not None and period.start > latest:
        out["warning"] = (f"the period {period.label()} starts after the newest item ({latest}): its counts are 0")
    return sections, out


def build_report(settings, out: str | Path, *, since: str | None = None, date_from: str | None = None,
                 date_to: str | None = None, source: str | None = None, questions: list[str] | None = None,
                 title: str | None = None) -> dict:
    """Build the report, write its HTML and Markdown, and return a summary (``failed``: what could not be answered)."""
    from earful.reports.questions import DEFAULT_TITLE, monitors_section, questions_section

    db = str(settings.db)
    if not Path(db).exists():
        raise NotFoundError(f"no workspace at {db}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    html_path, md_path = out_paths(out)
    if html_path.parent.exists() and not html_path.parent.is_dir():
        raise InputError(f"--out {out}: {html_path.parent} is a file, not a folder",
                         hint="name a folder (report.html and report.md go in it) or a file ending in .html")
    sections, period = data_sections(db, since=since, date_from=date_from, date_to=date_to, source=source)
    html_path.parent.mkdir(parents=True, exist_ok=True)      # after the period is known: a bad date writes nothing
    mon_sec, mon_failed, mon_results = monitors_section(db)
    q_sec, q_failed, counts = questions_section(settings, questions or [], str(html_path.parent / "report-files"))
    sections += [s for s in (mon_sec, q_sec) if s is not None]
    failed = q_failed + mon_failed
    counts["answered"] += len(mon_results) - len(mon_failed)    # a monitor that ran is an answered question
    counts["error"] += len(mon_failed)
    tops, dropped = headlines(sections)
    n_q = len(questions or []) + len(mon_results)
    meta = [f"workspace {db}" + (f" · source {source}" if source else ""),
            f"period {period['label']} ({period['anchor']}) against the previous {period['days']} days, "
            f"{period['previous_label']}" if period else
            "no item has a date, so nothing is compared between periods (ingest a file with a date column)",
            *([f"warning: {period['warning']}"] if period and period.get("warning") else []),
            f"generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"]
    if n_q:
        tally = f"{n_q - len(failed)} of {n_q} question{'s' if n_q != 1 else ''} answered"
        meta.append(tally + (f"; {len(failed)} could not be answered (listed at the end)" if failed else ""))
    from earful.reports.summary import summarize

    summary = summarize(settings, title or DEFAULT_TITLE, tops, sections) if sections else None
    report = Report(title or DEFAULT_TITLE, meta, tops, sections, failed, dropped, summary)
    html_path.write_text(to_html(report), encoding="utf-8")
    md_path.write_text(to_markdown(report), encoding="utf-8")
    return {"out": str(html_path), "markdown": str(md_path), "period": period, "questions": n_q, **counts,
            "could_not_answer": len(failed), "failed": failed,
            "headlines": [f.to_json() for f in tops], "unchecked_findings": dropped,
            "sections": [s.id for s in sections],
            "alerts": [{"monitor": r["name"], "alerts": r["alerts"]} for r in mon_results if r["alerts"]],
            "summary": summary}
