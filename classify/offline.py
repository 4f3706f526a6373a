"""Offline classifiers (no LLM): TF-IDF word and char n-grams, MiniLM + logistic regression, zero-shot, stacked.

Design decision: the best method is a *stack*: each base model's out-of-fold probabilities, computed by an inner
cross-validation on the training data only, feed a multinomial logistic regression together with any numeric
metadata (e.g. rating). That meta model is what makes the output a calibrated distribution, and nothing ever looks
at evaluation folds. scikit-learn is imported lazily so `earful --help` stays fast.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from earful.classify.base import Classifier, Inputs, Taxonomy

SEED = 13


def _lr(C: float = 10.0):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000, class_weight="balanced")


def _reorder(mat: np.ndarray, model_classes, classes: list[str], fill: float) -> np.ndarray:
    """Columns of `mat` (in the model's class order) re-ordered to `classes`; labels the model never saw get `fill`."""
    out = np.full((mat.shape[0], len(classes)), fill, dtype=np.float64)
    pos = {c: j for j, c in enumerate(classes)}
    for k, c in enumerate(model_classes):
        out[:, pos[c]] = mat[:, k]
    return out


def _align(proba: np.ndarray, model_classes, classes: list[str]) -> np.ndarray:
    """Probabilities re-ordered to `classes`; labels never seen get 0, rows renormalised."""
    out = _reorder(proba, model_classes, classes, 0.0)
    s = out.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return out / s


def _word_vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode")


def _char_vectorizer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                           max_features=100_000, strip_accents="unicode", lowercase=True)


