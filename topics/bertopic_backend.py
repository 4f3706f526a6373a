"""The default backend: BERTopic (UMAP + HDBSCAN, fixed seeds) over Earful's stored MiniLM vectors.

Design decision: BERTopic is given the precomputed embeddings (never re-embeds the corpus) and the packaged local
SentenceTransformer (plain ``BERTopic()`` reaches for a hub and fails offline); topic words come from
KeyBERTInspired then MaximalMarginalRelevance, both using that local model. Cluster sizes scale with the corpus
(`scaled_params`: at least ~0.3*sqrt(n) items, never below BERTopic's own default of 10), so 500 and 500,000
documents both give a readable number of topics. A fit is deterministic for the same vectors in the same order and
the same ``seed`` (UMAP with a seed runs single-threaded; HDBSCAN has no randomness; BERTopic samples representative
documents with a fixed seed); vectors that differ in the last float bit (the same text embedded in a different batch)
can still change the clustering, which is why `earful.embeddings.embed_items` embeds in a fixed order. For the same
reason KeyBERTInspired embeds its candidate words in sorted order (`SortedKeyBERTInspired`): BERTopic's own order
is a ``set``'s, which changes with each process's string hash seed, and so did the word vectors' last bits and,
on near ties, a topic's keywords and name.
"""
from __future__ import annotations

import contextlib
import logging
import math

import numpy as np

from earful.errors import require
from earful.topics.base import BackendFit, TopicBackend


def scaled_params(n: int) -> dict:
    """UMAP/HDBSCAN settings for n documents.

    Clusters of at least ~0.3*sqrt(n) items, floored at HDBSCAN's/BERTopic's default of 10 (8 below 200 documents):
    10 at 500, 26 at 7.7k (~70 topics on the URR reviews), 95 at a 100k fitting sample. The square
    root keeps the topic count growing slowly with the corpus (finer topics on more data, but not linearly more), and
    the factor gives topics a product manager can still read through (tens, not hundreds, at 10k items; the
    hierarchy groups them further). ``min_samples`` ~ min_cluster_size/5 keeps HDBSCAN's raw outlier share moderate.
    Measured on URR (bench/topics.py --repeats 3): NMI vs gold 0.276 on average, plain BERTopic 0.264.
    """
    min_cluster = max(10 if n >= 200 else 8, int(round(0.3 * math.sqrt(max(n, 1)))))
    return {
        # UMAP's neighbourhood about as large as the smallest topic (15..30), so a topic-sized group of documents
        # is one connected patch of the kNN graph; capped at 30 to bound UMAP's time on large samples
        "n_neighbors": min(30, max(15, min_cluster)) if n >= 200 else max(2, min(15, n // 10)),
        "n_components": 5,
        "min_cluster_size": min_cluster,
        "min_samples": max(3, min(10, min_cluster // 5)),
        "min_df": 2 if n >= 200 else 1,
    }


def build_bertopic(n: int, seed: int = 42, **overrides):
    """A BERTopic configured for offline use on n documents (used by the backend and by bench/topics.py)."""
    bertopic = require("bertopic", purpose="topic modelling")
    umap = require("umap", "umap-learn", purpose="topic modelling")
    hdbscan = require("hdbscan", purpose="topic modelling")
    from bertopic.representation import MaximalMarginalRelevance

    from earful.embeddings import load_model
    from earful.topics.keywords import count_vectorizer

    p = {**scaled_params(n), **overrides}
    return bertopic.BERTopic(
        embedding_model=load_model(),
        umap_model=umap.UMAP(n_neighbors=p["n_neighbors"], n_components=p["n_components"], min_dist=0.0,
                             metric="cosine", random_state=seed, low_memory=True),
        hdbscan_model=hdbscan.HDBSCAN(min_cluster_size=p["min_cluster_size"], min_samples=p["min_samples"],
                                      metric="euclidean", cluster_selection_method="eom", prediction_data=False),
        vectorizer_model=count_vectorizer(min_df=p["min_df"]),
        representation_model=[sorted_keybert()(top_n_words=10, random_state=seed),
                               MaximalMarginalRelevance(diversity=0.3, top_n_words=10)],
        calculate_probabilities=False,
        verbose=False,
    ), p


def sorted_keybert():
    """BERTopic's KeyBERTInspired, with its candidate words embedded in sorted order rather than a set's order (which
    follows PYTHONHASHSEED): the same words then get the same vectors, bit for bit, in every process."""
    from bertopic.representation import KeyBERTInspired

    class SortedKeyBERTInspired(KeyBERTInspired):
        def _extract_embeddings(self, topic_model, topics, representative_docs, repr_doc_indices,
                                repr_embeddings=None):
            if repr_embeddings is None:
                repr_embeddings = topic_model._extract_embeddings(representative_docs, method="document",
                                                                  verbose=False)
            topic_embeddings = [np.mean(repr_embeddings[i[0]: i[-1] + 1], axis=0) for i in repr_doc_indices]
            vocab = sorted({word for words in topics.values() for word in words})
            word_embeddings = topic_model._extract_embeddings(vocab, method="document", verbose=False)
            from sklearn.metrics.pairwise import cosine_similarity

            return cosine_similarity(topic_embeddings, word_embeddings), vocab

    return SortedKeyBERTInspired


class BERTopicBackend(TopicBackend):
    name = "bertopic"
    conformance = {"params": {}, "slow": True}  # tests/test_topics_conformance.py: real UMAP + HDBSCAN, slow lane

    def fit(self, docs, vectors):
        self.phase("loading BERTopic, UMAP, HDBSCAN and the embedding model")
        model, p = build_bertopic(len(docs), self.seed, **self.params)
        with _phases_from_log(self.phase):
            labels, _ = model.fit_transform(docs, embeddings=np.asarray(vectors, dtype=np.float32))
        labels = np.asarray(labels, dtype=int)
        keywords = {}
        for t, words in model.get_topics().items():
            if t != -1:
                keywords[int(t)] = [w for w, _ in words if w]
        return BackendFit(labels=labels, keywords=keywords, info={"params": p})


# BERTopic's own log lines (INFO) that start each phase of `fit_transform`, and the phase named to the user.
_LOG_PHASES = {"Dimensionality - Fitting": "UMAP (reducing dimensions)",
               "Cluster - Start": "HDBSCAN (clustering)",
               "Cluster - Completed": "representation (c-TF-IDF, KeyBERT keyphrases, MMR)"}


@contextlib.contextmanager
def _phases_from_log(phase):
    """While BERTopic fits, turn its INFO log lines into `phase(name)` calls (and print none of them): its
    ``fit_transform`` runs UMAP, HDBSCAN and the representation models in one call, and says so only in its log."""
    logger = logging.getLogger("BERTopic")

    class Phases(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            for start, name in _LOG_PHASES.items():
                if msg.startswith(start):
                    phase(name)

    saved = logger.level, logger.handlers[:]
    logger.handlers = [Phases()]
    logger.setLevel(logging.INFO)
    logger.setLevel = lambda level: None   # fit_transform sets WARNING again (select_backend, verbose=False)
    try:
        yield
    finally:
        del logger.setLevel                # the class's method again
        logger.setLevel(saved[0])
        logger.handlers = saved[1]
