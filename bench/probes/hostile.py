#!/usr/bin/env python3
"""Hostile / robustness probes for Earful.

usage: hostile.py --earful CMD [--only ID,ID] [--keep]

Each probe is self-contained (own temp dir and workspace, own time limit, kills what it starts) and prints
  ID VERDICT reason
with VERDICT one of held (Earful did the right thing) / failed / error (the harness itself broke).
Ends with 'N passed, M failed' (failed = failed + error).
"Clean error" = non-zero exit, no Python traceback, no 'unexpected error' / 'please report'.
"""
import argparse, gzip, http.client, json, os, random, re, shlex, shutil, signal, socket, subprocess, sys, tempfile
import threading, time, traceback

os.environ['HF_HUB_OFFLINE'] = '1'
os.environ['TRANSFORMERS_OFFLINE'] = '1'
os.environ.pop('EARFUL_DEBUG', None)
EARFUL = None
PROBES = []
XSS = '</script><img src=x onerror=alert(1)>'


def probe(id_, desc):
    def deco(f):
        PROBES.append((id_, desc, f)); return f
    return deco


class R:
    def __init__(self, rc, out, err, timed_out, secs):
        self.rc, self.out, self.err, self.timed_out, self.secs = rc, out, err, timed_out, secs

    @property
    def both(self):
        return self.out + '\n' + self.err

    def crashed(self):
        b = self.both.lower()
        return 'traceback (most recent call last)' in b or 'unexpected error' in b or 'please report' in b

    def clean_error(self):
        return self.rc not in (0, None) and not self.timed_out and not self.crashed()

    def short(self, n=160):
        s = (self.err.strip() or self.out.strip()).replace('\n', ' | ')
        return s[-n:]

    def json(self):
        try:
            return json.loads(self.out)
        except Exception:
            return None


