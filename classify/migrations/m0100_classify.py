"""Classification tables: taxonomies, gold labels, trained models, per-item labels, evaluation runs.

Design decision: labels are keyed by (item_id, taxonomy) and carry method + model_version, so a run can resume after a
kill (only unlabelled items are done, one committed batch at a time) and every label says where it came from.
Trained models are stored in the workspace (as skops since migration 0110; never unpickled), so the workspace is the
only thing to copy.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE taxonomies (
            name VARCHAR PRIMARY KEY,
            spec JSON NOT NULL,
            origin VARCHAR,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
    con.execute("""
        CREATE TABLE classify_gold (
            item_id VARCHAR NOT NULL,
            taxonomy VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            origin VARCHAR,
            added_at TIMESTAMPTZ DEFAULT current_timestamp,
            PRIMARY KEY (item_id, taxonomy)
        )""")
    con.execute("""
        CREATE TABLE classify_models (
            model_version VARCHAR PRIMARY KEY,
            taxonomy VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            features JSON,
            n_train BIGINT,
            trained_at TIMESTAMPTZ DEFAULT current_timestamp,
            blob BLOB
        )""")
    con.execute("""
        CREATE TABLE classify_labels (
            item_id VARCHAR NOT NULL,
            taxonomy VARCHAR NOT NULL,
            label VARCHAR NOT NULL,
            labels VARCHAR[],
            probability DOUBLE,
            method VARCHAR NOT NULL,
            model_version VARCHAR,
            reason VARCHAR,
            labelled_at TIMESTAMPTZ DEFAULT current_timestamp,
            PRIMARY KEY (item_id, taxonomy)
        )""")
    con.execute("""
        CREATE TABLE classify_evals (
            eval_id VARCHAR NOT NULL,
            taxonomy VARCHAR NOT NULL,
            gold_column VARCHAR,
            method VARCHAR NOT NULL,
            n BIGINT,
            folds INTEGER,
            accuracy DOUBLE,
            macro_f1 DOUBLE,
            classes JSON,
            per_class JSON,
            confusion JSON,
            created_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
