"""Core tables: sources, ingest batches, canonical items, quarantine, embeddings.

Items hold the canonical fields only; each source's full original record lives in its own typed table
``src_<source>`` (created by ingest with the file's own columns), joined on ``item_id`` by the source's view.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE sources (
            name VARCHAR PRIMARY KEY,
            raw_table VARCHAR NOT NULL,
            text_column VARCHAR,
            time_column VARCHAR,
            rating_column VARCHAR,
            id_column VARCHAR,
            author_column VARCHAR,
            profile VARCHAR,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
    con.execute("""
        CREATE TABLE batches (
            batch_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            path VARCHAR,
            loader VARCHAR,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            added BIGINT DEFAULT 0,
            duplicates BIGINT DEFAULT 0,
            quarantined BIGINT DEFAULT 0,
            detection JSON
        )""")
    con.execute("""
        CREATE TABLE items (
            item_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            external_id VARCHAR,
            text VARCHAR NOT NULL,
            created_at TIMESTAMPTZ,
            rating DOUBLE,
            author VARCHAR,
            content_hash VARCHAR NOT NULL,
            batch_id VARCHAR NOT NULL
        )""")
    con.execute("""
        CREATE TABLE quarantine (
            batch_id VARCHAR,
            source VARCHAR,
            path VARCHAR,
            record_no BIGINT,
            raw VARCHAR,
            reason VARCHAR,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
    con.execute("""
        CREATE TABLE embeddings (
            content_hash VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            vector FLOAT[384] NOT NULL
        )""")
