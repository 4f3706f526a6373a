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


def charts(store, out_dir=None, *, freq: str = "month", top: int = 8) -> list[dict]:
    """Topic sizes (bar), top topics' shares over time (line), and the hierarchy's merges (bar of distances)."""
    from earful.charts import bar, line

    topics = M.topic_rows(store)
    out = [bar("Topic sizes", [f"{t['topic_id']}: {t['name']}" for t in topics[:30]],
               [t["size"] for t in topics[:30]], out_dir, x_title="topic", y_title="items")]
    rows = over_time(store, freq)
    periods = sorted({r["period"] for r in rows})
    keep = [t["topic_id"] for t in topics[:top]]
    series = {}
    for tid in keep:
        by = {r["period"]: r["share"] for r in rows if r["topic_id"] == tid}
        name = next(t["name"] for t in topics if t["topic_id"] == tid)
        series[f"{tid}: {name}"] = [by.get(p, 0.0) for p in periods]
    if periods:
        out.append(line(f"Topic share per {freq}", [str(p) for p in periods], series, out_dir,
                        x_title=freq, y_title="share of items"))
    h = hierarchy(store)[:20]
    if h:
        out.append(bar("Topic hierarchy: closest merges (cosine distance)", [r["name"] for r in reversed(h)],
                       [r["distance"] for r in reversed(h)], out_dir, x_title="merged topics", y_title="distance"))
    return out
