#!/usr/bin/env python3
"""Builds bench/probes/qa13_probes.jsonl: ~85 black-box questions of the kinds issue 13 names (two subjects compared,
multi-label values, coded values asked in plain words, constant columns, negations, earliest/latest dates, groups that
pass a condition, median / standard deviation, "last N months/weeks", "which year had the most ...", must-decline).
Written without reading the question engine. Every expected value is computed here from the raw files in
../shared/datasets with pandas + DuckDB SQL over the same rows Earful ingests (run_qa.py's file per dataset; the 96
WildBench outputs with an empty model_output are quarantined by the ingest, so they are left out here too).
Conventions: timestamps are UTC (CLAP date_ms is epoch ms; URR date is dd/mm/yy); text matches are literal,
case-insensitive substring tests; shares are asked "in percent" and expected as percentages; a standard deviation is
asked over large groups so population and sample agree within the tolerance (both are listed when they do not);
"last N months/weeks" is relative to the latest timestamp in the data and every reasonable reading (rolling window
from the latest timestamp, from its date, calendar months ending with the latest month) is an alternative.
Run: .venv/bin/python bench/probes/make_qa13.py [--show]
"""
from pathlib import Path
import json, os, sys
import duckdb, pandas as pd

D = Path(__file__).resolve().parents[3] / 'shared' / 'datasets'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qa13_probes.jsonl')
SHOW = '--show' in sys.argv

# ---- raw data, loaded with explicit typing
clap = pd.read_csv(D / 'clap_app_reviews/reviews.csv')
clap['ts'] = pd.to_datetime(clap.date_ms, unit='ms')  # UTC, naive
urr = pd.read_csv(D / 'urr_app_reviews/golden_set.csv', keep_default_na=False)
urr['ts'] = pd.to_datetime(urr.date, format='%d/%m/%y')  # README: dd/mm/yy
urr['low'] = urr.labels_low.map(lambda s: [x for x in s.split('|') if x])
urr['high'] = urr.labels_high.map(lambda s: [x for x in s.split('|') if x])
tiz = pd.read_csv(D / 'tizard_forum_posts/sentences.csv', keep_default_na=False)
wb = pd.read_json(D / 'wildbench_v2_critiques/critiques.jsonl', lines=True)[
    ['session_id', 'model', 'model_test', 'judge', 'score', 'strengths', 'weaknesses']]
wo = pd.read_json(D / 'wildbench_v2_critiques/model_outputs.jsonl.gz', lines=True)
wo = wo[wo.model_output.fillna('').str.strip() != ''].reset_index(drop=True)  # Earful quarantines the 96 empty ones
assert len(wo) == 8085, len(wo)
dis = pd.read_csv(D / 'disapere_peer_reviews/review_sentences.csv', keep_default_na=False)
drv = pd.read_json(D / 'disapere_peer_reviews/reviews.jsonl', lines=True)
shp = pd.read_json(D / 'shepherd_human_critiques/critiques.jsonl', lines=True)[
    ['id', 'source_dataset', 'critique', 'error_types', 'justification_score', 'relevance_score']]

con = duckdb.connect()
for name, df in [('clap', clap), ('urr', urr), ('tiz', tiz), ('wb', wb), ('wo', wo), ('dis', dis), ('drv', drv),
                 ('shp', shp)]:
    con.register(name, df)


def one(sql):
    v = con.sql(sql).fetchall()
    assert len(v) == 1 and len(v[0]) == 1, (sql, v)
    return v[0][0]


def rows(sql):
    return con.sql(sql).fetchall()


def top1(sql):
    """sql returns (key, metric) best first; asserts there is no tie for first place"""
    r = rows(sql)
    assert len(r) >= 1 and (len(r) == 1 or r[0][1] != r[1][1]), ('tie for first', sql, r[:3])
    return r[0][0]


def winner(a, b, va, vb, higher=True):
    assert va != vb, (a, b, va)
    return (a if va > vb else b) if higher else (a if va < vb else b)


def mention(df, col, s, mask=None):
    s = s.lower()
    t = df[col].fillna('').str.lower()
    m = t.map(lambda x: s in x)
    if mask is not None:
        m = m & mask
    return int(m.sum())


def date_alts(d):
    """spellings of a date for a `top` answer: 2009-05-29, May 29, 2009, 29 May 2009"""
    d = pd.Timestamp(d)
    return [d.strftime('%Y-%m-%d'), [f'{d:%B} {d.day}, {d.year}', f'{d.day} {d:%B} {d.year}', f'{d:%b} {d.day}, {d.year}']]


