"""The chat page: one HTML document whose script asks over a stream, shows the steps live, and keeps history.

Design decision: the server renders each answer's HTML (`earful.web.render.answer_html`, shared with reports and
notebooks); this script only adds what a live page can do on top of it: the streamed steps and Cancel, the
conversation panel, paginated and sortable tables with CSV download (from the answer's own rows), editable SQL that
re-runs through ``/api/sql``, suggested questions, and links to items. Everything the server or the data says is
put into the page as text (``textContent``), never parsed as HTML, except the answer fragment the server escaped.
The boot data (conversation id) is JSON escaped by `json_for_html` inside a non-executing script element.
"""
from __future__ import annotations

from earful.web.render import STYLE, json_for_html

CSS = """
body{max-width:none;margin:0;padding:0}
#wrap{display:flex;min-height:100vh}
#side{width:250px;flex:none;border-right:1px solid #ddd;padding:.5em 1em;background:#fafafa;box-sizing:border-box;
  position:sticky;top:0;max-height:100vh;overflow-y:auto}
#side ul{list-style:none;padding:0;margin:.5em 0}#side li{margin:.2em 0}
#side li a{display:block;padding:.3em .4em;border-radius:4px;color:#234;text-decoration:none;font-size:.9em;
  overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#side li a:hover{background:#e8eef5}#side li a.current{background:#dde7f3;font-weight:600}
#side .turns{color:#888;font-size:.8em}
#main{flex:1;min-width:0;max-width:980px;margin:0 auto;padding:0 1em;box-sizing:border-box}
#ask{display:flex;gap:.5em;align-items:center;position:sticky;bottom:0;background:#fff;padding:1em 0;flex-wrap:wrap}
#q{flex:1;font-size:1em;padding:.5em;min-width:12em}
#cancel[hidden]{display:none}
.earful-steps{list-style:none;padding:.3em .8em;margin:.3em 0;border-left:3px solid #9bd;color:#456;font-size:.9em}
.earful-steps li{margin:.2em 0}.earful-steps pre{margin:.2em 0}.earful-steps .bad{color:#b00}
.earful-steps.done{border-left-color:#ccc;color:#777}
.earful-cancelled{color:#a60;font-style:italic}
.earful-pager{display:flex;gap:.5em;align-items:center;font-size:.85em;color:#555;flex-wrap:wrap}
.earful-table th button{all:unset;cursor:pointer;font-weight:600}
.earful-table th button:focus-visible{outline:2px solid #69c}
.earful-scroll{overflow-x:auto;max-width:100%}
.earful-sql{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;font-size:.9em;min-height:5em}
.earful-suggest{display:flex;flex-wrap:wrap;gap:.4em;margin:.6em 0}
.earful-suggest button{border:1px solid #bcd;background:#f4f8fc;border-radius:1em;padding:.25em .8em;cursor:pointer;
  font-size:.85em;color:#234}
.earful-tools{display:flex;gap:.5em;margin:.3em 0;flex-wrap:wrap}
@media (max-width:700px){#wrap{display:block}#side{width:auto;position:static;max-height:none;border-right:0;
  border-bottom:1px solid #ddd}#side ul{max-height:9em;overflow-y:auto}}
"""

BODY = """<div id="wrap"><nav id="side" aria-label="conversations">
<details id="convs" open><summary><b>Conversations</b></summary>
<p><a id="newlink" href="/">+ New conversation</a></p><ul id="history"></ul></details>
<p class="earful-meta">views: <a href="/topics">topics</a> · <a href="/labels">label shares</a> ·
 <a href="/profiles">profiles</a></p></nav>
<main id="main"><h2>Earful</h2><p id="ws"></p><div id="suggest-top"></div><div id="log"></div>
<form id="ask"><input id="q" autofocus placeholder="Ask anything, e.g. how many reviews mention battery?"
 aria-label="question">
<button id="go">Ask</button><button type="button" id="cancel" hidden>Cancel</button>
<button type="button" id="new">New conversation</button>
<span id="working" class="earful-working" role="status" hidden><span class="earful-spin"></span>
working&hellip; <span id="elapsed">0 s</span></span></form></main></div>"""

