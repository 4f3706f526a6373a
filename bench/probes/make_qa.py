#!/usr/bin/env python3
"""Builds bench/probes/qa_probes.jsonl. Every expected value is computed here from the raw files in
../shared/datasets (parsed with the Python stdlib, then queried with DuckDB SQL shown inline), never typed in.
Text matches ("mention X") are computed as literal, case-insensitive substring tests in Python (str.lower() + `in`),
so %, _ and apostrophes are literal characters. Run: .venv/bin/python bench/probes/make_qa.py [--show]
"""
from pathlib import Path
import csv, datetime, gzip, json, os, sys
import duckdb, pyarrow as pa

D = str(Path(__file__).resolve().parents[3] / 'shared' / 'datasets')  # ../shared/datasets beside the repo
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'qa_probes.jsonl')
SHOW = '--show' in sys.argv


def rcsv(p):
    with open(os.path.join(D, p), encoding='utf-8', newline='') as f:
        return list(csv.DictReader(f))


def rjsonl(p):
    op = gzip.open if p.endswith('.gz') else open
    with op(os.path.join(D, p), 'rt', encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.strip()]


con = duckdb.connect()


def reg(name, rows):
    con.register(name, pa.Table.from_pylist(rows))


# ---- load raw data, with explicit typing
clap = rcsv('clap_app_reviews/reviews.csv')
for r in clap:
    r['rating'] = int(r['rating'])
    r['ts'] = datetime.datetime.fromtimestamp(int(r['date_ms']) / 1000, datetime.timezone.utc).replace(tzinfo=None)
reg('clap', clap)
urr = rcsv('urr_app_reviews/golden_set.csv')
for r in urr:
    r['rating'] = int(r['rating'])
    r['d'] = datetime.datetime.strptime(r['date'], '%d/%m/%y').date()  # README: date is dd/mm/yy
reg('urr', urr)
tiz = rcsv('tizard_forum_posts/sentences.csv'); reg('tiz', tiz)
dis = rcsv('disapere_peer_reviews/review_sentences.csv'); reg('dis', dis)
wb = rjsonl('wildbench_v2_critiques/critiques.jsonl')
wb = [{k: v for k, v in r.items() if k != 'extra_parsed_fields'} for r in wb]; reg('wb', wb)
wo = rjsonl('wildbench_v2_critiques/model_outputs.jsonl.gz'); reg('wo', wo)
drv = rjsonl('disapere_peer_reviews/reviews.jsonl'); reg('drv', drv)
shp = rjsonl('shepherd_human_critiques/critiques.jsonl')
shp = [{'id': r['id'], 'source_dataset': r['source_dataset'], 'critique': r['critique'], 'error_types': r['error_types'],
        'justification_score': r['justification_score'], 'relevance_score': r['relevance_score']} for r in shp]
reg('shp', shp)


def one(sql):
    v = con.sql(sql).fetchall()
    assert len(v) == 1 and len(v[0]) == 1, (sql, v)
    return v[0][0]


def rows(sql):
    return con.sql(sql).fetchall()


def top1(sql):
    """sql returns (key, metric) ordered best first; asserts no tie for first place"""
    r = rows(sql)
    assert len(r) >= 1 and (len(r) == 1 or r[0][1] != r[1][1]), ('tie for first', sql, r[:3])
    return r[0][0]


def mention(rows_, col, s, where=lambda r: True):
    s = s.lower()
    return sum(1 for r in rows_ if where(r) and s in (r[col] or '').lower())


Q = []


def add(id_, ds, question, kind, value, tol=0.0, tags=(), note='', alternatives=None):
    e = {'kind': kind, 'value': value, 'tolerance': tol}
    if alternatives:
        e['alternatives'] = alternatives
    Q.append({'id': id_, 'dataset': ds, 'question': question, 'expect': e, 'tags': list(tags), 'note': note})
    if SHOW:
        print(id_, ds, question, '->', value)


r2 = lambda x: round(float(x), 3)

# ================= CLAP (source reviews, text = review) =================
add('P-C01', 'clap', 'How many reviews are labelled ENERGY?', 'scalar',
    one("SELECT count(*) FROM clap WHERE category = 'ENERGY'"), tags=['filter'])
add('P-C02', 'clap', 'What is the average rating of apps in the SYSTEM app category?', 'scalar',
    r2(one("SELECT avg(rating) FROM clap WHERE app_category = 'SYSTEM'")), 0.01, tags=['avg'])
