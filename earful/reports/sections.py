"""The report's data sections, each a builder ``build(ctx) -> Section | None``, listed in `SECTION_BUILDERS`.

Design decision: the list is the extension point. A stage that has something to add (top complaints from aspects,
a profile summary where a subject column exists) appends a builder with `register_section`; a builder returns None
when its data is not in the workspace (no labels, no topics, no ratings), so a section appears only when it has
something to say. Every builder reads the same two periods through `ReportContext.win`, so all tables agree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from earful.reports.model import Finding, Section, Table
from earful.reports.period import Period
from earful.reports.stats import ALPHA, fmt_p, holm, p_text, pct, two_proportions, welch, wilson
from earful.store import quote_ident

GROUP_COLUMNS = ("app", "app_name", "product", "product_name", "model")   # rating shifts per value of these
MAX_TOPIC_ROWS = 20


@dataclass
class ReportContext:
    store: object                 # an open (read-only) earful.store.Store
    period: Period
    source: str | None = None
    notes: list[str] = field(default_factory=list)

    def _ts(self, d: date) -> str:
        return f"TIMESTAMPTZ '{d.isoformat()} 00:00:00+00'"

    def win(self, col: str = "i.created_at") -> str:
        """SQL: 'current', 'previous' or NULL for the row's time column `col`."""
        p = self.period
        return (f"CASE WHEN {col} >= {self._ts(p.start)} AND {col} < {self._ts(p.end)} THEN 'current' "
                f"WHEN {col} >= {self._ts(p.prev_start)} AND {col} < {self._ts(p.start)} THEN 'previous' END")

    def where(self, alias: str = "i") -> tuple[str, list]:
        """SQL condition (items in either period, of --source) and its parameters."""
        p = self.period
        cond = (f"{alias}.created_at >= {self._ts(p.prev_start)} AND {alias}.created_at < {self._ts(p.end)}")
        if self.source:
            return cond + f" AND {alias}.source = ?", [self.source]
        return cond, []


def _change(a: int, b: int) -> str:
    return "n/a" if a == 0 else f"{100 * (b - a) / a:+.1f}%"


def _share_cell(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{pct(k / n) if n else 'n/a'} ({pct(lo)}–{pct(hi)})" if n else "n/a"


def _grouped_bar(title: str, names: list[str], before: list[float], now: list[float], y_title: str) -> dict:
    layout = {"title": {"text": title}, "barmode": "group", "yaxis": {"title": {"text": y_title}},
              "margin": {"l": 60, "r": 20, "t": 50, "b": 120}}
    return {"title": title, "png": None, "plotly": {"data": [
        {"type": "bar", "name": "previous", "x": names, "y": before},
        {"type": "bar", "name": "current", "x": names, "y": now}], "layout": layout}}


# -- volume ---------------------------------------------------------------------------------------------------------
def volume(ctx: ReportContext) -> Section | None:
    """Items per day (or week) over both periods, per source, and the totals of each period."""
    cond, params = ctx.where()
    rows = ctx.store.rows(f"SELECT i.source, {ctx.win()} AS w, count(*) FROM items i WHERE {cond} GROUP BY ALL",
                          params)
    by: dict[str, dict[str, int]] = {}
    for src, w, n in rows:
        by.setdefault(src, {"previous": 0, "current": 0})[w] += n
    prev, cur = sum(v["previous"] for v in by.values()), sum(v["current"] for v in by.values())
    table = Table("volume-by-source", "Items per period, by source", ["source", "previous", "current", "change"],
                  [["all sources", str(prev), str(cur), _change(prev, cur)]]
                  + [[s, str(v["previous"]), str(v["current"]), _change(v["previous"], v["current"])]
                     for s, v in sorted(by.items())])
    grain = "day" if ctx.period.days * 2 <= 62 else "week"
    series_rows = ctx.store.rows(f"SELECT date_trunc('{grain}', i.created_at)::DATE AS d, i.source, count(*) "
                                 f"FROM items i WHERE {cond} GROUP BY ALL ORDER BY 1", params)
    first = ctx.period.prev_start if grain == "day" else ctx.period.prev_start - timedelta(
        days=ctx.period.prev_start.weekday())
    xs, d = [], first
    while d < ctx.period.end:
        xs.append(d)
        d += timedelta(days=1 if grain == "day" else 7)
    series = {s: [0] * len(xs) for s in sorted(by)}
    pos = {x: j for j, x in enumerate(xs)}
    for day, src, n in series_rows:
        if day in pos:
            series[src][pos[day]] = n
    from earful.charts import line

    chart = line(f"Items per {grain}", [x.isoformat() for x in xs], series or {"items": [0] * len(xs)},
                 x_title=grain, y_title="items")
    edge = (datetime.combine(ctx.period.start, datetime.min.time()) - timedelta(hours=12)).isoformat()
    chart["plotly"]["layout"]["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": edge, "x1": edge,
                                            "y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#888"}}]
    chart["plotly"]["layout"]["annotations"] = [{"x": edge, "y": 1, "xref": "x", "yref": "paper", "showarrow": False,
                                                 "xanchor": "left", "text": " current period"}]
    sec = Section("volume", "Volume", f"Items per {grain} over both periods (the dotted line starts the current "
                  "one), and per source.", [table], [chart],
                  data={"by_source": by, "previous": prev, "current": cur})
    sec.findings.append(Finding(f"{cur} items in this period against {prev} in the previous one"
                                + (f" ({_change(prev, cur)})." if prev else "."), table.id, 0))
    return sec


