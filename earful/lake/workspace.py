"""The workspace commands on a lake-backed workspace: `earful ingest`, `embed`, `classify run`, `topics assign`
with ``--engine local|ray`` when ``--db`` is a catalog (`earful lake init`).

Design decision: each command makes one call, `on_lake`, before it opens the store. On a plain ``.duckdb`` workspace
it returns None (the command does its own work; ``--engine ray`` there is an error saying how to get a lake); on a
catalog it does the work through the lake (`earful.lake.runner` for the model stages, `earful.lake.ingest` for new
files) and refreshes the catalog, so the command module only adds the option and this call. What a lake cannot do
is refused with the exact command to run instead.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from earful.errors import InputError
from earful.lake.layout import Lake

CONCURRENCY = 2   # --engine ray: actors in the pool (`earful lake embed/classify/assign --concurrency N` to choose)


def catalog_lake(db: str | Path) -> Lake | None:
    """The lake a catalog file serves, or None when `db` is not a catalog (a workspace, or no file yet)."""
    import duckdb

    from earful.lake.catalog import is_catalog

    db = Path(db)
    try:
        if not db.exists() or not is_catalog(db):
            return None
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.IOException:   # held by a writer: a catalog is written only by `lake init`, so this is a workspace
        return None              # whose command waits for it as usual (--wait)
    try:
        url = con.execute("SELECT url FROM _lake").fetchall()
    finally:
        con.close()
    if not url:
        return None
    return Lake(url[0][0])


def on_lake(st, command: str, engine: str | None, **options):
    """Run `command` on the lake when the invocation's ``--db`` is a catalog, and return its summary; None when the
    ``--db`` is a plain workspace (the caller does the work). `st` is the CLI's `State`."""
    from earful.lake.runner import ENGINES, ray_module

    if engine is not None and engine not in ENGINES:
        raise InputError(f"unknown engine '{engine}'", hint=f"use one of {', '.join(ENGINES)}")
    db = st.settings().db
    lake = catalog_lake(db)
    if lake is None:
        if engine == "ray":
            raise InputError(f"--engine ray runs on a lake-backed workspace; {db} is a .duckdb workspace",
                             hint=f"write it as a lake and make a catalog: 'earful --db {db} export --to lake' then "
                                  "'earful --db lake.duckdb lake init lake', and run this command with "
                                  "--db lake.duckdb; or leave out --engine to run here")
        return None
    engine = engine or "local"
    if command != "ingest":
        _check_source(lake, options.get("source"))
    if engine == "ray":
        ray_module()   # the exact pip install line when Ray is missing, before any work
    if command == "classify":
        options["settings"] = st.settings()
    out = COMMANDS[command](lake, engine, **options)
    from earful.lake.catalog import init_catalog

    init_catalog(lake.url, db)
    return out


def _check_source(lake: Lake, source: str | None) -> None:
    known = lake.manifest().get("sources", [])
    if source is not None and source not in known:
        from earful.errors import NotFoundError

        raise NotFoundError(f"no source named '{source}' in the lake (known: {', '.join(known) or 'none yet'})",
                            hint="check --source, or ingest it first with 'earful ingest FILE --source NAME'")


def _stage(make_job: Callable[[Lake], object]):
    def run(lake: Lake, engine: str, *, batch_size: int | None = None, **_ignored) -> dict:
        from earful.lake import runner

        out = runner.run(lake, make_job(lake), engine=engine, batch_size=batch_size or 256, concurrency=CONCURRENCY)
        out["lake"] = lake.url
        return out
    return run


def _embed(lake: Lake, engine: str, *, source: str | None = None, batch_size: int | None = None, **_) -> dict:
    from earful.lake.runner import embed_job

    return _stage(lambda lk: embed_job(lk, source=source))(lake, engine, batch_size=batch_size)


def _classify(lake: Lake, engine: str, *, taxonomy: str, method: str = "offline", source: str | None = None,
              redo: bool = False, batch_size: int | None = None, llm_budget=None, target_accuracy=None,
              settings=None) -> dict:
    from earful.lake.runner import classify_job

    if method == "llm":
        out = _classify_llm(lake, engine, taxonomy=taxonomy, source=source, redo=redo, batch_size=batch_size,
                            settings=settings)
        if llm_budget is not None or target_accuracy is not None:   # as in a workspace: they steer the cascade only
            out.setdefault("warnings", []).append("--llm-budget and --target-accuracy steer the cascade; "
                                                  "--method llm sent every item to the LLM")
        return out
    if method != "offline" or llm_budget is not None or target_accuracy is not None:
        raise InputError(f"classify run --method {method} with a budget or target accuracy (the cascade) needs the "
                         "workspace's gold-label routing; a lake applies offline models and --method llm",
                         hint=f"run 'earful --db WORKSPACE.duckdb classify run -t {taxonomy} --method {method}' in a "
                              "workspace and 'earful export --to LAKE' again, or run here with --method llm (every "
                              "item to the LLM) or --method offline")
    return _stage(lambda lk: classify_job(lk, taxonomy, redo=redo, source=source))(lake, engine,
                                                                                  batch_size=batch_size)


def _classify_llm(lake: Lake, engine: str, *, taxonomy: str, source: str | None, redo: bool,
                  batch_size: int | None, settings) -> dict:
    """`--method llm`: every item still to do to the configured LLM, through the lake's call log (its cache); on
    Ray an actor pool of ``[llm] concurrency`` actors, one call in flight each, ``[llm] requests_per_s`` each."""
    from earful.lake import runner
    from earful.lake.llm import llm_job

    if settings is None:
        from earful.config import load_settings

        settings = load_settings()
    job = llm_job(lake, taxonomy, settings, redo=redo, source=source, engine=engine)
    out = runner.run(lake, job, engine=engine, batch_size=batch_size or 32,
                     concurrency=max(1, int(settings.llm.concurrency)))
    out["lake"] = lake.url
    return out


def _assign(lake: Lake, engine: str, *, source: str | None = None, **_) -> dict:
    from earful.lake.runner import assign_job

    return _stage(lambda lk: assign_job(lk, source=source))(lake, engine)


def _ingest(lake: Lake, engine: str, **options) -> list[dict]:
    from earful.lake.ingest import ingest_files

    results = ingest_files(lake, **options)
    if engine == "ray":
        for r in results:
            r.setdefault("warnings", []).append(
                "--engine ray: files are parsed in this process (one DuckDB batch per file, written as Parquet "
                "partitions); Ray runs the model stages (embed, classify run, topics assign)")
    return results


COMMANDS: dict[str, Callable] = {"ingest": _ingest, "embed": _embed, "classify": _classify, "assign": _assign}
