"""Running a stage over a lake: ``local`` streams DuckDB Arrow batches through it, ``ray`` runs it on Ray Data.

Design decision: one code path. A `Job` is (stage class, its constructor arguments, the DuckDB query over the lake
that selects what is still to do, the output partition); `run` is the only place that knows the engine. Locally the
query's batches go through one stage instance in this process. On Ray the driver writes the same query's rows (in
the same order) to ``_staging/<run>/``, and ``ray.data.read_parquet(...).map_batches(Stage, batch_format="pyarrow",
compute=ActorPoolStrategy(size=N))`` runs an actor pool (each actor loads the model once) whose workers write the
output partition themselves; workers never open a ``.duckdb`` file. Both then update the manifest and rebuild the
rollups of the (source, month) partitions the run touched. A job may also name a driver-side `prepare` (run on each
input batch before it is staged or handed to the stage: redaction) and a `side` folder for rows a stage emits besides
its output (an LLM stage's call-log rows, `earful.lake.llm`), split off by `split_side`.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from earful.errors import EarfulError, InputError, NotFoundError
from earful.lake.catalog import connect_lake
from earful.lake.layout import Lake, PartitionWriter, part_value
from earful.lake.stages import ClassifyStage, EmbedStage, TopicAssignStage
from earful.store.sql import quote_literal

ENGINES = ("local", "ray")
RAY_INSTALL = "pip install 'earful[ray]'"
# a busy machine starts a node slowly: longer waits for its agents to register and for the raylet to come up
LOCAL_CLUSTER_ENV = {"RAY_agent_register_timeout_ms": "300000", "RAY_raylet_start_wait_time_s": "300"}
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass
class Job:
    stage: type
    kwargs: dict
    input_sql: str                     # over the lake's views (`earful.lake.catalog.connect_lake`)
    output: str                        # the output partition folder, e.g. "labels/taxonomy=t/model=v"
    replace: bool                      # True: the run rewrites its partition; False: it adds files
    rolls_up: bool = True              # whether the run changes a rollup (labels, topics) or not (embeddings)
    update: Callable[[dict], None] = field(default=lambda m: None)   # manifest change once the run is written
    info: dict = field(default_factory=dict)
    # run on the driver over each input batch before the stage sees it (redaction: `earful.lake.llm.redactor`)
    prepare: Callable | None = None
    # (folder, column prefix): output rows whose prefixed columns are set go, prefix removed, to this append-only
    # folder instead of `output` (an LLM stage's call-log rows: `earful.lake.llm`)
    side: tuple[str, str] | None = None
    num_cpus: float = 1.0              # each Ray actor's CPU reservation (an LLM actor mostly waits on the network)


# -- the jobs ---------------------------------------------------------------------------------------------------
def _meta(lake: Lake, table: str) -> list[dict]:
    if not lake.exists("meta", f"{table}.parquet"):
        return []
    return lake.read_table("meta", f"{table}.parquet").to_pylist()


def _default_model(model: str | None) -> str:
    if model:
        return model
    from earful.embeddings import current_model

    return current_model()


def _only(source: str | None, alias: str = "") -> str:
    """`` AND source = '<s>'`` for a job limited to one source (pruned to its item partitions), else nothing."""
    return "" if source is None else f" AND {alias}source = {quote_literal(source)}"


def labels_todo(taxonomy: str, redo: bool) -> str:
    """The predicate of a labelling job's items still to do: those with no label of `taxonomy` (all with `redo`)."""
    return "" if redo else (f" AND i.item_id NOT IN (SELECT item_id FROM classify_labels "
                            f"WHERE taxonomy = {quote_literal(taxonomy)})")


def label_versions(taxonomy: str, version: str, redo: bool) -> Callable[[dict], None]:
    """A labelling job's manifest update: `version` becomes the taxonomy's newest (its only one with `redo`)."""
    def update(m: dict) -> None:
        cur = m["current"]["labels"]
        cur[taxonomy] = [version] if redo else [*[v for v in cur.get(taxonomy, []) if v != version], version]
    return update


