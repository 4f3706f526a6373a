"""The four topic pictures BERTopic users expect, as interactive plotly figures, and an offline page that holds them.

- ``intertopic_map``: each topic a bubble (area ~ size) at its centroid's place in 2-D (classical MDS of the cosine
  distances between centroids), hover for name, size and keywords;
- ``keyword_bars``: per topic (largest first) its keywords weighted by class-based TF-IDF over its members' texts;
- ``hierarchy_dendrogram``: the stored topic tree (`topic_hierarchy`) drawn as a dendrogram, one row per topic, its
  height grown with the number of topics so it is never squashed;
- ``topics_over_time``: small multiples, one panel per top-N topic (share of the period's items, count on hover),
  so lines never tangle.

Design decision: figures are plain plotly figure dicts (as `earful.charts` builds them) computed from the store only,
so the CLI (``topics charts``), the notebook and the web chat draw the same pictures; ``page_html`` inlines the
plotly.js bundle from the installed plotly package, so the file opens offline.
"""
from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np

from earful.topics import model as M
from earful.topics.timeline import over_time

_JSON_IN_HTML = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
COLORS = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6", "#9D755D",
          "#BAB0AC"]


def _label(t: dict, width: int = 40) -> str:
    name = str(t.get("name") or "")
    name = name if len(name) <= width else name[: width - 1] + "…"
    return f"{t['topic_id']}: {name}"


def _layout(title: str, height: int, **extra) -> dict:
    return {"title": {"text": title}, "template": "plotly_white", "height": int(height),
            "margin": {"l": 60, "r": 20, "t": 70, "b": 50}, **extra}


def _grid(n: int, cols: int, gap_x: float = 0.08, gap_y: float = 0.12) -> list[tuple[list, list]]:
    """x and y domains of `n` panels in rows of `cols`, first panel top left."""
    cols = max(1, min(cols, n))
    rows = max(1, math.ceil(n / cols))
    w = (1 - gap_x * (cols - 1)) / cols
    h = (1 - gap_y * (rows - 1)) / rows
    out = []
    for k in range(n):
        r, c = divmod(k, cols)
        x0 = c * (w + gap_x)
        y1 = 1 - r * (h + gap_y)
        out.append(([round(x0, 4), round(x0 + w, 4)], [round(y1 - h, 4), round(y1, 4)]))
    return out


