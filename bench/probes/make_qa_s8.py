#!/usr/bin/env python3
"""Blind probe set S8 for `earful ask` (no LLM): expected answers computed here from the raw dataset files.

Writes qa_s8_probes.jsonl next to this script. Stdlib only. Run: python3 make_qa_s8.py
Score with: python3 /work/shared/eval/run_qa.py qa_s8_probes.jsonl --earful EARFUL --workdir DIR
Conventions: dates in UTC; text mentions are case-insensitive substrings of the column that run_qa.py ingests as
text (the tolerance covers whole-word matching where that differs); percentages are on a 0-100 scale.
"""
import collections
import csv
import datetime
import json
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
C = collections.Counter
UTC = datetime.timezone.utc


def read_csv(rel):
    with open(DATA / rel, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_jsonl(rel):
    with open(DATA / rel, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mean(xs):
    return statistics.mean(xs)


def r4(x):
    return round(float(x), 4)


def mentions(texts, word):
    """(substring count, whole-word count), case-insensitive."""
    import re
    w = word.lower()
    pat = re.compile(r"\b" + re.escape(w) + r"\b")
    return sum(w in t.lower() for t in texts), sum(bool(pat.search(t.lower())) for t in texts)


def top_unique(counter_or_dict, reverse=True):
    items = sorted(counter_or_dict.items(), key=lambda kv: kv[1], reverse=reverse)
    assert items[0][1] != items[1][1], ("tie at the top", items[:3])
    return items[0]


Q = []


def add(ds, question, kind, value, tol=0.0, note="", tags=(), alternatives=None):
    exp = {"kind": kind, "value": value, "tolerance": tol}
    if alternatives:
        exp["alternatives"] = alternatives
    Q.append({"id": f"S8{len(Q) + 1:02d}", "dataset": ds, "question": question, "expect": exp,
              "note": note, "tags": list(tags)})


def decline(ds, question, note, tags=("decline",)):
    add(ds, question, "decline", None, 0.0, note, tags)


# ---------------------------------------------------------------- clap
clap = read_csv("clap_app_reviews/reviews.csv")
for r in clap:
    r["_dt"] = datetime.datetime.fromtimestamp(int(r["date_ms"]) / 1000, UTC)
    r["_rating"] = int(r["rating"])

n2013 = sum(r["_dt"].year == 2013 for r in clap)
add("clap", "How many reviews were posted in 2013?", "scalar", n2013, 0,
    "date_ms (epoch ms) -> UTC datetime; count with year == 2013", ["count", "date"])

lo, hi = datetime.datetime(2014, 1, 1, tzinfo=UTC), datetime.datetime(2014, 4, 1, tzinfo=UTC)
nq1 = sum(lo <= r["_dt"] < hi for r in clap)
add("clap", "How many reviews came in between 1 January and 31 March 2014 (inclusive)?", "scalar", nq1, 0,
    "UTC timestamps in [2014-01-01, 2014-04-01)", ["count", "date", "range"])

apps = C(r["app"] for r in clap)
app_top = top_unique(apps)
add("clap", "which app has the most reviews?", "top", app_top[0], 0,
    f"most common app package: {app_top[0]} with {app_top[1]} rows", ["top", "lowercase"])

top3 = apps.most_common(4)
assert top3[2][1] != top3[3][1]
add("clap", "Give me the 3 apps with the most reviews, with their counts", "topn",
    [[k, v] for k, v in top3[:3]], 0, "count rows per app, top 3 (no ties)", ["topn"])

energy = [r["_rating"] for r in clap if r["category"] == "ENERGY"]
add("clap", "What is the average star rating of the reviews classified as energy (battery drain) issues?", "scalar",
    r4(mean(energy)), 0.01, f"mean rating where category == ENERGY (n={len(energy)})", ["average", "coded"])

n_big_apps = sum(1 for v in apps.values() if v > 50)
add("clap", "How many apps have more than 50 reviews?", "scalar", n_big_apps, 0,
    "apps whose row count > 50: " + ", ".join(f"{k} {v}" for k, v in apps.most_common() if v > 50),
    ["count", "group-condition"])

sam_sub, sam_word = mentions([r["review"] for r in clap], "samsung")
add("clap", "How many reviews mention Samsung?", "scalar", sam_sub, abs(sam_sub - sam_word),
    f"case-insensitive substring 'samsung' in review: {sam_sub} (whole word {sam_word})", ["text-mention"])

by_cat = collections.defaultdict(list)
for r in clap:
    by_cat[r["app_category"]].append(r["_rating"])
add("clap", "avg ratng by app categry", "table", {k: r4(mean(v)) for k, v in sorted(by_cat.items())}, 0.01,
    "mean rating per app_category (8 groups)", ["table", "typo", "average"])

not_other = sum(r["category"] != "OTHER" for r in clap)
add("clap", "What percentage of reviews have a label other than OTHER?", "scalar",
    round(100 * not_other / len(clap), 2), 0.1, f"{not_other}/{len(clap)} rows with category != OTHER",
    ["share", "negation"])

decline("clap", "Why do people give the game apps such bad ratings?",
        "'why' needs interpretation of the texts; not a count or figure", ["decline", "interpretation"])
decline("clap", "How many of these reviewers are teenagers?",
        "no age column (the user column was dropped); not in the data", ["decline", "missing-data"])

# ---------------------------------------------------------------- urr
urr = read_csv("urr_app_reviews/golden_set.csv")
for r in urr:
    r["_d"] = datetime.datetime.strptime(r["date"], "%d/%m/%y").date()
    r["_low"] = [x for x in r["labels_low"].split("|") if x]
    r["_high"] = [x for x in r["labels_high"].split("|") if x]

n_batt = sum("BATTERY" in r["_low"] for r in urr)
add("urr", "How many reviews are tagged with the BATTERY label?", "scalar", n_batt, 0,
    "labels_low contains BATTERY (multi-label, |-joined)", ["count", "multi-label"])

n_multi = sum(len(r["_low"]) > 1 for r in urr)
add("urr", "How many reviews have more than one low-level label?", "scalar", n_multi, 0,
    "rows whose labels_low has >= 2 labels", ["count", "multi-label"])

n_prot = sum(("SECURITY" in r["_low"]) or ("PRIVACY" in r["_low"]) for r in urr)
add("urr", "How many reviews deal with security or privacy (either label)?", "scalar", n_prot, 0,
    "rows with SECURITY or PRIVACY in labels_low (= PROTECTION in labels_high), each row once", ["count", "multi-label", "or"])

one_star = C(r["app"] for r in urr if r["rating"] == "1")
top1 = top_unique(one_star)
add("urr", "Which app collected the most 1-star reviews?", "top", top1[0], 0,
    f"count of rating == 1 per app: {one_star.most_common(3)}", ["top", "filter"])

spring = sum(datetime.date(2016, 3, 1) <= r["_d"] <= datetime.date(2016, 5, 31) for r in urr)
add("urr", "how many reviews were written from March to May 2016?", "scalar", spring, 0,
    "date is dd/mm/yy; 2016-03-01 .. 2016-05-31 inclusive", ["count", "date", "range"])

months = C(r["_d"].strftime("%Y-%m") for r in urr)
mtop = top_unique(months)
add("urr", "Which month had the most reviews?", "top", mtop[0], 0,
    f"reviews per calendar month: {months.most_common(3)}", ["top", "date"],
    alternatives=["April 2016", "Apr 2016", "2016/04", "04/2016"])

big = {a for a, n in C(r["app"] for r in urr).items() if n > 100}
add("urr", "For the apps with more than 100 reviews, what's the average rating of each?", "table",
    {a: r4(mean(int(r["rating"]) for r in urr if r["app"] == a)) for a in sorted(big)}, 0.01,
    "apps with > 100 rows, mean rating each", ["table", "group-condition", "average"])

ls_sub, ls_word = mentions([r["review_text"] for r in urr], "lock screen")
add("urr", 'How many reviews mention "lock screen"?', "scalar", ls_sub, max(1, abs(ls_sub - ls_word)),
    f"substring 'lock screen' in review_text: {ls_sub} (whole phrase {ls_word})", ["text-mention"])

last = max(r["_d"] for r in urr)
add("urr", "What's the date of the most recent review?", "top", last.isoformat(), 0,
    "max of date (dd/mm/yy parsed)", ["max", "date"],
    alternatives=[f"{last.strftime('%B')} {last.day}, {last.year}", f"{last.day} {last.strftime('%B')} {last.year}",
                  f"{last.day} {last.strftime('%b')} {last.year}", last.strftime("%d/%m/%Y"), last.strftime("%Y/%m/%d")])

decline("urr", "What do users think of AcDisplay's new design?",
        "opinion summary needs interpretation of the texts", ["decline", "interpretation"])

# ---------------------------------------------------------------- tizard
tiz = read_csv("tizard_forum_posts/sentences.csv")

bugs = C(r["product"] for r in tiz if r["label"] == "apparent bug")
add("tizard", "Which product has more apparent bug sentences, VLC or Firefox?", "top",
    top_unique(bugs)[0], 0, f"label == 'apparent bug' per product: {dict(bugs)}", ["top", "comparison"])

n_dev = sum(r["user_level"].strip().lower() == "developer" for r in tiz)
add("tizard", "How many sentences were written by developers?", "scalar", n_dev, 0,
    "user_level 'Developer' or 'developer' (case variants of one forum rank)", ["count", "case-variants"])

n_title = sum(r["post_position"].strip().lower() == "title" for r in tiz)
add("tizard", "How many of the sentences are thread titles?", "scalar", n_title, 0,
    "post_position 'title' or 'Title'", ["count", "case-variants", "coded"])

ff = [r for r in tiz if r["product"] == "Firefox"]
ag = sum(r["label"] == "application guidance" for r in ff)
add("tizard", "What percent of Firefox sentences are application guidance?", "scalar",
    round(100 * ag / len(ff), 2), 0.1, f"{ag}/{len(ff)} Firefox rows with label == application guidance", ["share"])

vlc_lab = C(r["label"] for r in tiz if r["product"] == "VLC" and r["label"] != "other").most_common(4)
assert vlc_lab[2][1] != vlc_lab[3][1]
add("tizard", "Top 3 labels among VLC sentences, leaving out 'other'", "topn",
    [[k, v] for k, v in vlc_lab[:3]], 0, "label counts for product == VLC excluding label 'other'", ["topn", "negation"])

fr = sum(r["topic_forum"].strip().lower() == "features" and r["label"] == "feature request" for r in tiz)
add("tizard", "How many feature requests were posted in the VLC features sub-forum?", "scalar", fr, 0,
    "topic_forum == 'features' and label == 'feature request'", ["count", "filter"])

yt_sub, yt_word = mentions([r["sentence"] for r in tiz], "youtube")
add("tizard", "how many sentnces mention youtube", "scalar", yt_sub, abs(yt_sub - yt_word),
    f"substring 'youtube' in sentence: {yt_sub} (whole word {yt_word})", ["text-mention", "typo", "lowercase"])

decline("tizard", "Which Firefox version crashes the most?",
        "no version column; would need reading versions out of free text", ["decline", "missing-data"])
decline("tizard", "How many forum posts were made in 2018?",
        "the dataset has no dates", ["decline", "missing-data", "date"])

# ---------------------------------------------------------------- wildbench
wb = read_jsonl("wildbench_v2_critiques/critiques.jsonl")
scores = collections.defaultdict(list)
for r in wb:
    scores[r["model"]].append(r["score"])

hi8 = {m: sum(s >= 8 for s in v) for m, v in scores.items()}
add("wildbench", "Which model has the most critiques with a score of 8 or more?", "top", top_unique(hi8)[0], 0,
    f"count score >= 8 per model: {sorted(hi8.items(), key=lambda kv: -kv[1])[:3]}", ["top", "filter"])

g2_low = sum(s <= 3 for s in scores["gemma-2b-it"])
add("wildbench", "How many gemma-2b-it responses scored 3 or lower?", "scalar", g2_low, 0,
    "model == gemma-2b-it and score <= 3", ["count", "filter"])

below5 = sum(r["score"] < 5 for r in wb)
add("wildbench", "What percentage of all critiques gave a score below 5?", "scalar",
    round(100 * below5 / len(wb), 2), 0.1, f"{below5}/{len(wb)} with score < 5 (1-4)", ["share"])

rep_sub, rep_word = mentions([r["weaknesses"] for r in wb], "repetitive")
add("wildbench", "In how many critiques do the weaknesses mention 'repetitive'?", "scalar", rep_sub,
    max(1, abs(rep_sub - rep_word)), f"substring 'repetitive' in weaknesses: {rep_sub} (whole word {rep_word})",
    ["text-mention"])

g7, g2 = mean(scores["gemma-7b-it"]), mean(scores["gemma-2b-it"])
add("wildbench", "gemma-7b-it vs gemma-2b-it: which one has the higher average score?", "top",
    "gemma-7b-it" if g7 > g2 else "gemma-2b-it", 0, f"means {g7:.3f} vs {g2:.3f}", ["top", "comparison"])

means = sorted(((m, mean(v)) for m, v in scores.items()), key=lambda kv: -kv[1])
add("wildbench", "Rank the top 3 models by mean score", "topn", [[m, r4(v)] for m, v in means[:3]], 0.01,
    "mean score per model, descending", ["topn", "average"])

reka = [s for m, v in scores.items() if m.startswith("reka") for s in v]
reka_mom = mean(mean(v) for m, v in scores.items() if m.startswith("reka"))
add("wildbench", "What is the average score across all the reka models combined?", "scalar", r4(mean(reka)), 0.01,
    f"pooled mean over the 3 reka models' rows (n={len(reka)}); mean of the 3 means {reka_mom:.4f} as alternative",
    ["average", "group"], alternatives=[r4(reka_mom)])

med_phi = statistics.median(scores["Phi-3-mini-128k-instruct"])
add("wildbench", "median score for phi-3-mini?", "scalar", med_phi, 0,
    "median of score where model == Phi-3-mini-128k-instruct", ["median", "lowercase"])

decline("wildbench", "Which model is best at creative writing tasks?",
        "no task-type column; would need classifying prompts", ["decline", "missing-data"])
decline("wildbench", "Why does gemma-2b-it score so poorly?",
        "'why' needs interpretation of the critiques", ["decline", "interpretation"])

# ---------------------------------------------------------------- disapere (sentences)
ds = read_csv("disapere_peer_reviews/review_sentences.csv")

clar_neg = sum(r["aspect"] == "asp_clarity" and r["polarity"] == "pol_negative" for r in ds)
add("disapere", "How many sentences are negative comments about clarity?", "scalar", clar_neg, 0,
    "aspect == asp_clarity and polarity == pol_negative", ["count", "coded"])

exp_req = sum(r["fine_review_action"] == "arg-request_experiment" for r in ds)
add("disapere", "How many sentences ask the authors to run more experiments?", "scalar", exp_req, 0,
    "fine_review_action == arg-request_experiment", ["count", "coded"])

neg_asp = C(r["aspect"] for r in ds if r["polarity"] == "pol_negative" and r["aspect"] != "none")
t = top_unique(neg_asp)
add("disapere", "Which aspect draws the most negative sentences?", "top", t[0].replace("asp_", ""), 0,
    f"aspect counts among pol_negative (excluding 'none'): {neg_asp.most_common(3)}; value is a substring of asp_substance",
    ["top", "coded"])

pos, neg = sum(r["polarity"] == "pol_positive" for r in ds), sum(r["polarity"] == "pol_negative" for r in ds)
add("disapere", "Of the sentences that have a polarity, what percentage are negative?", "scalar",
    round(100 * neg / (pos + neg), 2), 0.1, f"{neg}/({neg}+{pos}); polarity 'none' excluded", ["share", "negation"])

typo_test = sum(r["fine_review_action"] == "arg-request_typo" and r["split"] == "test" for r in ds)
add("disapere", "number of typo-fix requests in the test split", "scalar", typo_test, 0,
    "fine_review_action == arg-request_typo and split == test", ["count", "filter", "terse"])

per_rev = C(r["review_id"] for r in ds)
add("disapere", "On average, how many sentences does a review have?", "scalar", r4(mean(per_rev.values())), 0.05,
    f"{len(ds)} sentences / {len(per_rev)} distinct review_id", ["average", "group"])

add("disapere", "Break the sentences down by review action", "table",
    dict(C(r["review_action"] for r in ds)), 0, "count per review_action (7 values incl. none)", ["table"])

im_sub, im_word = mentions([r["text"] for r in ds], "imagenet")
add("disapere", "How many sentences mention ImageNet?", "scalar", im_sub, max(1, abs(im_sub - im_word)),
    f"substring 'imagenet' in text: {im_sub} (whole word {im_word})", ["text-mention"])

decline("disapere", "Which of these papers got accepted?",
        "no acceptance decision in the data", ["decline", "missing-data"])

# ---------------------------------------------------------------- disapere_reviews
dr = read_jsonl("disapere_peer_reviews/reviews.jsonl")
conf = collections.defaultdict(list)
for r in dr:
    conf[r["conference"]].append(r["rating"])
cm = {k: mean(v) for k, v in conf.items()}
add("disapere_reviews", "Did ICLR 2019 or ICLR 2020 reviews give higher ratings on average?", "top",
    max(cm, key=cm.get), 0, f"mean rating per conference: {cm}", ["top", "comparison"], alternatives=["ICLR 2019"])

ge6 = sum(r["rating"] >= 6 for r in dr)
add("disapere_reviews", "How many reviews gave a rating of 6 or above?", "scalar", ge6, 0, "rating >= 6",
    ["count", "filter"])

papers = C(r["forum_id"] for r in dr)
add("disapere_reviews", "How many different papers were reviewed?", "scalar", len(papers), 0,
    "distinct forum_id", ["distinct"])

three = sum(v == 3 for v in papers.values())
add("disapere_reviews", "How many papers received exactly three reviews?", "scalar", three, 0,
    "forum_id with exactly 3 rows", ["count", "group-condition"])

med20 = statistics.median(conf["ICLR2020"])
add("disapere_reviews", "median rating in ICLR 2020", "scalar", med20, 0,
    "median of rating where conference == ICLR2020", ["median", "terse"])

ann = C(r["annotator"] for r in dr)
add("disapere_reviews", "Which annotator labelled the most reviews?", "top", top_unique(ann)[0], 0,
    f"rows per annotator: {ann.most_common(3)}", ["top"])

gh_sub, gh_word = mentions([r["text"] for r in dr], "github")
add("disapere_reviews", "How many reviews mention GitHub?", "scalar", gh_sub, abs(gh_sub - gh_word),
    f"substring 'github' in text: {gh_sub} (whole word {gh_word})", ["text-mention"])

long_r = [r["rating"] for r in dr if r["n_sentences"] > 30]
add("disapere_reviews", "What is the average rating of reviews longer than 30 sentences?", "scalar",
    r4(mean(long_r)), 0.01, f"mean rating where n_sentences > 30 (n={len(long_r)})", ["average", "filter"])

decline("disapere_reviews", "How many reviews were submitted in November 2018?",
        "reviews.jsonl has no dates", ["decline", "missing-data", "date"])

# ---------------------------------------------------------------- shepherd
sh = read_jsonl("shepherd_human_critiques/critiques.jsonl")

arith = sum("Arithmetic" in r["error_types"] for r in sh)
add("shepherd", "How many critiques flag an arithmetic error?", "scalar", arith, 0,
    "'Arithmetic' in error_types (list)", ["count", "multi-label"])

multi = sum(len(r["error_types"]) > 1 for r in sh)
add("shepherd", "How many critiques list more than one error type?", "scalar", multi, 0,
    "len(error_types) >= 2", ["count", "multi-label"])

gsm_rel = mean(r["relevance_score"] for r in sh if r["source_dataset"] == "GSM8K")
add("shepherd", "What's the average relevance score on GSM8K questions?", "scalar", r4(gsm_rel), 0.01,
    "mean relevance_score where source_dataset == GSM8K", ["average", "filter"])

grp = collections.defaultdict(list)
for r in sh:
    grp[r["source_dataset"]].append(r["justification_score"])
big_j = {k: mean(v) for k, v in grp.items() if len(v) >= 50}
low_j = top_unique(big_j, reverse=False)
add("shepherd", "Among source datasets with at least 50 critiques, which has the lowest average justification score?",
    "top", low_j[0], 0, f"mean justification_score for sources with n >= 50: {sorted(big_j.items(), key=lambda kv: kv[1])[:3]}",
    ["top", "group-condition", "min"])

irr = sum(r["relevance_score"] == 1 for r in sh)
add("shepherd", "How many candidate answers were judged completely irrelevant?", "scalar", irr, 0,
    "relevance_score == 1 ('1 Completely Irrelevant')", ["count", "coded"])

j12 = sum(r["justification_score"] in (1, 2) for r in sh)
add("shepherd", "What share of critiques got a justification score of 1 or 2, in percent?", "scalar",
    round(100 * j12 / len(sh), 2), 0.1, f"{j12}/{len(sh)}", ["share"])

src = C(r["source_dataset"] for r in sh).most_common(4)
assert src[2][1] != src[3][1]
add("shepherd", "top 3 source datasets by number of critiques", "topn", [[k, v] for k, v in src[:3]], 0,
    "rows per source_dataset", ["topn", "lowercase"])

neither = sum(r["source_dataset"] not in ("GSM8K", "PIQA") for r in sh)
add("shepherd", "How many critiques come from neither GSM8K nor PIQA?", "scalar", neither, 0,
    "source_dataset not in {GSM8K, PIQA}", ["count", "negation"])

decline("shepherd", "Which language model wrote the worst answers?",
        "no model column (README: the source does not say which model produced each candidate)",
        ["decline", "missing-data"])
decline("shepherd", "Are the annotators too harsh on math problems?",
        "a judgement call, not a figure", ["decline", "interpretation"])

# ---------------------------------------------------------------- write
out = HERE / "qa_s8_probes.jsonl"
with open(out, "w", encoding="utf-8") as fh:
    for q in Q:
        fh.write(json.dumps(q, ensure_ascii=False) + "\n")
print(f"wrote {len(Q)} questions to {out}")
print(C(q["dataset"] for q in Q), C(q["expect"]["kind"] for q in Q))
