"""PCA + KMeans: a fast, deterministic stand-in backend for tests about plumbing (persistence, edits, ids).

Design decision: it is registered like any backend (``pca-kmeans-standin``) so the same store code runs over it;
it is not meant for real use (no outliers, fixed k) and is named as a stand-in wherever it appears.
"""
from __future__ import annotations

from earful.topics.base import BackendFit, TopicBackend
from earful.topics.keywords import ctfidf_keywords


class PcaKMeansStandIn(TopicBackend):
    name = "pca-kmeans-standin"
    conformance = {"params": {"n_topics": 3}}  # what tests/test_topics_conformance.py fits it with

    def fit(self, docs, vectors):
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        k = int(self.params.get("n_topics") or max(2, min(20, len(docs) // 50)))
        n_comp = min(20, vectors.shape[1], max(1, len(docs) - 1))
        self.phase("PCA (reducing dimensions)")
        reduced = PCA(n_components=n_comp, random_state=self.seed).fit_transform(vectors)
        self.phase("KMeans (clustering)")
        labels = KMeans(n_clusters=k, random_state=self.seed, n_init=4).fit_predict(reduced)
        return BackendFit(labels=labels.astype(int), keywords=ctfidf_keywords(docs, labels), info={"k": k})
