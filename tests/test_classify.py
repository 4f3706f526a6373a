"""Classification: taxonomies, cascade, cache, resume (the conformance suite over every registered classifier is
tests/test_classifiers_conformance.py).

Real parts throughout (DuckDB files, the packaged MiniLM model, scikit-learn). The only fakes are LLM *texts*:
`FakeNearestExampleChat` answers with the label of the closest retrieved example (the last one in the prompt),
and counts how often it was really called.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from earful.classify.base import (
    Classifier,
    Inputs,
    builtin_taxonomies,
    load_taxonomy,
    make_classifier,
    parse_taxonomy,
    register_classifier,
)
from earful.classify.llm import Cascade, FewShotLLM, LLMLabel, build_messages, choose_threshold, reply_to_distribution
from earful.classify.offline import one_hot_extra
from earful.errors import ConfigError, NotFoundError
from tests.conftest import EXAMPLES
from tests.test_classifiers_conformance import FakeNearestExampleChat, urr_sample


@pytest.fixture(scope="module")
def urr():
    """~240 URR reviews with one aspect each, plus MiniLM vectors (shared with the conformance suite)."""
    return urr_sample()


# -- taxonomies ------------------------------------------------------------------------------------------------
def test_builtin_taxonomies_parse():
    names = builtin_taxonomies()
    assert {"feedback_type", "sentiment", "app_review_aspects", "llm_critique_errors"} <= set(names)
    for n in names:
        t = load_taxonomy(n)
        assert t.name == n and len(t.labels) >= 3
    assert load_taxonomy("app_review_aspects").multi_label


@pytest.mark.parametrize("text,needle", [
    ("name: x\nlabels: [a, b\n", "not valid YAML"),
    ("- just\n- a list\n", "must be a mapping"),
    ("name: x\nlabels: [only]\n", "at least two labels"),
    ("name: x\nlabels: [a, a]\n", "duplicate label"),
    ("name: Bad Name\nlabels: [a, b]\n", "'name'"),
    ("name: x\nlabels: [a, b]\ncolour: red\n", "'colour'"),
    ("name: x\nlabels:\n  - {name: a, descripton: typo}\n  - b\n", "descripton"),
])
def test_bad_taxonomy_yaml_gives_clear_error(text, needle):
    with pytest.raises(ConfigError) as e:
        parse_taxonomy(text, "t.yaml")
    assert "t.yaml" in str(e.value) and needle in str(e.value)


def test_unknown_taxonomy_names_the_known_ones():
    with pytest.raises(NotFoundError, match="feedback_type"):
        load_taxonomy("nope")


@pytest.mark.slow
def test_stacked_uses_metadata_generically(urr):
    tax, inputs, y = urr
    clf = make_classifier("stacked", tax, inner_folds=3).fit(inputs.take(np.arange(180)), y[:180])
    assert clf.uses_extra_
    no_meta = Inputs(inputs.texts[180:], inputs.vectors[180:], None)
    assert clf.predict_proba(no_meta).shape == (len(y) - 180, 3)


# -- LLM: prompt, replies, cache, cascade ----------------------------------------------------------------------
def test_prompt_is_a_pure_function_of_taxonomy_examples_and_text(urr):
    tax = urr[0]
    msgs = build_messages(tax, [("it crashes", "ERROR"), ("too pricey", "PRICING")], "app froze again")
    assert msgs == build_messages(tax, [("it crashes", "ERROR"), ("too pricey", "PRICING")], "app froze again")
    assert [r for r, _ in msgs] == ["system", "user"]
    assert "- PRICING: price, ads and purchases" in msgs[0][1] and "exactly one label" in msgs[0][1]
    assert msgs[1][1].index("too pricey") < msgs[1][1].index("app froze again")


def test_reply_to_distribution_handles_bad_labels():
    classes = ["a", "b", "c"]
    fb = np.array([0.2, 0.3, 0.5])
    d = reply_to_distribution(LLMLabel(labels=["B"], confidence=0.8), classes, fb)
    assert d.argmax() == 1 and abs(d[1] - 0.8) < 1e-9 and abs(d.sum() - 1) < 1e-9
    assert np.array_equal(reply_to_distribution(LLMLabel(labels=["zzz"]), classes, fb), fb)
    assert np.array_equal(reply_to_distribution(None, classes, fb), fb)


def test_llm_replies_are_cached_in_the_store(store, urr):
    tax, inputs, y = urr
    chat = FakeNearestExampleChat()
    clf = FewShotLLM(tax, chat_model=chat, store=store, k=3).fit(inputs.take(np.arange(100)), y[:100])
    part = inputs.take(np.arange(100, 110))
    first = clf.predict_proba(part)
    assert chat.calls == 10
    second = clf.predict_proba(part)
    assert chat.calls == 10, "a cached reply must never be paid for twice"
    assert np.allclose(first, second)
    assert all(r.cached for r in clf.last_replies_)
    n = store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'classify:aspect' AND cached")
    assert n == 10


def test_cascade_routes_only_low_confidence_items(urr):
    tax, inputs, y = urr
    chat = FakeNearestExampleChat()
    offline = make_classifier("tfidf", tax)
    cas = Cascade(tax, offline=offline, chat_model=chat, threshold=0.55).fit(inputs.take(np.arange(180)), y[:180])
    te = inputs.take(np.arange(180, len(y)))
    alone = offline.predict_proba(te)
    p = cas.predict_proba(te)
    low = alone.max(axis=1) < 0.55
    assert 0 < low.sum() < len(low)
    assert np.array_equal(cas.routed_, low)
    assert chat.calls == int(low.sum())
    assert np.allclose(p[~low], alone[~low]), "confident items keep the offline answer"


def test_cascade_threshold_from_budget_on_validation(urr):
    tax, inputs, y = urr
    cas = Cascade(tax, chat_model=FakeNearestExampleChat(), budget_fraction=0.25).fit(inputs.take(np.arange(180)),
                                                                                    y[:180])
    assert 0 < cas.threshold_ < 1
    cas.predict_proba(inputs.take(np.arange(180, len(y))))
    assert cas.routed_.mean() < 0.5  # about a quarter, on unseen data


def test_choose_threshold():
    conf = np.linspace(0.3, 1.0, 100)
    assert (conf < choose_threshold(conf, None, budget_fraction=0.2)).sum() == 20
    correct = conf > 0.5
    t = choose_threshold(conf, correct, target_accuracy=1.0)
    assert np.all(correct[conf >= t]) and not np.all(correct[conf >= t - 0.02])
    assert (conf < choose_threshold(conf, None, budget_fraction=0.0)).sum() == 0


# -- runs in the workspace: resume after interruption ---------------------------------------------------------
@register_classifier("_test_interrupting")
class InterruptAfterTwoBatches(Classifier):
    """A real classifier (zero-shot inside) that raises KeyboardInterrupt on its third batch, like a kill."""

    name = "_test_interrupting"

    def __init__(self, taxonomy, interrupt=True):
        super().__init__(taxonomy)
        self.inner = make_classifier("zeroshot", taxonomy).fit(None)
        self.batches, self.interrupt = 0, interrupt

    def fit(self, inputs, y=None):
        return self

    def predict_proba(self, inputs):
        self.batches += 1
        if self.interrupt and self.batches == 3:
            raise KeyboardInterrupt
        return self.inner.predict_proba(inputs)


@pytest.fixture(scope="module")
def urr_store(tmp_path_factory):
    """A real workspace with the first 130 bundled URR reviews."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("urr")
    src = d / "r.csv"
    src.write_text("".join((EXAMPLES / "urr_app_reviews.csv").read_text(encoding="utf-8").splitlines(True)[:131]),
                   encoding="utf-8")
    s = Store(d / "w.duckdb")
    ingest_file(s, src, source="reviews")
    yield s
    s.close()


