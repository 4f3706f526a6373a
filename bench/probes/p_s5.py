#!/usr/bin/env python
"""Black-box probes of issue 14 (mentions, per-mention polarity, aspect topics, top complaints).

Usage: python p_s5.py --earful CMD --out results.json [--workdir DIR]

Builds its own workspaces under a temp dir:
  A: a seeded sample of 1,200 URR reviews (+ the one blank row), later 30 more reviews;
  B: crafted and hostile texts (no aspect fit).
Every expected value is computed here from the raw CSV files or from the views the README documents
(`mention_items`, `item_aspects`, the source view), read through DuckDB opened read-only.
Prints `PASS/FAIL id: description: detail` per probe, then `held N of M`.
"""
import argparse
import collections
import csv
import datetime as dt
import json
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata

import duckdb

URR = "/work/shared/datasets/urr_app_reviews/reviews_all.csv"
SEED = 1405
N_SAMPLE = int(os.environ.get("P_S5_SAMPLE", "1200"))  # override only to debug the script
N_NEW = 30

ap = argparse.ArgumentParser()
ap.add_argument("--earful", required=True, help="the earful command (one string, split like a shell would)")
ap.add_argument("--out", required=True)
ap.add_argument("--workdir", default=None)
ARGS = ap.parse_args()

EARFUL = shlex.split(ARGS.earful)
WORK = ARGS.workdir or tempfile.mkdtemp(prefix="p_s5_")
os.makedirs(WORK, exist_ok=True)
ENV = dict(os.environ)
for k in list(ENV):
    if k.startswith("EARFUL_"):
        del ENV[k]
ENV.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="250", EARFUL_WAIT="60")
T0 = time.time()
RESULTS = []
LOG = []


class R:
    def __init__(self, rc, out, err, secs, cmd):
        self.rc, self.out, self.err, self.secs, self.cmd = rc, out, err, secs, cmd

    @property
    def both(self):
        return (self.out or "") + "\n" + (self.err or "")

    def j(self):
        return json.loads(self.out)

    def short(self, n=300):
        s = (self.err.strip() or self.out.strip()).replace("\n", " | ")
        return f"rc={self.rc} " + s[:n]


def run(args, db=None, timeout=900):
    cmd = EARFUL + (["--db", db] if db else []) + [str(a) for a in args]
    t = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout, cwd=WORK)
        r = R(p.returncode, p.stdout, p.stderr, time.time() - t, cmd)
    except subprocess.TimeoutExpired as e:
        r = R(124, e.stdout or "", (e.stderr or "") + f"\n[probe: timed out after {timeout}s]", time.time() - t, cmd)
        if isinstance(r.out, bytes):
            r.out = r.out.decode("utf-8", "replace")
        if isinstance(r.err, bytes):
            r.err = r.err.decode("utf-8", "replace")
    LOG.append({"cmd": " ".join(shlex.quote(c) for c in cmd[len(EARFUL):]), "rc": r.rc, "secs": round(r.secs, 1)})
    return r


def no_trace(r):
    low = r.both.lower()
    return "traceback (most recent call last)" not in low and "unexpected error" not in low


def clean_error(r):
    """non-zero exit, a message, no traceback, no 'unexpected error'"""
    return r.rc != 0 and r.rc != 124 and no_trace(r) and bool(r.both.strip())


def q(db, sql, params=None):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def probe(pid, desc, fn, questionable=False):
    try:
        ok, detail = fn()
    except Exception as e:  # a probe that raises is reported as a failure with its reason
        ok, detail = False, f"probe raised {type(e).__name__}: {e} @ {traceback.format_exc().splitlines()[-3].strip()}"
    RESULTS.append({"id": pid, "description": desc, "ok": bool(ok), "detail": str(detail)[:1500],
                    "questionable": questionable, "t": round(time.time() - T0, 1)})
    print(f"{'PASS' if ok else 'FAIL'} {pid}: {desc}: {str(detail)[:600]}", flush=True)
    return ok


# ----------------------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------------------
with open(URR, encoding="utf-8", newline="") as fh:
    ALL = list(csv.DictReader(fh))
FIELDS = list(ALL[0].keys())
BLANK = [r for r in ALL if not r["review_text"].strip()]
NONBLANK = [r for r in ALL if r["review_text"].strip()]
rng = random.Random(SEED)
POOL = rng.sample(NONBLANK, N_SAMPLE + N_NEW)
SAMPLE, NEW = POOL[:N_SAMPLE], POOL[N_SAMPLE:]
rows_a = SAMPLE[:] + BLANK
rng.shuffle(rows_a)
CSV_A = os.path.join(WORK, "urr_sample.csv")
CSV_NEW = os.path.join(WORK, "urr_new.csv")
for path, rows in ((CSV_A, rows_a), (CSV_NEW, NEW)):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
BY_RID = {r["review_id"]: r for r in SAMPLE + NEW}


def csv_date(r):
    return dt.datetime.strptime(r["date"], "%d/%m/%y").date()


CRAFTED = [
    ("c_but", "Good game, but ridiculously hard.", 4),
    ("c_however", "I love the design however it drains my battery.", 3),
    ("c_except", "Everything works except the sync with my laptop.", 3),
    ("c_although", "Although the app is fast, it crashes on startup.", 2),
    ("f_arrive", "Notifications never arrive.", 1),
    ("f_loads", "It no longer loads.", 1),
    ("f_open", "The app won't open.", 1),
    ("f_crash", "It keeps crashing.", 1),
    ("n_angry", "😡😡", 1),
    ("n_punct", "?!", 2),
    ("e_empty", "", 3),
    ("e_ws", "   \t  ", 3),
    ("long", "The battery drains fast. " * 3000, 1),
    ("html", "<p>Great app</p><br/>But it <b>crashes</b> on start &amp; drains battery", 2),
    ("ja", "このアプリは素晴らしい。でもバッテリーの消耗が激しい。", 3),
    ("de", "Die App stürzt ständig ab, aber das Design ist schön.", 2),
    ("ar", "التطبيق رائع لكن البطارية تنفد بسرعة.", 3),
    ("ru", "Приложение отличное. Но батарея садится быстро.", 3),
    ("mix", "Line one\r\nLine two 👍🏽 cafe\u0301\tend. 👨\u200d👩\u200d👧 family mode is great", 5),
    ("zw", "Zero\u200bwidth and\u00a0nbsp. Second sentence here.", 4),
    ("emoji_end", "Crashes every time I open it. 😡😡😡", 1),
    ("emoji_end2", "Love the new widgets! 👍👍", 5),
    ("lead", "   leading spaces. trailing   ", 3),
]
CSV_B = os.path.join(WORK, "crafted.csv")
with open(CSV_B, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["review_id", "text", "date", "stars"])
    for i, (cid, text, stars) in enumerate(CRAFTED):
        w.writerow([cid, text, f"2016-02-{i + 1:02d}", stars])

DB_A = os.path.join(WORK, "a.duckdb")
DB_B = os.path.join(WORK, "b.duckdb")


def items_of(db, view):
    return {r[0]: {"text": r[1], "rid": r[2]} for r in q(db, f'SELECT item_id, text, review_id FROM "{view}"')}


def mentions_of(db):
    cols = ["mention_id", "item_id", "source", "created_at", "rating", "seq", "start_char", "end_char", "text",
            "polarity", "aspect_id", "aspect"]
    return [dict(zip(cols, r)) for r in q(db, f"SELECT {', '.join(cols)} FROM mention_items")]


def by_item(ms):
    d = collections.defaultdict(list)
    for m in ms:
        d[m["item_id"]].append(m)
    for v in d.values():
        v.sort(key=lambda m: m["seq"])
    return d


def offsets_ok(ms, items):
    bad = []
    for m in ms:
        it = items.get(m["item_id"])
        if it is None:
            bad.append(f"{m['mention_id']}: item not in view")
            continue
        if it["text"][m["start_char"]:m["end_char"]] != m["text"]:
            bad.append(f"{m['mention_id']}: text[{m['start_char']}:{m['end_char']}]={it['text'][m['start_char']:m['end_char']]!r} != {m['text'][:60]!r}")
    return bad


