#!/usr/bin/env python3
"""Blind QA probes S6B: computes every expected answer from the raw files in /work/shared/datasets and writes
qa_s6b_probes.jsonl (the format of /work/shared/eval/dev_qa.jsonl, scored by /work/shared/eval/run_qa.py).

Conventions (also stated per probe in `note`):
  * timestamps are UTC (CLAP `date_ms` is epoch milliseconds; URR `date` is dd/mm/yy, a day, read as UTC midnight);
  * shares are percentages (0-100) with a tolerance that covers rounding to one decimal;
  * averages have a tolerance that covers rounding to two decimals;
  * "mentions a word" counts case-insensitive substring matches; the whole-word count is given as an alternative,
    and a tolerance of a few items is allowed;
  * no dataset used here has rows with empty text (checked below), so no ingest rejection is expected; the
    counts assume every row of each file is ingested (none is a duplicate on its id; CLAP has 12 rows that repeat
    another row in every column but `id`, so they are distinct records).
Run: /work/main/.venv/bin/python bench/probes/make_qa_s6b.py
"""
import json
import os
import re

import pandas as pd

D = '/work/shared/datasets'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qa_s6b_probes.jsonl')

clap = pd.read_csv(f'{D}/clap_app_reviews/reviews.csv', keep_default_na=False)
clap['t'] = pd.to_datetime(clap.date_ms, unit='ms', utc=True)
urr = pd.read_csv(f'{D}/urr_app_reviews/golden_set.csv', keep_default_na=False)
urr['t'] = pd.to_datetime(urr.date, format='%d/%m/%y', utc=True)
urr['low'] = urr.labels_low.map(lambda s: set(s.split('|')) if s else set())
urr['high'] = urr.labels_high.map(lambda s: set(s.split('|')) if s else set())
tiz = pd.read_csv(f'{D}/tizard_forum_posts/sentences.csv', keep_default_na=False)
wb = pd.read_json(f'{D}/wildbench_v2_critiques/critiques.jsonl', lines=True)
shep = pd.read_json(f'{D}/shepherd_human_critiques/critiques.jsonl', lines=True)
dsent = pd.read_csv(f'{D}/disapere_peer_reviews/review_sentences.csv', keep_default_na=False)
drev = pd.read_json(f'{D}/disapere_peer_reviews/reviews.jsonl', lines=True)

# ingest sanity: no empty texts, no duplicate ids
assert (clap.review.str.strip() == '').sum() == 0 and not clap.id.duplicated().any()
assert (urr.review_text.str.strip() == '').sum() == 0 and not urr.review_id.duplicated().any()
assert (tiz.sentence.str.strip() == '').sum() == 0 and not tiz.id.duplicated().any()
assert (wb.weaknesses.str.strip() == '').sum() == 0
assert (shep.critique.str.strip() == '').sum() == 0 and not shep.id.duplicated().any()
assert (dsent.text.str.strip() == '').sum() == 0
assert (drev.text.str.strip() == '').sum() == 0

Q = []


def add(ds, question, kind, value, note, tol=0.0, alts=None, tags=None):
    exp = {'kind': kind, 'value': value, 'tolerance': tol}
    if alts:
        exp['alternatives'] = [a for a in dict.fromkeys(alts) if a != value]
    q = {'id': f'S6B{len(Q) + 1:02d}', 'dataset': ds, 'question': question, 'expect': exp, 'note': note}
    if tags:
        q['tags'] = tags
    Q.append(q)


def r(x, n=3):
    return round(float(x), n)


def mention(series, word):
    s = series.str.lower()
    sub = int(s.str.contains(word.lower(), regex=False).sum())
    whole = int(s.str.contains(r'\b' + re.escape(word.lower()) + r'\b', regex=True).sum())
    return sub, whole


# ---------------------------------------------------------------- CLAP (reviews.csv, 3,000 rows)
c = clap
n = int(((c.category == 'BUG') & (c.rating == 1) & (c.app_category == 'GAME')).sum())
add('clap', 'how many 1-star bug reports are there for GAME apps?', 'scalar', n,
    'count: category=BUG and rating=1 and app_category=GAME', tags=['count3'])

