#!/usr/bin/env python3
"""Blind QA probes S7: computes every expected answer from the raw files in /work/shared/datasets and writes
qa_s7_probes.jsonl (the format of /work/shared/eval/dev_qa.jsonl, scored by /work/shared/eval/run_qa.py; kinds
scalar, top, table, topn, decline).

Written black-box: from the dataset READMEs, run_qa.py and `earful --help` only, not from Earful's code or tests.
The questions are phrased the way a product analyst types them: terse, lowercase, typos, leading clauses,
"per" breakdowns, top-N lists, date ranges in several spellings, negations, coded values in plain words.

Conventions (also stated per probe in `note`):
  * timestamps are UTC (CLAP `date_ms` is epoch milliseconds; URR `date` is dd/mm/yy, a day, read as UTC
    midnight); a date range "from A to B" includes both days; "Q1 2014" is 2014-01-01..2014-03-31;
  * shares are percentages (0-100) with a tolerance that covers rounding to one decimal (0.1; 0.6 where the
    share is of a small group);
  * averages and medians have a tolerance that covers rounding to two decimals (0.01);
  * "mentions a word" counts case-insensitive substring matches in the ingested text column; the whole-word
    count is given as an alternative, and a tolerance of a few items is allowed;
  * multi-label columns (URR `labels_low` / `labels_high`, `|`-joined; Shepherd `error_types`, a list) count a
    row once per label it carries;
  * Tizard's raw columns (`user_level`, `post_position`, `topic_forum`) have case/spacing variants; a question
    in plain words ("developers", "the VLC issue forum") means every variant (noted per probe);
  * the dataset keys are run_qa.py's: clap, urr (golden_set.csv), tizard, wildbench (critiques.jsonl, text =
    weaknesses), shepherd, disapere (review_sentences.csv) and disapere_reviews (reviews.jsonl);
  * no file used here has rows with empty text, and none has rows that repeat another row in every column, so
    no ingest rejection or dedupe is expected (asserted below); counts assume every row is ingested;
  * decline probes ask for a column no file has (demographics, dates Tizard does not record, model names
    Shepherd does not record, acceptance decisions, prices, latency), or for a judgement or an undefined measure.
Run: /work/main/.venv/bin/python bench/probes/make_qa_s7.py
"""
import json
import os
import re

import pandas as pd

D = '/work/shared/datasets'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qa_s7_probes.jsonl')

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

# ingest sanity: no empty texts, no duplicate ids, no rows repeating another row in every column
assert (clap.review.str.strip() == '').sum() == 0 and not clap.id.duplicated().any()
assert (urr.review_text.str.strip() == '').sum() == 0 and not urr.review_id.duplicated().any()
assert (tiz.sentence.str.strip() == '').sum() == 0 and not tiz.id.duplicated().any()
assert (wb.weaknesses.str.strip() == '').sum() == 0
assert (shep.critique.str.strip() == '').sum() == 0 and not shep.id.duplicated().any()
assert (dsent.text.str.strip() == '').sum() == 0
assert (drev.text.str.strip() == '').sum() == 0 and not drev.review_id.duplicated().any()
for _df in (clap, urr, tiz, wb, shep, dsent, drev):
    assert not _df.astype(str).duplicated().any()

Q = []


def add(ds, question, kind, value, note, tol=0.0, alts=None, tags=None):
    exp = {'kind': kind, 'value': value, 'tolerance': tol}
    if alts:
        exp['alternatives'] = [a for a in dict.fromkeys(alts) if a != value]
    q = {'id': f'S7{len(Q) + 1:02d}', 'dataset': ds, 'question': question, 'expect': exp, 'note': note}
    if tags:
        q['tags'] = tags
    Q.append(q)


def decline(ds, question, note, tags=None):
    add(ds, question, 'decline', None, note, tags=['decline'] + (tags or []))


def r(x, n=3):
    return round(float(x), n)


def pct(mask_num, mask_den):
    return r(100.0 * int(mask_num.sum()) / int(mask_den.sum()), 2)


