"""`earful export --to DIR_OR_URL`: write a workspace as a lake (see `earful.lake` for the layout).

Design decision: a rerun writes only the partitions whose rows changed. Before writing, one aggregate query per
dataset gives each partition's fingerprint in the workspace (row count, XOR and sum of DuckDB's 64-bit ``hash`` of
every exported column of every row: order-free, so no sort, and one scan, far cheaper than writing Parquet). The
lake keeps, in ``_export.json``, each partition's fingerprint and the names and sizes of the files it wrote there.
A partition is rewritten when its fingerprint differs or its files are not the ones recorded (someone else wrote
there, or an export was killed half-way); a partition this export wrote that the workspace no longer has is
removed. Unchanged partitions, meta tables and rollups are not touched (same names, same mtimes), and the rollups
are rebuilt only for the (source, month) pairs whose items, labels or topic assignments changed. A new DuckDB
version (another ``hash``) rewrites everything once. Everything streams from DuckDB as Arrow record batches, and the
manifest is written last: a lake whose export was killed half-way keeps its previous manifest.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from earful.lake.catalog import META_TABLES
from earful.lake.layout import Lake, PartitionWriter, split_by
from earful.store.sql import quote_ident

BATCH_ROWS = 65_536
STATE = "_export.json"
NULL_KEY = "\x00null"   # a NULL partition key in the list of partitions to write


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


@dataclass
class Dataset:
    """One exported dataset (or one source's share of it): what to select, how it is partitioned, what to hash."""

    name: str                        # items, raw, embeddings, labels, topics
    columns: str                     # the data columns written
    source_sql: str                  # FROM ... WHERE ...
    keys: list[tuple[str, str]]      # (partition name, SQL expression, cast to VARCHAR)
    hashed: str                      # the hash() arguments: every exported column
    order: str
    params: list = field(default_factory=list)
    fixed: dict = field(default_factory=dict)   # partition keys above the selected ones (source=...)

    def scope(self, lake: Lake) -> str:
        """The folder (relative to the lake's root) whose partitions this dataset owns."""
        return lake.partition(self.name, self.fixed)[len(lake.root) + 1:]

    def key_sql(self) -> str:
        parts = [f"coalesce(CAST({expr} AS VARCHAR), '{NULL_KEY}')" for _, expr in self.keys]
        return parts[0] if len(parts) == 1 else " || chr(1) || ".join(parts)


def _fingerprints(store, ds: Dataset) -> dict[tuple, tuple[int, str]]:
    """(key values, ...) -> (rows, fingerprint) of every partition of `ds` in the workspace."""
    keys = ", ".join(f"CAST({expr} AS VARCHAR) AS __k{i}" for i, (_, expr) in enumerate(ds.keys))
    names = ", ".join(f"__k{i}" for i in range(len(ds.keys)))
    sql = (f"SELECT {names}, count(*), bit_xor(h)::VARCHAR, sum(h::HUGEINT)::VARCHAR FROM ("
           f"SELECT {keys}, hash({ds.hashed}) AS h {ds.source_sql}) GROUP BY ALL")
    n = len(ds.keys)
    return {tuple(r[:n]): (r[n], f"{r[n]}:{r[n + 1]}:{r[n + 2]}") for r in store.rows(sql, ds.params)}


def _sync(store, lake: Lake, ds: Dataset, state: dict, listing: dict[str, dict[str, int]], tag: str) -> dict:
    """Write the partitions of `ds` that changed, remove the ones this export wrote that the workspace no longer
    has; update `state` (rel folder -> {fp, files}); returns counts and the partition keys written or removed."""
    recorded = state["partitions"]
    fps = _fingerprints(store, ds)
    folder_of = {}
    for key in fps:
        full = lake.partition(ds.name, {**ds.fixed, **{n: v for (n, _), v in zip(ds.keys, key, strict=True)}})
        folder_of[key] = full[len(lake.root) + 1:]

    def files(rel: str) -> dict[str, int]:
        return listing.get(rel, {})

    changed = [k for k in fps if (rec := recorded.get(folder_of[k])) is None or rec["fp"] != fps[k][1]
               or rec["files"] != files(folder_of[k])]
    writer = PartitionWriter(lake, ds.name, replace=True, tag=tag)
    if changed:
        wanted = ["\x01".join(NULL_KEY if v is None else v for v in k) for k in changed]
        keys = ", ".join(f"CAST({expr} AS VARCHAR) AS __k{i}" for i, (_, expr) in enumerate(ds.keys))
        sql = (f"SELECT {ds.columns}, {keys} {ds.source_sql} AND {ds.key_sql()} IN (SELECT unnest(?::VARCHAR[])) "
               f"ORDER BY {ds.order}")
        _write(store, writer, sql, [f"__k{i}" for i in range(len(ds.keys))], [*ds.params, wanted], ds.fixed,
               {f"__k{i}": n for i, (n, _) in enumerate(ds.keys)})
        written = _by_folder(lake.sizes(ds.scope(lake)))
        for k in changed:
            recorded[folder_of[k]] = {"fp": fps[k][1], "files": written.get(folder_of[k], {})}
    live = set(folder_of.values())
    removed = []
    for rel in [r for r in recorded if r.startswith(ds.scope(lake) + "/") and r not in live]:
        if recorded[rel]["files"] == files(rel):   # only what this export wrote there: nobody else's files
            lake.delete(rel)
            removed.append(rel)
        del recorded[rel]
    return {"rows": sum(n for n, _ in fps.values()), "partitions": len(fps), "written": len(changed),
            "rows_written": writer.rows, "removed": removed,
            "keys": [{**ds.fixed, **{n: v for (n, _), v in zip(ds.keys, k, strict=True)}} for k in changed]}


def _by_folder(sizes: dict[str, int]) -> dict[str, dict[str, int]]:
    """{folder: {file name: size}} of a `Lake.sizes` listing."""
    out: dict[str, dict[str, int]] = {}
    for path, size in sizes.items():
        folder, name = path.rsplit("/", 1)
        out.setdefault(folder, {})[name] = size
    return out


def _datasets(store, names: list[str]) -> list[Dataset]:
    date = "CAST(CAST(i.created_at AS DATE) AS VARCHAR)"
    out = []
    for s in names:
        raw_table = quote_ident(store.source_info(s)["raw_table"])
        out.append(Dataset(
            "items", "i.item_id, i.external_id, i.text, i.created_at, i.rating, i.author, i.content_hash, i.batch_id",
            "FROM items i WHERE i.source = ?", [("date", date)],
            "i.item_id, i.external_id, i.text, i.created_at, i.rating, i.author, i.content_hash, i.batch_id",
            "i.created_at, i.item_id", [s], {"source": s}))
        out.append(Dataset("raw", "r.*", f"FROM {raw_table} r JOIN items i ON i.item_id = r.item_id WHERE i.source = ?",
                           [("date", date)], "r", "i.created_at, i.item_id", [s], {"source": s}))
    # derived datasets are per model / taxonomy / run, never per source: each partition holds every source's rows
    if store.table_exists("embeddings"):
        out.append(Dataset("embeddings", "content_hash, vector::FLOAT[] AS vector", "FROM embeddings WHERE true",
                           [("model", "model_id")], "content_hash, vector", "model_id, content_hash"))
    if store.table_exists("classify_labels"):
        cols = "item_id, label, labels, probability, method, reason, labelled_at"
        out.append(Dataset("labels", cols, "FROM classify_labels WHERE true",
                           [("taxonomy", "taxonomy"), ("model", "model_version")], cols,
                           "taxonomy, model_version, item_id"))
    if store.table_exists("topic_assignments"):
        cols = "item_id, topic_id, score, method, assigned_at"
        out.append(Dataset("topics", cols, "FROM topic_assignments WHERE true", [("run", "run_id")], cols,
                           "run_id, item_id"))
    return out


def _month_inputs(store, names: list[str]) -> dict[tuple, str]:
    """(source, 'YYYY-MM' or None) -> fingerprint of what the rollups of that month count: the items' days and
    ratings, their labels and their topic assignments."""
    month = "strftime(CAST(i.created_at AS DATE), '%Y-%m')"
    parts = {"items": "hash(i.item_id, CAST(i.created_at AS DATE), i.rating)"}
    joins = {"items": ""}
    if store.table_exists("classify_labels"):
        parts["labels"] = "hash(l.item_id, l.taxonomy, l.model_version, l.label)"
        joins["labels"] = "JOIN classify_labels l ON l.item_id = i.item_id"
    if store.table_exists("topic_assignments"):
        parts["topics"] = "hash(a.item_id, a.run_id, a.topic_id)"
        joins["topics"] = "JOIN topic_assignments a ON a.item_id = i.item_id"
    out: dict[tuple, list[str]] = {}
    for n, (name, h) in enumerate(parts.items()):
        rows = store.rows(f"SELECT i.source, {month}, count(*), bit_xor({h})::VARCHAR, sum({h}::HUGEINT)::VARCHAR "
                          f"FROM items i {joins[name]} WHERE i.source IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL",
                          [names])
        for s, m, c, x, t in rows:
            out.setdefault((s, m), ["-"] * len(parts))[n] = f"{c}:{x}:{t}"
    return {k: "|".join(v) for k, v in out.items()}


def _rollup_files(lake: Lake, listing: dict[str, dict[str, int]], source: str, month: str | None) -> dict[str, int]:
    """{path: size} of the files of every rollup's partition for (source, month); `listing` is `_by_folder`'s."""
    from earful.lake.catalog import ROLLUPS

    out = {}
    for name in ROLLUPS:
        rel = lake.partition(f"rollups/{name}", {"source": source, "month": month})[len(lake.root) + 1:]
        out.update({f"{rel}/{n}": size for n, size in listing.get(rel, {}).items()})
    return out


def _load_state(lake: Lake) -> dict:
    import duckdb

    hasher = f"duckdb {duckdb.__version__} hash"
    state = None
    if lake.exists(STATE):
        with lake.fs.open_input_stream(lake.path(STATE)) as f:
            try:
                state = json.loads(f.read().decode("utf-8"))
            except ValueError:
                state = None
    if not isinstance(state, dict) or state.get("hasher") != hasher:
        state = {"hasher": hasher, "partitions": {}, "rollups": {}}
    return state


def _save_state(lake: Lake, state: dict) -> None:
    import uuid

    tmp = lake.path(f".{STATE}.{uuid.uuid4().hex[:8]}")
    with lake.fs.open_output_stream(tmp) as f:
        f.write(json.dumps(state, sort_keys=True).encode("utf-8"))
    lake.fs.move(tmp, lake.path(STATE))


def export(store, url: str, *, sources: list[str] | None = None) -> dict:
    """Write `store` (or only `sources` of it, with everything derived) to the lake at `url`; returns a summary:
    rows and partitions per dataset, and how many partitions were written, left as they were, or removed."""
    from earful.lake import rollups

    names = sources or store.sources()
    known = set(store.sources())
    for s in names:
        if s not in known:
            from earful.errors import NotFoundError

            raise NotFoundError(f"no source named '{s}' (known: {', '.join(sorted(known)) or 'none yet'})")
    lake = Lake(url, create=True)
    manifest = lake.manifest()
    before = json.dumps(manifest, sort_keys=True)
    state = _load_state(lake)
    state_before = json.dumps(state, sort_keys=True)
    tag = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    listings: dict[str, dict[str, int]] = {}
    results: dict[str, dict] = {}
    item_keys: list[dict] = []
    removed: list[str] = []
    for ds in _datasets(store, names):
        listing = listings.setdefault(ds.name, _by_folder(lake.sizes(ds.name)))
        res = _sync(store, lake, ds, state, listing, tag)
        agg = results.setdefault(ds.name, {"rows": 0, "partitions": 0, "written": 0, "rows_written": 0})
        for k in agg:
            agg[k] += res[k]
        removed += res["removed"]
        if ds.name == "items":
            item_keys += res["keys"] + [_keys_of(rel) for rel in res["removed"]]
    out = {"lake": lake.url, "sources": names, "items": results["items"]["rows"], "raw": results["raw"]["rows"],
           "item_partitions": results["items"]["partitions"]}
    cur = manifest["current"]
    if "embeddings" in results:
        models = [r[0] for r in store.rows("SELECT DISTINCT model_id FROM embeddings ORDER BY 1")]
        cur["embeddings"] = sorted(set(cur["embeddings"]) | set(models))
        out["embeddings"] = results["embeddings"]["rows"]
    if "labels" in results:
        for tax, version in store.rows("SELECT DISTINCT taxonomy, model_version FROM classify_labels ORDER BY 1, 2"):
            versions = cur["labels"].setdefault(tax, [])
            if version not in versions:
                versions.append(version)
        out["labels"] = results["labels"]["rows"]
    if "topics" in results:
        runs = [r[0] for r in store.rows("SELECT DISTINCT run_id FROM topic_assignments ORDER BY 1")]
        cur["topics"] = [r for r in cur["topics"] if r in runs] + [r for r in runs if r not in cur["topics"]]
        out["topic_assignments"] = results["topics"]["rows"]
    out["meta"], meta_written = _meta(store, lake, state)
    out["llm_calls"], calls_written = _calls(store, lake, state)
    meta_written += calls_written
    manifest["sources"] = sorted(set(manifest.get("sources", [])) | set(names))
    # the rollups of the (source, month) pairs whose counted rows changed, or whose rollup files are not ours
    months = _month_inputs(store, names)
    roll_listing = _by_folder(lake.sizes("rollups"))
    touched = rollups.months(item_keys)
    for (s, m), fp in months.items():
        rec = state["rollups"].get(f"{s}/{m}")
        if rec is None or rec["fp"] != fp or rec["files"] != _rollup_files(lake, roll_listing, s, m):
            touched.add((s, m))
    for key in [k for k in state["rollups"] if k.split("/", 1)[0] in names]:
        s, m = key.split("/", 1)
        if (s, None if m == "None" else m) not in months:
            touched.add((s, None if m == "None" else m))
            del state["rollups"][key]
    written = sum(r["written"] for r in results.values())
    changed = bool(written or removed or meta_written or touched) or json.dumps(manifest, sort_keys=True) != before
    if changed:
        manifest["exported_from"] = str(store.path)
        manifest["exported_at"] = datetime.now(UTC).isoformat()
    out["rollup_partitions"] = rollups.rebuild(lake, touched, manifest) if touched else 0
    if touched:
        roll_listing = _by_folder(lake.sizes("rollups"))
        for s, m in touched:
            if (s, m) in months:
                state["rollups"][f"{s}/{m}"] = {"fp": months[(s, m)],
                                                "files": _rollup_files(lake, roll_listing, s, m)}
    total = sum(r["partitions"] for r in results.values())
    out["partitions"] = {"written": written, "unchanged": total - written, "removed": len(removed),
                         "meta_written": meta_written, "rollup_months_rebuilt": len(touched)}
    out["rows_written"] = {k: r["rows_written"] for k, r in results.items()}
    if changed or json.dumps(state, sort_keys=True) != state_before:
        _save_state(lake, state)
        lake.save_manifest(manifest)   # last: a killed export leaves the previous manifest
    return out


def _keys_of(rel: str) -> dict:
    """{source, date} of an items partition folder ``items/source=<s>/date=<d>``."""
    from urllib.parse import unquote

    from earful.lake.layout import NULL_PARTITION

    keys = dict(p.split("=", 1) for p in rel.split("/")[1:])
    return {k: None if v == NULL_PARTITION else unquote(v) for k, v in keys.items()}


def _meta(store, lake: Lake, state: dict) -> tuple[dict, int]:
    """Copy the small tables to ``meta/`` whole, each only when its rows (or its file) changed."""
    meta, written = {}, 0
    listing = lake.sizes("meta")
    for table in META_TABLES:
        if not store.table_exists(table):
            continue
        n, x, s = store.rows(f"SELECT count(*), bit_xor(hash(t))::VARCHAR, sum(hash(t)::HUGEINT)::VARCHAR "
                             f"FROM {quote_ident(table)} t")[0]
        rel = f"meta/{table}.parquet"
        fp = f"{n}:{x}:{s}"
        rec = state["partitions"].get(rel)
        if rec is None or rec["fp"] != fp or rec["files"] != {rel: listing.get(rel)}:
            lake.write_table(store.query(f"SELECT * FROM {quote_ident(table)}"), "meta", f"{table}.parquet")
            state["partitions"][rel] = {"fp": fp, "files": {rel: lake.sizes("meta").get(rel)}}
            written += 1
        meta[table] = n
    return meta, written


CALLS_FILE = "llm_calls/origin=workspace/part-0.parquet"
CACHEABLE = "outcome = 'ok' AND NOT cached AND purpose LIKE 'classify:%'"


def _calls(store, lake: Lake, state: dict) -> tuple[int, int]:
    """The workspace's paid-for classification calls to ``llm_calls/origin=workspace/`` (the lake's LLM stage reads
    them as its cache: `earful.lake.llm`), rewritten only when they changed; returns (rows, files written)."""
    if not store.table_exists("llm_calls"):
        return 0, 0
    n, x, s = store.rows(f"SELECT count(*), bit_xor(hash(t))::VARCHAR, sum(hash(t)::HUGEINT)::VARCHAR "
                         f"FROM (SELECT * FROM llm_calls WHERE {CACHEABLE}) t")[0]
    if not n and CALLS_FILE not in state["partitions"]:
        return 0, 0
    fp = f"{n}:{x}:{s}"
    rec = state["partitions"].get(CALLS_FILE)
    size = lake.sizes("llm_calls").get(CALLS_FILE)
    if rec is not None and rec["fp"] == fp and rec["files"] == {CALLS_FILE: size}:
        return n, 0
    lake.write_table(store.query(f"SELECT * FROM llm_calls WHERE {CACHEABLE} ORDER BY created_at"),
                     *CALLS_FILE.split("/"))
    state["partitions"][CALLS_FILE] = {"fp": fp, "files": {CALLS_FILE: lake.sizes("llm_calls").get(CALLS_FILE)}}
    return n, 1

