"""Reading a profile's items out of the workspace: one row per item with its subject, score and category.

Design decision: everything is one read-only SQL query over the source's view, returned as numpy arrays; a
category reaches an item from a column of the same source, from the classify stage's labels (``classify_labels``,
by taxonomy name), or, with a unit column, from the majority category of the unit's rows (ties go to the
alphabetically first), optionally read from another source joined on the unit (WildBench: the responses' labels,
one task = one unit). Rows left out (no subject, no score) are counted, never silently dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from earful.errors import InputError, NotFoundError
from earful.store.sql import quote_ident, quote_literal


@dataclass
class Items:
    item_id: np.ndarray      # object array of str
    subject: np.ndarray      # object array of str
    y: np.ndarray            # float64 score (or 0/1 for a label share)
    category: np.ndarray     # object array of str or None
    unit: np.ndarray | None = None   # object array of str, with a unit column
    notes: list[str] = field(default_factory=list)


def columns_of(store, source: str) -> list[str]:
    if source not in store.sources():
        known = ", ".join(store.sources()) or "none yet"
        raise NotFoundError(f"no source named '{source}' (known: {known})", hint="ingest it with --source NAME")
    return [r[0] for r in store.rows(f"DESCRIBE {quote_ident(source)}")]


def need(store, source: str, column: str | None, what: str) -> str | None:
    """The column's name as the view spells it, or a clear error listing the columns there are."""
    if column is None:
        return None
    cols = columns_of(store, source)
    for c in cols:
        if c.lower() == column.lower():
            return c
    raise InputError(f"the source '{source}' has no column '{column}' ({what})",
                     hint="columns: " + ", ".join(cols))


def _category_sql(store, source: str, category_column: str | None, labels: str | None, unit_column: str | None,
                  category_source: str | None) -> tuple[str, str]:
    """(WITH clause or '', expression over alias v) giving each item's category value."""
    if category_column is None and labels is None:
        return "", "NULL"
    src = category_source or source
    if labels is not None:
        if not store.table_exists("classify_labels"):
            raise NotFoundError(f"no labels for the taxonomy '{labels}'",
                                hint=f"run 'earful classify run --taxonomy {labels} --source {src}' first")
        def per_item(a: str) -> str:
            return (f"(SELECT l.label FROM classify_labels l WHERE l.item_id = {a}.item_id "
                    f"AND l.taxonomy = {quote_literal(labels)})")
    else:
        col = quote_ident(need(store, src, category_column, "category"))

        def per_item(a: str) -> str:
            return f"{a}.{col}"
    if unit_column is None:
        if category_source:
            raise InputError("a category from another source needs --unit-column to join the two on",
                             hint="e.g. --unit-column session_id")
        return "", per_item("v")
    unit_here = quote_ident(need(store, source, unit_column, "unit"))
    unit_there = quote_ident(need(store, src, unit_column, "unit"))
    with_sql = (f"_cat AS (SELECT unit, first(cat ORDER BY k DESC, cat) AS cat FROM ("
                f"SELECT CAST(c.{unit_there} AS VARCHAR) AS unit, CAST({per_item('c')} AS VARCHAR) AS cat, "
                f"count(*) AS k "
                f"FROM {quote_ident(src)} c WHERE {per_item('c')} IS NOT NULL GROUP BY ALL) GROUP BY unit)")
    return with_sql, f"(SELECT _cat.cat FROM _cat WHERE _cat.unit = CAST(v.{unit_here} AS VARCHAR))"


def load_items(store, source: str, subject_column: str, score_column: str | None = None,
               label: tuple[str, str] | None = None, category_column: str | None = None, labels: str | None = None,
               unit_column: str | None = None, category_source: str | None = None,
               subjects: list[str] | None = None) -> Items:
    """The profile's items. `score_column` is numeric; `label` = (column, value) makes the score 1 when the column
    equals the value (a share); `labels` names a classify taxonomy whose label is the category."""
    subj = need(store, source, subject_column, "subject")
    if (score_column is None) == (label is None):
        raise InputError("give either a score column or a label share (column=value), not both or neither",
                         hint="e.g. --score-column score, or --label-share 'feedback_type=bug report'")
    if score_column is not None:
        col = quote_ident(need(store, source, score_column, "score"))
        score = f"TRY_CAST(v.{col} AS DOUBLE)"
    else:
        col = quote_ident(need(store, source, label[0], "label"))
        score = (f"CASE WHEN v.{col} IS NULL THEN NULL WHEN lower(CAST(v.{col} AS VARCHAR)) = "
                 f"{quote_literal(str(label[1]).lower())} THEN 1.0 ELSE 0.0 END")
    with_sql, cat = _category_sql(store, source, category_column, labels, unit_column, category_source)
    unit_sql = f"CAST(v.{quote_ident(need(store, source, unit_column, 'unit'))} AS VARCHAR)" if unit_column else "NULL"
    where = [f"v.{quote_ident(subj)} IS NOT NULL"]
    params: list = []
    if subjects:
        where.append(f"CAST(v.{quote_ident(subj)} AS VARCHAR) IN (SELECT unnest(?))")
        params.append([str(s) for s in subjects])
    sql = (("WITH " + with_sql + " " if with_sql else "") +
           f"SELECT v.item_id, CAST(v.{quote_ident(subj)} AS VARCHAR) AS subject, {score} AS y, "
           f"CAST({cat} AS VARCHAR) AS category, {unit_sql} AS unit FROM {quote_ident(source)} v "
           f"WHERE {' AND '.join(where)} "
           f"ORDER BY v.item_id")
    tbl = store.query(sql, params)
    y = tbl.column("y").to_numpy(zero_copy_only=False).astype(np.float64)
    ids = np.array(tbl.column("item_id").to_pylist(), dtype=object)
    subject = np.array(tbl.column("subject").to_pylist(), dtype=object)
    category = np.array(tbl.column("category").to_pylist(), dtype=object)
    notes = []
    missing = np.isnan(y)
    if missing.any():
        what = "score" if score_column else f"value in '{label[0]}'"
        notes.append(f"{int(missing.sum())} items without a {what} are left out of the profile")
    total = store.scalar(f"SELECT count(*) FROM {quote_ident(source)}")
    unnamed = total - len(ids) if not subjects else 0
    if unnamed:
        notes.append(f"{unnamed} items without a {subject_column} are left out of the profile")
    if subjects:
        found = set(subject.tolist())
        absent = [s for s in subjects if s not in found]
        if absent:
            raise NotFoundError(f"no items for {', '.join(repr(a) for a in absent)} in '{source}'",
                                hint="subjects: " + ", ".join(r[0] for r in store.rows(
                                    f"SELECT DISTINCT CAST({quote_ident(subj)} AS VARCHAR) FROM {quote_ident(source)} "
                                    f"ORDER BY 1 LIMIT 30")))
    keep = ~missing
    unit = np.array(tbl.column("unit").to_pylist(), dtype=object)[keep] if unit_column else None
    return Items(item_id=ids[keep], subject=subject[keep], y=y[keep], category=category[keep], unit=unit,
                 notes=notes)


def texts(store, source: str, column: str, item_ids: list[str]) -> dict[str, str]:
    """item id -> the text in `column` for these items."""
    if not item_ids:
        return {}
    col = quote_ident(need(store, source, column, "quote text"))
    rows = store.rows(f"SELECT item_id, CAST({col} AS VARCHAR) FROM {quote_ident(source)} "
                      f"WHERE item_id IN (SELECT unnest(?))", [list(item_ids)])
    return {r[0]: r[1] or "" for r in rows}