def mention(series, word):
    s = series.str.lower()
    sub = int(s.str.contains(word.lower(), regex=False).sum())
    whole = int(s.str.contains(r'\b' + re.escape(word.lower()) + r'\b', regex=True).sum())
    return sub, whole


def day_spellings(ts):
    """'2014-03-05' plus a few spellings of the same day (for `top` answers that name a date)."""
    d = ts.date()
    return [d.isoformat(), f'{d:%B} {d.day}, {d.year}', f'{d.day} {d:%B} {d.year}', f'{d:%b} {d.day}, {d.year}']


def topn(counts, n):
    """[[key, count], ...] of the n largest; asserts no tie at the cut or inside the list (order must be clear)."""
    counts = counts.sort_values(ascending=False)
    vals = list(counts.values[:n + 1])
    assert len(set(vals[:n])) == n, ('tie inside top-n', counts.head(n + 1))
    if len(vals) > n:
        assert vals[n - 1] != vals[n], ('tie at the cut', counts.head(n + 1))
    return [[str(k), int(v)] for k, v in counts.head(n).items()]


def unique_top(s, largest=True):
    s = s.sort_values(ascending=not largest)
    assert s.iloc[0] != s.iloc[1], ('tie for top', s.head(3))
    return s.index[0]


# ---------------------------------------------------------------- CLAP (reviews.csv, 3,000 rows)
c = clap
m = c.app_category == 'GAME'
v = pct(m & (c.rating == 1), m)
add('clap', 'For the reviews of GAME apps, what percent are 1 star?', 'scalar', v,
    f'100 * count(app_category=GAME and rating=1) / count(app_category=GAME) = {v}; tol 0.1',
    tol=0.1, tags=['share', 'leading_clause'])

q1 = (c.t >= '2014-01-01') & (c.t < '2014-04-01')
v = r(c[q1].rating.mean())
add('clap', 'avg star rating in Q1 2014?', 'scalar', v,
    f'mean rating where date_ms (UTC) in 2014-01-01..2014-03-31 (n={int(q1.sum())}); tol 0.01',
    tol=0.01, tags=['avg', 'time', 'quarter'])

n = int((c.t.dt.year == 2013).sum())
add('clap', 'how many reviews were posted during 2013', 'scalar', n,
    'count where year(date_ms UTC) = 2013', tags=['count', 'time'])

dev = c[c.device != '?'].device.value_counts()
v = topn(dev, 3)
add('clap', 'top 3 devices by number of reviews, ignoring reviews where the device is unknown', 'topn', v,
    f"device value counts excluding '?' (unknown, {int((c.device == '?').sum())} rows): {v}",
    tags=['topn', 'negation'])

n = int(c[c.category == 'SECURITY'].app.nunique())
add('clap', 'how many different apps got at least one security/privacy review?', 'scalar', n,
    'count distinct app where category=SECURITY (the CLAP label for security and privacy concerns)',
    tags=['distinct', 'coded_value'])

t = c[c.category == 'FEATURE'].t.min()
add('clap', 'when was the earliest feature request posted?', 'top', t.date().isoformat(),
    f'min date_ms (UTC) where category=FEATURE: {t}', alts=day_spellings(t), tags=['earliest', 'time'])

s5 = c.groupby('app_category').rating.apply(lambda x: (x == 5).mean())
k = unique_top(s5, largest=False)
add('clap', 'Which app category has the lowest share of 5-star reviews?', 'top', k,
    f'per app_category, share of rating=5; lowest: {k} ({s5[k]:.4f}); next {s5.sort_values().index[1]} '
    f'({s5.sort_values().iloc[1]:.4f})', tags=['top', 'share'])

g = c[c.category.isin(['BUG', 'FEATURE'])].groupby('category').rating.mean()
v = {k: r(x) for k, x in g.items()}
add('clap', 'compare the average rating of bug reports vs feature requests', 'table', v,
    f'mean rating per category for BUG and FEATURE: {v}; tol 0.01', tol=0.01, tags=['compare', 'avg'])