def rel_windows(df, months=None, weeks=None):
    """masks for 'the last N months/weeks' relative to the latest timestamp: rolling from the latest timestamp,
    from its date (inclusive / exclusive of the boundary day), and for months the N calendar months ending with the
    latest month"""
    L = df.ts.max()
    delta = pd.DateOffset(months=months) if months else pd.Timedelta(days=7 * weeks)
    start = L - delta
    day = (L.normalize() - delta)
    out = {'rolling from latest timestamp': df.ts >= start, 'from the boundary date': df.ts >= day,
           'after the boundary date': df.ts >= day + pd.Timedelta(days=1)}
    if months:
        cal = (L.normalize().replace(day=1) - pd.DateOffset(months=months - 1))
        out['calendar months ending with the latest'] = df.ts >= cal
    return L, out


Q = []


def add(id_, ds, question, kind, value, tol=0.0, tags=(), note='', alternatives=None):
    e = {'kind': kind, 'value': value, 'tolerance': tol}
    if alternatives:
        alternatives = [a for a in dict.fromkeys(alternatives) if a != value]
        if alternatives:
            e['alternatives'] = alternatives
    Q.append({'id': id_, 'dataset': ds, 'question': question, 'expect': e, 'tags': list(tags), 'note': note})
    if SHOW:
        print(id_, ds, question, '->', value, alternatives or '', '|', note)


r3 = lambda x: round(float(x), 3)
pct = lambda sql: r3(one(sql))

# ================= CLAP (source reviews, text = review; time = date_ms, UTC) =================
g, s = (one(f"SELECT avg(rating) FROM clap WHERE app_category = '{c}'") for c in ('GAME', 'SYSTEM'))
assert s > g
add('Q13-C01', 'clap', 'By how much does the average rating of SYSTEM apps exceed that of GAME apps?', 'scalar',
    r3(s - g), 0.01, tags=['compare', 'difference'], note=f'avg(rating) SYSTEM {s:.3f} - GAME {g:.3f}')
f_, p_ = (one(f"SELECT avg(rating) FROM clap WHERE category = '{c}'") for c in ('FEATURE', 'PERFORMANCE'))
add('Q13-C02', 'clap', 'Which gets the better average star rating, FEATURE reviews or PERFORMANCE reviews?', 'top',
    winner('FEATURE', 'PERFORMANCE', f_, p_), tags=['compare', 'winner'],
    note=f'avg(rating) FEATURE {f_:.3f}, PERFORMANCE {p_:.3f}')
a_, b_ = (one(f"SELECT 100.0 * avg((rating = 1)::INT) FROM clap WHERE app_category = '{c}'") for c in ('ENTERTAINMENT', 'WORK'))
add('Q13-C03', 'clap', 'ENTERTAINMENT vs WORK: which app category has the larger share of 1-star reviews?', 'top',
    winner('ENTERTAINMENT', 'WORK', a_, b_), tags=['compare', 'winner', 'share'],
    note=f'% of 1-star within category: ENTERTAINMENT {a_:.2f}, WORK {b_:.2f}')
n1, n2 = (one(f"SELECT count(*) FROM clap WHERE app_category = '{c}'") for c in ('GAME', 'WORK'))
add('Q13-C04', 'clap', 'How many times as many reviews does the GAME category have as the WORK category?', 'scalar',
    r3(n1 / n2), 0.05, tags=['compare', 'ratio'], note=f'{n1} / {n2}')
add('Q13-C05', 'clap', 'How many reviews raise security concerns?', 'scalar',
    one("SELECT count(*) FROM clap WHERE category = 'SECURITY'"), tags=['plain_word'],
    note="category = 'SECURITY' (the label, not a text search for 'security')")
add('Q13-C06', 'clap', 'What is the mean star rating of the performance complaints?', 'scalar',
    r3(one("SELECT avg(rating) FROM clap WHERE category = 'PERFORMANCE'")), 0.01, tags=['plain_word'],
    note="avg(rating) where category = 'PERFORMANCE'")
add('Q13-C07', 'clap', 'Leaving OTHER aside, which review category is the most common?', 'top',
    top1("SELECT category, count(*) n FROM clap WHERE category <> 'OTHER' GROUP BY 1 ORDER BY n DESC"),
    tags=['negation'], note="most frequent category among category <> 'OTHER'")
add('Q13-C08', 'clap', 'How many 5-star reviews come from app categories other than GAME?', 'scalar',
    one("SELECT count(*) FROM clap WHERE rating = 5 AND app_category <> 'GAME'"), tags=['negation'],
    note='a count of rows')
add('Q13-C09', 'clap', 'What is the average rating of all reviews except bug reports?', 'scalar',
    r3(one("SELECT avg(rating) FROM clap WHERE category <> 'BUG'")), 0.01, tags=['negation'],
    note="avg(rating) where category <> 'BUG'")
