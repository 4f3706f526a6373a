"""earful.store.sql: the one place that quotes identifiers and literals into DuckDB SQL, checked against DuckDB."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np

from earful.store.sql import json_text, quote_ident, quote_literal

ROOT = Path(__file__).resolve().parents[1]
AWKWARD = ['plain', 'with space', 'say "hi"', "it's", 'dot.ted', '""', "'; DROP TABLE t; --", 'Ünïcödé', 'back\\slash']


def test_identifiers_and_literals_round_trip_through_duckdb(tmp_path):
    con = duckdb.connect(str(tmp_path / "q.duckdb"))
    table = quote_ident('my "table"')
    cols = ", ".join(f"{quote_ident(name)} VARCHAR" for name in AWKWARD)
    con.execute(f"CREATE TABLE {table} ({cols})")
    con.execute(f"INSERT INTO {table} VALUES ({', '.join(quote_literal(v) for v in AWKWARD)})")
    assert [c[0] for c in con.execute(f"DESCRIBE {table}").fetchall()] == AWKWARD
    assert list(con.execute(f"SELECT * FROM {table}").fetchall()[0]) == AWKWARD
    # each column by its own quoted name
    for name in AWKWARD:
        assert con.execute(f"SELECT {quote_ident(name)} FROM {table}").fetchall() == [(name,)]


def test_literals_keep_their_type():
    con = duckdb.connect()
    row = con.execute(f"SELECT {quote_literal(True)}, {quote_literal(False)}, {quote_literal(3)}, "
                      f"{quote_literal(2.5)}, {quote_literal('3')}").fetchall()[0]
    assert row == (True, False, 3, 2.5, "3")
    assert [type(v) for v in row] == [bool, bool, int, Decimal, str]  # DuckDB reads 2.5 as DECIMAL(2,1)


def test_json_text_is_the_form_the_store_and_cli_share():
    data = {"when": datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "day": date(2024, 5, 2),
            "money": Decimal("1.5"), "arr": np.array([1, 2]), "pair": (1, "a"), "text": "café"}
    assert json_text(data) == ('{"when": "2024-05-01T12:00:00+00:00", "day": "2024-05-02", "money": 1.5, '
                               '"arr": [1, 2], "pair": [1, "a"], "text": "café"}')
    from earful.cli.common import dumps

    assert dumps(data) == json_text(data)


def test_quoting_is_written_once():
    """No module outside earful/store/sql.py escapes quotes by hand (it was written out nine times)."""
    by_hand = re.compile(r"""replace\(\s*(["'])("|')\1\s*,\s*(["'])\2\2\3\s*\)""")
    offenders = []
    for folder in ("earful", "ingest", "classify", "topics", "qa_agent"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "sql.py" and path.parent.name == "store":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if by_hand.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert by_hand.search("""x.replace('"', '""')""") and by_hand.search('''x.replace("'", "''")''')
    assert offenders == [], "quote with earful.store.sql.quote_ident / quote_literal:\n" + "\n".join(offenders)