v = c[(c.app_category == 'GAME') & (c.t.dt.year == 2014)].rating.mean()
add('clap', 'avg rating GAME apps 2014', 'scalar', r(v), 'mean rating, app_category=GAME, year(date_ms UTC)=2014; tol 0.01',
    tol=0.01, tags=['avg', 'time'])

v = c[c.category == 'ENERGY'].rating.median()
add('clap', 'Give me the median star rating of the energy complaints', 'scalar', float(v),
    'median rating where category=ENERGY (106 rows, even count: median of 2 and 3 = 2.5)', tags=['median'])

v = 100 * (c.category == 'FEATURE').mean()
add('clap', 'what percent of all reviews are feature requests?', 'scalar', r(v, 2),
    'share of category=FEATURE among all 3,000 reviews, percent; tol 0.06', tol=0.06, tags=['share'])

top = c.app.value_counts()
assert top.iloc[0] > top.iloc[1]
add('clap', 'Which app got the most reviews?', 'top', top.index[0],
    f'app (package name) with most rows: {top.index[0]} {top.iloc[0]} vs next {top.iloc[1]}', tags=['top'])

dv = c[c.device != '?'].device.value_counts().head(3)
add('clap', "Show the top 3 devices by number of reviews, leaving out the unknown '?' device",
    'topn', [[k, int(x)] for k, x in dv.items()], "device value counts excluding '?', top 3", tags=['topn', 'negation'])

n = int(((c.t.dt.year == 2013) & (c.t.dt.month == 12)).sum())
add('clap', 'How many reviews were posted in December 2013?', 'scalar', n, 'count, date_ms in 2013-12 (UTC)', tags=['time'])

n = int(((c.t.dt.year == 2014) & (c.t.dt.quarter == 1)).sum())
add('clap', 'number of reviews in Q1 2014', 'scalar', n, 'count, date_ms UTC in 2014-01-01..2014-03-31', tags=['time'])

m = (c.t >= pd.Timestamp('2013-11-01', tz='UTC')) & (c.t < pd.Timestamp('2014-02-01', tz='UTC'))
n = int(m.sum())
m2 = (c.t >= pd.Timestamp('2013-11-01', tz='UTC')) & (c.t < pd.Timestamp('2014-01-31', tz='UTC'))
add('clap', 'reviews between 1 Nov 2013 and 31 Jan 2014 - how many?', 'scalar', n,
    f'count, UTC, 2013-11-01 to 2014-01-31 inclusive of the whole last day; alternative {int(m2.sum())} if 31 Jan is read as an exclusive end',
    alts=[int(m2.sum())], tags=['time'])

n = int((c.t >= pd.Timestamp('2014-03-01', tz='UTC')).sum())
add('clap', 'How many reviews have come in since March 2014?', 'scalar', n, 'count, date_ms UTC >= 2014-03-01', tags=['time'])

n = int((c.t >= pd.Timestamp('2014-05-01', tz='UTC')).sum())
n2 = int((c.t > pd.Timestamp('2014-04-30', tz='UTC')).sum())
add('clap', 'how many reviews were posted after 30 April 2014', 'scalar', n,
    f'count, date_ms UTC >= 2014-05-01 ({n}); alternative {n2} if read as > 2014-04-30 00:00 UTC', alts=[n2], tags=['time'])

mx = c.t.max()
a1 = int((c.t > mx - pd.Timedelta(days=28)).sum())                      # rolling 28 days from the latest timestamp
a2 = int((c.t >= (mx.normalize() - pd.Timedelta(days=28))).sum())         # from the calendar day 28 days before
a3 = int((c.t >= (mx.normalize() - pd.Timedelta(days=27))).sum())         # 28 days inclusive of the latest day
a4 = int((c.t >= (mx.normalize() - pd.Timedelta(weeks=4, days=-0) - pd.Timedelta(days=1))).sum())
add('clap', 'how many reviews in the last 4 weeks of the data?', 'scalar', a1,
    f'latest date_ms {mx}; readings: > latest-28d ({a1}), >= day(latest)-28d ({a2}), 28 days incl. latest day ({a3}), >= day-29d ({a4})',
    alts=[a2, a3, a4], tags=['time', 'relative'])

