"""The profile page of the chat server: where each subject (a model, an app, a product) is strong and weak.

``/profiles`` lists the workspace's sources with a subject column and a score (or what each lacks, and how to get
it); ``/profiles/<source>?subject=COL&score=COL&category=COL|labels=TAXONOMY&compare=A,B`` shows one profile: the
subject x category heatmap, each subject's overall score with its 95% interval, the significant strengths and
weaknesses with quotes linking to ``/items/<id>``, and the comparison of two chosen subjects.

Design decision: every number comes from the profile code (`earful.qa_agent.profiles.build_profile`, the same
``Profile`` that ``earful profile`` prints and writes as HTML, and its `heatmap_figure`, whose colour scale `heatmap`
spells out for plotly.js); this module only finds
the columns to profile (by the names the built-in engine's profile questions look for) and lays the page out. The
profile is built with every subject reported, so the heatmap shows them all, and the chosen pair is compared with
``Profile.compare``. Built profiles are kept for a few page loads, keyed by the workspace file's size and mtime.
"""
from __future__ import annotations

import html
import os
import threading
from collections import OrderedDict
from urllib.parse import quote

SUBJECT_NAMES = ("model", "models", "app", "app_name", "product", "product_name", "subject", "system", "brand",
                 "vendor", "service")
MAX_SUBJECTS = 200            # a column with more distinct values is not a subject column
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _f(x, d: int = 2) -> str:
    return "" if x is None else f"{x:.{d}f}"


def _names():
    from earful.qa_agent.builtin.special import CATEGORY_NAMES, SCORE_NAMES

    return SCORE_NAMES, tuple(dict.fromkeys(CATEGORY_NAMES + ("area", "feature", "component")))


def columns_for(store, source: str) -> dict:
    """What a profile of `source` can use: {subject, score, category, labels, columns, hint}.

    `subject`: the first column named like a subject (`SUBJECT_NAMES`) with 2..`MAX_SUBJECTS` values; `score`: a
    numeric column named like a score (the built-in engine's names); `category`: a column named like a category;
    `labels`: the classify taxonomies that label this source's items. `hint` says what is missing and how to get it
    (None when the profile can be drawn with categories)."""
    from earful.store.sql import quote_ident

    score_names, category_names = _names()
    described = store.rows(f"DESCRIBE {quote_ident(source)}")
    cols = {r[0].lower(): (r[0], str(r[1]).upper()) for r in described}
    subject = None
    for name in SUBJECT_NAMES:
        if name in cols:
            col = cols[name][0]
            k = store.scalar(f"SELECT count(DISTINCT {quote_ident(col)}) FROM {quote_ident(source)}")
            if 2 <= (k or 0) <= MAX_SUBJECTS:
                subject = col
                break
    numeric = ("INT", "BIGINT", "DOUBLE", "FLOAT", "DECIMAL", "REAL", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT",
               "UINTEGER", "INTEGER", "NUMERIC")
    score = next((cols[n][0] for n in score_names if n in cols and cols[n][1].startswith(numeric)), None)
    category = next((cols[n][0] for n in category_names if n in cols), None)
    labels = []
    if store.table_exists("classify_labels"):
        labels = [r[0] for r in store.rows(
            f"SELECT DISTINCT l.taxonomy FROM classify_labels l JOIN {quote_ident(source)} v USING (item_id) "
            "ORDER BY 1")]
    out = {"source": source, "subject": subject, "score": score, "category": category, "labels": labels,
           "columns": [r[0] for r in described]}
    out["hint"] = hint(out)
    return out


def hint(found: dict, subject: str | None = None, score: str | None = None) -> str | None:
    """What a profile of this source lacks and how to get it (the words the CLI and the built-in engine use)."""
    src = found["source"]
    subject = subject or found["subject"]
    score = score or found["score"]
    if subject is None:
        return (f"a profile needs a subject column in {src} (a model, app or product column, e.g. one named "
                f"{', '.join(SUBJECT_NAMES[:6])}); none was found. Name one: "
                f"/profiles/{src}?subject=COLUMN&score=COLUMN, or `earful profile --source {src} --subject-column "
                "COLUMN --score-column COLUMN`")
    if score is None:
        return (f"a profile of '{subject}' needs a numeric score or rating column in {src}; there is none "
                "(`earful profile --label-share COLUMN=VALUE` profiles a label's share)")
    if found["category"] is None and not found["labels"]:
        return (f"where a subject is strong or weak needs categories, and {src} has no category or task column. "
                f"Give a tree: `earful profile --source {src} --subject-column {subject} --score-column {score} "
                "--tree FILE --labels TAXONOMY` (or `--category-column COLUMN`), or label the items first with "
                f"`earful classify run --taxonomy NAME --source {src}`")
    return None


