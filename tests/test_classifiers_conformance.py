"""One conformance suite over every registered classifier (ibis's backend suite is the model).

Each classifier class carries its own fixture: ``conformance = {"params": {...}}``, the arguments the suite builds
it with. The suite never branches on names: a classifier that calls an LLM (``offline = False``) gets a fake chat
model, every other one gets nothing more. Registering a classifier without ``conformance`` fails
`test_every_classifier_declares_its_conformance_fixture`, so a new classifier is tested by registering it.

Real parts throughout (the packaged MiniLM model, scikit-learn, skops). The only fake is an LLM's *text*:
`FakeNearestExampleChat` answers with the label of the closest retrieved example.
"""
from __future__ import annotations

import functools
import json
import re

import numpy as np
import pytest
from langchain_core.language_models import SimpleChatModel

from earful.classify import base as classify_base
from earful.classify.base import Classifier, Inputs, classifier_names, make_classifier, parse_taxonomy
from tests.conftest import EXAMPLES


class FakeNearestExampleChat(SimpleChatModel):
    """A fake chat model (named as one): replies with the label of the last few-shot example, as JSON."""

    calls: int = 0
    default_label: str = "ERROR"

    @property
    def _llm_type(self) -> str:
        return "fake-nearest-example-chat"

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:
        self.calls += 1
        found = re.findall(r'Answer: \{"labels": \["([^"]+)"\]\}', messages[-1].content)
        label = found[-1] if found else self.default_label
        return json.dumps({"labels": [label], "confidence": 0.9, "reason": "closest example"})


@functools.lru_cache(maxsize=1)
def urr_sample():
    """~240 bundled URR reviews with one high-level aspect each (ERROR / USAGE / PRICING), plus MiniLM vectors
    (computed once per process; tests/test_classify.py uses it too)."""
    import polars as pl

    from earful.embeddings import Embedder

    df = pl.read_csv(EXAMPLES / "urr_app_reviews.csv", infer_schema_length=0)
    df = df.filter(pl.col("regex_labels_high").is_in(["ERROR", "USAGE", "PRICING"]))
    parts = [df.filter(pl.col("regex_labels_high") == lab).head(80) for lab in ["ERROR", "USAGE", "PRICING"]]
    df = pl.concat(parts).sample(fraction=1.0, shuffle=True, seed=1)
    texts, y = df["review_text"].to_list(), df["regex_labels_high"].to_list()
    vecs = Embedder().encode(texts)
    ratings = np.array([[float(r)] for r in df["rating"].to_list()])
    tax = parse_taxonomy("""
name: aspect
labels:
  - {name: ERROR, description: crashes bugs and errors}
  - {name: USAGE, description: "how the app is used, its interface and features"}
  - {name: PRICING, description: "price, ads and purchases"}
""")
    return tax, Inputs(texts, vecs, ratings), y


@pytest.fixture(scope="module")
def urr():
    return urr_sample()


def registered() -> list[str]:
    """Every registered classifier; names starting with '_' are test doubles registered by other test modules."""
    return [n for n in classifier_names() if not n.startswith("_")]


def factory(name: str):
    return classify_base.CLASSIFIERS[name]


def missing_fixture(factories: dict) -> list[str]:
    """Names whose factory declares no ``conformance`` dict with a ``params`` mapping."""
    return sorted(n for n, f in factories.items()
                  if not isinstance(getattr(f, "conformance", None), dict)
                  or not isinstance(f.conformance.get("params"), dict))


def build(name: str, tax, chat, store=None) -> Classifier:
    """The classifier built from its own fixture; an LLM classifier (offline = False) also gets the chat model."""
    f = factory(name)
    params = dict(f.conformance["params"])
    if not getattr(f, "offline", True):
        params.update(chat_model=chat, store=store)
    return make_classifier(name, tax, **params)


def test_every_classifier_declares_its_conformance_fixture():
    names = registered()
    assert {"tfidf", "embedding", "zeroshot", "joint", "fewshot_llm", "cascade"} <= set(names)
    missing = missing_fixture({n: factory(n) for n in names})
    assert not missing, f"registered classifiers without a `conformance = {{'params': {{...}}}}` fixture: {missing}"


def test_the_fixture_check_catches_a_classifier_without_one():
    class NoFixture(Classifier):
        def fit(self, inputs, y):
            return self

        def predict_proba(self, inputs):
            return np.zeros((len(inputs), len(self.classes_)))

    class WithFixture(NoFixture):
        conformance = {"params": {}}

    assert missing_fixture({"bare": NoFixture, "ok": WithFixture, "fn": lambda tax: None}) == ["bare", "fn"]


def cases() -> list:
    """One pytest param per registered classifier; one whose fixture says ``"slow": True`` runs in the slow lane."""
    return [pytest.param(n, id=n, marks=[pytest.mark.slow] if factory(n).conformance.get("slow") else [])
            if isinstance(getattr(factory(n), "conformance", None), dict) else n for n in registered()]


@pytest.mark.parametrize("name", cases())
def test_classifier_conformance(name, urr):
    tax, inputs, y = urr
    if not hasattr(factory(name), "conformance"):
        pytest.fail(f"classifier {name} declares no `conformance` fixture")
    tr, te = np.arange(0, 180), np.arange(180, len(y))
    chat = FakeNearestExampleChat()
    clf = build(name, tax, chat)
    assert isinstance(clf, Classifier)
    assert clf.fit(inputs.take(tr), [y[i] for i in tr]) is clf
    assert set(y) <= set(clf.classes_)
    p = clf.predict_proba(inputs.take(te))
    assert p.shape == (len(te), len(clf.classes_))
    assert np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-6)
    pred = clf.predict(inputs.take(te))
    assert set(pred) <= set(clf.classes_)
    assert np.allclose(clf.predict_proba(inputs.take(te)), p), "predictions must be deterministic"
    truth = [y[i] for i in te]
    acc = np.mean([a == b for a, b in zip(pred, truth)])
    majority = max(truth.count(c) for c in set(truth)) / len(truth)
    assert acc > majority, f"{name}: accuracy {acc:.2f} is not above the majority rate {majority:.2f}"
    if clf.offline:  # offline models are stored in the workspace as skops bytes, loaded with an allow-list
        from earful.classify.models import FORMAT, dump_model, library_versions, load_model

        blob = dump_model({"classifier": clf, "features": [], "extra_names": None})
        again = load_model(blob, FORMAT, library_versions(), taxonomy=tax.name)["classifier"]
        assert np.allclose(again.predict_proba(inputs.take(te)), p)
    else:  # an LLM classifier really asked the (fake) model
        assert chat.calls > 0
    assert clf.predict_proba(inputs.take([])).shape[0] == 0  # empty input must not crash