def uncovered(ms_of_item, text):
    cov = [False] * len(text)
    for m in ms_of_item:
        for i in range(max(0, m["start_char"]), min(len(text), m["end_char"])):
            cov[i] = True
    return "".join(ch for i, ch in enumerate(text) if not cov[i])


def is_word_char(ch):
    return unicodedata.category(ch)[0] in "LN"


def is_emoji(ch):
    return unicodedata.category(ch) == "So"


# ----------------------------------------------------------------------------------------------------------
# expected complaints from mention_items + CSV dates
# ----------------------------------------------------------------------------------------------------------
def expected(ms, item_date, since=None, until=None, keep_item=None):
    agg = {}
    for m in ms:
        if m["aspect_id"] is None or m["aspect_id"] < 0:
            continue
        d = item_date.get(m["item_id"])
        if since and (d is None or d < since):
            continue
        if until and (d is None or d >= until):
            continue
        if keep_item and not keep_item(m["item_id"]):
            continue
        a = agg.setdefault(m["aspect_id"], {"name": m["aspect"], "neg": 0, "pos": 0, "mentions": 0, "items": set()})
        a["mentions"] += 1
        if m["polarity"] == "negative":
            a["neg"] += 1
            a["items"].add(m["item_id"])
        elif m["polarity"] == "positive":
            a["pos"] += 1
    for a in agg.values():
        a["n_items"] = len(a["items"])
    return agg


def check_ranking(rows, exp, n, by="id"):
    """rows: [{key, neg, mentions, pos?, items?, share?}] in Earful's order. exp: aspect_id -> agg.
    Ties at the cut-off may be broken either way."""
    probs = []
    byname = collections.defaultdict(list)
    for k, a in exp.items():
        byname[a["name"]].append(k)
    matched = []
    for r in rows:
        cands = [r["key"]] if by == "id" else byname.get(r["key"], [])
        good = None
        for k in cands:
            a = exp.get(k)
            if a is None:
                continue
            ok = a["neg"] == r["neg"] and a["mentions"] == r["mentions"]
            if r.get("pos") is not None:
                ok = ok and a["pos"] == r["pos"]
            if r.get("items") is not None:
                ok = ok and a["n_items"] == r["items"]
            if r.get("share") is not None and a["mentions"]:
                ok = ok and abs(a["neg"] / a["mentions"] - r["share"]) < 0.0015
            if ok:
                good = k
                break
        if good is None:
            ex = {k: (exp[k]["neg"], exp[k]["mentions"], exp[k]["pos"], exp[k]["n_items"]) for k in cands if k in exp}
            probs.append(f"row {r} != expected (neg, mentions, pos, items) {ex or 'no such aspect with mentions'}")
        else:
            matched.append(good)
    negs = [r["neg"] for r in rows]
    if negs != sorted(negs, reverse=True):
        probs.append(f"not ranked by negative mentions: {negs}")
    n_exp = min(n, sum(1 for a in exp.values() if a["neg"] > 0))
    if len(rows) != n_exp:
        probs.append(f"{len(rows)} rows, expected {n_exp}")
    if rows and not probs:
        cut = rows[-1]["neg"]
        missing = [(k, a["name"], a["neg"]) for k, a in exp.items() if a["neg"] > cut and k not in matched]
        if missing:
            probs.append(f"aspects with more negative mentions left out: {missing[:5]}")
    return probs


def exp_top(exp, n):
    return sorted(((a["neg"], k, a["name"]) for k, a in exp.items() if a["neg"] > 0), reverse=True)[:n]


def ask(question, db=None, conv=None):
    args = ["ask", question, "--json"] + (["--conversation", conv] if conv else [])
    r = run(args, db=db or DB_A)
    d = None
    try:
        d = r.j()
    except Exception:
        pass
    return r, d


def complaints_table(d):
    for t in (d or {}).get("tables") or []:
        cols = [c.lower() for c in t["columns"]]
        if "aspect" in cols and any("negative" in c and "mention" in c for c in cols):
            return cols, t["rows"]
    return None, None


def ask_rows(d):
    cols, rows = complaints_table(d)
    if cols is None:
        return None

    def col(*names):
        for nm in names:
            if nm in cols:
                return cols.index(nm)
        return None
    ia, ineg, iall = col("aspect"), col("negative mentions"), col("all mentions", "mentions")
    ipos, iit, ish = col("positive mentions"), col("items with a complaint"), col("negative share")
    out = []
    for row in rows:
        out.append({"key": row[ia], "neg": row[ineg], "mentions": row[iall],
                    "pos": row[ipos] if ipos is not None else None,
                    "items": row[iit] if iit is not None else None,
                    "share": row[ish] if ish is not None else None})
    return out


def ask_check(question, exp, n, must_text=None, db=None):
    r, d = ask(question, db=db)
    if d is None:
        return False, f"no JSON reply: {r.short()}", r, d
    if r.rc != 0 or d.get("status") != "answered":
        return False, f"status={d.get('status')} rc={r.rc}: {str(d.get('answer'))[:300]}", r, d
    rows = ask_rows(d)
    if rows is None:
        return False, f"no complaints table; tables={[t.get('name') for t in d.get('tables') or []]}; answer={str(d.get('answer'))[:200]}", r, d
    probs = check_ranking(rows, exp, n, by="name")
    if must_text and must_text not in (d.get("answer") or ""):
        probs.append(f"answer does not state {must_text!r}")
    if probs:
        return False, f"{'; '.join(probs)[:700]} | expected top: {exp_top(exp, n)} | answer: {str(d.get('answer'))[:200]}", r, d
    return True, f"{len(rows)} rows match: {[(x['key'], x['neg'], x['mentions']) for x in rows]}", r, d


# ==========================================================================================================
# workspace B: crafted and hostile texts
# ==========================================================================================================
print(f"workdir {WORK}", flush=True)
rB = run(["ingest", CSV_B, "--source", "crafted", "--json"], db=DB_B)
if rB.rc != 0:
    print(f"setup: ingest B failed: {rB.short()}", flush=True)


def p_o2():
    r = run(["topics", "aspects", "fit", "--json"], db=DB_B)
    ok = clean_error(r) and "topics mentions" in r.both
    return ok, r.short()


probe("o2_fit_before_mentions", "'topics aspects fit' before 'topics mentions' is a clear error naming 'topics mentions'",
      p_o2)

rBm = run(["topics", "mentions", "--json"], db=DB_B)
B_ITEMS = items_of(DB_B, "crafted") if rB.rc == 0 else {}
B_MS = mentions_of(DB_B) if rBm.rc == 0 else []
B_BY = by_item(B_MS)
B_RID = {v["rid"]: k for k, v in B_ITEMS.items()}


def bms(cid):
    return B_BY.get(B_RID.get(cid), [])


def p_h_offsets():
    if rBm.rc != 0:
        return False, f"topics mentions failed: {rBm.short()}"
    bad = offsets_ok(B_MS, B_ITEMS)
    lost = {}
    for iid, it in B_ITEMS.items():
        u = uncovered(B_BY.get(iid, []), it["text"])
        w = "".join(ch for ch in u if is_word_char(ch))
        if w:
            lost[it["rid"]] = w[:40]
    noment = [it["rid"] for iid, it in B_ITEMS.items() if it["text"].strip() and not B_BY.get(iid)]
    ok = not bad and not lost and not noment
    return ok, f"{len(B_MS)} mentions over {len(B_ITEMS)} hostile items; offset mismatches {bad[:3]}; letters lost {lost}; items without a mention {noment}"


probe("h1_hostile_offsets", "hostile texts (emoji+ZWJ, combining accents, CRLF, tabs, RTL, NBSP, zero-width, "
      "leading spaces): every mention text == item text[start:end], no letter lost, every item has a mention", p_h_offsets)


