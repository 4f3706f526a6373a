"""Topic quality and cost on URR app reviews: Earful's topics vs plain BERTopic defaults vs scikit-learn LDA.

Fits on all of ../shared/datasets/urr_app_reviews/reviews_all.csv (7,754 reviews) and scores the topics of the
hand-labelled gold reviews (golden_set.csv, matched on text) against their high-level labels. NMI/ARI use the gold
reviews that carry exactly one high-level label (multi-label reviews have no single right cluster); outliers count
as one more cluster. NPMI coherence of each topic's top-10 words (unigrams of its keywords) uses document
co-occurrence over the whole corpus; diversity is the share of unique words among all topics' top-10 words.
Each method runs in its own fresh process (spawn), so its peak RSS is its own.

Plain BERTopic's UMAP has no seed, so its row moves from run to run; ``--repeats N`` fits Earful with seeds 42..
and plain BERTopic N times each and prints the mean and range of NMI, the fairer comparison.

Run: .venv/bin/python bench/topics.py [--db /tmp/urr_bench.duckdb] [--repeats 3]  (~6 minutes per repeat)

Measured 2026-11-27, 2 shared cores (load ~1-3), `--repeats 3`, min_cluster_size ~0.3*sqrt(n) (26), UMAP
n_neighbors 26:

    method                        | topics | NMI   | ARI   | NPMI   | diversity | outliers | fit s | peak MB
    earful (BERTopic+reassign) #1 | 72     | 0.287 | 0.092 | -0.040 | 0.569     | 0.7%     | 48    | 1428
    plain BERTopic defaults #1    | 130    | 0.264 | 0.044 | -0.148 | 0.731     | 26.2%    | 35    | 1034
    earful (BERTopic+reassign) #2 | 69     | 0.269 | 0.049 | -0.084 | 0.612     | 0.9%     | 47    | 1378
    plain BERTopic defaults #2    | 125    | 0.271 | 0.042 | -0.134 | 0.718     | 26.9%    | 37    | 1028
    earful (BERTopic+reassign) #3 | 72     | 0.273 | 0.055 | -0.058 | 0.602     | 0.9%     | 55    | 1431
    plain BERTopic defaults #3    | 126    | 0.257 | 0.041 | -0.161 | 0.735     | 26.9%    | 30    | 1032
    sklearn LDA (k=72)            | 72     | 0.159 | 0.027 | -0.101 | 0.676     | 0.0%     | 10    | 322
    mean NMI: earful 0.276 (0.269-0.287); plain BERTopic 0.264 (0.257-0.271). Earful raw outliers 23.8% (#1).

Targets: outliers < 10% (met, <1%); NPMI no worse than plain (met in every repeat); NMI no worse than plain (met on
average and in 2 of 3 paired repeats; #2 is 0.002 below). Earlier rule (0.6*sqrt(n) -> 53, n_neighbors 15): 33
topics, NMI 0.243 vs 0.265. Topic diversity is lower than plain BERTopic's (shared words such as "app", "great").
The cached bench workspace was embedded before `embed_items` fixed its batch order; 877 of its 7,753 vectors differ
from a fresh workspace's in the last bits, enough to move UMAP: a fresh workspace gives 66 topics, NMI 0.271,
NPMI -0.067, outliers 0.7% (and the same 66 topics in every fresh workspace).

After keywords kept contractions whole ("doesn't scrobble"; `topics.keywords.count_vectorizer`), `--repeats 1`
(seed 42, load ~2 from other work, hence the fit time): earful 72 topics, NMI 0.287 (clustering unchanged), NPMI
-0.010 (was -0.040 for the same seed), diversity 0.558, outliers 0.7%, fit 186 s; plain BERTopic 117 topics, NMI
0.255, NPMI -0.134, outliers 23.3%.
"""
from __future__ import annotations

import argparse
import csv
import math
import multiprocessing as mp
import re
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets" / "urr_app_reviews"
TOKEN = re.compile(r"[a-z][a-z']+")


def _norm(t: str) -> str:
    return " ".join(str(t).lower().split())


def _load(db):
    from earful.embeddings import item_vectors
    from earful.store import Store

    with Store(db, read_only=True) as s:
        ids, X = item_vectors(s)
        texts = dict(s.rows("SELECT item_id, text FROM items"))
    return ids, X, [texts[i] for i in ids]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_earful(db, seed, q):
    import shutil

    from earful.store import Store
    from earful.topics.fit import fit_topics

    work = str(db) + ".earful.duckdb"
    shutil.copy(db, work)
    with Store(work) as s:
        t = time.perf_counter()
        res = fit_topics(s, seed=seed)
        secs = time.perf_counter() - t
        assign = dict(s.rows("SELECT item_id, topic_id FROM topic_assignments"))
        words = {r[0]: list(r[1] or []) for r in s.rows("SELECT topic_id, keywords FROM topics WHERE status='active'")}
        names = [r[0] for r in s.rows("SELECT name FROM topics WHERE status='active' ORDER BY size DESC LIMIT 8")]
    q.put({"assign": assign, "words": words, "secs": secs, "peak_mb": _peak_mb(), "names": names,
           "raw_outliers": res["outlier_rate_raw"]})


def run_bertopic_plain(db, q):
    from bertopic import BERTopic

    from earful.embeddings import load_model

    ids, X, docs = _load(db)
    t = time.perf_counter()
    model = BERTopic(embedding_model=load_model())   # defaults, except the local model (the hub is offline)
    labels, _ = model.fit_transform(docs, embeddings=X)
    secs = time.perf_counter() - t
    words = {int(k): [w for w, _ in v] for k, v in model.get_topics().items() if k != -1}
    q.put({"assign": dict(zip(ids, map(int, labels))), "words": words, "secs": secs, "peak_mb": _peak_mb()})