def _signature(db) -> tuple:
    try:
        st = os.stat(db)
        return (str(db), st.st_size, st.st_mtime_ns)
    except OSError:
        return (str(db), None, None)


def build(settings, source: str, subject: str | None = None, score: str | None = None,
          category: str | None = None, labels: str | None = None) -> tuple[dict, object | None]:
    """(found columns, Profile or None). The profile is None when the source has no subject or score column; with no
    categories it is the overall standing only (`found["hint"]` says how to get categories)."""
    from earful.qa_agent.profiles import build_profile
    from earful.web.views import read_store

    with read_store(settings) as store:
        from earful.qa_agent.profiles.data import columns_of

        columns_of(store, source)                       # an unknown source is a NotFoundError naming the known ones
        found = columns_for(store, source)
        subject, score = subject or found["subject"], score or found["score"]
        if category is None and labels is None:
            category = found["category"]
            labels = None if category else (found["labels"][0] if found["labels"] else None)
        found.update(chosen={"subject": subject, "score": score, "category": category, "labels": labels})
        found["hint"] = hint(found, subject, score) if not (category or labels) else None
        if subject is None or score is None:
            return found, None
        key = (_signature(settings.db), source, subject, score, category, labels)
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return found, _CACHE[key]
        prof = build_profile(store, source, subject, score, category_column=category, labels=labels)
    with _CACHE_LOCK:
        _CACHE[key] = prof
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return found, prof


# -- pages -----------------------------------------------------------------------------------------------------------

def list_html(settings) -> str:
    """Every source: its subject, score and category columns and a link to its profile, or what it lacks."""
    from earful.web.views import read_store, view_page

    with read_store(settings) as store:
        found = [columns_for(store, s) for s in store.sources()]
    if not found:
        return view_page("Profiles", '<p class="earful-note">no sources yet: run <code>earful ingest FILE --source '
                                     'NAME</code> first</p>')
    rows = []
    for f in found:
        if f["subject"] and f["score"]:
            link = f'<a href="/profiles/{_esc(quote(f["source"], safe=""))}">{_esc(f["source"])}</a>'
        else:
            link = _esc(f["source"])
        cats = f["category"] or (("labels: " + ", ".join(f["labels"])) if f["labels"] else "")
        rows.append(f'<tr data-source="{_esc(f["source"])}"><td>{link}</td><td>{_esc(f["subject"] or "")}</td>'
                    f'<td>{_esc(f["score"] or "")}</td><td>{_esc(cats)}</td>'
                    f'<td class="earful-note">{_esc(f["hint"] or "")}</td></tr>')
    body = ('<p class="earful-meta">Where each subject (a model, an app, a product) is strong and weak: mean score '
            'per category with 95% intervals, significant strengths and weaknesses (Holm-corrected) with quotes, '
            'and two subjects compared. The same profile as <code>earful profile</code>.</p>'
            '<div class="earful-scroll"><table class="earful-table earful-profiles"><thead><tr><th>source</th>'
            '<th>subject column</th><th>score</th><th>categories</th><th>missing</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')
    return view_page("Profiles", body)


def _item_link(item_id) -> str:
    return f'<a class="earful-item" href="/items/{_esc(quote(str(item_id), safe=""))}">{_esc(item_id)}</a>'


def heatmap(prof) -> dict:
    """`earful.qa_agent.profiles.html.heatmap_figure` (its colour scale already spelt out for plotly.js), with the
    first subject on top and smaller margins."""
    import copy

    from earful.qa_agent.profiles.html import heatmap_figure

    fig = copy.deepcopy(heatmap_figure(prof))
    layout = fig["layout"]
    layout["yaxis"] = {**layout.get("yaxis", {}), "autorange": "reversed"}
    layout["margin"] = {"l": 40, "r": 16, "t": 48, "b": 40}     # the axes' automargin makes room for the labels
    return fig


