"""Core commands: `status`, `sql`, `describe`, `embed`, `similar`.

`describe` shows what the question engines know about each column (its kind, values, whether it holds lists or one
constant value, its plain-word aliases) and records aliases in the workspace (`earful.store.aliases`).

`sql` always goes through `earful.store.readonly`, so it can read the workspace and nothing else, within the
[sql] time and memory limits.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer
from rich.text import Text

from earful.cli.common import (
    JSON_OPTION,
    arrow_to_rows,
    console,
    emit,
    missing_workspace,
    print_json,
    rich_table,
    state,
)


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("sql")(sql)
    app.command("describe")(describe)
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
            console.print(Text(str(line)))   # a note may quote a setting like '[topics] min_size': not markup


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
    if not Path(settings.db).exists():
        raise missing_workspace(settings.db)
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


def embed(ctx: typer.Context, source: str = typer.Option(None, help="only this source"),
          batch_size: int = typer.Option(None, "--batch-size", min=1,
                                         help="texts per encoding batch (default: [embeddings] batch_size)"),
          engine: str = typer.Option(None, "--engine", help="on a lake-backed workspace: local or ray"),
          as_json: bool = JSON_OPTION):
    """Embed all item texts with the [embeddings] model (cached by content hash and model: re-runs are free).
    Progress (texts done/total, rate, elapsed) goes to stderr after every batch."""
    from earful.cli.progress import batches
    from earful.embeddings import Embedder, embed_items
    from earful.lake.workspace import on_lake

    st = state(ctx)
    if (out := on_lake(st, "embed", engine, source=source, batch_size=batch_size)) is not None:
        return emit(out, as_json=as_json)
    with st.store() as store:
        if source:
            store.source_info(source)
        embedder = Embedder(batch_size or st.settings().embeddings.batch_size)
        with batches("embedding", as_json=as_json) as step:
            res = embed_items(store, embedder, source=source, progress=step)
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


def describe(ctx: typer.Context,
             column: str = typer.Argument(None, metavar="COLUMN",
                                          help="a column of a source (omit to list every column)"),
             value: str = typer.Argument(None, metavar="VALUE", help="one value of COLUMN (to give it aliases)"),
             alias: list[str] = typer.Option(None, "--alias", metavar="WORDS",
                                             help="plain words for COLUMN, or for VALUE; repeatable"),
             remove: list[str] = typer.Option(None, "--remove-alias", metavar="WORDS",
                                              help="forget these words; repeatable"),
             source: str = typer.Option(None, "--source", metavar="SOURCE",
                                        help="only this source (default: every source with COLUMN)"),
             as_json: bool = JSON_OPTION):
    """Describe the columns the question engines see, and give a column or one of its values plain-word aliases.

    `earful describe aspect asp_clarity --alias clarity` lets questions say "clarity" for the coded value; aliases
    are kept in the workspace (ingesting again keeps them) and shown here with the ones Earful learnt itself.
    """
    from earful.qa_agent.schema_card import build_schema_card, invalidate
    from earful.store.aliases import add_alias, remove_alias, resolve_column, resolve_value

    st = state(ctx)
    if not Path(st.settings().db).exists():
        raise missing_workspace(st.settings().db)
    if (alias or remove) and not column:
        from earful.errors import InputError
        raise InputError("--alias and --remove-alias need a COLUMN",
                         hint='earful describe COLUMN [VALUE] --alias "words"')
    if alias or remove:
        with st.store() as store:
            done = [add_alias(store, column, a, value=value, source=source) for a in alias or []]
            gone = sum(remove_alias(store, column, r, value=value, source=source) for r in remove or [])
        invalidate(st.settings().db)
        if as_json:
            print_json({"added": done, "removed": gone})
            return
        for d in done:
            what = f"{d['column']} = {d['value']!r}" if d["value"] is not None else f"column {d['column']}"
            where = "every source" if d["source"] == "*" else f"source {d['source']}"
            console.print(Text(f"'{d['alias']}' {'now names' if d['added'] else 'already named'} {what} "
                               f"({where})"))
        if remove:
            console.print(f"removed {gone} alias{'es' if gone != 1 else ''}")
        return
    if column:
        with st.store(read_only=True) as store:
            found = resolve_column(store, column, source)
            if value is not None:
                value = resolve_value(store, found, value)
    card = build_schema_card(st.settings().db)
    views = [v for v in card.views if not source or v.name == source]
    if not column:
        data = [{"source": v.name, **_col_summary(c)} for v in views for c in v.columns]
        emit(data, as_json=as_json, columns=["source", "column", "type", "kind", "distinct", "aliases", "notes"],
             rows=[[d["source"], d["column"], d["type"], d["kind"], d["distinct"], ", ".join(d["aliases"]),
                    d["notes"]] for d in data], title="columns")
        return
    cols = [(v.name, c) for v in views for c in v.columns if c.name.lower() == column.lower()]
    data = [{"source": s, **asdict(c)} for s, c in cols]
    if as_json:
        print_json(data if value is None else [{"source": d["source"], "column": d["name"], "value": value,
                                                "aliases": d["value_aliases"].get(str(value), [])} for d in data])
        return
    for s, c in cols:
        head = _col_summary(c)
        console.print(Text(f"{s}.{c.name}: {c.type} [{c.kind}], {c.distinct} distinct"
                           + (f"; {head['notes']}" if head["notes"] else "")
                           + (f"; also called {', '.join(c.aliases)}" if c.aliases else "")))
        vocab = c.list_values if c.list_fmt else c.values
        if value is not None:
            vocab = [x for x in vocab if str(x[0]) == str(value)] or [[value, 0]]
        console.print(rich_table(["value", "items", "aliases"],
                                 [[v, n, ", ".join(c.value_aliases.get(str(v), []))] for v, n in vocab[:30]]))
        if len(vocab) > 30:
            console.print(f"({len(vocab)} values, 30 shown; --json for all)")


def _col_summary(c) -> dict:
    notes = []
    if c.constant:
        notes.append("the same value in every row")
    if c.list_fmt:
        notes.append("lists " + ("(native)" if c.list_fmt == "list" else f"({c.list_fmt})"))
    if c.value_aliases:
        notes.append(f"{len(c.value_aliases)} value(s) with aliases")
    return {"column": c.name, "type": c.type, "kind": c.kind, "distinct": c.distinct, "aliases": c.aliases,
            "notes": "; ".join(notes)}
