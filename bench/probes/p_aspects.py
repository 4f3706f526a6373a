#!/usr/bin/env python3
"""Black-box probes for issue 14 (mentions, aspect topics, top complaints).

Written without reading Earful's code: only README.md, issue14.md, `--help` and the URR dataset. Every probe
compares Earful's output with a value recomputed here (from the raw CSV, from Python string slicing, or from the
`mentions`/`mention_items` tables read back through `earful sql`) or with a concrete expected behaviour.

    python bench/probes/p_aspects.py --earful /work/base20-earful --out /tmp/p_aspects.json
    python bench/probes/p_aspects.py --earful /work/main/.venv/bin/earful --out /tmp/p_aspects.json

One URR workspace (a seeded sample of reviews_all.csv) is built under a temp dir and fitted twice (fit, then a
refit after edits); run it from a folder outside the repo when --earful is a `python -c` wrapper.
"""
import argparse
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

URR = "/work/shared/datasets/urr_app_reviews/reviews_all.csv"
LISTED_GENERIC = {"great", "love", "good", "ok", "works", "app", "game"}  # the words issue 14 and README name
EVALUATIVE = LISTED_GENERIC | {
    "okay", "loved", "loves", "like", "work", "working", "apps", "games", "nice", "awesome", "best", "better",
    "bad", "terrible", "excellent", "amazing", "fun", "cool", "useful", "perfect", "hate", "worst", "horrible",
    "awful", "poor", "fine", "wonderful", "fantastic", "thanks", "thank", "recommend", "useless", "pretty",
    "really", "very", "much", "just", "it", "this", "praise", "easy", "simple", "super", "wow", "lol", "nope",
    "yes", "no", "not", "so", "too", "well", "happy", "glad", "stars", "star", "five", "5",
}
PRAISE_WORDS = {"praise", "great", "good", "love", "nice", "awesome", "best", "excellent", "amazing", "fun",
                "perfect", "wonderful", "fantastic", "thanks", "useful", "cool"}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]

RESULTS = []


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def record(pid, held, reason, detail=None):
    RESULTS.append({"id": pid, "held": bool(held), "reason": reason, "detail": detail})
    print(f"{pid:28s} {'held' if held else 'FAILED'}  {reason}", flush=True)


def probe(pid, fn):
    """Run fn() -> (held, reason[, detail]); a probe that raises is FAILED with the exception as its reason."""
    try:
        out = fn()
        record(pid, out[0], out[1], out[2] if len(out) > 2 else None)
    except Exception as e:  # noqa: BLE001
        record(pid, False, f"probe could not complete: {type(e).__name__}: {str(e)[:300]}")


