#!/usr/bin/env python3
"""Builds bench/probes/qa13b_probes.jsonl: a second, fresh probe set for the question kinds of issue 13.

Written by a tester who had not read the question engine, its tests, or the other qa13 probe set. Every expected
value is computed here from the raw files in ../shared/datasets with pandas + DuckDB SQL (shown inline), never
through Earful, over exactly the rows `run_qa.py` ingests (WildBench outputs: the 96 empty outputs are quarantined
by the ingest, and are left out here too). Conventions: CLAP `date_ms` is read as UTC; URR `date` is dd/mm/yy;
percentages are asked "in percent"; a "last N months/weeks" question lists every reasonable reading (rolling from
the latest timestamp, from the latest date, calendar months/ISO weeks counted back from the latest one) as
alternatives; a difference asked as "how much lower" also accepts the signed value.
Run: .venv/bin/python bench/probes/make_qa13b.py [--show]
"""
from pathlib import Path
import json, os, sys
import duckdb, pandas as pd

D = Path(__file__).resolve().parents[3] / 'shared' / 'datasets'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qa13b_probes.jsonl')
SHOW = '--show' in sys.argv

clap = pd.read_csv(D / 'clap_app_reviews/reviews.csv')
clap['ts'] = pd.to_datetime(clap['date_ms'], unit='ms')          # naive UTC
urr = pd.read_csv(D / 'urr_app_reviews/golden_set.csv', keep_default_na=False)
urr['d'] = pd.to_datetime(urr['date'], format='%d/%m/%y')
tiz = pd.read_csv(D / 'tizard_forum_posts/sentences.csv', keep_default_na=False)
dis = pd.read_csv(D / 'disapere_peer_reviews/review_sentences.csv', keep_default_na=False)
drv = pd.read_json(D / 'disapere_peer_reviews/reviews.jsonl', lines=True)
wb = pd.read_json(D / 'wildbench_v2_critiques/critiques.jsonl', lines=True).drop(columns=['extra_parsed_fields'])
wo = pd.read_json(D / 'wildbench_v2_critiques/model_outputs.jsonl.gz', lines=True)
wo = wo[wo['model_output'].fillna('').str.strip() != '']          # empty outputs are quarantined by the ingest
shp = pd.read_json(D / 'shepherd_human_critiques/critiques.jsonl', lines=True)
shp = shp[['id', 'source_dataset', 'critique', 'error_types', 'justification_score', 'relevance_score']]
# URR multi-label columns as lists
urr['low'] = urr['labels_low'].map(lambda s: [x for x in s.split('|') if x])
urr['high'] = urr['labels_high'].map(lambda s: [x for x in s.split('|') if x])
assert len(clap) == 3000 and len(urr) == 1584 and len(tiz) == 3810 and len(dis) == 9946 and len(drv) == 506
assert len(wb) == 8181 and len(shp) == 1317 and wb['judge'].nunique() == 1

con = duckdb.connect()
for name, df in [('clap', clap), ('urr', urr), ('tiz', tiz), ('dis', dis), ('drv', drv), ('wb', wb), ('wo', wo),
                 ('shp', shp)]:
    con.register(name, df)


def one(sql):
    v = con.sql(sql).fetchall()
    assert len(v) == 1 and len(v[0]) == 1, (sql, v)
    return v[0][0]


def rows(sql):
    return con.sql(sql).fetchall()


def top1(sql):
    """sql returns (key, metric) best first; asserts no tie for first place"""
    r = rows(sql)
    assert len(r) >= 1 and (len(r) == 1 or r[0][1] != r[1][1]), ('tie for first', sql, r[:3])
    return r[0][0]


r3 = lambda x: round(float(x), 3)
Q = []


def add(id_, ds, question, kind, value, tol=0.0, tags=(), note='', alternatives=None):
    e = {'kind': kind, 'value': value, 'tolerance': tol}
    alternatives = [a for a in (alternatives or []) if a != value]
    if alternatives:
        e['alternatives'] = sorted(set(alternatives), key=str)
    Q.append({'id': id_, 'dataset': ds, 'question': question, 'expect': e, 'tags': list(tags), 'note': note})
    if SHOW:
        print(id_, ds, question, '->', value, e.get('alternatives', ''), note)


MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October',
          'November', 'December']


