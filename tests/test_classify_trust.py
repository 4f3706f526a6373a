"""Classification you can trust (issue 11): --redo touches one source, honest share intervals, a cascade that does not
route to an LLM that is worse, stored models that load no code, and topic names that say when they fell back.

Real parts: DuckDB workspaces in tmp_path, real CLAP / URR reviews, real scikit-learn models. The only fakes are LLM
*texts*: a scripted chat model (named as a fake) that answers from a lookup of the gold labels, right or wrong.
"""
from __future__ import annotations

import csv
import json
import random
import re
from datetime import UTC

import numpy as np
import pytest
from langchain_core.language_models import SimpleChatModel

from earful.errors import EarfulError
from tests.conftest import shared

CATEGORIES = ["BUG", "FEATURE", "OTHER", "ENERGY", "SECURITY"]


def _clap_rows(per_label: int, skip: int = 0) -> list[dict]:
    """`per_label` real CLAP reviews of each of CATEGORIES (after skipping `skip` of each), in a fixed shuffle."""
    rows = list(csv.DictReader(shared("clap_app_reviews/reviews.csv").open(encoding="utf-8")))
    out = []
    for cat in CATEGORIES:
        out += [r for r in rows if r["category"] == cat][skip:skip + per_label]
    random.Random(3).shuffle(out)
    return out


def _write(path, rows, gold: bool = True):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "rating"] + (["category"] if gold else []))
        for r in rows:
            w.writerow([r["id"], r["review"], r["rating"]] + ([r["category"]] if gold else []))
    return path


@pytest.fixture
def two_sources(tmp_path):
    """A workspace with source `a` (60 CLAP reviews with gold categories) and source `b` (40 later ones, whose
    `category` column is the truth but not declared gold), and a trained tfidf model for `clap_category`."""
    from earful.classify.workspace import import_gold_column, train
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    s = Store(tmp_path / "w.duckdb")
    ingest_file(s, _write(tmp_path / "a.csv", _clap_rows(12)), source="a", overrides={"text": "review"})
    ingest_file(s, _write(tmp_path / "b.csv", _clap_rows(8, skip=12)), source="b", overrides={"text": "review"})
    import_gold_column(s, "clap_category", "category", "a")
    train(s, "clap_category", "tfidf")
    yield s
    s.close()


def _label(store, source=None, redo=False, method="offline", **kw):
    from earful.classify.runner import prepare
    from earful.classify.workspace import label_items

    tax, clf, version, features, extra = prepare(store, "clap_category", method, source=source, redo=redo, **kw)
    return label_items(store, tax, clf, method=clf.name, version=version, source=source, features=features,
                       extra_names=extra, llm_budget=kw.get("llm_budget"))


# -- 1. `classify run --redo --source S` touches only S --------------------------------------------------------
@pytest.mark.slow
def test_redo_for_one_source_keeps_the_other_sources_labels(two_sources):
    store = two_sources
    assert _label(store)["labelled"] == 100
    before_b = store.rows("SELECT l.item_id, l.labelled_at FROM classify_labels l JOIN items i USING (item_id) "
                          "WHERE i.source = 'b' ORDER BY 1")
    assert len(before_b) == 40
    r = _label(store, source="a", redo=True)
    assert r["labelled"] == 60, "every item of source a is labelled again"
    after_b = store.rows("SELECT l.item_id, l.labelled_at FROM classify_labels l JOIN items i USING (item_id) "
                         "WHERE i.source = 'b' ORDER BY 1")
    assert after_b == before_b, "--redo --source a must not delete (or relabel) source b's labels"
    assert store.scalar("SELECT count(clap_category) FROM b") == 40