def p_h_noword():
    out = []
    ok = True
    for cid, text in (("n_angry", "😡😡"), ("n_punct", "?!")):
        ms = bms(cid)
        good = len(ms) == 1 and ms[0]["text"] == text and ms[0]["start_char"] == 0 and ms[0]["end_char"] == len(text)
        if cid == "n_angry":
            good = good and ms[0]["polarity"] == "negative"
        ok = ok and good
        out.append(f"{cid}: {[(m['text'], m['polarity']) for m in ms]}")
    return ok, "; ".join(out) + " (expected one mention each = the whole text; 😡😡 negative)"


probe("h2_no_word_items", "an item with no word ('😡😡', '?!') is exactly one mention of its own; the emoji one is negative "
      "(README: lexicon with emoji)", p_h_noword)


def p_h_long():
    ms = bms("long")
    texts = collections.Counter(m["text"] for m in ms)
    ok = len(ms) == 3000 and set(texts) == {"The battery drains fast."}
    return ok, f"{len(ms)} mentions (expected 3000), distinct texts {list(texts)[:3]}; topics mentions took {rBm.secs:.1f}s rc={rBm.rc}"


probe("h3_very_long_text", "a 75 KB review of 3,000 identical sentences gives 3,000 sentence mentions", p_h_long)


def p_h_html():
    ms = bms("html")
    neg = [m for m in ms if "crashes" in m["text"] and m["polarity"] == "negative"]
    pos = [m for m in ms if "Great app" in m["text"] and "crashes" not in m["text"]]
    ok = bool(ms) and bool(neg) and bool(pos)
    return ok, f"{[(m['text'], m['polarity']) for m in ms]} (expected the 'But it <b>crashes</b>' clause split off and negative)"


probe("h4_html_text", "HTML review '<p>Great app</p><br/>But it <b>crashes</b>...': praise and the negative 'crashes' clause "
      "are separate mentions", p_h_html)


def p_h_ja():
    ms = bms("ja")
    return len(ms) >= 2, f"{[(m['text'], m['polarity']) for m in ms]} (expected 2 sentences split at '。')"


probe("h5_japanese_sentences", "a Japanese review of two sentences ('…素晴らしい。でも…激しい。') gives two mentions", p_h_ja,
      questionable=True)


def p_h_emoji():
    lost = {}
    for cid in ("emoji_end", "emoji_end2", "mix"):
        iid = B_RID.get(cid)
        if not iid:
            lost[cid] = "item missing"
            continue
        u = uncovered(B_BY.get(iid, []), B_ITEMS[iid]["text"])
        e = "".join(ch for ch in u if is_emoji(ch))
        if e:
            lost[cid] = e
    return not lost, f"emoji left out of every mention: {lost or 'none'}"


probe("h6_trailing_emoji_kept", "emoji after the last sentence ('Crashes every time I open it. 😡😡😡') stay inside a mention "
      "(not dropped)", p_h_emoji, questionable=True)


def p_contrast():
    out, ok = [], True
    ms = bms("c_but")
    p = [m for m in ms if "Good game" in m["text"] and "hard" not in m["text"] and m["polarity"] == "positive"]
    n = [m for m in ms if "ridiculously hard" in m["text"] and "Good" not in m["text"] and m["polarity"] == "negative"]
    ok = ok and bool(p) and bool(n)
    out.append(f"c_but: {[(m['text'], m['polarity']) for m in ms]}")
    for cid, a, b in (("c_however", "love the design", "drains"), ("c_except", "Everything works", "sync"),
                      ("c_although", "fast", "crashes")):
        ms = bms(cid)
        both = [m for m in ms if a in m["text"] and b in m["text"]]
        good = len(ms) >= 2 and not both
        ok = ok and good
        out.append(f"{cid}: {[m['text'] for m in ms]}")
    return ok, "; ".join(out)


probe("m10_contrastive_clauses", "clauses split at but/however/except/although; 'Good game, but ridiculously hard.' gives a "
      "positive and a negative mention", p_contrast)


def p_failure_rule():
    out, ok = [], True
    for cid in ("f_arrive", "f_loads", "f_open", "f_crash"):
        ms = bms(cid)
        good = bool(ms) and all(m["polarity"] == "negative" for m in ms)
        ok = ok and good
        out.append(f"{[(m['text'], m['polarity']) for m in ms]}")
    return ok, "; ".join(out)


probe("m11_failure_rule", "README's failures of expectation ('Notifications never arrive.', 'It no longer loads.', "
      "'The app won't open.', 'It keeps crashing.') are negative mentions", p_failure_rule)

# ==========================================================================================================
# workspace A: URR sample
# ==========================================================================================================
rA = run(["ingest", CSV_A, "--source", "urr", "--json"], db=DB_A)
print(f"setup: ingest A rc={rA.rc} ({rA.secs:.1f}s) {rA.out.strip()[:200]}", flush=True)


def p_o1():
    r1 = run(["topics", "complaints"], db=DB_A)
    r2 = run(["topics", "complaints", "--json"], db=DB_A)
    ok = clean_error(r1) and clean_error(r2) and "topics mentions" in r1.both
    return ok, f"text: {r1.short(200)} / json: {r2.short(200)}"


probe("o1_complaints_before_mentions", "'topics complaints' before any mentions: non-zero exit, clear message naming "
      "'topics mentions', no traceback (text and --json)", p_o1)


def p_o3():
    r, d = ask("What are the top 3 complaints?")
    if d is None:
        return False, f"no JSON: {r.short()}"
    txt = (d.get("answer") or "") + " " + " ".join(d.get("notes") or [])
    ok = r.rc == 0 and d.get("status") in ("answered", "declined") and "topics mentions" in txt \
        and "topics aspects fit" in txt and no_trace(r)
    return ok, f"rc={r.rc} status={d.get('status')}: {txt[:400]}"


probe("o3_ask_before_mentions", "asking 'What are the top 3 complaints?' before mentions/aspects exist: no error, and the "
      "reply names 'topics mentions' and 'topics aspects fit' (README)", p_o3)

rAm = run(["topics", "mentions", "--json"], db=DB_A)
print(f"setup: topics mentions A rc={rAm.rc} ({rAm.secs:.1f}s) {rAm.out.strip()[:300]}", flush=True)
A_ITEMS = items_of(DB_A, "urr")
A_MS = mentions_of(DB_A)
A_BY = by_item(A_MS)


def item_dates(items):
    return {iid: csv_date(BY_RID[it["rid"]]) for iid, it in items.items() if it["rid"] in BY_RID}


def p_m1():
    bad = offsets_ok(A_MS, A_ITEMS)
    return rAm.rc == 0 and not bad and len(A_MS) > 0, f"{len(A_MS)} mentions; {len(bad)} mismatches {bad[:3]}"


probe("m1_offsets_exact", "URR sample: every mention's text is exactly item text[start_char:end_char]", p_m1)


def p_m2():
    probs = []
    rids = {it["rid"] for it in A_ITEMS.values()}
    exp_rids = {r["review_id"] for r in SAMPLE}
    if rids != exp_rids:
        probs.append(f"view holds {len(rids)} items, CSV sample has {len(exp_rids)} non-blank")
    noment = [iid for iid, it in A_ITEMS.items() if it["text"].strip() and not A_BY.get(iid)]
    if noment:
        probs.append(f"{len(noment)} non-blank items without a mention, e.g. {noment[:3]}")
    try:
        s = rAm.j()
        seg = s.get("segment", s)
        if seg.get("items_segmented") != len(exp_rids):
            probs.append(f"summary items_segmented={seg.get('items_segmented')} expected {len(exp_rids)}")
        if seg.get("mentions") not in (None, len(A_MS)):
            probs.append(f"summary mentions={seg.get('mentions')} but mention_items has {len(A_MS)}")
    except Exception as e:
        probs.append(f"no JSON summary: {e}: {rAm.short()}")
    for m in A_MS:
        it = A_ITEMS.get(m["item_id"])
        c = BY_RID.get(it["rid"]) if it else None
        if c is None:
            probs.append(f"mention {m['mention_id']} of an unknown item")
            break
        if m["created_at"] is None or m["created_at"].date() != csv_date(c) or m["rating"] != float(c["rating"]) \
                or m["source"] != "urr":
            probs.append(f"mention {m['mention_id']}: created_at={m['created_at']} rating={m['rating']} source={m['source']} "
                         f"but CSV date={c['date']} rating={c['rating']}")
            break
    return not probs, "; ".join(probs) or f"{len(exp_rids)} items, all segmented; created_at/rating/source of all {len(A_MS)} mentions match the CSV"


