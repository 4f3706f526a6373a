"""A lake-backed workspace: a catalog ``.duckdb`` whose big tables are views over the lake's Parquet datasets.

Design decision: the catalog is made by the same migrations as any workspace, so every stage's table exists and
`earful.store.Store` opens it without running anything; then the big tables (``items``, ``embeddings``,
``classify_labels``, ``topic_assignments`` and each source's ``src_<source>``) are dropped and replaced by views with
``read_parquet(..., hive_partitioning = true)``, the small ones (sources, taxonomies, topics, models, ...) are
loaded from ``meta/``, and the per-source wide views are rebuilt by `earful.store.views` exactly as in a workspace.
Which label and topic partitions count is the manifest's ``current`` (literal paths, so DuckDB prunes the rest).
`lake_views` gives the same view SQL to an in-memory DuckDB (runners and rollups), so there is one definition.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from earful.errors import InputError
from earful.lake.layout import MANIFEST, Lake, part_value
from earful.store.sql import quote_ident, quote_literal

BIG_TABLES = ("items", "embeddings", "classify_labels", "topic_assignments")
# the small workspace tables an export copies to meta/ and a catalog loads back
META_TABLES = ("sources", "batches", "quarantine", "taxonomies", "classify_gold", "classify_models", "classify_runs",
               "topic_runs", "topics", "topic_overrides", "topic_lineage", "topic_hierarchy", "aliases")
ROLLUPS = {
    "items": "day DATE, rating DOUBLE, n BIGINT",
    "labels": "day DATE, taxonomy VARCHAR, label VARCHAR, n BIGINT",
    "topics": "day DATE, topic_id INTEGER, n BIGINT",
}

_EMPTY = {
    "items": "item_id VARCHAR, source VARCHAR, external_id VARCHAR, text VARCHAR, created_at TIMESTAMPTZ, "
             "rating DOUBLE, author VARCHAR, content_hash VARCHAR, batch_id VARCHAR, date DATE",
    "embeddings": "content_hash VARCHAR, model_id VARCHAR, vector FLOAT[]",
    "classify_labels": "item_id VARCHAR, taxonomy VARCHAR, label VARCHAR, labels VARCHAR[], probability DOUBLE, "
                       "method VARCHAR, model_version VARCHAR, reason VARCHAR, labelled_at TIMESTAMPTZ",
    "topic_assignments": "item_id VARCHAR, topic_id INTEGER, score DOUBLE, method VARCHAR, run_id VARCHAR, "
                         "assigned_at TIMESTAMPTZ",
}


def _empty(columns: str) -> str:
    cols = ", ".join(f"NULL::{c.strip().split(' ', 1)[1]} AS {c.strip().split(' ', 1)[0]}" for c in columns.split(", "))
    return f"SELECT {cols} WHERE false"


def _glob(lake: Lake, *parts: str) -> str:
    return quote_literal(lake.uri(*parts))


def lake_views(lake: Lake, manifest: dict | None = None) -> dict[str, str]:
    """name -> SELECT for every lake-backed table of a workspace, plus the rollup views (``rollup_<name>``)."""
    m = manifest or lake.manifest()
    cur = m["current"]
    out: dict[str, str] = {}
    if lake.has_data("items"):
        out["items"] = ("SELECT item_id, source, external_id, text, created_at, rating, author, content_hash, "
                        f"batch_id, date FROM read_parquet({_glob(lake, 'items/*/*/*.parquet')}, "
                        "hive_partitioning = true, hive_types = {'source': 'VARCHAR', 'date': 'DATE'})")
    else:
        out["items"] = _empty(_EMPTY["items"])
    if lake.has_data("embeddings"):
        out["embeddings"] = ("SELECT content_hash, model AS model_id, vector::FLOAT[] AS vector FROM read_parquet("
                             f"{_glob(lake, 'embeddings/*/*.parquet')}, hive_partitioning = true, "
                             "hive_types = {'model': 'VARCHAR'})")
    else:
        out["embeddings"] = _empty(_EMPTY["embeddings"])
    parts = []
    for tax, versions in sorted(cur["labels"].items()):
        for v in versions:
            folder = f"labels/taxonomy={part_value(tax)}/model={part_value(v)}"
            if lake.has_data(folder):
                parts.append(f"SELECT item_id, {quote_literal(tax)} AS taxonomy, label, labels, probability, method, "
                             f"{'NULL' if v is None else quote_literal(v)}::VARCHAR AS model_version, reason, "
                             f"labelled_at FROM read_parquet({_glob(lake, folder + '/*.parquet')})")
    out["classify_labels"] = " UNION ALL ".join(parts) if parts else _empty(_EMPTY["classify_labels"])
    parts = []
    for run in cur["topics"]:
        folder = f"topics/run={part_value(run)}"
        if lake.has_data(folder):
            parts.append(f"SELECT item_id, topic_id, score, method, {quote_literal(run)} AS run_id, assigned_at "
                         f"FROM read_parquet({_glob(lake, folder + '/*.parquet')})")
    out["topic_assignments"] = " UNION ALL ".join(parts) if parts else _empty(_EMPTY["topic_assignments"])
    for name, columns in ROLLUPS.items():
        if lake.has_data("rollups", name):
            cols = ", ".join(c.split(" ")[0] for c in columns.split(", "))
            out[f"rollup_{name}"] = (f"SELECT source, {cols} FROM read_parquet("
                                     f"{_glob(lake, 'rollups', name, '*/*/*.parquet')}, hive_partitioning = true, "
                                     "hive_types = {'source': 'VARCHAR', 'month': 'VARCHAR'})")
        else:
            out[f"rollup_{name}"] = _empty("source VARCHAR, " + columns)
    return out


def raw_view(lake: Lake, source: str) -> str:
    folder = f"raw/source={part_value(source)}"
    if not lake.has_data(folder):
        return "SELECT NULL::VARCHAR AS item_id WHERE false"
    return (f"SELECT * FROM read_parquet({_glob(lake, folder + '/*/*.parquet')}, hive_partitioning = false, "
            "union_by_name = true)")


def connect_lake(lake: Lake, manifest: dict | None = None):
    """An in-memory DuckDB with the lake's tables as views (for runners, rollups and tests)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _remote(con, lake)
    for name, sql in lake_views(lake, manifest).items():
        con.execute(f"CREATE VIEW {quote_ident(name)} AS {sql}")
    return con


