"""A profile as one self-contained HTML page, and its figures as plotly dicts (for the notebook, reports, the web).

Design decision: the figures are plain plotly figure dicts (as `earful.charts` builds them) and the page inlines the
plotly.js bundle shipped in the installed plotly package, so the file opens offline, anywhere. The tree per subject
is nested ``<details>`` elements (collapsible with no script); every text from the data is HTML-escaped and every
JSON put in a script is escaped for HTML, so a quote cannot end the script or inject markup.
"""
from __future__ import annotations

import html
import json

from earful.qa_agent.profiles.profile import Profile

_JSON_IN_HTML = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _json(data) -> str:
    return json.dumps(data, default=str, ensure_ascii=False).translate(_JSON_IN_HTML)


def _fmt(x, d: int = 2) -> str:
    return "" if x is None else f"{x:.{d}f}"


def _red_to_green(reverse: bool = False) -> list:
    """RdYlGn spelt out as [position, colour] pairs: plotly.js does not know plotly.py's scale names and would draw
    'RdYlGn' in its default reds. Red for low, green for high (reversed when lower is better)."""
    from plotly.colors import diverging

    colors = list(diverging.RdYlGn)
    colors = colors[::-1] if reverse else colors
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


def heatmap_figure(prof: Profile) -> dict:
    """Subjects x categories (every node below the root), coloured by the mean, the count in the hover."""
    nodes = list(range(1, len(prof.tree)))
    labels = [("· " * (prof.tree.nodes[v].depth - 1)) + prof.tree.nodes[v].name for v in nodes]
    z, text = [], []
    for name in prof.subjects:
        s = prof.all_subjects.index(name)
        z.append([None if prof.n[s, v] == 0 else round(float(prof.mean[s, v]), 3) for v in nodes])
        text.append([f"n={int(prof.n[s, v])}" for v in nodes])
    return {"data": [{"type": "heatmap", "z": z, "x": labels, "y": list(prof.subjects), "text": text,
                      "colorscale": _red_to_green(reverse=not prof.params["higher_is_better"]),
                      "hovertemplate": "%{y}<br>%{x}<br>mean %{z:.2f}, %{text}<extra></extra>"}],
            "layout": {"title": {"text": f"{prof.measure} by subject and category"}, "template": "plotly_white",
                       "height": 180 + 28 * len(prof.subjects), "margin": {"l": 200, "b": 160},
                       "xaxis": {"tickangle": -40}}}


def radar_figure(prof: Profile) -> dict:
    """One polygon per subject over the top-level categories."""
    top = prof.tree.top
    theta = [prof.tree.nodes[v].name for v in top]
    data = []
    for name in prof.subjects:
        s = prof.all_subjects.index(name)
        r = [None if prof.n[s, v] == 0 else round(float(prof.mean[s, v]), 3) for v in top]
        data.append({"type": "scatterpolar", "r": r + r[:1], "theta": theta + theta[:1], "name": name,
                     "fill": "toself", "opacity": 0.55})
    return {"data": data, "layout": {"title": {"text": f"{prof.measure}: top-level categories"},
                                     "template": "plotly_white", "polar": {"radialaxis": {"visible": True}},
                                     "height": 480}}


def profile_figures(prof: Profile) -> list[dict]:
    """``[{title, plotly}]`` as the answer contract carries charts."""
    return [{"title": "heatmap", "plotly": heatmap_figure(prof)}, {"title": "radar", "plotly": radar_figure(prof)}]


def _tree_html(prof: Profile, name: str) -> str:
    s = prof.all_subjects.index(name)
    marks = {f.node_id: f.kind for f in prof.findings if f.subject == name}

    def node(v: int) -> str:
        nd = prof.tree.nodes[v]
        n = int(prof.n[s, v])
        rank = "" if n == 0 else f"rank {prof.rank[s, v]:.0f}/{len(prof.all_subjects)}"
        mark = marks.get(v, "")
        badge = f' <span class="pf-{mark}">{mark}</span>' if mark else ""
        head = (f'<span class="pf-name">{_esc(nd.name)}</span> <span class="pf-score">'
                f'{_fmt(prof.mean[s, v]) if n else "-"}</span> <span class="pf-ci">[{_fmt(prof.lo[s, v])}, '
                f'{_fmt(prof.hi[s, v])}]</span> <span class="pf-n">n={n}</span> <span class="pf-rank">{rank}</span>'
                f'{badge}')
        if not nd.children:
            return f'<div class="pf-leaf">{head}</div>'
        inner = "".join(node(c) for c in nd.children)
        return f'<details class="pf-node"{" open" if v == 0 else ""}><summary>{head}</summary>{inner}</details>'
    return node(0)


