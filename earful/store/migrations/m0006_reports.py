"""Report tables: saved questions (monitors) with their run history, schedules with their runs, and delivery logs.

Design decision: a schedule's run is claimed by inserting its row, keyed by (schedule, slot), before the job starts;
the key is the lease, so two schedulers on one workspace cannot both run the same slot (the second insert finds
the row and skips). Monitors keep the SQL they were saved with, so re-running one is the same query every time.
"""


def migrate(con):
    con.execute("""
        CREATE TABLE monitors (
            name VARCHAR PRIMARY KEY,
            question VARCHAR NOT NULL,
            engine VARCHAR,
            plan JSON,
            sql VARCHAR NOT NULL,
            threshold DOUBLE,
            alert_on_change BOOLEAN DEFAULT FALSE,
            created_at TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE monitor_runs (
            name VARCHAR NOT NULL,
            run_at TIMESTAMPTZ NOT NULL,
            status VARCHAR NOT NULL,
            value DOUBLE,
            k BIGINT,
            n BIGINT,
            result JSON,
            error VARCHAR
        )""")
    con.execute("""
        CREATE TABLE schedules (
            name VARCHAR PRIMARY KEY,
            cron VARCHAR NOT NULL,
            args JSON NOT NULL,
            created_at TIMESTAMPTZ,
            last_slot TIMESTAMPTZ
        )""")
    con.execute("""
        CREATE TABLE schedule_runs (
            name VARCHAR NOT NULL,
            slot TIMESTAMPTZ NOT NULL,
            claimed_by VARCHAR,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            status VARCHAR,
            exit_code INTEGER,
            output VARCHAR,
            PRIMARY KEY (name, slot)
        )""")
    con.execute("""
        CREATE TABLE deliveries (
            report VARCHAR,
            target VARCHAR,
            attempt INTEGER,
            status VARCHAR,
            error VARCHAR,
            delivered_at TIMESTAMPTZ
        )""")