class _Linear(Classifier):
    """Features -> balanced logistic regression. Subclasses say how to turn Inputs into a feature matrix."""

    conformance = {"params": {}}  # tests/test_classifiers_conformance.py builds it with these arguments
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

    def fit(self, inputs: Inputs, y: list[str]) -> _Linear:
        self._extend_classes(y)
        X = self._features(inputs, fit=True)
        self.model_ = _lr(self.C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(X, list(y))
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        X = self._features(inputs, fit=False)
        return _align(self.model_.predict_proba(X), self.model_.classes_, self.classes_)


class WordTfidf(_Linear):
    """Word 1-2 gram TF-IDF (sublinear) + balanced logistic regression."""

    name = "tfidf"
    uses_vectors = False

    def _vectorizer(self):
        return _word_vectorizer()


class CharTfidf(_Linear):
    """Character 2-5 gram TF-IDF within word boundaries: robust to typos and app-review spelling."""

    name = "char_tfidf"
    uses_vectors = False

    def _vectorizer(self):
        return _char_vectorizer()


class EmbeddingLR(_Linear):
    """MiniLM sentence vectors (from the store's cache when given) + balanced logistic regression."""

    name = "embedding"
    C = 10.0

    def _features(self, inputs: Inputs, fit: bool):
        return inputs.need_vectors()


class ZeroShot(Classifier):
    """No gold needed: cosine similarity of the item to each label's prototype (name, description, examples).

    The temperature turns similarities into a distribution; gold labels, when given, are ignored.
    """

    name = "zeroshot"
    conformance = {"params": {}}  # tests/test_classifiers_conformance.py builds it with these arguments

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

    def fit(self, inputs: Inputs, y: list[str] | None = None) -> ZeroShot:
        self._build()
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if self.prototypes_ is None:
            self._build()
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        return _softmax(inputs.need_vectors() @ self.prototypes_.T / self.temperature)


class SelfTrained(Classifier):
    """No gold needed: zero-shot labels the items it is fitted on, and a `joint` model learns from the most confident
    `fraction` of each label's items (at most `cap` per label), then labels everything.

    Zero-shot compares a whole review with a few label descriptions; the self-trained model instead learns the
    words and phrasings that go with each label in *this* data, from the items zero-shot is surest about. Measured on
    CLAP reviews mapped to bug report / feature request / other (`bench/classify.py --zeroshot-check`): zero-shot
    macro-F1 0.66, self-trained 0.73 (0.71-0.73 for fractions 0.1-0.3); star ratings as sentiment and URR aspects
    gain 0.03-0.04 too. Gold labels passed to `fit` are ignored: with gold, train `joint` instead.
    """

    name = "selftrained"
    conformance = {"params": {}}  # tests/test_classifiers_conformance.py builds it with these arguments
    TEMPERATURE = 0.5

    def __init__(self, taxonomy: Taxonomy, fraction: float = 0.2, cap: int = 1000, min_per_label: int = 10):
        super().__init__(taxonomy)
        self.fraction, self.cap, self.min_per_label = fraction, cap, min_per_label

    def fit(self, inputs: Inputs, y: list[str] | None = None) -> SelfTrained:
        self.zeroshot_ = ZeroShot(self.taxonomy).fit(None)
        p = self.zeroshot_.predict_proba(inputs)
        lab, conf = p.argmax(axis=1), p.max(axis=1)
        keep = []
        for k in range(len(self.classes_)):
            members = np.flatnonzero(lab == k)
            n = min(len(members), self.cap, max(self.min_per_label, int(self.fraction * len(members))))
            # most confident first; ties broken by position so the choice is deterministic
            keep.extend(members[np.lexsort((members, -conf[members]))][:n])
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        self.n_pseudo_ = len(keep)
        if len(set(lab[keep].tolist())) < 2:  # too few items for two labels: zero-shot is all there is
            self.model_ = self.zeroshot_
            return self
        self.model_ = Joint(self.taxonomy).fit(inputs.take(keep), [self.classes_[k] for k in lab[keep]])
        # the temperature Joint fits out of fold on these items is far too sharp (they are the easy ones: mean
        # confidence 0.98-0.99 against accuracy 0.79 / 0.65 in the no-gold checks); with no gold to fit one, the
        # margins are softmaxed at a fixed TEMPERATURE (mean confidence 0.80 / 0.78 there)
        self.model_.temperature_ = self.TEMPERATURE
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        return _align(self.model_.predict_proba(inputs), self.model_.classes_, self.classes_)


def _mean_sd(ex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations for standardising metadata (constant columns: sd 1)."""
    sd = ex.std(axis=0)
    return ex.mean(axis=0), np.where(sd > 0, sd, 1.0)


def _folds(y: list[str], k: int):
    from sklearn.model_selection import KFold, StratifiedKFold

    counts = np.unique(np.asarray(y), return_counts=True)[1]
    n = int(min(k, max(2, counts.min()))) if counts.min() >= 2 else 0
    if n >= 2:
        return StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y)
    return KFold(n_splits=min(k, len(y)), shuffle=True, random_state=SEED).split(np.zeros(len(y)))


class Stacked(Classifier):
    """Word TF-IDF + char TF-IDF + MiniLM base models, stacked by a logistic regression on out-of-fold log-probs.

    Numeric metadata (`Inputs.extra`, e.g. one-hot rating) joins the meta features; inner folds use training data only.
    """

    name = "stacked"
    conformance = {"params": {}, "slow": True}  # tests/test_classifiers_conformance.py builds it with these arguments
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

    def fit(self, inputs: Inputs, y: list[str]) -> Stacked:
        from sklearn.linear_model import LogisticRegression

        y = list(y)
        self._extend_classes(y)
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
            self.extra_mu_, self.extra_sd_ = _mean_sd(ex)
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


class Joint(Classifier):
    """Word + char TF-IDF, MiniLM vectors and metadata in one class-balanced linear SVM, softmax-calibrated.

    One model over all features beat stacking separate models here (the stack's meta-learner overfits small
    classes). How much weight the MiniLM block and the metadata block get is chosen by an inner cross-validation
    on the training data only (macro-F1), and the softmax temperature is fitted on the same out-of-fold scores, so
    probabilities are calibrated while the argmax stays the SVM's.
    """

    name = "joint"
    conformance = {"params": {}, "slow": True}  # tests/test_classifiers_conformance.py builds it with these arguments
    VEC_WEIGHTS = (0.5, 1.0, 2.0)
    META_WEIGHTS = (0.5, 1.0)

    def __init__(self, taxonomy: Taxonomy, inner_folds: int = 3, C: float = 0.3):
        super().__init__(taxonomy)
        self.inner_folds = inner_folds
        self.C = C

    @staticmethod
    def _vectorizers():
        return _word_vectorizer(), _char_vectorizer()

    def _text_block(self, texts, vecs, fit: bool):
        import scipy.sparse as sp

        if fit:
            return sp.hstack([v.fit_transform(texts) for v in vecs]).tocsr()
        return sp.hstack([v.transform(texts) for v in vecs]).tocsr()

    def _extra_block(self, extra, n: int):
        if not self.uses_extra_:
            return None
        if extra is None:  # metadata missing at prediction time: numbers at the training mean, indicators off
            return np.zeros((n, len(self.extra_mu_)))
        ex = np.asarray(extra, dtype=np.float64)
        return np.where(self.extra_binary_, ex, (ex - self.extra_mu_) / self.extra_sd_)

    @staticmethod
    def _stack(text_X, vectors, extra, a: float, m: float):
        import scipy.sparse as sp

        parts = [text_X, sp.csr_matrix(a * vectors)]
        if extra is not None and m:
            parts.append(sp.csr_matrix(m * extra))
        return sp.hstack(parts).tocsr()

    def _svm(self):
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, class_weight="balanced", random_state=SEED)

    def fit(self, inputs: Inputs, y: list[str]) -> Joint:
        from sklearn.metrics import f1_score

        y = list(y)
        self._extend_classes(y)
        vectors = inputs.need_vectors()
        self.uses_extra_ = inputs.extra is not None
        if self.uses_extra_:
            ex = np.asarray(inputs.extra, dtype=np.float64)
            self.extra_binary_ = np.all(np.isin(ex, (0.0, 1.0)), axis=0)
            self.extra_mu_, self.extra_sd_ = _mean_sd(ex)
        extra = self._extra_block(inputs.extra, len(y))
        grid = [(a, m) for a in self.VEC_WEIGHTS for m in (self.META_WEIGHTS if self.uses_extra_ else (0.0,))]
        yarr = np.asarray(y)
        scores = {g: np.zeros((len(y), len(self.classes_))) for g in grid}
        for tr, te in _folds(y, self.inner_folds):
            vecs = self._vectorizers()
            T_tr = self._text_block([inputs.texts[i] for i in tr], vecs, fit=True)
            T_te = self._text_block([inputs.texts[i] for i in te], vecs, fit=False)
            for a, m in grid:
                svm = self._svm()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    svm.fit(self._stack(T_tr, vectors[tr], None if extra is None else extra[tr], a, m), yarr[tr])
                d = svm.decision_function(self._stack(T_te, vectors[te], None if extra is None else extra[te], a, m))
                scores[(a, m)][te] = _align_scores(d, svm.classes_, self.classes_)
        classes = np.asarray(self.classes_)
        f1 = {g: f1_score(yarr, classes[s.argmax(axis=1)], average="macro") for g, s in scores.items()}
        self.vec_weight_, self.meta_weight_ = max(grid, key=lambda g: (round(f1[g], 6), -grid.index(g)))
        self.inner_macro_f1_ = f1[(self.vec_weight_, self.meta_weight_)]
        pos = {c: j for j, c in enumerate(self.classes_)}
        self.temperature_ = _fit_temperature(scores[(self.vec_weight_, self.meta_weight_)],
                                             np.array([pos[c] for c in y]))
        self.vecs_ = self._vectorizers()
        T = self._text_block(inputs.texts, self.vecs_, fit=True)
        self.svm_ = self._svm()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.svm_.fit(self._stack(T, vectors, extra, self.vec_weight_, self.meta_weight_), yarr)
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        T = self._text_block(inputs.texts, self.vecs_, fit=False)
        X = self._stack(T, inputs.need_vectors(), self._extra_block(inputs.extra, len(inputs)),
                        self.vec_weight_, self.meta_weight_)
        d = _align_scores(self.svm_.decision_function(X), self.svm_.classes_, self.classes_)
        return _softmax(d / self.temperature_)


def _align_scores(d: np.ndarray, model_classes, classes: list[str]) -> np.ndarray:
    """SVM decision scores in `classes` order; a class the model never saw gets a score far below the rest."""
    d = np.asarray(d, dtype=np.float64)
    if d.ndim == 1:  # binary: sklearn gives one column, the score of model_classes[1]
        d = np.vstack([-d, d]).T
    return _reorder(d, model_classes, classes, -1e3)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _fit_temperature(scores: np.ndarray, y_idx: np.ndarray) -> float:
    """The softmax temperature minimising the log-loss of out-of-fold scores (1-D grid search)."""
    best_t, best_nll = 1.0, np.inf
    for t in np.geomspace(0.02, 5.0, 60):
        p = _softmax(scores / t)
        nll = -np.mean(np.log(np.clip(p[np.arange(len(y_idx)), y_idx], 1e-12, 1.0)))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


_TOKEN = re.compile(r"[a-z]+|\d+")


def _key(v) -> str:
    return " ".join(str(v).lower().split())


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _extra_vocabulary(columns: dict[str, list]) -> list[str]:
    """Feature names for `one_hot_extra`, decided on the training data (see there)."""
    names: list[str] = []
    for col, values in columns.items():
        present = [v for v in values if not _missing(v)]
        keys = sorted({_key(v) for v in present})
        if len(keys) > 12 and all(_is_number(v) for v in present):
            names.append(col)
        else:
            toks = [_TOKEN.findall(_key(v)) for v in present]
            if present and sum(map(len, toks)) / len(present) > 6:
                continue  # free text is not metadata
            names += [f"{col}={k}" for k in keys]
            multi = sorted({t for k, tk in zip(map(_key, present), toks) if tk != [k] for t in tk})
            names += [f"{col}:{t}" for t in multi]
        if len(present) < len(values):
            names.append(f"{col}=missing")
    return names


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def one_hot_extra(columns: dict[str, list], names: list[str] | None = None) -> tuple[np.ndarray | None, list[str]]:
    """Numeric metadata for `Inputs.extra`: (matrix or None, feature names).

    Without `names` the features are chosen from these rows (training); with `names` (from training) the same
    features are computed for new rows, so a batch always matches what the model saw. A column of numbers with more
    than 12 distinct values is one number (`col`). Anything else is categorical: one indicator per value
    (`col=value`, lowercased, spaces collapsed) plus one per token of values made of several words or of words and
    digits (`col:op` for `2-op`, `2 - op`, `4-op`), so spelling variants of one category share a feature. Free text
    (more than 6 tokens per value on average) is not metadata and is skipped. Missing values: `col=missing`.
    """
    if names is None:
        names = _extra_vocabulary(columns)
    if not names:
        return None, []
    n = len(next(iter(columns.values()))) if columns else 0
    out = np.zeros((n, len(names)))
    pos = {name: j for j, name in enumerate(names)}
    for col, values in columns.items():
        for i, v in enumerate(values):
            if _missing(v):
                j = pos.get(f"{col}=missing")
                if j is not None:
                    out[i, j] = 1.0
                continue
            if col in pos:
                out[i, pos[col]] = float(v) if _is_number(v) else 0.0
                continue
            k = _key(v)
            for name in [f"{col}={k}"] + [f"{col}:{t}" for t in _TOKEN.findall(k)]:
                j = pos.get(name)
                if j is not None:
                    out[i, j] = 1.0
    return out, list(names)