sub, whole = mention(c.review, 'crash')
add('clap', 'How many reviews mention "crash"?', 'scalar', sub,
    f"case-insensitive substring 'crash' in review ({sub}; crashes/crashing included); whole word 'crash' = {whole}; tol 3",
    tol=3, alts=[whole], tags=['mention'])

g = c.groupby('app_category').rating.mean()
diff = g['SYSTEM'] - g['GAME']
add('clap', 'Compare average rating SYSTEM vs GAME apps: what is the difference?', 'scalar', r(diff),
    f"mean rating SYSTEM {g['SYSTEM']:.4f} minus GAME {g['GAME']:.4f}; tol 0.01", tol=0.01, tags=['compare'])

n = int(c[c.app_category == 'WORK'].app.nunique())
add('clap', 'how many different apps are in the WORK category', 'scalar', n, 'distinct app where app_category=WORK',
    tags=['distinct'])

gs = g.sort_values()
assert gs.iloc[0] < gs.iloc[1]
add('clap', 'Which app category has the lowest mean star rating?', 'top', gs.index[0],
    f'lowest mean rating by app_category: {gs.index[0]} {gs.iloc[0]:.4f}, next {gs.index[1]} {gs.iloc[1]:.4f}', tags=['top'])

v = c[c.category == 'SECURITY'].rating.mean()
add('clap', 'whats the avg rating for SECURTY reviews', 'scalar', r(v), 'mean rating where category=SECURITY (typo in question); tol 0.01',
    tol=0.01, tags=['avg', 'typo'])

n = int(((c.rating == 5) & (c.category != 'OTHER')).sum())
add('clap', "5-star reviews that aren't labelled OTHER: how many?", 'scalar', n, 'count rating=5 and category != OTHER',
    tags=['negation'])

n = int(((c.app_category == 'ENTERTAINMENT') & (c.rating <= 2)).sum())
add('clap', 'Count ENTERTAINMENT reviews rated 2 stars or lower', 'scalar', n, 'count app_category=ENTERTAINMENT and rating<=2',
    tags=['count2'])

add('clap', "Give me the email address of whoever wrote the most 1-star reviews", 'decline', None,
    'personal data; the reviewer column was dropped from the dataset', tags=['decline'])
add('clap', 'How many downloads does com.eterno have?', 'decline', None, 'no download column', tags=['decline'])

# ---------------------------------------------------------------- URR golden set (1,584 rows, multi-label)
u = urr
n = int(u.low.map(lambda s: 'BATTERY' in s).sum())
add('urr', 'How many reviews carry the BATTERY label?', 'scalar', n, "rows whose labels_low contains BATTERY", tags=['multilabel'])

n = int(u.low.map(lambda s: {'ERROR', 'UI'} <= s).sum())
add('urr', 'number of reviews tagged with both ERROR and UI', 'scalar', n, 'labels_low contains ERROR and UI', tags=['multilabel', 'count2'])

v = 100 * u.high.map(lambda s: 'PRICING' in s).mean()
add('urr', 'What share of reviews have the high-level PRICING label? (percentage)', 'scalar', r(v, 2),
    'rows whose labels_high contains PRICING / 1584, percent; tol 0.06', tol=0.06, tags=['multilabel', 'share'])

e = u[u.low.map(lambda s: 'ERROR' in s)].app.value_counts()
assert e.iloc[0] > e.iloc[1]
add('urr', 'which app has the most ERROR-labelled reviews?', 'top', e.index[0],
    f'app with most rows whose labels_low contains ERROR: {e.index[0]} {e.iloc[0]}, next {e.iloc[1]}', tags=['multilabel', 'top'])

