"""One item as the chat links to it (``/items/<id>``): its text, metadata, labels, topic and similar items.

Design decision: similar items come from the vectors already stored in ``embeddings`` (the item's own vector
against the others', cosine in DuckDB, as ``earful similar`` ranks them), so opening an item never loads an
embedding model; without embeddings the page says how to get them. Every value is escaped where it is written.
"""
from __future__ import annotations

import html

SIMILAR_K = 5


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _tables(con) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                      "WHERE table_schema = 'main'").fetchall()}


def item(settings, item_id: str) -> dict | None:
    """The item's fields, its source row's other columns, labels, topic and similar items; None when unknown."""
    from earful.qa_agent.ask import retry_busy, workspace_lock
    from earful.store.readonly import connect_read_only

    def read():
        with workspace_lock(settings.db).shared():
            con = connect_read_only(str(settings.db))
            try:
                return _read(con, item_id)
            finally:
                con.close()

    return retry_busy(read, settings.wait_s)


def _read(con, item_id: str) -> dict | None:
    from earful.store.sql import quote_ident

    have = _tables(con)
    cur = con.execute("SELECT * FROM items WHERE item_id = ? LIMIT 1", [item_id])
    cols = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is None:
        return None
    base = dict(zip(cols, row))
    out = {"item_id": item_id, "source": base["source"], "text": base["text"],
           "created_at": base.get("created_at"), "rating": base.get("rating"), "author": base.get("author"),
           "metadata": {}, "labels": [], "topic": None, "similar": [], "embedded": False}
    views = {r[0] for r in con.execute("SELECT name FROM sources").fetchall()}
    if base["source"] in views:      # the source's own columns, as its view shows them
        vcur = con.execute(f"SELECT * FROM {quote_ident(base['source'])} WHERE item_id = ? LIMIT 1", [item_id])
        vrow = vcur.fetchone()
        if vrow is not None:
            shown = {"item_id", "text", "created_at", "rating", "author", "source"}
            out["metadata"] = {d[0]: v for d, v in zip(vcur.description, vrow) if d[0] not in shown}
    if "classify_labels" in have:
        out["labels"] = [{"taxonomy": t, "label": lab, "probability": p, "method": m} for t, lab, p, m in
                         con.execute("SELECT taxonomy, label, probability, method FROM classify_labels "
                                     "WHERE item_id = ? ORDER BY taxonomy", [item_id]).fetchall()]
    if {"topic_assignments", "topics"} <= have:
        t = con.execute("SELECT t.topic_id, t.name, t.keywords, a.score FROM topic_assignments a JOIN topics t "
                        "USING (topic_id) WHERE a.item_id = ?", [item_id]).fetchone()
        if t is not None:
            out["topic"] = {"topic_id": t[0], "name": t[1], "keywords": list(t[2] or [])[:8], "score": t[3]}
    if "embeddings" in have:
        out["similar"], out["embedded"] = _similar(con, item_id, base["content_hash"])
    return out


def _similar(con, item_id: str, content_hash: str) -> tuple[list[dict], bool]:
    mine = con.execute("SELECT model_id, vector FROM embeddings WHERE content_hash = ? LIMIT 1",
                       [content_hash]).fetchone()
    if mine is None:
        return [], False
    model_id, vector = mine
    dim = len(vector)
    rows = con.execute(f"""
        SELECT i.item_id, i.source, array_cosine_similarity(e.vector::FLOAT[{dim}], ?::FLOAT[{dim}]) AS score, i.text
        FROM items i JOIN embeddings e ON e.content_hash = i.content_hash AND e.model_id = ?
        WHERE i.item_id <> ? AND i.content_hash <> ?
        ORDER BY score DESC LIMIT ?""", [list(vector), model_id, item_id, content_hash, SIMILAR_K]).fetchall()
    return [{"item_id": r[0], "source": r[1], "score": round(float(r[2]), 4), "text": r[3]} for r in rows], True


def item_page_html(d: dict) -> str:
    """The item page: text first, then metadata, labels, topic and similar items (each a link to its page)."""
    from urllib.parse import quote

    from earful.web.render import STYLE

    def link(i) -> str:
        return f'<a href="/items/{_esc(quote(str(i), safe=""))}">{_esc(i)}</a>'

    meta = {"source": d["source"], "created": d["created_at"], "rating": d["rating"], "author": d["author"],
            **d["metadata"]}
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in meta.items() if v is not None)
    parts = [f'<p><a href="/">&larr; chat</a></p><h2>Item {_esc(d["item_id"])}</h2>',
             f'<blockquote class="earful-item-text">{_esc(d["text"])}</blockquote>',
             f'<table class="earful-table earful-meta-table">{rows}</table>']
    if d["labels"]:
        parts.append("<h3>Labels</h3><ul>" + "".join(
            f"<li>{_esc(x['taxonomy'])}: <b>{_esc(x['label'])}</b>"
            + (f" ({x['probability']:.2f})" if isinstance(x["probability"], float) else "")
            + f" <span class='earful-meta'>{_esc(x['method'])}</span></li>" for x in d["labels"]) + "</ul>")
    if d["topic"]:
        t = d["topic"]
        parts.append(f"<h3>Topic</h3><p><b>{_esc(t['name'])}</b> <span class='earful-meta'>#{_esc(t['topic_id'])}"
                     f" · {_esc(', '.join(t['keywords']))}</span></p>")
    parts.append("<h3>Similar items</h3>")
    if d["similar"]:
        parts.append("<ol>" + "".join(f"<li>{link(s['item_id'])} <span class='earful-meta'>{s['score']:.2f}</span>"
                                      f" {_esc(s['text'][:300])}</li>" for s in d["similar"]) + "</ol>")
    elif d["embedded"]:
        parts.append("<p class='earful-meta'>no other item has a vector in this model's space</p>")
    else:
        parts.append("<p class='earful-meta'>not embedded yet: run <code>earful embed</code> to find similar "
                     "items</p>")
    return ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>Item {_esc(d["item_id"])} · Earful</title>'
            f'<style>{STYLE} blockquote{{font-size:1.1em;border-left:4px solid #9bd;margin:1em 0;'
            'padding:.5em 1em;background:#f7fafd;white-space:pre-wrap}</style></head><body>'
            + "\n".join(parts) + "</body></html>")