m = (c.t >= '2013-07-01') & (c.t < '2013-10-01') & (c.category != 'OTHER')
n = int(m.sum())
add('clap', 'between July 1 and Sept 30 2013, how many reviews were not labelled OTHER?', 'scalar', n,
    'count where date_ms (UTC) in 2013-07-01..2013-09-30 and category != OTHER', tags=['count', 'time', 'negation'])

decline('clap', 'what is the average age of the people writing 1-star reviews?',
        'no age or demographic column (the reviewer-name column was dropped too)')

decline('clap', 'which app has the most annoying ads?',
        'judgement; no ads-annoyance measure (category USABILITY mixes ads with UI annoyances; no column rates ads)')

# ---------------------------------------------------------------- URR (golden_set.csv, 1,584 rows, multi-label)
u = urr
n = int(((u.app == 'A Comic Viewer') & u.low.map(lambda s: 'UI' in s)).sum())
add('urr', 'how many A Comic Viewer reviews have the UI label?', 'scalar', n,
    "count where app='A Comic Viewer' and 'UI' in labels_low (multi-label, |-joined)",
    tags=['count', 'multilabel'])

v = pct(u.low.map(len) > 1, u.low.map(len) >= 0)
add('urr', 'What % of reviews have more than one low-level label?', 'scalar', v,
    f'100 * count(len(labels_low set) > 1) / 1584 = {v} (1 row has no label at all); tol 0.1',
    tol=0.1, tags=['share', 'multilabel'])

err = u[u.high.map(lambda s: 'ERROR' in s)].app.value_counts()
v = topn(err, 3)
add('urr', 'top 3 apps by number of reviews tagged ERROR', 'topn', v,
    f"per app, count of rows whose labels_high contains ERROR: {v}", tags=['topn', 'multilabel'])

m = (u.t >= '2016-03-01') & (u.t <= '2016-03-31')
n = int(m.sum())
add('urr', 'how many reviews from March 1 to March 31, 2016?', 'scalar', n,
    'count where date (dd/mm/yy) in 2016-03-01..2016-03-31 inclusive', tags=['count', 'time'])

v = float(u[u.app == 'Duck Duck GO'].rating.median())
add('urr', 'median rating for duck duck go', 'scalar', v, "median rating where app='Duck Duck GO'",
    tol=0.01, tags=['median', 'lowercase'])

one = u[u.rating == 1]
cnt = pd.Series([h for s in one.high for h in s if h != 'OTHER']).value_counts()
k = unique_top(cnt)
add('urr', 'among 1-star reviews, which high-level category is most common, other than OTHER?', 'top', k,
    f'labels_high exploded over rating=1 rows, excluding OTHER: {cnt.to_dict()}', tags=['top', 'negation', 'multilabel'])

t = u[u.app == 'Calculator'].t.max()
add('urr', 'latest review date for the Calculator app?', 'top', t.date().isoformat(),
    f"max date where app='Calculator': {t.date()}", alts=day_spellings(t), tags=['latest', 'time'])

g = u[u.app.isin(['Adblock Plus', 'Duck Duck GO'])].groupby('app').rating.mean()
v = {k: r(x) for k, x in g.items()}
add('urr', 'Adblock Plus vs Duck Duck GO: average rating?', 'table', v,
    f'mean rating per app for the two apps: {v}; tol 0.01', tol=0.01, tags=['compare', 'avg'])

decline('urr', 'how quickly do the developers reply to reviews on average?',
        'no developer-reply or reply-time column in golden_set.csv')

# ---------------------------------------------------------------- Tizard (sentences.csv, 3,810 rows)
z = tiz
n = int(((z['product'] == 'Firefox') & (z.label == 'feature request')).sum())
add('tizard', 'how many firefox sentences are feature requests', 'scalar', n,
    "count where product=Firefox and label='feature request'", tags=['count', 'lowercase'])

g = z[z.label == 'apparent bug'].groupby('product').size()
v = {k: int(x) for k, x in g.items()}
add('tizard', 'how many sentences labelled apparent bug per product?', 'table', v,
    f"count per product where label='apparent bug': {v}", tags=['per', 'count'])

