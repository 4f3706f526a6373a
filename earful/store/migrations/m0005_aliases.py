"""Workspace synonyms: plain words for a column, or for one value of a column (``earful describe ... --alias``).

A row is an alias of a column (``value`` NULL) or of one value of it (``value`` = the value as text). ``source`` is
the source (view) it was given for, or '' for every source that has the column. Ingest never touches this table,
so aliases survive re-ingesting and new data.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE IF NOT EXISTS aliases (
            source VARCHAR NOT NULL,
            column_name VARCHAR NOT NULL,
            value VARCHAR,
            alias VARCHAR NOT NULL,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