add('P-C03', 'clap', 'Which app has the most reviews?', 'top',
    top1("SELECT app, count(*) n FROM clap GROUP BY 1 ORDER BY n DESC"), tags=['top'])
add('P-C04', 'clap', 'How many reviews mention "I\'m"?', 'scalar', mention(clap, 'review', "I'm"),
    tags=['text', 'apostrophe'])
add('P-C05', 'clap', 'How many reviews mention "100%"?', 'scalar', mention(clap, 'review', '100%'),
    tags=['text', 'literal_percent'])
add('P-C06', 'clap', 'How many reviews contain "%"?', 'scalar', mention(clap, 'review', '%'),
    tags=['text', 'literal_percent'])
add('P-C07', 'clap', 'How many reviews contain "_"?', 'scalar', mention(clap, 'review', '_'),
    tags=['text', 'literal_underscore'])
add('P-C08', 'clap', 'How many 1-star reviews are not bug reports?', 'scalar',
    one("SELECT count(*) FROM clap WHERE rating = 1 AND category <> 'BUG'"), tags=['negation'])
add('P-C09', 'clap', 'How many reviews were posted in 2013?', 'scalar',
    one("SELECT count(*) FROM clap WHERE year(ts) = 2013"), tags=['date'], note='date_ms as UTC')
add('P-C10', 'clap', 'How many reviews were written from January to March 2014?', 'scalar',
    one("SELECT count(*) FROM clap WHERE ts >= '2014-01-01' AND ts < '2014-04-01'"), tags=['date_range'])
add('P-C11', 'clap', 'What is the average rating per review category?', 'table',
    {k: r2(v) for k, v in rows("SELECT category, avg(rating) FROM clap GROUP BY 1")}, 0.01, tags=['group_avg'])
add('P-C12', 'clap', 'What are the top 3 app categories by number of reviews?', 'topn',
    [list(x) for x in rows("SELECT app_category, count(*) n FROM clap GROUP BY 1 ORDER BY n DESC LIMIT 3")], tags=['topn'])
add('P-C13', 'clap', 'What percentage of reviews are security reports?', 'scalar',
    r2(one("SELECT 100.0 * count(*) FILTER (WHERE category = 'SECURITY') / count(*) FROM clap")), 0.05, tags=['share'])
add('P-C14', 'clap', 'How many reviews that mention "battery" have 1 or 2 stars?', 'scalar',
    mention(clap, 'review', 'battery', lambda r: r['rating'] in (1, 2)), tags=['text', 'filter'])
add('P-C15', 'clap', 'How many distinct apps are in the GAME category?', 'scalar',
    one("SELECT count(DISTINCT app) FROM clap WHERE app_category = 'GAME'"), tags=['distinct'])
add('P-C16', 'clap', 'How many reviews are there per year?', 'table',
    {str(k): v for k, v in rows("SELECT year(ts)::VARCHAR, count(*) FROM clap GROUP BY 1")}, tags=['date_group'])
add('P-C17', 'clap', 'How many reviews don\'t mention "ads"?', 'scalar',
    len(clap) - mention(clap, 'review', 'ads'), tags=['text', 'negation'])
add('P-C18', 'clap', 'Which app category has the highest share of bug reports?', 'top',
    top1("SELECT app_category, avg((category = 'BUG')::INT) s FROM clap GROUP BY 1 ORDER BY s DESC"), tags=['share', 'hard'])
add('P-C19', 'clap', 'What is the average rating of reviews written by women?', 'decline', 'no gender column',
    tags=['decline'])
add('P-C20', 'clap', 'Which reviewer wrote the most reviews?', 'decline', 'reviewer column was dropped from the data',
    tags=['decline'])
add('P-C21', 'clap', 'What was the revenue of each app in 2014?', 'decline', 'no revenue column', tags=['decline'])

# ================= URR golden set (source reviews, text = review_text) =================
add('P-U01', 'urr', 'How many reviews of AcDisplay are there?', 'scalar',
    one("SELECT count(*) FROM urr WHERE app = 'AcDisplay'"), tags=['filter'])
add('P-U02', 'urr', 'What is the average rating of Duck Duck GO reviews?', 'scalar',
    r2(one("SELECT avg(rating) FROM urr WHERE app = 'Duck Duck GO'")), 0.01, tags=['avg'])
add('P-U03', 'urr', 'How many reviews were written in 2015?', 'scalar',
    one("SELECT count(*) FROM urr WHERE year(d) = 2015"), tags=['date'], note='date is dd/mm/yy')