def _remote(con, lake: Lake) -> None:
    if not lake.local:   # s3://, gs://, https://: DuckDB reads them through httpfs (credentials: DuckDB secrets)
        con.execute("INSTALL httpfs")
        con.execute("LOAD httpfs")


def is_catalog(path: Path) -> bool:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = '_lake'")
                    .fetchall()[0][0])
    finally:
        con.close()


def init_catalog(url: str, catalog: str | Path, *, create: bool = False) -> dict:
    """Create (or refresh) the catalog database `catalog` over the lake at `url`; returns a summary. `create`: start
    an empty lake at `url` when there is none (then `earful ingest` fills it)."""
    import duckdb

    from earful.store import Store
    from earful.store.views import refresh_view

    lake = Lake(url, create=create)
    if create and not lake.exists(MANIFEST):
        lake.save_manifest(lake.manifest())
    manifest = lake.manifest()
    catalog = Path(catalog)
    if catalog.exists() and not is_catalog(catalog):
        raise InputError(f"{catalog} is a workspace, not a lake catalog; it is left as it is",
                         hint="choose another --db path for the catalog (e.g. lake.duckdb)")
    Store(catalog).close()   # every migration: each stage's tables exist and are recorded
    con = duckdb.connect(str(catalog))
    try:
        con.execute("SET TimeZone = 'UTC'")
        _remote(con, lake)
        con.execute("BEGIN TRANSACTION")
        kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                                 "WHERE table_schema = 'main'").fetchall())
        loaded = {}
        for table in META_TABLES:
            if lake.exists("meta", f"{table}.parquet") and table in kinds:
                loaded[table] = _load_meta(con, lake, table)
        sources = [r[0] for r in con.execute("SELECT name, raw_table FROM sources ORDER BY name").fetchall()]
        for name, sql in lake_views(lake, manifest).items():
            if kinds.get(name) == "BASE TABLE":
                con.execute(f"DROP TABLE {quote_ident(name)}")
            con.execute(f"CREATE OR REPLACE VIEW {quote_ident(name)} AS {sql}")
        for name, raw_table in con.execute("SELECT name, raw_table FROM sources").fetchall():
            if kinds.get(raw_table) == "BASE TABLE":
                con.execute(f"DROP TABLE {quote_ident(raw_table)}")
            con.execute(f"CREATE OR REPLACE VIEW {quote_ident(raw_table)} AS {raw_view(lake, name)}")
        for name, raw_table in con.execute("SELECT name, raw_table FROM sources").fetchall():
            refresh_view(con, name, raw_table)
        con.execute("CREATE TABLE IF NOT EXISTS _lake (url VARCHAR, manifest JSON, initialized_at TIMESTAMPTZ)")
        con.execute("DELETE FROM _lake")
        con.execute("INSERT INTO _lake VALUES (?, ?, ?)", [lake.url, _json(manifest), datetime.now(UTC)])
        con.execute("COMMIT")
        items = con.execute("SELECT count(*) FROM items").fetchall()[0][0]
    finally:
        con.close()
    return {"catalog": str(catalog), "lake": lake.url, "sources": sources, "items": items,
            "meta_tables": loaded, "labels": manifest["current"]["labels"], "topics": manifest["current"]["topics"]}


def _json(data) -> str:
    import json

    return json.dumps(data, sort_keys=True)


def _load_meta(con, lake: Lake, table: str) -> int:
    src = _glob(lake, "meta", f"{table}.parquet")
    have = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({src})").fetchall()}
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall() if r[0] in have]
    names = ", ".join(quote_ident(c) for c in cols)
    con.execute(f"DELETE FROM {quote_ident(table)}")
    con.execute(f"INSERT INTO {quote_ident(table)} ({names}) SELECT {names} FROM read_parquet({src})")
    return con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]
