"""`earful profile`: where each subject (model, app, product) is strong and weak, printed, as JSON, or as HTML.

Design decision: the command is thin: it parses options, calls `build_profile`, and prints through rich (or one JSON
document with ``--json``); the page is `html.write_html`. It reads the workspace path from the root command's state
object (duck-typed, so this stage module does not import the CLI package).
"""
from __future__ import annotations

import json
import sys

import typer


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_cmd)


def _split(v: str | None) -> list[str] | None:
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


def profile_cmd(ctx: typer.Context,
                source: str = typer.Option(..., "--source", help="source (view) holding the feedback"),
                subject_column: str = typer.Option(..., "--subject-column", help="column naming the subject, e.g. "
                                                                                   "model"),
                score_column: str = typer.Option(None, "--score-column", help="numeric score or rating column"),
                label_share: str = typer.Option(None, "--label-share",
                                                help="instead of a score: the share of COLUMN=VALUE, e.g. "
                                                     "'feedback_type=bug report'"),
                tree: str = typer.Option(None, "--tree", help="category tree: JSON/YAML file (Feedbacker's "
                                                              "cata_tree.json accepted), 'wildbench', or 'topics' "
                                                              "(the fitted topics under their topic-hierarchy "
                                                              "groups, items placed by their topic; the default "
                                                              "when no --category-column or --labels is given)"),
                category_column: str = typer.Option(None, "--category-column",
                                                    help="column whose values name the categories (the tree "
                                                         "itself when no --tree)"),
                labels: str = typer.Option(None, "--labels", help="classify taxonomy whose labels are the "
                                                                  "categories"),
                unit_column: str = typer.Option(None, "--unit-column",
                                                help="items of one unit share its majority category, e.g. "
                                                     "session_id"),
                category_source: str = typer.Option(None, "--category-source",
                                                    help="read the category from this source, joined on "
                                                         "--unit-column"),
                subjects: str = typer.Option(None, "--subjects", help="comma-separated subjects to report and "
                                                                      "compare (default: all)"),
                min_items: int = typer.Option(20, "--min-items", help="test a category only with this many items"),
                alpha: float = typer.Option(0.05, "--alpha", help="significance level after correction"),
                correction: str = typer.Option("holm", "--correction", help="holm or bh"),
                lower_is_better: bool = typer.Option(False, "--lower-is-better",
                                                     help="a low score or share is good (e.g. share of bug "
                                                          "reports)"),
                weakness_column: str = typer.Option(None, "--weakness-column",
                                                    help="quote weaknesses from this column (default: weaknesses "
                                                         "when the source has it, else text)"),
                strength_column: str = typer.Option(None, "--strength-column",
                                                    help="quote strengths from this column (default: strengths "
                                                         "when the source has it, else text)"),
                quotes: int = typer.Option(3, "--quotes", help="representative quotes per finding (0: none)"),
                html: str = typer.Option(None, "--html", help="write a self-contained HTML page here"),
                as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON")):
    """Profile subjects over a category tree: score per category with intervals and ranks, significant
    strengths and weaknesses with quotes, and where the subjects differ most. With no --tree, --category-column or
    --labels the categories are the fitted topics (--tree topics; 'earful topics fit' first)."""
    from earful.qa_agent.profiles import build_profile

    db = ctx.find_root().obj.settings().db
    if tree is None and category_column is None and labels is None:
        tree = "auto"   # the fitted topics; with none fitted, an error naming the three ways to give categories
    prof = build_profile(db, source, subject_column, score_column, label_share=label_share, tree=tree,
                         category_column=category_column, labels=labels, unit_column=unit_column,
                         category_source=category_source, subjects=_split(subjects), min_items=min_items,
                         alpha=alpha, correction=correction, higher_is_better=not lower_is_better, quotes=quotes,
                         weakness_column=weakness_column, strength_column=strength_column)
    written = None
    if html:
        from earful.qa_agent.profiles.html import write_html

        written = write_html(prof, html)
    if as_json:
        data = prof.to_json()
        data["html"] = written
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
        return
    _print(prof)
    if written:
        typer.echo(f"HTML written to {written}")


def _table(columns, rows, title=None):
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(title) if title else None)
    for c in columns:
        t.add_column(Text(c), overflow="fold", max_width=60)
    for r in rows:
        t.add_row(*[Text("" if v is None else str(v)) for v in r])
    return t