class Earful:
    def __init__(self, cmd, cwd):
        self.cmd = shlex.split(cmd)
        self.cwd = cwd
        self.env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", COLUMNS="200")
        self.env.pop("EARFUL_DB", None)
        self.env.pop("EARFUL_LLM", None)

    def run(self, db, *args, timeout=300):
        argv = self.cmd + (["--db", db] if db else []) + list(args)
        t = time.time()
        try:
            p = subprocess.run(argv, cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = 124, (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (
                e.stdout or ""), f"timed out after {timeout}s"
        log(f"  [{time.time() - t:6.1f}s rc={rc}] earful {' '.join(args)[:110]}")
        return rc, out, err

    def json(self, db, *args, timeout=300):
        rc, out, err = self.run(db, *args, "--json", timeout=timeout)
        if rc != 0:
            raise RuntimeError(f"rc={rc}: {(err or out)[-400:]}")
        return json.loads(out)

    def sql(self, db, q):
        d = self.json(db, "sql", q, "--limit", "100000000")
        return [dict(zip(d["columns"], r)) for r in d["rows"]]


def clean_error(rc, out, err):
    """A user-facing error: non-zero exit, a message, no traceback and no 'unexpected error'."""
    text = out + err
    return rc != 0 and text.strip() and "Traceback" not in text and "unexpected error" not in text.lower()


def tokens(name):
    return [t for t in re.split(r"[^\w']+", (name or "").lower()) if t]


def sample_urr(n, seed):
    with open(URR, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows = [r for r in rows if r["review_text"].strip()]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


# hand-made items: (id, text, expected mention count or None, expected polarities by position or None)
CONTRAST = [
    ("c1", "good game, but ridiculously hard", 2, ["positive", "negative"]),
    ("c2", "Great graphics but the controls lag constantly.", 2, ["positive", "negative"]),
    ("c3", "The battery drains fast. Also it crashes on startup.", 2, ["negative", "negative"]),
    ("c4", "Nice design, however the ads are annoying.", 2, ["positive", "negative"]),
    ("c5", "Everything else is fine, except the sync keeps failing.", 2, ["positive", "negative"]),
    ("c6", "Although the interface is clean, notifications never arrive.", 2, [None, "negative"]),
    ("c7", "I love the widgets! The login is broken though.", 2, ["positive", "negative"]),
    ("c8", "This update is not good.", 1, ["negative"]),
    ("c9", "Works perfectly, thank you.", 1, ["positive"]),
    ("c10", "Terrible. Crashes every time I open it.", 2, ["negative", "negative"]),
]
LONG = " ".join(
    f"Paragraph {i}: the sync of my notes failed again after update {i}, and the battery went from full to "
    f"{i % 90} percent; however the new editor is quite pleasant to use." for i in range(700))[:100_000]
HOSTILE = [
    ("h_emoji", "😀😀👍🏽🔥🔥"),
    ("h_punct", "?!?!... --- !!! ;;"),
    ("h_long", LONG),
    ("h_de", "Das Spiel ist gut, aber viel zu schwer. Die Werbung nervt!"),
    ("h_zh", "这个应用很好用，但是经常崩溃。电池消耗太快！"),
    ("h_ar", "التطبيق رائع لكن الإعلانات مزعجة جدا."),
    ("h_zwj", "Cafe\u0301 mode 👩\u200d👩\u200d👧 crashes. Re\u0301sume\u0301 feature is great"),
    ("h_crlf", "Line one is fine.\r\nLine two crashes\r\n\r\n- bullet three lags badly"),
    ("h_ws", "   leading and trailing spaces are kept exactly.   "),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--earful", default="/work/base20-earful")
    ap.add_argument("--out", default="p_aspects_results.json")
    ap.add_argument("--sample", type=int, default=1500, help="URR reviews in the workspace")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--workdir", default=None, help="default: a new temp dir")
    args = ap.parse_args()
    t0 = time.time()
    work = args.workdir or tempfile.mkdtemp(prefix="p_aspects_")
    os.makedirs(work, exist_ok=True)
    E = Earful(args.earful, work)
    db = os.path.join(work, "urr.duckdb")
    log(f"workdir {work}")

    # ---- build the URR workspace -------------------------------------------------------------------------
    rows = sample_urr(args.sample, args.seed)
    write_csv(os.path.join(work, "urr.csv"), ["review_id", "app", "date", "rating", "review_text"],
              [[r["review_id"], r["app"], r["date"], r["rating"], r["review_text"]] for r in rows])
    ing = E.json(db, "ingest", "urr.csv", "--source", "reviews", timeout=600)
    E.json(db, "topics", "mentions", timeout=900)
    rc_fit, out_fit, err_fit = E.run(db, "topics", "aspects", "fit", "--json", timeout=1500)
    fit1 = json.loads(out_fit) if rc_fit == 0 else None
    log(f"fit1 rc={rc_fit} {out_fit[:300]} {err_fit[-300:]}")

    probe("A00-build", lambda: (ing["added"] == len(rows) and fit1 is not None,
                                f"ingested {ing['added']}/{len(rows)}; aspects fit rc={rc_fit} "
                                f"{(fit1 or {}).get('aspects')} aspects over {(fit1 or {}).get('mentions')} mentions"
                                + ("" if fit1 else f": {(err_fit or out_fit)[-200:]}")))

    items = {r["item_id"]: r for r in E.sql(db, "SELECT item_id, text, source, created_at FROM items")}
    ments = E.sql(db, "SELECT mention_id, item_id, seq, start_char, end_char, text, polarity, aspect_id "
                      "FROM mentions")

    # ---- segmentation and offsets over URR ----------------------------------------------------------------
    def p_offsets(ms):
        bad = [m for m in ms if items[m["item_id"]]["text"][m["start_char"]:m["end_char"]] != m["text"]]
        ex = bad[0] if bad else None
        return (not bad and len(ms) > 0,
                f"{len(bad)} of {len(ms)} mentions differ from text[start:end]" +
                (f"; e.g. {ex['mention_id']}: {ex['text'][:60]!r} vs "
                 f"{items[ex['item_id']]['text'][ex['start_char']:ex['end_char']][:60]!r}" if ex else ""))

    probe("A01-offsets-slice-exactly", lambda: p_offsets(ments))

    def p_offsets_sql():
        # the same check done by DuckDB itself (character offsets, 1-based substring)
        r = E.sql(db, "SELECT count(*) AS n, count(*) FILTER (WHERE substring(i.text, m.start_char + 1, "
                      "m.end_char - m.start_char) <> m.text) AS bad FROM mentions m JOIN items i USING (item_id)")
        return r[0]["bad"] == 0 and r[0]["n"] == len(ments), f"earful sql: {r[0]['bad']} of {r[0]['n']} differ"

    probe("A02-offsets-via-sql", p_offsets_sql)

    def coverage(ms, item_ids):
        by = {}
        for m in ms:
            by.setdefault(m["item_id"], []).append(m)
        lost, overlap, none = [], [], []
        for iid in item_ids:
            text = items[iid]["text"]
            spans = sorted((m["start_char"], m["end_char"]) for m in by.get(iid, []))
            if not spans:
                none.append(iid)
            covered = [False] * len(text)
            for s, e in spans:
                for k in range(max(s, 0), min(e, len(text))):
                    covered[k] = True
            if any(ch.isalnum() and not covered[k] for k, ch in enumerate(text)):
                lost.append(iid)
            if any(spans[k][0] < spans[k - 1][1] for k in range(1, len(spans))):
                overlap.append(iid)
        return lost, overlap, none, by

    urr_ids = [i for i, r in items.items() if r["source"] == "reviews"]

    def p_cover():
        lost, overlap, none, by = coverage(ments, urr_ids)
        ex = ""
        if lost:
            iid = lost[0]
            ex = f"; e.g. item {iid} {items[iid]['text'][:80]!r} spans " \
                 f"{[(m['start_char'], m['end_char']) for m in by.get(iid, [])]}"
        return (not lost and not none,
                f"{len(lost)} items with letters/digits outside every mention, {len(none)} items with no "
                f"mention, of {len(urr_ids)}" + ex)

    probe("A03-no-text-lost", p_cover)
    probe("A04-spans-disjoint", lambda: (lambda r: (not r[1], f"{len(r[1])} items with overlapping mentions"))(
        coverage(ments, urr_ids)))

    def p_seq():
        by = {}
        for m in ments:
            by.setdefault(m["item_id"], []).append(m)
        bad = [i for i, ms in by.items()
               if [m["seq"] for m in sorted(ms, key=lambda m: m["start_char"])] != list(range(len(ms)))]
        return not bad, f"{len(bad)} items whose seq is not 0..n-1 in text order"

    probe("A05-seq-in-text-order", p_seq)

    def p_polarity_vs_stars():
        # single-mention reviews: 1-star should mostly be negative, 5-star mostly positive
        by = {}
        for m in ments:
            by.setdefault(m["item_id"], []).append(m)
        rating = {r["item_id"]: r["rating"] for r in E.sql(db, "SELECT item_id, rating FROM items")}
        one = [by[i][0]["polarity"] for i in by if len(by[i]) == 1 and rating.get(i) == 1]
        five = [by[i][0]["polarity"] for i in by if len(by[i]) == 1 and rating.get(i) == 5]
        neg1 = sum(p == "negative" for p in one) / max(len(one), 1)
        pos5 = sum(p == "positive" for p in five) / max(len(five), 1)
        return (neg1 >= 0.5 and pos5 >= 0.5 and one and five,
                f"single-mention 1-star reviews negative {neg1:.2f} (n={len(one)}), 5-star positive {pos5:.2f} "
                f"(n={len(five)}); expected both >= 0.50")

    probe("A06-polarity-vs-stars", p_polarity_vs_stars)

    # ---- aspects list ----------------------------------------------------------------------------------------
    alist = E.json(db, "topics", "aspects", "list") if fit1 else []
    mi = E.sql(db, "SELECT mention_id, item_id, created_at, polarity, aspect_id, aspect, text, source "
                   "FROM mention_items") if fit1 else []

    def p_counts():
        bad = []
        for a in alist:
            ms = [m for m in mi if m["aspect_id"] == a["id"]]
            exp = (len(ms), len({m["item_id"] for m in ms}), sum(m["polarity"] == "negative" for m in ms),
                   sum(m["polarity"] == "positive" for m in ms))
            got = (a.get("mentions"), a.get("items"), a.get("negative"), a.get("positive"))
            if exp != got:
                bad.append((a["id"], got, exp))
        same = sum(a.get("mentions") == a.get("items") for a in alist)
        return (alist and not bad and same < len(alist),
                f"{len(bad)} of {len(alist)} aspects whose (mentions, items, negative, positive) differ from "
                f"mention_items" + (f"; e.g. id {bad[0][0]}: listed {bad[0][1]} vs recomputed {bad[0][2]}"
                                    if bad else "") + f"; {same} aspects with mentions == items")

    probe("A07-list-counts-items-vs-mentions", p_counts)

    def top30():
        return sorted(alist, key=lambda a: -(a.get("mentions") or 0))[:30]

    def p_names_only_generic():
        bad = [a["name"] for a in top30() if not set(tokens(a["name"])) - EVALUATIVE]
        return (alist and not bad, f"{len(bad)} of top {len(top30())} aspect names made only of evaluative/"
                                   f"generic words" + (f": {bad[:6]}" if bad else ""))

    probe("A08-names-not-only-generic", p_names_only_generic)

    def p_names_listed_words():
        bad = [a["name"] for a in alist if set(tokens(a["name"])) & LISTED_GENERIC]
        return (alist and not bad, f"{len(bad)} of {len(alist)} aspect names contain one of "
                                   f"{sorted(LISTED_GENERIC)}" + (f": {bad[:6]}" if bad else ""))

    probe("A09-names-no-listed-word", p_names_listed_words)

    def p_name_consistency():
        names = {r["aspect_id"]: r["name"] for r in E.sql(db, "SELECT aspect_id, name FROM aspects")}
        bad = [m for m in mi if m["aspect_id"] is not None and m["aspect_id"] >= 0
               and m["aspect"] != names.get(m["aspect_id"])]
        unassigned = [m for m in mi if m["aspect_id"] is None]
        return (not bad and not unassigned and mi,
                f"{len(bad)} mentions whose aspect name differs from aspects.name; {len(unassigned)} mentions "
                f"with no aspect_id after the fit (of {len(mi)})")

    probe("A10-mention-aspect-names", p_name_consistency)

    # ---- top complaints: CLI -------------------------------------------------------------------------------
    latest = max(dt.date.fromisoformat(str(r["created_at"])[:10]) for r in items.values() if r["created_at"])
    month = max(latest.month - 4, 1)
    since = dt.date(latest.year, month, 1)
    log(f"latest date {latest}; complaints since {since}")

    def recompute(since_d, source="reviews"):
        agg = {}
        for m in mi:
            if m["aspect_id"] is None or m["aspect_id"] < 0 or m["source"] != source:
                continue
            if not m["created_at"] or str(m["created_at"])[:10] < since_d.isoformat():
                continue
            a = agg.setdefault(m["aspect_id"], {"neg": 0, "pos": 0, "all": 0, "items": set()})
            a["all"] += 1
            if m["polarity"] == "negative":
                a["neg"] += 1
                a["items"].add(m["item_id"])
            elif m["polarity"] == "positive":
                a["pos"] += 1
        return agg

    comp = None
    if fit1:
        rc, out, err = E.run(db, "topics", "complaints", "--since", since.isoformat(), "--n", "5", "--json")
        comp = json.loads(out) if rc == 0 else None
    agg = recompute(since) if fit1 else {}

    def check_ranking(listed):
        """listed: [(aspect_id, neg, pos, all, items_neg)]; compare with the recomputation."""
        probs = []
        for aid, neg, pos, alln, itn in listed:
            a = agg.get(aid)
            if not a:
                probs.append(f"aspect {aid} has no mentions since {since}")
                continue
            exp = (a["neg"], a["pos"], a["all"], len(a["items"]))
            if (neg, pos, alln, itn) != exp:
                probs.append(f"aspect {aid}: listed (neg,pos,all,items)={(neg, pos, alln, itn)} recomputed {exp}")
        if listed:
            floor = min(x[1] for x in listed)
            ids = {x[0] for x in listed}
            above = [k for k, a in agg.items() if k not in ids and a["neg"] > floor]
            if above:
                probs.append(f"aspects {above[:5]} have more negative mentions ({[agg[k]['neg'] for k in above[:5]]})"
                             f" than the lowest listed ({floor})")
            negs = [x[1] for x in listed]
            if negs != sorted(negs, reverse=True):
                probs.append(f"not ranked by negative mentions: {negs}")
        return probs

    def p_cli_counts():
        listed = [(c["aspect_id"], c["negative"], c["positive"], c["mentions"], c["items_negative"]) for c in comp]
        probs = check_ranking(listed)
        return (len(comp) == 5 and not probs,
                f"{len(comp)} aspects since {since}; " + ("; ".join(probs[:3]) if probs else "counts and ranking "
                                                          "equal the recomputation from mention_items"))

    probe("A11-complaints-cli-counts", p_cli_counts)

    def not_praise(name):
        return not (set(tokens(name)) & PRAISE_WORDS) and bool(set(tokens(name)) - EVALUATIVE)

    probe("A12-complaints-cli-no-praise", lambda: (
        comp and all(not_praise(c["aspect"]) and c["negative"] > 0 for c in comp),
        f"aspects: {[c['aspect'] for c in comp]}"))

    mi_by_id = {m["mention_id"]: m for m in mi}

    def quote_ok(q, aid, pol):
        m = mi_by_id.get(q.get("mention_id"))
        if not m:
            return f"mention {q.get('mention_id')} not in mention_items"
        if m["item_id"] != q.get("item_id") or q.get("item_id") not in items:
            return f"item id {q.get('item_id')} does not exist or is not the mention's"
        if m["aspect_id"] != aid:
            return f"mention {m['mention_id']} is aspect {m['aspect_id']}, not {aid}"
        if m["polarity"] != pol:
            return f"mention {m['mention_id']} is {m['polarity']}, not {pol}"
        qt = q.get("text", "").rstrip("…").rstrip(".")
        if not m["text"].startswith(qt[:40]):
            return f"quote text {q.get('text')[:40]!r} is not the mention's {m['text'][:40]!r}"
        if str(m["created_at"])[:10] < since.isoformat():
            return f"quote {m['mention_id']} is dated {m['created_at']}, before {since}"
        return None

    def p_cli_quotes(key, pol):
        probs, n = [], 0
        for c in comp:
            for q in c.get(key) or []:
                n += 1
                p = quote_ok(q, c["aspect_id"], pol)
                if p:
                    probs.append(p)
        return (n > 0 and not probs, f"{len(probs)} of {n} {key} quotes wrong" +
                (f"; e.g. {probs[0]}" if probs else f" (each a {pol} mention of its aspect, item exists)"))

    probe("A13-complaints-cli-quotes-negative", lambda: p_cli_quotes("quotes", "negative"))
    probe("A14-complaints-cli-praise-positive", lambda: p_cli_quotes("praise", "positive"))

    # ---- top complaints: ask --------------------------------------------------------------------------------
    mname = MONTHS[month - 1]
    question = f"What are the top 5 complaints since {mname}?"
    ask = None
    if fit1:
        rc, out, err = E.run(db, "ask", question, "--json", timeout=300)
        ask = json.loads(out) if out.strip().startswith("{") else {"status": f"rc={rc}", "answer": err[-300:]}
    names_by_id = {a["id"]: a["name"] for a in alist}
    id_by_name = {v: k for k, v in names_by_id.items()}

    def ask_table(name):
        for t in (ask or {}).get("tables", []):
            if t.get("name") == name:
                return [dict(zip(t["columns"], r)) for r in t["rows"]]
        return None

    def p_ask_counts():
        if not ask or ask.get("status") != "answered":
            return False, f"{question!r}: status {ask and ask.get('status')}: {(ask or {}).get('answer', '')[:200]}"
        rows_ = ask_table("complaints")
        if not rows_:
            return False, f"no 'complaints' table; tables {[t.get('name') for t in ask.get('tables', [])]}"
        listed = []
        for r in rows_:
            aid = id_by_name.get(r.get("aspect"))
            if aid is None:
                return False, f"aspect {r.get('aspect')!r} is not an aspect name"
            listed.append((aid, r.get("negative mentions"), r.get("positive mentions"), r.get("all mentions"),
                           r.get("items with a complaint")))
        probs = check_ranking(listed)
        return (len(rows_) == 5 and not probs,
                f"{question!r}: {len(rows_)} aspects; " + ("; ".join(probs[:3]) if probs else
                                                          f"counts equal the recomputation since {since}"))

    probe("A15-ask-top5-counts", p_ask_counts)

    def p_ask_since():
        txt = (ask or {}).get("answer", "")
        return since.isoformat() in txt, f"answer names the start date {since}: {since.isoformat() in txt}; " \
                                         f"{txt[:120]!r}"

    probe("A16-ask-names-period", p_ask_since)

    def p_ask_no_praise():
        rows_ = ask_table("complaints") or []
        return (rows_ and all(not_praise(r["aspect"]) for r in rows_), f"aspects {[r['aspect'] for r in rows_]}")

    probe("A17-ask-no-praise", p_ask_no_praise)

    def p_ask_quotes():
        rows_ = ask_table("quotes") or []
        probs = []
        for r in rows_:
            aid = id_by_name.get(r.get("aspect"))
            cand = [m for m in mi if m["item_id"] == r.get("item_id") and m["aspect_id"] == aid
                    and m["polarity"] == r.get("polarity")
                    and m["text"].startswith(str(r.get("text", "")).rstrip("…")[:40])]
            if r.get("item_id") not in items or not cand:
                probs.append(f"{r.get('polarity')} quote {str(r.get('text'))[:50]!r} ({r.get('item_id')}) is not a "
                             f"{r.get('polarity')} mention of {r.get('aspect')!r}")
            elif str(cand[0]["created_at"])[:10] < since.isoformat():
                probs.append(f"quote {r.get('item_id')} before {since}")
        neg = sum(r.get("polarity") == "negative" for r in rows_)
        return (neg > 0 and not probs, f"{len(probs)} of {len(rows_)} quotes wrong ({neg} negative)" +
                (f"; e.g. {probs[0]}" if probs else ""))

    probe("A18-ask-quotes-are-mentions", p_ask_quotes)

    def p_ask_vs_cli():
        rows_ = ask_table("complaints") or []
        # the CLI with the same start date must give the same aspects in the same order
        return ([r["aspect"] for r in rows_] == [c["aspect"] for c in comp] and rows_,
                f"ask {[r['aspect'] for r in rows_]} vs topics complaints {[c['aspect'] for c in comp]}")

    probe("A19-ask-equals-cli", p_ask_vs_cli)

    # ---- idempotent reruns ---------------------------------------------------------------------------------
    def keyset():
        r = E.sql(db, "SELECT mention_id, item_id, seq, start_char, end_char FROM mentions")
        return r, {(x["item_id"], x["start_char"], x["end_char"]) for x in r}

    def p_rerun():
        d = E.json(db, "topics", "mentions", timeout=600)
        r, ks = keyset()
        dup = len(r) - len(ks)
        dup2 = len(r) - len({(x["item_id"], x["seq"]) for x in r})
        return (len(r) == len(ments) and dup == 0 and dup2 == 0 and d["segment"]["mentions_added"] == 0,
                f"rerun added {d['segment']['mentions_added']}; mentions {len(ments)} -> {len(r)}; "
                f"{dup} duplicate spans, {dup2} duplicate (item, seq)")

    probe("A20-mentions-rerun-idempotent", p_rerun)

    def p_rebuild():
        before = {(x["item_id"], x["start_char"], x["end_char"]) for x in ments}
        E.json(db, "topics", "mentions", "--rebuild", timeout=900)
        r, ks = keyset()
        return (len(r) == len(ks) == len(before) and ks == before,
                f"--rebuild: {len(before)} -> {len(r)} mentions, {len(r) - len(ks)} duplicates, "
                f"{len(ks ^ before)} spans differ")

    probe("A21-mentions-rebuild-same", p_rebuild)

    # ---- edits survive a refit -------------------------------------------------------------------------------
    mi_now = E.sql(db, "SELECT mention_id, aspect_id FROM mention_items") if fit1 else []
    al = sorted(E.json(db, "topics", "aspects", "list") if fit1 else [], key=lambda a: -a["mentions"])
    edits = {}
    if len(al) >= 6:
        ren, keep, gone, dele = al[1]["id"], al[2]["id"], al[3]["id"], al[5]["id"]
        edits = {"rename": ren, "merge_into": keep, "merge_from": gone, "delete": dele,
                 "keep_name": al[2]["name"]}
        members = lambda aid: {m["mention_id"] for m in mi_now if m["aspect_id"] == aid}  # noqa: E731
        edits["sets"] = {k: members(v) for k, v in [("ren", ren), ("keep", keep), ("gone", gone), ("dele", dele)]}
        r1 = E.run(db, "topics", "aspects", "rename", str(ren), "Probe renamed aspect")
        r2 = E.run(db, "topics", "aspects", "merge", str(keep), str(gone))
        r3 = E.run(db, "topics", "aspects", "delete", str(dele))
        edits["rcs"] = [r1[0], r2[0], r3[0]]

    def p_edits_now():
        if not edits:
            return False, "fewer than 6 aspects to edit"
        cur = E.sql(db, "SELECT mention_id, aspect_id, aspect FROM mention_items")
        cm = {m["mention_id"]: m for m in cur}
        s = edits["sets"]
        probs = []
        if any(cm[x]["aspect"] != "Probe renamed aspect" for x in s["ren"]):
            probs.append("renamed aspect's mentions do not carry the new name")
        if any(cm[x]["aspect_id"] != edits["merge_into"] for x in s["gone"]):
            probs.append(f"merged mentions not all in aspect {edits['merge_into']}")
        if any(cm[x]["aspect_id"] is None or cm[x]["aspect_id"] >= 0 for x in s["dele"]):
            probs.append("deleted aspect's mentions are not outliers")
        return (edits["rcs"] == [0, 0, 0] and not probs, f"rcs {edits['rcs']}; " + ("; ".join(probs) or
                                                                                      "rename/merge/delete visible"))

    probe("A22-edits-applied", p_edits_now)

    fit2 = None
    if edits:
        rc, out, err = E.run(db, "topics", "aspects", "fit", "--json", timeout=1500)
        fit2 = json.loads(out) if rc == 0 else None
        log(f"fit2 rc={rc} {out[:300]} {err[-300:]}")

    def after_refit():
        al2 = E.json(db, "topics", "aspects", "list")
        cur = E.sql(db, "SELECT mention_id, aspect_id, aspect FROM mention_items")
        return al2, {m["mention_id"]: m for m in cur}

    post = after_refit() if fit2 else None

    def p_rename_survives():
        if not post:
            return False, "refit failed"
        al2, cm = post
        named = [a for a in al2 if a["name"] == "Probe renamed aspect"]
        s = edits["sets"]["ren"]
        if not named:
            return False, f"no aspect named 'Probe renamed aspect' after the refit (ids {[a['id'] for a in al2][:10]})"
        now = {k for k, m in cm.items() if m["aspect_id"] == named[0]["id"]}
        jac = len(now & s) / max(len(now | s), 1)
        return (named[0]["id"] == edits["rename"] and jac >= 0.5,
                f"renamed aspect id {edits['rename']} -> {named[0]['id']} after refit; Jaccard of its mentions "
                f"{jac:.2f} (expected same id, >= 0.5)")

    probe("A23-rename-survives-refit", p_rename_survives)

    def p_merge_survives():
        if not post:
            return False, "refit failed"
        al2, cm = post
        ids = {a["id"] for a in al2}
        union = edits["sets"]["keep"] | edits["sets"]["gone"]
        inside = sum(cm.get(x, {}).get("aspect_id") == edits["merge_into"] for x in union)
        return (edits["merge_from"] not in ids and edits["merge_into"] in ids and inside >= 0.5 * len(union),
                f"merged-away id {edits['merge_from']} active after refit: {edits['merge_from'] in ids}; "
                f"{inside} of {len(union)} merged mentions in aspect {edits['merge_into']}")

    probe("A24-merge-survives-refit", p_merge_survives)

    def p_delete_survives():
        if not post:
            return False, "refit failed"
        al2, cm = post
        s = edits["sets"]["dele"]
        out_ = sum((cm.get(x, {}).get("aspect_id") or 0) < 0 for x in s)
        return (edits["delete"] not in {a["id"] for a in al2} and out_ >= 0.5 * len(s),
                f"deleted id {edits['delete']} active after refit: {edits['delete'] in {a['id'] for a in al2}}; "
                f"{out_} of {len(s)} of its mentions still outliers/general")

    probe("A25-delete-survives-refit", p_delete_survives)

    # ---- hand-made contrastive and hostile items, added after the fit -----------------------------------------
    hand_rows = [[cid, "2010-01-05", "3", text] for cid, text, _, _ in CONTRAST]
    hand_rows += [[hid, "2010-01-06", "3", text] for hid, text in HOSTILE]
    hand_rows += [["h_empty", "2010-01-07", "3", ""]]
    write_csv(os.path.join(work, "hand.csv"), ["id", "date", "rating", "text"], hand_rows)
    before_ids = {m["mention_id"]: (m["item_id"], m["start_char"], m["end_char"])
                  for m in E.sql(db, "SELECT mention_id, item_id, start_char, end_char FROM mentions")}
    rc_i, out_i, err_i = E.run(db, "ingest", "hand.csv", "--source", "hand", "--json")
    ing2 = json.loads(out_i) if rc_i == 0 else {}
    rc_m, out_m, err_m = E.run(db, "topics", "mentions", "--json", timeout=900)
    seg2 = json.loads(out_m) if rc_m == 0 else None
    hand_items = {r["external_id"]: r for r in E.sql(db, "SELECT item_id, external_id, text, source, created_at "
                                                         "FROM items WHERE source = 'hand'")}
    for r in hand_items.values():
        items[r["item_id"]] = r
    hm = E.sql(db, "SELECT m.mention_id, m.item_id, i.external_id, m.seq, m.start_char, m.end_char, m.text, "
                   "m.polarity, m.aspect_id FROM mentions m JOIN items i USING (item_id) WHERE i.source = 'hand' "
                   "ORDER BY i.external_id, m.seq")

    def p_hostile_run():
        quar = E.sql(db, "SELECT * FROM quarantine")
        qtext = json.dumps(quar, default=str)
        emp_ok = "h_empty" in hand_items or "h_empty" in qtext
        n_in = sum(1 for r in hand_rows if r[0] in hand_items or r[0] in qtext)
        long_ok = "h_long" in hand_items or "h_long" in qtext
        return (rc_i == 0 and rc_m == 0 and emp_ok and long_ok and n_in == len(hand_rows),
                f"ingest rc={rc_i} ({ing2.get('added')} added, {ing2.get('quarantined')} quarantined), mentions "
                f"rc={rc_m}; {n_in} of {len(hand_rows)} hand rows in items or quarantine; "
                f"empty row kept: {emp_ok}; 100 KB row kept: {long_ok}" + ("" if rc_m == 0 else f"; {err_m[-200:]}"))

    probe("A26-hostile-no-crash-nothing-lost", p_hostile_run)

    def p_hostile_offsets():
        held, reason = p_offsets(hm)
        lost, overlap, none, _ = coverage(hm, [r["item_id"] for r in hand_items.values() if r["text"].strip()])
        names = {r["item_id"]: k for k, r in hand_items.items()}
        return (held and not lost and not none,
                reason + f"; letters lost in {[names[i] for i in lost]}; no mention for {[names[i] for i in none]}")

    probe("A27-hostile-offsets-coverage", p_hostile_offsets)

    def p_old_ids_stable():
        after = {m["mention_id"]: (m["item_id"], m["start_char"], m["end_char"])
                 for m in E.sql(db, "SELECT mention_id, item_id, start_char, end_char FROM mentions")}
        changed = [k for k, v in before_ids.items() if after.get(k) != v]
        new_un = [m for m in hm if m["aspect_id"] is None]
        return (not changed and seg2 and not new_un,
                f"{len(changed)} earlier mentions changed or vanished; {len(new_un)} new hand mentions without an "
                f"aspect id (aspects: {(seg2 or {}).get('aspects')})")

    probe("A28-new-items-incremental", p_old_ids_stable)

    def p_contrast():
        bad = []
        for cid, _, n, pols in CONTRAST:
            ms = [m for m in hm if m["external_id"] == cid]
            got = [m["polarity"] for m in ms]
            if len(ms) != n or any(p and p != g for p, g in zip(pols, got)):
                bad.append(f"{cid}: {[m['text'] for m in ms]} {got}")
        return (not bad, f"{len(CONTRAST) - len(bad)} of {len(CONTRAST)} hand-made items split and scored as "
                         f"expected" + (f"; wrong: {'; '.join(bad)[:500]}" if bad else ""))

    probe("A29-contrastive-split-polarity", p_contrast)

    def p_contrast_issue_example():
        ms = [m for m in hm if m["external_id"] == "c1"]
        return (len(ms) == 2 and ms[0]["polarity"] == "positive" and ms[1]["polarity"] == "negative",
                f"'good game, but ridiculously hard' -> {[(m['text'], m['polarity']) for m in ms]}")

    probe("A30-issue-example", p_contrast_issue_example)

    # ---- error paths ---------------------------------------------------------------------------------------
    def p_errors():
        fresh = os.path.join(work, "fresh.duckdb")
        write_csv(os.path.join(work, "tiny.csv"), ["id", "text"], [["1", "hello there"], ["2", "crashes a lot"]])
        E.run(fresh, "ingest", "tiny.csv", "--source", "tiny")
        outs = {
            "complaints without aspects": E.run(fresh, "topics", "complaints"),
            "aspects fit on 2 items": E.run(fresh, "topics", "aspects", "fit"),
            "rename unknown aspect": E.run(db, "topics", "aspects", "rename", "99999", "x"),
            "merge unknown aspect": E.run(db, "topics", "aspects", "merge", "0", "99999"),
            "complaints --since bogus": E.run(db, "topics", "complaints", "--since", "not-a-date"),
        }
        bad = [f"{k}: rc={v[0]} {(v[1] + v[2]).strip()[-160:]!r}" for k, v in outs.items() if not clean_error(*v)]
        return not bad, f"{len(outs) - len(bad)} of {len(outs)} give a clean error" + (
            f"; not: {'; '.join(bad)}" if bad else "")

    probe("A31-clean-errors", p_errors)

    held = sum(r["held"] for r in RESULTS)
    print(f"held {held} of {len(RESULTS)}  ({time.time() - t0:.0f}s, earful={args.earful}, workdir={work})")
    with open(args.out, "w") as f:
        json.dump({"earful": args.earful, "held": held, "total": len(RESULTS), "seconds": round(time.time() - t0),
                   "sample": args.sample, "seed": args.seed, "since": since.isoformat(), "question": question,
                   "fit1": fit1, "fit2": fit2, "probes": RESULTS}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