d0 = one('SELECT min(ts) FROM clap')
v, alts = date_alts(d0)
add('Q13-C10', 'clap', 'When was the oldest review written?', 'top', v, tags=['earliest_latest'], alternatives=alts,
    note=f'min(date_ms) as UTC = {d0}')
d1 = one("SELECT max(ts) FROM clap WHERE category = 'BUG'")
v, alts = date_alts(d1)
add('Q13-C11', 'clap', 'On what date was the most recent bug report posted?', 'top', v, tags=['earliest_latest'],
    alternatives=alts, note=f"max(ts) where category = 'BUG' = {d1} UTC")
add('Q13-C12', 'clap', 'How many app categories have an average rating above 3.6?', 'scalar',
    one("SELECT count(*) FROM (SELECT app_category FROM clap GROUP BY 1 HAVING avg(rating) > 3.6)"),
    tags=['having'], note=str(rows("SELECT app_category, round(avg(rating), 3) FROM clap GROUP BY 1 ORDER BY 2")))
add('Q13-C13', 'clap', 'How many apps have 20 or more reviews?', 'scalar',
    one("SELECT count(*) FROM (SELECT app FROM clap GROUP BY 1 HAVING count(*) >= 20)"), tags=['having'],
    note='apps (package names) with count(*) >= 20')
med = rows("SELECT median(rating), quantile_disc(rating, 0.5), count(*) FROM clap WHERE category = 'USABILITY'")[0]
assert float(med[0]) == float(med[1]), med
add('Q13-C14', 'clap', 'What is the median star rating of the usability reviews?', 'scalar', float(med[0]),
    tags=['median'], note=f'median over {med[2]} rows (interpolated and discrete medians agree)')
sd = rows("SELECT stddev_samp(rating), stddev_pop(rating), count(*) FROM clap WHERE category = 'BUG'")[0]
add('Q13-C15', 'clap', 'What is the standard deviation of the ratings given in bug reports?', 'scalar', r3(sd[0]),
    0.01, tags=['stddev'], alternatives=[r3(sd[1])], note=f'sample {sd[0]:.4f}, population {sd[1]:.4f}, n={sd[2]}')
L, ws = rel_windows(clap, months=3)
cnt = {k: int(m.sum()) for k, m in ws.items()}
add('Q13-C16', 'clap', 'How many reviews were posted in the last three months of the data?', 'scalar',
    cnt['rolling from latest timestamp'], tags=['relative_date'], alternatives=list(cnt.values()),
    note=f'latest {L}; counts per reading {cnt}')
L, ws = rel_windows(clap, weeks=4)
av = {k: r3(clap.rating[m].mean()) for k, m in ws.items()}
add('Q13-C17', 'clap', 'What was the average rating over the final 4 weeks?', 'scalar',
    av['rolling from latest timestamp'], 0.005, tags=['relative_date'], alternatives=list(av.values()),
    note=f'latest {L}; averages per reading {av}; n={ {k: int(m.sum()) for k, m in ws.items()} }')
add('Q13-C18', 'clap', 'In which year were the most bug reports filed?', 'top',
    str(top1("SELECT year(ts), count(*) n FROM clap WHERE category = 'BUG' GROUP BY 1 ORDER BY n DESC")),
    tags=['year_most'], note=str(rows("SELECT year(ts), count(*) FROM clap WHERE category = 'BUG' GROUP BY 1 ORDER BY 1")))
add('Q13-C19', 'clap', 'What is the average price of the apps reviewed?', 'decline', 'no price column',
    tags=['decline'])
add('Q13-C20', 'clap', 'Should the team fix crashes before building new features?', 'decline',
    'a judgement, not a question of the data', tags=['decline', 'interpretation'])

# ================= URR golden set (source reviews, text = review_text; labels_* are '|'-joined) =================
add('Q13-U01', 'urr', 'How many reviews carry the BATTERY label?', 'scalar',
    int(urr.low.map(lambda l: 'BATTERY' in l).sum()), tags=['multilabel'], note="'BATTERY' in labels_low.split('|')")
add('Q13-U02', 'urr', 'How many reviews were tagged as a privacy issue?', 'scalar',
    int(urr.low.map(lambda l: 'PRIVACY' in l).sum()), tags=['multilabel', 'plain_word'],
    note="'PRIVACY' in labels_low.split('|')")
add('Q13-U03', 'urr', 'What percentage of reviews have the UI label?', 'scalar',
    r3(100 * urr.low.map(lambda l: 'UI' in l).mean()), 0.1, tags=['multilabel', 'share'],
    note="share of items (of 1,584 reviews) with 'UI' in labels_low")
hi = urr.explode('high').high.value_counts()
add('Q13-U04', 'urr', 'Excluding OTHER, which high-level label appears most often?', 'top',
    hi.drop('OTHER').index[0], tags=['multilabel', 'negation'], note=str(hi.to_dict()))
