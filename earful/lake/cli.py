"""`earful export --to URL` and `earful lake ...`: write a workspace as a lake, make a catalog, run stages on it.

Design decision: the commands are thin wrappers over `earful.lake.export`, `catalog`, `runner` and `rollups`. A stage
run refreshes the catalog named by ``--db`` when that file is a catalog of the same lake, so the views see the new
label or topic partitions without a second command.
"""
from __future__ import annotations

from pathlib import Path

import typer

from earful.cli.common import JSON_OPTION, console_err, emit, state

app = typer.Typer(help="A partitioned Parquet lake: catalog, model stages on one machine or Ray, rollups.",
                  no_args_is_help=True)

URL = typer.Argument(..., metavar="URL", help="the lake: a folder, or an s3:// / gs:// URL")
ENGINE = typer.Option("local", "--engine", help="local (this process) or ray (RAY_ADDRESS, else a one-node cluster)")
BATCH = typer.Option(256, "--batch-size", min=1, help="rows per batch given to the stage")
ACTORS = typer.Option(2, "--concurrency", min=1, help="--engine ray: actors in the pool (each loads the model once)")
REDO = typer.Option(False, "--redo", help="redo every item and rewrite the partition (default: only what is missing)")


def register(root: typer.Typer) -> None:
    root.command("export")(export_cmd)
    root.add_typer(app, name="lake")


def export_cmd(ctx: typer.Context,
               to: str = typer.Option(..., "--to", metavar="DIR_OR_URL", help="where to write the lake"),
               source: list[str] = typer.Option(None, "--source", metavar="SOURCE",
                                                 help="only this source's items (repeatable)"),
               as_json: bool = JSON_OPTION):
    """Write the workspace as a Hive-partitioned Parquet lake (a rerun rewrites only the partitions it writes)."""
    from earful.lake.export import export

    with state(ctx).store(read_only=True) as store:
        out = export(store, to, sources=source or None)
    emit(out, as_json=as_json)


def _refresh_catalog(ctx: typer.Context, lake) -> str | None:
    """Re-make the --db catalog when it is one over `lake`; returns its path then."""
    import duckdb

    from earful.lake.catalog import init_catalog, is_catalog

    db = Path(state(ctx).settings().db)
    if not db.exists() or not is_catalog(db):
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        url = con.execute("SELECT url FROM _lake").fetchall()
    finally:
        con.close()
    if not url or url[0][0] != lake.url:
        return None
    init_catalog(lake.url, db)
    return str(db)


@app.command("init")
def init_cmd(ctx: typer.Context, url: str = URL,
             create: bool = typer.Option(False, "--create", help="start an empty lake at URL when there is none"),
             as_json: bool = JSON_OPTION):
    """Make (or refresh) the --db file a lake-backed workspace: a catalog of views over the lake's datasets."""
    from earful.lake.catalog import init_catalog

    out = init_catalog(url, state(ctx).settings().db, create=create)
    emit(out, as_json=as_json)


def _run(ctx: typer.Context, url: str, make_job, engine: str, batch_size: int, concurrency: int, as_json: bool) -> None:
    from earful.lake import runner
    from earful.lake.layout import Lake

    state(ctx).settings()   # [embeddings] model and friends, for the jobs' defaults
    lake = Lake(url)
    job = make_job(lake)
    if not as_json:
        console_err.print(f"{job.stage.__name__} on {engine}: {job.output}")
    out = runner.run(lake, job, engine=engine, batch_size=batch_size, concurrency=concurrency)
    out["catalog_refreshed"] = _refresh_catalog(ctx, lake)
    emit(out, as_json=as_json)


@app.command("embed")
def embed_cmd(ctx: typer.Context, url: str = URL, engine: str = ENGINE,
              model: str = typer.Option(None, "--model", help="embedding model (default: [embeddings] model)"),
              redo: bool = REDO, batch_size: int = BATCH, concurrency: int = ACTORS, as_json: bool = JSON_OPTION):
    """Embed every item text of the lake not yet embedded with the model (append-only, content-addressed)."""
    from earful.lake.runner import embed_job

    _run(ctx, url, lambda lake: embed_job(lake, model=model, redo=redo), engine, batch_size, concurrency, as_json)


@app.command("classify")
def classify_cmd(ctx: typer.Context, url: str = URL,
                 taxonomy: str = typer.Option(..., "--taxonomy", "-t", help="a taxonomy with a trained model"),
                 engine: str = ENGINE, redo: bool = REDO, batch_size: int = BATCH, concurrency: int = ACTORS,
                 as_json: bool = JSON_OPTION):
    """Apply the taxonomy's newest trained model (fitted on one node, exported) to the lake's unlabelled items."""
    from earful.lake.runner import classify_job

    _run(ctx, url, lambda lake: classify_job(lake, taxonomy, redo=redo), engine, batch_size, concurrency, as_json)


@app.command("assign")
def assign_cmd(ctx: typer.Context, url: str = URL, engine: str = ENGINE, redo: bool = REDO,
               batch_size: int = BATCH, concurrency: int = ACTORS, as_json: bool = JSON_OPTION):
    """Assign the lake's items to the fitted topics by cosine similarity to the topic centroids (no refit)."""
    from earful.lake.runner import assign_job

    _run(ctx, url, lambda lake: assign_job(lake, redo=redo), engine, batch_size, concurrency, as_json)


@app.command("rollups")
def rollups_cmd(ctx: typer.Context, url: str = URL, as_json: bool = JSON_OPTION):
    """Rebuild every rollup table of the lake from its items, labels and topic assignments."""
    from earful.lake.layout import Lake
    from earful.lake.rollups import rebuild_all

    lake = Lake(url)
    out = {"lake": lake.url, "rollup_partitions": rebuild_all(lake)}
    out["catalog_refreshed"] = _refresh_catalog(ctx, lake)
    emit(out, as_json=as_json)
