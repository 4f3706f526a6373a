"""`earful topics mentions`, `earful topics aspects ...` and `earful topics complaints`: mention-level topics.

Design decision: as in `topics.cli`, commands parse options, call one library function (`topics.mentions`,
`topics.polarity`, `topics.aspects`, `topics.complaints`) and print its result through `emit` (``--json`` for the
same document), so the question engine and reports call exactly what the command line runs.
"""
from __future__ import annotations

import typer

from earful.cli.common import JSON_OPTION, console, emit, state

aspects_app = typer.Typer(help="Aspect topics over mentions (what users talk about, not how they feel).",
                          no_args_is_help=True)


def register(topics_app: typer.Typer) -> None:
    topics_app.command("mentions")(mentions)
    topics_app.command("complaints")(complaints)
    topics_app.add_typer(aspects_app, name="aspects")


def mentions(ctx: typer.Context, source: str = typer.Option(None, help="only items of this source"),
             rebuild: bool = typer.Option(False, help="re-segment every item (else only items without mentions)"),
             method: str = typer.Option("lexicon", help="polarity method: lexicon, selftrained or hybrid"),
             rescore: bool = typer.Option(False, help="re-score the polarity of every mention"),
             llm: bool = typer.Option(False, "--llm/--no-llm",
                                      help="route the least confident mentions to the configured LLM"),
             as_json: bool = JSON_OPTION):
    """Split items into mentions (sentences, clauses at but/however/except/although), score each mention's
    polarity, and give new mentions their aspect when aspects are fitted. Rerunnable: it only does what is new."""
    from earful.topics.aspects import assign_new_mentions
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    st = state(ctx)
    with st.store() as store:
        seg = segment(store, source=source, rebuild=rebuild)
        chat = _chat_model(st) if llm else None
        pol = score_polarity(store, method=method, source=source, rescore=rescore, chat_model=chat,
                             progress=not as_json)
        asp = assign_new_mentions(store)
    emit({"segment": seg, "polarity": pol, "aspects": asp}, as_json=as_json)


def _chat_model(st):
    from earful.errors import ConfigError
    from earful.llm import get_chat_model, llm_enabled

    settings = st.settings()
    if not llm_enabled(settings):
        raise ConfigError("--llm needs an LLM", hint="set [llm] model in earful.toml or EARFUL_LLM__MODEL")
    return get_chat_model(settings)


@aspects_app.command("fit")
def fit(ctx: typer.Context, source: str = typer.Option(None, help="only mentions of this source's items"),
        backend: str = typer.Option("bertopic-aspects", help="clustering backend (bertopic-aspects, "
                                                             "pca-kmeans-standin)"),
        as_json: bool = JSON_OPTION):
    """Fit aspect topics over the mentions (evaluative and generic words kept out of names); ids and edits are kept
    across refits."""
    from earful.topics.aspects import fit_aspects

    with state(ctx).store() as store:
        if not as_json:
            console.print("fitting aspects over mentions (UMAP + HDBSCAN)…")
        res = fit_aspects(store, source=source, backend=backend, progress=not as_json)
    emit(res, as_json=as_json)


@aspects_app.command("list")
def list_(ctx: typer.Context, examples: int = typer.Option(1, help="example mentions per aspect"),
          as_json: bool = JSON_OPTION):
    """List aspects: id, name, mentions, items, negative and positive mentions, an example."""
    from earful.topics.aspects import aspect_list

    with state(ctx).store(read_only=True) as store:
        rows = aspect_list(store, n_examples=examples)
    emit(rows, as_json=as_json, columns=["id", "name", "mentions", "items", "negative", "positive", "example"],
         rows=[[r["id"], r["name"], r["mentions"], r["items"], f"{r['negative']} ({r['negative_share']:.0%})",
                r["positive"], "\n".join(e["text"][:80] for e in r["examples"])] for r in rows],
         title=f"{len(rows)} aspects")


def _edit(ctx, op, ids, value, as_json):
    from earful.topics.aspects import edit_aspect

    with state(ctx).store() as store:
        emit(edit_aspect(store, op, ids, value), as_json=as_json)


@aspects_app.command("rename")
def rename(ctx: typer.Context, aspect_id: int = typer.Argument(...), name: str = typer.Argument(...),
           as_json: bool = JSON_OPTION):
    """Rename an aspect (kept across refits)."""
    _edit(ctx, "rename", [aspect_id], name, as_json)


@aspects_app.command("merge")
def merge(ctx: typer.Context, aspect_ids: list[int] = typer.Argument(..., help="INTO OTHER...: the first survives"),
          as_json: bool = JSON_OPTION):
    """Merge aspects into the first one (kept across refits)."""
    _edit(ctx, "merge", aspect_ids, None, as_json)


@aspects_app.command("delete")
def delete(ctx: typer.Context, aspect_id: int = typer.Argument(...), as_json: bool = JSON_OPTION):
    """Delete an aspect: its mentions become outliers (kept across refits)."""
    _edit(ctx, "delete", [aspect_id], None, as_json)


def complaints(ctx: typer.Context, since: str = typer.Option(None, help="from this date (YYYY-MM-DD), inclusive"),
               until: str = typer.Option(None, help="until this date (YYYY-MM-DD), exclusive"),
               n: int = typer.Option(5, help="how many aspects"), source: str = typer.Option(None),
               as_json: bool = JSON_OPTION):
    """Top complaints: aspects ranked by negative mentions in the period, with the negative share, quotes, and
    praise of the same aspect beside them."""
    from earful.topics.complaints import format_complaints, top_complaints

    with state(ctx).store(read_only=True) as store:
        rows = top_complaints(store, since=since, until=until, n=n, source=source)
    if as_json:
        emit(rows, as_json=True)
        return
    period = f" since {since}" if since else ""
    period += f" until {until}" if until else ""
    console.print(f"Top {len(rows)} complaints{period} (counted in mentions; - complaint, + praise):")
    for line in format_complaints(rows):
        console.print(line, markup=False, highlight=False)