probe("m2_every_item_linked", "every non-blank sampled review has >=1 mention; the summary counts items and mentions right; "
      "each mention carries its review's CSV date, rating and source", p_m2)


def p_m3():
    lost, order = {}, []
    for iid, it in A_ITEMS.items():
        ms = A_BY.get(iid, [])
        u = uncovered(ms, it["text"])
        w = "".join(ch for ch in u if is_word_char(ch))
        if w:
            lost[it["rid"]] = w[:40]
        if [m["seq"] for m in ms] != list(range(len(ms))):
            order.append(f"{iid}: seq {[m['seq'] for m in ms]}")
        for a, b in zip(ms, ms[1:]):
            if not (a["start_char"] < a["end_char"] <= b["start_char"] < b["end_char"]):
                order.append(f"{iid}: spans {a['start_char']}-{a['end_char']} then {b['start_char']}-{b['end_char']}")
                break
    return not lost and not order, f"items losing letters/digits: {len(lost)} {list(lost.items())[:3]}; order/overlap problems: {order[:3]}"


probe("m3_nothing_lost_in_order", "mentions of an item are in text order (seq 0..k-1), do not overlap, and together cover "
      "every letter and digit of the review", p_m3)


def p_m4():
    pols = collections.Counter(m["polarity"] for m in A_MS)
    probs = []
    if set(pols) - {"positive", "negative", "neutral"}:
        probs.append(f"polarity values {dict(pols)}")
    star = {}
    for m in A_MS:
        c = BY_RID[A_ITEMS[m["item_id"]]["rid"]]
        star.setdefault(int(c["rating"]), collections.Counter())[m["polarity"]] += 1

    def share(s, p):
        n = sum(star.get(s, {}).values())
        return star[s][p] / n if n else 0.0
    n1, n5, p1, p5 = share(1, "negative"), share(5, "negative"), share(1, "positive"), share(5, "positive")
    if not (n1 > 3 * n5 and p5 > 2 * p1):
        probs.append("polarity does not follow the stars")
    return not probs, (f"{'; '.join(probs)} " if probs else "") + \
        f"negative share 1-star {n1:.2f} vs 5-star {n5:.2f}; positive share 5-star {p5:.2f} vs 1-star {p1:.2f}; {dict(pols)}"


probe("m4_polarity_vs_stars", "every mention has a polarity (positive/negative/neutral); negative mentions are >3x as "
      "frequent in 1-star as in 5-star reviews, positive >2x as frequent in 5-star as in 1-star (CSV ratings)", p_m4)


def p_m5():
    before = {(m["mention_id"], m["item_id"], m["seq"], m["start_char"], m["end_char"], m["text"], m["polarity"]) for m in A_MS}
    r1 = run(["topics", "mentions", "--json"], db=DB_A)
    mid = {(m["mention_id"], m["item_id"], m["seq"], m["start_char"], m["end_char"], m["text"], m["polarity"]) for m in mentions_of(DB_A)}
    added = None
    try:
        added = r1.j().get("segment", {}).get("mentions_added")
    except Exception:
        pass
    r2 = run(["topics", "mentions", "--rebuild", "--json"], db=DB_A)
    after = {(m["item_id"], m["seq"], m["start_char"], m["end_char"], m["text"]) for m in mentions_of(DB_A)}
    seg_before = {(x[1], x[2], x[3], x[4], x[5]) for x in before}
    ok = r1.rc == 0 and r2.rc == 0 and mid == before and added in (0, None) and after == seg_before
    return ok, (f"rerun rc={r1.rc} mentions_added={added} unchanged={mid == before}; --rebuild rc={r2.rc} same "
                f"segmentation={after == seg_before} ({len(after)} vs {len(seg_before)})")


probe("m5_rerun_and_rebuild", "a second 'topics mentions' adds nothing and changes nothing; '--rebuild' gives the same "
      "segmentation again, losing no item", p_m5)
A_MS = mentions_of(DB_A)
A_BY = by_item(A_MS)


def p_o4():
    r1 = run(["topics", "complaints"], db=DB_A)
    r2 = run(["topics", "complaints", "--json", "--since", "2016-01-01"], db=DB_A)
    r3 = run(["topics", "aspects", "rename", "0", "Something"], db=DB_A)
    ok = clean_error(r1) and clean_error(r2) and "aspects fit" in r1.both and clean_error(r3)
    return ok, f"complaints: {r1.short(150)} / --json: {r2.short(100)} / rename: {r3.short(150)}"


probe("o4_complaints_before_fit", "after mentions but before 'topics aspects fit': 'topics complaints' (text, --json) and "
      "'topics aspects rename' fail clearly (non-zero, naming 'aspects fit' for complaints), no traceback", p_o4)

# ---------------------------------------------------------------------------------------------------------- fit 1
rF1 = run(["topics", "aspects", "fit", "--json"], db=DB_A, timeout=1500)
print(f"setup: aspects fit 1 rc={rF1.rc} ({rF1.secs:.1f}s) {rF1.out.strip()[:400]} {rF1.err.strip()[-300:] if rF1.rc else ''}",
      flush=True)
A_MS = mentions_of(DB_A)
A_BY = by_item(A_MS)


def aspects_list():
    r = run(["topics", "aspects", "list", "--json"], db=DB_A)
    d = r.j()
    if isinstance(d, dict):
        d = d.get("aspects", d.get("topics", []))
    return {a["id"]: a for a in d}


def agg_by_aspect(ms):
    agg = {}
    for m in ms:
        a = agg.setdefault(m["aspect_id"], {"mentions": 0, "negative": 0, "positive": 0, "items": set(), "names": set()})
        a["mentions"] += 1
        a["items"].add(m["item_id"])
        a["names"].add(m["aspect"])
        if m["polarity"] == "negative":
            a["negative"] += 1
        elif m["polarity"] == "positive":
            a["positive"] += 1
    return agg


def p_a1():
    nulls = sum(1 for m in A_MS if m["aspect_id"] is None)
    L = aspects_list()
    ok = rF1.rc == 0 and nulls == 0 and len(L) >= 3
    return ok, f"fit rc={rF1.rc} in {rF1.secs:.0f}s; {len(L)} aspects; mentions without an aspect id: {nulls} of {len(A_MS)}"


probe("a1_fit", "'topics aspects fit' succeeds on 1,200 reviews, gives >=3 aspects, and every mention gets an aspect id "
      "(an aspect, general or outlier)", p_a1)

GENERIC = set("""great good love loved loves loving like likes liked nice awesome amazing excellent best better perfect
fantastic wonderful cool fun funny ok okay fine bad worst terrible horrible awful useless useful easy simple beautiful
thanks thank recommend recommended works work working worked app apps application applications game games really very
much lot alot just well super pretty praise general stars star rating review reviews five wow""".split())
FILLER = set("and the a an of to for in with it this i my is are so not no on".split())
SENTIMENT = {"praise", "complaint", "complaints", "positive", "negative", "sentiment"}


def p_a2():
    L = aspects_list()
    bad = []
    for a in L.values():
        toks = [t for t in re.findall(r"[a-z0-9']+", (a["name"] or "").lower()) if t not in FILLER]
        if not toks or all(t in GENERIC for t in toks) or any(t in SENTIMENT for t in toks):
            bad.append(a["name"])
    return not bad, f"{len(L)} names; generic/evaluative-only or sentiment names: {bad}; all: {[a['name'] for a in L.values()][:30]}"


