"""View-column provider: one column per taxonomy (the label) plus `<taxonomy>_confidence`, in every source view.

Design decision: columns are correlated lookups into `classify_labels`, so the view never needs rebuilding when
labels change, only when a new taxonomy appears (`earful classify run` refreshes the views).
"""
from __future__ import annotations

import re

from earful.store.sql import quote_ident, quote_literal


def _ident(name: str) -> str:
    safe = re.sub(r"[^a-z0-9_]", "_", name.lower())
    return quote_ident(safe)


def view_columns(con, source: str) -> list[str]:
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema='main' AND "
                         "table_name='classify_labels'").fetchall()[0][0]
    if not exists:
        return []
    taxonomies = [r[0] for r in con.execute(
        "SELECT DISTINCT l.taxonomy FROM classify_labels l JOIN items i ON i.item_id = l.item_id "
        "WHERE i.source = ? ORDER BY 1", [source]).fetchall()]
    out = []
    for t in taxonomies:
        lit = quote_literal(t)
        out.append(f"(SELECT l.label FROM classify_labels l WHERE l.item_id = i.item_id AND l.taxonomy = {lit}) "
                   f"AS {_ident(t)}")
        out.append(f"(SELECT l.probability FROM classify_labels l WHERE l.item_id = i.item_id AND l.taxonomy = {lit}) "
                   f"AS {_ident(t + '_confidence')}")
    return out