def _overall(prof) -> str:
    """Each subject's overall score with its 95% interval and rank: a chart with error bars and a table."""
    from earful.web.render import chart_html

    rows = [r for r in prof.node_rows() if r["depth"] == 0]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"]))
    fig = {"data": [{"type": "bar", "x": [r["subject"] for r in rows], "y": [r["mean"] for r in rows],
                     "error_y": {"type": "data", "symmetric": False,
                                 "array": [round(r["hi"] - r["mean"], 4) for r in rows],
                                 "arrayminus": [round(r["mean"] - r["lo"], 4) for r in rows]}}],
           "layout": {"title": {"text": f"{prof.measure} per {prof.subject_column} (95% interval)"},
                      "template": "plotly_white", "yaxis": {"title": {"text": prof.measure}},
                      "xaxis": {"title": {"text": prof.subject_column}}}}
    body = "".join(f'<tr data-subject="{_esc(r["subject"])}"><td>{_esc(r["subject"])}</td><td>{r["n"]}</td>'
                   f'<td class="pf-mean">{_f(r["mean"])}</td><td>{_f(r["lo"])} – {_f(r["hi"])}</td>'
                   f'<td>{_f(r["rank"], 0)}</td></tr>' for r in rows)
    return ('<h3>Overall</h3>' + chart_html({"plotly": fig}) +
            '<table class="earful-table pf-overall"><thead><tr><th>subject</th><th>items</th><th>mean</th>'
            f'<th>95% interval</th><th>rank</th></tr></thead><tbody>{body}</tbody></table>')