def day_forms(ts):
    ts = pd.Timestamp(ts)
    m = MONTHS[ts.month - 1]
    return ts.strftime('%Y-%m-%d'), [f'{m} {ts.day}, {ts.year}', f'{ts.day} {m} {ts.year}']


def month_forms(ym):
    y, m = ym.split('-')
    return ym, [f'{MONTHS[int(m) - 1]} {y}', f'{MONTHS[int(m) - 1][:3]} {y}']


def last_months(tbl, col, n, where='TRUE', agg='count(*)'):
    """every reasonable reading of 'the last n months' relative to the latest value of col in tbl (all rows)"""
    mx = pd.Timestamp(one(f'SELECT max({col}) FROM {tbl}'))
    starts = {mx - pd.DateOffset(months=n), mx.normalize() - pd.DateOffset(months=n),
              (mx.normalize() - pd.DateOffset(months=n)) + pd.Timedelta(days=1),
              mx.normalize().replace(day=1) - pd.DateOffset(months=n - 1)}
    vals = [one(f"SELECT {agg} FROM {tbl} WHERE {where} AND {col} >= TIMESTAMP '{s}'") for s in sorted(starts)]
    return vals[0], vals, mx


def last_weeks(tbl, col, n, where='TRUE', agg='count(*)'):
    mx = pd.Timestamp(one(f'SELECT max({col}) FROM {tbl}'))
    day = mx.normalize()
    starts = {mx - pd.Timedelta(weeks=n), day - pd.Timedelta(weeks=n), day - pd.Timedelta(weeks=n) + pd.Timedelta(days=1),
              day - pd.Timedelta(days=day.weekday()) - pd.Timedelta(weeks=n - 1)}
    vals = [one(f"SELECT {agg} FROM {tbl} WHERE {where} AND {col} >= TIMESTAMP '{s}'") for s in sorted(starts)]
    return vals[0], vals, mx


# ============ two subjects compared ============
a = one("SELECT avg(score) FROM wb WHERE model = 'Qwen1.5-72B-Chat-greedy'")
b = one("SELECT avg(score) FROM wb WHERE model = 'gemma-7b-it'")
add('B-CMP1', 'wildbench', "By how many points does Qwen1.5-72B-Chat-greedy's mean score beat gemma-7b-it's?",
    'scalar', r3(a - b), 0.01, ['compare'], f'avg {a:.3f} - {b:.3f}')
add('B-CMP2', 'clap', 'Which gets the better average rating: the GAME category or the SYSTEM category?', 'top',
    top1("SELECT app_category, avg(rating) a FROM clap WHERE app_category IN ('GAME','SYSTEM') GROUP BY 1 ORDER BY a DESC"),
    tags=['compare'], note=str(rows("SELECT app_category, avg(rating) FROM clap WHERE app_category IN ('GAME','SYSTEM') GROUP BY 1")))
a = one("SELECT avg(rating) FROM urr WHERE app = 'Calculator'")
b = one("SELECT avg(rating) FROM urr WHERE app = 'CatLog'")
add('B-CMP3', 'urr', 'How much lower is the average rating of CatLog than that of Calculator?', 'scalar',
    r3(a - b), 0.01, ['compare'], f'Calculator {a:.3f}, CatLog {b:.3f}', alternatives=[r3(b - a)])
a = one("SELECT avg(rating) FROM drv WHERE conference = 'ICLR2020'")
b = one("SELECT avg(rating) FROM drv WHERE conference = 'ICLR2019'")
add('B-CMP4', 'disapere_reviews', 'What is the ratio of the mean rating of ICLR2020 reviews to that of ICLR2019 reviews?',
    'scalar', r3(a / b), 0.01, ['compare'], f'{a:.3f} / {b:.3f}')
add('B-CMP5', 'shepherd', 'GSM8K vs PIQA: which source has the higher average relevance score?', 'top',
    top1("SELECT source_dataset, avg(relevance_score) a FROM shp WHERE source_dataset IN ('GSM8K','PIQA') GROUP BY 1 ORDER BY a DESC"),
    tags=['compare'], note=str(rows("SELECT source_dataset, avg(relevance_score) FROM shp WHERE source_dataset IN ('GSM8K','PIQA') GROUP BY 1")))
add('B-CMP6', 'tizard', 'Is the share of apparent bug sentences larger for VLC or for Firefox?', 'top',
    top1("SELECT product, avg((label = 'apparent bug')::INT) s FROM tiz GROUP BY 1 ORDER BY s DESC"), tags=['compare'],
    note=str(rows("SELECT product, avg((label = 'apparent bug')::INT) FROM tiz GROUP BY 1")))

