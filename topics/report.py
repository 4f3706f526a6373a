"""What the topic commands and the agent read: the topic list with shares, trends and quotes; one topic; charts.

Design decision: one function builds each document (`topic_list`, `topic_detail`), and both the CLI's tables and
its ``--json`` come from it, so the two can never disagree.
"""
from __future__ import annotations

from earful.errors import NotFoundError
from earful.topics import model as M
from earful.topics.timeline import over_time, trends


def _snip(text: str, n: int = 140) -> str:
    t = " ".join(str(text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


def examples(store, item_ids: list[str], k: int = 3) -> list[dict]:
    ids = list(item_ids or [])[:k]
    texts = M.texts_for(store, ids) if ids else []
    return [{"item_id": i, "text": _snip(t)} for i, t in zip(ids, texts)]


def topic_list(store, *, days: int = 30, n_examples: int = 3) -> dict:
    if not store.scalar("SELECT count(*) FROM topic_runs"):
        raise NotFoundError("no topics fitted yet", hint="run 'earful topics fit' first")
    total = store.scalar("SELECT count(*) FROM topic_assignments") or 0
    trend = {r["topic_id"]: r["trend"] for r in trends(store, days=days)}
    out = []
    for t in M.topic_rows(store):
        out.append({"id": t["topic_id"], "name": t["name"], "description": t["description"], "size": t["size"],
                    "share": round(t["size"] / total, 4) if total else 0.0,
                    "trend": trend.get(t["topic_id"], "stable"), "keywords": list(t["keywords"] or [])[:10],
                    "label_source": t["label_source"],
                    "examples": examples(store, t["representative_ids"], n_examples)})
    run = store.query("SELECT run_id, backend, fitted_at, n_items FROM topic_runs ORDER BY fitted_at DESC LIMIT 1"
                      ).to_pylist()[0]
    return {"outlier_rate": round(M.outlier_rate(store), 4), "items": total, "run": run, "topics": out}


def topic_detail(store, topic_id: int) -> dict:
    t = M.get_topic(store, topic_id)
    lineage = store.query("SELECT run_id, event, topic_id, prev_topic_id, similarity, created_at FROM topic_lineage "
                          "WHERE topic_id = ? OR prev_topic_id = ? ORDER BY created_at",
                          [topic_id, topic_id]).to_pylist()
    monthly = [r for r in over_time(store, "month") if r["topic_id"] == topic_id]
    return {"id": t["topic_id"], "name": t["name"], "description": t["description"], "status": t["status"],
            "size": t["size"], "label_source": t["label_source"], "keywords": list(t["keywords"] or []),
            "parent_id": t["parent_id"], "examples": examples(store, t["representative_ids"], M.N_REPRESENTATIVE),
            "by_month": [{"period": r["period"], "count": r["count"], "share": r["share"]} for r in monthly],
            "lineage": lineage}


def hierarchy(store) -> list[dict]:
    return store.query("SELECT node_id, left_id, right_id, round(distance, 4) AS distance, topic_ids, name "
                       "FROM topic_hierarchy ORDER BY distance DESC").to_pylist()


def charts(store, out_dir=None, *, freq: str = "month", top: int = 6) -> list[dict]:
    """Topic sizes (bar), the largest topics over time (a panel per topic) and the hierarchy (a dendrogram with a row
    per topic), each ``{title, plotly, png}``. The PNGs draw the same shapes: over time as a topics x periods heat
    map (no tangle of lines), the dendrogram as tall as its topics need (never squashed)."""
    from earful.charts import bar
    from earful.topics import pictures as P

    topics = M.topic_rows(store)
    out = [bar("Topic sizes", [f"{t['topic_id']}: {t['name']}" for t in topics[:30]],
               [t["size"] for t in topics[:30]], out_dir, x_title="topic", y_title="items")]
    periods, tops, series = P.top_topics_over_time(store, freq, top)
    if periods and tops:
        title = f"Topics over time (share of each {freq}'s items)"
        fig = P.topics_over_time(store, freq, top)
        out.append({"title": title, "plotly": fig,
                    "png": _over_time_png(out_dir, title, fig, periods, tops, series) if out_dir else None})
    if store.scalar("SELECT count(*) FROM topic_hierarchy"):
        title = "Topic hierarchy (average linkage, cosine distance)"
        fig = P.hierarchy_dendrogram(store)
        out.append({"title": title, "plotly": fig, "png": _dendrogram_png(store, out_dir, title, fig) if out_dir
                    else None})
    return out


def _over_time_png(out_dir, title: str, fig: dict, periods: list, tops: list, series: dict) -> str:
    import numpy as np

    from earful.charts import png_axes, png_path
    from earful.topics.pictures import _label

    path = png_path(out_dir, title, fig)
    z = np.array([[s for _, s in series[t["topic_id"]]] for t in tops])
    with png_axes(path, (max(8, min(16, 0.25 * len(periods) + 4)), 1.2 + 0.45 * len(tops)), title, "", "") as ax:
        im = ax.imshow(z, aspect="auto", cmap="Blues", interpolation="nearest")
        ax.set_yticks(range(len(tops)))
        ax.set_yticklabels([_label(t, 36) for t in tops])
        step = max(1, len(periods) // 12)
        ax.set_xticks(range(0, len(periods), step))
        ax.set_xticklabels([periods[k][:7] for k in range(0, len(periods), step)], rotation=45, ha="right")
        ax.figure.colorbar(im, ax=ax, label="share of items", fraction=0.03)
    return str(path)


def _dendrogram_png(store, out_dir, title: str, fig: dict) -> str:
    from earful.charts import png_axes, png_path
    from earful.topics.pictures import _label, dendrogram_lines

    topics = {t["topic_id"]: t for t in M.topic_rows(store)}
    leaves, leaf_y, segments, _ = dendrogram_lines(store)
    path = png_path(out_dir, title, fig)
    with png_axes(path, (9, max(3.5, 0.3 * len(leaves) + 1.4)), title, "cosine distance", "") as ax:
        for xs, ys in segments:
            ax.plot(xs, ys, color="#4C78A8", linewidth=1.2)
        ax.set_yticks(leaf_y)
        ax.set_yticklabels([_label(topics[t], 40) if t in topics else str(t) for t in leaves], fontsize=8)
        ax.set_ylim(max(leaf_y) + 5, min(leaf_y) - 5)
        ax.set_xlim(left=0)
    return str(path)
