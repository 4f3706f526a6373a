"""Class-based TF-IDF keywords (BERTopic's c-TF-IDF, in 30 lines) for backends and edits that have no model.

Design decision: used where a topic is created outside BERTopic (a split, the stand-in backend), so every topic has
keywords from the same recipe (`count_vectorizer`, which BERTopic uses too): English stop words removed, unigrams and
bigrams, contractions kept whole.
"""
from __future__ import annotations

import re

import numpy as np

# Words of two or more letters, keeping an inner apostrophe: "doesn't scrobble", not "doesn scrobble".
TOKEN_PATTERN = r"(?u)\b[a-z][a-z']*[a-z]\b"
# Contractions that say who, not what (negations such as "doesn't" and "can't" stay: they carry the complaint).
CONTRACTIONS = {"i'm", "i've", "i'd", "i'll", "it'd", "it'll", "you're", "you've", "you'd", "you'll", "they're",
                "they've", "we're", "we've"}
_POSSESSIVE = re.compile(r"'s\b")


def normalise(text: str) -> str:
    """Lower case with typographic apostrophes made plain, so "doesn’t" and "doesn't" are one word, and a
    possessive "'s" dropped ("cbr's" counts as "cbr"; "it's" becomes the stop word "it")."""
    return _POSSESSIVE.sub("", text.lower().replace("\u2019", "'").replace("\u2018", "'"))


def count_vectorizer(min_df: int = 1):
    """The one term counter of topic keywords, for BERTopic's c-TF-IDF and for `ctfidf_keywords` alike."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    return CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | CONTRACTIONS), ngram_range=(1, 2), min_df=min_df,
                           preprocessor=normalise, token_pattern=TOKEN_PATTERN)


def ctfidf_keywords(docs: list[str], labels, top_n: int = 10) -> dict[int, list[str]]:
    labels = np.asarray(labels)
    topics = sorted(int(t) for t in set(labels.tolist()) if t != -1)
    if not topics:
        return {}
    joined = [" ".join(d for d, lab in zip(docs, labels) if lab == t) for t in topics]
    try:
        vec = count_vectorizer()
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
