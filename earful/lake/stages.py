"""The model stages as engine-free classes: the constructor loads the model, ``__call__(pa.Table) -> pa.Table`` is pure.

Design decision: a stage knows nothing of where its batches come from or go to. `earful.lake.runner` streams DuckDB
Arrow batches through it in this process (``--engine local``) or hands the class to Ray Data's ``map_batches`` as an
actor pool (``--engine ray``), where each actor runs the constructor once. So a stage's constructor takes only plain,
picklable arguments (names, bytes, lists of floats), and every model id is passed in explicitly: a Ray worker does
not read the driver's ``earful.toml``. Output rows are keyed like the workspace tables they mirror.
"""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from earful.errors import InputError

CANONICAL_FEATURES = ("rating", "created_at", "author")


def vectors_of(column) -> np.ndarray:
    """(n, d) float32 matrix of an Arrow list / fixed-size-list column without nulls."""
    col = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    n = len(col)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    flat = col.flatten().to_numpy(zero_copy_only=False)
    return flat.reshape(n, -1).astype(np.float32, copy=False)


def vector_array(mat: np.ndarray):
    """A ``list<float32>`` Arrow array of the rows of `mat` (the lake's vector type, as DuckDB's ``FLOAT[]``)."""
    import pyarrow as pa

    mat = np.ascontiguousarray(mat, dtype=np.float32)
    d = int(mat.shape[1]) if mat.ndim == 2 and mat.shape[1] else 1
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(mat.reshape(-1), pa.float32()), d)
    return fixed.cast(pa.list_(pa.float32()))


def _now(n: int):
    import pyarrow as pa

    return pa.array([datetime.now(UTC)] * n, pa.timestamp("us", tz="UTC"))


def vectors_or_embed(batch, texts: list[str], embedder) -> np.ndarray:
    """The batch's ``vector`` column as a matrix, the rows without one (or every row, without the column) embedded."""
    import pyarrow.compute as pc

    if "vector" not in batch.column_names:
        return embedder.encode(texts)
    col = batch.column("vector")
    missing = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
    if not missing.any():
        return vectors_of(col)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    have = np.nonzero(~missing)[0]
    if len(have):
        out[have] = vectors_of(col.take(have))
    idx = np.nonzero(missing)[0]
    out[idx] = embedder.encode([texts[k] for k in idx])
    return out


def label_table(item_ids, proba: np.ndarray, classes: list[str], multi: bool, method: str,
                reasons: list | None = None):
    """Label rows as ``classify_labels`` from a classifier's (n, classes) distribution: the top label, and for a
    multi-label taxonomy every label within half of the top probability."""
    import pyarrow as pa

    n = len(proba)
    top = proba.argmax(axis=1) if n else np.zeros(0, dtype=int)
    labels = [classes[j] for j in top]
    many = [[classes[k] for k in np.nonzero(proba[r] >= 0.5 * proba[r, j])[0]] if multi else [classes[j]]
            for r, j in enumerate(top)]
    return pa.table({
        "item_id": item_ids,
        "label": pa.array(labels, pa.string()),
        "labels": pa.array(many, pa.list_(pa.string())),
        "probability": pa.array([float(proba[r, j]) for r, j in enumerate(top)], pa.float64()),
        "method": pa.array([method] * n, pa.string()),
        "reason": pa.array(reasons if reasons is not None else [None] * n, pa.string()),
        "labelled_at": _now(n),
    })


class EmbedStage:
    """(content_hash, text) -> (content_hash, vector) with one embedding model, L2-normalised float32."""

    output = "embeddings"

    def __init__(self, model: str, batch_size: int = 128):
        from earful.embeddings import Embedder

        self.embedder = Embedder(batch_size=batch_size, model=model)
        self._model = self.embedder.model   # load now: once per actor, not on the first batch
        self.model_id = self.embedder.model_id

    def __call__(self, batch):
        import pyarrow as pa

        vecs = self.embedder.encode(batch.column("text").to_pylist())
        return pa.table({"content_hash": batch.column("content_hash"), "vector": vector_array(vecs)})


