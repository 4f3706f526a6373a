"""How Earful's results look in a notebook: answers, topic pictures and profiles as rich HTML with live charts.

Each object keeps the data as Python values (``.tables``: polars frames, ``.charts``: plotly figures) and renders
with ``_repr_html_``. Design decision: the HTML is the web chat's renderer (`earful.web.render`), and plotly.js comes
from the installed plotly package, sent once per kernel with the first chart (never from a CDN: notebooks run
offline); a notebook front end that runs require.js gets it too, because ``define`` is hidden while it loads.
"""
from __future__ import annotations

from earful.web.render import answer_html, chart_html, plotly_js, table_html

_SENT = {"plotly": False}

STYLE = """<style>
.earful-answer .earful-table,.earful-nb .earful-table{border-collapse:collapse;margin:.4em 0;font-size:.9em}
.earful-answer .earful-table td,.earful-answer .earful-table th,.earful-nb .earful-table td,
.earful-nb .earful-table th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}
.earful-answer .earful-note{color:#a60}.earful-answer .earful-meta,.earful-answer .earful-ids{color:#777;font-size:.8em}
.earful-answer pre{background:#f7f7f7;padding:.5em;white-space:pre-wrap;word-break:break-word}
.earful-answer .earful-chart,.earful-nb .earful-chart{width:100%;min-height:440px}
</style>"""


def plotly_loader() -> str:
    """plotly.js as a script element, the first time this kernel renders a chart; '' after that."""
    if _SENT["plotly"]:
        return ""
    _SENT["plotly"] = True
    return ("<script>window.__earfulDefine = window.define; window.define = undefined;</script>"
            f"<script>{plotly_js()}</script><script>window.define = window.__earfulDefine;</script>")


def figure(fig: dict):
    """A plotly figure dict as a `plotly.graph_objects.Figure` (what ``.charts`` hands out)."""
    import plotly.graph_objects as go

    try:
        return go.Figure(fig)
    except ValueError:          # a property this plotly version does not know: keep the rest
        return go.Figure(fig, skip_invalid=True)


def frame(columns: list, rows: list):
    """A result table as a polars DataFrame (repeated column names made unique, mixed types kept)."""
    import polars as pl

    seen: dict[str, int] = {}
    names = []
    for c in columns:
        c = str(c)
        seen[c] = seen.get(c, 0) + 1
        names.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
    if not rows:
        return pl.DataFrame(schema={n: pl.String for n in names})
    try:
        return pl.DataFrame([list(r) for r in rows], schema=names, orient="row", infer_schema_length=None)
    except (TypeError, ValueError, pl.exceptions.PolarsError):   # one column mixes types: keep them as text
        return pl.DataFrame([[None if v is None else str(v) for v in r] for r in rows], schema=names, orient="row")


class NotebookAnswer:
    """An answer: ``.text``, ``.tables`` (polars), ``.charts`` (plotly), ``.sql``, ``.item_ids``; renders inline.

    ``.data`` is the same JSON as ``earful ask --json`` (``answer["status"]`` reads it).
    """

    def __init__(self, data: dict):
        self.data = data

    def __getitem__(self, key):
        return self.data[key]

    @property
    def text(self) -> str:
        return self.data.get("answer", "")

    @property
    def status(self) -> str:
        return self.data.get("status", "")

    @property
    def conversation_id(self) -> str | None:
        return self.data.get("conversation_id")

    @property
    def item_ids(self) -> list[str]:
        return list(self.data.get("item_ids") or [])

    @property
    def tables(self) -> list:
        """The result tables as polars DataFrames."""
        return [frame(t.get("columns", []), t.get("rows", [])) for t in self.data.get("tables") or []]

    @property
    def charts(self) -> list:
        """The charts as plotly Figures (``answer.charts[0].show()``, ``.write_html(...)``)."""
        return [figure(c["plotly"]) for c in self.data.get("charts") or [] if c.get("plotly")]

    @property
    def sql(self) -> list[str]:
        """The SQL that produced the answer, one string per statement run."""
        return [s["code"] for s in self.data.get("steps") or [] if s.get("language") == "sql"]

    def tables_pl(self) -> list:
        """Same as ``.tables`` (the name earlier notebooks used)."""
        return self.tables

    def __repr__(self) -> str:
        return f"<{self.status}: {self.text}>"

    def _repr_html_(self) -> str:
        body = answer_html(self.data)
        body = body.replace("<details", "<details open", 1)   # in a notebook the code is read, not hidden
        return STYLE + (plotly_loader() if self.data.get("charts") else "") + body