def run_lda(db, n_topics, q):
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    ids, _, docs = _load(db)
    t = time.perf_counter()
    vec = CountVectorizer(stop_words="english", min_df=2)
    counts = vec.fit_transform(docs)
    lda = LatentDirichletAllocation(n_components=n_topics, random_state=42, learning_method="batch", max_iter=20)
    doc_topic = lda.fit_transform(counts)
    secs = time.perf_counter() - t
    vocab = vec.get_feature_names_out()
    words = {k: [str(vocab[j]) for j in np.argsort(-comp)[:10]] for k, comp in enumerate(lda.components_)}
    q.put({"assign": dict(zip(ids, map(int, doc_topic.argmax(axis=1)))), "words": words, "secs": secs,
           "peak_mb": _peak_mb()})


def in_child(fn, *args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(*args, q))
    p.start()
    import queue

    while True:
        try:
            out = q.get(timeout=5)
            break
        except queue.Empty:
            if not p.is_alive():
                raise RuntimeError(f"{fn.__name__} failed (see its traceback above)") from None
    p.join()
    return out


def top_unigrams(words: list[str], n: int = 10) -> list[str]:
    out = []
    for w in words:
        for tok in TOKEN.findall(w.lower()):
            if tok not in out:
                out.append(tok)
    return out[:n]


def npmi(topics: dict, doc_sets: list[set]) -> float:
    """Mean NPMI over word pairs of each topic's top words (document co-occurrence; pairs never seen count -1)."""
    n = len(doc_sets)
    index: dict[str, set] = {}
    vocab = {w for ws in topics.values() for w in ws}
    for d, toks in enumerate(doc_sets):
        for w in toks & vocab:
            index.setdefault(w, set()).add(d)
    scores = []
    for ws in topics.values():
        for i in range(len(ws)):
            for j in range(i + 1, len(ws)):
                a, b = index.get(ws[i], set()), index.get(ws[j], set())
                both = len(a & b)
                if not a or not b or both == 0:
                    scores.append(-1.0)
                    continue
                p_ab, p_a, p_b = both / n, len(a) / n, len(b) / n
                scores.append(1.0 if p_ab == 1 else math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))
    return float(np.mean(scores)) if scores else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="/tmp/earful_bench_topics.duckdb")
    ap.add_argument("--repeats", type=int, default=1,
                    help="fit Earful (seeds 42, 43, ...) and plain BERTopic (unseeded) this many times each")
    args = ap.parse_args()
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    db = Path(args.db)
    with Store(db) as s:
        if "urr" not in s.sources():
            ingest_file(s, DATA / "reviews_all.csv", source="urr")
        t = time.perf_counter()
        e = embed_items(s)
        print(f"corpus: {s.scalar('SELECT count(*) FROM items')} reviews; embedded {e['embedded']} new "
              f"({e['cached']} cached) in {time.perf_counter() - t:.0f}s")
        by_text = {}
        for item_id, text in s.rows("SELECT item_id, text FROM items ORDER BY item_id"):
            by_text.setdefault(_norm(text), item_id)
        doc_sets = [set(TOKEN.findall(t.lower())) for (t,) in s.rows("SELECT text FROM items")]
    gold = []
    with open(DATA / "golden_set.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            labels = [x for x in (r["labels_high"] or "").split("|") if x]
            item = by_text.get(_norm(r["review_text"]))
            if item and len(labels) == 1:
                gold.append((item, labels[0]))
    print(f"gold: {len(gold)} single-label gold reviews matched to corpus items")

    results = {}
    for r in range(args.repeats):
        tag = f" #{r + 1}" if args.repeats > 1 else ""
        results[f"earful (BERTopic+reassign){tag}"] = in_child(run_earful, str(db), 42 + r)
        results[f"plain BERTopic defaults{tag}"] = in_child(run_bertopic_plain, str(db))
    first = next(iter(results))
    k = len(results[first]["words"])
    results[f"sklearn LDA (k={k})"] = in_child(run_lda, str(db), k)

    rows, nmis = [], {}
    for name, r in results.items():
        pred = [r["assign"].get(i, -1) for i, _ in gold]
        truth = [g for _, g in gold]
        nmis.setdefault(name.split(" #")[0], []).append(normalized_mutual_info_score(truth, pred))
        tops = {t: top_unigrams(ws) for t, ws in r["words"].items()}
        all_words = [w for ws in tops.values() for w in ws]
        outl = np.mean([v == -1 for v in r["assign"].values()])
        rows.append([name, len(r["words"]), f"{normalized_mutual_info_score(truth, pred):.3f}",
                     f"{adjusted_rand_score(truth, pred):.3f}", f"{npmi(tops, doc_sets):.3f}",
                     f"{len(set(all_words)) / max(len(all_words), 1):.3f}", f"{outl:.1%}", f"{r['secs']:.0f}",
                     f"{r['peak_mb']:.0f}"])
    head = ["method", "topics", "NMI", "ARI", "NPMI", "diversity", "outliers", "fit s", "peak MB"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    if args.repeats > 1:
        print("mean NMI over repeats: " + "; ".join(f"{m} {np.mean(v):.3f} (min {min(v):.3f}, max {max(v):.3f})"
                                                     for m, v in nmis.items() if len(v) > 1))
    e = results[first]
    print(f"earful raw HDBSCAN outlier rate before reassignment: {e['raw_outliers']:.1%}")
    print("earful's largest topics: " + "; ".join(e["names"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
