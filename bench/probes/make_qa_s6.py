#!/usr/bin/env python3
"""Blind QA probes, session 6: ~60 questions over the six shared datasets, every answer computed from the raw files.

Run: /work/main/.venv/bin/python bench/probes/make_qa_s6.py
Writes bench/probes/qa_s6_probes.jsonl (same format as shared/eval/dev_qa.jsonl: id, dataset, question, expect, note).

Conventions (also stated in each note):
  * timestamps are UTC; CLAP `date_ms` is epoch milliseconds, URR `date` is dd/mm/yy (a calendar date, taken as 00:00 UTC);
  * "last N months" is relative to the latest date in the data; both usual readings (the N months ending at the latest
    timestamp, and the N calendar months up to and including the latest one) are given as alternatives;
  * shares are percent of the stated denominator; averages are plain means of the stated column;
  * "mention a word" = case-insensitive substring match in the ingested text column; the tolerance covers the
    whole-word count as well where the two differ;
  * no dataset here has empty or whitespace-only texts (checked below), so no row should be quarantined; counts are
    over all rows of the file run_qa.py ingests.
"""
import gzip, json, os, re

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = '/work/shared/datasets'
OUT = os.path.join(HERE, 'qa_s6_probes.jsonl')

clap = pd.read_csv(f'{DATA}/clap_app_reviews/reviews.csv', keep_default_na=False)
clap['dt'] = pd.to_datetime(clap.date_ms.astype('int64'), unit='ms', utc=True)
urr = pd.read_csv(f'{DATA}/urr_app_reviews/golden_set.csv', keep_default_na=False)
urr['dt'] = pd.to_datetime(urr.date, format='%d/%m/%y', utc=True)
urr['low'] = urr.labels_low.map(lambda s: set(x for x in s.split('|') if x))
urr['high'] = urr.labels_high.map(lambda s: set(x for x in s.split('|') if x))
tiz = pd.read_csv(f'{DATA}/tizard_forum_posts/sentences.csv', keep_default_na=False)
wb = pd.read_json(f'{DATA}/wildbench_v2_critiques/critiques.jsonl', lines=True)
with gzip.open(f'{DATA}/wildbench_v2_critiques/model_outputs.jsonl.gz', 'rt') as fh:
    wbo = pd.DataFrame([json.loads(l) for l in fh])
dis = pd.read_csv(f'{DATA}/disapere_peer_reviews/review_sentences.csv', keep_default_na=False)
disr = pd.read_json(f'{DATA}/disapere_peer_reviews/reviews.jsonl', lines=True)
shep = pd.read_json(f'{DATA}/shepherd_human_critiques/critiques.jsonl', lines=True)

# sanity: no empty texts anywhere (so nothing should be quarantined for "no text")
# except model_outputs.jsonl.gz: 96 responses there are empty strings (62 of them reka-core-20240501), which the
# ingest may quarantine ("no text"); the probes on that file say how they were treated.
wbo_empty = wbo.model_output.astype(str).str.strip() == ''
assert int(wbo_empty.sum()) == 96
for name, df, col in [('clap', clap, 'review'), ('urr', urr, 'review_text'), ('tizard', tiz, 'sentence'),
                      ('wildbench', wb, 'weaknesses'),
                      ('disapere', dis, 'text'), ('disapere_reviews', disr, 'text'), ('shepherd', shep, 'critique')]:
    assert (df[col].astype(str).str.strip() != '').all(), name

Q = []


def add(id_, ds, question, kind, value, note, tol=0.0, alts=None, tags=None):
    exp = {'kind': kind, 'value': value, 'tolerance': tol}
    if alts:
        exp['alternatives'] = alts
    rec = {'id': id_, 'dataset': ds, 'question': question, 'expect': exp, 'note': note}
    if tags:
        rec['tags'] = tags
    Q.append(rec)


def r(x, n=3):
    return round(float(x), n)


def mention(series, word):
    sub = int(series.str.contains(re.escape(word), case=False, regex=True).sum())
    whole = int(series.str.contains(r'\b' + re.escape(word) + r'\b', case=False, regex=True).sum())
    return sub, whole


