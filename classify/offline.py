"""Offline classifiers (no LLM): TF-IDF word and char n-grams, MiniLM + logistic regression, zero-shot, stacked.

Design decision: the best method is a *stack*: each base model's out-of-fold probabilities, computed by an inner
cross-validation on the training data only, feed a multinomial logistic regression together with any numeric
metadata (e.g. rating). That meta model is what makes the output a calibrated distribution, and nothing ever looks
at evaluation folds. scikit-learn is imported lazily so `earful --help` stays fast.
"""
from __future__ import annotations

import warnings

import numpy as np

from classify.base import Classifier, Inputs, Taxonomy, register_classifier

SEED = 13


def _lr(C: float = 10.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000, class_weight="balanced")


def _align(proba: np.ndarray, model_classes, classes: list[str]) -> np.ndarray:
    """Columns of `proba` (in the model's class order) re-ordered to `classes`; labels never seen get 0."""
    out = np.zeros((proba.shape[0], len(classes)), dtype=np.float64)
    pos = {c: j for j, c in enumerate(classes)}
    for k, c in enumerate(model_classes):
        out[:, pos[c]] = proba[:, k]
    s = out.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return out / s


class _Linear(Classifier):
    """Features -> balanced logistic regression. Subclasses say how to turn Inputs into a feature matrix."""

    C = 10.0

    def __init__(self, taxonomy: Taxonomy, C: float | None = None):
        super().__init__(taxonomy)
        self.C = C if C is not None else self.C

    def _vectorizer(self):  # pragma: no cover - overridden
        return None

    def _features(self, inputs: Inputs, fit: bool):
        if fit:
            self.vec_ = self._vectorizer()
            return self.vec_.fit_transform(inputs.texts)
        return self.vec_.transform(inputs.texts)

    def fit(self, inputs: Inputs, y: list[str]) -> "_Linear":
        self._extend_classes(y)
        X = self._features(inputs, fit=True)
        self.model_ = _lr(self.C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(X, list(y))
        return self

    def _extend_classes(self, y):
        for lab in sorted(set(y) - set(self.classes_)):
            self.classes_.append(lab)

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        X = self._features(inputs, fit=False)
        return _align(self.model_.predict_proba(X), self.model_.classes_, self.classes_)


@register_classifier("tfidf")
class WordTfidf(_Linear):
    """Word 1-2 gram TF-IDF (sublinear) + balanced logistic regression."""

    name = "tfidf"
    uses_vectors = False

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode")


@register_classifier("char_tfidf")
class CharTfidf(_Linear):
    """Character 2-5 gram TF-IDF within word boundaries: robust to typos and app-review spelling."""

    name = "char_tfidf"
    uses_vectors = False

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                               max_features=100_000, strip_accents="unicode", lowercase=True)


@register_classifier("embedding")
class EmbeddingLR(_Linear):
    """MiniLM sentence vectors (from the store's cache when given) + balanced logistic regression."""

    name = "embedding"
    C = 10.0

    def _features(self, inputs: Inputs, fit: bool):
        return inputs.need_vectors()


@register_classifier("zeroshot")
class ZeroShot(Classifier):
    """No gold needed: cosine similarity of the item to each label's prototype (name, description, examples).

    The temperature turns similarities into a distribution; gold labels, when given, are ignored.
    """

    name = "zeroshot"
    needs_gold = False

    def __init__(self, taxonomy: Taxonomy, temperature: float = 0.05):
        super().__init__(taxonomy)
        self.temperature = temperature
        self.prototypes_ = None

    def _build(self):
        from earful.embeddings import Embedder

        emb = Embedder()
        protos = []
        for lab in self.taxonomy.labels:
            texts = [f"{lab.name}: {lab.description}" if lab.description else lab.name] + list(lab.examples)
            v = emb.encode(texts).mean(axis=0)
            protos.append(v / (np.linalg.norm(v) or 1.0))
        self.prototypes_ = np.vstack(protos).astype(np.float32)

    def fit(self, inputs: Inputs, y: list[str] | None = None) -> "ZeroShot":
        self._build()
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if self.prototypes_ is None:
            self._build()
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        s = inputs.need_vectors() @ self.prototypes_.T / self.temperature
        s = s - s.max(axis=1, keepdims=True)
        e = np.exp(s)
        return e / e.sum(axis=1, keepdims=True)