feat = z[z.topic_forum == 'features'].label.value_counts()
v = topn(feat, 3)
add('tizard', "top 3 labels in VLC's features forum", 'topn', v,
    f"label value counts where topic_forum='features' (the VLC features sub-forum): {v}", tags=['topn'])

lvl = z.user_level.str.strip().str.lower()
devm = lvl == 'developer'
v = pct(devm & (z.label == 'application guidance'), devm)
add('tizard', 'what % of sentences written by developers are application guidance?', 'scalar', v,
    "user_level case-insensitive = 'developer' (Developer 49 + developer 22 = 71 rows); "
    f"100 * count(label='application guidance') / 71 = {v}; tol 0.6", tol=0.6, tags=['share', 'messy_values'])

sub, whole = mention(z.sentence, 'crash')
add('tizard', 'how many sentences mention crash', 'scalar', sub,
    f'case-insensitive substring "crash" in sentence: {sub} (whole word: {whole}); tol 3',
    tol=3, alts=[whole], tags=['mention', 'lowercase'])

m = (z.topic_forum.str.lower() == 'issue') & (z.label != 'other')
n = int(m.sum())
add('tizard', 'VLC issue forum: how many sentences excluding the ones labelled other?', 'scalar', n,
    "count where topic_forum in ('issue','Issue') (the VLC issue sub-forum, two spellings) and label != 'other'",
    tags=['count', 'negation', 'messy_values'])

hs = z[z.label == 'help seeking']
pos = hs.post_position.str.lower().str.replace(' ', '')
cnt = pos.value_counts()
k = unique_top(cnt)
raw = hs.post_position.value_counts()
assert raw.index[0].lower().replace(' ', '') == k
add('tizard', 'which post position has the most help-seeking sentences?', 'top', raw.index[0],
    f"post_position counts where label='help seeking' (case/space variants merged: {cnt.head(4).to_dict()}; "
    f"raw: {raw.head(4).to_dict()}); the answer names 'original post' either way (top matches case-insensitively)",
    tags=['top'])

decline('tizard', 'when was the most recent firefox forum post written?',
        'sentences.csv has no date or timestamp column')

decline('tizard', 'is VLC a better product than Firefox?', 'judgement between products; no column answers it')

# ---------------------------------------------------------------- WildBench (critiques.jsonl, 8,181 rows)
w = wb
gm = w.model == 'gpt-3.5-turbo-0125'
v = pct(gm & (w.score >= 8), gm)
add('wildbench', 'For gpt-3.5-turbo-0125, what share of critiques scored 8 or higher (in %)?', 'scalar', v,
    f'100 * count(model=gpt-3.5-turbo-0125 and score>=8) / count(model=gpt-3.5-turbo-0125) = {v}; tol 0.1',
    tol=0.1, tags=['share', 'leading_clause'])

v = float(w[w.model == 'reka-edge'].score.median())
add('wildbench', 'median score reka-edge', 'scalar', v, "median score where model='reka-edge'",
    tol=0.01, tags=['median', 'terse'])

means = w.groupby('model').score.mean()
n = int((means > 6.5).sum())
add('wildbench', 'how many models have a mean score above 6.5?', 'scalar', n,
    f'count of models whose mean score > 6.5: {means.round(3).to_dict()}', tags=['count', 'having'])

tens = w[w.score >= 9].model.value_counts()
v = topn(tens, 3)
add('wildbench', 'top 3 models by number of critiques scoring 9 or 10', 'topn', v,
    f'per model, count where score in (9, 10): {tens.to_dict()}', tags=['topn'])

sub, whole = mention(w.weaknesses, 'repetitive')
add('wildbench', 'how many critiques say the response is repetitive in the weaknesses?', 'scalar', sub,
    f'case-insensitive substring "repetitive" in weaknesses (the ingested text): {sub} (whole word: {whole}); tol 3',
    tol=3, alts=[whole], tags=['mention'])

n = int(w[w.score < 3].session_id.nunique())
add('wildbench', 'how many distinct sessions have at least one critique scoring under 3?', 'scalar', n,
    'count distinct session_id where score < 3', tags=['distinct'])

