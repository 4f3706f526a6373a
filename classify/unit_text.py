"""Labelling *units* from all of their texts together, offline, with no gold and no embeddings.

A unit is what one category belongs to even though several items describe it: one WildBench task answered by 8
models and judged 8 times, one support thread, one product with many reviews. Labelling each item and letting the
unit's items vote throws away what the items say together; here each unit becomes one document (every text of its
items in the labelled source and, joined on the unit column, in other sources such as the judge's critiques: "The
response provides Python code ..." says what the task was), the unit is labelled once, and every item of the unit
gets that label (``classify_labels``, method ``unit_selftrained``), so `earful profile --labels T --unit-column U`
and ``classify shares`` read it as any other label.

Design decision: the labeller is `TextSelfTrained`, a classifier over texts only. Word TF-IDF similarity of each
document to each label's prototype (its name, description and examples) is the seed; the `fraction` of each label's
documents it is surest of (at least `min_per_label`) train a class-balanced logistic regression on the documents'
word 1-2 grams, which then labels every document: it learns the words that go with each label in *this* data, as
`offline.SelfTrained` does from MiniLM zero-shot seeds, but needs no vectors, so thousands of long unit documents
cost seconds instead of an embedding run (WildBench's 1,024 tasks, 16,266 items: 15 s on 2 shared cores). Measured
there (``bench/profiles_wildbench.py``, 60 hand-labelled tasks, 20 of them held out from writing the taxonomy's
examples): tasks whose tag / group agree with the hand label 37 / 45 of 60 (held out: 14 / 16 of 20), against
15 / 31 (4 / 10) for labelling each response with MiniLM self-training and letting the 8 vote.
"""
from __future__ import annotations

import hashlib
import warnings

import numpy as np

from earful.classify.base import Classifier, Inputs, Taxonomy, load_taxonomy
from earful.errors import InputError, NotFoundError
from earful.store.views import quote_ident

METHOD = "unit_selftrained"


def prototype_text(label) -> str:
    """What a label's seed is compared with: its name, description and examples, one per line."""
    head = f"{label.name}: {label.description}" if label.description else label.name
    return "\n".join([head, *label.examples])


class TextSelfTrained(Classifier):
    """No gold, no vectors: TF-IDF prototype seeds, then a balanced logistic regression learnt from the surest seeds.

    `temperature` only orders the seeds by confidence (softmax of the cosine similarities); documents that share no
    word with any prototype are never seeds. With seeds for fewer than two labels the seed distribution is the
    answer (there is nothing to learn a boundary from).
    """

    name = METHOD
    uses_vectors = False

    def __init__(self, taxonomy: Taxonomy, fraction: float = 0.2, min_per_label: int = 10, C: float = 1.0,
                 temperature: float = 0.05):
        super().__init__(taxonomy)
        self.fraction, self.min_per_label, self.C, self.temperature = fraction, min_per_label, C, temperature

    def _vectorizer(self, n_docs: int):
        from sklearn.feature_extraction.text import TfidfVectorizer

        # on a handful of documents every word is rare and many are in most of them: keep them all
        return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode",
                               min_df=2 if n_docs >= 50 else 1, max_df=0.5 if n_docs >= 20 else 1.0)

    def seed_proba(self, texts: list[str]) -> np.ndarray:
        """The seed distribution: softmax over the TF-IDF cosine of each text with each label's prototype."""
        S = (self.vec_.transform(texts) @ self.protos_.T).toarray()
        z = S / self.temperature
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def fit(self, inputs: Inputs, y: list[str] | None = None) -> TextSelfTrained:
        from sklearn.linear_model import LogisticRegression

        texts = list(inputs.texts)
        protos = [prototype_text(lab) for lab in self.taxonomy.labels]
        self.vec_ = self._vectorizer(len(texts))
        X = self.vec_.fit_transform(texts + protos)
        self.protos_ = X[len(texts):]
        X = X[:len(texts)]
        sim = (X @ self.protos_.T).toarray()
        P = self.seed_proba(texts)
        lab, conf = P.argmax(axis=1), P.max(axis=1)
        keep = []
        for k in range(len(self.classes_)):
            members = np.flatnonzero((lab == k) & (sim.max(axis=1) > 0))
            n = min(len(members), max(self.min_per_label, int(self.fraction * len(members))))
            keep.extend(members[np.lexsort((members, -conf[members]))][:n])   # surest first, ties by position
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        self.n_seed_ = len(keep)
        if len(set(lab[keep].tolist())) < 2:
            self.model_ = None
            return self
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(X[keep], lab[keep])
        return self

    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        if len(inputs) == 0:
            return np.zeros((0, len(self.classes_)))
        if self.model_ is None:
            return self.seed_proba(list(inputs.texts))
        out = np.zeros((len(inputs), len(self.classes_)))
        out[:, self.model_.classes_] = self.model_.predict_proba(self.vec_.transform(list(inputs.texts)))
        return out


