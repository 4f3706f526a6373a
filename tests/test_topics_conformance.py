"""One conformance suite over every registered topic backend and every topic labeler (ibis's backend suite is the
model): a new one is tested by registering it.

Each implementation class carries its own fixture, ``conformance = {"params": {...}}`` (the arguments the suite
builds it with), plus ``"slow": True`` for an expensive one (it then runs in the slow lane only) and, for a labeler,
``"chat_model": True`` when it needs a chat model (the suite passes a fake one). The suite never branches on names.
Registering a backend or labeler without ``conformance`` fails `test_every_topic_part_declares_its_fixture`.

Real parts: 150 bundled URR reviews, the packaged MiniLM vectors, real DuckDB files, `fit_topics`. The only fake is
an LLM's text (`FakeTopicNamer`).
"""
from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from langchain_core.language_models import SimpleChatModel

from earful.topics.base import (
    BACKENDS,
    LABELERS,
    BackendFit,
    Labeler,
    TopicBackend,
    TopicDraft,
    get_backend,
    get_labeler,
)
from tests.conftest import urr_sample

N_DOCS = 150
# Stand-in clustering for the labeler suite's trip through `fit_topics` (the backends have their own suite above).
STANDIN = "pca-kmeans-standin"


def fixture_of(part) -> dict | None:
    fx = getattr(part, "conformance", None)
    return fx if isinstance(fx, dict) and isinstance(fx.get("params"), dict) else None


def cases(registry) -> list:
    """One pytest param per registered name; an implementation whose fixture says ``slow`` is marked slow."""
    out = []
    for name in registry:
        fx = fixture_of(registry[name]) or {}
        out.append(pytest.param(name, id=name, marks=[pytest.mark.slow] if fx.get("slow") else []))
    return out


class FakeTopicNamer(SimpleChatModel):
    """A fake chat model (named as one): names a topic after the first keyword in the prompt, as JSON."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "fake-topic-namer"

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:
        self.calls += 1
        text = messages[-1].content
        m = re.search(r"Keywords?:?\s*([^,\n]+)", text, re.I)
        first = (m.group(1) if m else f"topic {self.calls}").strip()
        return json.dumps({"name": f"{first} reports", "description": f"Users write about {first}."})


@pytest.fixture(scope="module")
def embedded_db(tmp_path_factory):
    """A workspace with the same 150 reviews ingested and embedded (built once, copied per test)."""
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("topics_conf")
    with Store(d / "base.duckdb") as s:
        ingest_file(s, urr_sample(d / "urr.csv", slice(0, N_DOCS)), source="reviews")
        embed_items(s)
    return d / "base.duckdb"


@pytest.fixture(scope="module")
def corpus(embedded_db):
    """The workspace's texts and their stored vectors, in item_id order (what `fit_topics` hands a backend)."""
    from earful.embeddings import item_vectors
    from earful.store import Store

    with Store(embedded_db) as s:
        ids, vecs = item_vectors(s)
        text = dict(s.rows("SELECT item_id, text FROM items"))
    return [text[i] for i in ids], vecs


@pytest.fixture
def ws(embedded_db, tmp_path):
    from earful.store import Store

    shutil.copy(embedded_db, tmp_path / "w.duckdb")
    s = Store(tmp_path / "w.duckdb")
    yield s
    s.close()


def test_every_topic_part_declares_its_fixture():
    assert {"bertopic", STANDIN} <= set(BACKENDS) and {"keywords", "llm"} <= set(LABELERS)
    missing = [f"backend {n}" for n in BACKENDS if fixture_of(BACKENDS[n]) is None]
    missing += [f"labeler {n}" for n in LABELERS if fixture_of(LABELERS[n]) is None]
    assert not missing, f"registered without a `conformance = {{'params': {{...}}}}` fixture: {missing}"


def test_the_fixture_check_catches_a_part_without_one():
    class Bare(Labeler):
        def label(self, drafts):
            return []

    class Declared(Bare):
        conformance = {"params": {}}

    assert fixture_of(Bare) is None and fixture_of(Declared) == {"params": {}}
    assert [p.id for p in cases({"a": Declared, "b": type("S", (Bare,), {"conformance": {"params": {}, "slow": 1}})})] \
        == ["a", "b"]