@pytest.mark.slow
def test_run_resumes_after_interruption_with_batch_commits(urr_store):
    from earful.classify.runner import prepare
    from earful.classify.workspace import label_items

    store = urr_store
    tax, _, version, _, _ = prepare(store, "sentiment", "offline")
    with pytest.raises(KeyboardInterrupt):
        label_items(store, tax, InterruptAfterTwoBatches(tax), method="zeroshot", version=version, batch_size=40)
    assert store.scalar("SELECT count(*) FROM classify_labels WHERE taxonomy='sentiment'") == 80
    before = store.rows("SELECT item_id, labelled_at FROM classify_labels ORDER BY item_id")
    clf = InterruptAfterTwoBatches(tax, interrupt=False)
    r = label_items(store, tax, clf, method="zeroshot", version=version, batch_size=40)
    assert r["labelled"] == 50 and clf.batches == 2
    assert store.scalar("SELECT count(*) FROM classify_labels WHERE taxonomy='sentiment'") == 130
    kept = dict(store.rows("SELECT item_id, labelled_at FROM classify_labels"))
    assert all(kept[i] == t for i, t in before), "finished batches are not redone"
    assert store.scalar("SELECT count(sentiment) FROM reviews") == 130
    assert store.scalar("SELECT min(sentiment_confidence) FROM reviews") > 0


