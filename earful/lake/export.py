"""`earful export --to DIR_OR_URL`: write a workspace as a lake (see `earful.lake` for the layout).

Design decision: everything streams from DuckDB as Arrow record batches and is written partition by partition, so
an export never holds a table in memory; a rerun rewrites exactly the partitions it writes (each source/date of the
items it exports, each model/taxonomy/run of the derived tables) and leaves every other partition as it was. The
small tables go to ``meta/`` whole. The manifest is written last: a lake whose export was killed half-way keeps its
previous manifest.
"""
from __future__ import annotations

from datetime import UTC, datetime

from earful.lake.catalog import META_TABLES
from earful.lake.layout import Lake, PartitionWriter, split_by
from earful.store.sql import quote_ident

BATCH_ROWS = 65_536


def _stream(store, sql: str, params: list | None = None, rows: int = BATCH_ROWS):
    reader = store.con.sql(sql, params=params or None).to_arrow_reader(rows)
    import pyarrow as pa

    for batch in reader:
        yield pa.Table.from_batches([batch])


def _write(store, writer: PartitionWriter, sql: str, keys: list[str], params: list | None = None,
           fixed: dict | None = None, rename: dict | None = None) -> None:
    for table in _stream(store, sql, params):
        for key, part in split_by(table, keys):
            writer.write(part, {**(fixed or {}), **{(rename or {}).get(k, k): v for k, v in key.items()}})


def export(store, url: str, *, sources: list[str] | None = None) -> dict:
    """Write `store` (or only `sources` of it, with everything derived) to the lake at `url`; returns a summary."""
    from earful.lake import rollups

    lake = Lake(url, create=True)
    manifest = lake.manifest()
    names = sources or store.sources()
    known = set(store.sources())
    for s in names:
        if s not in known:
            from earful.errors import NotFoundError

            raise NotFoundError(f"no source named '{s}' (known: {', '.join(sorted(known)) or 'none yet'})")
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    items = PartitionWriter(lake, "items", replace=True, tag=tag)
    raw = PartitionWriter(lake, "raw", replace=True, tag=tag)
    for s in names:
        _write(store, items, """
            SELECT item_id, external_id, text, created_at, rating, author, content_hash, batch_id,
                   CAST(CAST(created_at AS DATE) AS VARCHAR) AS date
            FROM items WHERE source = ? ORDER BY created_at, item_id""", ["date"], [s], {"source": s})
        raw_table = store.source_info(s)["raw_table"]
        _write(store, raw, f"""
            SELECT r.*, CAST(CAST(i.created_at AS DATE) AS VARCHAR) AS __lake_date
            FROM {quote_ident(raw_table)} r JOIN items i ON i.item_id = r.item_id
            WHERE i.source = ? ORDER BY i.created_at, i.item_id""", ["__lake_date"], [s], {"source": s},
               {"__lake_date": "date"})
    # derived datasets are per model / taxonomy / run, never per source: they are always written whole
    out = {"lake": lake.url, "sources": names, "items": items.rows, "raw": raw.rows,
           "item_partitions": len(items.touched)}
    cur = manifest["current"]
    if store.table_exists("embeddings"):
        emb = PartitionWriter(lake, "embeddings", replace=True, tag=tag)
        _write(store, emb, "SELECT content_hash, vector::FLOAT[] AS vector, model_id AS model FROM embeddings "
                           "ORDER BY model_id, content_hash", ["model"])
        models = [r[0] for r in store.rows("SELECT DISTINCT model_id FROM embeddings ORDER BY 1")]
        cur["embeddings"] = sorted(set(cur["embeddings"]) | set(models))
        out["embeddings"] = emb.rows
    if store.table_exists("classify_labels"):
        lab = PartitionWriter(lake, "labels", replace=True, tag=tag)
        _write(store, lab, """
            SELECT item_id, label, labels, probability, method, reason, labelled_at, taxonomy,
                   model_version AS model
            FROM classify_labels ORDER BY taxonomy, model_version, item_id""", ["taxonomy", "model"])
        for tax, version in store.rows("SELECT DISTINCT taxonomy, model_version FROM classify_labels ORDER BY 1, 2"):
            versions = cur["labels"].setdefault(tax, [])
            if version not in versions:
                versions.append(version)
        out["labels"] = lab.rows
    if store.table_exists("topic_assignments"):
        top = PartitionWriter(lake, "topics", replace=True, tag=tag)
        _write(store, top, """
            SELECT item_id, topic_id, score, method, assigned_at, run_id AS run
            FROM topic_assignments ORDER BY run_id, item_id""", ["run"])
        runs = [r[0] for r in store.rows("SELECT DISTINCT run_id FROM topic_assignments ORDER BY 1")]
        cur["topics"] = [r for r in cur["topics"] if r in runs] + [r for r in runs if r not in cur["topics"]]
        out["topic_assignments"] = top.rows
    meta = {}
    for table in META_TABLES:
        if store.table_exists(table):
            tbl = store.query(f"SELECT * FROM {quote_ident(table)}")
            lake.write_table(tbl, "meta", f"{table}.parquet")
            meta[table] = tbl.num_rows
    out["meta"] = meta
    manifest["sources"] = sorted(set(manifest.get("sources", [])) | set(names))
    manifest["exported_from"] = str(store.path)
    manifest["exported_at"] = datetime.now(UTC).isoformat()
    touched = rollups.months(items.keys)
    out["rollup_partitions"] = rollups.rebuild(lake, touched, manifest)
    lake.save_manifest(manifest)
    return out
