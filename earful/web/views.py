"""The views a feedback team lives in, as pages of the chat server: topics (sizes, trend with its significance
test, drill-down to quotes) and label shares with their 95% intervals.

Design decision: each page is drawn from the same documents the CLI prints (`earful.topics.report.topic_list` /
`topic_detail`, `earful.classify.evaluate.shares`), read through a read-only `Store` under the workspace lock's
exclusive side (a Store's read-only connection is configured unlike the engines' ones, as for ``/api/status``), so a
page can never disagree with ``earful topics list`` or ``earful classify shares``. Every value is escaped where it is
written; charts go through `earful.web.render.chart_html` (responsive layout, plotly.js served locally).
"""
from __future__ import annotations

import contextlib
import html
from urllib.parse import quote


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _pct(x) -> str:
    return "" if x is None else f"{100 * float(x):.1f}%"


@contextlib.contextmanager
def read_store(settings):
    from earful.qa_agent.ask import workspace_lock
    from earful.store import Store

    with workspace_lock(settings.db).exclusive(), Store(settings.db, read_only=True) as store:
        yield store


def view_page(title: str, body: str) -> str:
    """A page of the chat server: its style, plotly.js, a way back to the chat and to the other views."""
    from earful.web.render import STYLE

    nav = ('<nav class="earful-nav"><a href="/">chat</a> · <a href="/topics">topics</a> · '
           '<a href="/labels">labels</a> · <a href="/profiles">profiles</a></nav>')
    return ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{_esc(title)} · Earful</title><style>{STYLE}'
            '.earful-nav{margin:.5em 0 1em;font-size:.9em}.earful-quote{border-left:3px solid #9bd;margin:.4em 0;'
            'padding:.2em .8em;background:#f7fafd}.earful-scroll{overflow-x:auto}'
            '.trend-emerging{color:#070;font-weight:600}.trend-fading{color:#a30;font-weight:600}</style>'
            f'<script src="/static/plotly.min.js"></script></head><body>{nav}<h2>{_esc(title)}</h2>{body}'
            '</body></html>')


def _item_link(item_id) -> str:
    return f'<a class="earful-item" href="/items/{_esc(quote(str(item_id), safe=""))}">{_esc(item_id)}</a>'


def topics_html(settings) -> str:
    """The topic list: a sizes chart, then each topic's size, share, trend and an example quote."""
    from earful.charts import bar
    from earful.errors import NotFoundError
    from earful.topics.report import topic_list
    from earful.topics.timeline import trends
    from earful.web.render import chart_html

    with read_store(settings) as store:
        try:
            doc = topic_list(store, days=30, n_examples=1)
        except NotFoundError as exc:
            return view_page("Topics", f'<p class="earful-note">{_esc(exc)}</p>')
        tests = {r["topic_id"]: r for r in trends(store, days=30)}
    topics = doc["topics"]

    def change(tid) -> str:
        r = tests.get(tid)
        if r is None:
            return ""
        return (f'{_pct(r["before_share"])} → {_pct(r["recent_share"])} '
                f'<span class="earful-meta">p={r["p_value"]:.2g}</span>')

    chart = bar("Topic sizes", [t["name"] for t in topics[:20]], [t["size"] for t in topics[:20]],
                x_title="topic", y_title="items")
    rows = "".join(
        f'<tr data-topic="{int(t["id"])}"><td><input type="checkbox" class="earful-pick" value="{int(t["id"])}" '
        f'data-size="{int(t["size"])}" data-name="{_esc(t["name"])}" aria-label="select {_esc(t["name"])}"></td>'
        f'<td><a href="/topics/{int(t["id"])}">{_esc(t["name"])}</a></td><td>{t["size"]}</td>'
        f'<td>{_pct(t["share"])}</td><td class="trend-{_esc(t["trend"])}">{_esc(t["trend"])}</td>'
        f'<td>{change(t["id"])}</td>'
        f'<td>{_esc(", ".join(t["keywords"][:6]))}</td>'
        f'<td>{_esc(t["examples"][0]["text"]) if t["examples"] else ""}</td></tr>' for t in topics)
    run = doc["run"]
    body = ('<p class="earful-meta"><a href="/topics/pictures">pictures: intertopic map, keywords, hierarchy, '
            'over time</a></p>'
            f'<p class="earful-meta">{doc["items"]} items in {len(topics)} topics · outliers '
            f'{_pct(doc["outlier_rate"])} · fitted {_esc(run.get("fitted_at"))} ({_esc(run.get("backend"))}) · trend: '
            'share in the last 30 days against the 30 before, two-proportion z-test, Bonferroni-corrected</p>'
            + chart_html(chart) + MERGE_FORM
            + '<div class="earful-scroll"><table class="earful-table earful-topics"><thead><tr><th></th><th>topic</th>'
              '<th>items</th>'
              '<th>share</th><th>trend</th><th>30 days before → last 30</th><th>keywords</th><th>example</th>'
              '</tr></thead>'
            + f"<tbody>{rows}</tbody></table></div><script>{MERGE_JS}</script>")
    return view_page("Topics", body)


