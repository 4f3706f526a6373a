"""Topic tables: fits (runs), topics with centroids, assignments keyed by item_id, human overrides, lineage, hierarchy.

Design decision: the store is the source of truth for a topic model. A topic is its centroid plus its label;
assigning new items is nearest-centroid in SQL/numpy, so no pickled model is needed to keep working, and ids stay
stable across refits by matching new centroids to these ones. This migration creates ``centroid FLOAT[384]`` (MiniLM,
the only model when it was written) and stays as recorded; m0210 makes it ``FLOAT[]`` so a centroid is a vector of
whichever embedding model the run used (``topic_runs.params`` names it).
"""


def migrate(con):
    con.execute("""
        CREATE TABLE topic_runs (
            run_id VARCHAR PRIMARY KEY,
            backend VARCHAR NOT NULL,
            source VARCHAR,
            where_sql VARCHAR,
            params JSON,
            n_items BIGINT,
            n_fit BIGINT,
            n_topics INTEGER,
            outlier_rate_raw DOUBLE,
            outlier_rate DOUBLE,
            fit_seconds DOUBLE,
            fitted_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE topics (
            topic_id INTEGER PRIMARY KEY,
            name VARCHAR,
            description VARCHAR,
            label_source VARCHAR,
            keywords VARCHAR[],
            representative_ids VARCHAR[],
            size BIGINT DEFAULT 0,
            centroid FLOAT[384],
            status VARCHAR DEFAULT 'active',
            parent_id INTEGER,
            run_id VARCHAR,
            created_at TIMESTAMPTZ,
            updated_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE topic_assignments (
            item_id VARCHAR PRIMARY KEY,
            topic_id INTEGER NOT NULL,
            score DOUBLE,
            method VARCHAR,
            run_id VARCHAR,
            assigned_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE topic_overrides (
            seq INTEGER PRIMARY KEY,
            op VARCHAR NOT NULL,
            topic_ids INTEGER[] NOT NULL,
            value VARCHAR,
            result_ids INTEGER[],
            created_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE topic_lineage (
            run_id VARCHAR,
            event VARCHAR NOT NULL,
            topic_id INTEGER,
            prev_topic_id INTEGER,
            similarity DOUBLE,
            created_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE topic_hierarchy (
            node_id INTEGER PRIMARY KEY,
            left_id INTEGER,
            right_id INTEGER,
            distance DOUBLE,
            topic_ids INTEGER[],
            name VARCHAR
        )""")
    # One row per assigned item with its topic name and time: what the agent and reports group by.
    con.execute("""
        CREATE VIEW topic_items AS
        SELECT a.item_id, i.source, i.created_at, a.topic_id,
               CASE WHEN a.topic_id = -1 THEN 'outlier' ELSE t.name END AS topic, a.score, a.method
        FROM topic_assignments a JOIN items i ON i.item_id = a.item_id
        LEFT JOIN topics t ON t.topic_id = a.topic_id""")
