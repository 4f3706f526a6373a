"""`earful ingest` and `earful quarantine`: load files into the workspace and inspect what was set aside."""
from __future__ import annotations

import typer
from rich.markup import escape

from earful.cli.common import JSON_OPTION, console, emit, state

quarantine_app = typer.Typer(help="Inspect rows that could not be ingested (nothing is ever dropped).",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.add_typer(quarantine_app, name="quarantine")


def ingest(ctx: typer.Context,
           paths: list[str] = typer.Argument(..., help="files, folders or globs to ingest"),
           source: str = typer.Option(None, "--source", help="source name (becomes the SQL view name)"),
           text: str = typer.Option(None, "--text", help="column holding the verbatim text"),
           time: str = typer.Option(None, "--time", help="column holding the timestamp"),
           time_format: str = typer.Option(None, "--time-format", help="strptime format of --time, e.g. %d/%m/%y"),
           rating: str = typer.Option(None, "--rating", help="column holding the rating/score"),
           id: str = typer.Option(None, "--id", help="column holding the external id (dedupe key)"),
           author: str = typer.Option(None, "--author", help="column holding the author"),
           profile: str = typer.Option(None, "--profile", help="export profile (default: detected)"),
           fmt: str = typer.Option(None, "--format", help="force a loader (csv, json, parquet, xlsx)"),
           engine: str = typer.Option(None, "--engine", help="on a lake-backed workspace: local or ray"),
           as_json: bool = JSON_OPTION):
    """Ingest feedback files (CSV/TSV, JSON, JSONL(.gz), Parquet, Excel, folders, globs) into the workspace."""
    from pathlib import Path

    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from earful.ingest.hooks import run_after_ingest
    from earful.ingest.pipeline import expand_paths, ingest_file
    from earful.lake.workspace import on_lake

    st = state(ctx)
    overrides = {"text": text, "time": time, "rating": rating, "id": id, "author": author, "time_format": time_format}
    files = expand_paths(paths, fmt)  # validates every path before anything is written
    big = sum(Path(f).stat().st_size for f, _ in files) > 20_000_000 or len(files) > 3
    results = on_lake(st, "ingest", engine, files=files, source=source, overrides=overrides, profile=profile, fmt=fmt,
                      max_field_bytes=st.settings().ingest.max_field_bytes)
    if results is None:   # a .duckdb workspace (a lake-backed one was ingested by on_lake)
        results = []
        with st.store(create=True) as store, Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                                      TimeElapsedColumn(), console=console, transient=True,
                                                      disable=as_json or not big) as bar:
            task = bar.add_task("ingest", total=len(files))
            for f, group in files:
                bar.update(task, description=f"ingest {f.name}")
                results.append(ingest_file(store, f, source=source or group, overrides=overrides, profile=profile,
                                           fmt=fmt, max_field_bytes=st.settings().ingest.max_field_bytes))
                if results[-1]["added"]:
                    results[-1].update(run_after_ingest(store, results[-1]["source"]))
                bar.advance(task)
    if as_json:
        emit(results if len(results) > 1 else results[0], as_json=True)
        return
    rows = [[r["path"], r["source"], r["added"], r["duplicates"], r["quarantined"]] for r in results]
    emit(None, as_json=False, columns=["file", "source", "added", "duplicates", "quarantined"], rows=rows,
         title="ingest")
    for r in results:
        d = r["detection"]
        text_desc = " + ".join(d["text_parts"]) if d.get("text_parts") else d["text"]
        time_desc = f"{d['time']} ({d['time_kind']})" if d["time"] else "none"
        line = (f"{r['source']}: text={text_desc} time={time_desc} rating={d['rating']} id={d['id']} "
                f"author={d['author']}{' profile=' + r['profile'] if r['profile'] else ''}"
                f"{' encoding=' + r['encoding'] if r.get('encoding') not in (None, 'utf-8') else ''}")
        console.print(f"[dim]{escape(line)}[/]", highlight=False)   # column names are data, not markup
        for w in r.get("warnings", []):
            console.print(f"[yellow]warning:[/] {escape(str(w))}", highlight=False)
        if r["quarantined"]:
            console.print(f"{r['quarantined']} rows quarantined: see 'earful quarantine list'")
        if r.get("topics"):
            t = r["topics"]
            console.print(f"topics: {t['assigned']} new item(s) assigned to existing topics, {t['outliers']} outliers "
                          f"(see 'earful topics drift')")


@quarantine_app.command("list")
def quarantine_list(ctx: typer.Context, source: str = typer.Option(None, help="only this source"),
                    limit: int = typer.Option(50, help="at most this many rows"), as_json: bool = JSON_OPTION):
    """Show quarantined rows: file, record number, reason and the raw record."""
    with state(ctx).store() as store:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        rows = store.rows(f"SELECT source, path, record_no, reason, raw FROM quarantine {where} "
                          f"ORDER BY created_at, record_no LIMIT ?", params + [limit])
    data = [dict(zip(["source", "path", "record_no", "reason", "raw"], r)) for r in rows]
    emit(data, as_json=as_json, columns=["source", "path", "record_no", "reason", "raw"],
         rows=[[r[0], r[1], r[2], r[3], (r[4] or "")[:80]] for r in rows], title="quarantine")
