"""Core commands: `status`, `sql`, `embed`, `similar`.

`sql` always goes through `earful.store.readonly`, so it can read the workspace and nothing else, within the
[sql] time and memory limits.
"""
from __future__ import annotations

import typer

from earful.cli.common import JSON_OPTION, arrow_to_rows, console, emit, state


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("sql")(sql)
    app.command("embed")(embed)
    app.command("similar")(similar)


def status(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """Summarise the workspace: sources, item counts, date ranges, embeddings, labels and topics."""
    from earful.status import workspace_status

    with state(ctx).store() as store:
        info = workspace_status(store)
    rows = [[s["source"], s["items"], s["first"], s["last"], s["embedded"], s["quarantined"]] for s in info["sources"]]
    emit(info, as_json=as_json, columns=["source", "items", "first", "last", "embedded", "quarantined"], rows=rows,
         title=f"workspace {info['db']}")
    if not as_json:
        for line in info.get("notes", []):
            console.print(line)


def sql(ctx: typer.Context, query: str = typer.Argument(..., help="a read-only SQL query (SELECT/WITH/DESCRIBE)"),
        as_json: bool = JSON_OPTION,
        as_csv: bool = typer.Option(False, "--csv", help="print CSV"),
        limit: int = typer.Option(1000, help="show at most this many rows")):
    """Run read-only SQL against the workspace; writes, ATTACH, COPY and file access are refused.

    Several statements run in turn and the last one's rows are shown. A query is stopped after [sql] timeout_s
    seconds or on Ctrl-C, and may use at most [sql] memory_mb of memory.
    """
    from earful.store.readonly import run_read_only

    settings = state(ctx).settings()
    tbl = run_read_only(settings.db, query, timeout_s=settings.sql.timeout_s, memory_mb=settings.sql.memory_mb)
    shown = tbl.slice(0, limit)
    cols, rows = arrow_to_rows(shown)
    if as_csv:
        import csv
        import sys
        w = csv.writer(sys.stdout)
        w.writerow(cols)
        w.writerows(rows)
        return
    emit({"columns": cols, "rows": rows, "row_count": tbl.num_rows}, as_json=as_json, columns=cols, rows=rows)
    if not as_json and tbl.num_rows > limit:
        console.print(f"({tbl.num_rows} rows, {limit} shown; use --limit)")


def embed(ctx: typer.Context, source: str = typer.Option(None, help="only this source"), as_json: bool = JSON_OPTION):
    """Embed all item texts with the [embeddings] model (cached by content hash and model: re-runs are free)."""
    from earful.embeddings import Embedder, embed_items

    st = state(ctx)
    with st.store() as store:
        if source:
            store.source_info(source)
        res = embed_items(store, Embedder(st.settings().embeddings.batch_size), source=source,
                          progress=not as_json)
    emit(res, as_json=as_json)


def similar(ctx: typer.Context, text: str = typer.Argument(..., help="text to compare against"),
            k: int = typer.Option(10, "-k", help="how many neighbours"),
            source: str = typer.Option(None, help="only this source"), as_json: bool = JSON_OPTION):
    """Find the feedback items most similar to TEXT (cosine similarity of the [embeddings] model's vectors)."""
    from earful.embeddings import embed_items
    from earful.embeddings import similar as nearest

    with state(ctx).store() as store:
        embed_items(store, source=source)
        hits = nearest(store, text, k, source=source)
    emit(hits, as_json=as_json, columns=["item_id", "source", "score", "text"],
         rows=[[h["item_id"], h["source"], h["score"], h["text"][:120]] for h in hits])
