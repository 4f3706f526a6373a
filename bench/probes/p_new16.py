"""Black-box probes of today's #15/#16 features: web profile pages, topic merge from the web, reload during a
streamed question, the LLM agent's profile tool, and `earful profile` on WildBench and URR.

Written from the README, issue texts, --help and served pages only (no source read). Every expected value is
computed here from the raw files in ../shared/datasets, or is a concrete expected behaviour.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/probes/p_new16.py --earful .venv/bin/earful --out results.json
"""
import argparse, csv, gzip, hashlib, json, os, shutil, socket, statistics, subprocess, sys, threading
import time, urllib.request, urllib.error
import http.client as hc
from collections import defaultdict

DS = '/work/shared/datasets'
ap = argparse.ArgumentParser()
ap.add_argument('--earful', default='/work/main/.venv/bin/earful')
ap.add_argument('--out', default='results.json')
ap.add_argument('--work', default='/tmp/p_new16')
args = ap.parse_args()
E = args.earful.split()
WORK = args.work
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
ENV = dict(os.environ, HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
for k in [k for k in ENV if k.startswith('EARFUL_')]:
    del ENV[k]
RESULTS = []
PROCS = []


def probe(pid, ok, why):
    RESULTS.append({'id': pid, 'held': bool(ok), 'reason': why})
    print(f"{pid:28s} {'held' if ok else 'FAILED'}  {why}", flush=True)


def run(argv, db=None, env=None, timeout=900):
    cmd = E + (['--db', db] if db else []) + argv
    p = subprocess.run(cmd, cwd=WORK, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def sql(db, q):
    rc, out, err = run(['sql', q, '--csv'], db)
    assert rc == 0, err
    return list(csv.DictReader(out.splitlines()))


def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode('utf-8', 'replace'), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode('utf-8', 'replace'), dict(e.headers)


def serve(db, env=None):
    port = free_port()
    p = subprocess.Popen(E + ['--db', db, 'serve', '--port', str(port)], cwd=WORK, env=env or ENV,
                         stdout=open(f'{WORK}/serve-{port}.log', 'w'), stderr=subprocess.STDOUT)
    PROCS.append(p)
    for _ in range(120):
        try:
            if http('GET', f'http://127.0.0.1:{port}/api/status')[0] < 500:
                return p, f'http://127.0.0.1:{port}'
        except Exception:
            pass
        time.sleep(0.5)
    raise RuntimeError('server did not start')


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


FAKE = r'''
import json, sys, time, http.server
PORT=int(sys.argv[1]); LOG=sys.argv[2]; REPLY=sys.argv[3]; DELAY=sys.argv[4]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self,*a): pass
    def do_POST(self):
        n=int(self.headers.get('content-length',0)); body=self.rfile.read(n).decode()
        with open(LOG,'a') as f: f.write(json.dumps({'path':self.path,'body':body})+'\n')
        time.sleep(float(open(DELAY).read() or 0))
        content=open(REPLY).read(); req=json.loads(body)
        msg={'role':'assistant','content':content}
        if req.get('tools'):
            msg={'role':'assistant','content':None,'tool_calls':[{'id':'c1','type':'function',
                 'function':{'name':req['tools'][0]['function']['name'],'arguments':content}}]}
        out={'id':'x','object':'chat.completion','created':0,'model':req.get('model','m'),
             'choices':[{'index':0,'message':msg,'finish_reason':'stop'}],
             'usage':{'prompt_tokens':10,'completion_tokens':5,'total_tokens':15}}
        b=json.dumps(out).encode()
        self.send_response(200); self.send_header('content-type','application/json')
        self.send_header('content-length',str(len(b))); self.end_headers(); self.wfile.write(b)
http.server.ThreadingHTTPServer(('127.0.0.1',PORT),H).serve_forever()
'''


class Fake:
    def __init__(self):
        self.port = free_port()
        self.log, self.reply, self.delay = (f'{WORK}/fake_{n}' for n in ('log.jsonl', 'reply.json', 'delay'))
        open(self.log, 'w').close(); open(self.delay, 'w').write('0'); open(self.reply, 'w').write('{}')
        open(f'{WORK}/fake.py', 'w').write(FAKE)
        PROCS.append(subprocess.Popen([sys.executable, f'{WORK}/fake.py', str(self.port), self.log, self.reply,
                                       self.delay]))
        time.sleep(1)
        self.url = f'http://127.0.0.1:{self.port}/v1'

    def set(self, reply, delay=0):
        open(self.reply, 'w').write(json.dumps(reply)); open(self.delay, 'w').write(str(delay))

    def bodies(self):
        return [json.loads(line)['body'] for line in open(self.log)]


# ---------------------------------------------------------------- data (all from the raw files)
CATS = ['Coding', 'Math', 'Writing']
def cat_of(s):
    return CATS[int(hashlib.md5(s.encode()).hexdigest(), 16) % 3]

crit_all = [json.loads(line) for line in open(f'{DS}/wildbench_v2_critiques/critiques.jsonl')]
for r in crit_all:
    r.pop('extra_parsed_fields', None); r['task'] = cat_of(r['session_id'])
with open(f'{WORK}/wb_full.jsonl', 'w') as f:
    for r in crit_all:
        f.write(json.dumps(r) + '\n')
models3 = ['gemma-2b-it', 'gpt-3.5-turbo-0125', 'reka-edge']
sess = sorted({r['session_id'] for r in crit_all if r['model'] == 'gemma-2b-it'})[:100]
S = set(sess)
small = [dict(r) for r in crit_all if r['model'] in models3 and r['session_id'] in S]
EVIL = '<img src=x onerror=alert(1)>evil'
for i, s in enumerate(sess[:30]):
    small.append({'session_id': s, 'model': EVIL, 'model_test': 'x', 'judge': 'gpt-4o-2024-05-13', 'score': 3 + i % 5,
                  'strengths': f'ok ZQXCANARY strength {i}',
                  'weaknesses': f'<script>alert("pwn")</script> ZQXCANARY weak {i} <img src=y onerror=alert(3)>',
                  'task': cat_of(s)})
# planted: 30 items per category, Coding far below the others
for i in range(90):
    c = CATS[i % 3]
    small.append({'session_id': f'pl{i:03d}', 'model': 'planted-model', 'model_test': 'p', 'judge': 'gpt-4o-2024-05-13',
                  'score': (2 + i % 2) if c == 'Coding' else (7 + i % 3), 'strengths': f'fine answer {i} ZQXCANARY',
                  'weaknesses': f'ZQXCANARY the code does not compile <script>alert("q{i}")</script> case {i}',
                  'task': c})
with open(f'{WORK}/crit.jsonl', 'w') as f:
    for r in small:
        f.write(json.dumps(r) + '\n')
open(f'{WORK}/plain.csv', 'w').write('comment,stars\n"Great app, love it",5\n"Crashes all the time",1\n"Okay",3\n')
urr = list(csv.DictReader(open(f'{DS}/urr_app_reviews/reviews_all.csv', encoding='utf-8')))[:300]
with open(f'{WORK}/urr300.csv', 'w', newline='', encoding='utf-8') as f:
    w = csv.DictWriter(f, fieldnames=list(urr[0].keys())); w.writeheader(); w.writerows(urr)


def own_stats(rows, subj, score, cat):
    g = defaultdict(list)
    for r in rows:
        v = float(r[score])
        g[(r[subj], '(all)')].append(v); g[(r[subj], r[cat])].append(v)
    return {k: (len(v), statistics.fmean(v)) for k, v in g.items()}


def cmp_nodes(nodes, own, tol=1e-3):
    got = {(n['subject'], n['node']): (n['n'], n['mean']) for n in nodes if n['n']}  # an empty cell (n=0) is fine
    bad = [(k, got.get(k), v) for k, v in own.items() if k not in got or got[k][0] != v[0] or abs(got[k][1] - v[1]) > tol]
    extra = [k for k in got if k not in own]
    return bad, extra, len(own)


W, T, F = 'W.duckdb', 'T.duckdb', 'F.duckdb'
run(['ingest', 'crit.jsonl', '--source', 'critiques'], W)
run(['ingest', 'plain.csv', '--source', 'plain'], W)
run(['ingest', 'wb_full.jsonl', '--source', 'critiques'], F)
run(['ingest', 'urr300.csv', '--source', 'reviews'], T)
PF = ['profile', '--source', 'critiques', '--subject-column', 'model', '--score-column', 'score']

# ---------------------------------------------------------------- 1. earful profile CLI
try:
    rc, out, err = run(PF + ['--category-column', 'task', '--json', '--quotes', '0'], F)
    own = own_stats(crit_all, 'model', 'score', 'task')
    bad, extra, n = cmp_nodes(json.loads(out)['nodes'], own)
    probe('cli_wildbench_full_nodes', rc == 0 and not bad and not extra,
          f'{n} subject x category cells (8 models x 3 + all) vs own means; mismatches {bad[:2]} extra {extra[:2]}')
except Exception as x:
    probe('cli_wildbench_full_nodes', False, f'error {x!r} {err[-300:]}')

try:
    rc, out, err = run(['profile', '--source', 'reviews', '--subject-column', 'app', '--score-column', 'rating',
                        '--category-column', 'ardoc_label_auto', '--json', '--quotes', '0'], T)
    own = own_stats(urr, 'app', 'rating', 'ardoc_label_auto')
    bad, extra, n = cmp_nodes(json.loads(out)['nodes'], own)
    probe('cli_urr_nodes', rc == 0 and not bad and not extra,
          f'{n} app x ARdoc-label cells vs own means from reviews_all.csv[:300]; mismatches {bad[:2]} extra {extra[:2]}')
except Exception as x:
    probe('cli_urr_nodes', False, f'error {x!r} {err[-300:]}')

# topics on T, in the background while the profile probes run
topic_setup = subprocess.Popen(['bash', '-c', ' '.join(E) + f' --db {T} embed >topics_setup.log 2>&1 && ' + ' '.join(E)
                                + f' --db {T} topics fit >>topics_setup.log 2>&1'], cwd=WORK, env=ENV)
rc, out, err = run(PF + ['--category-column', 'task', '--subjects', 'nosuch-model'], W)
probe('cli_subjects_unknown', rc == 2 and 'nosuch-model' in out + err and 'reka-edge' in out + err
      and 'Traceback' not in err, f'rc={rc}; expected exit 2 naming the unknown and the known subjects: {(out + err)[-220:]!r}')
rc, out, err = run(PF + ['--category-column', 'task', '--subjects', 'reka-edge,nosuch-model'], W)
probe('cli_subjects_one_unknown', rc == 2 and 'nosuch-model' in out + err,
      f'rc={rc}; a misspelt name among known ones should not be dropped silently: {(out + err)[-200:]!r}')
rc, out, err = run(PF + ['--category-column', 'task', '--subjects', 'reka-edge,gemma-2b-it', '--json', '--quotes', '0'], W)
try:
    subs = json.loads(out)['subjects']
    probe('cli_subjects_filter', rc == 0 and sorted(subs) == ['gemma-2b-it', 'reka-edge'], f'subjects={subs}')
except Exception as x:
    probe('cli_subjects_filter', False, f'rc={rc} {x!r} {err[-200:]}')

rc, out, err = run(PF + ['--category-column', 'task', '--json'], W)
cli_w = json.loads(out) if rc == 0 else {}
pl = [f for f in cli_w.get('findings', []) if f.get('subject') == 'planted-model']
probe('cli_planted_weakness', any('Coding' in json.dumps(f) and 'weak' in json.dumps(f).lower() for f in pl),
      f'planted-model scores 2-3 in Coding, 7-9 elsewhere (30 items each); findings: {json.dumps(pl)[:250]}')

rc, out, err = run(PF + ['--category-column', 'task', '--html', 'prof.html'], W)
html = open(f'{WORK}/prof.html', encoding='utf-8').read() if os.path.exists(f'{WORK}/prof.html') else ''
raw = [s for s in ('<img src=x onerror', '<script>alert("pwn")', '<script>alert("q', '<img src=y onerror') if s in html]
probe('cli_html_escapes', rc == 0 and html and not raw, f'rc={rc}; raw hostile strings in the page: {raw}')

# ---------------------------------------------------------------- browser helper
from playwright.sync_api import sync_playwright  # noqa: E402
PW = sync_playwright().start()
BROWSER = PW.chromium.launch(executable_path='/usr/bin/chromium', args=['--no-sandbox'])


def page_check(url, wait_js=None, timeout=30000):
    pg = BROWSER.new_page()
    errors, dialogs = [], []
    pg.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
    pg.on('pageerror', lambda e: errors.append(str(e)))
    pg.on('dialog', lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.goto(url)
    res = None
    if wait_js:
        pg.wait_for_function(wait_js, timeout=timeout)
        res = pg.evaluate(wait_js)
    pg.wait_for_timeout(800)
    pg.close()
    return errors, dialogs, res


HEAT = "() => [...document.querySelectorAll('.js-plotly-plot')].some(g => (g.data||[]).some(t => t.type==='heatmap'))"
try:
    errors, dialogs, ok = page_check('file://' + WORK + '/prof.html', HEAT)
    probe('cli_html_chromium', ok and not errors and not dialogs, f'heatmap={ok} console errors={errors[:2]} dialogs={dialogs}')
except Exception as x:
    probe('cli_html_chromium', False, f'no heatmap trace rendered: {str(x)[:200]}')

# ---------------------------------------------------------------- 2. web profile pages (W)
srv, B = serve(W)
st, body, _ = http('GET', B + '/api/profiles/critiques?subject=model&score=score&category=task')
try:
    api = json.loads(body)['profile']
    key = lambda n: (n['subject'], n['node'])
    a = {key(n): (n['n'], n['mean'], n['lo'], n['hi'], n['rank']) for n in api['nodes']}
    c = {key(n): (n['n'], n['mean'], n['lo'], n['hi'], n['rank']) for n in cli_w['nodes']}
    diff = [k for k in set(a) | set(c) if a.get(k) != c.get(k)]
    probe('web_api_equals_cli', st == 200 and a and not diff, f'{len(a)} cells (n, mean, lo, hi, rank); differ: {diff[:3]}')
    bad, extra, n = cmp_nodes(api['nodes'], own_stats(small, 'model', 'score', 'task'))
    probe('web_api_equals_raw', not bad and not extra, f'{n} cells vs own means over crit.jsonl; mismatches {bad[:2]}')
except Exception as x:
    probe('web_api_equals_cli', False, f'{st} {x!r} {body[:200]}'); probe('web_api_equals_raw', False, 'see above')

st, body, _ = http('GET', B + '/profiles/critiques?subject=model&score=score&category=task')
gm = [v for k, v in own_stats(small, 'model', 'score', 'task').items() if k == ('gemma-2b-it', '(all)')][0]
probe('web_page_shows_mean', st == 200 and f'{gm[1]:.2f}' in body, f'status {st}; gemma-2b-it overall mean {gm[1]:.2f} on the page')

st, body, _ = http('GET', B + '/api/profiles/plain')
st2, page, _ = http('GET', B + '/profiles')
try:
    j = json.loads(body)
    probe('web_no_subject_hint', st < 500 and j.get('profile') is None and 'subject' in (j.get('hint') or '')
          and '--subject-column' in (j.get('hint') or '') and 'subject=' in page,
          f'api {st} hint={str(j.get("hint"))[:120]!r}; /profiles {st2} names how')
except Exception as x:
    probe('web_no_subject_hint', False, f'{st} {x!r} {body[:200]}')

n_before = sql(W, 'SELECT count(*) AS n FROM items')[0]['n']
bad_q = {'web_sqli_subject': 'subject=model;DROP%20TABLE%20items',
         'web_sqli_score': "score=score)%20FROM%20critiques;%20DELETE%20FROM%20items;--",
         'web_xss_category': 'category=%3Cscript%3Ealert(9)%3C/script%3E',
         'web_unknown_column': 'subject=nosuchcol&score=score',
         'web_text_as_score': 'subject=model&score=text&category=task'}
for pid, q in bad_q.items():
    st_a, b_a, _ = http('GET', B + '/api/profiles/critiques?' + q)
    st_p, b_p, _ = http('GET', B + '/profiles/critiques?' + q)
    try:
        msg = json.loads(b_a).get('error', '')
    except Exception:
        msg = ''
    raw = '<script>alert(9)' in b_p or '<script>alert(9)' in b_a
    probe(pid, 400 <= st_a < 500 and 400 <= st_p < 500 and len(msg) > 10 and not raw,
          f'api {st_a} page {st_p}: {msg[:110]!r}; raw script reflected={raw}')
st, b, _ = http('GET', B + '/api/profiles/nosuch')
st2, b2, _ = http('GET', B + '/profiles/%3Csvg%20onload=alert(5)%3E')
probe('web_unknown_source', 400 <= st < 500 and 400 <= st2 < 500 and '<svg onload' not in b2, f'api {st} page {st2}: {b[:100]!r}')
n_after = sql(W, 'SELECT count(*) AS n FROM items')[0]['n']
probe('web_items_intact', n_before == n_after == str(len(small) + 3), f'items {n_before} -> {n_after} (expected {len(small) + 3})')
try:
    errors, dialogs, ok = page_check(B + '/profiles/critiques?subject=model&score=score&category=task', HEAT)
    probe('web_heatmap_chromium', ok and not errors and not dialogs, f'heatmap={ok} console errors={errors[:2]} dialogs={dialogs}')
except Exception as x:
    probe('web_heatmap_chromium', False, f'no heatmap trace: {str(x)[:200]}')
stop(srv)

# ---------------------------------------------------------------- 3. agent's profile tool (fake OpenAI server)
fake = Fake()
LLM = ['--llm', 'openai-compatible:fake', '--llm-base-url', fake.url]
tok = str(int(time.time()))


def ask_llm(q, profile_args, extra=()):
    fake.set({'plan': 'p', 'language': 'profile', 'code': '', 'answer_template': '', 'chart': None, 'profile': profile_args})
    rc, out, err = run(['ask', q, '--json', *LLM, *extra], W)
    try:
        return json.loads(out)
    except Exception:
        return {'status': f'rc={rc}', 'answer': (out + err)[-300:], 'steps': [], 'tables': []}


d = ask_llm(f'Why does planted-model struggle, in your view ({tok}a)?',
            {'source': 'critiques', 'subject_column': 'model', 'score_column': 'score', 'question': 'weakest',
             'subject': 'planted-model', 'category_column': 'task'})
cli_pl = {n['node']: (n['n'], round(n['mean'], 3)) for n in cli_w['nodes'] if n['subject'] == 'planted-model'}
try:
    t = d['tables'][0]; cols = t['columns']
    got = {r[cols.index('category')]: (r[cols.index('items')], round(r[cols.index('mean')], 3)) for r in t['rows']}
    diff = {k: (v, cli_pl.get(k)) for k, v in got.items() if cli_pl.get(k) != v}
    probe('agent_tool_equals_cli', d['status'] == 'answered' and got and not diff and 'Coding' in d['answer'],
          f'{got} vs profile --json; differ {diff}; answer {d["answer"][:90]!r}')
except Exception as x:
    probe('agent_tool_equals_cli', False, f'{x!r} status={d.get("status")} {str(d.get("answer"))[:200]}')
conv = d.get('conversation_id')
d2 = ask_llm(f'And why is that, in your view ({tok}b)?',
             {'source': 'critiques', 'subject_column': 'model', 'score_column': 'score', 'question': 'compare',
              'subjects': ['planted-model', 'reka-edge'], 'category_column': 'task'},
             ['--conversation', conv] if conv else [])
bodies = fake.bodies()
texts = [r['weaknesses'] for r in small] + [r['strengths'] for r in small]
snips = {t[len(t) // 3: len(t) // 3 + 40] for t in texts if len(t) > 60} | {'ZQXCANARY', 'does not compile'}
leaks = sorted({s for s in snips for b in bodies if s in b})
probe('agent_privacy_no_rows', len(bodies) >= 2 and not leaks and bool(d.get('item_ids') or 'ZQXCANARY' in json.dumps(d)),
      f'{len(bodies)} request bodies, {len(snips)} text snippets checked, leaked: {leaks[:3]}; '
      f'the answer itself carried quotes/ids: {bool(d.get("item_ids"))}')

d = ask_llm(f'Why, in your view, is reka-edge weak ({tok}c)?',
            {'source': 'critiques', 'subject_column': 'model', 'score_column': 'score', 'question': 'overview',
             'tree': '/etc/passwd', 'labels': '../../etc/passwd'})
ok_steps = [s for s in d.get('steps', []) if s.get('ok')]
probe('agent_tool_path_refused', d.get('status') != 'answered' and not ok_steps and 'root:x:0' not in json.dumps(d),
      f'status={d.get("status")} errors={[str(s.get("error"))[:80] for s in d.get("steps", [])][:1]}')
d = ask_llm(f'Why, in your view, is gemma weak ({tok}d)?',
            {'source': 'critiques', 'subject_column': 'model', 'score_column': 'score', 'question': 'overview',
             'category_column': 'task', 'exec': 'import os', 'evil_key': 1})
ok_steps = [s for s in d.get('steps', []) if s.get('ok')]
probe('agent_tool_unknown_keys_refused', d.get('status') != 'answered' and not ok_steps,
      f'status={d.get("status")} errors={[str(s.get("error"))[:80] for s in d.get("steps", [])][:1]}')
d = ask_llm(f'Why, in your view, is gemma weak ({tok}e)?',
            {'source': "read_csv('/etc/passwd')", 'subject_column': 'model', 'score_column': 'score',
             'question': 'overview', 'category_column': 'task'})
probe('agent_tool_source_path_refused', d.get('status') != 'answered' and 'root:x:0' not in json.dumps(d),
      f'status={d.get("status")} {str(d.get("answer"))[:100]!r}')

# ---------------------------------------------------------------- 4. reload during a streamed question
env = dict(ENV, EARFUL_LLM='openai-compatible:fake', EARFUL_LLM_BASE_URL=fake.url)
fake.set({'plan': 'count', 'language': 'sql', 'code': 'SELECT count(*) AS n_critiques FROM critiques',
          'answer_template': 'There are {n_critiques} critiques in all.', 'chart': None, 'profile': None}, delay=7)
srv, B = serve(W, env)
expect = f'There are {len(small)} critiques in all.'
pg = BROWSER.new_page()
errors, dialogs = [], []
pg.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
pg.on('pageerror', lambda e: errors.append(str(e)))
try:
    pg.goto(B + '/')
    pg.fill('#q', f'Why, in your view, are there so many critiques ({tok}r)?')
    pg.click('#go')
    pg.wait_for_timeout(2500)
    url_mid = pg.url
    pg.reload()
    pg.wait_for_function(f'() => document.body.innerText.includes({json.dumps(expect)})', timeout=40000)
    pg.wait_for_timeout(1500)
    txt = pg.evaluate('() => document.body.innerText')
    nq = pg.evaluate("() => document.querySelectorAll('.earful-q').length")
    probe('reload_follows_run', txt.count(expect) == 1 and nq == 1 and not errors,
          f'url mid-run {url_mid[len(B):]}; answer shown {txt.count(expect)}x, questions shown {nq}, console errors {errors[:2]}')
except Exception as x:
    probe('reload_follows_run', False, f'no answer after reload: {str(x)[:160]}; url {pg.url[len(B):]}')
pg.close()

# Last-Event-ID replay: start a streamed question, then replay from its first event id
fake.set({'plan': 'count', 'language': 'sql', 'code': 'SELECT count(*) AS n_critiques FROM critiques',
          'answer_template': 'There are {n_critiques} critiques in all.', 'chart': None, 'profile': None}, delay=5)


def sse(resp, sink, stop_kind='answer'):
    ev = {}
    for raw in resp:
        line = raw.decode().rstrip('\n').rstrip('\r')
        if not line:
            if ev:
                sink.append(ev)
                if ev.get('event') in (stop_kind, 'error', 'cancelled', 'end', 'done'):
                    return
            ev = {}
            continue
        k, _, v = line.partition(':')
        ev[k] = ev.get(k, '') + v.lstrip(' ')


host, port = B[len('http://'):].split(':')
first = []
def post_stream():
    c = hc.HTTPConnection(host, int(port), timeout=60)
    c.request('POST', '/api/ask', json.dumps({'question': f'Why, in your view, so many critiques ({tok}s)?'}),
              {'Accept': 'text/event-stream', 'Content-Type': 'application/json'})
    sse(c.getresponse(), first)
th = threading.Thread(target=post_stream); th.start()
for _ in range(100):
    if len(first) >= 2 and all('id' in e for e in first[:2]):
        break
    time.sleep(0.1)
try:
    run_id = json.loads(first[0]['data'])['run_id']
    last = first[1]['id']
    c = hc.HTTPConnection(host, int(port), timeout=60)
    c.request('GET', f'/api/runs/{run_id}/events', headers={'Last-Event-ID': last, 'Accept': 'text/event-stream'})
    r = c.getresponse(); replay = []
    sse(r, replay)
    th.join(60)
    ids = [int(e['id']) for e in replay if 'id' in e]
    later = [(e.get('id'), e.get('event')) for e in first if 'id' in e and int(e['id']) > int(last)]
    got = [(e.get('id'), e.get('event')) for e in replay if 'id' in e]
    probe('events_last_event_id', r.status == 200 and ids and min(ids) > int(last) and got == later
          and replay[-1].get('event') == 'answer',
          f'stream ids {[e.get("id") for e in first]}; replay after {last}: {got}')
except Exception as x:
    probe('events_last_event_id', False, f'{x!r}; first events {first[:2]}')
th.join(30)
stop(srv)

# ---------------------------------------------------------------- 5. topic merge from the web (T)
topic_setup.wait()
def sizes():
    return {int(r['topic_id']): int(r['n']) for r in sql(T, 'SELECT topic_id, count(*) AS n FROM reviews GROUP BY 1')}
s0 = sizes()
real = sorted([t for t in s0 if t >= 0], key=lambda t: -s0[t])
srv, B = serve(T)
J = {'Content-Type': 'application/json'}
def merge(ids, ct=J, raw=None):
    return http('POST', B + '/api/topics/merge', raw if raw is not None else json.dumps({'topic_ids': ids}).encode(), ct)
for pid, (ids, ct, raw) in {'merge_unknown_id': ([real[0], 9999], J, None), 'merge_one_id': ([real[0]], J, None),
                            'merge_form_post': (None, {'Content-Type': 'application/x-www-form-urlencoded'},
                                                f'topic_ids={real[0]}&topic_ids={real[1]}'.encode()),
                            'merge_text_plain': (None, {'Content-Type': 'text/plain'},
                                                 json.dumps({'topic_ids': [real[0], real[1]]}).encode()),
                            'merge_bad_ids': (['x; DROP TABLE items', '<b>'], J, None)}.items():
    st, b, _ = merge(ids, ct, raw)
    probe(pid, 400 <= st < 500 and len(b) > 10 and sizes() == s0, f'{st} {b[:120]!r}; sizes unchanged={sizes() == s0}')
# merge from the /topics page in Chromium: tick the two smallest real topics, press Merge
a, bq = real[-1], real[-2]
pg = BROWSER.new_page(); errors = []
pg.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
try:
    pg.goto(B + '/topics')
    pg.check(f'input.earful-pick[value="{a}"]'); pg.check(f'input.earful-pick[value="{bq}"]')
    with pg.expect_navigation(timeout=30000):
        pg.click('#merge button')
    pg.wait_for_timeout(500)
except Exception as x:
    errors.append(f'page merge: {str(x)[:150]}')
pg.close()
s1 = sizes()
kept = [t for t in (a, bq) if t in s1]
probe('merge_page_sizes_add', len(kept) == 1 and s1[kept[0]] == s0[a] + s0[bq] and sum(s1.values()) == sum(s0.values())
      and not errors, f'topics {a} ({s0[a]}) + {bq} ({s0[bq]}) -> {[(t, s1.get(t)) for t in (a, bq)]}; errors {errors[:2]}')
gone = a if kept == [bq] else bq
st, b, _ = merge([real[0], gone])
probe('merge_merged_topic', 400 <= st < 500 and sizes() == s1, f'merging absorbed topic {gone} again: {st} {b[:120]!r}')
c, d_ = real[0], real[1]
st, b, _ = merge([c, d_])
s2 = sizes()
probe('merge_api_sizes_add', st == 200 and s2.get(c) == s0[c] + s0[d_] and d_ not in s2 and sum(s2.values()) == sum(s0.values()),
      f'{st}: {c} ({s0[c]}) + {d_} ({s0[d_]}) -> {s2.get(c)}; {d_} present={d_ in s2}')
stop(srv)
rc, out, err = run(['topics', 'fit'], T)
s3 = sizes()
probe('merge_survives_refit', rc == 0 and d_ not in s3 and gone not in s3 and c in s3 and kept[0:1] and kept[0] in s3,
      f'after refit: {c} size {s3.get(c)}, absorbed {d_} present={d_ in s3}, {gone} present={gone in s3}; rc={rc} {err[-400:]!r}')

# ---------------------------------------------------------------- summary
BROWSER.close(); PW.stop()
for p in PROCS:
    stop(p)
held = sum(r['held'] for r in RESULTS)
json.dump({'held': held, 'total': len(RESULTS), 'probes': RESULTS}, open(args.out, 'w'), indent=1)
print(f'held {held} of {len(RESULTS)}')