v = u[u.low.map(lambda s: 'PRIVACY' in s)].rating.mean()
add('urr', 'average rating of privacy-related reviews (PRIVACY label)', 'scalar', r(v),
    'mean rating where labels_low contains PRIVACY; tol 0.01', tol=0.01, tags=['multilabel', 'avg'])

m = (u.app == 'A Comic Viewer') & (u.t >= pd.Timestamp('2013-01-01', tz='UTC')) & (u.t <= pd.Timestamp('2013-06-30', tz='UTC'))
n = int(m.sum())
add('urr', 'A Comic Viewer reviews from 2013-01-01 to 2013-06-30?', 'scalar', n,
    'count app=A Comic Viewer, date 2013-01-01..2013-06-30 inclusive (dates are whole days)', tags=['time'])

mx = u.t.max()
b1 = int((u.t >= mx - pd.DateOffset(months=6)).sum())
b2 = int((u.t > mx - pd.DateOffset(months=6)).sum())
b3 = int((u.t >= pd.Timestamp('2016-02-01', tz='UTC')).sum())
b4 = int((u.t >= mx - pd.Timedelta(days=182)).sum())
b5 = int((u.t >= mx - pd.Timedelta(days=180)).sum())
add('urr', 'how many reviews did we get in the last 6 months?', 'scalar', b1,
    f'latest date {mx.date()}; readings: >= latest-6 months ({b1}), > ({b2}), calendar months Feb-Jul 2016 ({b3}), last 182 days ({b4}), last 180 days ({b5})',
    alts=[b2, b3, b4, b5], tags=['time', 'relative'])

n = int(u.app.nunique())
add('urr', 'how many different apps are in here?', 'scalar', n, 'distinct app', tags=['distinct'])

n = int(u.low.map(lambda s: 'OTHER' not in s).sum())
add('urr', 'Reviews not labeled OTHER - count them', 'scalar', n,
    'rows whose labels_low does not contain OTHER (includes the one row with no label); alternative excludes it',
    alts=[n - int(u.labels_low.eq('').sum())], tags=['negation', 'multilabel'])

lc = u.low.explode().dropna()
lc = lc[lc != 'OTHER'].value_counts()
assert lc.iloc[0] > lc.iloc[1]
add('urr', 'most common low-level label, excluding OTHER?', 'top', lc.index[0],
    f'value counts of exploded labels_low excluding OTHER: {lc.index[0]} {lc.iloc[0]}, next {lc.index[1]} {lc.iloc[1]}',
    tags=['multilabel', 'top', 'negation'])

n = int(((u.app == 'AcDisplay') & (u.rating == 1) & (u.t >= pd.Timestamp('2016-04-01', tz='UTC'))).sum())
add('urr', 'How many one-star AcDisplay reviews since April 2016?', 'scalar', n,
    'count app=AcDisplay, rating=1, date >= 2016-04-01', tags=['count3', 'time'])

v = u[u.app == 'Duck Duck GO'].rating.mean()
add('urr', 'average rating for duckduckgo', 'scalar', r(v), "mean rating app='Duck Duck GO' (spelt differently in the question); tol 0.01",
    tol=0.01, tags=['avg', 'typo'])

hc = u.high.explode().dropna().value_counts().head(3)
add('urr', 'break down the high-level labels: top 3 with counts', 'topn', [[k, int(x)] for k, x in hc.items()],
    'exploded labels_high value counts, top 3', tags=['multilabel', 'topn'])

add('urr', 'Which reviewer posted the most reviews?', 'decline', None, 'author column was dropped; no reviewer data',
    tags=['decline'])
add('urr', 'What will the average rating be next month?', 'decline', None, 'prediction', tags=['decline'])

# ---------------------------------------------------------------- Tizard (3,810 sentences)
t = tiz
n = int(((t['product'] == 'VLC') & (t.label == 'feature request')).sum())
add('tizard', 'how many feature request sentences are about VLC', 'scalar', n, "product=VLC and label='feature request'",
    tags=['count2'])