def run(args, cwd, timeout=120, env=None):
    t0 = time.time()
    p = subprocess.Popen(EARFUL + list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, errors='replace', start_new_session=True, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        return R(p.returncode, out, err, False, time.time() - t0)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        return R(None, out, err, True, time.time() - t0)


def db(d):
    return ['--db', os.path.join(d, 'w.duckdb')]


def ingest(d, path, *extra, source='s', timeout=180):
    return run(db(d) + ['ingest', path, '--source', source, '--json'] + list(extra), d, timeout)


def sql(d, q, timeout=120):
    r = run(db(d) + ['sql', q, '--json'], d, timeout)
    return r, r.json()


def sql_rows(d, q):
    r, j = sql(d, q)
    if r.rc != 0 or not j:
        raise AssertionError(f'sql failed: {q}: {r.short()}')
    return j['rows']


def quarantined(d, source='s'):
    r = run(db(d) + ['quarantine', 'list', '--source', source, '--json', '--limit', '100000'], d, 60)
    try:
        return json.loads(r.out)
    except Exception:
        return None


def write(d, name, data):
    p = os.path.join(d, name)
    mode = 'wb' if isinstance(data, bytes) else 'w'
    with open(p, mode, **({} if mode == 'wb' else {'encoding': 'utf-8', 'newline': ''})) as f:
        f.write(data)
    return p


def csv_text(header, rows):
    import csv, io
    b = io.StringIO(); w = csv.writer(b, lineterminator='\n'); w.writerow(header); w.writerows(rows)
    return b.getvalue()


def accounted(r, n_in):
    """ingest summary: added + duplicates + quarantined == n_in"""
    j = r.json()
    if not j:
        return False, f'no JSON summary (rc={r.rc}): {r.short()}'
    tot = j.get('added', 0) + j.get('duplicates', 0) + j.get('quarantined', 0)
    return tot == n_in, f"added {j.get('added')} dup {j.get('duplicates')} quar {j.get('quarantined')} of {n_in} in"


def verdict_clean_error(r, what):
    if r.timed_out:
        return 'failed', f'{what}: hung (killed after {r.secs:.0f}s)'
    if r.crashed():
        return 'failed', f'{what}: traceback/unexpected error: {r.short()}'
    if r.rc == 0:
        return 'failed', f'{what}: exit 0 (expected a refusal): {r.short()}'
    return 'held', f'{what}: rc={r.rc}: {r.short(100)}'


# ------------------------------------------------------------------ ingest: bad files
@probe('H01', 'empty file -> clean error, nothing written')
def _(d):
    r = ingest(d, write(d, 'empty.csv', b''))
    return verdict_clean_error(r, 'empty .csv')


@probe('H02', 'header-only CSV -> clean error or 0 added, no crash')
def _(d):
    r = ingest(d, write(d, 'hdr.csv', 'id,review,rating\n'))
    if r.crashed() or r.timed_out:
        return 'failed', f'crash: {r.short()}'
    j = r.json()
    if r.rc == 0 and j and j.get('added') == 0:
        return 'held', '0 added'
    return ('held', f'clean error: {r.short(100)}') if r.rc else ('failed', f'rc 0 but {r.short()}')


@probe('H03', 'binary garbage named .csv -> clean error')
def _(d):
    random.seed(3)
    r = ingest(d, write(d, 'bin.csv', bytes(random.randrange(256) for _ in range(20000))))
    return verdict_clean_error(r, 'binary .csv')


@probe('H04', 'binary garbage with unknown extension -> clean error')
def _(d):
    r = ingest(d, write(d, 'blob.dat', b'\x00\x01\x02\xff' * 5000))
    return verdict_clean_error(r, 'binary .dat')


@probe('H05', 'missing file -> clean error')
def _(d):
    return verdict_clean_error(ingest(d, os.path.join(d, 'nope.csv')), 'missing file')


@probe('H06', 'JSON scalar file (not records) -> clean error')
def _(d):
    return verdict_clean_error(ingest(d, write(d, 'x.json', '42')), 'json scalar')


@probe('H07', 'CSV with no plausible text column (all numbers) -> clean error')
def _(d):
    return verdict_clean_error(ingest(d, write(d, 'nums.csv', 'a,b\n1,2\n3,4\n')), 'numbers only')


# ------------------------------------------------------------------ ingest: reserved column names
def reserved_case(d, col, extra_args=(), values=None):
    """file A (3 rows) ingested twice, then file B (2 rows) into the same source; all 5 texts must be there."""
    vals = values or (lambda i: f'v{i}')
    if col == 'text':
        ha = ['id', 'text', 'rating']; rows_a = [[i, f'row text number {i} alpha', 4] for i in range(1, 4)]
        rows_b = [[i, f'row text number {i} beta', 2] for i in range(4, 6)]
    else:
        ha = ['id', 'review', col]
        rows_a = [[i, f'row text number {i} alpha', vals(i)] for i in range(1, 4)]
        rows_b = [[i, f'row text number {i} beta', vals(i)] for i in range(4, 6)]
    a = write(d, 'a.csv', csv_text(ha, rows_a)); b = write(d, 'b.csv', csv_text(ha, rows_b))
    args = ['--text', 'text' if col == 'text' else 'review'] + list(extra_args)
    r1 = ingest(d, a, *args); r2 = ingest(d, a, *args); r3 = ingest(d, b, *args)
    for i, r in enumerate((r1, r2, r3), 1):
        if r.rc != 0:
            return 'failed', f'ingest #{i} rc={r.rc}: {r.short()}'
    j2 = r2.json() or {}
    if j2.get('added') != 0 or j2.get('duplicates') != 3:
        return 'failed', f're-ingest of same file: added {j2.get("added")} dup {j2.get("duplicates")} (want 0/3)'
    got = sorted(x[0] for x in sql_rows(d, 'SELECT text FROM s') if x[0] is not None)
    want = sorted(r[1] for r in rows_a + rows_b)
    n = sql_rows(d, 'SELECT count(*) FROM s')[0][0]
    if n != 5 or got != want:
        return 'failed', f'{n} rows; non-null texts {len(got)}/5 correct={got == want}'
    return 'held', f'5 rows, all texts intact'


@probe('H08', 'input column named `text`: re-ingest + second file keep text')
def _(d):
    return reserved_case(d, 'text')


@probe('H09', 'input column named `item_id`')
def _(d):
    return reserved_case(d, 'item_id', values=lambda i: f'ext-{i}')


@probe('H10', 'input column named `created_at`')
def _(d):
    return reserved_case(d, 'created_at', values=lambda i: f'2024-01-0{i} 10:00:00')


@probe('H11', 'input column named `rating` (values kept)')
def _(d):
    v = reserved_case(d, 'rating', values=lambda i: i)
    if v[0] != 'held':
        return v
    s = sql_rows(d, 'SELECT sum(rating) FROM s')[0][0]
    return ('held', 'ratings sum 15') if s == 15 else ('failed', f'sum(rating)={s}, want 15')


@probe('H12', 'input column named `author`')
def _(d):
    return reserved_case(d, 'author', values=lambda i: f'user{i}')


@probe('H13', 'input column named `topic`')
def _(d):
    return reserved_case(d, 'topic', values=lambda i: f'topic{i % 2}')


# ------------------------------------------------------------------ ingest: odd content
@probe('H14', '10 MB field in one CSV line -> that line quarantined (or kept), others added, nothing refused')
def _(d):
    rows = [[1, 'short one', 5], [2, 'x' * (10 * 1024 * 1024), 4], [3, 'short three', 3], [4, 'short four', 2]]
    r = ingest(d, write(d, 'big.csv', csv_text(['id', 'review', 'rating'], rows)), '--text', 'review')
    if r.rc != 0:
        return 'failed', f'file refused rc={r.rc}: {r.short()}'
    ok, why = accounted(r, 4)
    if not ok:
        return 'failed', 'rows lost: ' + why
    n = sql_rows(d, "SELECT count(*) FROM s WHERE text LIKE 'short%'")[0][0]
    return ('held', why) if n == 3 else ('failed', f'short rows present {n}/3; {why}')


@probe('H15', 'truncated .jsonl.gz -> keeps what was read, quarantines/reports the tail')
def _(d):
    raw = ''.join(json.dumps({'id': i, 'review': f'review number {i} ' + 'lorem ipsum ' * 20}) + '\n'
                  for i in range(2000)).encode()
    gz = gzip.compress(raw)
    p = write(d, 'cut.jsonl.gz', gz[: int(len(gz) * 0.6)])
    r = ingest(d, p, '--text', 'review')
    if r.crashed() or r.timed_out:
        return 'failed', f'crash: {r.short()}'
    if r.rc != 0:
        return 'failed', f'whole file refused (rc={r.rc}): {r.short()}'
    j = r.json() or {}
    if j.get('added', 0) > 0 and (j.get('quarantined', 0) > 0 or j.get('warnings')):
        return 'held', f"added {j.get('added')}, quarantined {j.get('quarantined')}, warnings {len(j.get('warnings') or [])}"
    return 'failed', f"silent: added {j.get('added')} quarantined {j.get('quarantined')} no warning"


@probe('H16', 'JSONL with an empty key -> records read')
def _(d):
    lines = [json.dumps({'': f'e{i}', 'review': f'feedback {i} with empty key'}) for i in range(5)]
    r = ingest(d, write(d, 'ek.jsonl', '\n'.join(lines) + '\n'), '--text', 'review')
    if r.rc != 0:
        return 'failed', f'rc={r.rc}: {r.short()}'
    ok, why = accounted(r, 5)
    j = r.json() or {}
    return ('held', why) if ok and j.get('added') == 5 else ('failed', why)


@probe('H17', 'JSONL with a NUL in a key -> records read')
def _(d):
    lines = [json.dumps({'a\u0000b': i, 'review': f'feedback {i} with nul key'}) for i in range(5)]
    r = ingest(d, write(d, 'nk.jsonl', '\n'.join(lines) + '\n'), '--text', 'review')
    if r.rc != 0:
        return 'failed', f'rc={r.rc}: {r.short()}'
    ok, why = accounted(r, 5)
    j = r.json() or {}
    return ('held', why) if ok and j.get('added') == 5 else ('failed', why)


@probe('H18', '--time column with 2 of 10 unparsable values -> 8 added, 2 quarantined')
def _(d):
    rows = [[i, f'review {i} text', f'2024-03-{i + 1:02d}'] for i in range(10)]
    rows[3][2] = 'not a date'; rows[7][2] = '31/31/31'
    r = ingest(d, write(d, 't.csv', csv_text(['id', 'review', 'when'], rows)), '--text', 'review', '--time', 'when')
    if r.crashed() or r.timed_out:
        return 'failed', f'crash: {r.short()}'
    if r.rc != 0:
        return 'failed', f'file refused: {r.short()}'
    j = r.json() or {}
    if j.get('added') == 8 and j.get('quarantined') == 2:
        return 'held', 'added 8, quarantined 2'
    return 'failed', f"added {j.get('added')} quarantined {j.get('quarantined')}"


@probe('H19', 'mixed encodings: UTF-8 file with one cp1252 line -> UTF-8 rows intact, nothing lost')
def _(d):
    data = ('id,review,rating\n1,naïve café works great,5\n2,plain ascii row,4\n').encode() + \
           '3,cp1252 line caf\xe9 bad,2\n'.encode('cp1252') + '4,emoji row 👍 fine,5\n'.encode()
    r = ingest(d, write(d, 'mix.csv', data), '--text', 'review')
    if r.crashed() or r.timed_out:
        return 'failed', f'crash: {r.short()}'
    if r.rc != 0:
        return ('held', f'clean refusal: {r.short(100)}') if r.clean_error() else ('failed', r.short())
    ok, why = accounted(r, 4)
    if not ok:
        return 'failed', 'rows lost: ' + why
    texts = [x[0] for x in sql_rows(d, 'SELECT text FROM s')]
    if 'naïve café works great' not in texts or 'emoji row 👍 fine' not in texts:
        return 'failed', f'UTF-8 text mangled: {texts}'
    return 'held', why


@probe('H20', 'malformed JSONL lines (2 of 10) -> 8 added, 2 quarantined')
def _(d):
    lines = [json.dumps({'id': i, 'review': f'good line {i}'}) for i in range(10)]
    lines[2] = '{"id": 2, "review": "broken'; lines[6] = 'not json at all'
    r = ingest(d, write(d, 'bad.jsonl', '\n'.join(lines) + '\n'), '--text', 'review')
    j = r.json() or {}
    if r.rc == 0 and j.get('added') == 8 and j.get('quarantined') == 2:
        return 'held', 'added 8, quarantined 2'
    return 'failed', f"rc={r.rc} added {j.get('added')} quarantined {j.get('quarantined')}: {r.short(100)}"


@probe('H21', 'CSV text with embedded newlines, quotes and commas round-trips exactly')
def _(d):
    texts = ['line one\nline two', 'she said "hi", then left', 'trailing space ', "it's 100% _done_"]
    r = ingest(d, write(d, 'q.csv', csv_text(['id', 'review'], [[i, t] for i, t in enumerate(texts)])), '--text', 'review')
    if r.rc != 0:
        return 'failed', r.short()
    got = sorted(x[0] for x in sql_rows(d, 'SELECT text FROM s'))
    return ('held', '4 texts exact') if got == sorted(texts) else ('failed', f'texts differ: {got!r}')


@probe('H22', 'extra field on a CSV line -> line quarantined with raw text, others added')
def _(d):
    data = 'id,review,rating\n1,first fine,5\n2,second fine,4\n3,has,extra,field,3\n4,fourth fine,2\n'
    r = ingest(d, write(d, 'x.csv', data), '--text', 'review')
    if r.crashed() or r.timed_out:
        return 'failed', r.short()
    if r.rc != 0:
        return 'failed', f'file refused: {r.short()}'
    ok, why = accounted(r, 4)
    if not ok:
        return 'failed', 'rows lost: ' + why
    j = r.json() or {}
    if j.get('quarantined') == 1:
        return 'held', why
    # kept the odd line as a row: then the good rows' schema must not be damaged (rating still recognised)
    det = (j.get('detection') or {}).get('rating')
    return ('held', why) if det == 'rating' else \
        ('failed', f'odd line kept as a row and it shifted the schema: rating column not recognised (rating={det}); {why}')


# ------------------------------------------------------------------ sql
def seeded(d):
    r = ingest(d, write(d, 'seed.csv', csv_text(['id', 'review', 'rating', 'app'],
                                                [[i, f'seed review {i}', i % 5 + 1, f'app{i % 3}'] for i in range(30)])),
               '--text', 'review')
    if r.rc != 0:
        raise AssertionError('seed ingest failed: ' + r.short())


def sql_refused(d, q, after=None):
    seeded(d)
    r, _ = sql(d, q)
    v = verdict_clean_error(r, 'refused')
    if after and v[0] == 'held':
        bad = after()
        if bad:
            return 'failed', bad
    n = sql_rows(d, 'SELECT count(*) FROM s')[0][0]
    if n != 30:
        return 'failed', f'workspace changed: {n} rows'
    return v


@probe('H23', 'sql DELETE refused, data unchanged')
def _(d):
    return sql_refused(d, 'DELETE FROM items')


@probe('H24', 'sql CREATE TABLE refused')
def _(d):
    return sql_refused(d, 'CREATE TABLE pwn AS SELECT 1 AS x')


@probe('H25', 'sql ATTACH refused')
def _(d):
    return sql_refused(d, f"ATTACH '{d}/other.duckdb' AS o",
                       after=lambda: 'other.duckdb was created' if os.path.exists(f'{d}/other.duckdb') else None)


@probe('H26', 'sql COPY TO refused, no file written')
def _(d):
    return sql_refused(d, f"COPY (SELECT * FROM s) TO '{d}/leak.csv'",
                       after=lambda: 'leak.csv written' if os.path.exists(f'{d}/leak.csv') else None)


@probe('H27', "sql read_csv('/etc/passwd') refused, no content leaked")
def _(d):
    seeded(d)
    r, _ = sql(d, "SELECT * FROM read_csv('/etc/passwd', sep=':', header=false)")
    if 'root' in r.out and 'x:0' in r.out or '/bin/' in r.out:
        return 'failed', 'passwd content in output'
    return verdict_clean_error(r, 'read_csv')


@probe('H28', "sql glob('/etc/*') refused")
def _(d):
    seeded(d)
    r, _ = sql(d, "SELECT * FROM glob('/etc/*')")
    if '/etc/' in r.out:
        return 'failed', 'file names listed'
    return verdict_clean_error(r, 'glob')


@probe('H29', 'sql EXPLAIN ANALYZE of a CREATE is refused (does not run the wrapped statement)')
def _(d):
    return sql_refused(d, 'EXPLAIN ANALYZE CREATE TABLE pwn2 AS SELECT 1 AS x')


@probe('H30', 'sql SET / INSTALL / PRAGMA refused')
def _(d):
    seeded(d)
    bad = []
    for q in ['SET enable_external_access = true', 'INSTALL httpfs', "PRAGMA database_list", "LOAD httpfs",
              "SELECT * FROM duckdb_settings() WHERE name = 'lock_configuration'"]:
        r, _ = sql(d, q)
        if r.crashed() or r.timed_out:
            bad.append(f'{q}: crash')
        elif q.startswith(('SET', 'INSTALL', 'LOAD')) and r.rc == 0:
            bad.append(f'{q}: ran')
    return ('failed', '; '.join(bad)) if bad else ('held', 'SET/INSTALL/LOAD refused, no crash')


@probe('H31', 'sql "SELECT 1; SELECT 2" works (rc 0, result shown)')
def _(d):
    seeded(d)
    r = run(db(d) + ['sql', 'SELECT 1 AS a; SELECT 2 AS b', '--csv'], d, 60)
    if r.rc == 0 and '2' in r.out and not r.crashed():
        return 'held', r.out.strip().replace('\n', ' | ')[:80]
    return 'failed', f'rc={r.rc}: {r.short()}'


@probe('H32', 'sql PIVOT works (it only reads)')
def _(d):
    seeded(d)
    r, j = sql(d, 'PIVOT s ON rating USING count(*) GROUP BY app')
    if r.rc == 0 and j and len(j.get('rows', [])) == 3:
        return 'held', 'PIVOT returned 3 rows'
    return 'failed', f'rc={r.rc}: {r.short()}'


@probe('H33', 'runaway cross join stops by itself within 120 s with a clean message')
def _(d):
    seeded(d)
    r = run(db(d) + ['sql', 'SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1'],
            d, timeout=120)
    if r.timed_out:
        return 'failed', 'still running after 120 s (killed)'
    if r.crashed():
        return 'failed', r.short()
    return ('held', f'stopped after {r.secs:.0f}s: {r.short(80)}') if r.rc != 0 else ('failed', 'returned rc 0?')


@probe('H34', 'sql on a workspace locked by another writer -> clean "busy" error, no crash')
def _(d):
    seeded(d)
    code = ('import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); c.execute("BEGIN"); '
            'c.execute("CREATE TABLE IF NOT EXISTS zz(x INT)"); print("locked", flush=True); time.sleep(60)')
    h = subprocess.Popen([sys.executable, '-c', code, os.path.join(d, 'w.duckdb')], stdout=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        h.stdout.readline()
        r, _ = sql(d, 'SELECT count(*) FROM s', timeout=60)
    finally:
        os.killpg(h.pid, signal.SIGKILL); h.wait()
    if r.timed_out:
        return 'failed', 'hung > 60 s on a locked workspace'
    if r.crashed():
        return 'failed', f'unexpected error: {r.short()}'
    if r.rc == 0:
        return 'held', 'answered despite the lock (read-only copy?)'
    return 'held', f'clean error: {r.short(100)}'


# ------------------------------------------------------------------ ask
def ask(d, q, timeout=120):
    r = run(db(d) + ['ask', q, '--json'], d, timeout)
    return r, r.json()


@probe('H35', 'ask with SQL injection in a quoted text match -> literal match (0) or decline; data intact')
def _(d):
    seeded(d)
    r, j = ask(d, 'How many reviews mention "x\'; DROP TABLE items; --"?')
    if r.crashed() or r.timed_out or not j:
        return 'failed', f'no JSON / crash: {r.short()}'
    n = sql_rows(d, 'SELECT count(*) FROM s')[0][0]
    if n != 30:
        return 'failed', f'rows now {n}'
    if j.get('status') == 'declined':
        return 'held', 'declined'
    if j.get('status') == 'answered':
        t = j.get('tables') or []
        val = t[0]['rows'][0][0] if t and t[0].get('rows') else None
        return ('held', 'answered 0') if val == 0 else ('failed', f'answered {val} (literal text occurs 0 times)')
    return 'failed', f"status {j.get('status')}: {str(j.get('answer'))[:100]}"


@probe('H36', "ask with \"' OR '1'='1\" text match -> not all rows")
def _(d):
    seeded(d)
    r, j = ask(d, "How many reviews mention \"' OR '1'='1\"?")
    if r.crashed() or r.timed_out or not j:
        return 'failed', f'no JSON / crash: {r.short()}'
    if j.get('status') == 'declined':
        return 'held', 'declined'
    t = j.get('tables') or []
    val = t[0]['rows'][0][0] if t and t[0].get('rows') else None
    if j.get('status') == 'answered':
        return ('held', 'answered 0') if val == 0 else ('failed', f'answered {val}, truth 0')
    return 'failed', f"status {j.get('status')}"


@probe('H37', 'ask with an XSS payload in the question -> JSON reply, payload not executed, no crash')
def _(d):
    seeded(d)
    r, j = ask(d, f'How many reviews mention "{XSS}"?')
    if r.crashed() or r.timed_out or not j:
        return 'failed', f'no JSON / crash: {r.short()}'
    if j.get('status') == 'error':
        return 'failed', f"status error: {str(j.get('answer'))[:100]}"
    t = j.get('tables') or []
    val = t[0]['rows'][0][0] if t and t[0].get('rows') else None
    if j.get('status') == 'answered' and val not in (0, None):
        return 'failed', f'answered {val}, truth 0'
    return 'held', f"status {j.get('status')}"


@probe('H38', '5 concurrent ask processes on one workspace -> 5 answers, 5 conversations stored')
def _(d):
    seeded(d)
    qs = [f'How many reviews have a rating of {k}?' for k in range(1, 6)]
    res = [None] * 5
    th = [threading.Thread(target=lambda i=i: res.__setitem__(i, ask(d, qs[i], timeout=180))) for i in range(5)]
    [t.start() for t in th]; [t.join() for t in th]
    bad = [f'q{i}: {r.short(80)}' for i, (r, j) in enumerate(res) if not j or j.get('status') != 'answered']
    c = run(db(d) + ['conversations', '--json', '--limit', '100'], d, 60)
    try:
        conv = json.loads(c.out)
        n = len(conv) if isinstance(conv, list) else len(conv.get('conversations', conv.get('rows', [])))
    except Exception:
        n = None
    if bad:
        return 'failed', '; '.join(bad)[:200]
    return ('held', '5 answered, 5 conversations') if n == 5 else ('failed', f'5 answered but {n} conversations stored')


# ------------------------------------------------------------------ report
def xss_source(d):
    rows = [[i, f'review {i} about things', (i % 5) + 1, XSS if i % 2 else 'normal app'] for i in range(20)]
    r = ingest(d, write(d, 'x.csv', csv_text(['id', 'review', 'rating', 'app'], rows)), '--text', 'review')
    if r.rc != 0:
        raise AssertionError('ingest failed: ' + r.short())


def xss_in_html(html):
    """an unescaped payload anywhere (in a <script> block it closes the block; in markup it is a live <img>)"""
    return '<img src=x onerror' in html or '</script><img' in html


@probe('H39', 'report HTML with a malicious grouped value -> payload escaped everywhere')
def _(d):
    xss_source(d)
    y = write(d, 'q.yaml', 'title: t\nquestions:\n  - How many reviews per app?\n  - What is the average rating per app?\n')
    out = os.path.join(d, 'r.html')
    r = run(db(d) + ['report', '--questions', y, '--out', out], d, 300)
    if r.rc != 0 or not os.path.exists(out):
        return 'failed', f'report failed rc={r.rc}: {r.short()}'
    html = open(out, encoding='utf-8', errors='replace').read()
    scripts = re.findall(r'<script[^>]*>(.*?)</script>', html, re.S)
    if any('<img src=x' in s or '</script' in s.lower() for s in scripts) or xss_in_html(html):
        return 'failed', 'unescaped </script><img ... in the report HTML'
    if 'onerror' not in html:
        return 'held', 'payload value absent (grouping did not include it?)'
    return 'held', 'payload present only escaped'


# ------------------------------------------------------------------ serve
def free_port():
    s = socket.socket(); s.bind(('127.0.0.1', 0)); p = s.getsockname()[1]; s.close(); return p


class Server:
    def __init__(self, d, host='127.0.0.1', extra=()):
        self.port = free_port(); self.d = d
        self.log = open(os.path.join(d, 'serve.log'), 'w')
        self.p = subprocess.Popen(EARFUL + db(d) + ['serve', '--host', host, '--port', str(self.port)] + list(extra),
                                  cwd=d, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_up(self, timeout=60):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.p.poll() is not None:
                return False
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close(); return True
            except OSError:
                time.sleep(0.5)
        return False

    def req(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        h = {'Content-Type': 'application/json'}; h.update(headers or {})
        c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = c.getresponse(); data = r.read(); c.close()
        return r.status, data

    def stop(self, sig=signal.SIGTERM, wait=10):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(wait); return True
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL); self.p.wait(); return False
        return True

    def logtext(self):
        self.log.flush()
        return open(os.path.join(self.d, 'serve.log'), errors='replace').read()


def api_ask_path(s):
    st, page = s.req('GET', '/')
    m = re.search(r"fetch\(\s*['\"](/[^'\"]*ask[^'\"]*)['\"]", page.decode('utf-8', 'replace'))
    return st, (m.group(1) if m else None)


@probe('H40', 'serve: 10 threads x 10 requests to the ask endpoint -> all 200 with answers')
def _(d):
    seeded(d)
    s = Server(d)
    try:
        if not s.wait_up():
            return 'failed', 'server did not start: ' + s.logtext()[-150:]
        st, path = api_ask_path(s)
        if not path:
            return 'error', f'no ask endpoint found in page (GET / -> {st})'
        errs = []; ok = [0]; lock = threading.Lock()

        def worker(k):
            for i in range(10):
                try:
                    code, data = s.req('POST', path, {'question': f'How many reviews have a rating of {(k + i) % 5 + 1}?',
                                                      'conversation_id': None}, timeout=120)
                    j = json.loads(data)
                    a = j.get('answer', j)
                    good = code == 200 and isinstance(a, dict) and a.get('status') == 'answered'
                except Exception as e:
                    good, code = False, repr(e)[:60]
                with lock:
                    (ok.__setitem__(0, ok[0] + 1) if good else errs.append(str(code)))
        t0 = time.time()
        th = [threading.Thread(target=worker, args=(k,)) for k in range(10)]
        [t.start() for t in th]; [t.join(300) for t in th]
        # and a single client afterwards must still work
        code, data = s.req('POST', path, {'question': 'How many reviews are there?', 'conversation_id': None})
        after = code == 200
        if errs or not after:
            from collections import Counter
            return 'failed', f'{ok[0]}/100 ok, errors {dict(Counter(errs))}; single request afterwards {code}'
        return 'held', f'100/100 ok in {time.time() - t0:.0f}s; single request afterwards ok'
    finally:
        s.stop()


@probe('H41', 'serve: request with Host: evil.example.com is refused')
def _(d):
    seeded(d)
    s = Server(d)
    try:
        if not s.wait_up():
            return 'failed', 'server did not start'
        bad = []
        for m, p, b in [('GET', '/api/status', None), ('POST', '/api/ask', {'question': 'How many reviews are there?'}), ('GET', '/', None)]:
            code, data = s.req(m, p, b, headers={'Host': 'evil.example.com'})
            if code < 400:
                bad.append(f'{m} {p} -> {code}')
        return ('failed', 'answered: ' + ', '.join(bad)) if bad else ('held', 'all refused')
    finally:
        s.stop()


@probe('H42', 'serve --host 0.0.0.0 without a token refuses to start or requires a token')
def _(d):
    seeded(d)
    s = Server(d, host='0.0.0.0')
    try:
        if not s.wait_up(30):
            rc = s.p.poll()
            return ('held', f'refused to start (rc={rc}): {s.logtext().strip()[-100:]}') if rc not in (None, 0) \
                else ('failed', f'no listener and rc={rc}')
        code, _ = s.req('GET', '/api/status', headers={'Host': f'127.0.0.1:{s.port}'})
        code2, _ = s.req('POST', '/api/ask', {'question': 'How many reviews are there?'}, headers={'Host': f'127.0.0.1:{s.port}'})
        if code in (401, 403) and code2 in (401, 403):
            return 'held', f'token required ({code}/{code2})'
        return 'failed', f'started on 0.0.0.0 without token; /api/status {code}, /api/ask {code2}'
    finally:
        s.stop()


@probe('H43', 'serve: web chat HTML for a grouped answer with a malicious value is escaped')
def _(d):
    xss_source(d)
    s = Server(d)
    try:
        if not s.wait_up():
            return 'failed', 'server did not start'
        st, path = api_ask_path(s)
        code, data = s.req('POST', path or '/api/ask', {'question': 'How many reviews per app?', 'conversation_id': None})
        try:
            j = json.loads(data)
        except Exception:
            return 'failed', f'non-JSON reply {code}'
        html = j.get('html') or ''
        if code != 200:
            return 'failed', f'HTTP {code}'
        if xss_in_html(html):
            return 'failed', 'unescaped </script><img ... in the chat HTML'
        return 'held', 'escaped' if 'onerror' in html else 'payload absent from html'
    finally:
        s.stop()


@probe('H44', 'serve exits within 10 s of SIGTERM')
def _(d):
    seeded(d)
    s = Server(d)
    if not s.wait_up():
        s.stop(signal.SIGKILL); return 'failed', 'server did not start'
    s.req('GET', '/api/status')
    ok = s.stop(signal.SIGTERM, wait=10)
    return ('held', 'exited on SIGTERM') if ok else ('failed', 'ignored SIGTERM for 10 s (killed)')


def main():
    global EARFUL
    ap = argparse.ArgumentParser()
    ap.add_argument('--earful', required=True)
    ap.add_argument('--only', default=None)
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    EARFUL = shlex.split(a.earful)
    only = set(a.only.split(',')) if a.only else None
    counts = {'held': 0, 'failed': 0, 'error': 0}
    for id_, desc, f in PROBES:
        if only and id_ not in only:
            continue
        d = tempfile.mkdtemp(prefix=f'hostile-{id_}-')
        t0 = time.time()
        try:
            v, why = f(d)
        except Exception as e:
            v, why = 'error', f'harness: {type(e).__name__}: {str(e)[:150]}'
        finally:
            if not a.keep:
                shutil.rmtree(d, ignore_errors=True)
        counts[v] = counts.get(v, 0) + 1
        print(f'{id_} {v:7} [{time.time() - t0:5.1f}s] {desc} :: {why}', flush=True)
    n = sum(counts.values())
    print(f"held {counts['held']}, failed {counts['failed']}, error {counts['error']}")
    print(f"{counts['held']} passed, {n - counts['held']} failed")


if __name__ == '__main__':
    main()