lo = urr.explode('low').low.value_counts()
assert lo.iloc[2] != lo.iloc[3]
add('Q13-U05', 'urr', 'What are the 3 most common low-level labels?', 'topn',
    [[k, int(v)] for k, v in lo.head(3).items()], tags=['multilabel', 'topn'],
    note='labels_low exploded on |, count of reviews per label')
add('Q13-U06', 'urr', 'What is the average rating of reviews labelled MEMORY?', 'scalar',
    r3(urr.rating[urr.low.map(lambda l: 'MEMORY' in l)].mean()), 0.01, tags=['multilabel'],
    note="avg(rating) where 'MEMORY' in labels_low")
add('Q13-U07', 'urr', 'How many reviews did ARdoc classify as problem discovery?', 'scalar',
    one("SELECT count(*) FROM urr WHERE ardoc_label_auto = 'PROBLEM_DISCOVERY'"), tags=['plain_word'],
    note="ardoc_label_auto = 'PROBLEM_DISCOVERY'")
a_, b_ = (one(f"SELECT avg(rating) FROM urr WHERE app = '{x}'") for x in ('AcDisplay', 'Abstract Art'))
add('Q13-U08', 'urr', "What is the difference between AcDisplay's and Abstract Art's average ratings?", 'scalar',
    r3(abs(a_ - b_)), 0.01, tags=['compare', 'difference'], note=f'AcDisplay {a_:.3f}, Abstract Art {b_:.3f} (absolute difference)')
add('Q13-U09', 'urr', 'How many apps have a mean rating under 3.5?', 'scalar',
    one("SELECT count(*) FROM (SELECT app FROM urr GROUP BY 1 HAVING avg(rating) < 3.5)"), tags=['having'],
    note=str(rows("SELECT app, round(avg(rating), 2), count(*) FROM urr GROUP BY 1 HAVING avg(rating) < 3.5 ORDER BY 2")))
add('Q13-U10', 'urr', 'In which year did the most reviews arrive?', 'top',
    str(top1("SELECT year(ts), count(*) n FROM urr GROUP BY 1 ORDER BY n DESC")), tags=['year_most'],
    note=str(rows("SELECT year(ts), count(*) FROM urr GROUP BY 1 ORDER BY 1")))
m = top1("SELECT strftime(ts, '%Y-%m'), count(*) n FROM urr WHERE rating = 1 GROUP BY 1 ORDER BY n DESC")
mt = pd.Timestamp(m + '-01')
add('Q13-U11', 'urr', 'Which month saw the most 1-star reviews?', 'top', m, tags=['year_most', 'month'],
    alternatives=[f'{mt:%B} {mt.year}', f'{mt:%b} {mt.year}'],
    note=str(rows("SELECT strftime(ts, '%Y-%m'), count(*) n FROM urr WHERE rating = 1 GROUP BY 1 ORDER BY n DESC LIMIT 3")))
d0 = one("SELECT min(ts) FROM urr WHERE app = 'Duck Duck GO'")
v, alts = date_alts(d0)
add('Q13-U12', 'urr', 'When was the first Duck Duck GO review written?', 'top', v, tags=['earliest_latest'],
    alternatives=alts, note=f'min(date) for app Duck Duck GO = {d0}')
L, ws = rel_windows(urr, months=2)
cnt = {k: int(m.sum()) for k, m in ws.items()}
add('Q13-U13', 'urr', 'How many reviews came in during the last 2 months?', 'scalar',
    cnt['rolling from latest timestamp'], tags=['relative_date'], alternatives=list(cnt.values()),
    note=f'latest {L}; counts per reading {cnt}')
add('Q13-U14', 'urr', 'How many reviews of apps other than A Comic Viewer gave 1 star?', 'scalar',
    one("SELECT count(*) FROM urr WHERE app <> 'A Comic Viewer' AND rating = 1"), tags=['negation'],
    note='a count of rows')
med = rows("SELECT median(rating), quantile_disc(rating, 0.5), count(*) FROM urr WHERE app = 'Calculator'")[0]
assert float(med[0]) == float(med[1]), med
add('Q13-U15', 'urr', 'What is the median rating of Calculator reviews?', 'scalar', float(med[0]), tags=['median'],
    note=f'n={med[2]}')
add('Q13-U16', 'urr', 'How many of these reviewers uninstalled the app afterwards?', 'decline',
    'no column records uninstalls', tags=['decline'])

# ================= Tizard (source forum, text = sentence; no date, no rating) =================
a_, b_ = (one(f"SELECT count(*) FROM tiz WHERE product = '{p}' AND label = 'apparent bug'") for p in ('VLC', 'Firefox'))
add('Q13-T01', 'tizard', 'Which product has more apparent bug sentences, VLC or Firefox?', 'top',
    winner('VLC', 'Firefox', a_, b_), tags=['compare', 'winner'], note=f'VLC {a_}, Firefox {b_}')