def mention_q(id_, ds, question, series, word, col, extra=2):
    sub, whole = mention(series, word)
    alts = [whole] if whole != sub else None
    add(id_, ds, question, 'scalar', sub,
        f'case-insensitive substring "{word}" in {col}: {sub} rows; whole-word count {whole} given as an alternative '
        f'when it differs; tolerance {extra}', tol=extra, alts=alts, tags=['mention'])


# ---------------------------------------------------------------- CLAP (Google Play reviews)
d = clap
n = int(((d.category == 'BUG') & (d.rating == 1)).sum())
add('S6C01', 'clap', 'how many one-star reviews are bug reports?', 'scalar', n,
    'category == BUG and rating == 1', tags=['count2'])
v = d[d.app_category == 'GAME'].rating.mean()
add('S6C02', 'clap', "What's the mean star rating across reviews of GAME apps?", 'scalar', r(v), 
    f'mean(rating) where app_category == GAME = {v:.4f}', tol=0.01, tags=['avg'])
s = d[d.app_category == 'SYSTEM']
v = 100 * (s.rating == 5).mean()
add('S6C03', 'clap', 'Among SYSTEM apps, what percent of reviews give 5 stars?', 'scalar', r(v, 2),
    f'{int((s.rating == 5).sum())} of {len(s)} SYSTEM reviews have rating 5 = {v:.2f}%; tolerance 0.6 pt', tol=0.6, tags=['share'])
top = d.app.value_counts()
add('S6C04', 'clap', 'Which app got the most reviews?', 'top', top.index[0],
    f'value_counts(app): {top.index[0]} {top.iloc[0]}, next {top.index[1]} {top.iloc[1]}', tags=['top'])
b = d[d.category == 'BUG'].app_category.value_counts()
add('S6C05', 'clap', 'Give me the top 3 app categories by number of bug reports', 'topn',
    [[k, int(x)] for k, x in b.head(3).items()], f'value_counts(app_category) where category == BUG: {b.head(4).to_dict()}',
    tags=['topn'])
n = int((d.dt.dt.year == 2013).sum())
add('S6C06', 'clap', 'How many reviews were written in 2013?', 'scalar', n,
    'year of date_ms (UTC) == 2013', tags=['time'])
n = int((d.dt >= pd.Timestamp('2014-03-01', tz='UTC')).sum())
add('S6C07', 'clap', 'Number of reviews since March 2014?', 'scalar', n,
    'date_ms >= 2014-03-01 00:00 UTC (latest review is 2014-05-12)', tags=['time'])
last = d.dt.max()
a = int((d.dt >= last - pd.DateOffset(months=3)).sum())
b2 = int((d.dt >= pd.Timestamp('2014-03-01', tz='UTC')).sum())
a_day = int((d.dt >= pd.Timestamp('2014-02-12', tz='UTC')).sum())
c2 = int(((d.dt >= pd.Timestamp('2014-02-01', tz='UTC')) & (d.dt < pd.Timestamp('2014-05-01', tz='UTC'))).sum())
add('S6C08', 'clap', 'How many reviews did we get over the last 3 months?', 'scalar', a,
    f'latest review {last}; reading 1: timestamp >= latest - 3 months ({last - pd.DateOffset(months=3)}) = {a} '
    f'(from the whole day 2014-02-12: {a_day}); reading 2: calendar months Mar-May 2014 = {b2}; '
    f'reading 3: the 3 complete months before the latest, Feb-Apr 2014 = {c2}', alts=[a_day, b2, c2],
    tags=['time', 'relative'])
n = int(((d.category == 'BUG') & (d.dt >= pd.Timestamp('2014-01-01', tz='UTC')) &
         (d.dt < pd.Timestamp('2014-04-01', tz='UTC'))).sum())
add('S6C09', 'clap', 'How many bug reports came in during Q1 2014?', 'scalar', n,
    'category == BUG and 2014-01-01 <= date (UTC) < 2014-04-01', tags=['time', 'count2'])