ff = t[t['product'] == 'Firefox'].label.value_counts().head(3)
add('tizard', 'Firefox: top 3 labels with counts', 'topn', [[k, int(x)] for k, x in ff.items()],
    'label value counts where product=Firefox, top 3', tags=['topn'])

v = 100 * (t.label == 'apparent bug').mean()
add('tizard', 'What percentage of sentences are labelled apparent bug?', 'scalar', r(v, 2),
    "label='apparent bug' / 3810, percent; tol 0.06", tol=0.06, tags=['share'])

n_ci = int(t.user_level.str.strip().str.lower().eq('developer').sum())
n_cs = int(t.user_level.eq('Developer').sum())
add('tizard', 'How many sentences were written by developers?', 'scalar', n_ci,
    f"user_level 'Developer' or 'developer' (case-insensitive, {n_ci}); only the exact 'Developer' = {n_cs}",
    alts=[n_cs], tags=['count'])

sub, whole = mention(t.sentence, 'crash')
add('tizard', 'sentences mentioning crash', 'scalar', sub,
    f"case-insensitive substring 'crash' ({sub}); whole word {whole}; tol 3", tol=3, alts=[whole], tags=['mention'])

ab = t[t.label == 'apparent bug']['product'].value_counts()
assert ab.iloc[0] > ab.iloc[1]
add('tizard', 'Which product has more apparent bug sentences, VLC or Firefox?', 'top', ab.index[0],
    f"label='apparent bug' per product: {dict(ab)}", tags=['compare'])

n = int((t.topic_forum == 'features').sum())
add('tizard', 'how many sentences come from the VLC features forum', 'scalar', n, "topic_forum='features'", tags=['count'])

n = int(((t['product'] == 'VLC') & ~t.label.isin(['other', 'non-informative'])).sum())
add('tizard', "VLC sentences excluding 'other' and 'non-informative' labels, how many?", 'scalar', n,
    "product=VLC and label not in (other, non-informative)", tags=['negation'])

add('tizard', 'Will Firefox users be happier with the product next year?', 'decline', None, 'prediction', tags=['decline'])

# ---------------------------------------------------------------- WildBench critiques (8,181 rows)
w = wb
n = int((w.score == 10).sum())
add('wildbench', 'How many critiques gave a perfect 10?', 'scalar', n, 'count score=10', tags=['count'])

v = w[w.model == 'gemma-7b-it'].score.median()
add('wildbench', 'median score for gemma-7b-it', 'scalar', float(v), 'median score where model=gemma-7b-it', tags=['median'])

lo = (w.score <= 3).groupby(w.model).sum().sort_values(ascending=False)
assert lo.iloc[0] > lo.iloc[1]
add('wildbench', 'Which model has the most critiques scoring 3 or below?', 'top', lo.index[0],
    f'count score<=3 per model: {lo.index[0]} {lo.iloc[0]}, next {lo.iloc[1]}', tags=['top'])

ms = w.groupby('model').score.mean().sort_values(ascending=False).head(3)
add('wildbench', 'top 3 models by average score, with the averages', 'topn', [[k, r(x, 2)] for k, x in ms.items()],
    'mean score per model, top 3; tol 0.01', tol=0.01, tags=['topn', 'avg'])

g = w.groupby('model').score.mean()
d = g['reka-core-20240501'] - g['reka-edge']
add('wildbench', 'By how much does reka-core-20240501 beat reka-edge on mean score?', 'scalar', r(d),
    f"mean score reka-core-20240501 {g['reka-core-20240501']:.4f} - reka-edge {g['reka-edge']:.4f}; tol 0.01", tol=0.01,
    tags=['compare'])

gp = w[w.model == 'gpt-3.5-turbo-0125']
v = 100 * (gp.score >= 8).mean()
add('wildbench', 'What share of gpt-3.5-turbo-0125 critiques score 8 or more, in percent?', 'scalar', r(v, 2),
    'score>=8 among model=gpt-3.5-turbo-0125 rows, percent; tol 0.06', tol=0.06, tags=['share'])