probe("a2_aspect_names", "no aspect name is made only of evaluative/generic words (great, good, love, ok, works, app, game, "
      "...) or names a sentiment ('Praise: ...')", p_a2)


def p_a3():
    L = aspects_list()
    agg = agg_by_aspect(A_MS)
    probs = []
    for aid, a in L.items():
        e = agg.get(aid)
        if aid < 0:
            probs.append(f"listed id {aid}")
            continue
        if e is None:
            probs.append(f"aspect {aid} listed but has no mention")
            continue
        got = (a.get("mentions"), a.get("items"), a.get("negative"), a.get("positive"))
        want = (e["mentions"], len(e["items"]), e["negative"], e["positive"])
        if got != want:
            probs.append(f"{aid} {a['name']!r}: (mentions, items, neg, pos) {got} != {want}")
        if e["names"] != {a["name"]}:
            probs.append(f"{aid}: list name {a['name']!r}, mention_items names {e['names']}")
    unlisted = [k for k in agg if k is not None and k >= 0 and k not in L]
    if unlisted:
        probs.append(f"aspect ids on mentions but not listed: {unlisted}")
    return not probs, "; ".join(probs[:6]) or f"{len(L)} aspects, all counts match mention_items"


probe("a3_aspect_list_counts", "'topics aspects list --json': mentions, items, negative and positive of each aspect equal "
      "the counts in mention_items", p_a3)


def p_a4():
    rows = q(DB_A, "SELECT item_id, aspect_id, aspect, mentions, negative, positive FROM item_aspects")
    got = {(r[0], r[1]): (r[3], r[4], r[5]) for r in rows}
    want = {}
    for m in A_MS:
        k = (m["item_id"], m["aspect_id"])
        v = want.setdefault(k, [0, 0, 0])
        v[0] += 1
        v[1] += m["polarity"] == "negative"
        v[2] += m["polarity"] == "positive"
    want = {k: tuple(v) for k, v in want.items()}
    diff = [(k, got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)]
    dup = len(rows) - len(got)
    per_item = collections.Counter(k[0] for k in want if k[1] is not None and k[1] >= 0)
    multi = sum(1 for v in per_item.values() if v >= 2)
    ok = not diff and dup == 0 and multi > 0
    return ok, f"{len(rows)} item_aspects rows; {len(diff)} differ from mention_items, e.g. {diff[:3]}; duplicate rows {dup}; items with >=2 aspects: {multi}"


probe("a4_item_aspects", "item_aspects is derived from the mentions: one row per (item, aspect) with its mention, negative "
      "and positive counts; some items have several aspects", p_a4)

README_GENERIC = {"great", "love", "ok", "works", "app", "game", "good"}
ARTICLES = {"it", "this", "a", "the", "i", "and"}


def p_a5():
    sel = []
    for m in A_MS:
        toks = re.findall(r"[a-z']+", m["text"].lower())
        if toks and all(t in README_GENERIC | ARTICLES for t in toks) and any(t in README_GENERIC for t in toks):
            sel.append(m)
    notgen = [(m["text"], m["aspect"]) for m in sel if (m["aspect"] or "").lower() != "general"]
    return bool(sel) and not notgen, f"{len(sel)} mentions made only of README's generic words; not 'general': {len(notgen)} {notgen[:6]}"


probe("a5_generic_mentions_general", "a mention made only of the README's generic words ('Great app', 'Love it', 'Good game', "
      "'Works') is 'general', not an aspect", p_a5)

# ---------------------------------------------------------------------------------------------------------- edits
L1 = aspects_list()
AGG1 = agg_by_aspect(A_MS)
real = sorted(((AGG1[k]["negative"], -k, k) for k in L1 if k >= 0 and k in AGG1), reverse=True)
X = Y = Z = W = None
if len(real) >= 5:
    X, Y, Z = real[0][2], real[1][2], real[2][2]
    rest = [k for k in L1 if k not in (X, Y, Z) and k in AGG1]
    W = min(rest, key=lambda k: (AGG1[k]["mentions"], k))
NEWNAME = "Renamed by probe"
MAP1 = {m["mention_id"]: m["aspect_id"] for m in A_MS}


def state():
    return {k: (a["name"], a["mentions"], a.get("negative"), a.get("positive")) for k, a in aspects_list().items()}


def p_a6():
    before = state()
    rs = [run(["topics", "aspects", "rename", "9999", "Nope"], db=DB_A),
          run(["topics", "aspects", "merge", str(X), "9999"], db=DB_A),
          run(["topics", "aspects", "delete", "9999"], db=DB_A),
          run(["topics", "aspects", "merge", "--", str(X), "-7"], db=DB_A)]
    after = state()
    ok = all(clean_error(r) for r in rs) and before == after
    return ok, " / ".join(r.short(120) for r in rs) + f"; state unchanged={before == after}"


probe("a6_unknown_aspect_ids", "rename/merge/delete with an unknown aspect id (9999, -7) fail clearly (non-zero, no "
      "traceback) and change nothing", p_a6)


def p_a7():
    before = state()
    r1 = run(["topics", "aspects", "rename", str(X), ""], db=DB_A)
    r2 = run(["topics", "aspects", "rename", str(X), "   "], db=DB_A)
    after = state()
    ok = clean_error(r1) and clean_error(r2) and before == after
    return ok, f"'': {r1.short(120)} / '   ': {r2.short(120)}; names now {after.get(X, ('?',))[0]!r} (was {before.get(X, ('?',))[0]!r})"


probe("a7_rename_empty", "renaming an aspect to '' or '   ' is refused and leaves its name", p_a7, questionable=True)


def p_a8():
    r = run(["topics", "aspects", "rename", str(X), NEWNAME, "--json"], db=DB_A)
    L = aspects_list()
    ms = mentions_of(DB_A)
    names = {m["aspect"] for m in ms if m["aspect_id"] == X}
    rc = run(["topics", "complaints", "--json", "--n", "100"], db=DB_A)
    cn = [c["aspect"] for c in rc.j() if c["aspect_id"] == X] if rc.rc == 0 else ["?"]
    ok = r.rc == 0 and L.get(X, {}).get("name") == NEWNAME and names == {NEWNAME} and cn == [NEWNAME]
    return ok, f"rc={r.rc}; list name {L.get(X, {}).get('name')!r}; mention_items names {names}; complaints name {cn}"


probe("a8_rename", "renaming the top complaint aspect shows the new name in the list, in mention_items and in "
      "'topics complaints'", p_a8)


def p_a9():
    r = run(["topics", "aspects", "merge", str(Y), str(Z), "--json"], db=DB_A)
    L = aspects_list()
    ms = mentions_of(DB_A)
    agg = agg_by_aspect(ms)
    moved = [mid for mid, a in MAP1.items() if a == Z]
    now = {m["mention_id"]: m["aspect_id"] for m in ms}
    wrong = [mid for mid in moved if now.get(mid) != Y]
    want = (AGG1[Y]["mentions"] + AGG1[Z]["mentions"], AGG1[Y]["negative"] + AGG1[Z]["negative"])
    got = (agg.get(Y, {}).get("mentions"), agg.get(Y, {}).get("negative"))
    ok = r.rc == 0 and Z not in L and Z not in agg and Y in L and not wrong and got == want and len(ms) == len(A_MS)
    return ok, (f"rc={r.rc}; {Z} listed={Z in L}; mentions still on {Z}: {agg.get(Z, {}).get('mentions', 0)}; "
                f"{Y} (mentions, neg) {got} expected {want}; moved wrongly {len(wrong)}; total {len(ms)} vs {len(A_MS)}")


probe("a9_merge", "merging two complaint aspects moves every mention of the second into the first (counts add up), the "
      "second disappears, no mention is lost", p_a9)