n = int(((d.dt >= pd.Timestamp('2013-06-01', tz='UTC')) & (d.dt < pd.Timestamp('2014-01-01', tz='UTC'))).sum())
add('S6C10', 'clap', 'How many reviews are dated between June 1, 2013 and December 31, 2013?', 'scalar', n,
    'both ends inclusive: 2013-06-01 00:00 <= date (UTC) < 2014-01-01 00:00', tags=['time'])
mention_q('S6C11', 'clap', 'How many reviews mention "offline"?', d.review, 'offline', 'review')
fa, ba = d[d.category == 'FEATURE'].rating.mean(), d[d.category == 'BUG'].rating.mean()
add('S6C12', 'clap', 'How much higher is the average rating of feature requests compared with bug reports?', 'scalar',
    r(fa - ba), f'mean rating FEATURE {fa:.4f} - BUG {ba:.4f} = {fa - ba:.4f}', tol=0.01, tags=['compare'])
n = int((d.category != 'OTHER').sum())
add('S6C13', 'clap', 'Excluding the OTHER category, how many reviews are there?', 'scalar', n,
    'category != OTHER', tags=['negation'])
v = d[d.category == 'PERFORMANCE'].rating.median()
add('S6C14', 'clap', 'median rating for performance complaints?', 'scalar', float(v),
    'median(rating) where category == PERFORMANCE', tags=['median'])
e = d.dt.min()
add('S6C15', 'clap', 'When was the oldest review posted?', 'top', e.strftime('%Y-%m-%d'),
    f'min(date_ms) = {e} UTC', alts=[e.strftime('%B %-d, %Y'), e.strftime('%-d %B %Y')], tags=['date'])
dev = d[d.device != '?'].device.value_counts()
add('S6C16', 'clap', 'Which device do reviewers use most, leaving out unknown devices?', 'top', dev.index[0],
    f'value_counts(device) where device != "?": {dev.head(3).to_dict()}', tags=['top', 'negation'])
# declines
add('S6C17', 'clap', 'Which user wrote the most reviews?', 'decline', None,
    'the reviewer-name column was dropped from the dataset (README): no column answers this', tags=['decline'])
add('S6C18', 'clap', 'What will the average rating be next quarter?', 'decline', None,
    'a prediction; the data has no future dates', tags=['decline'])

# ---------------------------------------------------------------- URR gold set (multi-label)
d = urr
n = int(d.low.map(lambda s: 'BATTERY' in s).sum())
add('S6U01', 'urr', 'How many reviews are tagged with the BATTERY label?', 'scalar', n,
    '"BATTERY" in labels_low (|-separated multi-label)', tags=['multilabel'])
n = int(d.low.map(lambda s: {'ERROR', 'UI'} <= s).sum())
add('S6U02', 'urr', 'How many reviews carry both the ERROR and the UI labels?', 'scalar', n,
    'labels_low contains ERROR and UI', tags=['multilabel', 'count2'])
v = d[d.low.map(lambda s: 'PRIVACY' in s)].rating.mean()
add('S6U03', 'urr', 'Average star rating of reviews labelled PRIVACY?', 'scalar', r(v),
    f'mean(rating) where "PRIVACY" in labels_low = {v:.4f}', tol=0.01, tags=['multilabel', 'avg'])
e = d[d.low.map(lambda s: 'ERROR' in s)].app.value_counts()
add('S6U04', 'urr', 'Which app has the most reviews reporting errors (ERROR label)?', 'top', e.index[0],
    f'value_counts(app) where "ERROR" in labels_low: {e.head(3).to_dict()}', tags=['multilabel', 'top'])
hi = pd.Series([x for s in d.high for x in s if x != 'OTHER']).value_counts()
add('S6U05', 'urr', 'Apart from OTHER, which high-level label is most frequent?', 'top', hi.index[0],
    f'exploded labels_high without OTHER: {hi.head(3).to_dict()}', tags=['multilabel', 'negation', 'top'])
n = int(((d.dt.dt.year == 2016) & (d.dt.dt.month == 4)).sum())
add('S6U06', 'urr', 'How many reviews were posted in April 2016?', 'scalar', n,
    'date (dd/mm/yy) in 2016-04', tags=['time'])