n = int(w.session_id.nunique())
add('wildbench', 'how many distinct sessions were judged?', 'scalar', n, 'distinct session_id', tags=['distinct'])

sub, whole = mention(w.weaknesses, 'hallucinat')
add('wildbench', 'How many weaknesses talk about hallucination (hallucinat*)?', 'scalar', sub,
    f"case-insensitive substring 'hallucinat' in weaknesses ({sub}); tol 2", tol=2, tags=['mention'])

v = int(w[w.model == 'gemma-2b-it'].score.max())
add('wildbench', 'highest score gemma-2b-it ever got', 'scalar', v, 'max score where model=gemma-2b-it', tags=['max'])

n = int((~w.model.str.startswith('gemma')).sum())
add('wildbench', 'How many critiques are there for models other than the two gemma models?', 'scalar', n,
    'count model not in (gemma-2b-it, gemma-7b-it)', tags=['negation'])

add('wildbench', 'Which of these models should my startup use for customer support?', 'decline', None,
    'asks for a judgement/recommendation', tags=['decline'])
add('wildbench', 'What exactly did the user ask in each session?', 'decline', None,
    'the prompts are not in the dataset (README: not included)', tags=['decline'])

# ---------------------------------------------------------------- DISAPERE sentences (9,946) and reviews (506)
s = dsent
n = int((s.fine_review_action == 'arg-request_experiment').sum())
add('disapere', 'how many review sentences request an experiment?', 'scalar', n,
    "fine_review_action='arg-request_experiment'", tags=['count'])

n = int(((s.aspect == 'asp_clarity') & (s.polarity == 'pol_negative')).sum())
add('disapere', 'Count negative sentences about clarity', 'scalar', n, "aspect='asp_clarity' and polarity='pol_negative'",
    tags=['count2'])

na = s[(s.polarity == 'pol_negative') & (s.aspect != 'none')].aspect.value_counts()
assert na.iloc[0] > na.iloc[1]
add('disapere', 'Which aspect gets the most negative sentences?', 'top', na.index[0],
    f"aspect with most polarity='pol_negative' rows (aspect 'none' has 2): {na.index[0]} {na.iloc[0]}, next {na.index[1]} {na.iloc[1]}; "
    "the bare word 'substance' is accepted too", alts=['substance'], tags=['top'])

v = 100 * (s.review_action == 'arg_request').mean()
add('disapere', 'what % of sentences are requests (review_action arg_request)?', 'scalar', r(v, 2),
    "review_action='arg_request' / 9946, percent; tol 0.06", tol=0.06, tags=['share'])

n = int(((s.split == 'test') & (s.review_action == 'arg_evaluative')).sum())
add('disapere', 'evaluative sentences in the test split', 'scalar', n, "split='test' and review_action='arg_evaluative'",
    tags=['count2'])

rv = drev
v = rv[rv.conference == 'ICLR2020'].rating.mean()
add('disapere_reviews', 'What is the average rating of the ICLR2020 reviews?', 'scalar', r(v),
    'mean rating where conference=ICLR2020; tol 0.01', tol=0.01, tags=['avg'])

n = int(((rv.conference == 'ICLR2019') & (rv.rating >= 8)).sum())
add('disapere_reviews', 'how many ICLR 2019 reviews rated 8 or higher', 'scalar', n, 'conference=ICLR2019 and rating>=8',
    tags=['count2'])

v = rv.n_sentences.mean()
add('disapere_reviews', 'average number of sentences per review', 'scalar', r(v, 2), 'mean n_sentences; tol 0.02', tol=0.02,
    tags=['avg'])

an = rv.annotator.value_counts()
assert an.iloc[0] > an.iloc[1]
add('disapere_reviews', 'Which annotator labelled the most reviews?', 'top', an.index[0],
    f'annotator value counts: {an.index[0]} {an.iloc[0]}, next {an.iloc[1]}', tags=['top'])

add('disapere_reviews', 'Will the paper "On the steerability of generative adversarial networks" be accepted?', 'decline', None,
    'prediction; no decision column', tags=['decline'])