def test_redo_keeps_labels_a_person_set_in_review(two_sources, tmp_path):
    """`classify review --import` labels are a person's decision: `--redo` relabels the model's labels only."""
    from earful.classify.review import import_review

    store = two_sources
    _label(store)
    items = store.rows("SELECT l.item_id, l.label FROM classify_labels l JOIN items i USING (item_id) "
                       "WHERE i.source = 'b' ORDER BY 1 LIMIT 3")
    corrected = {i: next(c for c in CATEGORIES if c != lab) for i, lab in items}      # each differs from the model
    sheet = tmp_path / "review.csv"
    sheet.write_text("item_id,label\n" + "".join(f"{i},{lab}\n" for i, lab in corrected.items()))
    import_review(store, "clap_category", sheet)
    r = _label(store, redo=True)
    assert r["labelled"] == 100 - 3
    kept = dict(store.rows("SELECT item_id, label FROM classify_labels WHERE method = 'human'"))
    assert kept == corrected


# -- 5. stored models load no code -----------------------------------------------------------------------------
class FileMaker:
    """What an attacker would plant: an object whose loading (pickle's __reduce__, skops's __setstate__) writes a
    file. Defined here so the test can show the planted bytes really do that when loaded without an allow-list."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))

    def __setstate__(self, state):
        open(state["path"], "w").close()


def _plant(store, blob, fmt, version="tfidf-planted"):
    from datetime import datetime

    store.con.execute("INSERT INTO classify_models (model_version, taxonomy, method, features, n_train, trained_at, "
                      "blob, format, versions) VALUES (?, 'clap_category', 'tfidf', '[]', 60, ?, ?, ?, ?)",
                      [version, datetime.now(UTC), blob, fmt, None])


def test_trained_model_is_stored_as_skops_and_loads_back(two_sources):
    from earful.classify.models import FORMAT
    from earful.classify.workspace import inputs_for, latest_model

    store = two_sources
    fmt, head = store.rows("SELECT format, blob[1:2] FROM classify_models WHERE taxonomy = 'clap_category'")[0]
    assert fmt == FORMAT and bytes(head) == b"PK", "a skops zip, not a pickle"
    clf, version, features, extra = latest_model(store, "clap_category")
    assert clf.name == "tfidf" and version.startswith("tfidf-") and features == [] and extra is None
    ids = [r[0] for r in store.rows("SELECT item_id FROM items WHERE source = 'b' ORDER BY item_id")]
    p = clf.predict_proba(inputs_for(store, ids, embed=False))
    assert p.shape == (40, len(clf.classes_)) and np.allclose(p.sum(axis=1), 1)


@pytest.mark.parametrize("fmt", [None, "skops-1"])
def test_a_planted_pickle_is_refused_and_never_unpickled(two_sources, tmp_path, fmt):
    import pickle

    from earful.classify.workspace import latest_model

    marker = tmp_path / "pwned"
    blob = pickle.dumps({"classifier": FileMaker(marker), "features": [], "extra_names": None})
    pickle.loads(blob)  # what unpickling it would do: the file appears
    assert marker.exists()
    marker.unlink()
    _plant(two_sources, blob, fmt)
    with pytest.raises(EarfulError) as e:
        latest_model(two_sources, "clap_category")
    assert not marker.exists(), "loading a stored model must never run its code"
    msg = str(e.value)
    assert "tfidf-planted" in msg and "earful classify train --taxonomy clap_category" in msg
    if fmt is None:  # how an old workspace's rows look: pickles, refused with the retrain command
        assert "pickle" in msg


def test_a_planted_skops_file_naming_other_types_is_refused(two_sources, tmp_path):
    import skops.io as sio

    from earful.classify.workspace import latest_model

    marker = tmp_path / "pwned"
    blob = sio.dumps({"classifier": FileMaker(marker), "features": [], "extra_names": None})
    name = f"{FileMaker.__module__}.FileMaker"
    sio.loads(blob, trusted=[name])  # loaded with that type trusted, the file appears
    assert marker.exists()
    marker.unlink()
    _plant(two_sources, blob, "skops-1")
    with pytest.raises(EarfulError) as e:
        latest_model(two_sources, "clap_category")
    assert not marker.exists()
    assert "FileMaker" in str(e.value) and "earful classify train" in str(e.value)


# -- 3. the cascade routes only to an LLM that is better on the items it would get ------------------------------
def _gold_of(store, everything: bool = False) -> dict[str, str]:
    """{prompt text: label} of the gold items (with `everything`: of source b's true categories too)."""
    from earful.classify.llm import _clip

    sql = ("SELECT i.text, g.label FROM classify_gold g JOIN items i USING (item_id) "
           "WHERE g.taxonomy = 'clap_category'")
    if everything:
        sql += " UNION ALL SELECT text, category FROM b"
    return {_clip(t): lab for t, lab in store.rows(sql)}


def _answer(gold: dict[str, str], right: bool, prompt: str) -> str:
    """The scripted reply to one few-shot prompt: the item's gold label (right) or another label (wrong)."""
    text = re.findall(r"Feedback: (.*)\nAnswer:", prompt)[-1]
    truth = gold.get(text, "OTHER")
    label = truth if right else CATEGORIES[(CATEGORIES.index(truth) + 1) % len(CATEGORIES)]
    return json.dumps({"labels": [label], "confidence": 0.9, "reason": "scripted"})


class FakeGoldLookupChat(SimpleChatModel):
    """A fake chat model (named as one): answers each item with its gold label, or always with a wrong one."""

    gold: dict = {}
    right: bool = True
    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "fake-gold-lookup-chat"

    def _call(self, messages, stop=None, run_manager=None, **kwargs) -> str:
        self.calls += 1
        return _answer(self.gold, self.right, messages[-1].content)


@pytest.mark.slow
def test_cascade_routes_when_the_llm_is_better_on_the_validation_slice(two_sources):
    store = two_sources
    chat = FakeGoldLookupChat(gold=_gold_of(store), right=True)
    r = _label(store, method="cascade", chat_model=chat, llm_budget=20)
    routing = r["routing"]
    assert routing["route"] and routing["llm_correct"] == routing["measured_on"] > routing["offline_correct"]
    assert "routing to the LLM" in routing["reason"]
    assert 0 < r["sent_to_llm"] <= 20 and chat.calls == r["sent_to_llm"] + routing["measured_on"]


@pytest.mark.slow
def test_cascade_does_not_route_to_a_worse_llm_and_says_why(two_sources, monkeypatch):
    """Through the real CLI against a scripted OpenAI-compatible server that answers every item wrongly."""
    from tests.conftest import run_cli
    from tests.fake_openai import FakeOpenAIServer

    store = two_sources
    gold = _gold_of(store)
    store.close()

    def reply(body):
        return _answer(gold, False, body["messages"][-1]["content"])

    with FakeOpenAIServer(reply) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        r = run_cli("classify", "run", "-t", "clap_category", "--method", "cascade", "--llm-budget", "20",
                    db=store.path)
        assert r.returncode == 0, r.stderr[-2000:]
        checked = len(server.bodies)
    out = " ".join(r.stdout.split())
    assert "0 sent to the LLM" in out and "not routing to the LLM" in out, out
    assert "the LLM was right on 0 (0%)" in out and "every item keeps the offline label" in out
    assert checked > 0, "the LLM was measured on the validation slice before deciding"
    from earful.store import Store

    with Store(store.path) as s:
        assert s.scalar("SELECT count(*) FROM classify_labels WHERE method = 'cascade:llm'") == 0
        assert s.scalar("SELECT count(*) FROM classify_labels WHERE method = 'cascade:offline'") == 100
        routing = json.loads(s.scalar("SELECT routing FROM classify_runs WHERE method = 'cascade'"))
    assert routing["route"] is False and routing["llm_correct"] == 0 and routing["measured_on"] == checked


# -- 4. LLM topic names: one name asked for, a list's first name used, fallbacks counted ---------------------------
def _drafts():
    from earful.topics.base import TopicDraft

    return [TopicDraft(0, ["battery drain", "battery", "drains battery"], ["Drains my battery in two hours"], 120),
            TopicDraft(1, ["crashes", "keeps crashing", "force close"], ["Keeps crashing on start"], 80),
            TopicDraft(2, ["dark mode", "theme", "night"], ["Please add a dark mode"], 40)]


def test_topic_names_given_as_a_list_use_the_first_and_fallbacks_are_counted(store):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from earful.topics.base import get_labeler
    from earful.topics.labels import KeywordLabeler

    fake = FakeListChatModel(responses=[  # what a small model answered: lists of names instead of one
        json.dumps({"name": ["Battery drain", "Power usage"], "description": "Battery empties fast."}),
        json.dumps(["Crashes on start", "Force closes"]),
        "I think this is about several things.",
    ])
    labels = get_labeler("llm", store=store, chat_model=fake).label(_drafts())
    assert labels[0] == ("Battery drain", "Battery empties fast.")
    assert labels[1] == ("Crashes on start", "Crashes on start")
    assert labels[2] == KeywordLabeler().label(_drafts())[2]
    assert labels.fallbacks == 1 and labels.fallback_reasons == [(2, "no usable name in the reply")]


def test_topic_names_are_asked_for_with_a_one_name_schema(store):
    """Against a scripted OpenAI-compatible server: the request carries the schema; a list in the tool call still
    gives one name."""
    from langchain_openai import ChatOpenAI

    from earful.topics.labels import LLMLabeler
    from tests.fake_openai import FakeOpenAIServer

    replies = [json.dumps({"name": ["Battery drain", "Power"], "description": "Drains fast."}),
               json.dumps({"name": "Crashes on start", "description": "App closes."}),
               json.dumps({"description": "no name at all"})]
    with FakeOpenAIServer(replies) as server:
        chat = ChatOpenAI(model="fake", base_url=server.url, api_key="not-needed", max_retries=0)
        labels = LLMLabeler(store=store, chat_model=chat).label(_drafts())
    tool = server.bodies[0]["tools"][0]["function"]
    assert tool["name"] == "TopicName"
    assert tool["parameters"]["properties"]["name"]["type"] == "string"
    assert "exactly one" in tool["parameters"]["properties"]["name"]["description"]
    assert [n for n, _ in labels[:2]] == ["Battery drain", "Crashes on start"]
    assert labels.fallbacks == 1


# -- 2. shares: honest intervals for labels never predicted, and the eval of the method that labelled -------------
@pytest.mark.slow
def test_a_label_never_predicted_gets_an_interval_that_reaches_its_true_share(tmp_path):
    """Real tfidf trained on 150 CLAP reviews labels 300 others; rare categories are never predicted there."""
    from collections import Counter

    from earful.classify.evaluate import cross_validate, shares, store_eval
    from earful.classify.workspace import gold, import_gold_column, inputs_for, train
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    rows = list(csv.DictReader(shared("clap_app_reviews/reviews.csv").open(encoding="utf-8")))
    random.Random(0).shuffle(rows)
    a, b = rows[:150], rows[150:450]
    with Store(tmp_path / "w.duckdb") as s:
        ingest_file(s, _write(tmp_path / "a.csv", a), source="a", overrides={"text": "review"})
        ingest_file(s, _write(tmp_path / "b.csv", b), source="b", overrides={"text": "review"})
        tax = import_gold_column(s, "clap_category", "category", "a")
        pairs = gold(s, "clap_category")
        res = cross_validate(tax, inputs_for(s, [p[0] for p in pairs], embed=False), [p[1] for p in pairs],
                             ["tfidf"], folds=5)
        store_eval(s, "clap_category", "category", res)
        train(s, "clap_category", "tfidf")
        _label(s, source="b")
        sh = shares(s, "clap_category", "b")
    truth = Counter(r["category"] for r in b)
    assert "confusion matrix" in sh["basis"]
    never = [d for d in sh["labels"] if d["predicted"] == 0]
    assert never and any(truth[d["label"]] / len(b) >= 0.03 for d in never), "the case this test is about"
    for d in never:
        true_share = truth[d["label"]] / len(b)
        assert d["high"] > 0, f"{d['label']}: never predicted, yet [{d['low']}, {d['high']}] says exactly 0"
        assert d["low"] <= true_share <= d["high"], (d, true_share)
    assert all(d["low"] <= d["share"] <= d["high"] for d in sh["labels"])


@pytest.mark.slow
def test_llm_labels_use_the_eval_of_the_llm_method(two_sources, monkeypatch):
    """`classify eval --methods llm` measures the LLM like any classifier, and `classify shares` then corrects the
    LLM's labels by it instead of saying "sampling error only" (real CLI, scripted OpenAI-compatible server)."""
    from tests.conftest import run_cli
    from tests.fake_openai import FakeOpenAIServer

    store = two_sources
    truth = _gold_of(store, everything=True)
    store.close()
    with FakeOpenAIServer(lambda body: _answer(truth, True, body["messages"][-1]["content"])) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        ev = run_cli("classify", "eval", "-t", "clap_category", "--methods", "llm", "--folds", "3", "--json",
                     db=store.path)
        assert ev.returncode == 0, ev.stderr[-2000:]
        m = json.loads(ev.stdout)["methods"]["fewshot_llm"]
        assert m["n"] == 60 and m["accuracy"] == 1.0
        run = run_cli("classify", "run", "-t", "clap_category", "--method", "llm", "--source", "b", "--json",
                      db=store.path)
        assert run.returncode == 0, run.stderr[-2000:]
    sh = run_cli("classify", "shares", "-t", "clap_category", "--source", "b", "--json", db=store.path)
    assert sh.returncode == 0, sh.stderr[-2000:]
    doc = json.loads(sh.stdout)
    assert "sampling error only" not in doc["basis"]
    assert "confusion matrix" in doc["basis"] and "(fewshot_llm, 40 item(s))" in doc["basis"], doc["basis"]


@pytest.mark.slow
def test_cascade_labels_use_the_eval_of_the_cascade(two_sources):
    from earful.classify.base import load_taxonomy
    from earful.classify.evaluate import cross_validate, shares, store_eval
    from earful.classify.runner import eval_factory
    from earful.classify.workspace import gold, inputs_for

    store = two_sources
    chat = FakeGoldLookupChat(gold=_gold_of(store, everything=True), right=True)
    r = _label(store, source="b", method="cascade", chat_model=chat, llm_budget=10)
    assert r["routing"]["route"] and r["sent_to_llm"] > 0
    before = shares(store, "clap_category", "b")["basis"]
    assert "cascade" in before and "confusion matrix" not in before  # no eval of the cascade yet: it says so
    pairs = gold(store, "clap_category")
    res = cross_validate(load_taxonomy("clap_category", store), inputs_for(store, [p[0] for p in pairs]),
                         [p[1] for p in pairs], ["cascade"], folds=3, make=eval_factory(store, chat_model=chat))
    eval_id = store_eval(store, "clap_category", None, res)
    after = shares(store, "clap_category", "b")
    assert f"eval {eval_id} (cascade, 40 item(s))" in after["basis"]
    assert all(d["low"] <= d["share"] <= d["high"] for d in after["labels"])


@pytest.mark.slow
def test_an_old_pickled_selftrained_model_is_learnt_again_not_unpickled(two_sources, tmp_path):
    import pickle
    from datetime import datetime

    from earful.classify.runner import prepare

    store = two_sources
    marker = tmp_path / "pwned"
    store.con.execute("INSERT INTO classify_models (model_version, taxonomy, method, features, n_train, trained_at, "
                      "blob) VALUES ('selftrained-old', 'feedback_type', 'selftrained', '[]', 50, ?, ?)",
                      [datetime.now(UTC), pickle.dumps({"classifier": FileMaker(marker)})])
    tax, clf, version, _, _ = prepare(store, "feedback_type", "offline")
    assert not marker.exists()
    assert clf.name == "selftrained" and version != "selftrained-old" and version.startswith("selftrained-")