a_, b_ = (one(f"SELECT count(*) FROM tiz WHERE product = '{p}' AND label = 'feature request'") for p in ('VLC', 'Firefox'))
add('Q13-T02', 'tizard', 'How many more feature request sentences does VLC have than Firefox?', 'scalar', a_ - b_,
    tags=['compare', 'difference'], note=f'VLC {a_} - Firefox {b_}')
add('Q13-T03', 'tizard', 'How many sentences praise the application?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE label = 'praise for application'"), tags=['plain_word'],
    note="label = 'praise for application' (not 'dispraise for application')")
add('Q13-T04', 'tizard', 'How many Firefox sentences are labelled anything but application guidance?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE product = 'Firefox' AND label <> 'application guidance'"), tags=['negation'])
add('Q13-T05', 'tizard', 'How many labels are used on fewer than 20 sentences?', 'scalar',
    one("SELECT count(*) FROM (SELECT label FROM tiz GROUP BY 1 HAVING count(*) < 20)"), tags=['having'],
    note="column label (20 values incl. 'invalid'); " + str(rows("SELECT label, count(*) FROM tiz GROUP BY 1 HAVING count(*) < 20")))
add('Q13-T06', 'tizard', "Apart from 'other', what is the most frequent label in the VLC forum?", 'top',
    top1("SELECT label, count(*) n FROM tiz WHERE product = 'VLC' AND label <> 'other' GROUP BY 1 ORDER BY n DESC"),
    tags=['negation'])
a_, b_ = (one(f"SELECT 100.0 * avg((label = 'help seeking')::INT) FROM tiz WHERE product = '{p}'") for p in ('Firefox', 'VLC'))
add('Q13-T07', 'tizard', "Is help seeking a bigger share of Firefox's sentences or of VLC's?", 'top',
    winner('Firefox', 'VLC', a_, b_), tags=['compare', 'winner', 'share'], note=f'% help seeking: Firefox {a_:.2f}, VLC {b_:.2f}')
add('Q13-T08', 'tizard', 'How many sentences were posted in 2018?', 'decline', 'the forum data has no date',
    tags=['decline'])
add('Q13-T09', 'tizard', 'Which Firefox release caused the most complaints?', 'decline', 'no version/release column',
    tags=['decline'])

# ================= WildBench critiques (source critiques, text = weaknesses; judge is constant) =================
mean = lambda m: one(f"SELECT avg(score) FROM wb WHERE model = '{m}'")
a_, b_ = mean('Qwen1.5-72B-Chat-greedy'), mean('gpt-3.5-turbo-0125')
add('Q13-W01', 'wildbench', "How much higher is Qwen1.5-72B-Chat-greedy's mean score than gpt-3.5-turbo-0125's?",
    'scalar', r3(a_ - b_), 0.01, tags=['compare', 'difference'], note=f'{a_:.4f} - {b_:.4f}')
a_, b_ = mean('reka-edge'), mean('Phi-3-mini-128k-instruct')
add('Q13-W02', 'wildbench', 'Which scores better on average: reka-edge or Phi-3-mini-128k-instruct?', 'top',
    winner('reka-edge', 'Phi-3-mini-128k-instruct', a_, b_), tags=['compare', 'winner'], note=f'{a_:.4f} vs {b_:.4f}')
sh = lambda m, cond: one(f"SELECT 100.0 * avg(({cond})::INT) FROM wb WHERE model = '{m}'")
a_, b_ = sh('gemma-2b-it', 'score <= 3'), sh('gemma-7b-it', 'score <= 3')
add('Q13-W03', 'wildbench', 'gemma-2b-it vs gemma-7b-it: which has the higher share of scores of 3 or below?', 'top',
    winner('gemma-2b-it', 'gemma-7b-it', a_, b_), tags=['compare', 'winner', 'share'], note=f'{a_:.2f}% vs {b_:.2f}%')
a_, b_ = sh('reka-core-20240501', 'score >= 8'), sh('reka-flash-20240226', 'score >= 8')
assert a_ > b_
add('Q13-W04', 'wildbench', 'By how many percentage points does reka-core-20240501 beat reka-flash-20240226 on the '
    'share of critiques scoring 8 or more?', 'scalar', r3(a_ - b_), 0.1, tags=['compare', 'difference', 'share'],
    note=f'{a_:.3f}% - {b_:.3f}%')
med = rows("SELECT median(score), quantile_disc(score, 0.5) FROM wb WHERE model = 'reka-core-20240501'")[0]
assert float(med[0]) == float(med[1])
add('Q13-W05', 'wildbench', 'What is the median score for reka-core-20240501?', 'scalar', float(med[0]), tags=['median'])
sd = rows("SELECT stddev_samp(score), stddev_pop(score), count(*) FROM wb WHERE model = 'gemma-2b-it'")[0]
add('Q13-W06', 'wildbench', "What's the standard deviation of gemma-2b-it's scores?", 'scalar', r3(sd[0]), 0.01,
    tags=['stddev'], alternatives=[r3(sd[1])], note=f'sample {sd[0]:.4f}, population {sd[1]:.4f}, n={sd[2]}')
sd = rows("SELECT stddev_samp(score), stddev_pop(score) FROM wb")[0]
add('Q13-W07', 'wildbench', 'How spread out are the scores overall? Give the standard deviation.', 'scalar',
    r3(sd[0]), 0.01, tags=['stddev'], alternatives=[r3(sd[1])], note=f'sample {sd[0]:.4f}, population {sd[1]:.4f}')
add('Q13-W08', 'wildbench', 'How many models have an average score above 6.5?', 'scalar',
    one("SELECT count(*) FROM (SELECT model FROM wb GROUP BY 1 HAVING avg(score) > 6.5)"), tags=['having'],
    note=str(rows("SELECT model, round(avg(score), 3) FROM wb GROUP BY 1 ORDER BY 2")))
add('Q13-W09', 'wildbench', 'How many sessions average below 4 across the models that answered them?', 'scalar',
    one("SELECT count(*) FROM (SELECT session_id FROM wb GROUP BY 1 HAVING avg(score) < 4)"), tags=['having'],
    note='session_id groups with avg(score) < 4')
add('Q13-W10', 'wildbench', 'How many critiques of models other than gemma-2b-it have a score below 4?', 'scalar',
    one("SELECT count(*) FROM wb WHERE model <> 'gemma-2b-it' AND score < 4"), tags=['negation'],
    note='a count of rows, not of models')
add('Q13-W11', 'wildbench', 'Excluding gemma-7b-it, what is the average score?', 'scalar',
    r3(one("SELECT avg(score) FROM wb WHERE model <> 'gemma-7b-it'")), 0.01, tags=['negation'])
add('Q13-W12', 'wildbench', 'How many critiques scored 9 or higher, leaving out the reka-core-20240501 ones?', 'scalar',
    one("SELECT count(*) FROM wb WHERE score >= 9 AND model <> 'reka-core-20240501'"), tags=['negation'])
add('Q13-W13', 'wildbench', 'What is the average score of gpt-4o-2024-05-13?', 'decline',
    'gpt-4o-2024-05-13 is the judge of every row, not a model being scored', tags=['decline', 'constant'])
add('Q13-W14', 'wildbench', 'Which has the higher mean score, gpt-4o or reka-core-20240501?', 'decline',
    'gpt-4o is the judge of every row', tags=['decline', 'constant'])
add('Q13-W15', 'wildbench', 'Is the judge biased against smaller models?', 'decline', 'interpretation',
    tags=['decline', 'interpretation'])

# ================= WildBench outputs (source outputs, text = model_output; 8,085 non-empty rows) =================
a_, b_ = (mention(wo, 'model_output', 'I apologize', wo.model == m) for m in ('gemma-7b-it', 'gpt-3.5-turbo-0125'))
add('Q13-O01', 'wildbench_outputs', 'Whose outputs say "I apologize" more often: gemma-7b-it or gpt-3.5-turbo-0125?',
    'top', winner('gemma-7b-it', 'gpt-3.5-turbo-0125', a_, b_), tags=['compare', 'winner', 'text'],
    note=f'case-insensitive substring: {a_} vs {b_}')
add('Q13-O02', 'wildbench_outputs', 'How many outputs from models other than reka-edge mention "as an AI"?', 'scalar',
    mention(wo, 'model_output', 'as an AI', wo.model != 'reka-edge'), tags=['negation', 'text'],
    note='case-insensitive substring over non-empty outputs')
per = wo.model.value_counts()
add('Q13-O03', 'wildbench_outputs', 'How many models have more than 1,010 outputs?', 'scalar', int((per > 1010).sum()),
    tags=['having'], note=f'non-empty outputs per model {per.to_dict()}')
add('Q13-O04', 'wildbench_outputs', 'Which of these answers did the users like best?', 'decline',
    'no user feedback on outputs', tags=['decline'])

# ================= DISAPERE sentences (source sentences, text = text; coded labels) =================
add('Q13-D01', 'disapere', 'How many sentences are about clarity?', 'scalar',
    one("SELECT count(*) FROM dis WHERE aspect = 'asp_clarity'"), tags=['plain_word'], note="aspect = 'asp_clarity'")
add('Q13-D02', 'disapere', 'How many negative sentences concern originality?', 'scalar',
    one("SELECT count(*) FROM dis WHERE polarity = 'pol_negative' AND aspect = 'asp_originality'"), tags=['plain_word'])
add('Q13-D03', 'disapere', 'What share of the sentences are requests, in percent?', 'scalar',
    pct("SELECT 100.0 * avg((review_action = 'arg_request')::INT) FROM dis"), 0.1, tags=['plain_word', 'share'],
    note="review_action = 'arg_request' over all 9,946 sentences")
add('Q13-D04', 'disapere', 'How many typo requests are there in the dev split?', 'scalar',
    one("SELECT count(*) FROM dis WHERE fine_review_action = 'arg-request_typo' AND split = 'dev'"), tags=['plain_word'])
a_, b_ = (one(f"SELECT count(*) FROM dis WHERE aspect = 'asp_replicability' AND polarity = '{p}'") for p in ('pol_negative', 'pol_positive'))
add('Q13-D05', 'disapere', 'How many more negative than positive sentences are there about replicability?', 'scalar',
    a_ - b_, tags=['compare', 'difference', 'plain_word'], note=f'negative {a_} - positive {b_}')
add('Q13-D06', 'disapere', 'In the test split, how many sentences are requests but not requests for experiments?',
    'scalar', one("SELECT count(*) FROM dis WHERE split = 'test' AND review_action = 'arg_request' "
                  "AND fine_review_action <> 'arg-request_experiment'"), tags=['negation', 'plain_word'])
add('Q13-D07', 'disapere', 'How many reviews have more than 40 sentences?', 'scalar',
    one("SELECT count(*) FROM (SELECT review_id FROM dis GROUP BY 1 HAVING count(*) > 40)"), tags=['having'],
    note='review_id groups with count(*) > 40')
a_, b_ = (one(f"SELECT 100.0 * avg((polarity = 'pol_negative')::INT) FROM dis WHERE aspect = '{x}'")
          for x in ('asp_soundness-correctness', 'asp_clarity'))
add('Q13-D08', 'disapere', 'Which aspect has a higher share of negative sentences, soundness-correctness or clarity?',
    'top', winner('soundness', 'clarity', a_, b_), tags=['compare', 'winner', 'plain_word'],
    note=f'% negative: soundness-correctness {a_:.2f}, clarity {b_:.2f}')
add('Q13-D09', 'disapere', 'Which reviewers were the most senior?', 'decline', 'no seniority column', tags=['decline'])

# ================= DISAPERE reviews (source reviews, text = text; rating) =================
a_, b_ = (one(f"SELECT avg(rating) FROM drv WHERE conference = '{c}'") for c in ('ICLR2019', 'ICLR2020'))
assert a_ > b_
add('Q13-R01', 'disapere_reviews', 'How much lower is the mean rating in ICLR2020 than in ICLR2019?', 'scalar',
    r3(a_ - b_), 0.01, tags=['compare', 'difference'], note=f'{a_:.4f} - {b_:.4f}')
med = rows("SELECT median(rating), quantile_disc(rating, 0.5) FROM drv WHERE conference = 'ICLR2019'")[0]
assert float(med[0]) == float(med[1])
add('Q13-R02', 'disapere_reviews', 'What is the median rating of the ICLR2019 reviews?', 'scalar', float(med[0]),
    tags=['median'])
sd = rows("SELECT stddev_samp(rating), stddev_pop(rating), count(*) FROM drv WHERE conference = 'ICLR2020'")[0]
add('Q13-R03', 'disapere_reviews', 'What is the standard deviation of ratings in ICLR2020?', 'scalar', r3(sd[0]),
    0.006, tags=['stddev'], alternatives=[r3(sd[1])], note=f'sample {sd[0]:.4f}, population {sd[1]:.4f}, n={sd[2]}')
add('Q13-R04', 'disapere_reviews', 'How many papers have an average rating of 7 or higher?', 'scalar',
    one("SELECT count(*) FROM (SELECT forum_id FROM drv GROUP BY 1 HAVING avg(rating) >= 7)"), tags=['having'],
    note='grouped by forum_id (same groups as title: 188 each)')
assert drv.forum_id.nunique() == drv.title.nunique() == drv.groupby(['forum_id', 'title']).ngroups
add('Q13-R05', 'disapere_reviews', 'How many reviews not written by AnonReviewer1 give a rating of 8 or more?', 'scalar',
    one("SELECT count(*) FROM drv WHERE reviewer <> 'AnonReviewer1' AND rating >= 8"), tags=['negation'])
a_, b_ = (one(f"SELECT avg(rating) FROM drv WHERE reviewer = '{r}'") for r in ('AnonReviewer1', 'AnonReviewer2'))
add('Q13-R06', 'disapere_reviews', 'Who gives higher ratings on average, AnonReviewer1 or AnonReviewer2?', 'top',
    winner('AnonReviewer1', 'AnonReviewer2', a_, b_), tags=['compare', 'winner'], note=f'{a_:.4f} vs {b_:.4f}')
add('Q13-R07', 'disapere_reviews', 'How confident were the reviewers on average?', 'decline',
    'no confidence column', tags=['decline'])

# ================= Shepherd (source critiques, text = critique; error_types is a JSON list) =================
et = shp.explode('error_types').error_types.value_counts()
has = lambda t: shp.error_types.map(lambda l: t in l)
add('Q13-S01', 'shepherd', 'How many critiques flag a Redundancy error?', 'scalar', int(has('Redundancy').sum()),
    tags=['multilabel'], note="'Redundancy' in error_types")
add('Q13-S02', 'shepherd', 'What is the most frequently cited error type?', 'top', et.index[0],
    tags=['multilabel'], note=str(et.to_dict()))
add('Q13-S03', 'shepherd', 'What percentage of critiques include Veracity among their error types?', 'scalar',
    r3(100 * has('Veracity').mean()), 0.1, tags=['multilabel', 'share'], note='share of items (of 1,317 critiques)')
add('Q13-S04', 'shepherd', 'What is the average relevance score of critiques that list an Arithmetic error?', 'scalar',
    r3(shp.relevance_score[has('Arithmetic')].mean()), 0.01, tags=['multilabel'])
add('Q13-S05', 'shepherd', 'How many critiques do not list Coherence and Deduction among their error types?', 'scalar',
    int((~has('Coherence and Deduction')).sum()), tags=['multilabel', 'negation'])
assert et.iloc[2] != et.iloc[3]
add('Q13-S06', 'shepherd', 'Which 3 error types occur most often, and in how many critiques?', 'topn',
    [[k, int(v)] for k, v in et.head(3).items()], tags=['multilabel', 'topn'])
a_, b_ = (one(f"SELECT avg(justification_score) FROM shp WHERE source_dataset = '{x}'") for x in ('PIQA', 'GSM8K'))
add('Q13-S07', 'shepherd', 'What is the gap between the average justification scores of PIQA and GSM8K critiques?',
    'scalar', r3(abs(a_ - b_)), 0.01, tags=['compare', 'difference'], note=f'PIQA {a_:.4f}, GSM8K {b_:.4f}')
med = rows("SELECT median(relevance_score), quantile_disc(relevance_score, 0.5) FROM shp")[0]
assert float(med[0]) == float(med[1])
add('Q13-S08', 'shepherd', "What's the median relevance score?", 'scalar', float(med[0]), tags=['median'])
sd = rows("SELECT stddev_samp(justification_score), stddev_pop(justification_score) FROM shp")[0]
add('Q13-S09', 'shepherd', 'What is the standard deviation of the justification score?', 'scalar', r3(sd[0]), 0.01,
    tags=['stddev'], alternatives=[r3(sd[1])], note=f'sample {sd[0]:.4f}, population {sd[1]:.4f}')
add('Q13-S10', 'shepherd', 'How many source datasets have fewer than 10 critiques?', 'scalar',
    one("SELECT count(*) FROM (SELECT source_dataset FROM shp GROUP BY 1 HAVING count(*) < 10)"), tags=['having'],
    note=str(rows("SELECT source_dataset, count(*) FROM shp GROUP BY 1 HAVING count(*) < 10")))
add('Q13-S11', 'shepherd', 'How many critiques from sources other than GSM8K have a relevance score of 1?', 'scalar',
    one("SELECT count(*) FROM shp WHERE source_dataset <> 'GSM8K' AND relevance_score = 1"), tags=['negation'])
add('Q13-S12', 'shepherd', 'Which annotator was the harshest?', 'decline', 'no annotator column', tags=['decline'])
add('Q13-S13', 'shepherd', 'Why do the candidate answers fail on GSM8K?', 'decline', 'interpretation',
    tags=['decline', 'interpretation'])

# trimmed to ~85 questions (computed above, left out of the set: kinds already covered by another probe)
DROP = {'Q13-C09', 'Q13-W07', 'Q13-W11', 'Q13-U06', 'Q13-S11', 'Q13-D04', 'Q13-S04', 'Q13-U14'}
Q = [q for q in Q if q['id'] not in DROP]
ids = [q['id'] for q in Q]
assert len(ids) == len(set(ids))
with open(OUT, 'w') as f:
    for q in Q:
        f.write(json.dumps(q, default=str) + '\n')
print(f'wrote {len(Q)} questions ({sum(q["expect"]["kind"] == "decline" for q in Q)} declines) to {OUT}')