def embed_job(lake: Lake, *, model: str | None = None, redo: bool = False,  # noqa: ARG001 - every job: (lake, ...)
              batch_size: int = 128, source: str | None = None) -> Job:
    from earful.embeddings import get_embedding_model

    model_id = get_embedding_model(_default_model(model)).name
    todo = "" if redo else (f" AND content_hash NOT IN (SELECT content_hash FROM embeddings "
                            f"WHERE model_id = {quote_literal(model_id)})")
    sql = (f"SELECT content_hash, any_value(text) AS text FROM items WHERE true{_only(source)}{todo} "
           "GROUP BY content_hash ORDER BY content_hash")

    def update(m: dict) -> None:
        m["current"]["embeddings"] = sorted(set(m["current"]["embeddings"]) | {model_id})
    return Job(EmbedStage, {"model": model_id, "batch_size": batch_size}, sql,
               f"embeddings/model={part_value(model_id)}", replace=redo, rolls_up=False, update=update,
               info={"model": model_id})


def classify_job(lake: Lake, taxonomy: str, *, redo: bool = False, source: str | None = None) -> Job:
    rows = sorted((r for r in _meta(lake, "classify_models") if r["taxonomy"] == taxonomy),
                  key=lambda r: r["trained_at"], reverse=True)
    if not rows:
        raise NotFoundError(f"the lake has no trained model for taxonomy '{taxonomy}'",
                            hint="fit on one node (earful classify train / run in a workspace), then "
                                 "'earful export --to URL' again; a lake only applies models")
    row = rows[0]
    versions = json.loads(row["versions"]) if isinstance(row["versions"], str) else (row["versions"] or {})
    emb_model = versions.get("embedding_model", "all-MiniLM-L6-v2")
    version = row["model_version"]
    todo = labels_todo(taxonomy, redo)
    sql = (f"SELECT i.item_id, i.text, i.rating, i.created_at, i.author, e.vector FROM items i LEFT JOIN "
           f"(SELECT content_hash, vector FROM embeddings WHERE model_id = {quote_literal(emb_model)}) e "
           f"ON e.content_hash = i.content_hash WHERE true{_only(source, 'i.')}{todo} ORDER BY i.item_id")
    update = label_versions(taxonomy, version, redo)
    kwargs = {"blob": bytes(row["blob"]), "fmt": row.get("format"), "versions": row["versions"],
              "taxonomy": taxonomy, "method": row["method"], "model_version": version,
              "embedding_model": emb_model}
    return Job(ClassifyStage, kwargs, sql, f"labels/taxonomy={part_value(taxonomy)}/model={part_value(version)}",
               replace=redo, update=update, info={"taxonomy": taxonomy, "model_version": version})


def assign_job(lake: Lake, *, redo: bool = False, source: str | None = None) -> Job:
    runs = sorted(_meta(lake, "topic_runs"), key=lambda r: r["fitted_at"], reverse=True)
    topics = [t for t in _meta(lake, "topics") if t["status"] == "active" and t.get("centroid") is not None]
    if not runs or not topics:
        raise NotFoundError("the lake has no fitted topics",
                            hint="fit on a sample on one node (earful topics fit), then 'earful export' again")
    run = runs[0]
    params = json.loads(run["params"] or "{}")
    threshold = float(params.get("threshold", 0.3))
    emb_model = params.get("embedding_model", "all-MiniLM-L6-v2")
    topics.sort(key=lambda t: t["topic_id"])
    todo = "" if redo else "AND i.item_id NOT IN (SELECT item_id FROM topic_assignments)"
    sql = (f"SELECT i.item_id, e.vector FROM items i JOIN (SELECT content_hash, vector FROM embeddings "
           f"WHERE model_id = {quote_literal(emb_model)}) e ON e.content_hash = i.content_hash "
           f"WHERE true{_only(source, 'i.')} {todo} "
           "ORDER BY i.item_id")
    run_id = run["run_id"]

    def update(m: dict) -> None:
        m["current"]["topics"] = [run_id] if redo else [*[r for r in m["current"]["topics"] if r != run_id], run_id]
    kwargs = {"topic_ids": [int(t["topic_id"]) for t in topics],
              "centroids": [list(map(float, t["centroid"])) for t in topics], "threshold": threshold}
    return Job(TopicAssignStage, kwargs, sql, f"topics/run={part_value(run_id)}", replace=redo, update=update,
               info={"run": run_id, "threshold": threshold, "embedding_model": emb_model})