class TopicCharts:
    """The four topic pictures (intertopic map, keyword bars, hierarchy, topics over time), interactive in the cell.

    ``.charts`` are plotly Figures, ``.titles`` their titles; ``write_html(path)`` saves the offline page.
    """

    def __init__(self, figs: list[dict], page_title: str = "Topics"):
        self.figs = figs
        self.page_title = page_title

    @property
    def titles(self) -> list[str]:
        return [f["title"] for f in self.figs]

    @property
    def charts(self) -> list:
        return [figure(f["plotly"]) for f in self.figs]

    def write_html(self, path) -> str:
        from earful.topics.pictures import write_page

        return write_page(self.figs, path, title=self.page_title)

    def __repr__(self) -> str:
        return f"<TopicCharts: {', '.join(self.titles)}>"

    def _repr_html_(self) -> str:
        parts = [f"<h4>{f['title']}</h4>" + chart_html(f).replace('class="earful-chart"', 'class="earful-chart" '
                 f'style="height:{int(f["plotly"].get("layout", {}).get("height") or 420)}px"', 1)
                 for f in self.figs]
        return STYLE + plotly_loader() + '<div class="earful-nb">' + "".join(parts) + "</div>"


class NotebookProfile:
    """A subject profile (`earful.qa_agent.profiles.Profile`): statements, charts and the per-category table inline.

    ``.tables`` are its polars frames (nodes, findings, comparison), ``.charts`` its plotly figures, ``.raw`` the
    Profile itself; its methods (``weakest``, ``weakest_subject``, ``compare``, ...) work on this object too.
    """

    def __init__(self, prof):
        self.raw = prof

    def __getattr__(self, name):
        return getattr(self.raw, name)

    @property
    def tables(self) -> dict:
        return self.raw.frames()

    def _figs(self) -> list[dict]:
        from earful.qa_agent.profiles.html import profile_figures

        return profile_figures(self.raw)

    @property
    def charts(self) -> list:
        return [figure(f["plotly"]) for f in self._figs()]

    def __repr__(self) -> str:
        return f"<Profile of {len(self.raw.subjects)} subjects over {len(self.raw.tree)} categories>"

    def _repr_html_(self) -> str:
        import html

        p = self.raw
        lines = "".join(f"<li>{html.escape(p.statement(s, 'weakness'))}<br>{html.escape(p.statement(s, 'strength'))}"
                        "</li>" for s in p.subjects)
        notes = "".join(f'<p class="earful-note">note: {html.escape(n)}</p>' for n in p.notes)
        charts = "".join(f"<h4>{html.escape(f['title'])}</h4>" + chart_html(f) for f in self._figs())
        rows = [r for r in p.node_rows() if r["finding"]] or p.node_rows()[:30]
        cols = ["subject", "node", "n", "mean", "lo", "hi", "rank", "effect", "p_adj", "finding"]
        table = table_html(cols, [[_round(r[c]) for c in cols] for r in rows])
        head = f"<p><b>{html.escape(p.measure)}</b> by {html.escape(p.subject_column)} ({html.escape(p.interval)})</p>"
        return (STYLE + plotly_loader() + f'<div class="earful-nb">{head}{notes}<ul>{lines}</ul>{charts}'
                f"<h4>{'significant findings' if any(r['finding'] for r in rows) else 'categories'}</h4>{table}</div>")


def _round(v):
    return round(v, 3) if isinstance(v, float) else v
