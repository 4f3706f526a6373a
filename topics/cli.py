"""`earful topics ...`: fit, list, show, edit (rename/merge/split/delete), assign, drift, over-time, trends,
breakdown, hierarchy, lineage, charts; and at the mention level: mentions, aspects (fit/list/rename/merge/delete),
complaints.

Design decision: commands only parse options, call one library function and print its result through `emit`
(table by default, the same document with ``--json``); all logic lives in the topic modules the agent also uses.
"""
from __future__ import annotations

import typer
from rich.markup import escape

from earful.cli.common import JSON_OPTION, console, emit, state

topics_app = typer.Typer(help="Find, name, edit and track topics in the feedback.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


def _labeler(st, store, use_llm: bool | None):
    """The LLM labeler when an LLM is configured (and not --no-llm), else the offline one."""
    from earful.topics.base import get_labeler

    if use_llm is False:
        return get_labeler("keywords")
    from earful.llm import get_chat_model, llm_enabled

    settings = st.settings()
    if not llm_enabled(settings):
        if use_llm:
            from earful.errors import ConfigError
            raise ConfigError("--llm-labels needs an LLM", hint="set [llm] model in earful.toml or EARFUL_LLM__MODEL")
        return get_labeler("keywords")
    return get_labeler("llm", store=store, chat_model=get_chat_model(settings))


@topics_app.command("fit")
def fit(ctx: typer.Context,
        source: str = typer.Option(None, help="only items of this source"),
        where: str = typer.Option(None, help="SQL condition over the source's view (or items), e.g. \"rating <= 2\""),
        backend: str = typer.Option("bertopic", help="clustering backend (bertopic, pca-kmeans-standin)"),
        threshold: float = typer.Option(0.3, help="reassign outliers whose nearest topic has cosine >= this"),
        sample_cap: int = typer.Option(
            None, help="cluster at most this many items, assign the rest (default: by memory)"),
        llm_labels: bool = typer.Option(
            None, "--llm-labels/--no-llm", help="LLM-written names (default: when configured)"),
        seed: int = typer.Option(42, help="random seed: the same workspace and seed give the same topics"),
        field: str = typer.Option(None, "--field",
                                  help="fit on this text column of the --source's view (e.g. weaknesses) instead of "
                                       "the item text; assign, list and show then use it too"),
        as_json: bool = JSON_OPTION):
    """Fit topics (BERTopic over the stored embeddings), keep ids stable against earlier fits, re-apply edits.
    With --field, over one text column of the source (items without a text there are skipped)."""
    from earful.cli.progress import phases
    from earful.topics.fit import fit_topics

    st = state(ctx)
    with st.store() as store, phases("topics fit", as_json=as_json) as phase:   # stderr: elapsed per phase
        res = fit_topics(store, source=source, where=where, backend=backend, threshold=threshold,
                         sample_cap=sample_cap, seed=seed, labeler=_labeler(st, store, llm_labels),
                         field=field, progress=phase)
    emit(res, as_json=as_json)


@topics_app.command("list")
def list_(ctx: typer.Context, examples: int = typer.Option(3, help="example quotes per topic"),
          days: int = typer.Option(30, help="trend window: last N days against the N before"),
          as_json: bool = JSON_OPTION):
    """List topics: id, name, size, share, trend arrow and example quotes with their item ids."""
    from earful.topics.report import topic_list
    from earful.topics.timeline import ARROWS

    with state(ctx).store(read_only=True) as store:
        doc = topic_list(store, days=days, n_examples=examples)
        doc["field"] = _field_doc(store)
    rows = [[t["id"], t["name"], t["size"], f"{t['share']:.1%}", ARROWS[t["trend"]],
             "\n".join(f"({e['item_id']}) {e['text'][:80]}" for e in t["examples"])] for t in doc["topics"]]
    emit(doc, as_json=as_json, columns=["id", "name", "size", "share", "trend", "examples"], rows=rows,
         title=f"{len(rows)} topics over {doc['items']} items{_field_words(doc['field'])}, "
               f"outlier rate {doc['outlier_rate']:.1%}")


def _field_doc(store) -> dict | None:
    """{source, column} of the text field the topics were fitted over (``fit --field``), None for the item text."""
    from earful.topics.model import run_field

    f = run_field(store)
    return None if f is None else {"source": f.source, "column": f.column}


def _field_words(field: dict | None) -> str:
    return f" (their {field['column']} texts, source {field['source']})" if field else ""


@topics_app.command("show")
def show(ctx: typer.Context, topic_id: int = typer.Argument(..., help="topic id"), as_json: bool = JSON_OPTION):
    """One topic: name, description, keywords, representative items, monthly counts and lineage."""
    from earful.topics.report import topic_detail

    with state(ctx).store(read_only=True) as store:
        d = topic_detail(store, topic_id)
        d["field"] = _field_doc(store)
    if as_json:
        emit(d, as_json=True)
        return
    console.print(f"[bold]{d['id']}: {escape(d['name'])}[/] ({d['status']}, {d['size']} items, "
                  f"label by {d['label_source']})")
    console.print(d["description"] or "")
    if d["field"]:
        console.print(f"text field: {d['field']['column']} (source {d['field']['source']})", highlight=False)
    console.print("keywords: " + ", ".join(d["keywords"]))
    for e in d["examples"]:
        console.print(f"  ({e['item_id']}) {e['text']}", highlight=False, markup=False)
    if d["by_month"]:
        emit(None, as_json=False, columns=["month", "count", "share"],
             rows=[[r["period"], r["count"], f"{r['share']:.1%}"] for r in d["by_month"]])


def _edit(ctx, op, ids, value=None, as_json=False):
    from earful.topics.edits import edit

    st = state(ctx)
    with st.store() as store:
        ov = edit(store, op, ids, value, labeler=_labeler(st, store, None) if op == "split" else None)
    emit(ov, as_json=as_json)


@topics_app.command("rename")
def rename(ctx: typer.Context, topic_id: int = typer.Argument(...), name: str = typer.Argument(...),
           as_json: bool = JSON_OPTION):
    """Rename a topic (kept across refits)."""
    _edit(ctx, "rename", [topic_id], name, as_json)


@topics_app.command("merge")
def merge(ctx: typer.Context, topic_ids: list[int] = typer.Argument(..., help="INTO OTHER...: the first id survives"),
          as_json: bool = JSON_OPTION):
    """Merge topics into the first one (kept across refits)."""
    _edit(ctx, "merge", topic_ids, None, as_json)


@topics_app.command("split")
def split(ctx: typer.Context, topic_id: int = typer.Argument(...),
          into: int = typer.Option(2, help="number of parts"), as_json: bool = JSON_OPTION):
    """Split a topic by re-clustering its items (KMeans on their embeddings); kept across refits."""
    _edit(ctx, "split", [topic_id], str(into), as_json)


@topics_app.command("delete")
def delete(ctx: typer.Context, topic_id: int = typer.Argument(...), as_json: bool = JSON_OPTION):
    """Delete a topic: its items become outliers (kept across refits)."""
    _edit(ctx, "delete", [topic_id], None, as_json)


@topics_app.command("assign")
def assign(ctx: typer.Context, source: str = typer.Option(None, help="only this source"),
           engine: str = typer.Option(None, "--engine", help="on a lake-backed workspace: local or ray"),
           as_json: bool = JSON_OPTION):
    """Assign items that have no topic yet to the existing topics (nearest centroid), without a refit."""
    from earful.lake.workspace import on_lake
    from earful.topics.assign import assign_new

    if (out := on_lake(state(ctx), "assign", engine, source=source)) is not None:
        return emit(out, as_json=as_json)

    with state(ctx).store() as store:
        emit(assign_new(store, source=source), as_json=as_json)


@topics_app.command("drift")
def drift(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """Say whether items assigned since the fit fit the topics badly enough to call for a refit."""
    from earful.topics.assign import drift as drift_

    with state(ctx).store(read_only=True) as store:
        emit(drift_(store), as_json=as_json)


@topics_app.command("over-time")
def over_time(ctx: typer.Context, period: str = typer.Option("month", help="day, week, month, quarter or year"),
              source: str = typer.Option(None), topic: int = typer.Option(None, help="only this topic id"),
              as_json: bool = JSON_OPTION):
    """Counts and shares of each topic per period."""
    from earful.topics.timeline import over_time as ot

    with state(ctx).store(read_only=True) as store:
        rows = [r for r in ot(store, period, source=source) if topic is None or r["topic_id"] == topic]
    emit(rows, as_json=as_json, columns=["period", "topic_id", "topic", "count", "share"],
         rows=[[r["period"], r["topic_id"], r["topic"], r["count"], f"{r['share']:.1%}"] for r in rows])


@topics_app.command("trends")
def trends(ctx: typer.Context, days: int = typer.Option(30, help="last N days against the N days before"),
           source: str = typer.Option(None), as_json: bool = JSON_OPTION):
    """Emerging and fading topics: change in share with a two-proportion z-test (Bonferroni over topics)."""
    from earful.topics.timeline import trends as tr

    with state(ctx).store(read_only=True) as store:
        rows = tr(store, days=days, source=source)
    cols = ["topic_id", "topic", "recent", "before", "recent_share", "before_share", "z", "p_value", "trend"]
    emit(rows, as_json=as_json, columns=cols, rows=[[r[c] for c in cols] for r in rows])


@topics_app.command("breakdown")
def breakdown(ctx: typer.Context, by: str = typer.Option("source", help="'source' or a column of the source's view"),
              source: str = typer.Option(None), as_json: bool = JSON_OPTION):
    """Topic counts and shares per source, or per value of a view column (rating, a label...)."""
    from earful.topics.timeline import breakdown as bd

    with state(ctx).store(read_only=True) as store:
        rows = bd(store, by, source=source)
    cols = ["group", "topic_id", "topic", "count", "share"]
    emit(rows, as_json=as_json, columns=cols, rows=[[r[c] for c in cols] for r in rows])


@topics_app.command("hierarchy")
def hierarchy(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """The topic tree (average-linkage over centroids): each row merges two nodes at a cosine distance."""
    from earful.topics.report import hierarchy as h

    with state(ctx).store(read_only=True) as store:
        rows = h(store)
    cols = ["node_id", "left_id", "right_id", "distance", "name"]
    emit(rows, as_json=as_json, columns=cols, rows=[[r[c] for c in cols] for r in rows])


@topics_app.command("lineage")
def lineage(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """How topics relate across fits and edits: matched, new, gone, merged, split, deleted."""
    with state(ctx).store(read_only=True) as store:
        tbl = store.query("SELECT run_id, event, topic_id, prev_topic_id, round(similarity, 3) AS similarity, "
                          "created_at FROM topic_lineage ORDER BY created_at, event, topic_id").to_pylist()
    cols = ["run_id", "event", "topic_id", "prev_topic_id", "similarity"]
    emit(tbl, as_json=as_json, columns=cols, rows=[[r[c] for c in cols] for r in tbl])


@topics_app.command("charts")
def charts(ctx: typer.Context, out: str = typer.Option("topic_charts", help="folder for the PNGs and topics.html"),
           period: str = typer.Option("month", help="day, week, month, quarter or year (topics over time)"),
           top: int = typer.Option(8, help="topics in the keyword bars (topics over time: up to 6 panels)"),
           html: bool = typer.Option(True, "--html/--no-html",
                                     help="write topics.html: intertopic distance map, keyword bars, hierarchy and "
                                          "topics over time, interactive and offline (plotly.js inlined)"),
           as_json: bool = JSON_OPTION):
    """Write topic charts: PNGs (sizes, topics over time, hierarchy) and, with --html (the default), one offline
    page of interactive pictures: intertopic distance map, keyword bars, hierarchy dendrogram, topics over time."""
    from pathlib import Path

    from earful.topics.pictures import slug, topic_figures, write_page
    from earful.topics.report import charts as ch

    with state(ctx).store(read_only=True) as store:
        pics = topic_figures(store, freq=period, top=top)      # first: a clear error when no topics are fitted
        figs = ch(store, out, freq=period)
    rows = [{"title": f["title"], "png": f["png"], "html": None} for f in figs]
    if html:
        page = write_page(pics, Path(out) / "topics.html", title="Topics")
        for p in pics:
            anchor = f"{page}#{slug(p['title'])}"
            twin = next((r for r in rows if r["png"] and r["title"].startswith(p["title"])), None)
            if twin:
                twin["html"] = anchor
            else:
                rows.append({"title": p["title"], "png": None, "html": anchor})
    emit(rows, as_json=as_json, columns=["title", "png", "html"],
         rows=[[r["title"], r["png"] or "", r["html"] or ""] for r in rows])


# -- mention level: mentions, aspect topics, top complaints (issue 14) ---------------------------------------------
aspects_app = typer.Typer(help="Aspect topics over mentions (what users talk about, not how they feel).",
                          no_args_is_help=True)
topics_app.add_typer(aspects_app, name="aspects")


@topics_app.command("mentions")
def mentions(ctx: typer.Context, source: str = typer.Option(None, help="only items of this source"),
             rebuild: bool = typer.Option(False, help="re-segment every item (else only items without mentions)"),
             method: str = typer.Option("lexicon", help="polarity method: lexicon, selftrained or hybrid"),
             rescore: bool = typer.Option(False, help="re-score the polarity of every mention"),
             llm: bool = typer.Option(None, "--llm/--no-llm",
                                      help="LLM labels for the least certain mentions (default: when configured)"),
             llm_budget: int = typer.Option(200, help="at most this many mentions sent to the LLM per run"),
             as_json: bool = JSON_OPTION):
    """Split items into mentions (sentences, clauses at but/however/except/although), score each mention's
    polarity, and give new mentions their aspect when aspects are fitted. Rerunnable: it only does what is new."""
    from earful.topics.aspects import assign_new_mentions
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    st = state(ctx)
    with st.store() as store:
        seg = segment(store, source=source, rebuild=rebuild)
        pol = score_polarity(store, method=method, source=source, rescore=rescore, chat_model=_chat(st, llm),
                             llm_budget=llm_budget, progress=not as_json)
        asp = assign_new_mentions(store)
    emit({"segment": seg, "polarity": pol, "aspects": asp}, as_json=as_json)


def _chat(st, use_llm: bool | None):
    """The configured chat model unless --no-llm (None when no LLM is configured; --llm without one is an error)."""
    if use_llm is False:
        return None
    from earful.llm import get_chat_model, llm_enabled

    settings = st.settings()
    if not llm_enabled(settings):
        if use_llm:
            from earful.errors import ConfigError
            raise ConfigError("--llm needs an LLM", hint="set [llm] model in earful.toml or EARFUL_LLM__MODEL")
        return None
    return get_chat_model(settings)


@aspects_app.command("fit")
def aspects_fit(ctx: typer.Context, source: str = typer.Option(None, help="only mentions of this source's items"),
                backend: str = typer.Option("bertopic-aspects",
                                            help="clustering backend (bertopic-aspects, pca-kmeans-standin)"),
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
def aspects_list(ctx: typer.Context, examples: int = typer.Option(1, help="example mentions per aspect"),
                 as_json: bool = JSON_OPTION):
    """List aspects: id, name, mentions, items, negative and positive mentions, an example."""
    from earful.topics.aspects import aspect_list

    with state(ctx).store(read_only=True) as store:
        rows = aspect_list(store, n_examples=examples)
    emit(rows, as_json=as_json, columns=["id", "name", "mentions", "items", "negative", "positive", "example"],
         rows=[[r["id"], r["name"], r["mentions"], r["items"], f"{r['negative']} ({r['negative_share']:.0%})",
                r["positive"], "\n".join(e["text"][:80] for e in r["examples"])] for r in rows],
         title=f"{len(rows)} aspects")


def _edit_aspect(ctx, op, ids, value, as_json):
    from earful.topics.aspects import edit_aspect

    with state(ctx).store() as store:
        emit(edit_aspect(store, op, ids, value), as_json=as_json)


@aspects_app.command("rename")
def aspects_rename(ctx: typer.Context, aspect_id: int = typer.Argument(...), name: str = typer.Argument(...),
                   as_json: bool = JSON_OPTION):
    """Rename an aspect (kept across refits)."""
    _edit_aspect(ctx, "rename", [aspect_id], name, as_json)


@aspects_app.command("merge")
def aspects_merge(ctx: typer.Context,
                  aspect_ids: list[int] = typer.Argument(..., help="INTO OTHER...: the first survives"),
                  as_json: bool = JSON_OPTION):
    """Merge aspects into the first one (kept across refits)."""
    _edit_aspect(ctx, "merge", aspect_ids, None, as_json)


@aspects_app.command("delete")
def aspects_delete(ctx: typer.Context, aspect_id: int = typer.Argument(...), as_json: bool = JSON_OPTION):
    """Delete an aspect: its mentions become outliers (kept across refits)."""
    _edit_aspect(ctx, "delete", [aspect_id], None, as_json)


@topics_app.command("complaints")
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
