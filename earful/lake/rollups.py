"""Rollup tables: item counts by source, day and rating; label counts by taxonomy and label; topic counts.

Design decision: a rollup is partitioned like the items (``rollups/<name>/source=<s>/month=<YYYY-MM>/``) and is
rebuilt per batch: whatever wrote items, labels or topic assignments passes the (source, month) pairs it touched,
and only those rollup partitions are recomputed, by one pruned scan per rollup (``source IN (...)`` and a date range
keep DuckDB to the touched item partitions). A question over billions of rows then reads thousands of rollup rows.
A month with nothing left to count has its partition removed, so a rollup never keeps a stale count.
"""
from __future__ import annotations

from datetime import date

from earful.lake.catalog import ROLLUPS, connect_lake
from earful.lake.layout import Lake, PartitionWriter, split_by

MONTH = "coalesce(strftime(i.date, '%Y-%m'), '')"

QUERIES = {
    "items": "SELECT i.source, {month} AS month, i.date AS day, i.rating, count(*) AS n FROM items i "
             "WHERE {where} GROUP BY ALL ORDER BY ALL",
    "labels": "SELECT i.source, {month} AS month, i.date AS day, l.taxonomy, l.label, count(*) AS n "
              "FROM items i JOIN classify_labels l ON l.item_id = i.item_id WHERE {where} GROUP BY ALL ORDER BY ALL",
    "topics": "SELECT i.source, {month} AS month, i.date AS day, a.topic_id, count(*) AS n "
              "FROM items i JOIN topic_assignments a ON a.item_id = i.item_id WHERE {where} GROUP BY ALL ORDER BY ALL",
}
assert set(QUERIES) == set(ROLLUPS)


def months(keys: list[dict]) -> set[tuple[str, str | None]]:
    """(source, 'YYYY-MM' or None for undated items) of item partition keys ``{source, date}``."""
    return {(k["source"], None if k.get("date") is None else str(k["date"])[:7]) for k in keys}


def all_months(lake: Lake, manifest: dict | None = None) -> set[tuple[str, str | None]]:
    con = connect_lake(lake, manifest)
    try:
        rows = con.execute("SELECT DISTINCT source, strftime(date, '%Y-%m') FROM items").fetchall()
    finally:
        con.close()
    return {(s, m) for s, m in rows}


def _where(touched: set) -> tuple[str, list]:
    sources = sorted({s for s, _ in touched})
    dated = sorted(m for _, m in touched if m)
    clauses = ["i.source IN (SELECT unnest(?::VARCHAR[]))"]
    params: list = [sources]
    ranges = []
    if dated:
        lo = date.fromisoformat(dated[0] + "-01")
        hi_y, hi_m = map(int, dated[-1].split("-"))
        hi = date(hi_y + (hi_m == 12), hi_m % 12 + 1, 1)
        ranges.append("(i.date >= ?::DATE AND i.date < ?::DATE)")
        params += [lo.isoformat(), hi.isoformat()]
    if any(m is None for _, m in touched):
        ranges.append("i.date IS NULL")
    clauses.append("(" + " OR ".join(ranges) + ")")
    return " AND ".join(clauses), params


def rebuild(lake: Lake, touched: set[tuple[str, str | None]], manifest: dict | None = None) -> int:
    """Recompute every rollup's partitions for the `touched` (source, month) pairs; returns partitions written."""
    if not touched:
        return 0
    con = connect_lake(lake, manifest)
    written = 0
    try:
        where, params = _where(touched)
        for name, sql in QUERIES.items():
            tbl = con.sql(sql.format(month=MONTH, where=where), params=params).to_arrow_table()
            writer = PartitionWriter(lake, f"rollups/{name}", replace=True, tag="0")
            seen = set()
            for key, part in split_by(tbl, ["source", "month"]):
                month = key["month"] or None
                if (key["source"], month) not in touched:
                    continue   # a neighbouring month inside the scanned range: not ours to rewrite
                writer.write(part, {"source": key["source"], "month": month})
                seen.add((key["source"], month))
            for source, month in touched - seen:   # nothing to count any more: no stale partition
                lake.delete(lake.partition(f"rollups/{name}", {"source": source, "month": month})[len(lake.root) + 1:])
            written += len(writer.touched)
    finally:
        con.close()
    return written


def rebuild_all(lake: Lake) -> int:
    manifest = lake.manifest()
    for name in ROLLUPS:
        lake.delete("rollups", name)
    return rebuild(lake, all_months(lake, manifest), manifest)