@pytest.mark.slow
def test_cascade_run_in_the_workspace_keeps_to_the_llm_budget(urr_store):
    from earful.classify.runner import prepare
    from earful.classify.workspace import import_gold_column, inputs_for, label_items

    store = urr_store
    tax = import_gold_column(store, "urr_regex", "regex_labels_high")
    chat = FakeNearestExampleChat()
    tax, clf, version, features, extra = prepare(store, "urr_regex", "cascade", chat_model=chat, llm_budget=30)
    assert version.startswith("cascade-tfidf-t")
    ids = [r[0] for r in store.rows("SELECT item_id FROM items ORDER BY item_id")]
    conf = clf.offline_model.predict_proba(inputs_for(store, ids, embed=False)).max(axis=1)
    below = int((conf < clf.threshold_).sum())
    r = label_items(store, tax, clf, method="cascade", version=version, batch_size=50, llm_budget=30)
    sent = r["sent_to_llm"]
    checked = clf.routing_["measured_on"]  # before routing, the LLM is measured on that many held-out gold items
    assert r["labelled"] == 130 and sent + checked == chat.calls and sent == min(30, below) > 0
    by = dict(store.rows("SELECT method, count(*) FROM classify_labels WHERE taxonomy='urr_regex' GROUP BY 1"))
    assert by.get("cascade:llm", 0) == sent and by["cascade:offline"] == 130 - sent
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'classify:urr_regex'") == sent
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'classify-check:urr_regex'") == checked


# -- metadata features and the joint model ---------------------------------------------------------------------
def test_metadata_features_align_by_name_and_share_spelling_variants():
    train = {"post_position": ["original post", "2-op", "3", "Original Post", "4 - op", "title"] * 3,
             "rating": [1, 2, 3, 4, 5, None] * 3,
             "body": ["this is a long free text field that is not metadata at all"] * 18}
    X, names = one_hot_extra(train)
    assert not any(n.startswith("body") for n in names), "free text must not become metadata"
    assert "post_position=original post" in names and "post_position:op" in names and "rating=missing" in names
    pp = [j for j, n in enumerate(names) if n.startswith("post_position")]
    assert X[0, pp].tolist() == X[3, pp].tolist(), "case variants of one value are one feature"
    # a later batch with fewer distinct values gets exactly the training features, by name
    new = {"post_position": ["7-OP", "Original   Post"], "rating": [5, 5], "body": ["x", "y"]}
    Xn, names_n = one_hot_extra(new, names)
    assert names_n == names and Xn.shape == (2, len(names))
    assert Xn[0, names.index("post_position:op")] == 1.0 and Xn[0, names.index("post_position=original post")] == 0
    assert Xn[1, names.index("post_position=original post")] == 1.0
    assert Xn[:, names.index("rating=5")].tolist() == [1.0, 1.0]


