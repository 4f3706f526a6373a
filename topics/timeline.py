"""Topics over time, emerging/fading topics with a significance test, and breakdowns by source or any view column.

Design decision: everything is one SQL query over the `topic_items` view (item, source, time, topic), so the tables
the CLI prints are exactly what the agent can compute itself; the emerging/fading test is a two-proportion z-test on
each topic's share in the recent window against the window before it, Bonferroni-corrected over topics.
"""
from __future__ import annotations

import math

from earful.errors import InputError
from earful.store import quote_ident

FREQS = ("day", "week", "month", "quarter", "year")


def _check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise InputError(f"unknown period '{freq}'", hint="use one of: " + ", ".join(FREQS))
    return freq


def over_time(store, freq: str = "month", *, source: str | None = None, include_outliers: bool = False) -> list[dict]:
    """Rows {period, topic_id, topic, count, share}; share is of all items (incl. outliers) in that period."""
    _check_freq(freq)
    where = ["created_at IS NOT NULL"] + (["source = ?"] if source else [])
    sql = f"""
        WITH t AS (SELECT date_trunc('{freq}', created_at)::DATE AS period, topic_id, topic FROM topic_items
                   WHERE {' AND '.join(where)}),
             g AS (SELECT period, topic_id, any_value(topic) AS topic, count(*) AS count FROM t
                   GROUP BY period, topic_id),
             s AS (SELECT *, round(count / sum(count) OVER (PARTITION BY period), 4) AS share FROM g)
        SELECT period, topic_id, topic, count, share FROM s {'' if include_outliers else 'WHERE topic_id <> -1'}
        ORDER BY period, count DESC, topic_id"""
    return store.query(sql, [source] if source else []).to_pylist()


def two_proportion_z(a: int, n1: int, b: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of a/n1 against b/n2: (z, two-sided p); (0, 1) when either side is empty."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    p = (a + b) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)) if 0 < p < 1 else 0.0
    if se == 0:
        return 0.0, 1.0
    z = (a / n1 - b / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def trends(store, *, days: int = 30, source: str | None = None, alpha: float = 0.05) -> list[dict]:
    """Share of each topic in the last `days` (up to the newest item) against the `days` before; significant
    changes (Bonferroni) are 'emerging' or 'fading', others 'stable'."""
    if days < 1:
        raise InputError("--days must be at least 1")
    src = "AND source = ?" if source else ""
    params = [source] if source else []
    end = store.scalar(f"SELECT max(created_at) FROM topic_items WHERE created_at IS NOT NULL {src}", params)
    if end is None:
        return []
    sql = f"""
        WITH w AS (SELECT topic_id, topic,
                     CASE WHEN created_at > ?::TIMESTAMPTZ - to_days(?) THEN 'recent'
                          WHEN created_at > ?::TIMESTAMPTZ - to_days(?) THEN 'before' END AS win
                   FROM topic_items WHERE created_at IS NOT NULL {src})
        SELECT topic_id, any_value(topic), count(*) FILTER (win = 'recent'), count(*) FILTER (win = 'before')
        FROM w WHERE win IS NOT NULL GROUP BY topic_id"""
    rows = store.rows(sql, [end, days, end, 2 * days] + params)
    n1 = sum(r[2] for r in rows)
    n2 = sum(r[3] for r in rows)
    k = max(1, sum(1 for r in rows if r[0] != -1))
    out = []
    for tid, name, a, b in rows:
        if tid == -1:
            continue
        z, p = two_proportion_z(a, n1, b, n2)
        sig = p < alpha / k
        out.append({"topic_id": tid, "topic": name, "recent": a, "before": b,
                    "recent_share": round(a / n1, 4) if n1 else 0.0, "before_share": round(b / n2, 4) if n2 else 0.0,
                    "z": round(z, 3), "p_value": float(f"{p:.3g}"),
                    "trend": ("emerging" if z > 0 else "fading") if sig else "stable"})
    out.sort(key=lambda r: -abs(r["z"]))
    return out


ARROWS = {"emerging": "↑", "fading": "↓", "stable": "→"}


def breakdown(store, by: str = "source", *, source: str | None = None) -> list[dict]:
    """Counts and within-group shares of each topic per value of `by`: 'source', or any column of a source's view
    (e.g. 'rating', or a classify label column) when `source` is given."""
    if by == "source":
        sql = """WITH g AS (SELECT source AS "group", topic_id, any_value(topic) AS topic, count(*) AS count
                           FROM topic_items GROUP BY source, topic_id)
                 SELECT *, round(count / sum(count) OVER (PARTITION BY "group"), 4) AS share FROM g
                 ORDER BY "group", count DESC, topic_id"""
        return store.query(sql).to_pylist()
    if not source:
        raise InputError(f"breaking down by '{by}' needs --source", hint="columns live in each source's view")
    store.source_info(source)
    cols = [r[0] for r in store.rows("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                     [source])]
    if by not in cols:
        raise InputError(f"source '{source}' has no column '{by}'", hint="columns: " + ", ".join(cols))
    sql = f"""WITH g AS (SELECT v.{quote_ident(by)}::VARCHAR AS "group", t.topic_id, any_value(t.topic) AS topic,
                            count(*) AS count
                     FROM {quote_ident(source)} v JOIN topic_items t ON t.item_id = v.item_id GROUP BY 1, 2)
              SELECT *, round(count / sum(count) OVER (PARTITION BY "group"), 4) AS share FROM g
              ORDER BY "group", count DESC, topic_id"""
    return store.query(sql).to_pylist()