ng = ~w.model.str.startswith('gemma')
v = r(w[ng].score.mean())
add('wildbench', 'avg score excluding the gemma models', 'scalar', v,
    f"mean score where model not in (gemma-2b-it, gemma-7b-it) (n={int(ng.sum())}); tol 0.01",
    tol=0.01, tags=['avg', 'negation'])

g = w[w.score == 1].groupby('model').size().reindex(sorted(w.model.unique()), fill_value=0)
v = {k: int(x) for k, x in g.items()}
add('wildbench', 'how many score-1 critiques per model?', 'table', v,
    f'count per model where score=1 (0 where none): {v}', tags=['per', 'count'])

decline('wildbench', 'what is the average response latency per model?',
        'no latency or timing column (meta_data was left out of the conversion)')

decline('wildbench', 'which model is the most cost-effective?', 'no price or cost column; judgement')

# ---------------------------------------------------------------- Shepherd (critiques.jsonl, 1,317 rows)
s = shep
et = s.error_types.map(set)
n = int(et.map(lambda x: {'Arithmetic', 'Coherence and Deduction'} <= x).sum())
add('shepherd', 'how many critiques flag both arithmetic and coherence & deduction errors?', 'scalar', n,
    "count where error_types contains both 'Arithmetic' and 'Coherence and Deduction'", tags=['count', 'multilabel'])

v = r(s[s.source_dataset == 'GSM8K'].relevance_score.mean())
add('shepherd', 'avg relevance score for GSM8K questions', 'scalar', v,
    "mean relevance_score where source_dataset='GSM8K'; tol 0.01", tol=0.01, tags=['avg'])

pm = s.source_dataset == 'PIQA'
v = pct(pm & et.map(lambda x: 'Commonsense' in x), pm)
add('shepherd', 'share of PIQA critiques tagged Commonsense, %', 'scalar', v,
    f"100 * count(source_dataset=PIQA and 'Commonsense' in error_types) / count(PIQA) = {v}; tol 0.1",
    tol=0.1, tags=['share', 'multilabel'])

ecqa = pd.Series([e for x in s[s.source_dataset == 'ECQA'].error_types for e in x]).value_counts()
v = topn(ecqa, 3)
add('shepherd', 'top 3 error types among ECQA critiques', 'topn', v,
    f'error_types exploded over source_dataset=ECQA rows: {ecqa.to_dict()}', tags=['topn', 'multilabel'])

n = int(((s.source_dataset == 'GSM8K') & (s.justification_score == 2)).sum())
add('shepherd', 'how many GSM8K answers were judged "not justified enough"?', 'scalar', n,
    "count where source_dataset='GSM8K' and justification_score=2 ('2 Not justified enough')",
    tags=['count', 'coded_value'])

sub, whole = mention(s.critique, 'incorrect')
add('shepherd', 'how many critiques contain the word incorrect', 'scalar', sub,
    f'case-insensitive substring "incorrect" in critique: {sub} (whole word: {whole}); tol 3',
    tol=3, alts=[whole], tags=['mention'])

n = int(s.output_flags.map(lambda fl: any(f['flag'] == 'Inappropriate content' for f in fl)).sum())
add('shepherd', 'how many outputs were flagged as inappropriate?', 'scalar', n,
    "count where output_flags has flag 'Inappropriate content'", tags=['count', 'coded_value'])

mj = s.groupby('source_dataset').justification_score.mean()
big = s.source_dataset.value_counts()
mj100 = mj[big[big >= 100].index]
k = unique_top(mj100, largest=False)
add('shepherd', 'of the source datasets with at least 100 critiques, which has the lowest mean justification score?',
    'top', k, f'mean justification_score per source_dataset with n>=100: {mj100.round(3).to_dict()}',
    tags=['top', 'having'])

decline('shepherd', 'which LLM produced the most arithmetic errors?',
        'no model column: the source does not say which model wrote each candidate (README)')

decline('shepherd', 'how many of the critiques are good critiques?',
        'undefined measure: no column grades the critiques themselves (the two scores rate the candidate answer)')