def p_a10():
    r = run(["topics", "aspects", "delete", str(W), "--json"], db=DB_A)
    L = aspects_list()
    ms = mentions_of(DB_A)
    now = {m["mention_id"]: (m["aspect_id"], m["aspect"]) for m in ms}
    gone = [mid for mid, a in MAP1.items() if a == W]
    bad = [(mid, now.get(mid)) for mid in gone if now.get(mid) is None or not (now[mid][0] == -1 or (now[mid][1] or "").lower() == "outlier")]
    ok = r.rc == 0 and W not in L and not bad and len(ms) == len(A_MS)
    return ok, f"rc={r.rc}; {W} listed={W in L}; {len(gone)} mentions of it, not outliers now: {bad[:3]}; total {len(ms)} vs {len(A_MS)}"


probe("a10_delete", "deleting an aspect removes it from the list; its mentions stay and become outliers (README)", p_a10)

S_EDIT = state() if X is not None else {}
MAP_EDIT = {m["mention_id"]: m["aspect_id"] for m in mentions_of(DB_A)}

# ---------------------------------------------------------------------------------------------------------- fit 2
rF2 = run(["topics", "aspects", "fit", "--json"], db=DB_A, timeout=1500)
print(f"setup: aspects refit rc={rF2.rc} ({rF2.secs:.1f}s) {rF2.out.strip()[:400]}", flush=True)


def p_a11():
    L = aspects_list()
    ms = mentions_of(DB_A)
    agg = agg_by_aspect(ms)
    ok = rF2.rc == 0 and L.get(X, {}).get("name") == NEWNAME and Z not in L and Z not in agg and W not in L \
        and W not in agg and Y in L
    return ok, (f"refit rc={rF2.rc}; {X} named {L.get(X, {}).get('name')!r}; merged {Z} listed={Z in L} mentions="
                f"{agg.get(Z, {}).get('mentions', 0)}; deleted {W} listed={W in L} mentions={agg.get(W, {}).get('mentions', 0)}; "
                f"{Y} listed={Y in L}")


probe("a11_edits_survive_refit", "after a refit the rename, merge and delete still hold (renamed aspect keeps its id and "
      "name; merged and deleted ids have no mentions)", p_a11)


def p_a12():
    S2 = state()
    changed = [(k, S_EDIT[k][0], S2.get(k, ("<gone>",))[0]) for k in S_EDIT if S2.get(k, (None,))[0] != S_EDIT[k][0]]
    try:
        ov = rF2.j().get("overrides_applied")
    except Exception:
        ov = None
    ok = rF2.rc == 0 and not changed and ov == 3
    return ok, f"{len(S_EDIT)} aspects before, {len(S2)} after; ids whose name changed or vanished: {changed[:5]}; overrides_applied={ov} (3 edits)"


probe("a12_ids_kept_on_refit", "a refit on the same data keeps every aspect id with its name and re-applies the 3 edits "
      "(overrides_applied = 3)", p_a12)

# ---------------------------------------------------------------------------------------------------------- new items
MAP_REFIT = {m["mention_id"]: m["aspect_id"] for m in mentions_of(DB_A)}
rN = run(["ingest", CSV_NEW, "--source", "urr", "--json"], db=DB_A)
rNm = run(["topics", "mentions", "--json"], db=DB_A)


def p_a13():
    ms = mentions_of(DB_A)
    items = items_of(DB_A, "urr")
    new_rids = {r["review_id"] for r in NEW}
    new_items = {iid for iid, it in items.items() if it["rid"] in new_rids}
    new_ms = [m for m in ms if m["item_id"] in new_items]
    unassigned = [m["mention_id"] for m in new_ms if m["aspect_id"] is None]
    changed = [mid for mid, a in MAP_REFIT.items() if {m["mention_id"]: m["aspect_id"] for m in ms}.get(mid) != a]
    seg = {}
    try:
        seg = rNm.j().get("segment", {})
    except Exception:
        pass
    bad_off = offsets_ok(new_ms, items)
    ok = rN.rc == 0 and rNm.rc == 0 and len(new_items) == N_NEW and seg.get("items_segmented") == N_NEW and new_ms \
        and not unassigned and not changed and not bad_off and {m["item_id"] for m in new_ms} == new_items
    return ok, (f"ingest rc={rN.rc}, mentions rc={rNm.rc}; new items {len(new_items)}, segmented {seg.get('items_segmented')}; "
                f"{len(new_ms)} new mentions, without aspect id {len(unassigned)}; old mentions whose aspect changed {len(changed)}; "
                f"offset errors {len(bad_off)}")


probe("a13_new_items_get_aspects", "30 reviews ingested after the fit: 'topics mentions' segments only them and gives their "
      "mentions an aspect; earlier mentions keep theirs", p_a13)

# ==========================================================================================================
# complaints on the final state
# ==========================================================================================================
F_ITEMS = items_of(DB_A, "urr")
F_MS = mentions_of(DB_A)
F_DATE = item_dates(F_ITEMS)
EXP_ALL = expected(F_MS, F_DATE)
LATEST = max(F_DATE.values())
MID = {m["mention_id"]: m for m in F_MS}


def cj_rows(data):
    return [{"key": c["aspect_id"], "neg": c["negative"], "mentions": c["mentions"], "pos": c.get("positive"),
             "items": c.get("items_negative"), "share": c.get("negative_share")} for c in data]


def p_c1():
    r = run(["topics", "complaints", "--json"], db=DB_A)
    if r.rc != 0:
        return False, r.short()
    probs = check_ranking(cj_rows(r.j()), EXP_ALL, 5)
    r3 = run(["topics", "complaints", "--json", "--n", "3"], db=DB_A)
    probs += ["--n 3: " + p for p in check_ranking(cj_rows(r3.j()), EXP_ALL, 3)] if r3.rc == 0 else [f"--n 3: {r3.short()}"]
    rb = run(["topics", "complaints", "--json", "--n", "1000"], db=DB_A)
    probs += ["--n 1000: " + p for p in check_ranking(cj_rows(rb.j()), EXP_ALL, 1000)] if rb.rc == 0 else [f"--n 1000: {rb.short()}"]
    return not probs, "; ".join(probs)[:900] or f"top 5 {[(c['aspect'], c['negative'], c['mentions']) for c in r.j()]}; --n 3 and --n 1000 right too"


probe("c1_complaints_ranking", "'topics complaints --json' (n 5, 3, 1000): aspects ranked by negative mentions with "
      "negative, mentions, positive, negative share and items with a complaint equal to mention_items", p_c1)


def check_quotes(data, since=None, until=None):
    probs = []
    for c in data:
        qs, ps = c.get("quotes") or [], c.get("praise") or []
        if c["negative"] > 0 and not qs:
            probs.append(f"{c['aspect']}: no complaint quotes")
        if (c.get("positive") or 0) > 0 and not ps:
            probs.append(f"{c['aspect']}: {c.get('positive')} positive mentions but no praise shown")
        for side, lst, pol in (("quote", qs, "negative"), ("praise", ps, "positive")):
            for x in lst:
                m = MID.get(x.get("mention_id"))
                if m is None:
                    probs.append(f"{side} {x.get('mention_id')}: no such mention")
                    continue
                if m["aspect_id"] != c["aspect_id"] or m["polarity"] != pol or m["item_id"] != x.get("item_id") \
                        or not m["text"].startswith((x.get("text") or "").rstrip("…")):
                    probs.append(f"{side} {x.get('mention_id')} of {c['aspect']!r}: mention is aspect {m['aspect_id']} "
                                 f"{m['polarity']} {m['text'][:50]!r}")
                d = F_DATE.get(m["item_id"])
                if (since and d < since) or (until and d >= until):
                    probs.append(f"{side} {x.get('mention_id')} dated {d}, outside the period")
    return probs


def p_c2():
    r = run(["topics", "complaints", "--json", "--n", "8"], db=DB_A)
    if r.rc != 0:
        return False, r.short()
    probs = check_quotes(r.j())
    nq = sum(len(c.get("quotes") or []) for c in r.j())
    npr = sum(len(c.get("praise") or []) for c in r.j())
    return not probs, "; ".join(probs[:5]) or f"{nq} complaint quotes and {npr} praise quotes, all real mentions of the right aspect and polarity"


probe("c2_quotes_and_praise", "each complaint's quotes are negative mentions of that aspect, its praise positive mentions "
      "of the same aspect, shown whenever the aspect has positive mentions", p_c2)