# -- backends ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", cases(BACKENDS))
def test_backend_conformance(name, corpus, ws):
    from earful.topics.fit import fit_topics

    fx = fixture_of(BACKENDS[name])
    if fx is None:
        pytest.fail(f"topic backend {name} declares no `conformance` fixture")
    docs, vecs = corpus
    be = get_backend(name, seed=7, **fx["params"])
    assert isinstance(be, TopicBackend)
    res = be.fit(docs, vecs)
    assert isinstance(res, BackendFit)
    labels = np.asarray(res.labels)
    assert labels.shape == (len(docs),) and np.issubdtype(labels.dtype, np.integer)
    topics = sorted(set(labels.tolist()) - {-1})
    assert len(topics) >= 2 and labels.min() >= -1, f"{name}: labels {sorted(set(labels.tolist()))}"
    assert (labels != -1).mean() > 0.3, f"{name}: most documents are outliers"
    vocab = set(re.findall(r"\w+", " ".join(docs).lower()))
    for t in topics:  # every topic has keywords, and they come from the documents
        kws = res.keywords.get(t)
        assert kws and all(isinstance(k, str) and k for k in kws), f"{name}: topic {t} has no keywords"
        assert all(set(re.findall(r"\w+", k.lower())) <= vocab for k in kws), f"{name}: {kws} not from the docs"
    again = get_backend(name, seed=7, **fx["params"]).fit(docs, vecs)
    assert np.array_equal(np.asarray(again.labels), labels), f"{name}: not deterministic for a fixed seed"

    # the same backend, by name, through the stage's store code
    summary = fit_topics(ws, backend=name, backend_params=fx["params"], seed=7)
    assert summary["backend"] == name and summary["items"] == N_DOCS and summary["topics"] >= 2
    assert ws.scalar("SELECT count(*) FROM topic_assignments") == N_DOCS
    assert ws.scalar("SELECT count(*) FROM reviews WHERE topic IS NOT NULL") == N_DOCS
    assert ws.scalar("SELECT count(*) FROM topics WHERE status = 'active' AND len(keywords) = 0") == 0


# -- labelers ---------------------------------------------------------------------------------------------------
DRAFTS = [
    TopicDraft(0, ["crash", "crashes on startup", "freeze"], ["The app crashes every time I open it.",
                                                              "Freezes on the login screen, then crashes."], 40),
    TopicDraft(1, ["ads", "too many ads", "premium"], ["Way too many ads, I would pay to remove them.",
                                                       "Ads after every tap."], 25),
    TopicDraft(2, ["dark mode", "feature request"], ["Please add a dark mode.", "Would love a dark theme option."], 12),
]


def build_labeler(name, store=None):
    fx = fixture_of(LABELERS[name])
    if fx is None:
        pytest.fail(f"topic labeler {name} declares no `conformance` fixture")
    params = dict(fx["params"])
    chat = FakeTopicNamer() if fx.get("chat_model") else None
    if chat is not None:
        params.update(chat_model=chat, store=store)
    return get_labeler(name, **params), chat


def check_labels(name, out, n):
    assert len(out) == n, f"{name}: {len(out)} labels for {n} topics"
    for label in out:
        topic_name, description = label
        assert isinstance(topic_name, str) and topic_name.strip() and len(topic_name.split()) <= 8, label
        assert isinstance(description, str) and description.strip(), label
    assert len({t.lower() for t, _ in out}) == n, f"{name}: topic names are not distinct: {out}"


@pytest.mark.parametrize("name", cases(LABELERS))
def test_labeler_conformance(name, ws):
    from earful.topics.fit import fit_topics

    labeler, chat = build_labeler(name, store=ws)
    assert isinstance(labeler, Labeler)
    out = labeler.label(DRAFTS)
    check_labels(name, out, len(DRAFTS))
    assert labeler.label([]) == []
    if chat is not None:  # a labeler given a chat model really asked it, and used its names
        assert chat.calls >= len(DRAFTS)
        assert {t for t, _ in out} == {"crash reports", "ads reports", "dark mode reports"}

    # the labeler, passed in, names the topics of a real fit in the workspace
    labeler, _ = build_labeler(name, store=ws)
    fit_topics(ws, backend=STANDIN, backend_params={"n_topics": 4}, labeler=labeler)
    rows = ws.rows("SELECT name, description, label_source FROM topics WHERE status = 'active'")
    check_labels(name, [(n, d) for n, d, _ in rows], 4)
    assert {src for *_, src in rows} == {labeler.name}