# -- label shares ---------------------------------------------------------------------------------------------------
def _share_rows(counts: dict, keys: list) -> tuple[list[dict], int, int]:
    """For each key: k1, k2 and the test; the p-values Holm-adjusted over all keys."""
    n1 = sum(c[0] for c in counts.values())
    n2 = sum(c[1] for c in counts.values())
    out = []
    for key in keys:
        k1, k2 = counts.get(key, (0, 0))
        z, p = two_proportions(k1, n1, k2, n2)
        out.append({"key": key, "k1": k1, "k2": k2, "n1": n1, "n2": n2, "z": z, "p": p})
    for r, adj in zip(out, holm([r["p"] for r in out])):
        r["p_holm"] = adj
        r["significant"] = adj < ALPHA
    return out, n1, n2


def _share_finding(r: dict, name: str, what: str, table: Table, row: int) -> Finding:
    s1, s2 = pct(r["k1"] / r["n1"]), pct(r["k2"] / r["n2"])
    verb = "rose" if r["z"] > 0 else "fell"
    return Finding(f"{name} {verb} from {s1} to {s2} of {what} (Holm-corrected {p_text(r['p_holm'])}).",
                   table.id, row, "significant", r["p_holm"])


def labels(ctx: ReportContext) -> Section | None:
    """Each taxonomy's label shares in both periods, with 95% Wilson intervals and a two-proportion test."""
    if not ctx.store.table_exists("classify_labels"):
        return None
    cond, params = ctx.where()
    rows = ctx.store.rows(f"SELECT l.taxonomy, l.label, {ctx.win()} AS w, count(*) FROM classify_labels l "
                          f"JOIN items i ON i.item_id = l.item_id WHERE {cond} GROUP BY ALL", params)
    if not rows:
        return None
    sec = Section("labels", "Label shares",
                  "Share of labelled items per label, with 95% Wilson intervals (sampling error only; "
                  "`earful classify shares` also accounts for classifier error). A change is flagged only when a "
                  "two-proportion z-test is significant at 5% after Holm's correction over the taxonomy's labels.")
    for tax in sorted({r[0] for r in rows}):
        counts: dict[str, list[int]] = {}
        for _, label, w, n in (r for r in rows if r[0] == tax):
            counts.setdefault(label, [0, 0])[0 if w == "previous" else 1] += n
        keys = sorted(counts, key=lambda k: -(counts[k][0] + counts[k][1]))
        tested, n1, n2 = _share_rows(counts, keys)
        table = Table(f"labels-{_slug(tax)}", f"Taxonomy '{tax}': {n1} labelled items before, {n2} now",
                      ["label", "previous n", "previous share (95% CI)", "current n", "current share (95% CI)",
                       "change", "p (Holm)", "significant"], [])
        for j, r in enumerate(tested):
            change = f"{100 * (r['k2'] / n2 - r['k1'] / n1):+.1f} pp" if n1 and n2 else "n/a"
            table.rows.append([r["key"], str(r["k1"]), _share_cell(r["k1"], n1), str(r["k2"]),
                               _share_cell(r["k2"], n2), change, fmt_p(r["p_holm"]),
                               "yes" if r["significant"] else "no"])
            if r["significant"]:
                sec.findings.append(_share_finding(r, f"Label '{r['key']}' ({tax})", "labelled items", table, j))
        sec.tables.append(table)
        top = tested[:15]
        sec.charts.append(_grouped_bar(f"Label shares: {tax}", [r["key"] for r in top],
                                       [round(r["k1"] / n1, 4) if n1 else 0 for r in top],
                                       [round(r["k2"] / n2, 4) if n2 else 0 for r in top], "share"))
        sec.data[tax] = tested
    return sec


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