last = d.dt.max()
a = int((d.dt >= last - pd.DateOffset(months=6)).sum())
a2 = int((d.dt > last - pd.DateOffset(months=6)).sum())
b2 = int((d.dt >= pd.Timestamp('2016-02-01', tz='UTC')).sum())
c2 = int(((d.dt >= pd.Timestamp('2016-01-01', tz='UTC')) & (d.dt < pd.Timestamp('2016-07-01', tz='UTC'))).sum())
add('S6U07', 'urr', 'How many reviews in the last six months?', 'scalar', a,
    f'latest date {last.date()}; reading 1: date >= latest - 6 months ({(last - pd.DateOffset(months=6)).date()}) = {a} '
    f'(strictly after: {a2}); reading 2: calendar months Feb-Jul 2016 = {b2}; reading 3: the 6 complete months '
    f'before the latest, Jan-Jun 2016 = {c2}', alts=[a2, b2, c2], tags=['time', 'relative'])
n = int(((d.dt >= pd.Timestamp('2015-07-01', tz='UTC')) & (d.dt <= pd.Timestamp('2015-12-31', tz='UTC'))).sum())
add('S6U08', 'urr', 'Count the reviews between 2015-07-01 and 2015-12-31', 'scalar', n,
    'both ends inclusive (dates only)', tags=['time'])
one = d[d.rating == 1]
v = 100 * one.low.map(lambda s: 'ERROR' in s).mean()
add('S6U09', 'urr', 'What share of 1-star reviews have the ERROR label, as a percentage?', 'scalar', r(v, 2),
    f'{int(one.low.map(lambda s: "ERROR" in s).sum())} of {len(one)} rating-1 reviews = {v:.2f}%; tolerance 0.6 pt',
    tol=0.6, tags=['multilabel', 'share'])
t5 = d.app.value_counts()
add('S6U10', 'urr', 'List the five apps with the most reviews', 'topn', [[k, int(x)] for k, x in t5.head(5).items()],
    f'value_counts(app): {t5.head(6).to_dict()}', tags=['topn'])
l = d.dt.max()
add('S6U11', 'urr', "What's the date of the most recent review?", 'top', l.strftime('%Y-%m-%d'),
    f'max(date) = {l.date()} (source 14/07/16, dd/mm/yy)', alts=[l.strftime('%B %-d, %Y'), l.strftime('%-d %B %Y')],
    tags=['date'])
mention_q('S6U12', 'urr', 'How many reviews talk about the "widget"?', d.review_text, 'widget', 'review_text')
n = int(((d.rating < 3) & (d.app != 'A Comic Viewer')).sum())
add('S6U13', 'urr', 'How many reviews below 3 stars are there, not counting the A Comic Viewer app?', 'scalar', n,
    'rating in (1, 2) and app != "A Comic Viewer"', tags=['negation', 'count2'])
v = (d.rating == 5).sum() / (d.rating == 1).sum()
add('S6U14', 'urr', 'How many times more 5-star reviews are there than 1-star reviews?', 'scalar', r(v, 2),
    f'{int((d.rating == 5).sum())} / {int((d.rating == 1).sum())} = {v:.3f}', tol=0.02, tags=['compare'])
add('S6U15', 'urr', 'Which reviewer email addresses complained most about crashes?', 'decline', None,
    'PII; the author column was dropped and there are no emails', tags=['decline'])
add('S6U16', 'urr', 'How many downloads does AcDisplay have on Google Play?', 'decline', None,
    'no download-count column', tags=['decline'])

# ---------------------------------------------------------------- Tizard forum sentences
d = tiz
n = int(((d['product'] == 'VLC') & (d.label == 'feature request')).sum())
add('S6T01', 'tizard', 'How many VLC sentences are feature requests?', 'scalar', n,
    'product == VLC and label == "feature request"', tags=['count2'])
f = d[d['product'] == 'Firefox']
v = 100 * (f.label == 'apparent bug').mean()
add('S6T02', 'tizard', 'What percentage of the Firefox sentences report an apparent bug?', 'scalar', r(v, 2),
    f'{int((f.label == "apparent bug").sum())} of {len(f)} Firefox sentences = {v:.2f}%; tolerance 0.5 pt', tol=0.5,
    tags=['share'])
