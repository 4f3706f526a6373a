"""One HTML rendering of an `Answer` for every surface: the web chat, Jupyter and the insight reports.

Design decision: answers are rendered server-side by this one function, so the web page, a notebook cell and a
report show the same text, tables, charts, code and provenance. Charts are plotly figures drawn by plotly.js, which
is served from the installed plotly package (never a CDN: Earful runs offline).
"""
from __future__ import annotations

import html
import json
import uuid


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


_JSON_IN_HTML = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"}


def json_for_html(data) -> str:
    """`data` as JSON that is safe inside an HTML ``<script>`` element (and in inline JavaScript).

    Every JSON that Earful puts into a page goes through here (web chat, reports, notebooks): ``<``, ``>`` and ``&``
    become ``\\u003c``/``\\u003e``/``\\u0026`` so a value such as ``</script><img onerror=...>`` can neither end the
    script element nor open a comment, and U+2028/U+2029 are escaped for pre-ES2019 engines. The result is still
    JSON and parses back to the same value.
    """
    return json.dumps(data, default=str, ensure_ascii=False).translate(_JSON_IN_HTML)


def table_html(columns: list, rows: list, max_rows: int = 50) -> str:
    head = "".join(f"<th>{_esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in r) + "</tr>" for r in rows[:max_rows])
    more = f"<caption>{len(rows)} rows, {max_rows} shown</caption>" if len(rows) > max_rows else ""
    return f'<table class="earful-table">{more}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _wrap_title(text: str, width: int = 42) -> str:
    """A long chart title broken into lines (plotly never wraps one, so on a phone it ran off both sides)."""
    import textwrap

    if len(text) <= width or "<br" in text.lower():
        return text
    return "<br>".join(textwrap.wrap(text, width)) or text


def responsive_layout(layout: dict) -> dict:
    """`layout` for any width: axes grow their margins to fit their labels (`automargin`), no fixed size, small
    outer margins and a wrapped title, so at 420 px wide no tick label or title is cut."""
    out = dict(layout or {})
    for key in list(out) + ["xaxis", "yaxis"]:
        if key.startswith(("xaxis", "yaxis")):
            axis = dict(out.get(key) or {})
            axis.setdefault("automargin", True)
            out[key] = axis
    out.pop("width", None)
    out["autosize"] = True
    out.setdefault("height", 380)           # room for the table and the code below it on one screen
    out.setdefault("margin", {"l": 40, "r": 16, "t": 56, "b": 40})
    title = out.get("title")
    if isinstance(title, str):
        title = {"text": title}
    if isinstance(title, dict) and isinstance(title.get("text"), str):
        # above the plot area, pushing the top margin as far as its lines need (not at a fixed container height)
        out["title"] = {"yref": "paper", "y": 1, "yanchor": "bottom", "pad": {"b": 12}, **title,
                        "text": _wrap_title(title["text"]), "automargin": True}
    return out


def chart_html(chart: dict) -> str:
    """A div plus the script that draws it with plotly.js (which the page must have loaded)."""
    fig = chart.get("plotly")
    if not fig:
        return ""
    div = "earful-chart-" + uuid.uuid4().hex[:10]
    data = json_for_html(fig.get("data", []))
    layout = json_for_html(responsive_layout(fig.get("layout", {})))
    return (f'<div class="earful-chart" id="{div}"></div>'
            f'<script>Plotly.newPlot("{div}", {data}, {layout}, {{responsive: true}});</script>')


def answer_html(answer: dict, item_link: str | None = None) -> str:
    """Render an Answer (as its JSON dict) to an HTML fragment: text, notes, charts, then tables, code, items.

    `item_link` (the web chat's ``/items/``) makes each cited item id a link to its item page; reports and notebooks
    have no such page and show the ids as text.
    """
    from urllib.parse import quote

    status = answer.get("status", "error")
    parts = [f'<div class="earful-answer earful-{_esc(status)}">',
             f'<p class="earful-text">{_esc(answer.get("answer", ""))}</p>']
    for note in answer.get("notes") or []:
        parts.append(f'<p class="earful-note">note: {_esc(note)}</p>')
    for c in answer.get("charts") or []:       # the picture first; long tables come after it
        titled = ((c.get("plotly") or {}).get("layout") or {}).get("title")
        head = "" if titled else f'<h4>{_esc(c.get("title", ""))}</h4>'    # plotly draws the title itself
        parts.append(head + chart_html(c))
    for i, t in enumerate(answer.get("tables") or []):
        parts.append(f'<h4 class="earful-table-name">{_esc(t.get("name", "result"))}</h4>'
                     + table_html(t.get("columns", []), t.get("rows", [])).replace(
                         '<table class="earful-table">', f'<table class="earful-table" data-index="{i}">', 1))
    steps = answer.get("steps") or []
    if steps:
        parts.append('<details class="earful-code"><summary>code that produced this answer</summary>')
        for s in steps:
            flag = "" if s.get("ok") else f' <span class="earful-err">failed: {_esc(s.get("error"))}</span>'
            parts.append(f'<pre><code class="language-{_esc(s.get("language"))}">'
                         f'{_esc(s.get("code"))}</code></pre>{flag}')
        parts.append("</details>")
    ids = [str(i) for i in (answer.get("item_ids") or [])[:20]]
    if ids and item_link:
        links = ", ".join(f'<a class="earful-item" href="{_esc(item_link + quote(i, safe=""))}">{_esc(i)}</a>'
                          for i in ids)
        parts.append(f'<p class="earful-ids">items: {links}</p>')
    elif ids:
        parts.append(f'<p class="earful-ids">items: {_esc(", ".join(ids))}</p>')
    parts.append(f'<p class="earful-meta">engine: {_esc(answer.get("engine"))} · status: {_esc(status)}</p></div>')
    return "\n".join(parts)


def plotly_js() -> str:
    """The plotly.js bundle shipped inside the plotly package."""
    from importlib.resources import files

    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


STYLE = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
.earful-table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
.earful-table td,.earful-table th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
.earful-table th{background:#f3f3f3}.earful-note{color:#a60}.earful-err{color:#b00}
.earful-meta,.earful-ids{color:#777;font-size:.8em}.earful-declined .earful-text{color:#a60}
.earful-error .earful-text{color:#b00}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap;
  word-break:break-word}.earful-chart{width:100%;max-width:100%}
.earful-q{font-weight:600;margin-top:1.5em}
.earful-working{color:#555;white-space:nowrap}.earful-working[hidden]{display:none}
.earful-spin{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.1em;border:2px solid #ccc;
  border-top-color:#555;border-radius:50%;animation:earful-spin .8s linear infinite}
@keyframes earful-spin{to{transform:rotate(360deg)}}
"""