def _findings_html(prof: Profile, name: str) -> str:
    out = []
    for kind in ("weakness", "strength"):
        found = [f for f in prof.findings if f.subject == name and f.kind == kind]
        out.append(f"<h4>{'Weaknesses' if kind == 'weakness' else 'Strengths'}</h4>")
        if not found:
            out.append(f'<p class="pf-none">{_esc(prof.statement(name, kind))}</p>')
            continue
        rows = []
        for f in found:
            quotes = "".join(f'<blockquote>{_esc(q.text)}<br><span class="pf-id">item {_esc(q.item_id)} · score '
                             f'{_fmt(q.score, 1)}</span></blockquote>' for q in f.quotes)
            rows.append(f"<tr><td>{_esc(f.node)}</td><td>{f.n}</td><td>{_fmt(f.mean)} [{_fmt(f.lo)}, {_fmt(f.hi)}]"
                        f"</td><td>{_fmt(f.others_mean)}</td><td>{f.effect:+.2f} ({f.effect_sd:+.2f} sd)</td>"
                        f"<td>{f.p_adj:.2g}</td><td>{quotes}</td></tr>")
        cls = "pf-weaknesses" if kind == "weakness" else "pf-strengths"
        out.append(f'<table class="pf-table {cls}"><thead><tr><th>category</th><th>n</th><th>mean [95%]</th>'
                   "<th>others</th><th>effect</th><th>p (adj.)</th><th>representative quotes</th></tr></thead>"
                   f"<tbody>{''.join(rows)}</tbody></table>")
    return "".join(out)


def _comparison_html(prof: Profile) -> str:
    comp = prof.comparison
    if comp is None:
        return ""
    head = "".join(f"<th>{_esc(s)}</th>" for s in comp.subjects)
    rows = "".join(
        f"<tr><td>{_esc(r['node'])}</td>" + "".join(f"<td>{_fmt(r['means'][s])}</td>" for s in comp.subjects) +
        f"<td>{_fmt(r['difference'])}</td><td>{_fmt(r['effect'])}</td><td>{_fmt(r['p_adj'], 3)}</td>"
        f"<td>{'yes' if r['significant'] else ''}</td></tr>" for r in comp.rows[:25])
    return (f"<h2>Where the subjects differ most</h2><p>{_esc(comp.test)}; effect size: {_esc(comp.effect_name)}; "
            f"p adjusted ({_esc(prof.params['correction'])}) over the categories.</p>"
            f'<table class="pf-table pf-comparison"><thead><tr><th>category</th>{head}<th>difference</th>'
            f"<th>{_esc(comp.effect_name)}</th><th>p (adj.)</th><th>significant</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
.pf-table{border-collapse:collapse;margin:.5em 0;font-size:.88em}
.pf-table td,.pf-table th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
.pf-table th{background:#f3f3f3} blockquote{margin:.2em 0 .5em 0;padding-left:.6em;border-left:3px solid #ccc}
.pf-node,.pf-leaf{margin-left:1.2em}.pf-score{font-weight:600}.pf-ci,.pf-n,.pf-rank,.pf-id,.pf-meta{color:#777}
.pf-weakness{color:#fff;background:#c0392b;padding:0 .4em;border-radius:3px;font-size:.8em}
.pf-strength{color:#fff;background:#27ae60;padding:0 .4em;border-radius:3px;font-size:.8em}
.pf-none{color:#555;font-style:italic} summary{cursor:pointer}
"""


def profile_html(prof: Profile, title: str | None = None) -> str:
    """The whole page: summary, heatmap, radar, then per subject its tree and its strengths and weaknesses."""
    from importlib.resources import files

    plotly_js = (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    title = title or f"Profile of {', '.join(prof.subjects)} ({prof.source})"
    figs = [("pf-heatmap", heatmap_figure(prof)), ("pf-radar", radar_figure(prof))]
    charts = "".join(f'<div class="pf-chart" id="{d}"></div>' for d, _ in figs)
    draw = "".join(f'Plotly.newPlot("{d}", {_json(f["data"])}, {_json(f["layout"])}, {{responsive: true}});'
                   for d, f in figs)
    notes = "".join(f"<li>{_esc(n)}</li>" for n in prof.notes)
    subjects = "".join(
        f'<section class="pf-subject" data-subject="{_esc(s)}"><h2>{_esc(s)}</h2>'
        f'<p>{_esc(prof.statement(s, "weakness"))}<br>{_esc(prof.statement(s, "strength"))}</p>'
        f"<h4>Category tree</h4>{_tree_html(prof, s)}{_findings_html(prof, s)}</section>" for s in prof.subjects)
    meta = (f"measure: {prof.measure} · interval: {prof.interval} · test: subject x category interaction, "
            f"{prof.params['correction']} correction at {prof.params['alpha']:g}, categories with at least "
            f"{prof.params['min_items']} items · {prof.params['n_items']} items · tree: {prof.tree.origin}")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f"<style>{STYLE}</style><script>{plotly_js}</script></head><body>"
            f'<h1>{_esc(title)}</h1><p class="pf-meta">{_esc(meta)}</p>'
            f'{"<ul class=pf-notes>" + notes + "</ul>" if notes else ""}{charts}{_comparison_html(prof)}{subjects}'
            f"<script>{draw}</script></body></html>")


def write_html(prof: Profile, path, title: str | None = None) -> str:
    from pathlib import Path

    from earful.errors import InputError

    p = Path(path)
    page = profile_html(prof, title)
    try:
        p.write_text(page, encoding="utf-8")
    except OSError as exc:          # a missing or non-folder parent, no permission, a folder at that path
        raise InputError(f"--html {path}: cannot write there ({exc.strerror or type(exc).__name__})",
                         hint="name a file in an existing folder you can write to") from None
    return str(p)