def test_joint_picks_weights_on_inner_folds_and_uses_metadata(urr):
    tax, inputs, y = urr
    # a metadata column that carries the label on training rows: the inner CV must learn to weight it
    meta = {"channel": [f"form {lab}" for lab in y]}
    extra, _ = one_hot_extra(meta)
    with_meta = Inputs(inputs.texts, inputs.vectors, extra)
    clf = make_classifier("joint", tax).fit(with_meta.take(np.arange(180)), y[:180])
    assert clf.uses_extra_ and clf.meta_weight_ in clf.META_WEIGHTS and clf.vec_weight_ in clf.VEC_WEIGHTS
    assert clf.inner_macro_f1_ > 0.95 and 0 < clf.temperature_
    assert clf.predict(with_meta.take(np.arange(180, len(y)))) == list(y[180:])
    # the same model still predicts when the metadata is missing at prediction time
    no_meta = Inputs(inputs.texts[180:], inputs.vectors[180:], None)
    assert clf.predict_proba(no_meta).shape == (len(y) - 180, 3)


# -- no gold: the self-trained model ------------------------------------------------------------------------------
@pytest.mark.slow
def test_selftrained_ignores_gold_and_learns_what_zeroshot_is_surest_of(urr):
    tax, inputs, y = urr
    clf = make_classifier("selftrained", tax).fit(inputs)
    again = make_classifier("selftrained", tax).fit(inputs, list(reversed(y)))  # gold passed in changes nothing
    assert np.allclose(clf.predict_proba(inputs), again.predict_proba(inputs))
    zs = make_classifier("zeroshot", tax).fit(None).predict_proba(inputs)
    picked = Counter(np.asarray(clf.classes_)[zs.argmax(axis=1)])
    # it learnt from the most confident fifth of each label zero-shot chose (at least 10 per label)
    assert clf.n_pseudo_ == sum(min(n, max(10, int(0.2 * n))) for n in picked.values())
    assert clf.model_.name == "joint"
    # on the items zero-shot is surest of, the learnt model agrees with it
    sure = np.argsort(-zs.max(axis=1))[:30]
    agree = np.mean(np.asarray(clf.predict(inputs.take(sure))) == np.asarray(clf.classes_)[zs[sure].argmax(axis=1)])
    assert agree >= 0.9, agree
    # no gold, so no fitted temperature: the confidence must not claim the near-certainty of the easy training items
    conf = clf.predict_proba(inputs).max(axis=1)
    assert conf.mean() < 0.95 and conf.min() < 0.6, (conf.mean(), conf.min())


@pytest.mark.slow
def test_offline_run_without_gold_learns_a_model_keeps_it_and_relearns_when_the_taxonomy_changes(urr_store):
    from earful.classify.runner import prepare
    from earful.classify.workspace import save_taxonomy

    store = urr_store
    tax, clf, v1, _, _ = prepare(store, "feedback_type", "offline")
    assert clf.name == "selftrained" and v1.startswith("selftrained-") and clf.n_pseudo_ > 0
    assert prepare(store, "feedback_type", "offline")[2] == v1  # the stored model is used, not refitted
    labels = [lab.model_copy(update={"description": lab.description + " (edited)"}) for lab in tax.labels]
    save_taxonomy(store, tax.model_copy(update={"labels": labels}), "test")
    _, clf2, v2, _, _ = prepare(store, "feedback_type", "offline")
    assert v2 != v1 and clf2.taxonomy.labels[0].description.endswith("(edited)")
    assert store.scalar("SELECT count(*) FROM classify_models WHERE taxonomy = 'feedback_type'") == 2
