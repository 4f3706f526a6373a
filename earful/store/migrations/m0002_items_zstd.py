"""Store the machine-made columns of ``items`` with ZSTD compression: the hashes ``item_id`` and ``content_hash``,
and ``external_id`` / ``author`` (canonical copies; the typed originals stay in ``src_<source>``).

DuckDB's automatic choice (dictionary + FSST) was the largest single cost of a big ingest after parsing: measured
on 1M rows, ZSTD writes these four columns in about half the CPU time for a ~10% larger ``items`` table (random hex
hardly compresses either way). ``text`` keeps the automatic choice, which keeps ``LIKE`` scans fast. DuckDB sets a
column's compression only at ``CREATE TABLE``, so this migration rebuilds ``items`` with the same columns and rows
(views over ``items`` bind by name and keep working).
"""


def migrate(con):
    con.execute("""
        CREATE TABLE _items_m0002 (
            item_id VARCHAR NOT NULL USING COMPRESSION zstd,
            source VARCHAR NOT NULL,
            external_id VARCHAR USING COMPRESSION zstd,
            text VARCHAR NOT NULL,
            created_at TIMESTAMPTZ,
            rating DOUBLE,
            author VARCHAR USING COMPRESSION zstd,
            content_hash VARCHAR NOT NULL USING COMPRESSION zstd,
            batch_id VARCHAR NOT NULL
        )""")
    con.execute("INSERT INTO _items_m0002 BY NAME SELECT * FROM items")
    con.execute("DROP TABLE items")
    con.execute("ALTER TABLE _items_m0002 RENAME TO items")