add('P-U04', 'urr', 'How many reviews mention "don\'t"?', 'scalar', mention(urr, 'review_text', "don't"),
    tags=['text', 'apostrophe'])
add('P-U05', 'urr', 'Which app has the lowest average rating?', 'top',
    top1("SELECT app, avg(rating) a FROM urr GROUP BY 1 ORDER BY a ASC"), tags=['top', 'avg'])
add('P-U06', 'urr', 'How many reviews carry the ERROR label in labels_high?', 'scalar',
    sum(1 for r in urr if 'ERROR' in r['labels_high'].split('|')), tags=['multilabel', 'hard'])
add('P-U07', 'urr', 'How many reviews were written between March 2014 and June 2014?', 'scalar',
    one("SELECT count(*) FROM urr WHERE d >= DATE '2014-03-01' AND d <= DATE '2014-06-30'"), tags=['date_range'],
    note='inclusive of all of March..June')
add('P-U08', 'urr', 'How many reviews are there for each ardoc label?', 'table',
    {k: v for k, v in rows("SELECT ardoc_label_auto, count(*) FROM urr GROUP BY 1")}, tags=['group_count'])
add('P-U09', 'urr', 'What share of Calculator reviews are 5-star, in percent?', 'scalar',
    r2(one("SELECT 100.0 * count(*) FILTER (WHERE rating = 5) / count(*) FROM urr WHERE app = 'Calculator'")), 0.1,
    tags=['share'])
add('P-U10', 'urr', 'How many reviews were written on Samsung phones?', 'decline', 'no device column in URR',
    tags=['decline'])
add('P-U11', 'urr', 'How many reviews were posted since the start of 2016?', 'scalar',
    one("SELECT count(*) FROM urr WHERE d >= DATE '2016-01-01'"), tags=['date_range'])
add('P-U12', 'urr', 'How many reviews mention "100%"?', 'scalar', mention(urr, 'review_text', '100%'),
    tags=['text', 'literal_percent'])
add('P-U13', 'urr', 'How many reviews contain "_"?', 'scalar', mention(urr, 'review_text', '_'),
    tags=['text', 'literal_underscore'])