# ---------------------------------------------------------------- DISAPERE reviews (reviews.jsonl, 506 rows)
dr = drev
v = r(dr[dr.conference == 'ICLR2020'].rating.mean())
add('disapere_reviews', 'avg rating of the ICLR 2020 reviews?', 'scalar', v,
    "mean rating where conference='ICLR2020'; tol 0.01", tol=0.01, tags=['avg'])

g = dr[dr.rating >= 8].groupby('conference').size()
v = {k: int(x) for k, x in g.items()}
add('disapere_reviews', 'how many reviews per conference gave a rating of 8 or more?', 'table', v,
    f'count per conference where rating >= 8: {v}', tags=['per', 'count'])

v = float(dr.n_sentences.median())
add('disapere_reviews', 'median number of sentences per review', 'scalar', v, 'median of n_sentences over 506 reviews',
    tol=0.01, tags=['median', 'terse'])

n = int(dr.forum_id.nunique())
add('disapere_reviews', 'how many distinct papers were reviewed?', 'scalar', n,
    'count distinct forum_id (OpenReview paper id)', tags=['distinct'])

v = int(dr[dr.conference == 'ICLR2019'].rating.min())
add('disapere_reviews', 'whats the lowest rating any ICLR 2019 review gave', 'scalar', v,
    "min rating where conference='ICLR2019'", tags=['min'])

decline('disapere_reviews', 'how many of these papers were accepted?',
        'no acceptance decision column in reviews.jsonl')

# ---------------------------------------------------------------- DISAPERE sentences (review_sentences.csv, 9,946 rows)
ds = dsent
n = int(((ds.split == 'test') & (ds.fine_review_action == 'arg-request_experiment')).sum())
add('disapere', 'in the test split, how many sentences ask the authors for more experiments?', 'scalar', n,
    "count where split='test' and fine_review_action='arg-request_experiment'", tags=['count', 'coded_value'])

cl = ds.aspect == 'asp_clarity'
v = pct(cl & (ds.polarity == 'pol_negative'), cl)
add('disapere', 'what percentage of clarity sentences are negative', 'scalar', v,
    f"100 * count(aspect=asp_clarity and polarity=pol_negative) / count(aspect=asp_clarity) = {v}; tol 0.1",
    tol=0.1, tags=['share', 'coded_value'])

neg = ds[(ds.polarity == 'pol_negative') & (ds.aspect != 'none')].aspect.value_counts()
v = topn(neg, 3)
add('disapere', 'top 3 aspects among negative sentences, not counting sentences with no aspect', 'topn', v,
    f"aspect value counts where polarity=pol_negative and aspect != 'none': {v}", tags=['topn', 'negation'])

sub, whole = mention(ds.text, 'baseline')
add('disapere', 'how many sentences mention baseline?', 'scalar', sub,
    f'case-insensitive substring "baseline" in text: {sub} (whole word: {whole}); tol 3',
    tol=3, alts=[whole], tags=['mention'])

g = ds[ds.fine_review_action == 'arg-request_typo'].groupby('split').size()
v = {k: int(x) for k, x in g.items()}
add('disapere', 'typo requests per split', 'table', v,
    f"count per split where fine_review_action='arg-request_typo': {v}", tags=['per', 'terse', 'coded_value'])

decline('disapere', 'what is the single most important weakness the reviewers found?',
        'judgement/interpretation; no column ranks importance')

if __name__ == '__main__':
    assert 55 <= len(Q) <= 65, len(Q)
    nd = sum(q['expect']['kind'] == 'decline' for q in Q)
    assert 9 <= nd <= 13, nd
    with open(OUT, 'w', encoding='utf-8') as fh:
        for q in Q:
            fh.write(json.dumps(q, ensure_ascii=False) + '\n')
    print(f'{len(Q)} probes ({nd} declines) -> {OUT}')
    for q in Q:
        print(q['id'], q['dataset'], q['question'], '=>', json.dumps(q['expect']['value']), '|', q['expect'].get('alternatives', ''))
