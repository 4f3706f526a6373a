"""`earful classify ...`: taxonomies, train, run, eval, shares, review.

Design decision: the commands are thin: each resolves the store and taxonomy, calls one function in
`classify.workspace` / `classify.evaluate`, and prints through `emit` (a table, or JSON with --json). ``--field COL``
(or ``-t TAX@COL``) labels the text column COL of the --source instead of the item text, under the name TAX@COL.
"""
from __future__ import annotations

from pathlib import Path

import typer

from earful.cli.common import JSON_OPTION, console, emit, print_json, rich_table, state
from earful.errors import InputError

app = typer.Typer(help="Label feedback with taxonomies: train, run, evaluate, shares with error bars, review.",
                  no_args_is_help=True)

TAX = typer.Option(..., "--taxonomy", "-t", help="taxonomy name (built-in, in the workspace) or a YAML file")
SOURCE = typer.Option(None, "--source", help="only this source")
FEATURE = typer.Option(None, "--feature", help="numeric/categorical metadata column to use, e.g. rating (repeatable)")
FIELD = typer.Option(None, "--field", help="label this text column of the --source (e.g. weaknesses) instead of the "
                                           "item text; labels are stored as TAXONOMY@FIELD (-t TAXONOMY@FIELD too)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="classify")


def _target(store, taxonomy: str, source: str | None, field: str | None):
    """(taxonomy, text field or None): ``-t TAX@COL`` is ``-t TAX --field COL``; the field must be a text column of
    --source, else an InputError (exit 2) naming the source's text columns, before anything is written."""
    if "@" in taxonomy:
        taxonomy, _, col = taxonomy.partition("@")
        if field is not None and field.lower() != col.lower():
            raise InputError(f"-t {taxonomy}@{col} and --field {field} name two fields", hint="give one of them")
        field = col
    if field is None:
        return taxonomy, None
    from earful.embeddings import text_field

    return taxonomy, text_field(store, source, field)


def _not_on_lake(st, wants_field: bool) -> None:
    from earful.lake.workspace import catalog_lake

    if wants_field and catalog_lake(st.settings().db) is not None:
        raise InputError("--field works on a .duckdb workspace, not on a lake-backed one",
                         hint="run it on the workspace the lake was exported from")


def _progress(total: int, label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    prog = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)
    task = prog.add_task(label, total=total)
    return prog, lambda n: prog.advance(task, n)


@app.command("taxonomies")
def taxonomies_cmd(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """List the built-in taxonomies and those in the workspace, with their labels."""
    from earful.classify.base import builtin_taxonomies, load_taxonomy, workspace_taxonomies

    store = state(ctx).store()
    names = list(dict.fromkeys(workspace_taxonomies(store) + list(builtin_taxonomies())))
    data = []
    for n in names:
        t = load_taxonomy(n, store)
        where = "workspace" if n in workspace_taxonomies(store) else "built-in"
        data.append({"name": n, "where": where, "multi_label": t.multi_label, "labels": t.label_names})
    emit(data, as_json=as_json, columns=["name", "where", "multi_label", "labels"],
         rows=[[d["name"], d["where"], d["multi_label"], ", ".join(d["labels"])] for d in data])


@app.command("train")
def train_cmd(ctx: typer.Context, taxonomy: str = TAX,
              gold_column: str = typer.Option(None, "--gold-column", help="source column holding gold labels"),
              source: str = SOURCE,
              method: str = typer.Option(
                  "joint", "--method",
                  help="offline classifier: joint (best measured), tfidf, char_tfidf, embedding, stacked"),
              feature: list[str] = FEATURE, field: str = FIELD, as_json: bool = JSON_OPTION):
    """Train an offline classifier on the taxonomy's gold labels (declare them with --gold-column); with --field, on
    that text column's texts (stored as TAXONOMY@FIELD)."""
    from earful.classify.workspace import field_name, import_gold_column, train

    store = state(ctx).store()
    taxonomy, tf = _target(store, taxonomy, source, field)
    if gold_column:
        import_gold_column(store, taxonomy, gold_column, source, field=tf)
    with console.status(f"training {method} on '{field_name(taxonomy, tf)}' gold labels"):
        r = train(store, taxonomy, method, list(feature or []), field=tf)
    emit(r, as_json=as_json)


@app.command("run")
def run_cmd(ctx: typer.Context, taxonomy: str = TAX,
            method: str = typer.Option("offline", "--method", help="offline | llm | cascade"),
            source: str = SOURCE, batch_size: int = typer.Option(1000, "--batch-size", help="items per commit"),
            llm_budget: int = typer.Option(None, "--llm-budget", help="cascade: at most this many items to the LLM"),
            target_accuracy: float = typer.Option(None, "--target-accuracy",
                                                   help="cascade: route until the offline part reaches this accuracy"),
            redo: bool = typer.Option(False, "--redo", help="forget this taxonomy's model labels and relabel "
                                                       "(labels set in review are kept)"),
            engine: str = typer.Option(None, "--engine", help="on a lake-backed workspace: local or ray"),
            field: str = FIELD,
            unit_column: str = typer.Option(
                None, "--unit-column", help="label each unit (e.g. session_id) once from all its items' texts "
                "together, offline, and give every item of the unit that label (needs --source)"),
            unit_text: list[str] = typer.Option(
                None, "--unit-text", help="with --unit-column: another source whose texts, joined on the unit "
                "column, describe the unit too, e.g. the judge's critiques (repeatable)"),
            as_json: bool = JSON_OPTION):
    """Label every unlabelled item (batch commits: a killed run resumes where it stopped). With --field, the text
    column FIELD of --source (items without a text there are skipped), stored as TAXONOMY@FIELD. With --unit-column,
    each unit is labelled once from all its texts (classify.unit_text) and every item of it gets the unit's label."""
    from earful.classify.runner import prepare
    from earful.classify.workspace import count_todo, label_items
    from earful.lake.workspace import on_lake

    st = state(ctx)
    _not_on_lake(st, field is not None or "@" in taxonomy or unit_column is not None)
    if unit_column is not None or unit_text:
        return _run_units(st, taxonomy, source, unit_column, list(unit_text or []), method, field, as_json)
    if (out := on_lake(st, "classify", engine, taxonomy=taxonomy, method=method, source=source, redo=redo,
                       batch_size=batch_size, llm_budget=llm_budget, target_accuracy=target_accuracy)) is not None:
        return emit(out, as_json=as_json)
    store = st.store()
    taxonomy, tf = _target(store, taxonomy, source, field)
    tax, clf, version, features, extra_names = prepare(store, taxonomy, method, st.settings(), source=source,
                                                       llm_budget=llm_budget, target_accuracy=target_accuracy,
                                                       redo=redo, field=tf)
    todo = count_todo(store, tax.name, source, tf)
    prog, step = _progress(todo, f"classify {tax.name}")
    with prog:
        r = label_items(store, tax, clf, method=getattr(clf, "name", method), version=version, source=source,
                        batch_size=batch_size, features=features, extra_names=extra_names, llm_budget=llm_budget,
                        progress=step, field=tf)
    counts = store.rows("SELECT label, count(*) FROM classify_labels WHERE taxonomy = ? GROUP BY 1 ORDER BY 2 DESC",
                        [tax.name])
    out = {"taxonomy": tax.name, "method": clf.name, "model_version": version, **r,
           "counts": {k: v for k, v in counts}}
    if as_json:
        print_json(out)
        return
    console.print(f"labelled {r['labelled']} item(s) with '{tax.name}' by {clf.name} ({version})"
                  + (f"; {r['sent_to_llm']} sent to the LLM" if method != "offline" else "")
                  + (f"; {r['skipped']} item(s) with no {tf.column} text skipped" if tf is not None else ""))
    if r.get("routing"):
        console.print(r["routing"]["reason"], highlight=False)
    console.print(rich_table(["label", "items"], [[k, v] for k, v in counts]))


def _run_units(st, taxonomy, source, unit_column, unit_text, method, field, as_json):
    from earful.classify.unit_text import METHOD, label_units

    if unit_column is None:
        raise InputError("--unit-text needs --unit-column",
                         hint="name the column that groups items into units, e.g. --unit-column session_id")
    if not source:
        raise InputError("--unit-column needs --source",
                         hint="name the source whose items the units group, e.g. --source outputs")
    if method != "offline" or field is not None or "@" in taxonomy:
        raise InputError(f"--unit-column labels units offline from all their texts ({METHOD}); it does not combine "
                         "with --method llm/cascade or --field", hint="drop --method/--field, or drop --unit-column")
    store = st.store()
    with console.status(f"labelling the units of '{source}' by {unit_column}"):
        r = label_units(store, taxonomy, source, unit_column, with_sources=unit_text)
    if as_json:
        print_json(r)
        return
    console.print(f"labelled {r['units']} unit(s) ({r['items']} item(s)) of '{source}' by {unit_column} with "
                  f"'{r['taxonomy']}' by {r['method']} ({r['model_version']})"
                  + (f"; {r['kept_human']} label(s) set in review kept" if r["kept_human"] else ""))
    console.print(rich_table(["label", "units"], sorted(r["by_label"].items(), key=lambda kv: -kv[1])))


@app.command("eval")
def eval_cmd(ctx: typer.Context, taxonomy: str = TAX,
             gold_column: str = typer.Option(None, "--gold-column", help="source column holding gold labels"),
             source: str = SOURCE, folds: int = typer.Option(5, "--folds"),
             methods: str = typer.Option(None, "--methods", help="comma-separated; default: every offline method; "
                                         "llm and cascade are measured with the configured LLM"),
             feature: list[str] = FEATURE, field: str = FIELD, as_json: bool = JSON_OPTION):
    """Stratified k-fold evaluation of classifiers on gold labels; stores the run (shares use it for the labels of
    the same method, LLM and cascade included). With --field, on that text column's texts (as TAXONOMY@FIELD)."""
    from earful.classify.base import classifier_names, load_taxonomy
    from earful.classify.evaluate import cross_validate, store_eval
    from earful.classify.runner import eval_factory
    from earful.classify.workspace import field_name, gold, import_gold_column, inputs_for

    st = state(ctx)
    store = st.store()
    taxonomy, tf = _target(store, taxonomy, source, field)
    if gold_column:
        import_gold_column(store, taxonomy, gold_column, source, field=tf)
    tax = load_taxonomy(taxonomy, store)
    name = field_name(tax.name, tf)
    pairs = gold(store, name)
    if len(pairs) < 10:
        raise InputError(f"taxonomy '{name}' has {len(pairs)} gold labels; evaluation needs at least 10",
                         hint="pass --gold-column COL")
    names = ([{"llm": "fewshot_llm"}.get(m.strip(), m.strip()) for m in methods.split(",")] if methods
             else classifier_names(offline_only=True))
    from earful.classify.base import CLASSIFIERS

    known = classifier_names()
    unknown = [m for m in names if m not in known]
    if unknown:
        raise InputError(f"unknown method(s): {', '.join(unknown)}",
                         hint="choose from: llm, " + ", ".join(n for n in known if not n.startswith("_")))

    embed = any(getattr(CLASSIFIERS[m], "uses_vectors", True) for m in names if m in CLASSIFIERS)
    inputs = inputs_for(store, [p[0] for p in pairs], list(feature or []), embed=embed, field=tf)
    prog, step = _progress(len(names) * folds, "evaluating")
    with prog:
        res = cross_validate(tax, inputs, [p[1] for p in pairs], names, folds=folds, progress=step,
                             make=eval_factory(store, st.settings()))
    eval_id = store_eval(store, name, gold_column, res)
    if as_json:
        print_json({"eval_id": eval_id, "taxonomy": name, "methods": res})
        return
    console.print(rich_table(["method", "accuracy", "macro_f1"],
                             [[m, f"{r['accuracy']:.3f}", f"{r['macro_f1']:.3f}"] for m, r in res.items()],
                             title=f"{name}: {len(pairs)} gold items, {folds}-fold stratified (eval {eval_id})"))
    best = max(res, key=lambda m: res[m]["macro_f1"])
    r = res[best]
    console.print(rich_table(["label", "precision", "recall", "f1", "support"],
                             [[c["label"], f"{c['precision']:.2f}", f"{c['recall']:.2f}", f"{c['f1']:.2f}",
                               c["support"]] for c in r["per_class"]], title=f"per class, {best}"))
    k = len(r["classes"])
    console.print(rich_table(["true \\ predicted"] + [str(j) for j in range(k)],
                             [[f"{j} {lab}"] + row for j, (lab, row) in enumerate(zip(r["classes"], r["confusion"]))],
                             title=f"confusion matrix, {best} (columns: label numbers)", max_width=40))


@app.command("shares")
def shares_cmd(ctx: typer.Context, taxonomy: str = TAX, source: str = SOURCE, as_json: bool = JSON_OPTION):
    """Each label's share with a 95% interval that accounts for the classifier's measured error."""
    from earful.classify.evaluate import shares

    r = shares(state(ctx).store(), taxonomy, source)
    if as_json:
        print_json(r)
        return
    console.print(rich_table(["label", "share", "95% low", "95% high", "predicted share", "predicted items"],
                             [[d["label"], f"{d['share']:.1%}", f"{d['low']:.1%}", f"{d['high']:.1%}",
                               "" if d["predicted_share"] is None else f"{d['predicted_share']:.1%}", d["predicted"]]
                              for d in r["labels"]],
                             title=f"{taxonomy}: {r['n']} labelled items"))
    console.print(f"interval: {r['basis']}", highlight=False)


@app.command("review")
def review_cmd(ctx: typer.Context, taxonomy: str = TAX,
               export: Path = typer.Option(None, "--export", help="write the least-confident items to this CSV"),
               import_: Path = typer.Option(None, "--import", help="read a corrected CSV back as gold labels"),
               n: int = typer.Option(50, "--n", help="how many items to export"), source: str = SOURCE,
               as_json: bool = JSON_OPTION):
    """Human in the loop: export least-confident items to CSV, fix the `label` column, import it as gold."""
    from earful.classify.review import export_review, import_review

    if bool(export) == bool(import_):
        raise InputError("give exactly one of --export FILE or --import FILE")
    store = state(ctx).store()
    r = export_review(store, taxonomy, export, n, source) if export else import_review(store, taxonomy, import_)
    emit(r, as_json=as_json)