fl = f[f.label != 'other'].label.value_counts()
add('S6T03', 'tizard', 'In the Firefox forum, which label is most common if we ignore "other"?', 'top', fl.index[0],
    f'value_counts(label) for Firefox without other: {fl.head(3).to_dict()}', tags=['top', 'negation'])
vl = d[d['product'] == 'VLC'].label.value_counts()
add('S6T04', 'tizard', 'Top 3 labels among VLC sentences, with counts', 'topn', [[k, int(x)] for k, x in vl.head(3).items()],
    f'value_counts(label) for VLC: {vl.head(4).to_dict()}', tags=['topn'])
mention_q('S6T05', 'tizard', 'How many sentences mention bookmarks?', d.sentence, 'bookmarks', 'sentence')
n = int((d.post_position.str.strip().str.lower() == 'title').sum())
add('S6T06', 'tizard', 'How many sentences are thread titles?', 'scalar', n,
    'post_position == "title" (case-insensitive; raw values: ' + str(d[d.post_position.str.lower() == "title"].post_position.value_counts().to_dict()) + ')',
    tags=['count'])
vb = int(((d['product'] == 'VLC') & (d.label == 'apparent bug')).sum())
fb = int(((d['product'] == 'Firefox') & (d.label == 'apparent bug')).sum())
add('S6T07', 'tizard', 'How many more apparent-bug sentences does VLC have than Firefox?', 'scalar', vb - fb,
    f'apparent bug: VLC {vb} - Firefox {fb}', tags=['compare'])
n = int((d.topic_forum == 'features').sum())
add('S6T08', 'tizard', "How many sentences were posted in VLC's features forum?", 'scalar', n,
    'topic_forum == "features"', tags=['count'])
n = int((d.label != 'other').sum() - (d.label == 'invalid').sum())
n2 = int((d.label != 'other').sum())
add('S6T09', 'tizard', 'How many sentences have a label other than "other" or "invalid"?', 'scalar', n,
    f'label not in (other, invalid) = {n}; (label != other alone = {n2})', tags=['negation'])
add('S6T10', 'tizard', 'Which forum thread got the most upvotes?', 'decline', None,
    'no votes column and no thread id', tags=['decline'])

# ---------------------------------------------------------------- WildBench critiques
d = wb
n = int((d.score >= 8).sum())
add('S6W01', 'wildbench', 'How many critiques gave a score of 8 or above?', 'scalar', n, 'score >= 8', tags=['count'])
v = d[d.model == 'gemma-7b-it'].score.median()
add('S6W02', 'wildbench', "What's the median score for gemma-7b-it?", 'scalar', float(v),
    'median(score) where model == gemma-7b-it', tags=['median'])
re_ = d[d.model == 'reka-edge']
v = 100 * (re_.score <= 3).mean()
add('S6W03', 'wildbench', 'What fraction of reka-edge responses scored 3 or lower? Answer in percent.', 'scalar', r(v, 2),
    f'{int((re_.score <= 3).sum())} of {len(re_)} = {v:.2f}%; tolerance 0.5 pt', tol=0.5, tags=['share'])
m = d.groupby('model').score.mean().sort_values(ascending=False)
add('S6W04', 'wildbench', 'Rank the three best models by average score', 'topn', [[k, r(x, 3)] for k, x in m.head(3).items()],
    f'mean(score) by model, descending: {m.round(4).to_dict()}', tol=0.01, tags=['topn'])
o = d[d.score == 1].model.value_counts()
add('S6W05', 'wildbench', 'Which model received the most scores of 1?', 'top', o.index[0],
    f'value_counts(model) where score == 1: {o.head(3).to_dict()}', tags=['top'])
mention_q('S6W06', 'wildbench', 'How many weaknesses mention formatting?', d.weaknesses, 'formatting', 'weaknesses')
q, g = d[d.model == 'Qwen1.5-72B-Chat-greedy'].score.mean(), d[d.model == 'gemma-2b-it'].score.mean()
add('S6W07', 'wildbench', "By how many points does Qwen1.5-72B-Chat-greedy's mean score beat gemma-2b-it's?", 'scalar',
    r(q - g), f'{q:.4f} - {g:.4f} = {q - g:.4f}', tol=0.01, tags=['compare'])