def _panel_title(text: str, xd: list, yd: list) -> dict:
    return {"text": f"<b>{html.escape(text)}</b>", "x": (xd[0] + xd[1]) / 2, "y": yd[1], "xref": "paper",
            "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 12}}


# -- the four pictures ------------------------------------------------------------------------------------------------
def intertopic_map(store) -> dict:
    """Topics as bubbles placed by classical MDS of the cosine distances between their centroids."""
    topics = {t["topic_id"]: t for t in M.topic_rows(store)}
    all_ids, C_all = M.centroids(store)
    keep = [k for k, i in enumerate(all_ids) if i in topics]
    ids, C = [all_ids[k] for k in keep], C_all[keep]
    xy = np.zeros((len(ids), 2))
    if len(ids) > 1:
        D = np.clip(1.0 - (C @ C.T), 0.0, 2.0).astype(np.float64)
        J = np.eye(len(ids)) - 1.0 / len(ids)
        B = -0.5 * J @ (D ** 2) @ J
        vals, vecs = np.linalg.eigh(B)
        order = np.argsort(vals)[::-1][:2]
        xy[:, : len(order)] = vecs[:, order] * np.sqrt(np.maximum(vals[order], 0))
        for j in range(2):                          # a deterministic orientation: the largest topic on the right/top
            if xy[:, j].any() and xy[int(np.argmax([topics[i]["size"] for i in ids])), j] < 0:
                xy[:, j] = -xy[:, j]
    sizes = [int(topics[i]["size"] or 0) for i in ids]
    biggest = max(sizes or [1]) or 1
    hover = [f"<b>{html.escape(_label(topics[i], 80))}</b><br>{topics[i]['size']} items<br>"
             + html.escape(", ".join(list(topics[i]["keywords"] or [])[:8])) for i in ids]
    trace = {"type": "scatter", "mode": "markers+text", "x": [round(float(v), 5) for v in xy[:, 0]],
             "y": [round(float(v), 5) for v in xy[:, 1]], "text": [str(i) for i in ids],
             "textposition": "middle center",
             "hovertext": hover, "hoverinfo": "text", "customdata": ids,
             "marker": {"size": sizes, "sizemode": "area", "sizeref": 2.0 * biggest / (70.0 ** 2), "sizemin": 6,
                        "color": "rgba(76,120,168,0.45)", "line": {"color": "#2F4B7C", "width": 1}}}
    axis = {"showticklabels": False, "zeroline": True, "zerolinecolor": "#bbb", "showgrid": False}
    return {"data": [trace], "layout": _layout("Intertopic distance map (MDS of centroid cosine distances)", 620,
                                               xaxis={**axis, "title": {"text": "D1"}},
                                               yaxis={**axis, "title": {"text": "D2"}, "scaleanchor": "x"},
                                               showlegend=False, hovermode="closest")}


def keyword_weights(store, topic_ids: list[int], n_words: int = 8, per_topic: int = 500) -> dict[int, list]:
    """[(keyword, weight)] per topic: the topic's stored keywords weighted by class-based TF-IDF over (up to
    `per_topic` of the best-scoring of) its members' texts; the top c-TF-IDF terms where none of them are found."""
    from earful.topics.keywords import count_vectorizer, normalise

    rows = store.rows("SELECT topic_id, text FROM (SELECT a.topic_id, i.text, row_number() OVER (PARTITION BY "
                      "a.topic_id ORDER BY a.score DESC NULLS LAST, a.item_id) AS k FROM topic_assignments a "
                      "JOIN items i USING (item_id) WHERE a.topic_id <> -1) WHERE k <= ?", [per_topic])
    docs: dict[int, list[str]] = {}
    for tid, text in rows:
        docs.setdefault(int(tid), []).append(str(text or ""))
    all_ids = sorted(docs)
    if not all_ids:
        return {t: [] for t in topic_ids}
    try:
        vec = count_vectorizer()
        counts = vec.fit_transform([" ".join(docs[t]) for t in all_ids]).toarray().astype(float)
    except ValueError:                                  # nothing but stop words
        return {t: [] for t in topic_ids}
    vocab = {w: j for j, w in enumerate(vec.get_feature_names_out())}
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + (counts.sum() / len(all_ids)) / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    stored = {t["topic_id"]: list(t["keywords"] or []) for t in M.topic_rows(store)}
    out = {}
    for t in topic_ids:
        if t not in docs:
            out[t] = []
            continue
        row = scores[all_ids.index(t)]
        pairs = [(w, float(row[vocab[normalise(w)]])) for w in stored.get(t, []) if normalise(w) in vocab]
        pairs = [p for p in pairs if p[1] > 0]
        if not pairs:
            words = vec.get_feature_names_out()
            pairs = [(str(words[j]), float(row[j])) for j in np.argsort(-row)[:n_words] if row[j] > 0]
        out[t] = sorted(pairs, key=lambda p: -p[1])[:n_words]
    return out


def keyword_bars(store, top: int = 8, n_words: int = 8, cols: int = 4) -> dict:
    """One horizontal bar panel per topic (the `top` largest), its keywords by c-TF-IDF weight."""
    topics = M.topic_rows(store)[:top]
    weights = keyword_weights(store, [t["topic_id"] for t in topics], n_words)
    grid = _grid(len(topics), cols, gap_x=0.12, gap_y=0.16)
    data, notes, layout = [], [], {}
    for k, (t, (xd, yd)) in enumerate(zip(topics, grid)):
        pairs = list(reversed(weights.get(t["topic_id"]) or []))     # the heaviest at the top
        sfx = "" if k == 0 else str(k + 1)
        data.append({"type": "bar", "orientation": "h", "x": [round(w, 5) for _, w in pairs],
                     "y": [w for w, _ in pairs], "xaxis": f"x{sfx}", "yaxis": f"y{sfx}", "name": _label(t),
                     "marker": {"color": COLORS[k % len(COLORS)]},
                     "hovertemplate": "%{y}: %{x:.4f}<extra>" + html.escape(_label(t)) + "</extra>"})
        layout[f"xaxis{sfx}"] = {"domain": xd, "anchor": f"y{sfx}", "showgrid": True, "tickfont": {"size": 9}}
        layout[f"yaxis{sfx}"] = {"domain": yd, "anchor": f"x{sfx}", "automargin": True, "tickfont": {"size": 10}}
        notes.append(_panel_title(_label(t, 28), xd, yd))
    rows = max(1, math.ceil(len(topics) / max(1, min(cols, len(topics) or 1))))
    return {"data": data, "layout": _layout(f"Topic keywords (c-TF-IDF), {len(topics)} largest topics",
                                            120 + 250 * rows, showlegend=False, annotations=notes, **layout)}


def _tree(store) -> tuple[list[dict], dict, int | None]:
    nodes = {r["node_id"]: r for r in store.query("SELECT node_id, left_id, right_id, distance, topic_ids, name "
                                                  "FROM topic_hierarchy").to_pylist()}
    if not nodes:
        return [], nodes, None
    root = max(nodes.values(), key=lambda r: (len(r["topic_ids"] or []), r["distance"]))["node_id"]
    leaves: list = []
    stack = [root]
    while stack:                                   # depth first, left before right
        n = stack.pop()
        if n in nodes:
            stack.extend([nodes[n]["right_id"], nodes[n]["left_id"]])
        else:
            leaves.append(n)
    return leaves, nodes, root


def dendrogram_lines(store) -> tuple[list, list, list, list]:
    """(leaf topic ids top to bottom, their y, the U-shaped segments [(xs, ys)], the merge points [(x, y, node)])."""
    leaves, nodes, root = _tree(store)
    if root is None:
        return [], [], [], []
    ys = {leaf: 10.0 * k + 5.0 for k, leaf in enumerate(leaves)}
    xs = dict.fromkeys(leaves, 0.0)
    segments, points = [], []

    def place(n):
        if n not in nodes:
            return xs[n], ys[n]
        r = nodes[n]
        (xl, yl), (xr, yr) = place(r["left_id"]), place(r["right_id"])
        d = float(r["distance"])
        segments.append(([xl, d, d, xr], [yl, yl, yr, yr]))
        xs[n], ys[n] = d, (yl + yr) / 2
        points.append((d, ys[n], r))
        return xs[n], ys[n]

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * len(nodes) + 100))
    place(root)
    return leaves, [ys[leaf] for leaf in leaves], segments, points