def p_c3():
    s, u = dt.date(2016, 1, 1), dt.date(2016, 4, 1)
    r = run(["topics", "complaints", "--json", "--since", "2016-01-01", "--until", "2016-04-01", "--n", "10"], db=DB_A)
    if r.rc != 0:
        return False, r.short()
    exp = expected(F_MS, F_DATE, s, u)
    probs = check_ranking(cj_rows(r.j()), exp, 10) + check_quotes(r.j(), s, u)
    return not probs, "; ".join(probs)[:900] or f"{[(c['aspect'], c['negative'], c['mentions']) for c in r.j()][:5]} match CSV-dated counts"


probe("c3_time_window", "'--since 2016-01-01 --until 2016-04-01': counts of mentions of reviews dated (CSV) in "
      "[Jan 1, Apr 1), quotes from that window only", p_c3)


def p_c5():
    rs = {"--n -2": run(["topics", "complaints", "--n", "-2"], db=DB_A),
          "--since 2016-13-45": run(["topics", "complaints", "--since", "2016-13-45"], db=DB_A),
          "--since yesterday": run(["topics", "complaints", "--since", "yesterday"], db=DB_A),
          "--since 16/03/2016": run(["topics", "complaints", "--since", "16/03/2016"], db=DB_A),
          "--until 2016-02-30": run(["topics", "complaints", "--until", "2016-02-30"], db=DB_A)}
    r0 = run(["topics", "complaints", "--n", "0", "--json"], db=DB_A)
    ok0 = clean_error(r0) or (r0.rc == 0 and r0.out.strip() and json.loads(r0.out) == [])
    ok = all(clean_error(r) for r in rs.values()) and ok0
    return ok, " / ".join(f"{k}: {r.short(90)}" for k, r in rs.items()) + f" / --n 0: {r0.short(90)}"


probe("c5_bad_option_values", "'topics complaints' with --n -2, --n 0, and bad dates (2016-13-45, 'yesterday', "
      "16/03/2016, --until 2016-02-30): a clear error, no traceback (--n 0 may instead give an empty list)", p_c5)


def p_c6():
    r1 = run(["topics", "complaints", "--since", "2030-01-01", "--json"], db=DB_A)
    r1t = run(["topics", "complaints", "--since", "2030-01-01"], db=DB_A)
    r2 = run(["topics", "complaints", "--since", "2016-05-01", "--until", "2016-01-01", "--json"], db=DB_A)

    def empty_ok(r):
        if r.rc == 0:
            try:
                return r.j() == []
            except Exception:
                return False
        return clean_error(r)
    ok = empty_ok(r1) and empty_ok(r2) and no_trace(r1t) and r1t.rc in (0, 1, 2) and r1t.both.strip() != ""
    return ok, f"2030: {r1.short(100)} / text: {r1t.short(120)} / reversed: {r2.short(120)}"


probe("c6_empty_and_reversed_window", "a period with no data (--since 2030-01-01) gives an empty list or a clear message; "
      "--since after --until is refused or empty; never a traceback", p_c6)


def p_c8():
    r1 = run(["topics", "complaints", "--json", "--source", "urr"], db=DB_A)
    r2 = run(["topics", "complaints", "--json", "--source", "nosuch"], db=DB_A)
    probs = check_ranking(cj_rows(r1.j()), EXP_ALL, 5) if r1.rc == 0 else [r1.short()]
    ok = not probs and clean_error(r2) and "nosuch" in r2.both
    return ok, f"--source urr: {'; '.join(probs) or 'right'}; --source nosuch: {r2.short(150)}"


probe("c8_source_filter", "--source urr gives the same ranking; an unknown --source is a clear error naming it", p_c8)


def p_c9():
    r = run(["topics", "complaints"], db=DB_A)
    if r.rc != 0:
        return False, r.short()
    line = next((ln for ln in r.out.splitlines() if ln.startswith("1. ")), "")
    m = re.match(r"1\. (.+): (\d+) negative mentions of (\d+) \((\d+)% negative; (\d+) items\), (\d+) positive", line)
    if not m:
        return False, f"first line not in README's format: {line!r}"
    name, neg, men, pct, it, pos = m.group(1), *map(int, m.groups()[1:])
    top = max(a["neg"] for a in EXP_ALL.values())
    cands = [a for a in EXP_ALL.values() if a["name"] == name and a["neg"] == top]
    good = any(a["mentions"] == men and a["n_items"] == it and a["pos"] == pos and neg == a["neg"]
               and abs(100 * a["neg"] / a["mentions"] - pct) <= 1 for a in cands)
    return good, f"{line!r}; expected a top aspect (neg {top}) with its numbers: {[(a['name'], a['neg'], a['mentions'], a['n_items'], a['pos']) for a in EXP_ALL.values() if a['neg'] == top]}"


probe("c9_text_format", "text output: '1. NAME: N negative mentions of M (P% negative; K items), Q positive' as in the "
      "README, with the right numbers", p_c9)

# ==========================================================================================================
# the question engine
# ==========================================================================================================
CONV = {}


def p_q1():
    ok, det, r, d = ask_check("What are the top 5 complaints?", EXP_ALL, 5)
    if d:
        CONV["q1"] = d.get("conversation_id")
        if ok and not d.get("charts"):
            ok, det = False, det + "; no chart (README: a table, a bar chart and quotes)"
    return ok, det


probe("q1_ask_top5", "ask 'What are the top 5 complaints?': answered by the built-in engine with a complaints table equal "
      "to the counts from mention_items, and a chart", p_q1)


def p_q2():
    e15 = expected(F_MS, F_DATE, dt.date(2015, 1, 1), dt.date(2016, 1, 1))
    ok1, d1, _, _ = ask_check("top 3 complaints in 2015", e15, 3, must_text="2015-01-01")
    eq1 = expected(F_MS, F_DATE, dt.date(2016, 1, 1), dt.date(2016, 4, 1))
    ok2, d2, _, _ = ask_check("What were the top 4 complaints in Q1 2016?", eq1, 4, must_text="2016-01-01")
    return ok1 and ok2, f"2015: {d1} || Q1 2016: {d2}"


probe("q2_ask_explicit_periods", "'top 3 complaints in 2015' and 'What were the top 4 complaints in Q1 2016?': counts of "
      "mentions of reviews dated (CSV) in the year / quarter, dates stated", p_q2)


def p_q3():
    ea = expected(F_MS, F_DATE, dt.date(2016, 4, 1))
    ok1, d1, _, _ = ask_check("What do users complain about most since April 2016?", ea, 5, must_text="2016-04-01")
    e16 = expected(F_MS, F_DATE, dt.date(2016, 1, 1), dt.date(2017, 1, 1))
    ok2, d2, _, _ = ask_check("What are the most common complaints in 2016?", e16, 5)
    return ok1 and ok2, f"since April 2016: {d1} || most common in 2016: {d2}"


probe("q3_ask_other_wordings", "'What do users complain about most since April 2016?' and 'What are the most common "
      "complaints in 2016?' are top-complaints questions with the right periods", p_q3)

MARCH = dt.date(LATEST.year if LATEST >= dt.date(LATEST.year, 3, 1) else LATEST.year - 1, 3, 1)


def p_q4():
    em = expected(F_MS, F_DATE, MARCH)
    ok, det, r, d = ask_check("What are the top 5 complaints since March?", em, 5, must_text=MARCH.isoformat())
    CONV["q4"] = d
    return ok, f"latest CSV date {LATEST} -> since {MARCH}: {det}"


probe("q4_ask_since_march", "README's question 'What are the top 5 complaints since March?': March of the data's latest "
      "year (CSV), the date named, counts right", p_q4)