# -- running ----------------------------------------------------------------------------------------------------
def rebatch(reader, size: int) -> Iterator:
    """Arrow tables of exactly `size` rows (the last one shorter) from a record-batch reader."""
    import pyarrow as pa

    pending, have = [], 0
    for batch in reader:
        pending.append(batch)
        have += batch.num_rows
        while have >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size).combine_chunks()
            rest = table.slice(size)
            pending, have = rest.to_batches(), rest.num_rows
    if have:
        yield pa.Table.from_batches(pending).combine_chunks()


def _touched(con, job: Job) -> set:
    if not job.rolls_up:
        return set()
    rows = con.execute(f"SELECT DISTINCT source, strftime(date, '%Y-%m') FROM items WHERE item_id IN "
                       f"(SELECT item_id FROM ({job.input_sql}))").fetchall()
    return {(s, m) for s, m in rows}


def run(lake: Lake, job: Job, *, engine: str = "local", batch_size: int = 256, concurrency: int = 2,
        progress: Callable[[int], None] | None = None) -> dict:
    """Run `job` over `lake` on `engine`; returns {rows, engine, seconds, batches, ...}."""
    from earful.lake import rollups

    if engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'", hint=f"use one of {', '.join(ENGINES)}")
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    manifest = lake.manifest()
    con = connect_lake(lake, manifest)
    t0 = time.perf_counter()
    try:
        todo = con.execute(f"SELECT count(*) FROM ({job.input_sql})").fetchall()[0][0]
        touched = _touched(con, job)
        if todo == 0:
            out = {"rows": 0}
        elif engine == "local":
            out = _run_local(con, lake, job, batch_size, progress)
        else:
            out = _run_ray(con, lake, job, batch_size, concurrency)
    finally:
        con.close()
    manifest = lake.manifest()
    job.update(manifest)
    lake.save_manifest(manifest)
    out["rollup_partitions"] = rollups.rebuild(lake, touched, manifest) if out["rows"] else 0
    return {**job.info, "stage": job.stage.__name__, "engine": engine, "todo": todo, **out,
            "output": job.output, "seconds": round(time.perf_counter() - t0, 3)}


def _run_local(con, lake: Lake, job: Job, batch_size: int, progress) -> dict:
    t0 = time.perf_counter()
    stage = job.stage(**job.kwargs)
    load_s = time.perf_counter() - t0
    writer = PartitionWriter(lake, job.output, replace=job.replace)
    side = _SideWriter(lake, job.side)
    batches = 0
    reader = con.sql(job.input_sql).to_arrow_reader(batch_size)
    for batch in rebatch(reader, batch_size):
        if job.prepare is not None:
            batch = job.prepare(batch)
        writer.write(side.take(stage(batch)), {})
        batches += 1
        if progress:
            progress(batch.num_rows)
    return {"rows": writer.rows, "batches": batches, "model_load_s": round(load_s, 3), **side.summary()}


def split_side(table, prefix: str):
    """(main rows without the side columns, side rows with the prefix taken off) of a stage's output table."""
    import pyarrow.compute as pc

    side_cols = [c for c in table.column_names if c.startswith(prefix)]
    if not side_cols:
        return table, None
    main_cols = [c for c in table.column_names if not c.startswith(prefix)]
    is_side = pc.fill_null(pc.is_valid(table.column(side_cols[0])), False)
    main = table.filter(pc.invert(is_side)).select(main_cols)
    side = table.filter(is_side).select(side_cols)
    return main, side.rename_columns([c[len(prefix):] for c in side_cols])


