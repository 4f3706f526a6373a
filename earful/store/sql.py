"""How Python values are written into DuckDB SQL text: identifiers, literals, and JSON for JSON/TEXT columns.

Design decision: SQL that must name a column or embed a value it cannot bind (a view's body, a DDL statement, a
``read_csv`` path) quotes it here and nowhere else, so there is one escaping rule to get right: double the quote
character inside the quotes (DuckDB does not treat backslashes as escapes). Values that can be bound stay ``?``.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

__all__ = ["json_text", "quote_ident", "quote_literal"]


def quote_ident(name) -> str:
    """``name`` as one DuckDB identifier, in double quotes with any inner double quote doubled; case and dots are
    kept as they are (``a.b`` is one column named so, not a path)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value) -> str:
    """``value`` as a DuckDB literal: booleans and numbers as themselves, anything else as quoted text."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _json_default(o):
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, Decimal):
        return float(o)
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (set, tuple)):
        return list(o)
    return str(o)


def json_text(data) -> str:
    """``data`` as JSON text, the way Earful stores it and prints it with ``--json``: dates as ISO strings, numpy
    values as lists or numbers, anything else unknown as its ``str``; non-ASCII text kept as it is."""
    return json.dumps(data, default=_json_default, ensure_ascii=False)
