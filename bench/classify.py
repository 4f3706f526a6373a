"""Benchmark the offline classifiers on CLAP app reviews and Tizard forum sentences (../shared/datasets).

5-fold stratified CV with a fixed seed; every method, plus a plain TF-IDF(1-2 gram)+LogisticRegression baseline, is
fitted on the training folds only (the stack's inner CV also sees training folds only). MiniLM vectors are encoded
once per dataset and reused across folds. Prints accuracy, macro-F1 and fit / predict seconds per 1,000 items.

    .venv/bin/python bench/classify.py [--datasets clap,tizard] [--methods baseline,tfidf,...]

Measured 2026-11-27 on the shared 2-core machine. Two runs: the first (load 5-11 from other work, times rough;
stacked with 3 inner folds) for the older methods; the second (07:20 UTC, quiet, load ~1) for `joint`, with the
baseline re-run in the same run (same numbers). `+meta` means the source's own metadata columns are features too
(CLAP: `rating`; Tizard: `product`, `topic_forum`, `post_position`, `user_level`), one-hot plus word tokens, with
feature names taken from the training fold only:

| dataset | method | accuracy | macro-F1 | fit s/1k | predict s/1k |
|---|---|---|---|---|---|
| clap | baseline tfidf+LR (C=1, unweighted) | 0.823 | 0.576 | 0.67 | 0.04 |
| clap | tfidf (balanced, C=10) | 0.864 | 0.773 | 5.20 | 0.13 |
| clap | char_tfidf | 0.863 | 0.769 | 9.49 | 0.64 |
| clap | embedding (MiniLM+LR) | 0.809 | 0.698 | 5.03 | 0.03 |
| clap | zeroshot | 0.314 | 0.267 | 1.84 | 0.05 |
| clap | stacked | 0.826 | 0.717 | 64.47 | 0.82 |
| clap | stacked + rating one-hot | 0.825 | 0.712 | 86.58 | 1.13 |
| clap | **joint** (word+char TF-IDF + MiniLM, one SVM) | 0.878 | **0.789** | 1.52 | 0.17 |
| clap | joint + rating | 0.879 | **0.789** | 2.31 | 0.17 |
| tizard | baseline tfidf+LR (C=1, unweighted) | 0.527 | 0.227 | 1.63 | 0.02 |
| tizard | tfidf (balanced, C=10) | 0.605 | 0.428 | 16.69 | 0.09 |
| tizard | char_tfidf | 0.619 | 0.470 | 2.98 | 0.11 |
| tizard | embedding (MiniLM+LR) | 0.533 | 0.407 | 0.99 | 0.01 |
| tizard | zeroshot | 0.101 | 0.072 | 0.66 | 0.00 |
| tizard | stacked | 0.564 | 0.401 | 121.66 | 0.29 |
| tizard | joint | 0.655 | 0.480 | 1.85 | 0.11 |
| tizard | **joint + thread metadata** | 0.717 | **0.559** | 3.86 | 0.11 |

Targets: Tizard >= 0.50 is met by `joint` with the forum's own metadata (where in the thread, who wrote it), 0.559;
from the sentence text alone the best is 0.480. CLAP >= 0.82 is NOT met: best 0.789 (`joint`). Things tried on CLAP
that did not get there (outside this script, same folds): per-class decision offsets tuned for macro-F1 on inner
folds (0.793, worse than without), app category / device / version as metadata (0.777-0.797), fine-tuning MiniLM
end to end on one fold (0.776 after 3 epochs, against 0.800 for `joint` on that fold, at ~2-6 min per epoch on CPU;
its logits averaged with `joint`'s scores: 0.786-0.803 over four weights, no gain). Even choosing on the test folds
(so not a valid result, only a ceiling check), nothing passed 0.805: MiniLM vectors of each sentence max- or
mean-pooled per review as an extra block (0.797-0.804), an RBF SVM on MiniLM or a logistic regression averaged with
`joint` (0.787-0.800). Most remaining errors are PERFORMANCE read as BUG and USABILITY read as FEATURE, where the
reviews themselves mix both ("it lagg please fix the bug").
The issue quotes 0.778 for the baseline; an unweighted TF-IDF+LR measures 0.576 here (a class-balanced one 0.773).
MiniLM encoding: about 4 s/1k texts on a quiet machine, not included above.

`--zeroshot-check`: the methods that need no gold (what `earful classify run` uses before any training), fitted on all
items from a shipped taxonomy alone and scored against gold that exists for the same texts: CLAP's categories mapped
to bug report / feature request / other (USABILITY, SECURITY left out), star ratings as sentiment (1-2 negative, 3
neutral, 4-5 positive), URR reviews with one regex aspect. Measured 2026-11-27, quiet machine, macro-F1:

| check (no gold used to fit) | scored items | zeroshot | selftrained 0.1 / **0.2 (default)** / 0.3 |
|---|---|---|---|
| CLAP category as feedback_type | 2,843 | 0.660 (0.606, 2-example taxonomy before) | 0.720 / **0.730** / 0.713 |
| CLAP stars as sentiment | 3,000 | 0.478 | 0.510 / **0.515** / 0.507 |
| URR stars as sentiment | 7,753 | 0.472 | 0.507 / **0.511** / 0.500 |
| URR single regex aspect (app_review_aspects) | 2,518 | 0.559 | 0.583 / **0.586** / 0.584 |

Fit + label: 1-3 s for 3-8k items. On a pool of only ~240 items with bare one-line descriptions (the test fixture)
self-training did worse than zero-shot (accuracy 0.63 against 0.68); CLAP subsamples of 250-2,000 items still gained
(0.04-0.08 over 3 draws each).
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
    meta = {c: df[c].to_list() for c in ("product", "topic_forum", "post_position", "user_level")}
    return df["sentence"].to_list(), df["label"].to_list(), meta


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

    from earful.classify.base import Inputs, taxonomy_from_labels
    from earful.classify.offline import CharTfidf, EmbeddingLR, Joint, Stacked, WordTfidf, ZeroShot, one_hot_extra
    from earful.embeddings import Embedder

    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="clap,tizard")
    ap.add_argument("--methods",
                    default="baseline,tfidf,char_tfidf,embedding,zeroshot,stacked,stacked+meta,joint,joint+meta")
    ap.add_argument("--zeroshot-check", action="store_true",
                    help="instead: the no-gold methods with the shipped feedback_type taxonomy, scored on CLAP")
    args = ap.parse_args()
    if args.zeroshot_check:
        return zeroshot_check()
    makers = {"baseline": lambda t: Baseline(), "tfidf": WordTfidf, "char_tfidf": CharTfidf,
              "embedding": EmbeddingLR, "zeroshot": ZeroShot, "stacked": Stacked, "stacked+meta": Stacked,
              "joint": Joint, "joint+meta": Joint}
    rows = []
    for ds in args.datasets.split(","):
        texts, y, meta = load(ds)
        tax = taxonomy_from_labels(ds, y)
        t0 = time.perf_counter()
        vecs = Embedder().encode(texts)
        enc_s = time.perf_counter() - t0
        print(f"{ds}: {len(texts)} items, {len(tax.labels)} classes, "
              f"MiniLM encode {enc_s / len(texts) * 1000:.1f} s/1k",
              flush=True)
        for method in args.methods.split(","):
            if method.endswith("+meta") and not meta:
                continue
            pred = [None] * len(y)
            fit_s = pred_s = 0.0
            skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
            for tr, te in skf.split(np.zeros(len(y)), y):
                use_extra = None
                if method.endswith("+meta"):  # metadata features named from the training fold only
                    names = one_hot_extra({c: [v[i] for i in tr] for c, v in meta.items()})[1]
                    use_extra = one_hot_extra(meta, names)[0]
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
    print_table(["dataset", "method", "accuracy", "macro-F1", "fit s/1k items", "predict s/1k items"], rows)
    print("(predict times exclude MiniLM encoding, which is cached in the store; encoding cost is printed above)")
    return 0


# CLAP's categories as the shipped feedback_type labels. USABILITY and SECURITY have no clear counterpart and are left
# out; OTHER (praise, generic comments, noise) takes praise, complaint, question and other.
CLAP_AS_FEEDBACK_TYPE = {"BUG": "bug report", "PERFORMANCE": "bug report", "ENERGY": "bug report",
                         "FEATURE": "feature request", "OTHER": "other"}
STARS_AS_SENTIMENT = {"1": "negative", "2": "negative", "3": "neutral", "4": "positive", "5": "positive"}


def _no_gold_checks():
    """(name, taxonomy, texts, gold or None per item, how predictions map onto the gold's labels)."""
    import polars as pl

    texts, y, meta = load("clap")
    yield ("CLAP category as feedback type", "feedback_type", texts, [CLAP_AS_FEEDBACK_TYPE.get(g) for g in y],
           lambda p: p if p in ("bug report", "feature request") else "other")
    yield ("CLAP stars as sentiment", "sentiment", texts, [STARS_AS_SENTIMENT.get(r) for r in meta["rating"]],
           lambda p: p)
    urr = pl.read_csv(ROOT / "examples" / "data" / "urr_app_reviews.csv", infer_schema_length=0)
    urr = urr.filter(pl.col("review_text").is_not_null() & (pl.col("review_text").str.strip_chars() != ""))
    texts = urr["review_text"].to_list()
    yield ("URR stars as sentiment", "sentiment", texts, [STARS_AS_SENTIMENT.get(r) for r in urr["rating"]],
           lambda p: p)
    yield ("URR single regex aspect", "app_review_aspects", texts,
           [g if g and "|" not in g else None for g in urr["regex_labels_high"]], lambda p: p)


def zeroshot_check() -> int:
    """No gold is used to fit: `zeroshot` and `selftrained` label every item from a shipped taxonomy alone (as
    `earful classify run` does on a workspace without gold); gold that exists for the same texts only scores them
    (macro-F1 over the items that have one)."""
    from sklearn.metrics import f1_score

    from earful.classify.base import Inputs, load_taxonomy
    from earful.classify.offline import SelfTrained, ZeroShot
    from earful.embeddings import Embedder

    rows = []
    for check, taxonomy, texts, gold, to_gold in _no_gold_checks():
        tax = load_taxonomy(taxonomy)
        inputs = Inputs(texts, Embedder().encode(texts))
        keep = [i for i, g in enumerate(gold) if g]
        methods = [("zeroshot", ZeroShot(tax))] + [(f"selftrained {f}", SelfTrained(tax, fraction=f))
                                                   for f in (0.1, 0.2, 0.3)]
        for name, clf in methods:
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pred = [to_gold(p) for p in clf.fit(inputs).predict(inputs)]
            secs = time.perf_counter() - t0
            f1 = f1_score([gold[i] for i in keep], [pred[i] for i in keep], average="macro")
            rows.append([check, taxonomy, str(len(keep)), name, f"{f1:.3f}", f"{secs:.1f}"])
            print(" | ".join(rows[-1]), flush=True)
    print_table(["check (no gold used to fit)", "taxonomy", "scored items", "method", "macro-F1", "fit+label s"], rows)
    return 0


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """The collected rows again, as one Markdown table (for the docstring and the README)."""
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
