"""`earful ingest` into a lake-backed workspace: each file is ingested by the normal pipeline into a scratch
workspace, and its new items are appended to the lake as Hive partitions (``items/source=<s>/date=<d>/``, ``raw/...``).

Design decision: one ingest, not two. Parsing, detection, quarantine and the item ids (md5 of source and external id,
else of the whole record) are `earful.ingest.pipeline.ingest_file`'s, in a scratch ``.duckdb`` that starts with the
lake's row for the source (so a second file maps its text as it would in a workspace); the lake only adds the
dedupe against its own items of that source (an anti-join on ``item_id``, reading that one column) and the writes.
Files are appended (never an existing partition rewritten), then ``meta/`` (sources, batches, quarantine) and the
manifest, then the rollups of the (source, month) partitions the files touched.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from earful.lake.layout import Lake, PartitionWriter, part_value
from earful.store.sql import quote_ident, quote_literal

APPENDED_META = ("batches", "quarantine")


def ingest_files(lake: Lake, *, files: list[tuple[Path, str | None]], source: str | None = None,
                 overrides: dict | None = None, profile: str | None = None, fmt: str | None = None,
                 max_field_bytes: int = 1_000_000) -> list[dict]:
    """Ingest `files` (from `earful.ingest.pipeline.expand_paths`) into `lake`; one summary per file, as
    `ingest_file`'s (added / duplicates / quarantined / detection), with the lake's partitions written."""
    from earful.lake import rollups

    results, touched = [], set()
    with tempfile.TemporaryDirectory(prefix="earful-lake-ingest-") as tmp:
        for n, (path, group) in enumerate(files):
            summary, keys = _one(lake, Path(tmp) / f"scratch-{n}.duckdb", path, source=source or group,
                                 overrides=overrides, profile=profile, fmt=fmt, max_field_bytes=max_field_bytes)
            touched |= rollups.months(keys)
            results.append(summary)
    manifest = lake.manifest()
    if touched:
        for r in results:
            r["rollup_partitions"] = 0
        results[-1]["rollup_partitions"] = rollups.rebuild(lake, touched, manifest)
    return results


def _one(lake: Lake, scratch: Path, path: Path, *, source, overrides, profile, fmt, max_field_bytes):
    from earful.ingest.pipeline import check_source_name, ingest_file, source_name_for
    from earful.store import Store

    name = check_source_name(source or source_name_for(Path(path)))
    with Store(scratch) as store:
        _seed_source(store, lake, name)
        summary = ingest_file(store, path, source=name, overrides=overrides, profile=profile, fmt=fmt,
                              max_field_bytes=max_field_bytes)
        keys = _append(store, lake, summary)
    summary["lake"] = lake.url
    summary["item_partitions"] = len(keys)
    return summary, keys


def _seed_source(store, lake: Lake, source: str) -> None:
    """Copy the lake's ``sources`` row for `source` (if any) into the scratch workspace."""
    if not lake.exists("meta", "sources.parquet"):
        return
    src = quote_literal(lake.uri("meta", "sources.parquet"))
    cols = [r[0] for r in store.rows(f"DESCRIBE SELECT * FROM read_parquet({src})")]
    mine = {r[0] for r in store.rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'sources'")}
    names = ", ".join(quote_ident(c) for c in cols if c in mine)
    store.con.execute(f"INSERT INTO sources ({names}) SELECT {names} FROM read_parquet({src}) WHERE name = ?",
                      [source])


def _append(store, lake: Lake, summary: dict) -> list[dict]:
    """Write the scratch workspace's items that the lake does not hold yet; fix up the summary's counts."""
    from earful.lake.export import _write

    con, source, batch = store.con, summary["source"], summary["batch_id"]
    folder = f"items/source={part_value(source)}"
    have = (f"SELECT item_id FROM read_parquet({quote_literal(lake.uri(folder, '*', '*.parquet'))})"
            if lake.has_data(folder) else "SELECT NULL::VARCHAR AS item_id WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _lake_new AS SELECT item_id FROM items WHERE batch_id = ? "
                f"AND item_id NOT IN ({have})", [batch])
    new = store.scalar("SELECT count(*) FROM _lake_new")
    already = summary["added"] - new
    tag = f"{batch}"
    items = PartitionWriter(lake, "items", replace=False, tag=tag)
    _write(store, items, """
        SELECT item_id, external_id, text, created_at, rating, author, content_hash, batch_id,
               CAST(CAST(created_at AS DATE) AS VARCHAR) AS date
        FROM items WHERE item_id IN (SELECT item_id FROM _lake_new) ORDER BY created_at, item_id""", ["date"],
           fixed={"source": source})
    if new:
        raw = PartitionWriter(lake, "raw", replace=False, tag=tag)
        raw_table = store.source_info(source)["raw_table"]
        _write(store, raw, f"""
            SELECT r.*, CAST(CAST(i.created_at AS DATE) AS VARCHAR) AS __lake_date
            FROM {quote_ident(raw_table)} r JOIN items i ON i.item_id = r.item_id
            WHERE i.item_id IN (SELECT item_id FROM _lake_new) ORDER BY i.created_at, i.item_id""",
               ["__lake_date"], fixed={"source": source}, rename={"__lake_date": "date"})
    con.execute("UPDATE batches SET added = ?, duplicates = duplicates + ? WHERE batch_id = ?",
                [new, already, batch])
    summary["added"], summary["duplicates"] = new, summary["duplicates"] + already
    _merge_meta(store, lake, source, batch)
    manifest = lake.manifest()
    manifest["sources"] = sorted(set(manifest.get("sources", [])) | {source})
    lake.save_manifest(manifest)
    return items.keys


def _merge_meta(store, lake: Lake, source: str, batch: str) -> None:
    """meta/sources gets the source's row when it is new; meta/batches and meta/quarantine get this batch's rows."""
    old = {t: (f"SELECT * FROM read_parquet({quote_literal(lake.uri('meta', t + '.parquet'))})"
               if lake.exists("meta", f"{t}.parquet") else None) for t in ("sources", *APPENDED_META)}
    new = {"sources": "SELECT * FROM sources WHERE name = ?" + (
               f" AND name NOT IN (SELECT name FROM ({old['sources']}))" if old["sources"] else ""),
           "batches": "SELECT * FROM batches WHERE batch_id = ?",
           "quarantine": "SELECT * FROM quarantine WHERE batch_id = ?"}
    for table, sql in new.items():
        param = [source] if table == "sources" else [batch]
        merged = sql if old[table] is None else f"{old[table]} UNION ALL BY NAME {sql}"
        lake.write_table(store.con.sql(merged, params=param).to_arrow_table(), "meta", f"{table}.parquet")