def topic_pictures_html(settings) -> str:
    """BERTopic's four pictures (intertopic distance map, keyword bars, hierarchy dendrogram, topics over time) from
    `earful.topics.pictures`, the same figures as `earful topics charts --html`, drawn by the served plotly.js."""
    from earful.errors import NotFoundError
    from earful.topics.pictures import slug, topic_figures
    from earful.web.render import chart_html

    with read_store(settings) as store:
        try:
            figs = topic_figures(store)
        except NotFoundError as exc:
            return view_page("Topic pictures", f'<p class="earful-note">{_esc(exc)}</p>')
    links = " · ".join(f'<a href="#{_esc(slug(f["title"]))}">{_esc(f["title"])}</a>' for f in figs)
    body = (f'<p class="earful-meta"><a href="/topics">topic list</a> · {links}</p>'
            + "".join(f'<section id="{_esc(slug(f["title"]))}" class="earful-picture"><h3>{_esc(f["title"])}</h3>'
                      + chart_html({"plotly": f["plotly"]}) + "</section>" for f in figs))
    return view_page("Topic pictures", body)


def topic_html(settings, topic_id: int, quotes: int = 10) -> str | None:
    """One topic: keywords, items per month, representative quotes and the newest items; None when unknown."""
    from earful.charts import line
    from earful.errors import NotFoundError
    from earful.topics.report import topic_detail
    from earful.web.render import chart_html

    with read_store(settings) as store:
        try:
            t = topic_detail(store, topic_id)
        except NotFoundError:
            return None
        recent = store.rows("SELECT i.item_id, i.created_at, i.text FROM topic_assignments a JOIN items i "
                            "USING (item_id) WHERE a.topic_id = ? ORDER BY i.created_at DESC NULLS LAST, i.item_id "
                            "LIMIT ?", [int(topic_id), quotes])
    parts = [f'<p class="earful-meta">{t["size"]} items · status {_esc(t["status"])} · keywords: '
             f'{_esc(", ".join(t["keywords"]))}</p>', _rename_form(int(topic_id), t["name"])]
    if t["description"]:
        parts.append(f"<p>{_esc(t['description'])}</p>")
    months = t["by_month"]
    if months:
        chart = line(f"{t['name']}: items per month", [str(m["period"])[:7] for m in months],
                     {"items": [m["count"] for m in months]}, x_title="month", y_title="items")
        parts.append(chart_html(chart))
    parts.append("<h3>Representative quotes</h3>")
    parts += [f'<blockquote class="earful-quote">{_esc(e["text"])}<br>{_item_link(e["item_id"])}</blockquote>'
              for e in t["examples"]]
    parts.append("<h3>Newest items</h3>")
    parts += [f'<blockquote class="earful-quote">{_esc(text)}<br>{_item_link(i)} '
              f'<span class="earful-meta">{_esc(str(when)[:10] if when else "")}</span></blockquote>'
              for i, when, text in recent]
    return view_page(f"Topic: {t['name']}", "\n".join(parts))


def labels_html(settings) -> str:
    """Each taxonomy's label shares with their 95% intervals (a bar chart with error bars, then the table)."""
    from earful.classify.evaluate import shares
    from earful.web.render import chart_html

    with read_store(settings) as store:
        have = store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name = 'classify_labels'")
        taxonomies = [r[0] for r in store.rows("SELECT DISTINCT taxonomy FROM classify_labels ORDER BY 1")] \
            if have else []
        docs = [shares(store, t) for t in taxonomies]
    if not docs:
        return view_page("Label shares", '<p class="earful-note">no labels yet: run <code>earful classify run '
                                         '--taxonomy NAME</code> first</p>')
    parts = []
    for d in docs:
        labels = d["labels"]
        fig = {"data": [{"type": "bar", "x": [x["label"] for x in labels], "y": [x["share"] for x in labels],
                         "error_y": {"type": "data", "symmetric": False,
                                     "array": [round(max(0.0, x["high"] - x["share"]), 4) for x in labels],
                                     "arrayminus": [round(max(0.0, x["share"] - x["low"]), 4) for x in labels]}}],
               "layout": {"title": {"text": f"{d['taxonomy']}: share of labelled items (95% interval)"},
                          "yaxis": {"tickformat": ".0%", "title": {"text": "share"}},
                          "xaxis": {"title": {"text": "label"}}, "template": "plotly_white"}}
        rows = "".join(f"<tr><td>{_esc(x['label'])}</td><td>{_pct(x['share'])}</td>"
                       f"<td>{_pct(x['low'])} – {_pct(x['high'])}</td></tr>" for x in labels)
        parts.append(f"<h3>{_esc(d['taxonomy'])}</h3><p class='earful-meta'>{d['n']} labelled items · "
                     f"{_esc(d['basis'])}</p>" + chart_html({"plotly": fig})
                     + '<table class="earful-table"><thead><tr><th>label</th><th>share</th><th>95% interval</th>'
                     f"</tr></thead><tbody>{rows}</tbody></table>")
    return view_page("Label shares", "\n".join(parts))