# ================= Tizard (source forum, text = sentence) =================
add('P-T01', 'tizard', 'How many VLC sentences are feature requests?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE product = 'VLC' AND label = 'feature request'"), tags=['filter'])
add('P-T02', 'tizard', 'Which user level wrote the most sentences?', 'top',
    top1("SELECT user_level, count(*) n FROM tiz GROUP BY 1 ORDER BY n DESC"), tags=['top'])
add('P-T03', 'tizard', 'How many sentences are not labelled other?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE label <> 'other'"), tags=['negation'])
add('P-T04', 'tizard', 'How many sentences contain "%"?', 'scalar', mention(tiz, 'sentence', '%'),
    tags=['text', 'literal_percent'])
add('P-T05', 'tizard', 'How many apparent bug sentences are there per product?', 'table',
    {k: v for k, v in rows("SELECT product, count(*) FROM tiz WHERE label = 'apparent bug' GROUP BY 1")},
    tags=['group_count'])
add('P-T06', 'tizard', 'What are the 3 most common labels?', 'topn',
    [list(x) for x in rows("SELECT label, count(*) n FROM tiz GROUP BY 1 ORDER BY n DESC LIMIT 3")], tags=['topn'])
add('P-T07', 'tizard', 'What percentage of Firefox sentences are questions on application?', 'scalar',
    r2(one("SELECT 100.0 * count(*) FILTER (WHERE label = 'question on application') / count(*) FROM tiz WHERE product = 'Firefox'")),
    0.1, tags=['share'])
add('P-T08', 'tizard', 'What is the average star rating of VLC?', 'decline', 'no rating in forum data', tags=['decline'])
add('P-T09', 'tizard', 'How many sentences were written by developers?', 'scalar',
    one("SELECT count(*) FROM tiz WHERE lower(user_level) = 'developer'"), tags=['case_variants', 'hard'],
    note="user_level has 'Developer' 49 and 'developer' 22")
add('P-T10', 'tizard', 'How many sentences mention "sorry"?', 'scalar', mention(tiz, 'sentence', 'sorry'), tags=['text'])

# ================= WildBench critiques (source critiques, text = weaknesses) =================
add('P-W01', 'wildbench', 'How many critiques have a score of 10?', 'scalar',
    one("SELECT count(*) FROM wb WHERE score = 10"), tags=['filter'])
add('P-W02', 'wildbench', 'What is the average score of reka-edge?', 'scalar',
    r2(one("SELECT avg(score) FROM wb WHERE model = 'reka-edge'")), 0.01, tags=['avg'])
add('P-W03', 'wildbench', 'Which model has the highest average score?', 'top',
    top1("SELECT model, avg(score) a FROM wb GROUP BY 1 ORDER BY a DESC"), tags=['top'])
add('P-W04', 'wildbench', 'How many gemma-2b-it critiques have a score of 3 or lower?', 'scalar',
    one("SELECT count(*) FROM wb WHERE model = 'gemma-2b-it' AND score <= 3"), tags=['filter'])
add('P-W05', 'wildbench', 'How many critiques mention "user\'s"?', 'scalar', mention(wb, 'weaknesses', "user's"),
    tags=['text', 'apostrophe'])
add('P-W06', 'wildbench', 'What are the top 3 models by average score?', 'topn',
    [[k, r2(v)] for k, v in rows("SELECT model, avg(score) a FROM wb GROUP BY 1 ORDER BY a DESC LIMIT 3")], 0.01,
    tags=['topn', 'avg'])
add('P-W07', 'wildbench', 'What share of gpt-3.5-turbo-0125 critiques have a score of at least 8, in percent?', 'scalar',
    r2(one("SELECT 100.0 * count(*) FILTER (WHERE score >= 8) / count(*) FROM wb WHERE model = 'gpt-3.5-turbo-0125'")),
    0.1, tags=['share'])
add('P-W08', 'wildbench', 'What is the average score per model?', 'table',
    {k: r2(v) for k, v in rows("SELECT model, avg(score) FROM wb GROUP BY 1")}, 0.01, tags=['group_avg'])
add('P-W09', 'wildbench', 'How many distinct sessions are there?', 'scalar',
    one("SELECT count(DISTINCT session_id) FROM wb"), tags=['distinct'])
add('P-W10', 'wildbench', 'Which model responds the fastest?', 'decline', 'no latency data', tags=['decline'])
add('P-W11', 'wildbench', 'What is the median score of gemma-7b-it?', 'scalar',
    float(one("SELECT median(score) FROM wb WHERE model = 'gemma-7b-it'")), 0.0, tags=['median', 'hard'])
add('P-W12', 'wildbench', 'How many critiques contain "100%"?', 'scalar', mention(wb, 'weaknesses', '100%'),
    tags=['text', 'literal_percent'])

# ================= WildBench outputs (source outputs, text = model_output) =================
# 96 outputs have an empty model_output (Earful quarantines rows with no text); counts below avoid depending on them
add('P-O01', 'wildbench_outputs', 'How many outputs mention "As an AI"?', 'scalar', mention(wo, 'model_output', 'As an AI'),
    tags=['text'])
add('P-O02', 'wildbench_outputs', 'How many outputs from gemma-2b-it mention "sorry"?', 'scalar',
    mention(wo, 'model_output', 'sorry', lambda r: r['model'] == 'gemma-2b-it'), tags=['text', 'filter'])
add('P-O03', 'wildbench_outputs', 'How many outputs mention "50%"?', 'scalar', mention(wo, 'model_output', '50%'),
    tags=['text', 'literal_percent'])
add('P-O04', 'wildbench_outputs', 'What score did the judge give reka-edge on average?', 'decline',
    'scores are not in the outputs source', tags=['decline'])

# ================= DISAPERE sentences (source sentences, text = text) =================
add('P-D01', 'disapere', 'How many sentences have negative polarity?', 'scalar',
    one("SELECT count(*) FROM dis WHERE polarity = 'pol_negative'"), tags=['filter'])
add('P-D02', 'disapere', 'Which aspect is most common among negative sentences?', 'top',
    top1("SELECT aspect, count(*) n FROM dis WHERE polarity = 'pol_negative' GROUP BY 1 ORDER BY n DESC"), tags=['top'])
add('P-D03', 'disapere', 'How many sentences request experiments?', 'scalar',
    one("SELECT count(*) FROM dis WHERE fine_review_action = 'arg-request_experiment'"), tags=['filter'])
add('P-D04', 'disapere', 'How many sentences are there per split?', 'table',
    {k: v for k, v in rows("SELECT split, count(*) FROM dis GROUP BY 1")}, tags=['group_count'])
add('P-D05', 'disapere', 'How many sentences contain "_"?', 'scalar', mention(dis, 'text', '_'),
    tags=['text', 'literal_underscore'])
add('P-D06', 'disapere', 'What percentage of test split sentences are arg_request?', 'scalar',
    r2(one("SELECT 100.0 * count(*) FILTER (WHERE review_action = 'arg_request') / count(*) FROM dis WHERE split = 'test'")),
    0.1, tags=['share'])
add('P-D07', 'disapere', 'Which paper got the harshest reviews?', 'decline', 'no paper/rating in the sentence file',
    tags=['decline'])
add('P-D08', 'disapere', 'How many sentences mention "I\'m"?', 'scalar', mention(dis, 'text', "I'm"),
    tags=['text', 'apostrophe'])

# ================= DISAPERE reviews (source reviews, text = text) =================
add('P-R01', 'disapere_reviews', 'What is the average rating of ICLR2020 reviews?', 'scalar',
    r2(one("SELECT avg(rating) FROM drv WHERE conference = 'ICLR2020'")), 0.01, tags=['avg'])
add('P-R02', 'disapere_reviews', 'How many reviews have a rating of 6 or more?', 'scalar',
    one("SELECT count(*) FROM drv WHERE rating >= 6"), tags=['filter'])
add('P-R03', 'disapere_reviews', 'Which reviewer appears most often?', 'top',
    top1("SELECT reviewer, count(*) n FROM drv GROUP BY 1 ORDER BY n DESC"), tags=['top'])
add('P-R04', 'disapere_reviews', 'What is the average rating per conference?', 'table',
    {k: r2(v) for k, v in rows("SELECT conference, avg(rating) FROM drv GROUP BY 1")}, 0.01, tags=['group_avg'])
add('P-R05', 'disapere_reviews', 'How many reviews mention "state-of-the-art"?', 'scalar',
    mention(drv, 'text', 'state-of-the-art'), tags=['text'])
add('P-R06', 'disapere_reviews', 'How many of these papers were accepted?', 'decline', 'no decision column',
    tags=['decline'])

# ================= Shepherd (source critiques, text = critique) =================
add('P-S01', 'shepherd', 'How many critiques are from GSM8K?', 'scalar',
    one("SELECT count(*) FROM shp WHERE source_dataset = 'GSM8K'"), tags=['filter'])
add('P-S02', 'shepherd', 'What is the average relevance score?', 'scalar',
    r2(one("SELECT avg(relevance_score) FROM shp")), 0.01, tags=['avg'])
add('P-S03', 'shepherd', 'Which source dataset has the lowest average justification score?', 'top',
    top1("SELECT source_dataset, avg(justification_score) a FROM shp GROUP BY 1 ORDER BY a ASC"), tags=['top', 'avg'])
add('P-S04', 'shepherd', 'How many critiques have a justification score of 1?', 'scalar',
    one("SELECT count(*) FROM shp WHERE justification_score = 1"), tags=['filter'])
add('P-S05', 'shepherd', 'How many critiques are there per source dataset?', 'table',
    {k: v for k, v in rows("SELECT source_dataset, count(*) FROM shp GROUP BY 1")}, tags=['group_count'])
add('P-S06', 'shepherd', 'How many critiques mention "can\'t"?', 'scalar', mention(shp, 'critique', "can't"),
    tags=['text', 'apostrophe'])
add('P-S07', 'shepherd', 'How many critiques list Arithmetic as an error type?', 'scalar',
    one("SELECT count(*) FROM shp WHERE list_contains(error_types, 'Arithmetic')"), tags=['list', 'hard'])
add('P-S08', 'shepherd', 'Which language model produced the worst answers?', 'decline',
    'the data has no model column (README)', tags=['decline'])

# trimmed to ~65 questions to keep the run short (these were computed above but are left out of the set)
DROP = {'P-C15', 'P-C21', 'P-U12', 'P-U13', 'P-T10', 'P-W12', 'P-O02', 'P-D08', 'P-S03', 'P-R05',
        'P-C14', 'P-U02', 'P-W01', 'P-D03', 'P-S04', 'P-R02', 'P-W09'}
Q = [q for q in Q if q['id'] not in DROP]
ids = [q['id'] for q in Q]
assert len(ids) == len(set(ids))
with open(OUT, 'w') as f:
    for q in Q:
        f.write(json.dumps(q) + '\n')
print(f'wrote {len(Q)} questions ({sum(q["expect"]["kind"] == "decline" for q in Q)} declines) to {OUT}')
