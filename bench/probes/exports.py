#!/usr/bin/env python3
"""Ingests each realistic export in bench/probes/exports/ (auto-detection only: no --text/--time/--rating flags)
and checks via `earful sql` that every row arrived, the text is right, and rating/time were recognised.

usage: exports.py --earful CMD [--only FILE,...]
Regenerate the files with make_exports.py (deterministic). Prints one line per file and 'N passed, M failed'.
"""
import argparse, datetime, json, os, shlex, shutil, signal, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
EXPD = os.path.join(HERE, 'exports')
os.environ['HF_HUB_OFFLINE'] = '1'; os.environ['TRANSFORMERS_OFFLINE'] = '1'
os.environ.pop('EARFUL_DEBUG', None)


def run(cmd, cwd, timeout=180):
    p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors='replace',
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout); return p.returncode, out, err
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL); out, err = p.communicate(); return None, out, err + ' [timed out]'


def utc_date(v):
    if v is None:
        return None
    s = str(v).replace('T', ' ')
    try:
        dt = datetime.datetime.fromisoformat(s)
    except ValueError:
        return s[:10]
    if dt.tzinfo:
        dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime('%Y-%m-%d')


def check(E, fname, spec, d):
    wdb = os.path.join(d, 'w.duckdb'); src = spec['source']
    rc, out, err = run(E + ['--db', wdb, 'ingest', os.path.join(EXPD, fname), '--source', src, '--json'], d)
    if rc != 0:
        return False, f'ingest rc={rc}: {(err.strip() or out.strip())[-200:]}', None
    try:
        summ = json.loads(out)
    except Exception:
        return False, f'ingest output not JSON: {out[-150:]}', None
    det = summ.get('detection') or {}
    info = f"profile={summ.get('profile')} text={det.get('text') or det.get('text_parts')} time={det.get('time')} rating={det.get('rating')} author={det.get('author')}"
    n = len(spec['rows']); problems = []
    if summ.get('added') != n:
        problems.append(f"added {summ.get('added')} of {n} (quarantined {summ.get('quarantined')})")
    rc, out, err = run(E + ['--db', wdb, 'sql', f'SELECT text, rating, created_at::VARCHAR AS t, author FROM "{src}"', '--json'], d)
    if rc != 0:
        return False, f'sql rc={rc}: {(err or out)[-200:]}; {info}', summ
    got = json.loads(out)['rows']
    rc2, dout, _ = run(E + ['--db', wdb, 'sql', f'DESCRIBE "{src}"', '--json'], d)
    types = {r[0]: r[1] for r in json.loads(dout)['rows']} if rc2 == 0 else {}
    miss_text = 0; bad_rating = 0; bad_time = 0; bad_author = 0
    for e in spec['rows']:
        if 'text' in e:
            m = [g for g in got if g[0] == e['text']]
        else:
            m = [g for g in got if g[0] and e['text_contains'] in g[0]
                 and (not e.get('text_contains2') or e['text_contains2'] in g[0])]
        if len(m) != 1:
            miss_text += 1; continue
        g = m[0]
        if 'rating' in spec['needs'] and (g[1] is None or float(g[1]) != float(e['rating'])):
            bad_rating += 1
        if 'time' in spec['needs'] and utc_date(g[2]) != e['date']:
            bad_time += 1
        if e.get('author') and g[3] != e['author']:
            bad_author += 1
    if miss_text:
        problems.append(f'{miss_text}/{n} texts missing or wrong')
    if bad_rating:
        problems.append(f'rating not recognised/wrong on {bad_rating} rows (detected rating={det.get("rating")})')
    if bad_time:
        problems.append(f'time not recognised/wrong on {bad_time} rows (detected time={det.get("time")})')
    if bad_author:
        problems.append(f'author wrong on {bad_author} rows (detected author={det.get("author")})')
    if 'time' in spec['needs'] and types and 'TIMESTAMP' not in str(types.get('created_at', '')).upper():
        problems.append(f"created_at type {types.get('created_at')}")
    return not problems, ('; '.join(problems) or 'all rows, texts, ratings/times right') + f' [{info}]', summ


def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--earful', required=True); ap.add_argument('--only')
    a = ap.parse_args(); E = shlex.split(a.earful)
    spec = json.load(open(os.path.join(EXPD, 'expected.json')))
    only = set(a.only.split(',')) if a.only else None
    ok_n = bad_n = 0
    for fname, s in spec.items():
        if only and fname not in only:
            continue
        d = tempfile.mkdtemp(prefix='exports-'); t0 = time.time()
        try:
            ok, why, _ = check(E, fname, s, d)
            v = 'held' if ok else 'failed'
        except Exception as e:
            v, why = 'error', f'harness: {type(e).__name__}: {str(e)[:150]}'
        finally:
            shutil.rmtree(d, ignore_errors=True)
        ok_n += v == 'held'; bad_n += v != 'held'
        print(f'X-{fname} {v:7} [{time.time() - t0:4.1f}s] {why}', flush=True)
    print(f'{ok_n} passed, {bad_n} failed')


if __name__ == '__main__':
    main()
