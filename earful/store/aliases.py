"""Workspace synonyms: plain words for a column, or for one value of a column, kept in the `aliases` table.

``earful describe COLUMN --alias "words"`` names a column; ``earful describe COLUMN VALUE --alias "words"`` names a
value (``asp_clarity`` as "clarity"). The schema card reads them (``ColumnCard.aliases`` / ``value_aliases``), and
the question engines match a question's words against them. An alias given without ``--source`` holds for every
source that has the column (stored with source '').

Design decision: an alias is checked against the workspace when it is written: the column must exist in a source
and the value must occur in it (as a whole value, an element of a list column, or a part of a '|'/';'-joined one),
so a typo fails with the columns or values listed instead of becoming a synonym that never matches. The value is
stored as it is written in the data, whatever case the user typed.
"""
from __future__ import annotations

import difflib

from earful.errors import InputError, NotFoundError
from earful.store.sql import quote_ident as _q

__all__ = ["ALIAS_MAX_LEN", "add_alias", "list_aliases", "remove_alias", "resolve_column", "resolve_value"]

ALIAS_MAX_LEN = 60


def clean_alias(alias: str) -> str:
    """The alias with its whitespace collapsed; an empty, multi-line or too long one is an InputError."""
    text = " ".join(str(alias or "").split())
    if not text:
        raise InputError("an alias needs at least one word", hint='e.g. --alias "clarity"')
    if len(text) > ALIAS_MAX_LEN or "\n" in str(alias):
        raise InputError(f"an alias is a few plain words (at most {ALIAS_MAX_LEN} characters, one line): '{text[:80]}'")
    return text


def _columns(store, source: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in store.rows(f"DESCRIBE {_q(source)}")]


def resolve_column(store, column: str, source: str | None = None) -> list[tuple[str, str, str]]:
    """[(source, column as named in the view, its type)] for every source (or just `source`) that has `column`
    (case-insensitive); a NotFoundError that lists the columns when none has it."""
    if source:
        store.source_info(source)   # NotFoundError listing the known sources
    sources = [source] if source else store.sources()
    if not sources:
        raise NotFoundError("the workspace has no sources yet", hint="ingest some feedback first: earful ingest FILE")
    found, listing = [], []
    for s in sources:
        cols = _columns(store, s)
        listing.append((s, [c for c, _ in cols]))
        found += [(s, c, t) for c, t in cols if c.lower() == str(column).lower()]
    if found:
        return found
    names = sorted({c for _, cs in listing for c in cs})
    close = difflib.get_close_matches(str(column), names, n=3, cutoff=0.75)
    where = f"source '{source}'" if source else ("source '" + sources[0] + "'" if len(sources) == 1 else
                                                  "any source (" + ", ".join(sources) + ")")
    cols = "; ".join(f"{s}: {', '.join(cs)}" for s, cs in listing) if len(listing) > 1 else ", ".join(listing[0][1])
    raise NotFoundError(f"no column '{column}' in {where}" + (f"; did you mean {' or '.join(close)}?" if close else "")
                        + f" (columns: {cols})", hint="name a column as 'earful describe' lists it")


def _value_queries(view: str, col: str, typ: str) -> list[str]:
    """SQL giving a column's values as text: whole values, list elements, '|'/';'-joined parts."""
    c, v = _q(col), _q(view)
    if typ.upper().endswith("[]"):
        return [f"SELECT DISTINCT CAST(x AS VARCHAR) FROM (SELECT unnest({c}) x FROM {v})"]
    out = [f"SELECT DISTINCT CAST({c} AS VARCHAR) FROM {v}"]
    if typ.upper().startswith("VARCHAR"):
        for sep in ("|", ";"):
            out.append(f"SELECT DISTINCT trim(x) FROM (SELECT unnest(string_split({c}, '{sep}')) x FROM {v} "
                       f"WHERE contains({c}, '{sep}'))")
    return out


def resolve_value(store, found: list[tuple[str, str, str]], value: str) -> str:
    """`value` as written in the data (exact match first, then the one case-insensitive match); a NotFoundError
    listing the column's most frequent values when it does not occur."""
    want = str(value)
    seen: list[str] = []
    for view, col, typ in found:
        for q in _value_queries(view, col, typ):
            vals = [r[0] for r in store.rows(f"SELECT * FROM ({q}) t(v) WHERE v IS NOT NULL AND lower(v) = lower(?)",
                                            [want])]
            if want in vals:
                return want
            seen += vals
    uniq = sorted(set(seen))
    if len(uniq) == 1:
        return uniq[0]
    if len(uniq) > 1:
        raise InputError(f"'{value}' matches several values that differ only in case: {', '.join(uniq)}",
                         hint="write the value exactly as in the data")
    view, col, typ = found[0]
    top = [str(r[0]) for r in store.rows(f"SELECT CAST({_q(col)} AS VARCHAR) v, count(*) n FROM {_q(view)} "
                                         f"WHERE {_q(col)} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 12")]
    close = difflib.get_close_matches(want, top, n=3, cutoff=0.5)
    raise NotFoundError(f"no value '{value}' in column {col}"
                        + (f"; did you mean {' or '.join(close)}?" if close else "")
                        + (f" (most frequent: {', '.join(top)})" if top else " (the column is empty)"),
                        hint=f"see its values with 'earful describe {col}'")


def add_alias(store, column: str, alias: str, *, value: str | None = None, source: str | None = None) -> dict:
    """Record `alias` for `column` (or for its `value`); returns what was stored and whether it was new."""
    alias = clean_alias(alias)
    found = resolve_column(store, column, source)
    col = found[0][1]
    val = resolve_value(store, found, value) if value is not None else None
    key = [source or "", col, val, alias]
    with store.transaction() as con:
        exists = con.execute("SELECT count(*) FROM aliases WHERE source = ? AND column_name = ? AND "
                             "value IS NOT DISTINCT FROM ? AND alias = ?", key).fetchall()[0][0]
        if not exists:
            con.execute("INSERT INTO aliases (source, column_name, value, alias) VALUES (?, ?, ?, ?)", key)
    return {"source": source or "*", "column": col, "value": val, "alias": alias, "added": not exists}


def remove_alias(store, column: str, alias: str | None = None, *, value: str | None = None,
                 source: str | None = None) -> int:
    """Forget `alias` (or every alias) of `column` / its `value`; returns how many were removed."""
    where = "lower(column_name) = lower(?) AND value IS NOT DISTINCT FROM ?"
    params: list = [column, value]
    if source is not None:
        where += " AND source = ?"
        params.append(source)
    if alias is not None:
        where += " AND alias = ?"
        params.append(clean_alias(alias))
    with store.transaction() as con:
        n = con.execute(f"SELECT count(*) FROM aliases WHERE {where}", params).fetchall()[0][0]
        con.execute(f"DELETE FROM aliases WHERE {where}", params)
    return int(n)


def list_aliases(con, column: str | None = None) -> list[dict]:
    """Every alias (optionally of one column), on any DuckDB connection (read-only is fine); [] without the table."""
    has = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema='main' AND "
                      "table_name='aliases'").fetchall()[0][0]
    if not has:
        return []
    where, params = ("WHERE lower(column_name) = lower(?)", [column]) if column else ("", [])
    rows = con.execute(f"SELECT source, column_name, value, alias FROM aliases {where} "
                       f"ORDER BY column_name, value NULLS FIRST, created_at", params).fetchall()
    return [{"source": s or "*", "column": c, "value": v, "alias": a} for s, c, v, a in rows]