def hierarchy_dendrogram(store) -> dict:
    """The stored topic tree as a horizontal dendrogram: a row per topic, merges at their cosine distance."""
    topics = {t["topic_id"]: t for t in M.topic_rows(store)}
    leaves, leaf_y, segments, points = dendrogram_lines(store)
    lx, ly = [], []
    for xs, ys in segments:
        lx += xs + [None]
        ly += ys + [None]
    data = [{"type": "scatter", "mode": "lines", "x": [None if v is None else round(v, 5) for v in lx], "y": ly,
             "line": {"color": "#4C78A8", "width": 1.5}, "hoverinfo": "skip", "name": "tree"},
            {"type": "scatter", "mode": "markers", "x": [round(p[0], 5) for p in points], "y": [p[1] for p in points],
             "marker": {"size": 7, "color": "#F58518"}, "name": "merge",
             "hovertext": [f"{html.escape(str(p[2]['name']))}<br>distance {p[0]:.3f}<br>topics "
                           + ", ".join(map(str, p[2]["topic_ids"] or [])) for p in points], "hoverinfo": "text"}]
    ticks = [_label(topics[t]) if t in topics else str(t) for t in leaves]
    return {"data": data, "layout": _layout(
        "Topic hierarchy (average linkage, cosine distance)", max(360, 26 * len(leaves) + 130), showlegend=False,
        xaxis={"title": {"text": "cosine distance"}, "rangemode": "tozero", "zeroline": False},
        yaxis={"tickvals": leaf_y, "ticktext": ticks, "autorange": "reversed", "automargin": True, "showgrid": False,
               "zeroline": False, "tickfont": {"size": 11}}, hovermode="closest")}


def top_topics_over_time(store, freq: str = "month", top: int = 6) -> tuple[list[str], list[dict], dict]:
    """(periods, the `top` largest topics, {topic id: [(count, share)] per period})."""
    rows = over_time(store, freq)
    periods = sorted({str(r["period"]) for r in rows})
    topics = M.topic_rows(store)[:top]
    by = {t["topic_id"]: {p: (0, 0.0) for p in periods} for t in topics}
    for r in rows:
        if r["topic_id"] in by:
            by[r["topic_id"]][str(r["period"])] = (int(r["count"]), float(r["share"]))
    return periods, topics, {t: [v[p] for p in periods] for t, v in by.items()}