# -- topics ---------------------------------------------------------------------------------------------------------
def topics(ctx: ReportContext) -> Section | None:
    """Emerging and fading topics: each topic's share of all items (outliers included) in the two periods."""
    if not ctx.store.table_exists("topic_assignments"):
        return None
    cond, params = ctx.where("t")
    rows = ctx.store.rows(f"SELECT t.topic_id, any_value(t.topic), {ctx.win('t.created_at')} AS w, count(*) "
                          f"FROM topic_items t WHERE {cond} GROUP BY t.topic_id, w", params)
    if not rows:
        return None
    counts: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for tid, name, w, n in rows:
        counts.setdefault(tid, [0, 0])[0 if w == "previous" else 1] += n
        names[tid] = name
    n1, n2 = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    keys = sorted((t for t in counts if t != -1), key=lambda t: -(counts[t][0] + counts[t][1]))
    tested = []
    for t in keys:
        z, p = two_proportions(counts[t][0], n1, counts[t][1], n2)
        tested.append({"key": t, "k1": counts[t][0], "k2": counts[t][1], "n1": n1, "n2": n2, "z": z, "p": p})
    for r, adj in zip(tested, holm([r["p"] for r in tested])):
        r["p_holm"], r["significant"] = adj, adj < ALPHA
        r["trend"] = ("emerging" if r["z"] > 0 else "fading") if r["significant"] else "stable"
    tested.sort(key=lambda r: (not r["significant"], r["p_holm"] if r["significant"] else 0, -(r["k1"] + r["k2"])))
    table = Table("topics-trend", f"Topics: {n1} items before, {n2} now (outliers count in the base)",
                  ["topic id", "topic", "previous n", "previous share", "current n", "current share", "change",
                   "p (Holm)", "trend"], [])
    quotes = Table("topics-quotes", "Quotes from emerging and fading topics", ["topic", "trend", "item id", "quote"],
                   [])
    sec = Section("topics", "Emerging and fading topics",
                  "A topic is emerging or fading when the change in its share passes a two-proportion z-test at 5% "
                  "after Holm's correction over all topics. Quotes come from the period where the topic is larger.")
    shown = max(MAX_TOPIC_ROWS, sum(r["significant"] for r in tested))   # every emerging/fading topic is shown
    if len(tested) > shown:
        table.note = (f"{shown} of {len(tested)} topics shown: the emerging and fading ones, then the largest; "
                      "all of them in --json")
    for j, r in enumerate(tested[:shown]):
        s1 = pct(r["k1"] / n1) if n1 else "n/a"
        s2 = pct(r["k2"] / n2) if n2 else "n/a"
        change = f"{100 * (r['k2'] / n2 - r['k1'] / n1):+.1f} pp" if n1 and n2 else "n/a"
        table.rows.append([str(r["key"]), names[r["key"]], str(r["k1"]), s1, str(r["k2"]), s2, change,
                           fmt_p(r["p_holm"]), r["trend"]])
        if r["significant"]:
            sec.findings.append(Finding(f"Topic '{names[r['key']]}' is {r['trend']}: {s1} to {s2} of items "
                                        f"(Holm-corrected {p_text(r['p_holm'])}).", table.id, j, "significant",
                                        r["p_holm"]))
            for item_id, text in _quotes(ctx, r["key"], "current" if r["z"] > 0 else "previous"):
                quotes.rows.append([names[r["key"]], r["trend"], item_id, text])
    sec.tables.append(table)
    if quotes.rows:
        sec.tables.append(quotes)
    top = tested[:12]
    sec.charts.append(_grouped_bar("Topic shares", [f"{r['key']}: {names[r['key']]}"[:40] for r in top],
                                   [round(r["k1"] / n1, 4) if n1 else 0 for r in top],
                                   [round(r["k2"] / n2, 4) if n2 else 0 for r in top], "share of items"))
    sec.data["topics"] = [{**r, "topic": names[r["key"]]} for r in tested]
    return sec


def _quotes(ctx: ReportContext, topic_id: int, which: str, n: int = 2) -> list[tuple[str, str]]:
    """The `n` best-scoring items of a topic in one period: (item_id, text shortened to 240 characters)."""
    cond, params = ctx.where("i")
    rows = ctx.store.rows(f"SELECT i.item_id, i.text FROM topic_assignments a JOIN items i ON i.item_id = a.item_id "
                          f"WHERE a.topic_id = ? AND {cond} AND {ctx.win()} = ? "
                          f"ORDER BY a.score DESC NULLS LAST, i.item_id LIMIT ?", [topic_id, *params, which, n])
    return [(i, t if len(t) <= 240 else t[:239] + "…") for i, t in rows]