def p_q5():
    d = CONV.get("q4")
    if not d:
        return False, "no q4 reply"
    probs, n = [], 0
    for t in d.get("tables") or []:
        cols = [c.lower() for c in t["columns"]]
        if "polarity" in cols and "text" in cols and "item_id" in cols:
            for row in t["rows"]:
                n += 1
                rec = dict(zip(cols, row))
                cands = [m for m in F_BYI.get(rec["item_id"], []) if m["text"].startswith(str(rec["text"]).rstrip("…"))]
                if not any(m["polarity"] == rec["polarity"] and m["aspect"] == rec.get("aspect") for m in cands):
                    probs.append(f"{rec['item_id']} {rec.get('aspect')!r} {rec['polarity']}: {str(rec['text'])[:50]!r} is not such a mention")
                dd = F_DATE.get(rec["item_id"])
                if dd is None or dd < MARCH:
                    probs.append(f"{rec['item_id']} dated {dd}, before {MARCH}")
    pols = collections.Counter()
    for t in d.get("tables") or []:
        cols = [c.lower() for c in t["columns"]]
        if "polarity" in cols:
            pols.update(r[cols.index("polarity")] for r in t["rows"])
    if n == 0:
        probs.append("no quotes table")
    ids_ok = all(i in F_ITEMS for i in d.get("item_ids") or [])
    if not ids_ok:
        probs.append("item_ids not in the workspace")
    return not probs, "; ".join(probs[:4]) or f"{n} quotes ({dict(pols)}), all real mentions of the named aspect and polarity, dated from {MARCH}"


F_BYI = by_item(F_MS)
probe("q5_ask_quotes", "the 'since March' answer's quotes are mentions of the quoted item with the stated aspect and "
      "polarity, dated in the period; item_ids exist", p_q5)

APP = collections.Counter(BY_RID[it["rid"]]["app"] for it in F_ITEMS.values()).most_common(1)[0][0]


def p_q6():
    r, d = ask(f"What are the top complaints about {APP}?")
    if d is None:
        return False, r.short()
    if d.get("status") == "declined" and r.rc == 0 and no_trace(r):
        return True, f"declined: {str(d.get('answer'))[:250]}"
    if d.get("status") != "answered":
        return False, f"status {d.get('status')}: {str(d.get('answer'))[:250]}"
    app_items = {iid for iid, it in F_ITEMS.items() if BY_RID[it["rid"]]["app"] == APP}
    ea = expected(F_MS, F_DATE, keep_item=lambda i: i in app_items)
    rows = ask_rows(d)
    if rows is None:
        return False, f"answered without a complaints table: {str(d.get('answer'))[:250]}"
    probs = check_ranking(rows, ea, len(rows) or 5, by="name")
    return not probs, ("; ".join(probs)[:600] + f" | expected ({APP} only) {exp_top(ea, 5)}") if probs else f"answered for {APP} only: {[(x['key'], x['neg']) for x in rows]}"


probe("q6_ask_about_app", "'What are the top complaints about <biggest app>?' (not documented): a clear decline, or an "
      "answer whose counts are of that app's reviews only (CSV app)", p_q6)


def p_q7():
    cid = CONV.get("q1")
    if not cid:
        return False, "no conversation from q1"
    r, d = ask("and in 2015?", conv=cid)
    if d is None:
        return False, r.short()
    if d.get("status") == "declined" and r.rc == 0:
        return True, f"declined: {str(d.get('answer'))[:200]}"
    if d.get("status") != "answered":
        return False, f"status {d.get('status')}: {str(d.get('answer'))[:200]}"
    rows = ask_rows(d)
    e15 = expected(F_MS, F_DATE, dt.date(2015, 1, 1), dt.date(2016, 1, 1))
    if rows is None:
        return False, f"answered without complaints table: {str(d.get('answer'))[:250]}"
    probs = check_ranking(rows, e15, 5, by="name")
    return not probs, "; ".join(probs)[:600] or f"follow-up answered with 2015 complaints {[(x['key'], x['neg']) for x in rows]}"


probe("q7_ask_followup_year", "follow-up 'and in 2015?' to 'top 5 complaints': declined, or the top 5 complaints of 2015 "
      "(never an error or the wrong period)", p_q7)


def p_q8():
    r, d = ask("What are the top 5 complaints since 2016-02-30?")
    if d is None:
        return False, r.short()
    ok = r.rc == 0 and no_trace(r) and d.get("status") != "answered"
    return ok, f"status={d.get('status')} plan={d.get('plan')}: {str(d.get('answer'))[:250]}"


probe("q8_ask_bad_date", "'top 5 complaints since 2016-02-30' (no such day): not answered for some other period; "
      "declined with a reason, no traceback", p_q8)


def p_q9():
    r, d = ask("What are the top 2 complaints in 2030?")
    if d is None:
        return False, r.short()
    rows = ask_rows(d) or []
    ok = r.rc == 0 and no_trace(r) and d.get("status") in ("answered", "declined") and not rows
    return ok, f"status={d.get('status')} rows={len(rows)}: {str(d.get('answer'))[:200]}"


probe("q9_ask_empty_period", "'top 2 complaints in 2030' (no data): answered or declined with no rows, no error", p_q9)


def p_r1():
    out = os.path.join(WORK, "rep")
    r = run(["report", "--from", "2016-04-01", "--to", "2016-04-30", "--out", out], db=DB_A)
    md = os.path.join(out, "report.md")
    if not os.path.exists(md):
        return False, f"no report.md: {r.short()}"
    lines = open(md, encoding="utf-8").read().splitlines()
    try:
        i = next(k for k, ln in enumerate(lines) if ln.startswith("| rank | aspect |"))
    except StopIteration:
        return False, "no Top complaints table in report.md"
    cols = [c.strip().lower() for c in lines[i].strip("|").split("|")]
    rows = []
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        cells = [c.strip() for c in ln.strip("|").split("|")]
        rec = dict(zip(cols, cells))
        num = lambda v: int(v) if v and v.lstrip("-").isdigit() else None  # noqa: E731  ('-' = none this period)
        if not num(rec.get("negative mentions")):
            continue  # an aspect complained about only in the previous period
        rows.append({"key": rec["aspect"], "neg": num(rec["negative mentions"]), "mentions": num(rec["mentions"]),
                     "pos": num(rec.get("positive mentions"))})
    exp = expected(F_MS, F_DATE, dt.date(2016, 4, 1), dt.date(2016, 5, 1))
    probs = check_ranking(rows, exp, len(rows), by="name")
    return not probs, "; ".join(probs)[:700] or f"{len(rows)} rows match April 2016 (CSV dates, --to inclusive): {[(x['key'], x['neg']) for x in rows][:5]}"


probe("r1_report_top_complaints", "'earful report --from 2016-04-01 --to 2016-04-30': its Top complaints table counts the "
      "mentions of reviews dated in April 2016 (CSV)", p_r1)


def p_s1():
    items = items_of(DB_A, "urr")
    want = {r["review_id"]: r["review_text"] for r in SAMPLE + NEW}
    got = {it["rid"]: it["text"] for it in items.values()}
    missing = [k for k in want if k not in got]
    diff = [k for k in want if k in got and got[k].strip() != want[k].strip()]
    ms = mentions_of(DB_A)
    lost = len(F_MS) - len(ms)
    bad = offsets_ok(ms, items)
    ok = not missing and not diff and len(got) == len(want) and lost == 0 and not bad
    return ok, f"{len(got)} items (expected {len(want)}), missing {len(missing)}, text differs {len(diff)}; mentions {len(ms)} (before complaints/ask/report {len(F_MS)}); offset errors {len(bad)}"


probe("s1_no_data_lost", "after all edits, refits, asks and the report: every sampled review is still there with its CSV "
      "text, no mention lost, offsets still exact", p_s1)

# ==========================================================================================================
held = sum(1 for r in RESULTS if r["ok"])
print(f"held {held} of {len(RESULTS)}", flush=True)
with open(ARGS.out, "w", encoding="utf-8") as fh:
    json.dump({"held": held, "total": len(RESULTS), "seconds": round(time.time() - T0, 1), "workdir": WORK,
               "earful": ARGS.earful, "seed": SEED, "results": RESULTS, "commands": LOG}, fh, indent=1, ensure_ascii=False)