def _folds(y: list[str], k: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.unique(np.asarray(y), return_counts=True)[1]
    n = int(min(k, max(2, counts.min()))) if counts.min() >= 2 else 0
    if n >= 2:
        return StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y)
    return KFold(n_splits=min(k, len(y)), shuffle=True, random_state=SEED).split(np.zeros(len(y)))


@register_classifier("stacked")
class Stacked(Classifier):
    """Word TF-IDF + char TF-IDF + MiniLM base models, stacked by a logistic regression on out-of-fold log-probs.

    Numeric metadata (`Inputs.extra`, e.g. one-hot rating) joins the meta features; inner folds use training data only.
    """

    name = "stacked"
    BASES = (WordTfidf, CharTfidf, EmbeddingLR)

    def __init__(self, taxonomy: Taxonomy, inner_folds: int = 3, C_meta: float = 1.0):
        super().__init__(taxonomy)
        self.inner_folds = inner_folds
        self.C_meta = C_meta

    def _meta_X(self, probas: list[np.ndarray], extra) -> np.ndarray:
        parts = [np.log(np.clip(p, 1e-4, 1.0)) for p in probas]
        if extra is not None:
            parts.append((np.asarray(extra, dtype=np.float64) - self.extra_mu_) / self.extra_sd_)
        return np.hstack(parts)

    def fit(self, inputs: Inputs, y: list[str]) -> "Stacked":
        from sklearn.linear_model import LogisticRegression

        y = list(y)
        for lab in sorted(set(y) - set(self.classes_)):
            self.classes_.append(lab)
        if self.BASES and EmbeddingLR in self.BASES:
            inputs.need_vectors()
        oof = [np.zeros((len(y), len(self.classes_))) for _ in self.BASES]
        for tr, te in _folds(y, self.inner_folds):
            for b, base in enumerate(self.BASES):
                m = base(self.taxonomy)
                m.classes_ = list(self.classes_)
                m.fit(inputs.take(tr), [y[i] for i in tr])
                oof[b][te] = m.predict_proba(inputs.take(te))
        if inputs.extra is not None:
            ex = np.asarray(inputs.extra, dtype=np.float64)
            self.extra_mu_, sd = ex.mean(axis=0), ex.std(axis=0)
            self.extra_sd_ = np.where(sd > 0, sd, 1.0)
        self.uses_extra_ = inputs.extra is not None
        self.meta_ = LogisticRegression(C=self.C_meta, max_iter=3000, class_weight="balanced")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.meta_.fit(self._meta_X(oof, inputs.extra), y)
        self.bases_ = []
        for base in self.BASES:
            m = base(self.taxonomy)
            m.classes_ = list(self.classes_)
            self.bases_.append(m.fit(inputs, y))
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        probas = [m.predict_proba(inputs) for m in self.bases_]
        extra = inputs.extra if self.uses_extra_ else None
        if self.uses_extra_ and extra is None:
            extra = np.tile(self.extra_mu_, (len(inputs), 1))  # metadata missing: assume the training average
        return _align(self.meta_.predict_proba(self._meta_X(probas, extra)), self.meta_.classes_, self.classes_)


def one_hot_extra(columns: dict[str, list]) -> tuple[np.ndarray | None, list[str]]:
    """Numeric metadata for `Inputs.extra`: low-cardinality columns (<= 12 values) one-hot, others as numbers.

    Missing values become 0 plus a `<col>=missing` indicator. Returns (matrix or None, feature names).
    """
    mats, names = [], []
    for col, values in columns.items():
        vals = [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]
        distinct = sorted({str(v) for v in vals if v is not None})
        if len(distinct) <= 12:
            for d in distinct:
                mats.append(np.array([1.0 if v is not None and str(v) == d else 0.0 for v in vals]))
                names.append(f"{col}={d}")
        else:
            try:
                mats.append(np.array([float(v) if v is not None else 0.0 for v in vals]))
            except (TypeError, ValueError):
                continue  # free text is not metadata
            names.append(col)
        if any(v is None for v in vals):
            mats.append(np.array([1.0 if v is None else 0.0 for v in vals]))
            names.append(f"{col}=missing")
    return (np.vstack(mats).T if mats else None), names
