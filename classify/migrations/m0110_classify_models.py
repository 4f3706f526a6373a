"""Classification, second step: stored models say their format, and every labelling run is recorded.

Design decision: `classify_models.format` names how `blob` was written ("skops-1": skops, loaded only when every
type in it is on Earful's allow-list). Rows from before this migration have NULL there: they are pickles, which
Earful no longer loads (unpickling runs code), so it asks for a retrain instead. `classify_runs` keeps what a run
decided, e.g. that the cascade did not route to the LLM because it was not better on the validation slice.
"""


def migrate(con):
    con.execute("ALTER TABLE classify_models ADD COLUMN format VARCHAR")
    con.execute("ALTER TABLE classify_models ADD COLUMN versions JSON")
    con.execute("""
        CREATE TABLE classify_runs (
            run_id VARCHAR PRIMARY KEY,
            taxonomy VARCHAR NOT NULL,
            method VARCHAR NOT NULL,
            model_version VARCHAR,
            source VARCHAR,
            labelled BIGINT,
            sent_to_llm BIGINT,
            routing JSON,
            finished_at TIMESTAMPTZ DEFAULT current_timestamp
        )""")