class ClassifyStage:
    """(item_id, text, [vector], [rating, created_at, author]) -> one label row per item, as ``classify_labels``.

    The classifier is a stored model's skops bytes (`earful.classify.models.load_model`: allow-listed types only);
    offline classifiers only (an LLM cascade needs the workspace's call cache). Rows without a vector are embedded
    with the model the classifier was trained on.
    """

    output = "labels"

    def __init__(self, blob: bytes, fmt: str | None, versions: str | dict | None, *, taxonomy: str, method: str,
                 model_version: str, embedding_model: str, label_method: str = "offline"):
        from earful.classify.models import load_model
        from earful.embeddings import set_default_model

        set_default_model(embedding_model)   # the model id load_model checks the stored model against
        payload = load_model(blob, fmt, versions, taxonomy=taxonomy, method=method, model_version=model_version)
        self.clf = payload["classifier"]
        if not getattr(self.clf, "offline", True):
            raise InputError(f"model {model_version} calls an LLM; only offline classifiers run on a lake",
                             hint="train an offline model (earful classify train) and export again")
        self.features = list(payload.get("features") or [])
        unknown = [f for f in self.features if f.lower() not in CANONICAL_FEATURES]
        if unknown:
            raise InputError(f"model {model_version} uses the raw column(s) {', '.join(unknown)} as features; a lake "
                             f"stage reads only {', '.join(CANONICAL_FEATURES)}",
                             hint="train a model without --feature on those columns, or classify in the workspace")
        self.extra_names = payload.get("extra_names")
        self.multi = bool(self.clf.taxonomy.multi_label)
        self.label_method, self.model_version = label_method, model_version
        self.embedder = None
        if getattr(self.clf, "uses_vectors", True):
            from earful.embeddings import Embedder

            self.embedder = Embedder(model=embedding_model)
            self._model = self.embedder.model

    def _vectors(self, batch, texts: list[str]) -> np.ndarray | None:
        return None if self.embedder is None else vectors_or_embed(batch, texts, self.embedder)

    def __call__(self, batch):
        from earful.classify.base import Inputs

        texts = batch.column("text").to_pylist()
        extra = None
        if self.features:
            from earful.classify.offline import one_hot_extra

            cols = {f: batch.column(f.lower()).to_pylist() for f in self.features}
            extra = one_hot_extra(cols, self.extra_names)[0]
        proba = self.clf.predict_proba(Inputs(texts, self._vectors(batch, texts), extra))
        return label_table(batch.column("item_id"), proba, self.clf.classes_, self.multi, self.label_method)


class TopicAssignStage:
    """(item_id, vector) -> (item_id, topic_id, score, method, assigned_at): nearest topic centroid by cosine
    similarity, -1 under the fit's threshold (as `earful.topics.assign.assign_new`, without a refit)."""

    output = "topics"

    def __init__(self, topic_ids: list[int], centroids: list[list[float]], threshold: float):
        self.topic_ids = np.asarray(topic_ids, dtype=np.int32)
        self.C = np.asarray(centroids, dtype=np.float32).reshape(len(topic_ids), -1)
        self.threshold = float(threshold)

    def __call__(self, batch):
        import pyarrow as pa

        from earful.topics.model import nearest

        X = vectors_of(batch.column("vector"))
        idx, sim = nearest(X, self.C, self.threshold)
        topic = np.where(idx >= 0, self.topic_ids[np.maximum(idx, 0)] if len(self.topic_ids) else -1, -1)
        n = batch.num_rows
        return pa.table({
            "item_id": batch.column("item_id"),
            "topic_id": pa.array(topic.astype(np.int32), pa.int32()),
            "score": pa.array(sim.astype(np.float64), pa.float64()),
            "method": pa.array(["assigned"] * n, pa.string()),
            "assigned_at": _now(n),
        })
