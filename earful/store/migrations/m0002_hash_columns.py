"""Store the hash-valued columns of ``items`` (``item_id``, ``content_hash``) uncompressed.

They are random hex strings: DuckDB's automatic string compression (dictionary + FSST) spends more time analysing
them on every insert than any other column of an ingest (about a third of a million-row ingest) and shrinks them
little. DuckDB sets compression per column only at ``CREATE TABLE``, so this migration rebuilds ``items`` with the
same columns and rows (views over ``items`` bind by name and keep working).
"""


def migrate(con):
    con.execute("""
        CREATE TABLE _items_m0002 (
            item_id VARCHAR NOT NULL USING COMPRESSION zstd,
            source VARCHAR NOT NULL,
            external_id VARCHAR,
            text VARCHAR NOT NULL,
            created_at TIMESTAMPTZ,
            rating DOUBLE,
            author VARCHAR,
            content_hash VARCHAR NOT NULL USING COMPRESSION zstd,
            batch_id VARCHAR NOT NULL
        )""")
    con.execute("INSERT INTO _items_m0002 BY NAME SELECT * FROM items")
    con.execute("DROP TABLE items")
    con.execute("ALTER TABLE _items_m0002 RENAME TO items")