def _f(x, d=2):
    return "" if x is None else f"{x:.{d}f}"


def _print(prof) -> None:
    from rich.console import Console

    con = Console()
    con.print(f"{prof.measure} of {len(prof.all_subjects)} subjects over {len(prof.tree) - 1} categories "
              f"({prof.params['n_items']} items); interval: {prof.interval}", markup=False, highlight=False)
    for n in prof.notes:
        con.print(f"note: {n}", markup=False, highlight=False)
    top = [0] + prof.tree.top
    rows = []
    for name in prof.subjects:
        s = prof.all_subjects.index(name)
        rows.append([name] + [f"{_f(prof.mean[s, v])} (#{prof.rank[s, v]:.0f})" if prof.n[s, v] else "-"
                              for v in top])
    con.print(_table(["subject"] + [prof.tree.nodes[v].name for v in top], rows,
                     title="mean (rank) per top-level category"))
    if len(prof.subjects) <= 3:
        for name in prof.subjects:
            rows = [["  " * max(r["depth"] - 1, 0) + r["node"].split(" / ")[-1], r["n"],
                     f"{_f(r['mean'])} [{_f(r['lo'])}, {_f(r['hi'])}]", _f(r["rank"], 0),
                     "" if r["rank_gap"] is None or not r["depth"] else f"{r['rank_gap']:+.0f}",
                     "" if r["effect"] is None else f"{r['effect']:+.2f}", _f(r["p_adj"], 3), r["finding"]]
                    for r in prof.node_rows(name)]
            con.print(_table(["category", "n", "mean [95%]", "rank", "rank gap", "effect", "p adj", "finding"],
                             rows, title=name))
    for name in prof.subjects:
        for kind in ("weakness", "strength"):
            con.print(prof.statement(name, kind), markup=False, highlight=False)
            for f in (prof.weaknesses(name) if kind == "weakness" else prof.strengths(name)):
                for q in f.quotes:
                    text = q.text if len(q.text) <= 240 else q.text[:237] + "..."
                    con.print(f"    [{f.node}] item {q.item_id} (score {q.score:g}): {text}", markup=False,
                              highlight=False)
    if prof.comparison:
        comp = prof.comparison
        if len(comp.subjects) <= MAX_MEAN_COLUMNS:
            rows = [[r["node"], *[_f(r["means"][s]) for s in comp.subjects], _f(r["difference"]), _f(r["effect"]),
                     _f(r["p_adj"], 3), "yes" if r["significant"] else ""] for r in comp.rows[:10]]
            head = ["category", *comp.subjects]
        else:   # a column per subject is unreadable: the lowest and the highest subject instead
            rows = [[r["node"], *_ends(r["means"]), _f(r["difference"]), _f(r["effect"]), _f(r["p_adj"], 3),
                     "yes" if r["significant"] else ""] for r in comp.rows[:10]]
            head = ["category", "lowest (mean)", "highest (mean)"]
        con.print(_table([*head, "difference", comp.effect_name, "p adj", "significant"], rows,
                         title=f"where they differ most ({comp.test})"))


MAX_MEAN_COLUMNS = 6   # a comparison of more subjects shows the lowest and highest one per category


def _ends(means: dict) -> list[str]:
    have = sorted(((m, s) for s, m in means.items() if m is not None), key=lambda x: (x[0], x[1]))
    if not have:
        return ["", ""]
    return [f"{have[0][1]} ({have[0][0]:.2f})", f"{have[-1][1]} ({have[-1][0]:.2f})"]