# -- ratings --------------------------------------------------------------------------------------------------------
def _mean_rows(raw: list[tuple]) -> dict:
    """{group: [(n, mean, sd) previous, (n, mean, sd) current]} from rows (group, window, n, mean, sd)."""
    out: dict = {}
    for g, w, n, m, s in raw:
        out.setdefault(g, [(0, None, None), (0, None, None)])[0 if w == "previous" else 1] = (n, m, s)
    return out


def _rating_row(label: str, prev: tuple, cur: tuple, p: float, sig: bool) -> list[str]:
    def mean(x):
        return f"{x[1]:.2f}" if x[0] else "n/a"
    change = f"{cur[1] - prev[1]:+.2f}" if prev[0] and cur[0] else "n/a"
    return [label, str(prev[0]), mean(prev), str(cur[0]), mean(cur), change, fmt_p(p), "yes" if sig else "no"]


def ratings(ctx: ReportContext) -> Section | None:
    """The average rating (or score) in both periods, overall and per app/product/model, with Welch's t-test."""
    cond, params = ctx.where()
    q = (f"SELECT {{g}} AS g, {ctx.win()} AS w, count(i.rating), avg(i.rating), stddev_samp(i.rating) FROM items i "
         f"{{join}} WHERE i.rating IS NOT NULL AND {cond} GROUP BY ALL")
    overall = _mean_rows(ctx.store.rows(q.format(g="'all'", join=""), params)).get("all")
    if not overall:
        return None
    cols = ["group", "previous n", "previous mean", "current n", "current mean", "change", "p", "significant"]
    table = Table("ratings", "Average rating (or score) per period", cols, [])
    sec = Section("ratings", "Rating and score shifts",
                  "Mean rating per period, overall and per value of an app/product/model column; a shift is "
                  "flagged when Welch's t-test is significant at 5% (per group: after Holm's correction).",
                  [table])
    (n1, m1, s1), (n2, m2, s2) = overall
    t, p = welch(m1 or 0, s1, n1, m2 or 0, s2, n2) if n1 and n2 else (0.0, 1.0)
    table.rows.append(_rating_row("all", overall[0], overall[1], p, p < ALPHA))
    if n1 and n2 and p < ALPHA:
        sec.findings.append(Finding(f"The average rating {'rose' if t > 0 else 'fell'} from {m1:.2f} to {m2:.2f} "
                                    f"({p_text(p)}).", table.id, 0, "significant", p))
    sec.data["all"] = {"previous": overall[0], "current": overall[1], "p": p}
    sources = [ctx.source] if ctx.source else ctx.store.sources()
    for src in sources:
        view_cols = {r[0].lower(): r[0] for r in ctx.store.rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [src])}
        for col in (view_cols[c] for c in GROUP_COLUMNS if c in view_cols):
            join = f"JOIN {quote_ident(src)} v ON v.item_id = i.item_id"
            groups = _mean_rows(ctx.store.rows(q.format(g=f"v.{quote_ident(col)}::VARCHAR", join=join), params))
            tested = []
            for g, (a, b) in sorted(groups.items(), key=lambda kv: str(kv[0])):
                if a[0] >= 2 and b[0] >= 2:
                    tt, pp = welch(a[1], a[2], a[0], b[1], b[2], b[0])
                    tested.append((g, a, b, tt, pp))
            for (g, a, b, tt, _pp), adj in zip(tested, holm([x[4] for x in tested])):
                table.rows.append(_rating_row(f"{col} = {g}", a, b, adj, adj < ALPHA))
                if adj < ALPHA:
                    sec.findings.append(Finding(
                        f"The average rating for {col} '{g}' {'rose' if tt > 0 else 'fell'} from {a[1]:.2f} to "
                        f"{b[1]:.2f} (Holm-corrected {p_text(adj)}).", table.id, len(table.rows) - 1,
                        "significant", adj))
            sec.data[f"{src}.{col}"] = {g: {"previous": a, "current": b} for g, (a, b) in groups.items()}
    if len(table.rows) > 1:
        table.note = "per-group rows: groups with at least 2 ratings in each period; p Holm-corrected per column"
    return sec


SECTION_BUILDERS: list = [volume, labels, topics, ratings]


def register_section(builder, *, before: str | None = None) -> None:
    """Add a section builder ``build(ctx: ReportContext) -> Section | None`` (e.g. top complaints, profiles).

    It runs after the built-in ones, or just before the builder named `before` ('ratings', ...). Return None when
    the workspace has no data for it; raise nothing for missing data.
    """
    if builder in SECTION_BUILDERS:
        return
    names = [b.__name__ for b in SECTION_BUILDERS]
    SECTION_BUILDERS.insert(names.index(before) if before in names else len(SECTION_BUILDERS), builder)