def topics_over_time(store, freq: str = "month", top: int = 6, cols: int = 2) -> dict:
    """Small multiples: one panel per top-N topic, its share of each period's items (count on hover)."""
    periods, topics, series = top_topics_over_time(store, freq, top)
    grid = _grid(len(topics), cols, gap_x=0.08, gap_y=0.14)
    data, notes, layout = [], [], {}
    top_share = max([s for t in series.values() for _, s in t] or [0.0])
    for k, (t, (xd, yd)) in enumerate(zip(topics, grid)):
        sfx = "" if k == 0 else str(k + 1)
        vals = series[t["topic_id"]]
        data.append({"type": "scatter", "mode": "lines+markers", "x": periods, "y": [s for _, s in vals],
                     "customdata": [c for c, _ in vals], "xaxis": f"x{sfx}", "yaxis": f"y{sfx}", "name": _label(t),
                     "fill": "tozeroy", "line": {"color": COLORS[k % len(COLORS)], "width": 1.5},
                     "marker": {"size": 4},
                     "hovertemplate": "%{x}: %{y:.1%} (%{customdata} items)<extra>" + html.escape(_label(t))
                                      + "</extra>"})
        layout[f"xaxis{sfx}"] = {"domain": xd, "anchor": f"y{sfx}", "type": "category", "nticks": 8,
                                 "tickfont": {"size": 9}, **({"matches": "x"} if sfx else {})}
        layout[f"yaxis{sfx}"] = {"domain": yd, "anchor": f"x{sfx}", "tickformat": ".0%",
                                 "range": [0, round(top_share * 1.1 + 1e-9, 4)], "tickfont": {"size": 9}}
        notes.append(_panel_title(_label(t, 36), xd, yd))
    rows = max(1, math.ceil(len(topics) / max(1, min(cols, len(topics) or 1))))
    return {"data": data, "layout": _layout(f"Topics over time: share of each {freq}'s items, {len(topics)} "
                                            "largest topics", 110 + 210 * rows, showlegend=False, annotations=notes,
                                            **layout)}


def topic_figures(store, freq: str = "month", top: int = 8) -> list[dict]:
    """The four pictures as ``[{title, plotly}]`` (what answers carry as charts); a clear error with no topics."""
    from earful.errors import NotFoundError

    if not M.topic_rows(store):
        raise NotFoundError("no topics fitted yet", hint="run 'earful topics fit' first")
    return [{"title": "Intertopic distance map", "plotly": intertopic_map(store)},
            {"title": "Topic keywords", "plotly": keyword_bars(store, top=top)},
            {"title": "Topic hierarchy", "plotly": hierarchy_dendrogram(store)},
            {"title": "Topics over time", "plotly": topics_over_time(store, freq, top=min(top, 6))}]


# -- the offline page ---------------------------------------------------------------------------------------------
def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart"


def plotly_js() -> str:
    """The plotly.js bundle shipped inside the installed plotly package."""
    from importlib.resources import files

    return (files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def _json(data) -> str:
    return json.dumps(data, default=str, ensure_ascii=False).translate(_JSON_IN_HTML)


def page_html(figs: list[dict], title: str = "Topics") -> str:
    """One self-contained page: plotly.js inlined once, then each figure in its own section (``#<slug>``)."""
    toc = " · ".join(f'<a href="#{slug(f["title"])}">{html.escape(f["title"])}</a>' for f in figs)
    parts, draw = [], []
    for f in figs:
        d = slug(f["title"])
        height = int((f["plotly"].get("layout") or {}).get("height") or 450)
        parts.append(f'<section id="{d}"><h2>{html.escape(f["title"])}</h2>'
                     f'<div class="chart" id="{d}-plot" style="height:{height}px"></div></section>')
        draw.append(f'Plotly.newPlot("{d}-plot", {_json(f["plotly"].get("data", []))}, '
                    f'{_json(f["plotly"].get("layout", {}))}, {{responsive: true, displaylogo: false}});')
    style = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;color:#222}"
             "h2{font-size:1.1em;margin-top:2em}.chart{width:100%}nav{color:#555}")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{style}</style><script>{plotly_js()}</script></head><body><h1>{html.escape(title)}</h1>"
            f"<nav>{toc}</nav>{''.join(parts)}<script>{''.join(draw)}</script></body></html>")


def write_page(figs: list[dict], path, title: str = "Topics") -> str:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(page_html(figs, title), encoding="utf-8")
    return str(p)