SCRIPT = r"""
// Failures and data are shown with textContent only: server text is never parsed into this page's DOM, except the
// answer fragment, which the server rendered with every value escaped.
const BOOT = JSON.parse(document.getElementById('boot').textContent);
let conv = BOOT.conversation_id, timer = null, runId = null, asked = [];
const $ = id => document.getElementById(id);
const el = (tag, cls, text) => {const e = document.createElement(tag); if(cls) e.className = cls;
  if(text !== undefined) e.textContent = text; return e;};
function reason(x){return x && x.message ? x.message : String(x);}
function scrollDown(){window.scrollTo(0, document.body.scrollHeight);}
async function getJSON(url, opts){
  let r; try {r = await fetch(url, opts);}
  catch (x) {throw new Error('could not reach the Earful server (is `earful serve` still running?): ' + reason(x));}
  if(!r.ok) throw new Error(await problem(r));
  return r.json();}
getJSON('/api/status').then(s => {$('ws').textContent = 'workspace ' + s.db + ': ' +
    s.sources.map(x => x.source + ' (' + x.items + ')').join(', ');})
  .catch(x => {$('ws').textContent = 'could not read the workspace status: ' + reason(x);});
function add(html){const d=document.createElement('div');d.innerHTML=html;$('log').appendChild(d);
  d.querySelectorAll('script').forEach(s=>{const n=document.createElement('script');n.text=s.text;s.replaceWith(n);});
  scrollDown(); return d;}
function err(text){const p=el('p','earful-err',text); $('log').appendChild(p); scrollDown(); return p;}
function busy(on){
  $('q').disabled = $('go').disabled = $('new').disabled = on; $('working').hidden = !on; clearInterval(timer);
  $('cancel').hidden = true; $('cancel').disabled = false; $('cancel').textContent = 'Cancel';
  if(on){const t0 = Date.now();
    const tick = () => {$('elapsed').textContent = Math.floor((Date.now() - t0) / 1000) + ' s';};
    tick(); timer = setInterval(tick, 500);}
  else $('q').focus();}
// A readable sentence for a failed response: Earful's {"error"}, FastAPI's {"detail"} (its msgs), or the text.
async function problem(r){
  let text = ''; try {text = await r.text();} catch (x) {}
  let j = null; try {j = JSON.parse(text);} catch (x) {}
  if(j && typeof j.error === 'string') return j.error;
  if(j && Array.isArray(j.detail) && j.detail.length) return j.detail.map(d => {
    const msg = d && typeof d.msg === 'string' ? d.msg : JSON.stringify(d);
    const field = d && Array.isArray(d.loc) ? d.loc.filter(x => x !== 'body').join('.') : '';
    return field && !msg.toLowerCase().includes(String(field).toLowerCase()) ? field + ': ' + msg : msg;}).join('; ');
  if(j && typeof j.detail === 'string') return j.detail;
  if((r.headers.get('content-type') || '').includes('html'))   // an inert document: no script runs, nothing loads
    text = new DOMParser().parseFromString(text, 'text/html').body.textContent || '';
  text = text.replace(/\s+/g, ' ').trim();
  const said = (r.status + ' ' + (r.statusText || '')).trim();
  const head = r.status >= 500 ? 'the server failed while answering (HTTP ' + said + ')'
                               : 'the server refused the question (HTTP ' + said + ')';
  const more = text && text !== r.statusText ? ': ' + (text.length > 300 ? text.slice(0, 300) + '…' : text) : '';
  return head + more + (r.status >= 500 ? '. The terminal running `earful serve` shows the details.' : '');}

// ---- the conversation panel ----
async function loadHistory(){
  try {const list = await getJSON('/api/conversations'); const ul = $('history'); ul.textContent = '';
    list.conversations.forEach(c => {const li = el('li');
      const a = el('a', c.conversation_id === conv ? 'current' : '');
      a.href = '/c/' + encodeURIComponent(c.conversation_id); a.title = c.title; a.dataset.id = c.conversation_id;
      a.appendChild(el('span', '', c.title)); a.appendChild(el('span', 'turns', ' · ' + c.turns));
      li.appendChild(a); ul.appendChild(li);});
    if(!list.conversations.length) ul.appendChild(el('li', 'turns', 'none yet'));
  } catch (x) {$('history').textContent = ''; $('history').appendChild(el('li', 'earful-err', reason(x)));}}
function showConversation(data){
  $('log').textContent = '';
  data.turns.forEach(t => {$('log').appendChild(el('p', 'earful-q', t.question));
    showAnswer(t.answer, t.html, false);});}
function newConversation(){conv = null; asked = []; $('log').textContent = '';
  if(location.pathname !== '/') history.pushState({}, '', '/'); loadHistory(); suggest($('suggest-top'));}
$('new').onclick = newConversation;
$('newlink').onclick = e => {e.preventDefault(); if(!$('q').disabled) newConversation();};
if(window.matchMedia('(max-width: 700px)').matches) $('convs').open = false;

// ---- an answer: chart first (server order), then tables, code, suggestions ----
function csvCell(v){if(v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if(typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = "'" + s;   // no formula runs when opened in a sheet
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;}
function download(name, columns, rows){
  const text = [columns, ...rows].map(r => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
  const a = el('a'); a.href = URL.createObjectURL(new Blob([text], {type: 'text/csv'}));
  a.download = (name || 'result').replace(/[^\w.-]+/g, '_') + '.csv'; document.body.appendChild(a); a.click();
  setTimeout(() => {URL.revokeObjectURL(a.href); a.remove();}, 1000);}
function cellNode(col, v){
  if(col === 'item_id' && v !== null && v !== undefined){const a = el('a', 'earful-item', String(v));
    a.href = '/items/' + encodeURIComponent(String(v)); return a;}
  return document.createTextNode(v === null || v === undefined ? '' :
                                  typeof v === 'object' ? JSON.stringify(v) : String(v));}
function cmp(a, b){if(a === b) return 0;
  if(a === null || a === undefined) return 1; if(b === null || b === undefined) return -1;
  if(typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, {numeric: true});}
// A table of (columns, rows): sortable headers, pages of `size` rows, CSV of every row.
function gridTable(name, columns, rows, size){
  size = size || 20; const box = el('div', 'earful-grid'); let page = 0, by = -1, dir = 1, view = rows.slice();
  const tools = el('div', 'earful-pager'); const info = el('span', 'earful-rows');
  const prev = el('button', 'earful-prev', '‹ prev'), next = el('button', 'earful-next', 'next ›');
  const csv = el('button', 'earful-csv', 'Download CSV'); [prev, next, csv].forEach(b => b.type = 'button');
  tools.append(prev, info, next, csv);
  const scroll = el('div', 'earful-scroll'); const table = el('table', 'earful-table earful-grid-table');
  const thead = el('thead'), tbody = el('tbody'); table.append(thead, tbody); scroll.appendChild(table);
  const hr = el('tr'); columns.forEach((c, i) => {const th = el('th'); const b = el('button', '', String(c));
    b.type = 'button'; b.title = 'sort by ' + c; b.onclick = () => {dir = by === i ? -dir : 1; by = i;
      view = rows.slice().sort((x, y) => dir * cmp(x[i], y[i])); page = 0; draw();};
    th.appendChild(b); th.setAttribute('aria-sort', 'none'); hr.appendChild(th);}); thead.appendChild(hr);
  function draw(){
    const pages = Math.max(1, Math.ceil(view.length / size)); page = Math.min(page, pages - 1);
    tbody.textContent = '';
    view.slice(page * size, page * size + size).forEach(r => {const tr = el('tr');
      columns.forEach((c, i) => {const td = el('td'); td.appendChild(cellNode(c, r[i])); tr.appendChild(td);});
      tbody.appendChild(tr);});
    hr.querySelectorAll('th').forEach((th, i) => {th.setAttribute('aria-sort', i !== by ? 'none' :
      dir > 0 ? 'ascending' : 'descending');
      th.firstChild.textContent = columns[i] + (i === by ? (dir > 0 ? ' ▲' : ' ▼') : '');});
    info.textContent = view.length ? (page * size + 1) + '–' + Math.min(view.length, page * size + size) + ' of ' +
      view.length + ' rows' : 'no rows';
    prev.disabled = page === 0; next.disabled = page >= pages - 1;}
  prev.onclick = () => {page--; draw();}; next.onclick = () => {page++; draw();};
  csv.onclick = () => download(name, columns, view);
  box.append(scroll, tools); draw(); return box;}
async function runSql(sql, out){
  out.textContent = ''; out.appendChild(el('p', 'earful-working', 'running…'));
  try {const j = await getJSON('/api/sql', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify({sql})});
    out.textContent = '';
    out.appendChild(el('p', 'earful-meta', j.rows.length + ' row(s)' + (j.truncated ? ' (the first ' + j.rows.length +
      '; more were cut at the row cap)' : '') + ' · read-only'));
    out.appendChild(gridTable('edited-query', j.columns, j.rows));
  } catch (x) {out.textContent = ''; out.appendChild(el('p', 'earful-err', reason(x)));}}
function editableCode(details, answer){
  details.open = true;
  details.querySelectorAll('pre').forEach((pre, i) => {
    const step = (answer.steps || [])[i]; if(!step) return;
    const tools = el('div', 'earful-tools'); const copy = el('button', 'earful-copy', 'Copy'); copy.type = 'button';
    let get = () => step.code;
    if(step.language === 'sql'){
      const ta = el('textarea', 'earful-sql'); ta.value = step.code; ta.spellcheck = false;
      ta.rows = Math.min(14, step.code.split('\n').length + 1); pre.replaceWith(ta); get = () => ta.value;
      const runb = el('button', 'earful-run', 'Run edited SQL'); runb.type = 'button';
      const out = el('div', 'earful-sqlout');
      runb.onclick = () => runSql(ta.value, out); tools.append(copy, runb); ta.after(tools); tools.after(out);
    } else {pre.after(tools); tools.append(copy);}
    copy.onclick = async () => {try {await navigator.clipboard.writeText(get()); copy.textContent = 'Copied';}
      catch (x) {copy.textContent = 'Copy failed: select the text'}
      setTimeout(() => {copy.textContent = 'Copy';}, 1500);};});}
function enhance(div, answer){
  div.querySelectorAll('table.earful-table[data-index]').forEach(t => {
    const data = (answer.tables || [])[+t.dataset.index]; if(!data) return;
    t.replaceWith(gridTable(data.name, data.columns || [], data.rows || []));});
  const code = div.querySelector('details.earful-code'); if(code) editableCode(code, answer);}
function showAnswer(answer, html, live){
  const d = add(html); enhance(d, answer);
  if(live){const s = el('div'); d.appendChild(s); suggest(s);}
  return d;}
async function suggest(box){
  box.textContent = '';
  try {const j = await getJSON('/api/suggestions');
    const qs = j.questions.filter(q => !asked.includes(q)).slice(0, 4); if(!qs.length) return;
    const row = el('div', 'earful-suggest'); row.appendChild(el('span', 'earful-meta', 'try: '));
    qs.forEach(q => {const b = el('button', '', q); b.type = 'button';
      b.onclick = () => {if($('q').disabled) return; $('q').value = q; $('ask').requestSubmit();};
      row.appendChild(b);});
    box.appendChild(row);
  } catch (x) {/* suggestions are optional: the chat works without them */}}

// ---- asking: a stream of steps, then the answer; Cancel stops the run on the server ----
const SAY = {
  engine: e => (e.engine === 'builtin' ? 'built-in engine' : e.engine === 'llm' ? 'LLM agent' : e.engine) + ': started',
  declined: e => e.engine + ' passed: ' + (e.answer || '').slice(0, 300),
  llm: e => e.purpose === 'repair' ? 'asking the model to repair the program (attempt ' + e.attempt + ')…' :
            e.purpose === 'compose' ? 'asking the model to word the answer…' : 'asking the model for a plan…',
  unusable: e => 'the model\'s reply could not be used: ' + e.error,
  running: e => (e.plan ? 'plan: ' + e.plan + ' — ' : '') + 'running the ' +
               (e.language === 'python' ? 'Python' : 'SQL') + '…',
  result: e => e.ok && !e.error ? 'result: ' + e.rows + ' row(s)' : 'not usable: ' + (e.error || 'failed'),
  saving: e => 'saving the turn…',
};
function step(list, e){
  const say = SAY[e.kind]; if(!say) return; const li = el('li', (e.kind === 'result' && !(e.ok && !e.error)) ||
    e.kind === 'unusable' ? 'bad' : '', say(e)); li.dataset.kind = e.kind;
  if(e.kind === 'running' && e.code){const pre = el('pre'); pre.appendChild(el('code', '', e.code));
    li.appendChild(pre);}
  list.appendChild(li); scrollDown();}
function fold(list){     // once answered, the steps stay one click away
  list.classList.add('done'); const d = el('details', 'earful-steps-done');
  d.appendChild(el('summary', 'earful-meta', list.children.length + ' step' + (list.children.length === 1 ? '' : 's')));
  list.replaceWith(d); d.appendChild(list);}
function parseEvents(buffer, onEvent){
  let at; while((at = buffer.indexOf('\n\n')) >= 0){
    const block = buffer.slice(0, at); buffer = buffer.slice(at + 2); let kind = 'message', data = '', id = null;
    block.split('\n').forEach(line => {if(line.startsWith('event:')) kind = line.slice(6).trim();
      else if(line.startsWith('data:')) data += line.slice(5).trim();
      else if(line.startsWith('id:')) id = +line.slice(3).trim();});
    if(data) onEvent(kind, JSON.parse(data), id);}
  return buffer;}
function settle(answer, html){
  if(answer.conversation_id && answer.conversation_id !== conv){conv = answer.conversation_id;
    history.pushState({}, '', '/c/' + encodeURIComponent(conv));}
  $('suggest-top').textContent = ''; showAnswer(answer, html, true); loadHistory();}
$('cancel').onclick = async () => {
  if(!runId) return; $('cancel').disabled = true; $('cancel').textContent = 'cancelling…';
  try {await getJSON('/api/runs/' + encodeURIComponent(runId) + '/cancel', {method: 'POST'});}
  catch (x) {err('could not cancel: ' + reason(x)); $('cancel').disabled = false; $('cancel').textContent = 'Cancel';}};
// One streamed run as the page follows it: `last` is the number of the last event shown, so a stream read again
// (after a reload or a lost connection) shows each step once; `end` is answer | cancelled | error once it ended.
function follower(steps){
  const run = {last: -1, end: null, failed: null};
  run.onEvent = (kind, data, id) => {
    if(id !== null && id <= run.last) return; if(id !== null) run.last = id;
    if(kind === 'run'){runId = data.run_id; $('cancel').hidden = false; run.isNew = data.new;
      if(!conv){conv = data.conversation_id;      // a reload from here comes back to this run
        history.pushState({}, '', '/c/' + encodeURIComponent(conv));}}
    else if(kind === 'answer'){run.end = kind; fold(steps); settle(data.answer, data.html);}
    else if(kind === 'cancelled' || kind === 'error'){run.end = kind; steps.classList.add('done');
      if(run.isNew){conv = null; history.replaceState({}, '', '/');}      // nothing was saved: no conversation yet
      if(kind === 'error'){run.failed = data.message; err(data.message); return;}
      $('log').appendChild(el('p', 'earful-cancelled', data.message)); scrollDown();}
    else step(steps, data);};
  return run;}
async function readEvents(r, run){
  const reader = r.body.getReader(), text = new TextDecoder(); let buffer = '';
  for(;;){const {value, done} = await reader.read(); if(done) break;
    buffer = parseEvents(buffer + text.decode(value, {stream: true}), run.onEvent);}}
// Read a run's events again from the server, after the last one shown (Last-Event-ID), until it ends.
async function resume(id, run){
  for(let tries = 0; !run.end && tries < 5; tries++){
    if(tries) await new Promise(ok => setTimeout(ok, 500 * tries));
    let r; try {r = await fetch('/api/runs/' + encodeURIComponent(id) + '/events',
                                {headers: {'Accept': 'text/event-stream', 'Last-Event-ID': String(run.last)}});}
    catch (x) {continue;}
    if(r.status === 404) throw new Error('this question is no longer running on the server; if it was answered, ' +
                                         'the answer is in the conversation (reload the page)');
    if(!r.ok) throw new Error(await problem(r));
    try {await readEvents(r, run);} catch (x) {/* lost again: try once more */}}
  if(!run.end) throw new Error('the connection to the server was lost while answering; reload the page to see ' +
                               'whether the answer came');}
$('ask').onsubmit = async (e) => {e.preventDefault();
  const q = $('q').value.trim(); if(!q || $('q').disabled) return;
  $('log').appendChild(el('p', 'earful-q', q)); $('q').value = ''; busy(true); asked.push(q);
  const steps = el('ol', 'earful-steps'); steps.setAttribute('aria-live', 'polite');
  const run = follower(steps);
  try {
    let r;
    try {r = await fetch('/api/ask', {method: 'POST', headers: {'Content-Type': 'application/json',
                                                                'Accept': 'text/event-stream'},
                                      body: JSON.stringify({question: q, conversation_id: conv})});}
    catch (x) {throw new Error('could not reach the Earful server (is `earful serve` still running?): ' + reason(x));}
    if(!r.ok) throw new Error(await problem(r));
    if(!(r.headers.get('content-type') || '').includes('text/event-stream')){     // a plain JSON answer
      let j = null; try {j = await r.json();} catch (x) {}
      if(!j || !j.answer || typeof j.html !== 'string')
        throw new Error('the server sent a reply this page cannot read (HTTP ' + r.status + ')');
      settle(j.answer, j.html); return;}
    $('log').appendChild(steps);
    try {await readEvents(r, run);}
    catch (x) {if(!run.end && !runId) throw new Error('the connection to the server was lost while answering: ' +
                                                      reason(x));}
    if(!run.end && runId) await resume(runId, run);          // the stream broke off: read the rest again
    if(!run.end) throw new Error('the connection to the server ended before the answer came; ask again');
  } catch (x) {if(!run.failed){run.failed = reason(x); err(run.failed);}}
  finally {runId = null; busy(false); if(run.failed && !$('q').value) $('q').value = q;}   // a failed question is kept
};
// After a reload: a question of this conversation still running on the server is followed again, steps first.
async function follow(running){
  $('log').appendChild(el('p', 'earful-q', running.question)); busy(true);
  const steps = el('ol', 'earful-steps'); steps.setAttribute('aria-live', 'polite'); $('log').appendChild(steps);
  const run = follower(steps); runId = running.run_id; $('cancel').hidden = false;
  try {await resume(running.run_id, run);}
  catch (x) {if(!run.failed){run.failed = reason(x); err(run.failed);}}
  finally {runId = null; busy(false);}}
window.addEventListener('popstate', () => location.reload());
loadHistory();
if(conv) getJSON('/api/conversations/' + encodeURIComponent(conv))
  .then(data => {showConversation(data); if(data.running) return follow(data.running);})
  .catch(x => err('could not load this conversation: ' + reason(x)));
else suggest($('suggest-top'));
"""


def page(conversation_id: str | None = None) -> str:
    """The chat page; with `conversation_id` it opens on that conversation's turns (``/c/<id>``)."""
    boot = json_for_html({"conversation_id": conversation_id})
    return ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width, initial-scale=1"><title>Earful</title>'
            f'<style>{STYLE}{CSS}</style><script src="/static/plotly.min.js"></script></head><body>{BODY}'
            f'<script type="application/json" id="boot">{boot}</script><script>{SCRIPT}</script></body></html>')


def not_found_page(what: str) -> str:
    """A 404 page that says what was not found and links back to the chat (`what` is escaped here)."""
    import html

    return ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>Not found · Earful</title><style>{STYLE}</style>'
            f'</head><body><h2>Not found</h2><p class="earful-err">{html.escape(what)}</p>'
            '<p><a href="/">Start a new conversation</a></p></body></html>')