# ============ values inside multi-label columns ============
add('B-ML1', 'urr', 'How many reviews have BATTERY among their low-level labels?', 'scalar',
    int(urr['low'].map(lambda l: 'BATTERY' in l).sum()), tags=['multilabel'])
add('B-ML2', 'urr', 'What percentage of reviews carry the PRIVACY label in labels_low, in percent of reviews?', 'scalar',
    r3(100 * urr['low'].map(lambda l: 'PRIVACY' in l).mean()), 0.05, ['multilabel', 'share'])
ex = urr[urr['rating'] == 1].explode('high')
vc = ex['high'].value_counts()
assert vc.iloc[0] != vc.iloc[1]
add('B-ML3', 'urr', 'Which high-level label shows up most often in 1-star reviews?', 'top', vc.index[0],
    tags=['multilabel'], note=str(vc.head(3).to_dict()))
add('B-ML4', 'shepherd', 'How many critiques flag Veracity as one of their error types?', 'scalar',
    int(shp['error_types'].map(lambda l: 'Veracity' in l).sum()), tags=['multilabel'])
add('B-ML5', 'shepherd', 'What is the average justification score of critiques whose error types include Redundancy?',
    'scalar', r3(shp[shp['error_types'].map(lambda l: 'Redundancy' in l)]['justification_score'].mean()), 0.01,
    ['multilabel'])
vc = shp[shp['source_dataset'] == 'PIQA'].explode('error_types')['error_types'].value_counts()
assert vc.iloc[0] != vc.iloc[1]
add('B-ML6', 'shepherd', 'Which error type is cited most in PIQA critiques?', 'top', vc.index[0],
    tags=['multilabel'], note=str(vc.head(3).to_dict()))

# ============ coded values asked in plain words ============
add('B-PW1', 'disapere', 'How many sentences are about originality?', 'scalar',
    one("SELECT count(*) FROM dis WHERE aspect = 'asp_originality'"), tags=['plain_word'])
add('B-PW2', 'disapere', 'What share of sentences are positive, in percent?', 'scalar',
    r3(one("SELECT 100.0 * avg((polarity = 'pol_positive')::INT) FROM dis")), 0.05, ['plain_word', 'share'])
add('B-PW3', 'disapere', 'Among the sentences about soundness, how many are negative?', 'scalar',
    one("SELECT count(*) FROM dis WHERE aspect = 'asp_soundness-correctness' AND polarity = 'pol_negative'"),
    tags=['plain_word'])
add('B-PW4', 'disapere', 'How many sentences ask the authors to fix typos?', 'scalar',
    one("SELECT count(*) FROM dis WHERE fine_review_action = 'arg-request_typo'"), tags=['plain_word'])
add('B-PW5', 'disapere', 'How many social sentences are there?', 'scalar',
    one("SELECT count(*) FROM dis WHERE review_action = 'arg_social'"), tags=['plain_word'])
add('B-PW6', 'urr', 'How many reviews did ARdoc mark as feature requests?', 'scalar',
    one("SELECT count(*) FROM urr WHERE ardoc_label_auto = 'FEATURE_REQUEST'"), tags=['plain_word'])

# ============ constant column used as a subject (judge is gpt-4o-2024-05-13 on every row) ============
add('B-K1', 'wildbench', 'How does gpt-4o-2024-05-13 compare with reka-edge on average score?', 'decline',
    'judge of every row, not a judged model', tags=['constant'])
add('B-K2', 'wildbench', "What share of gpt-4o-2024-05-13's responses scored 9 or more?", 'decline',
    'judge of every row', tags=['constant'])
add('B-K3', 'wildbench', 'What is the median score that gpt-4o-2024-05-13 received?', 'decline',
    'judge of every row', tags=['constant'])
add('B-K4', 'wildbench', 'How many times did gpt-4o-2024-05-13 get a score below 3?', 'decline',
    'judge of every row', tags=['constant'])
add('B-K5', 'wildbench', 'Which is better by average score, gpt-4o-2024-05-13 or gemma-2b-it?', 'decline',
    'judge of every row', tags=['constant'])

