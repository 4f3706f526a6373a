"""Benchmark the offline classifiers on CLAP app reviews and Tizard forum sentences (../shared/datasets).

5-fold stratified CV with a fixed seed; every method, plus a plain TF-IDF(1-2 gram)+LogisticRegression baseline, is
fitted on the training folds only (the stack's inner CV also sees training folds only). MiniLM vectors are encoded
once per dataset and reused across folds. Prints accuracy, macro-F1 and fit / predict seconds per 1,000 items.

    .venv/bin/python bench/classify.py [--datasets clap,tizard] [--methods baseline,tfidf,...]

Measured 2026-11-27 on the shared 2-core machine (load 5-11 from other work, so times are rough; the stacked rows
use 3 inner folds; CLAP char_tfidf was measured with max_features=200k, now 100k):

| dataset | method | accuracy | macro-F1 | fit s/1k | predict s/1k |
|---|---|---|---|---|---|
| clap | baseline tfidf+LR (C=1, unweighted) | 0.823 | 0.576 | 3.28 | 0.11 |
| clap | tfidf (balanced, C=10) | 0.864 | **0.773** | 5.20 | 0.13 |
| clap | char_tfidf | 0.863 | 0.769 | 9.49 | 0.64 |
| clap | embedding (MiniLM+LR) | 0.809 | 0.698 | 5.03 | 0.03 |
| clap | zeroshot | 0.314 | 0.267 | 1.84 | 0.05 |
| clap | stacked | 0.826 | 0.717 | 64.47 | 0.82 |
| clap | stacked + rating one-hot | 0.825 | 0.712 | 86.58 | 1.13 |
| tizard | baseline tfidf+LR (C=1, unweighted) | 0.527 | 0.227 | 19.66 | 0.17 |
| tizard | tfidf (balanced, C=10) | 0.605 | 0.428 | 16.69 | 0.09 |
| tizard | char_tfidf | 0.619 | **0.470** | 2.98 | 0.11 |
| tizard | embedding (MiniLM+LR) | 0.533 | 0.407 | 0.99 | 0.01 |
| tizard | zeroshot | 0.101 | 0.072 | 0.66 | 0.00 |
| tizard | stacked | 0.564 | 0.401 | 121.66 | 0.29 |

Targets (CLAP >= 0.82, Tizard >= 0.50) are NOT met. The stack loses to its best base model: a one-fold probe
showed its class-balanced meta learner costs ~0.04 macro-F1 (0.711 vs 0.746 unweighted), and even unweighted it did
not beat word TF-IDF alone on that fold. MiniLM encoding: 22 s/1k texts unloaded, not included above.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "datasets"
SEED = 0


def load(name: str):
    import polars as pl

    if name == "clap":
        df = pl.read_csv(SHARED / "clap_app_reviews" / "reviews.csv", infer_schema_length=0)
        df = df.filter(pl.col("review").is_not_null() & pl.col("category").is_not_null())
        return df["review"].to_list(), df["category"].to_list(), {"rating": df["rating"].to_list()}
    df = pl.read_csv(SHARED / "tizard_forum_posts" / "sentences.csv", infer_schema_length=0)
    df = df.filter(pl.col("sentence").is_not_null() & pl.col("label").is_not_null() & (pl.col("label") != "invalid"))
    return df["sentence"].to_list(), df["label"].to_list(), {}


class Baseline:
    name = "baseline tfidf+LR"

    def fit(self, inputs, y):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.m = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=2000))
        self.m.fit(inputs.texts, y)
        return self

    def predict(self, inputs):
        return list(self.m.predict(inputs.texts))


def main() -> int:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    from classify.base import Inputs, taxonomy_from_labels
    from classify.offline import CharTfidf, EmbeddingLR, Stacked, WordTfidf, ZeroShot, one_hot_extra
    from earful.embeddings import Embedder

    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="clap,tizard")
    ap.add_argument("--methods", default="baseline,tfidf,char_tfidf,embedding,zeroshot,stacked,stacked+meta")
    args = ap.parse_args()
    makers = {"baseline": lambda t: Baseline(), "tfidf": WordTfidf, "char_tfidf": CharTfidf,
              "embedding": EmbeddingLR, "zeroshot": ZeroShot, "stacked": Stacked, "stacked+meta": Stacked}
    rows = []
    for ds in args.datasets.split(","):
        texts, y, meta = load(ds)
        tax = taxonomy_from_labels(ds, y)
        t0 = time.perf_counter()
        vecs = Embedder().encode(texts)
        enc_s = time.perf_counter() - t0
        extra, _ = one_hot_extra(meta) if meta else (None, [])
        print(f"{ds}: {len(texts)} items, {len(tax.labels)} classes, MiniLM encode {enc_s / len(texts) * 1000:.1f} s/1k",
              flush=True)
        for method in args.methods.split(","):
            if method == "stacked+meta" and extra is None:
                continue
            use_extra = extra if method == "stacked+meta" else None
            pred = [None] * len(y)
            fit_s = pred_s = 0.0
            skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
            for tr, te in skf.split(np.zeros(len(y)), y):
                full = Inputs(texts, vecs, use_extra)
                clf = makers[method](tax)
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf.fit(full.take(tr), [y[i] for i in tr])
                fit_s += time.perf_counter() - t0
                t0 = time.perf_counter()
                p = clf.predict(full.take(te))
                pred_s += time.perf_counter() - t0
                for i, lab in zip(te, p):
                    pred[i] = lab
            acc, f1 = accuracy_score(y, pred), f1_score(y, pred, average="macro")
            n = len(y)
            rows.append([ds, method, f"{acc:.3f}", f"{f1:.3f}", f"{fit_s / (n * 4 / 5 * 5) * 1000:.2f}",
                         f"{pred_s / n * 1000:.2f}"])
            print(" | ".join(rows[-1]), flush=True)
    print()
    print("| dataset | method | accuracy | macro-F1 | fit s/1k items | predict s/1k items |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print("(predict times exclude MiniLM encoding, which is cached in the store; encoding cost is printed above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
