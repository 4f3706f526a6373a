"""Seeded aspects, measured and not adopted (issue 14): would a fixed list of software-feedback aspects raise the
item-level NMI of aspect topics against hand labels?

A guided topic model (BERTopic's zero-shot/seeded topics) gives mentions close to a seed aspect's examples that
aspect instead of a clustered one. This script measures the idea on a fitted workspace without refitting: every
mention with a vector whose similarity to a seed (max or mean over the seed's examples) is >= tau, and beats the
runner-up by `margin`, gets the seed's aspect; the item's aspect is then `item_primary_aspects`' rule (its most
negative mention's aspect, else most of its mentions). The seeds were written from general knowledge of app
feedback before any run, and tau was scanned on CLAP (the development set here), not on URR.

Run: .venv/bin/python bench/aspect_seeds.py WORKSPACE {clap,urr}   (the workspace: reviews ingested, `topics
mentions`, `topics aspects fit`; for CLAP every mention embedded: ``fit_aspects(store, embed_all=True)``)

Measured 2026-12-01 on CLAP's 3,000 reviews (every mention embedded; 53 fitted aspects; gold: the 7 hand labels):

    rule                      | NMI   | ARI   | items on a seed
    no seeds (today)          | 0.278 | 0.186 | 0%
    max, tau 0.35 .. 0.60     | 0.227 .. 0.271 | 0.104 .. 0.181 | 56% .. 10%
    mean, tau 0.35 .. 0.60    | 0.271 .. 0.279 | 0.182 .. 0.186 | 30% .. 1%

Every threshold is worse or equal: seeds add clusters without taking the mentions' own clusters away, and the
clustered aspects are already about as class-pure. Grouping fitted aspects under the seeds by centroid similarity
(18-39 groups) was worse too (NMI 0.247-0.277). Not adopted; URR was not run.
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets"
SEEDS = {
    "Crashes": ["the app keeps crashing", "it force closes every time I open it", "crashed and closed on startup"],
    "Bugs and errors": ["there is a bug", "I get an error message", "this feature is broken and doesn't work"],
    "Slow and laggy": ["the app is very slow", "it lags and freezes", "takes forever to load"],
    "Battery drain": ["drains my battery", "uses too much battery power", "battery life is much worse"],
    "Memory and storage": ["uses too much memory", "takes up too much storage space", "the RAM usage is high"],
    "Ads": ["too many ads", "annoying advertisements and popups", "full screen ads"],
    "Price and purchases": ["too expensive", "in-app purchases", "I paid for the pro version", "I want a refund"],
    "Privacy and permissions": ["asks for too many permissions", "collects my personal data", "privacy concerns"],
    "Security and passwords": ["my password is not safe", "encryption and security", "my account got hacked"],
    "Login and account": ["I can't log in", "sign in to my account fails", "had to create an account"],
    "Sync and backup": ["does not sync", "lost my data after backup and restore", "sync between devices"],
    "Notifications": ["notifications don't arrive", "too many notifications", "no notification sound"],
    "Update problems": ["since the last update it stopped working", "the new version is worse",
                        "please roll back the update"],
    "Device compatibility": ["doesn't work on my phone", "not compatible with my tablet",
                             "not supported on my Android version"],
    "Interface and design": ["the user interface is confusing", "the layout and design look outdated",
                             "hard to find settings"],
    "Feature requests": ["please add an option to", "it would be nice if it had", "I wish there was a feature"],
    "Install and uninstall": ["I can't uninstall it", "the install fails", "won't download from the store"],
    "Customer support": ["the developer never answered my email", "support was helpful",
                         "no response from customer service"],
}


def _norm(t: str) -> str:
    return " ".join(str(t).lower().split())


def gold_of(con, dataset: str) -> dict:
    by_text = {}
    for iid, t in con.execute("SELECT item_id, text FROM items ORDER BY item_id").fetchall():
        by_text.setdefault(_norm(t), iid)
    gold = {}
    if dataset == "clap":
        for r in csv.DictReader(open(DATA / "clap_app_reviews" / "reviews.csv", encoding="utf-8")):
            if _norm(r["review"]) in by_text:
                gold.setdefault(by_text[_norm(r["review"])], r["category"])
        return gold
    for r in csv.DictReader(open(DATA / "urr_app_reviews" / "golden_set.csv", encoding="utf-8")):
        labels = [x for x in (r["labels_high"] or "").split("|") if x]
        if _norm(r["review_text"]) in by_text and len(labels) == 1:
            gold[by_text[_norm(r["review_text"])]] = labels[0]
    return gold


def primary(mentions: list[tuple]) -> int:
    """`item_primary_aspects`' rule over (aspect, polarity, polarity_score, seq) tuples."""
    groups: dict[int, list] = {}
    for a, pol, ps, seq in mentions:
        g = groups.setdefault(a, [9e9, 0, 9e9])
        if pol == "negative":
            g[0] = min(g[0], ps)
        g[1] += 1
        g[2] = min(g[2], seq)
    return min(groups, key=lambda a: (not a >= 0, groups[a][0], -groups[a][1], groups[a][2]))


def main() -> int:
    import duckdb
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from earful.embeddings import Embedder
    from earful.topics.aspects import is_general

    db, dataset = sys.argv[1], sys.argv[2]
    emb = Embedder()
    con = duckdb.connect(db, read_only=True)
    gold = gold_of(con, dataset)
    rows = con.execute("""SELECT m.item_id, m.aspect_id, m.polarity, m.polarity_score, m.seq, m.text, e.vector
                          FROM mentions m LEFT JOIN embeddings e ON e.content_hash = m.content_hash
                          AND e.model_id = ? WHERE m.item_id IN (SELECT unnest(?))""",
                       [emb.model_id, list(gold)]).fetchall()
    seeds = [emb.encode(ex) for ex in SEEDS.values()]
    print(f"{len(gold)} gold items, {len(rows)} mentions, {sum(r[6] is not None for r in rows)} with a vector")

    def score(tau: float, margin: float, how: str):
        items: dict[str, list] = {}
        for iid, a, pol, ps, seq, text, v in rows:
            a = -1 if a is None else a
            if v is not None and not is_general(text):
                v = np.asarray(v, np.float32) / np.linalg.norm(v)
                sims = np.array([(S @ v).max() if how == "max" else (S @ v).mean() for S in seeds])
                top = np.argsort(-sims)
                if sims[top[0]] >= tau and sims[top[0]] - sims[top[1]] >= margin:
                    a = 10_000 + int(top[0])
            items.setdefault(iid, []).append((a, pol, ps, seq))
        ids = [i for i in gold if i in items]
        pred = [primary(items[i]) for i in ids]
        truth = [gold[i] for i in ids]
        return (normalized_mutual_info_score(truth, pred), adjusted_rand_score(truth, pred),
                sum(p >= 10_000 for p in pred) / len(ids))

    print("rule                 | NMI   | ARI   | items on a seed")
    nmi, ari, _ = score(99, 0, "max")
    print(f"no seeds (today)     | {nmi:.3f} | {ari:.3f} | 0%")
    for how in ("max", "mean"):
        for tau in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
            for margin in (0.0, 0.05):
                nmi, ari, share = score(tau, margin, how)
                print(f"{how} tau {tau} m {margin:.2f} | {nmi:.3f} | {ari:.3f} | {share:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