# ============ negation ============
add('B-NEG1', 'wildbench', 'How many critiques of models other than gemma-2b-it scored 3 or less?', 'scalar',
    one("SELECT count(*) FROM wb WHERE model <> 'gemma-2b-it' AND score <= 3"), tags=['negation'],
    note='a count of rows')
add('B-NEG2', 'clap', 'Apart from the GAME category, how many reviews are 1-star?', 'scalar',
    one("SELECT count(*) FROM clap WHERE app_category <> 'GAME' AND rating = 1"), tags=['negation'])
add('B-NEG3', 'tizard', 'How many Firefox sentences have any label except other?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE product = 'Firefox' AND label <> 'other'"), tags=['negation'])
add('B-NEG4', 'shepherd', 'What is the average relevance score, excluding GSM8K critiques?', 'scalar',
    r3(one("SELECT avg(relevance_score) FROM shp WHERE source_dataset <> 'GSM8K'")), 0.01, ['negation'])
add('B-NEG5', 'urr', 'How many reviews of apps other than A Comic Viewer have a rating of 2 or below?', 'scalar',
    one("SELECT count(*) FROM urr WHERE app <> 'A Comic Viewer' AND rating <= 2"), tags=['negation'])
add('B-NEG6', 'disapere_reviews', 'What is the average rating of all reviews except those by AnonReviewer1?', 'scalar',
    r3(one("SELECT avg(rating) FROM drv WHERE reviewer <> 'AnonReviewer1'")), 0.01, ['negation'])

# ============ earliest / latest ============
v, alts = day_forms(one('SELECT min(ts) FROM clap'))
add('B-EL1', 'clap', 'When was the earliest review posted?', 'top', v, tags=['earliest_latest'], alternatives=alts)
v, alts = day_forms(one('SELECT max(ts) FROM clap WHERE rating = 1'))
add('B-EL2', 'clap', 'What is the date of the most recent 1-star review?', 'top', v, tags=['earliest_latest'],
    alternatives=alts)
v, alts = day_forms(one("SELECT min(d) FROM urr WHERE app = 'AcDisplay'"))
add('B-EL3', 'urr', 'When did the first AcDisplay review come in?', 'top', v, tags=['earliest_latest'],
    alternatives=alts)
v, alts = day_forms(one("SELECT max(d) FROM urr WHERE app = 'Duck Duck GO'"))
add('B-EL4', 'urr', 'What is the latest date on which a Duck Duck GO review was written?', 'top', v,
    tags=['earliest_latest'], alternatives=alts)
v, alts = day_forms(one("SELECT max(ts) FROM clap WHERE app_category = 'GAME'"))
add('B-EL5', 'clap', 'When was the newest review in the GAME category written?', 'top', v, tags=['earliest_latest'],
    alternatives=alts)

# ============ groups passing a condition ============
add('B-HV1', 'urr', 'How many apps average below 3 stars?', 'scalar',
    one("SELECT count(*) FROM (SELECT app FROM urr GROUP BY 1 HAVING avg(rating) < 3)"), tags=['having'])
add('B-HV2', 'clap', 'How many app categories have an average rating above 3.5?', 'scalar',
    one("SELECT count(*) FROM (SELECT app_category FROM clap GROUP BY 1 HAVING avg(rating) > 3.5)"), tags=['having'],
    note=str(rows("SELECT app_category, avg(rating) FROM clap GROUP BY 1")))
add('B-HV3', 'wildbench', 'Which models have an average score above 7?', 'table',
    {k: r3(v) for k, v in rows("SELECT model, avg(score) FROM wb GROUP BY 1 HAVING avg(score) > 7")}, 0.01,
    ['having'])
add('B-HV4', 'tizard', 'Which labels have more than 300 sentences?', 'table',
    {k: v for k, v in rows("SELECT label, count(*) FROM tiz GROUP BY 1 HAVING count(*) > 300")}, tags=['having'])
add('B-HV5', 'disapere_reviews', 'How many reviewers wrote more than 100 reviews?', 'scalar',
    one("SELECT count(*) FROM (SELECT reviewer FROM drv GROUP BY 1 HAVING count(*) > 100)"), tags=['having'],
    note='reviewer is AnonReviewerN as published')
add('B-HV6', 'shepherd', 'Which source datasets have an average justification score under 2?', 'table',
    {k: r3(v) for k, v in rows("SELECT source_dataset, avg(justification_score) FROM shp GROUP BY 1 HAVING avg(justification_score) < 2")},
    0.01, ['having'])

# ============ median / standard deviation ============
add('B-MED1', 'disapere_reviews', 'What is the median rating of ICLR2019 reviews?', 'scalar',
    float(one("SELECT median(rating) FROM drv WHERE conference = 'ICLR2019'")), 0.0, ['median'])
add('B-MED2', 'clap', "What's the median star rating for BUG reviews?", 'scalar',
    float(one("SELECT median(rating) FROM clap WHERE category = 'BUG'")), 0.0, ['median'])
add('B-MED3', 'shepherd', 'What is the median relevance score of PIQA critiques?', 'scalar',
    float(one("SELECT median(relevance_score) FROM shp WHERE source_dataset = 'PIQA'")), 0.0, ['median'])
add('B-SD1', 'wildbench', "What is the population standard deviation of gemma-2b-it's scores?", 'scalar',
    r3(one("SELECT stddev_pop(score) FROM wb WHERE model = 'gemma-2b-it'")), 0.01, ['stddev'],
    alternatives=[r3(one("SELECT stddev_samp(score) FROM wb WHERE model = 'gemma-2b-it'"))])
add('B-SD2', 'clap', 'How much do ratings vary in the GAME category (standard deviation)?', 'scalar',
    r3(one("SELECT stddev_samp(rating) FROM clap WHERE app_category = 'GAME'")), 0.01, ['stddev'],
    alternatives=[r3(one("SELECT stddev_pop(rating) FROM clap WHERE app_category = 'GAME'"))])
add('B-SD3', 'disapere_reviews', 'What is the standard deviation of review ratings?', 'scalar',
    r3(one('SELECT stddev_samp(rating) FROM drv')), 0.01, ['stddev'],
    alternatives=[r3(one('SELECT stddev_pop(rating) FROM drv'))])

# ============ relative periods (relative to the data's latest date) ============
v, vals, mx = last_months('clap', 'ts', 3)
add('B-REL1', 'clap', 'How many reviews were posted in the last 3 months of the data?', 'scalar', v,
    tags=['relative_date'], alternatives=vals, note=f'latest {mx}; readings {vals}')
v, vals, mx = last_months('urr', 'd', 6)
add('B-REL2', 'urr', 'How many reviews came in during the last six months?', 'scalar', v, tags=['relative_date'],
    alternatives=vals, note=f'latest {mx}; readings {vals}')
v, vals, mx = last_weeks('clap', 'ts', 2, agg='avg(rating)')
add('B-REL3', 'clap', 'What was the average rating over the last 2 weeks?', 'scalar', r3(v), 0.01,
    ['relative_date'], alternatives=[r3(x) for x in vals], note=f'latest {mx}; readings {vals}')
v, vals, mx = last_months('urr', 'd', 12, where='rating = 1')
add('B-REL4', 'urr', 'How many 1-star reviews were written in the past 12 months?', 'scalar', v,
    tags=['relative_date'], alternatives=vals, note=f'latest {mx}; readings {vals}')
v, vals, mx = last_weeks('clap', 'ts', 4, where="category = 'BUG'")
add('B-REL5', 'clap', 'How many bug reports were posted in the last 4 weeks?', 'scalar', v, tags=['relative_date'],
    alternatives=vals, note=f'latest {mx}; readings {vals}')

# ============ which year / month had the most ============
add('B-YM1', 'clap', 'Which year saw the largest number of 1-star reviews?', 'top',
    str(top1("SELECT year(ts) y, count(*) n FROM clap WHERE rating = 1 GROUP BY 1 ORDER BY n DESC")), tags=['year_most'])
v, alts = month_forms(top1("SELECT strftime(d, '%Y-%m') m, count(*) n FROM urr GROUP BY 1 ORDER BY n DESC"))
add('B-YM2', 'urr', 'Which month had the most reviews?', 'top', v, tags=['year_most'], alternatives=alts)
add('B-YM3', 'urr', 'In which year did AcDisplay get the most reviews?', 'top',
    str(top1("SELECT year(d) y, count(*) n FROM urr WHERE app = 'AcDisplay' GROUP BY 1 ORDER BY n DESC")),
    tags=['year_most'])
v, alts = month_forms(top1("SELECT strftime(ts, '%Y-%m') m, count(*) n FROM clap WHERE category = 'BUG' AND year(ts) = 2013 GROUP BY 1 ORDER BY n DESC"))
add('B-YM4', 'clap', 'Which month of 2013 had the most bug reports?', 'top', v, tags=['year_most'], alternatives=alts)
add('B-YM5', 'urr', 'Which year had the highest average rating?', 'top',
    str(top1("SELECT year(d) y, avg(rating) a FROM urr GROUP BY 1 ORDER BY a DESC")), tags=['year_most'],
    note='a measure is named: rank by average, not by count; ' + str(rows("SELECT year(d), avg(rating), count(*) FROM urr GROUP BY 1 ORDER BY 1")))

# ============ shares by group ============
add('B-SH1', 'clap', "What percentage of each app category's reviews are 1-star?", 'table',
    {k: r3(v) for k, v in rows("SELECT app_category, 100.0 * avg((rating = 1)::INT) FROM clap GROUP BY 1")}, 0.1,
    ['share_group'])
add('B-SH2', 'tizard', 'For each product, what share of its sentences are feature requests, in percent?', 'table',
    {k: r3(v) for k, v in rows("SELECT product, 100.0 * avg((label = 'feature request')::INT) FROM tiz GROUP BY 1")},
    0.1, ['share_group'])
add('B-SH3', 'wildbench', "What percent of each model's critiques scored 8 or higher?", 'table',
    {k: r3(v) for k, v in rows("SELECT model, 100.0 * avg((score >= 8)::INT) FROM wb GROUP BY 1")}, 0.1,
    ['share_group'])
add('B-SH4', 'disapere', 'For each split, what percentage of sentences have negative polarity?', 'table',
    {k: r3(v) for k, v in rows("SELECT split, 100.0 * avg((polarity = 'pol_negative')::INT) FROM dis GROUP BY 1")},
    0.1, ['share_group'])
add('B-SH5', 'shepherd', 'What share of all critiques does each source dataset account for, in percent?', 'table',
    {k: r3(v) for k, v in rows("SELECT source_dataset, 100.0 * count(*) / (SELECT count(*) FROM shp) FROM shp GROUP BY 1")},
    0.1, ['share_group'])

# ============ must decline ============
add('B-DEC1', 'clap', 'Which app has the most frustrated users?', 'decline', 'interpretation, no frustration measure',
    tags=['decline'])
add('B-DEC2', 'urr', 'How many reviews were written by paying customers?', 'decline', 'no purchase column',
    tags=['decline'])
add('B-DEC3', 'tizard', 'How many threads were answered by a moderator within a day?', 'decline',
    'no thread or time columns', tags=['decline'])
add('B-DEC4', 'wildbench', 'Which model costs the least per token?', 'decline', 'no cost column', tags=['decline'])
add('B-DEC5', 'disapere_reviews', 'Which paper is most likely to be accepted?', 'decline',
    'interpretation, no decision column', tags=['decline'])
add('B-DEC6', 'shepherd', 'What is the average score of the critiques?', 'decline',
    'ambiguous: justification_score or relevance_score', tags=['decline'])
add('B-DEC7', 'disapere', 'How many sentences did each annotator label?', 'decline',
    'the sentence file has no annotator column', tags=['decline'])
add('B-DEC8', 'wildbench_outputs', 'Which model writes the most helpful answers?', 'decline',
    'interpretation; the outputs source has no score', tags=['decline'])
add('B-DEC9', 'clap', 'How did ratings change after the price increase?', 'decline', 'no price data', tags=['decline'])

# one more compare on the outputs source, so every dataset is covered
a = int(wo[wo['model'] == 'gemma-2b-it']['model_output'].str.lower().str.contains('i cannot', regex=False).sum())
b = int(wo[wo['model'] == 'gemma-7b-it']['model_output'].str.lower().str.contains('i cannot', regex=False).sum())
assert a != b
add('B-CMP7', 'wildbench_outputs', 'Which model says "I cannot" in more of its outputs, gemma-2b-it or gemma-7b-it?', 'top',
    'gemma-2b-it' if a > b else 'gemma-7b-it', tags=['compare', 'text'], note=f'2b {a}, 7b {b} ("I cannot", case-insensitive substring)')

ids = [q['id'] for q in Q]
assert len(ids) == len(set(ids))
with open(OUT, 'w') as f:
    for q in Q:
        f.write(json.dumps(q, default=str) + '\n')
print(f'wrote {len(Q)} questions ({sum(q["expect"]["kind"] == "decline" for q in Q)} must-decline) to {OUT}')