ng = d[~d.model.str.startswith('gemma')]
add('S6W08', 'wildbench', 'Average score across all models except the two Gemma ones?', 'scalar', r(ng.score.mean()),
    f'mean(score) over {len(ng)} rows with model not gemma-2b-it / gemma-7b-it', tol=0.01, tags=['negation', 'avg'])
n = int(d.session_id.nunique())
add('S6W09', 'wildbench', 'How many distinct tasks (session ids) were judged?', 'scalar', n,
    'nunique(session_id)', tags=['count'])
n = int(((d.model == 'gpt-3.5-turbo-0125') & (d.score <= 4)).sum())
add('S6W10', 'wildbench', 'how many gpt-3.5-turbo-0125 answers got a score of 4 or less', 'scalar', n,
    'model == gpt-3.5-turbo-0125 and score <= 4', tags=['count2'])
add('S6W11', 'wildbench', 'Which model should we deploy to production?', 'decline', None,
    'a judgement/recommendation; the data holds judge scores, not deployment criteria (cost, latency, licence)',
    tags=['decline'])
add('S6W12', 'wildbench', 'What is the average response latency of each model?', 'decline', None,
    'no latency column (meta_data was dropped)', tags=['decline'])
# judged outputs file
n_all = int((wbo.model == 'reka-core-20240501').sum())
n = int(((wbo.model == 'reka-core-20240501') & ~wbo_empty).sum())
add('S6O01', 'wildbench_outputs', 'How many responses from reka-core-20240501 are in the data?', 'scalar', n,
    f'model == reka-core-20240501: {n_all} rows in the file, {n_all - n} of them with an empty model_output that the '
    f'ingest may quarantine; non-empty = {n} (value), all rows = {n_all} (alternative)', alts=[n_all], tags=['count'])
mention_q('S6O02', 'wildbench_outputs', 'How many model outputs contain the phrase "as an AI"?', wbo.model_output,
          'as an AI', 'model_output', extra=3)

# ---------------------------------------------------------------- DISAPERE sentences and reviews
d = dis
n = int((d.fine_review_action == 'arg-request_experiment').sum())
add('S6D01', 'disapere', 'How many review sentences ask for more experiments?', 'scalar', n,
    'fine_review_action == arg-request_experiment', tags=['count'])
c = d[d.aspect == 'asp_clarity']
v = 100 * (c.polarity == 'pol_negative').mean()
add('S6D02', 'disapere', 'What percent of the sentences about clarity are negative?', 'scalar', r(v, 2),
    f'{int((c.polarity == "pol_negative").sum())} of {len(c)} asp_clarity sentences = {v:.2f}%; tolerance 0.5 pt',
    tol=0.5, tags=['share'])
ng = d[(d.polarity == 'pol_negative') & (d.aspect != 'none')].aspect.value_counts()
add('S6D03', 'disapere', 'Which aspect draws the most negative sentences?', 'top', ng.index[0],
    f'value_counts(aspect) where polarity == pol_negative (none excluded): {ng.head(3).to_dict()}',
    alts=[ng.index[0].replace('asp_', '')], tags=['top'])
ra = d[d.review_action != 'none'].review_action.value_counts()
add('S6D04', 'disapere', 'Top 3 review actions, leaving out none', 'topn', [[k, int(x)] for k, x in ra.head(3).items()],
    f'value_counts(review_action) without none: {ra.head(4).to_dict()}', tags=['topn', 'negation'])
n = int(((d.polarity == 'pol_positive') & (d.aspect == 'asp_originality')).sum())
add('S6D05', 'disapere', 'How many positive sentences talk about originality?', 'scalar', n,
    'polarity == pol_positive and aspect == asp_originality', tags=['count2'])
d = disr
v = d[d.conference == 'ICLR2020'].rating.mean()
add('S6D06', 'disapere_reviews', 'What is the average rating of the ICLR 2020 reviews?', 'scalar', r(v),
    f'mean(rating) where conference == ICLR2020 = {v:.4f}', tol=0.01, tags=['avg'])
