"""The report written twice from the same sections: a self-contained HTML page and a Markdown file.

Design decision: both are written from one `Report` (headlines, sections of tables and charts, failures), so the
Markdown that goes into an email's text part or a chat message says exactly what the HTML page says. The page
embeds plotly.js from the installed plotly package (no CDN), so it opens offline; Markdown leaves the charts out.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from earful.reports.model import Finding, Section

_EXTRA_STYLE = """
.earful-headlines li{margin:.3em 0}.earful-headlines .significant::before{content:"▲ ";color:#b60}
.earful-headlines .alert::before{content:"● ";color:#b00}.earful-tnote{color:#777;font-size:.8em}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
"""


@dataclass
class Report:
    title: str
    meta: list[str]                   # header lines: workspace, periods and how they were chosen, generated at
    headlines: list[Finding]
    sections: list[Section]
    failed: list[dict] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)   # findings that failed their check (never shown as headlines)
    summary: dict | None = None   # the LLM's checked summary {text, model, note}, when one is configured


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def md_text(v) -> str:
    """Data as Markdown text: no raw HTML survives (a review saying <img onerror=...> stays text in any viewer)."""
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def md_cell(v) -> str:
    return md_text(v).replace("|", "\\|").replace("\n", " ")


def md_table(columns: list, rows: list) -> str:
    out = ["| " + " | ".join(md_cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def to_html(report: Report) -> str:
    from earful.web.render import STYLE, chart_html, plotly_js, table_html

    parts = [f'<!doctype html><html><head><meta charset="utf-8"><title>{_esc(report.title)}</title>'
             f"<style>{STYLE}{_EXTRA_STYLE}</style><script>{plotly_js()}</script></head><body>",
             f"<h1>{_esc(report.title)}</h1>"]
    parts += [f"<p class='earful-meta'>{_esc(m)}</p>" for m in report.meta]
    if report.summary:
        parts.append('<h2 id="summary">Summary</h2>')
        if report.summary["text"]:
            parts.append(f"<p>{_esc(report.summary['text'])}</p><p class='earful-meta'>written by "
                         f"{_esc(report.summary['model'])} from the tables below; every number checked</p>")
        else:
            parts.append(f"<p class='earful-meta'>{_esc(report.summary['note'])}</p>")
    parts.append('<h2 id="headlines">Headline findings</h2>')
    if report.headlines:
        parts.append('<ol class="earful-headlines">' + "".join(
            f'<li class="{_esc(f.kind)}"><a href="#{_esc(f.table)}">{_esc(f.text)}</a></li>'
            for f in report.headlines) + "</ol>")
    else:
        parts.append("<p>No significant change between the two periods.</p>")
    for sec in report.sections:
        parts.append(f'<h2 id="sec-{_esc(sec.id)}">{_esc(sec.title)}</h2>')
        if sec.intro:
            parts.append(f"<p class='earful-meta'>{_esc(sec.intro)}</p>")
        for chart in sec.charts:
            parts.append(chart_html(chart))
        for t in sec.tables:
            parts.append(f'<h3 id="{_esc(t.id)}">{_esc(t.title)}</h3>' + table_html(t.columns, t.rows, len(t.rows)))
            if t.note:
                parts.append(f"<p class='earful-tnote'>{_esc(t.note)}</p>")
        parts.append(sec.html_extra)
    if report.failed:
        from earful.reports.questions import failures_html

        parts.append(failures_html(report.failed))
    parts.append("</body></html>")
    return "".join(parts)


def to_markdown(report: Report) -> str:
    out = [f"# {md_text(report.title)}", ""] + [f"{md_text(m)}  " for m in report.meta]
    if report.summary:
        out += ["", "## Summary", ""]
        out += ([md_text(report.summary["text"]), "",
                 f"_written by {md_text(report.summary['model'])} from the tables below; every number checked_"]
                if report.summary["text"] else [f"_{md_text(report.summary['note'])}_"])
    out += ["", "## Headline findings", ""]
    if report.headlines:
        out += [f"{i}. {'**' if f.kind != 'info' else ''}{md_text(f.text)}{'**' if f.kind != 'info' else ''} "
                f"([table](#{f.table}))" for i, f in enumerate(report.headlines, 1)]
    else:
        out.append("No significant change between the two periods.")
    out.append("")
    for sec in report.sections:
        out += [f"## {sec.title}", ""]
        if sec.intro:
            out += [f"_{sec.intro}_", ""]
        for t in sec.tables:
            out += [f'<a id="{t.id}"></a>', "", f"### {md_text(t.title)}", "", md_table(t.columns, t.rows)]
            if t.note:
                out += [f"_{t.note}_", ""]
        if sec.md_extra:
            out += [sec.md_extra, ""]
    if report.failed:
        out += ["## Could not answer", "",
                md_table(["question", "status", "reason"],
                         [[f["question"], f["status"], f["reason"]] for f in report.failed])]
    return "\n".join(out).rstrip() + "\n"