RENAME_JS = """
document.getElementById('rename').onsubmit = async (e) => {e.preventDefault();
  const f = e.target, said = document.getElementById('rename-said'); said.textContent = '';
  let r; try {r = await fetch('/api/topics/' + f.dataset.topic + '/rename', {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify({name: f.elements.name.value})});}
  catch (x) {said.textContent = 'could not reach the Earful server: ' + x.message; return;}
  if(r.ok){location.reload(); return;}
  let j = null; try {j = await r.json();} catch (x) {}
  said.textContent = j && j.error ? j.error : 'the rename failed (HTTP ' + r.status + ')';};
"""


def _rename_form(topic_id: int, name: str) -> str:
    """A rename box: the edit is stored as an override, as ``earful topics rename`` stores it (kept over refits)."""
    return (f'<form id="rename" data-topic="{topic_id}" class="earful-tools"><input name="name" value="{_esc(name)}" '
            'aria-label="topic name" maxlength="200"><button>Rename</button><span id="rename-said" '
            f'class="earful-err" role="status"></span></form><script>{RENAME_JS}</script>')


MERGE_FORM = ('<form id="merge" class="earful-tools"><span id="merge-picked" class="earful-meta">select two or more '
              'topics to merge them</span><label>into <select name="into" aria-label="merge into"></select></label>'
              '<input name="name" placeholder="new name (optional)" aria-label="merged topic name" maxlength="200">'
              '<button disabled>Merge</button><span id="merge-said" class="earful-err" role="status"></span></form>')

MERGE_JS = """
(() => {const f = document.getElementById('merge'), said = document.getElementById('merge-said');
  const picks = () => [...document.querySelectorAll('input.earful-pick:checked')];
  let chosen = null; f.elements.into.onchange = () => {chosen = f.elements.into.value;};   // the largest unless chosen
  const update = () => {const p = picks(), into = f.elements.into; into.textContent = '';
    p.slice().sort((a, b) => b.dataset.size - a.dataset.size).forEach(c => {const o = document.createElement('option');
      o.value = c.value; o.textContent = c.dataset.name + ' (' + c.dataset.size + ')'; into.appendChild(o);});
    if(p.some(c => c.value === chosen)) into.value = chosen;
    f.querySelector('button').disabled = p.length < 2;
    document.getElementById('merge-picked').textContent = p.length < 2 ? 'select two or more topics to merge them'
      : p.length + ' topics selected';};
  document.querySelectorAll('input.earful-pick').forEach(c => c.onchange = update);
  f.onsubmit = async (e) => {e.preventDefault(); said.textContent = '';
    const into = +f.elements.into.value, ids = [into, ...picks().map(c => +c.value).filter(v => v !== into)];
    if(ids.length < 2){said.textContent = 'select two or more topics to merge them'; return;}
    let r; try {r = await fetch('/api/topics/merge', {method: 'POST', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({topic_ids: ids, name: f.elements.name.value.trim() || null})});}
    catch (x) {said.textContent = 'could not reach the Earful server: ' + x.message; return;}
    if(r.ok){location.reload(); return;}
    let j = null; try {j = await r.json();} catch (x) {}
    said.textContent = j && j.error ? j.error : 'the merge failed (HTTP ' + r.status + ')';};
  update();})();
"""


def merge_topics(settings, topic_ids: list[int], name: str | None = None) -> dict:
    """Merge topics through `earful.topics.edits.edit` (the first id survives; recorded as an override, re-applied
    after refits, as ``earful topics merge`` does); a non-empty `name` renames the merged topic (a second edit)."""
    from earful.qa_agent.ask import retry_busy, workspace_lock
    from earful.store import Store
    from earful.topics.edits import edit

    ids = [int(t) for t in topic_ids]

    def write():
        with workspace_lock(settings.db).exclusive(), Store(settings.db) as store:
            ov = edit(store, "merge", ids)
            renamed = edit(store, "rename", [ids[0]], name) if (name or "").strip() else None
            row = store.rows("SELECT name, size FROM topics WHERE topic_id = ?", [ids[0]])[0]
            return ov, renamed, row

    ov, renamed, (merged_name, size) = retry_busy(write, settings.wait_s)
    return {"topic_id": ids[0], "merged": [t for t in dict.fromkeys(ids) if t != ids[0]], "name": merged_name,
            "size": size, "overrides": [ov["seq"]] + ([renamed["seq"]] if renamed else [])}


def rename_topic(settings, topic_id: int, name: str) -> dict:
    """Rename a topic through `earful.topics.edits.edit` (recorded as an override, re-applied after refits)."""
    from earful.qa_agent.ask import retry_busy, workspace_lock
    from earful.store import Store
    from earful.topics.edits import edit

    def write():
        with workspace_lock(settings.db).exclusive(), Store(settings.db) as store:
            return edit(store, "rename", [int(topic_id)], name)

    ov = retry_busy(write, settings.wait_s)
    return {"topic_id": int(topic_id), "name": ov["value"], "override": ov["seq"]}