class _SideWriter:
    """Splits a stage's side rows (`Job.side`) off its output and appends them to their folder."""

    def __init__(self, lake: Lake, side: tuple[str, str] | None):
        self.side = side
        self.writer = PartitionWriter(lake, side[0], replace=False) if side else None
        self.cached = 0

    def take(self, table):
        """`table`'s main rows; its side rows are written."""
        if self.side is None:
            return table
        main, rows = split_side(table, self.side[1])
        if rows is not None and rows.num_rows:
            self.writer.write(rows, {})
            if "cached" in rows.column_names:
                import pyarrow.compute as pc

                self.cached += int(pc.sum(pc.cast(rows.column("cached"), "int64")).as_py() or 0)
        return main

    def summary(self) -> dict:
        return {} if self.side is None else {"side_rows": self.writer.rows, "side_cached": self.cached}


# -- Ray ----------------------------------------------------------------------------------------------------------
def ray_module():
    """`ray` with Ray Data, or the exact install line."""
    from earful.errors import require

    ray = require("ray", "ray[data]", extra="ray", purpose="--engine ray")
    require("ray.data", "ray[data]", extra="ray", purpose="--engine ray")
    return ray


def ensure_ray(num_cpus: int | None = None, attempts: int = 3):
    """Connect to ``RAY_ADDRESS`` when set, else start (or reuse) a local one-node cluster."""
    ray = ray_module()
    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS") or None
    kwargs = {"include_dashboard": False, "log_to_driver": False, "runtime_env": {"env_vars": OFFLINE_ENV}}
    if address is not None:
        check_address(address)
        try:
            ray.init(address=address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError or a bare Exception
            ray.shutdown()
            raise RayUnreachableError(f"cannot connect to the Ray cluster at RAY_ADDRESS={address}: "
                                      f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                                      hint=_ADDRESS_HINT) from exc
        return ray
    for key, value in LOCAL_CLUSTER_ENV.items():
        os.environ.setdefault(key, value)
    start_local_cluster(ray, attempts=attempts, num_cpus=num_cpus, **kwargs)
    return ray


_ADDRESS_HINT = ("start the cluster (ray start --head) or fix RAY_ADDRESS (host:port of its GCS, default port "
                 "6379, or ray://host:10001); unset RAY_ADDRESS to run on a one-node cluster started here")
CONNECT_TIMEOUT_S = 5.0


class RayUnreachableError(EarfulError):
    """RAY_ADDRESS names a cluster that does not answer (Ray itself would retry for minutes)."""


def check_address(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail fast when RAY_ADDRESS's host:port does not accept a TCP connection within `timeout_s`: Ray's own
    client keeps retrying the GCS for minutes before it gives up. ``auto`` / ``local`` (found on this machine by
    Ray) are left to Ray."""
    import socket
    from urllib.parse import urlsplit

    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"gcs://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise RayUnreachableError(f"RAY_ADDRESS={address} is not host:port", hint=_ADDRESS_HINT) from exc
    if not host:
        raise RayUnreachableError(f"RAY_ADDRESS={address} is not host:port", hint=_ADDRESS_HINT)
    port = port or (10001 if parts.scheme == "ray" else 6379)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise RayUnreachableError(f"no Ray cluster answers at RAY_ADDRESS={address} ({host}:{port}: {reason}, "
                                  f"waited at most {timeout_s:g} s)", hint=_ADDRESS_HINT) from exc


def start_local_cluster(ray, *, attempts: int = 3, **kwargs) -> None:
    """``ray.init(**kwargs)`` for a one-node cluster, tried `attempts` times. On a loaded machine the node can miss
    the raylet's fixed 15 s wait for its dashboard agent's port file (Ray aborts the node: "The current node timed out
    during startup"); the next attempt finds the agent's imports in the page cache and usually makes it."""
    for attempt in range(1, attempts + 1):
        try:
            ray.init(**{k: v for k, v in kwargs.items() if v is not None})
            return
        except Exception as exc:  # noqa: BLE001 - Ray raises a bare Exception for a node that did not start
            ray.shutdown()
            if attempt == attempts or "timed out during startup" not in str(exc):
                raise EarfulError(f"the local Ray cluster did not start ({attempt} attempt(s)): {exc}",
                                  hint="retry when the machine is less busy, or point RAY_ADDRESS at a running "
                                       "cluster") from exc
            time.sleep(2 * attempt)


def _stage_input(con, lake: Lake, job: Job, batch_size: int, tag: str) -> str:
    """Write the job's input rows (in query order) to ``_staging/<tag>/``; returns the folder."""
    import pyarrow.parquet as pq

    folder = lake.path("_staging", tag)
    lake.fs.create_dir(folder, recursive=True)
    rows_per_file = batch_size * 4
    reader = con.sql(job.input_sql).to_arrow_reader(batch_size)
    writer, n_file, in_file = None, 0, 0
    for table in rebatch(reader, batch_size):
        if writer is None or in_file >= rows_per_file:
            if writer is not None:
                writer.close()
            writer = pq.ParquetWriter(f"{folder}/input-{n_file:05d}.parquet", table.schema, filesystem=lake.fs)
            n_file, in_file = n_file + 1, 0
        writer.write_table(job.prepare(table) if job.prepare is not None else table, row_group_size=batch_size)
        in_file += table.num_rows
    if writer is not None:
        writer.close()
    return folder


def _run_ray(con, lake: Lake, job: Job, batch_size: int, concurrency: int) -> dict:
    ray = ensure_ray()
    tag = uuid.uuid4().hex[:12]
    staging = _stage_input(con, lake, job, batch_size, tag)
    try:
        rows = con.execute(f"SELECT count(*) FROM ({job.input_sql})").fetchall()[0][0]
        block = batch_size * 4
        # no more actors than blocks: an actor with no block to work on would only load its model
        actors = max(1, min(int(concurrency), -(-rows // block)))
        ds = ray.data.read_parquet(lake.path("_staging", tag), filesystem=lake.fs)
        # blocks of whole batches (a streaming split, order kept): small inputs still reach every actor, and a
        # batch never straddles two blocks, so the batch boundaries are the local engine's
        ds = ds.repartition(target_num_rows_per_block=block)
        out = ds.map_batches(job.stage, fn_constructor_kwargs=job.kwargs, batch_size=batch_size,
                             batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=actors),
                             num_cpus=job.num_cpus)
        if job.side is not None:   # the workers write main and side rows together; the driver splits them
            out.write_parquet(lake.path("_staging", tag + "-out"), filesystem=lake.fs)
            return {"rows": rows, "actors": actors, **_split_ray_output(lake, job, tag)}
        if job.replace:
            lake.delete(job.output)
        lake.fs.create_dir(lake.path(job.output), recursive=True)
        out.write_parquet(lake.path(job.output), filesystem=lake.fs)
    finally:
        lake.fs.delete_dir(staging)
        lake.delete("_staging", tag + "-out")
    return {"rows": rows, "actors": actors}


def _split_ray_output(lake: Lake, job: Job, tag: str) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = PartitionWriter(lake, job.output, replace=job.replace)
    side = _SideWriter(lake, job.side)
    for path in lake.files("_staging", tag + "-out"):
        for batch in pq.ParquetFile(lake.fs.open_input_file(path)).iter_batches(65_536):
            writer.write(side.take(pa.Table.from_batches([batch])), {})
    if job.replace and not writer.rows:
        lake.delete(job.output)
    return side.summary()
