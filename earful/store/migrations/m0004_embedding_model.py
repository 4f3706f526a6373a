"""Embeddings of any model: the vector column becomes variable-length (``FLOAT[]``), and every row names its model.

Vectors were ``FLOAT[384]`` (the packaged MiniLM only); ``[embeddings] model`` can now name models of other sizes
(all-mpnet-base-v2: 768). Rows keep their key (content_hash, model_id); a row without a model id can only have come
from the old default, so it gets ``all-MiniLM-L6-v2``. Duplicate (content_hash, model_id) rows, which concurrent
embeds could leave behind, collapse to one. DuckDB cannot change an array column's type in place, so the table is
rebuilt with the same rows.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE _embeddings_m0004 (
            content_hash VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,
            vector FLOAT[] NOT NULL
        )""")
    con.execute("""
        INSERT INTO _embeddings_m0004
        SELECT content_hash, model, any_value(vector)::FLOAT[]
        FROM (SELECT content_hash, coalesce(nullif(model_id, ''), 'all-MiniLM-L6-v2') AS model, vector
              FROM embeddings)
        GROUP BY content_hash, model""")
    con.execute("DROP TABLE embeddings")
    con.execute("ALTER TABLE _embeddings_m0004 RENAME TO embeddings")