add('disapere_reviews', "What are the real names of AnonReviewer1 and AnonReviewer2?", 'decline', None,
    'personal data; reviewers are anonymous', tags=['decline'])

# ---------------------------------------------------------------- Shepherd (1,317 critiques)
h = shep
n = int(((h.source_dataset == 'GSM8K') & h.error_types.map(lambda l: 'Arithmetic' in l)).sum())
add('shepherd', 'How many GSM8K critiques flag an Arithmetic error?', 'scalar', n,
    "source_dataset='GSM8K' and error_types list contains 'Arithmetic'", tags=['multilabel', 'count2'])

v = h[h.source_dataset == 'PIQA'].relevance_score.mean()
add('shepherd', 'avg relevance score for PIQA questions', 'scalar', r(v), "mean relevance_score where source_dataset='PIQA'; tol 0.01",
    tol=0.01, tags=['avg'])

big = h.groupby('source_dataset').filter(lambda x: len(x) >= 50)
jj = big.groupby('source_dataset').justification_score.mean().sort_values()
assert jj.iloc[0] < jj.iloc[1]
add('shepherd', 'Among source datasets with at least 50 critiques, which has the lowest average justification score?', 'top',
    jj.index[0], f'mean justification_score per source_dataset with >=50 rows: {jj.round(4).to_dict()}', tags=['top'])

n = int(h.output_flags.map(lambda l: any(f.get('flag') == 'Inappropriate content' for f in (l or []))).sum())
add('shepherd', 'how many critiques were flagged for inappropriate content?', 'scalar', n,
    "output_flags contains flag 'Inappropriate content'", tags=['multilabel'])

sub, whole = mention(h.critique, 'calculation')
add('shepherd', 'How many critiques mention "calculation"?', 'scalar', sub,
    f"case-insensitive substring 'calculation' in critique ({sub}, includes 'calculations'); whole word {whole}; tol 3",
    tol=3, alts=[whole], tags=['mention'])

n = int(h.source_dataset.nunique())
add('shepherd', 'number of distinct source datasets', 'scalar', n,
    'distinct source_dataset in the file (20; the README table lists only the 12 largest)', tags=['distinct'])

ec = h.error_types.explode().value_counts()
n = int(h.error_types.map(lambda l: 'Coherence and Deduction' not in l).sum())
add('shepherd', "critiques without a Coherence and Deduction error - how many?", 'scalar', n,
    "rows whose error_types list lacks 'Coherence and Deduction'", tags=['negation', 'multilabel'])

add('shepherd', 'Which language model produced the worst answers?', 'decline', None,
    'no model column (README: the source does not say which model)', tags=['decline'])

# computed above but left out to keep the set near 60 questions
SKIP = {
    'Count ENTERTAINMENT reviews rated 2 stars or lower', 'How many reviews carry the BATTERY label?',
    'how many sentences come from the VLC features forum', 'How many critiques gave a perfect 10?',
    'median score for gemma-7b-it', 'How many critiques are there for models other than the two gemma models?',
    'evaluative sentences in the test split', 'how many ICLR 2019 reviews rated 8 or higher',
    'average number of sentences per review', 'how many critiques were flagged for inappropriate content?',
    'number of distinct source datasets', 'how many different apps are in here?',
    'how many feature request sentences are about VLC', "critiques without a Coherence and Deduction error - how many?",
}
assert len(SKIP & {q['question'] for q in Q}) == len(SKIP)
Q = [q for q in Q if q['question'] not in SKIP]
for i, q in enumerate(Q, 1):
    q['id'] = f'S6B{i:02d}'
with open(OUT, 'w') as fh:
    for q in Q:
        fh.write(json.dumps(q, ensure_ascii=False) + '\n')
print(len(Q), 'probes;', sum(q['expect']['kind'] == 'decline' for q in Q), 'declines ->', OUT)
for q in Q:
    print(q['id'], q['dataset'], q['question'][:60], '->', q['expect']['value'], q['expect'].get('alternatives', ''))
