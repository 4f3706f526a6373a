"""Top complaints: aspects ranked by their negative mentions in a period, with praise of the same aspect beside them.

Design decision: everything is counted in *mentions* (a review that praises the design and reports a crash adds one
negative mention to "crashes" and one positive to "design"), and each row says its unit; items are counted too
(``items_negative``: distinct items with a negative mention of the aspect). Only real aspects rank: general mentions
("love it") and outliers never do. Quotes are the most negative mentions (lowest polarity score, then newest), so
the question engine, reports and the chat can show evidence without another query. It reads through a read-only
workspace, so it can run beside a writer.
"""
from __future__ import annotations

from datetime import date, datetime

from earful.errors import InputError, NotFoundError


def _bound(value, name: str):
    """A date bound as a timestamp string DuckDB compares with ``created_at`` (a date means its midnight, UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return datetime.fromisoformat(str(value).strip()).isoformat()
    except ValueError as exc:
        raise InputError(f"{name} '{value}' is not a date", hint="give it as YYYY-MM-DD, e.g. 2016-03-01") from exc


def top_complaints(db_path, since=None, until=None, n: int = 5, source: str | None = None,
                   quotes: int = 3, praise_quotes: int = 2, subject: tuple[str, object] | None = None) -> list[dict]:
    """The `n` aspects with the most negative mentions among items created in [since, until) (either open), and
    with `subject` = (column, value) only items of `source` whose column holds that value ("about AcDisplay").

    Each row: ``rank``, ``aspect_id``, ``aspect`` (name), ``negative`` (negative mentions), ``positive``,
    ``mentions`` (all of the aspect's mentions in the period), ``negative_share`` (negative / mentions),
    ``items_negative`` (distinct items with a negative mention), ``quotes`` (up to `quotes` negative mentions:
    ``item_id``, ``mention_id``, ``created_at``, ``text``) and ``praise`` (up to `praise_quotes` positive mentions of
    the same aspect, same fields). `db_path` is a workspace path or an open `earful.store.Store`."""
    if n < 1:
        raise InputError("n must be at least 1")
    lo, hi = _bound(since, "since"), _bound(until, "until")
    if lo and hi and lo >= hi:
        raise InputError(f"since ({since}) is not before until ({until})")
    if subject is not None and not source:
        raise InputError("a subject filter needs the source whose column it is")
    if hasattr(db_path, "rows"):
        return _top(db_path, lo, hi, n, source, quotes, praise_quotes, subject)
    from earful.store import Store

    with Store(db_path, read_only=True) as store:
        return _top(store, lo, hi, n, source, quotes, praise_quotes, subject)


_RANKING = """SELECT aspect_id, any_value(aspect) AS aspect, count(*) FILTER (WHERE polarity = 'negative') AS neg,
       count(*) FILTER (WHERE polarity = 'positive') AS pos, count(*) AS mentions,
       count(DISTINCT item_id) FILTER (WHERE polarity = 'negative') AS items_negative
FROM mention_items WHERE {where} GROUP BY aspect_id HAVING neg > 0
ORDER BY neg DESC, neg / count(*) DESC, aspect_id LIMIT {limit}"""


def _conditions(lo, hi, source, subject=None) -> tuple[list[str], list]:
    from earful.store.sql import quote_ident

    cond, params = ["aspect_id >= 0"], []
    for sql, value in (("created_at >= ?::TIMESTAMPTZ", lo), ("created_at < ?::TIMESTAMPTZ", hi),
                       ("source = ?", source)):
        if value is not None:
            cond.append(sql)
            params.append(value)
    if subject is not None:
        column, value = subject
        cond.append(f"item_id IN (SELECT item_id FROM {quote_ident(source)} WHERE {quote_ident(column)} = ?)")
        params.append(value)
    return cond, params


def ranking_sql(since=None, until=None, n: int = 5, source: str | None = None,
                subject: tuple[str, object] | None = None) -> str:
    """The ranking query `top_complaints` runs, with its values written in: shown with an answer, so each number
    in it can be traced to the query (the quotes are then the most negative mentions of each ranked aspect)."""
    from earful.store.sql import quote_literal

    cond, params = _conditions(_bound(since, "since"), _bound(until, "until"), source, subject)
    it = iter(params)
    where = " AND ".join(c.replace("?", quote_literal(next(it))) if "?" in c else c for c in cond)
    return _RANKING.format(where=where, limit=int(n))


def _top(store, lo, hi, n, source, quotes, praise_quotes, subject=None) -> list[dict]:
    _require_aspects(store, source)
    cond, params = _conditions(lo, hi, source, subject)
    where = " AND ".join(cond)
    ranked = store.rows(_RANKING.format(where=where, limit="?"), params + [n])
    out = []
    for rank, (aid, name, neg, pos, total, items_neg) in enumerate(ranked, 1):
        out.append({"rank": rank, "aspect_id": aid, "aspect": name, "negative": neg, "positive": pos,
                    "mentions": total, "negative_share": round(neg / total, 3), "items_negative": items_neg,
                    "quotes": _quotes(store, where, params, aid, "negative", quotes),
                    "praise": _quotes(store, where, params, aid, "positive", praise_quotes)})
    return out


def _quotes(store, where: str, params: list, aspect_id: int, polarity: str, k: int) -> list[dict]:
    if k <= 0:
        return []
    order = "polarity_score ASC" if polarity == "negative" else "polarity_score DESC"
    rows = store.rows(f"""SELECT item_id, mention_id, created_at, text FROM mention_items
                          WHERE {where} AND aspect_id = ? AND polarity = ?
                          ORDER BY {order}, created_at DESC NULLS LAST, mention_id LIMIT ?""",
                      params + [aspect_id, polarity, k])
    return [{"item_id": r[0], "mention_id": r[1], "created_at": r[2].isoformat() if r[2] else None, "text": r[3]}
            for r in rows]


def _require_aspects(store, source) -> None:
    if not store.table_exists("mentions") or not store.scalar("SELECT count(*) FROM mentions"):
        raise NotFoundError("no mentions yet, so no complaints to rank",
                            hint="run 'earful topics mentions' then 'earful topics aspects fit'")
    if not store.scalar("SELECT count(*) FROM aspects WHERE status = 'active'"):
        raise NotFoundError("no aspect topics fitted yet", hint="run 'earful topics aspects fit'")
    if source:
        store.source_info(source)


def format_complaints(rows: list[dict], width: int = 90) -> list[str]:
    """Plain-text lines for a person: one block per aspect, its counts, complaint quotes, then praise beside them."""
    lines = []
    for r in rows:
        lines.append(f"{r['rank']}. {r['aspect']}: {r['negative']} negative mentions of {r['mentions']} "
                     f"({r['negative_share']:.0%} negative; {r['items_negative']} items), {r['positive']} positive")
        for q in r["quotes"]:
            lines.append(f"   - \"{_clip(q['text'], width)}\" ({q['item_id']})")
        for q in r["praise"]:
            lines.append(f"   + \"{_clip(q['text'], width)}\" ({q['item_id']})")
    return lines


def _clip(text: str, n: int) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1].rsplit(" ", 1)[0] + "\u2026"