def _findings(prof) -> str:
    """Each subject's significant weaknesses and strengths with quotes; the subjects with none, named in one line."""
    parts, quiet = ["<h3>Strengths and weaknesses</h3>"], []
    for name in prof.subjects:
        if not prof.weaknesses(name) and not prof.strengths(name):
            quiet.append(name)
            continue
        parts.append(f'<section class="pf-subject" data-subject="{_esc(name)}"><h4>{_esc(name)}</h4>')
        for kind in ("weakness", "strength"):
            found = prof.weaknesses(name) if kind == "weakness" else prof.strengths(name)
            if not found:
                parts.append(f'<p class="pf-none earful-meta">{_esc(prof.statement(name, kind))}</p>')
                continue
            rows = []
            for f in found:
                quotes = "".join(f'<blockquote class="earful-quote">{_esc(q.text[:600])}<br>{_item_link(q.item_id)} '
                                 f'<span class="earful-meta">score {_f(q.score, 1)}</span></blockquote>'
                                 for q in f.quotes)
                rows.append(f'<tr><td>{_esc(f.node)}</td><td>{f.n}</td><td>{_f(f.mean)} [{_f(f.lo)}, {_f(f.hi)}]</td>'
                            f'<td>{_f(f.others_mean)}</td><td>{f.effect:+.2f}</td><td>{f.p_adj:.2g}</td>'
                            f'<td>{quotes}</td></tr>')
            parts.append(f'<div class="earful-scroll"><table class="earful-table pf-{kind}"><caption>'
                         f'{"weaknesses" if kind == "weakness" else "strengths"}</caption><thead><tr><th>category</th>'
                         '<th>n</th><th>mean [95%]</th><th>others</th><th>effect</th><th>p (adj.)</th><th>quotes</th>'
                         f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')
        parts.append("</section>")
    if quiet:
        p = prof.params
        parts.append(f'<p class="pf-none earful-meta">no significant weakness or strength (no category departs from '
                     f'its overall standing after {_esc(p["correction"].title())} correction at {p["alpha"]:g}, '
                     f'categories with at least {p["min_items"]} items): {_esc(", ".join(quiet))}</p>')
    return "".join(parts)


def _columns_form(source: str, found: dict) -> str:
    """Choose the columns to profile (a GET form): subject, score, and a category column or a taxonomy's labels."""
    chosen = found.get("chosen") or {}
    cols = [c for c in found["columns"] if c != "item_id"]

    def select(name: str, options: list[str], current, blank: str | None = None) -> str:
        opts = ([f'<option value="">{_esc(blank)}</option>'] if blank is not None else []) + [
            f'<option{" selected" if o == current else ""}>{_esc(o)}</option>' for o in options]
        return f'<label>{name} <select name="{name}">{"".join(opts)}</select></label>'

    return (f'<form id="columns" class="earful-tools" method="get" action="/profiles/{_esc(quote(source, safe=""))}">'
            + select("subject", cols, chosen.get("subject") or found["subject"], "(detected)")
            + select("score", cols, chosen.get("score") or found["score"], "(detected)")
            + select("category", cols, chosen.get("category"), "(detected)")
            + (select("labels", found["labels"], chosen.get("labels"), "(none)") if found["labels"] else "")
            + "<button>Profile</button></form>")


def _compare_form(prof, source: str, params: dict, pair: list[str]) -> str:
    def select(name: str, chosen: str | None) -> str:
        opts = "".join(f'<option{" selected" if s == chosen else ""}>{_esc(s)}</option>' for s in prof.all_subjects)
        return f'<select name="{name}" aria-label="subject {name}">{opts}</select>'

    a = pair[0] if pair else prof.all_subjects[0]
    b = pair[1] if len(pair) > 1 else prof.all_subjects[min(1, len(prof.all_subjects) - 1)]
    hidden = "".join(f'<input type="hidden" name="{_esc(k)}" value="{_esc(v)}">' for k, v in params.items() if v)
    return (f'<form id="compare" class="earful-tools" method="get" action="/profiles/{_esc(quote(source, safe=""))}">'
            f'{hidden}{select("a", a)} <span>against</span> {select("b", b)}<button>Compare</button></form>')


def _comparison(comp) -> str:
    head = "".join(f"<th>{_esc(s)}</th>" for s in comp.subjects)
    rows = "".join(
        f"<tr><td>{_esc(r['node'])}</td>" + "".join(f"<td>{_f(r['means'][s])}</td>" for s in comp.subjects) +
        f"<td>{_f(r['difference'])}</td><td>{_f(r['effect'])}</td><td>{_f(r['p_adj'], 3)}</td>"
        f"<td>{'yes' if r['significant'] else ''}</td></tr>" for r in comp.rows[:25])
    return (f'<p class="earful-meta">{_esc(comp.test)}; effect size: {_esc(comp.effect_name)}; p adjusted over the '
            'categories</p><div class="earful-scroll"><table class="earful-table pf-comparison"><thead><tr>'
            f'<th>category</th>{head}<th>difference</th><th>{_esc(comp.effect_name)}</th><th>p (adj.)</th>'
            f'<th>significant</th></tr></thead><tbody>{rows}</tbody></table></div>')


def profile_html(settings, source: str, subject: str | None = None, score: str | None = None,
                 category: str | None = None, labels: str | None = None, compare: list[str] | None = None) -> str:
    """One source's profile page (see the module doc); a readable message where a column is missing."""
    from earful.web.render import chart_html
    from earful.web.views import view_page

    found, prof = build(settings, source, subject, score, category, labels)
    title = f"Profile: {source}"
    if prof is None:
        return view_page(title, f'<p class="earful-note pf-hint">{_esc(found["hint"])}</p>'
                                + _columns_form(source, found) + '<p><a href="/profiles">all sources</a></p>')
    chosen = found["chosen"]
    params = {"subject": chosen["subject"], "score": chosen["score"], "category": chosen["category"],
              "labels": chosen["labels"]}
    what = chosen["category"] or (f"labels of {chosen['labels']}" if chosen["labels"] else None)
    parts = [f'<p class="earful-meta">{_esc(prof.measure)} ({_esc(chosen["score"])}) of '
             f'{len(prof.all_subjects)} {_esc(chosen["subject"])} values over {len(prof.tree) - 1} categories'
             f'{" (" + _esc(what) + ")" if what else ""}; {prof.params["n_items"]} items; interval: '
             f'{_esc(prof.interval)} · <a href="/profiles">all sources</a></p>']
    parts.append(_columns_form(source, found))
    parts += [f'<p class="earful-note">note: {_esc(n)}</p>' for n in prof.notes]
    if found["hint"]:
        parts.append(f'<p class="earful-note pf-hint">{_esc(found["hint"])}</p>')
    else:
        parts.append('<div class="pf-heatmap">' + chart_html({"plotly": heatmap(prof)}) + "</div>")
    parts.append(_overall(prof))
    if not found["hint"]:
        parts.append(_findings(prof))
    pair = [s for s in (compare or []) if s]
    parts.append("<h3>Compare two subjects</h3>" + _compare_form(prof, source, params, pair))
    if len(pair) >= 2:
        parts.append(_comparison(prof.compare(pair[:2])))
    return view_page(title, "\n".join(parts))


def profile_json(settings, source: str, subject=None, score=None, category=None, labels=None,
                 compare: list[str] | None = None) -> dict:
    """The page's data: the columns used, the hint, and the profile's own JSON (with the comparison asked for)."""
    found, prof = build(settings, source, subject, score, category, labels)
    out = {"source": source, "columns": found["chosen"], "hint": found["hint"], "profile": None}
    if prof is not None:
        out["profile"] = prof.to_json()
        pair = [s for s in (compare or []) if s]
        if len(pair) >= 2:
            out["profile"]["comparison"] = prof.compare(pair[:2]).to_json()
    return out
