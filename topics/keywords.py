"""Class-based TF-IDF keywords (BERTopic's c-TF-IDF, in 30 lines) for backends and edits that have no model.

Design decision: used where a topic is created outside BERTopic (a split, the stand-in backend), so every topic has
keywords from the same recipe: English stop words removed, unigrams and bigrams, terms in at least 2 documents.
"""
from __future__ import annotations

import numpy as np


def ctfidf_keywords(docs: list[str], labels, top_n: int = 10) -> dict[int, list[str]]:
    from sklearn.feature_extraction.text import CountVectorizer

    labels = np.asarray(labels)
    topics = sorted(int(t) for t in set(labels.tolist()) if t != -1)
    if not topics:
        return {}
    joined = [" ".join(d for d, lab in zip(docs, labels) if lab == t) for t in topics]
    try:
        vec = CountVectorizer(stop_words="english", ngram_range=(1, 2), min_df=1, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
        counts = vec.fit_transform(joined).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {t: [] for t in topics}
    words = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg = counts.sum() / max(len(topics), 1)
    idf = np.log(1 + avg / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    out = {}
    for row, t in enumerate(topics):
        order = np.argsort(-scores[row])
        out[t] = [str(words[j]) for j in order[:top_n] if scores[row, j] > 0]
    return out