def _unit_col(store, source: str, unit_column: str) -> str:
    if source not in store.sources():
        known = ", ".join(store.sources()) or "none yet"
        raise NotFoundError(f"no source named '{source}' (known: {known})", hint="ingest it with --source NAME")
    cols = [r[0] for r in store.rows(f"DESCRIBE {quote_ident(source)}")]
    for c in cols:
        if c.lower() == unit_column.lower():
            return c
    raise InputError(f"the source '{source}' has no unit column '{unit_column}'", hint="columns: " + ", ".join(cols))


def unit_documents(store, source: str, unit_column: str, with_sources: list[str] | tuple = (),
                   max_chars: int | None = 2000) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(units, documents, item ids per unit): each unit's texts from `source` and from `with_sources` (joined on the
    same unit column), each text cut to `max_chars`, in item-id order. An item of `source` with no unit value is a
    unit of its own; items of `with_sources` only add text to units `source` has (they are labelled too)."""
    parts = {}
    for k, src in enumerate([source, *with_sources]):
        col = quote_ident(_unit_col(store, src, unit_column))
        cut = f"left(v.text, {int(max_chars)})" if max_chars else "v.text"
        unit = f"CAST(v.{col} AS VARCHAR)"
        if k == 0:   # an item without a unit is a unit of its own
            unit = f"coalesce({unit}, 'item ' || v.item_id)"
        for u, iid, text in store.rows(f"SELECT {unit}, v.item_id, {cut} FROM {quote_ident(src)} v "
                                       f"WHERE {unit} IS NOT NULL ORDER BY 1, v.item_id"):
            if k and u not in parts:
                continue
            parts.setdefault(u, ([], []))
            parts[u][0].append(text or "")
            parts[u][1].append(iid)
    units = sorted(parts)
    return units, ["\n".join(parts[u][0]) for u in units], {u: parts[u][1] for u in units}


def label_units(store, taxonomy: str | Taxonomy, source: str, unit_column: str, *,
                with_sources: list[str] | tuple = (), max_chars: int | None = 2000, fraction: float = 0.2,
                min_per_label: int = 10) -> dict:
    """Label every unit of `source` from all its texts (`unit_documents`) with `TextSelfTrained`, and give each item
    of the unit (in `source` and `with_sources`) the unit's label and probability. The taxonomy's earlier model
    labels of those items are replaced; a label a person set in review (method ``human``) is kept."""
    from earful.classify.workspace import save_taxonomy, write_labels

    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy, store)
    if not any(lab.description or lab.examples for lab in tax.labels):
        raise InputError(f"taxonomy '{tax.name}' has no label descriptions or examples to seed the unit labels from",
                         hint="describe each label (description, examples) in the taxonomy file")
    units, docs, members = unit_documents(store, source, unit_column, with_sources, max_chars)
    if not units:
        raise InputError(f"the source '{source}' has no items to label", hint="ingest some feedback first")
    clf = TextSelfTrained(tax, fraction=fraction, min_per_label=min_per_label).fit(Inputs(docs))
    proba = clf.predict_proba(Inputs(docs))
    key = "|".join([tax.model_dump_json(), source, unit_column, *with_sources, str(max_chars), str(fraction),
                    str(min_per_label), str(len(units))])
    version = f"{METHOD}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    rows = np.repeat(np.arange(len(units)), [len(members[u]) for u in units])
    ids = [i for u in units for i in members[u]]
    human = {r[0] for r in store.rows("SELECT item_id FROM classify_labels WHERE taxonomy = ? AND method = 'human'",
                                      [tax.name])}
    keep = [k for k, i in enumerate(ids) if i not in human]
    ids, rows = [ids[k] for k in keep], rows[keep]
    with store.transaction():
        if not store.rows("SELECT 1 FROM taxonomies WHERE name = ?", [tax.name]):
            save_taxonomy(store, tax, f"unit labels ({source} by {unit_column})")
        if ids:   # INSERT OR REPLACE: the taxonomy's earlier labels of these items are replaced
            write_labels(store, tax, ids, proba[rows], clf.classes_, [METHOD] * len(ids), version)
    top = proba.argmax(axis=1)
    return {"taxonomy": tax.name, "method": METHOD, "model_version": version, "units": len(units),
            "items": len(ids), "kept_human": len(human & {i for u in units for i in members[u]}),
            "seeds": clf.n_seed_, "by_label": {c: int((top == k).sum()) for k, c in enumerate(clf.classes_)}}