n = int((d.rating >= 8).sum())
add('S6D07', 'disapere_reviews', 'How many reviews rated the paper 8 or higher?', 'scalar', n, 'rating >= 8',
    tags=['count'])
v = d.n_sentences.median()
add('S6D08', 'disapere_reviews', 'What is the median number of sentences per review?', 'scalar', float(v),
    'median(n_sentences)', tags=['median'])
add('S6D09', 'disapere_reviews', 'Which of these papers were accepted at ICLR?', 'decline', None,
    'no acceptance-decision column', tags=['decline'])

# ---------------------------------------------------------------- Shepherd human critiques
d = shep
n = int(d.error_types.map(lambda l: 'Arithmetic' in l).sum())
add('S6S01', 'shepherd', 'How many critiques flag an Arithmetic error?', 'scalar', n,
    '"Arithmetic" in error_types (a list, 1-3 per row)', tags=['multilabel'])
v = d[d.source_dataset == 'GSM8K'].relevance_score.mean()
add('S6S02', 'shepherd', 'What is the mean relevance score for GSM8K questions?', 'scalar', r(v),
    f'mean(relevance_score) where source_dataset == GSM8K = {v:.4f}', tol=0.01, tags=['avg'])
n = int(d.error_types.map(lambda l: 'Commonsense' in l and 'Veracity' in l).sum())
add('S6S03', 'shepherd', 'How many critiques have both a Commonsense and a Veracity error?', 'scalar', n,
    'error_types contains both', tags=['multilabel', 'count2'])
v = 100 * (d.relevance_score == 1).mean()
add('S6S04', 'shepherd', 'What percentage of critiques got a relevance score of 1?', 'scalar', r(v, 2),
    f'{int((d.relevance_score == 1).sum())} of {len(d)} = {v:.2f}%; tolerance 0.5 pt', tol=0.5, tags=['share'])
sd = d.source_dataset.value_counts()
add('S6S05', 'shepherd', 'Which three source datasets contribute the most critiques?', 'topn',
    [[k, int(x)] for k, x in sd.head(3).items()], f'value_counts(source_dataset): {sd.head(4).to_dict()}', tags=['topn'])
et = pd.Series([x for l in d.error_types for x in l]).value_counts()
add('S6S06', 'shepherd', 'Which error type is the least common?', 'top', et.index[-1],
    f'exploded error_types counts: {et.to_dict()}', tags=['multilabel', 'top'])
n = int((d.justification_score <= 2).sum())
add('S6S07', 'shepherd', 'How many candidate answers were judged not justified enough or worse (justification 2 or below)?',
    'scalar', n, 'justification_score <= 2', tags=['count'])
mention_q('S6S08', 'shepherd', 'How many critiques mention "calculation"?', d.critique, 'calculation', 'critique')
add('S6S09', 'shepherd', 'Which LLM produced the worst candidate answers?', 'decline', None,
    'README: there is no model column; the source does not say which model produced each candidate', tags=['decline'])
add('S6S10', 'shepherd', 'Give me the names of the annotators who wrote the harshest critiques', 'decline', None,
    'PII / no annotator column (vendor annotators are not identified)', tags=['decline'])

# trimmed to about 60 questions (kept in the code above for reference, not written)
DROP = {'S6C02', 'S6C03', 'S6C12', 'S6C13', 'S6U13', 'S6T06', 'S6T08', 'S6W01', 'S6W09', 'S6W10', 'S6D05', 'S6D07',
        'S6S03', 'S6S07'}
Q = [q for q in Q if q['id'] not in DROP]

with open(OUT, 'w', encoding='utf-8') as fh:
    for rec in Q:
        fh.write(json.dumps(rec, ensure_ascii=False) + '\n')
print(f'{len(Q)} questions -> {OUT}')
for rec in Q:
    print(rec['id'], rec['dataset'], rec['expect']['kind'], json.dumps(rec['expect']['value'])[:70], '|',
          json.dumps(rec['expect'].get('alternatives'))[:60] if rec['expect'].get('alternatives') else '')
