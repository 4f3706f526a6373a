"""Benchmark the offline classifiers on CLAP app reviews and Tizard forum sentences (../shared/datasets).

5-fold stratified CV with a fixed seed; every method, plus a plain TF-IDF(1-2 gram)+LogisticRegression baseline, is
fitted on the training folds only (the stack's inner CV also sees training folds only). MiniLM vectors are encoded
once per dataset and reused across folds. Prints accuracy, macro-F1 and fit / predict seconds per 1,000 items.

    .venv/bin/python bench/classify.py [--datasets clap,tizard] [--methods baseline,tfidf,...]
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
