"""Topic columns in every source's wide view: ``topic_id`` (-1 = outlier, NULL = not assigned yet) and ``topic``.

Design decision: plain scalar subqueries over the alias ``i``; DuckDB decorrelates them into joins, and the view
needs no rebuild when assignments change, only when the topic stage first appears.
"""
from __future__ import annotations


def view_columns(con, source: str) -> list[str]:  # noqa: ARG001 (the provider interface; topics are per item)
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                      "AND table_name = 'topic_assignments'").fetchall()[0][0]
    if not has:
        return []
    return [
        "(SELECT ta.topic_id FROM topic_assignments ta WHERE ta.item_id = i.item_id) AS topic_id",
        "(SELECT CASE WHEN ta.topic_id = -1 THEN 'outlier' ELSE tt.name END FROM topic_assignments ta "
        "LEFT JOIN topics tt ON tt.topic_id = ta.topic_id WHERE ta.item_id = i.item_id) AS topic",
    ]
