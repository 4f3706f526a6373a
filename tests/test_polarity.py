"""Mention polarity: the lexicon's rules, the methods against hand-labelled gold (beating the majority class and the
review's own rating), and the stage that writes polarity columns on mentions (idempotent on rerun)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from tests.conftest import EXAMPLES, shared, urr_sample

# (text, expected polarity): the lexicon's corpus, including negation and must-stay-neutral cases.
LEXICON_CORPUS = [
    ("Great app", "positive"),
    ("doesn't work anymore", "negative"),
    ("no problems at all", "positive"),
    ("never crashes", "positive"),
    ("can't uninstall it", "negative"),           # 'uninstall' keeps its sign under negation
    ("but ridiculously hard", "negative"),
    ("keeps crashing on startup", "negative"),
    ("How do I change the font size?", "neutral"),
    ("The widget shows the time", "neutral"),
    ("not bad", "positive"),
    ("Way too many ads", "negative"),
    # failures of expectation: no evaluative word, a marker before a verb of function ([failure], [functions])
    ("notifications never arrive.", "negative"),
    ("It won't open", "negative"),
    ("stopped syncing after the update", "negative"),
    ("I can't log in since Tuesday", "negative"),
    ("no longer loads my files", "negative"),
    ("the page never loads", "negative"),
    ("sync is not working", "negative"),
    ("never fails to load", "positive"),          # a verb marker after a negator is no failure
    ("It shows the weather", "neutral"),          # a verb of function without a marker says nothing
    ("Never had a problem", "positive"),
    # emoji and emoticons: an item of nothing else is one mention (topics.mentions.split)
    ("\U0001F621", "negative"),
    ("\U0001F44E\U0001F3FB", "negative"),
    ("\U0001F44D\U0001F44D", "positive"),
    ("\u2764\ufe0f", "positive"),
    ("Thanks :)", "positive"),
    ("?!?!... --- !!! ;;", "neutral"),
    # idioms ([idioms]): scored as a whole, not as a negated word (all four were negative before)
    ("I can't recommend this app highly enough", "positive"),
    ("Can't beat it.", "positive"),
    ("Couldn't be happier!", "positive"),
    ("No complaints so far", "positive"),
    ("I can't recommend it", "negative"),         # no idiom: still a negated recommendation
    ("Can't log in, can't recommend", "negative"),
    ("Crashes every time I open it. \U0001F621\U0001F621\U0001F621", "negative"),   # a trailing emoji in its mention
]


def test_contrastive_item_scores_each_clause():
    """Probe A29: the clause after "although ..." is a complaint without any evaluative word."""
    from earful.topics.mentions import split
    from earful.topics.polarity import LexiconPolarity

    text = "Although the interface is clean, notifications never arrive."
    parts = [text[s.start:s.end] for s in split(text)]
    assert parts == ["Although the interface is clean", "notifications never arrive."]
    assert LexiconPolarity().predict(parts, None) == ["positive", "negative"]


@pytest.mark.parametrize("text,expected", LEXICON_CORPUS)
def test_lexicon_corpus(text, expected):
    from earful.topics.polarity import LexiconPolarity

    assert LexiconPolarity().predict([text], None) == [expected]


def test_booster_strengthens_and_question_damps():
    from earful.topics.polarity import lexicon_features

    assert lexicon_features("very slow")[0] < lexicon_features("slow")[0] < 0
    assert abs(lexicon_features("is it slow?")[0]) < abs(lexicon_features("it is slow")[0])


TIZ_NEG = {"apparent bug", "dispraise for application", "malfunction confirmation", "limitation confirmation",
           "agreeing with the problem"}
TIZ_POS = {"praise for application", "acknowledgement of problem resolution"}


def _macro_f1(truth, pred) -> float:
    from sklearn.metrics import f1_score

    return f1_score(truth, pred, average="macro")


def test_lexicon_beats_majority_on_tizard_gold_sentences():
    """400 hand-labelled forum sentences (bundled, CC BY): negative = bug/dispraise/malfunction, positive =
    praise/resolution, the rest neutral."""
    from earful.topics.polarity import LexiconPolarity

    with open(EXAMPLES / "tizard_forum_sentences.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["label"] != "invalid"][:400]
    truth = ["negative" if r["label"] in TIZ_NEG else "positive" if r["label"] in TIZ_POS else "neutral" for r in rows]
    pred = LexiconPolarity().predict([r["sentence"] for r in rows], None)
    majority = max(set(truth), key=truth.count)
    assert _macro_f1(truth, pred) > _macro_f1(truth, [majority] * len(truth)) + 0.05


def test_mentions_find_complaints_the_rating_misses_on_clap_gold():
    """400 hand-labelled CLAP reviews: a review with a negative mention vs its gold complaint category beats
    the review's own rating (<= 2 stars) as a complaint detector: a 5-star review can still report a bug."""
    from earful.topics.mentions import split
    from earful.topics.polarity import LexiconPolarity

    with open(shared("clap_app_reviews/reviews.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:400]
    truth = [r["category"] in {"BUG", "PERFORMANCE", "ENERGY", "USABILITY", "SECURITY"} for r in rows]
    lex = LexiconPolarity()
    pred = [any(p == "negative" for p in lex.predict([r["review"][s.start:s.end] for s in split(r["review"])], None))
            for r in rows]
    by_rating = [float(r["rating"]) <= 2 for r in rows]
    assert _macro_f1(truth, pred) > _macro_f1(truth, by_rating)
    assert _macro_f1(truth, pred) > _macro_f1(truth, [False] * len(rows))


def test_rating_label():
    from earful.topics.polarity import rating_label

    assert [rating_label(r) for r in (1, 2, 3, 4, 5)] == ["negative"] * 2 + ["neutral"] + ["positive"] * 2
    assert rating_label(9, top=10) == "positive" and rating_label(3, top=10) == "negative"


@pytest.fixture
def ws(tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.mentions import segment

    s = Store(tmp_path / "w.duckdb")
    ingest_file(s, urr_sample(tmp_path / "a.csv", slice(0, 300)), source="reviews")
    segment(s)
    yield s
    s.close()


def test_score_polarity_writes_columns_and_rerun_is_idempotent(ws):
    from earful.topics.polarity import score_polarity

    res = score_polarity(ws)
    n = ws.scalar("SELECT count(*) FROM mentions")
    assert res["scored"] == n and res["negative"] > 0 and res["positive"] > 0
    assert ws.scalar("SELECT count(*) FROM mentions WHERE polarity IS NULL OR polarity_method <> 'lexicon' "
                     "OR polarity_score NOT BETWEEN -1 AND 1") == 0
    # sign of the score agrees with the label
    assert ws.scalar("SELECT count(*) FROM mentions WHERE (polarity = 'negative' AND polarity_score >= 0) "
                     "OR (polarity = 'positive' AND polarity_score <= 0)") == 0
    before = ws.rows("SELECT mention_id, polarity, polarity_score FROM mentions ORDER BY mention_id")
    again = score_polarity(ws)
    assert again["scored"] == 0
    assert ws.rows("SELECT mention_id, polarity, polarity_score FROM mentions ORDER BY mention_id") == before
    assert score_polarity(ws, rescore=True)["scored"] == n


def test_selftrained_from_workspace_ratings_changes_method(ws, monkeypatch):
    """The self-trained method learns from the workspace's rated one-mention items and re-scores every mention
    (a method change is a rescore); the one-mention 1-star reviews come out mostly negative."""
    from earful.topics import polarity
    from earful.topics.polarity import score_polarity

    score_polarity(ws)
    monkeypatch.setattr(polarity, "MIN_PER_CLASS", 3)
    res = score_polarity(ws, method="selftrained")
    assert res["training"] == "workspace ratings" and res["trained_on"] > 20
    assert res["scored"] == ws.scalar("SELECT count(*) FROM mentions")
    neg = ws.rows("""SELECT avg(CASE WHEN m.polarity = 'negative' THEN 1.0 ELSE 0 END) FROM mentions m
                     JOIN items i USING (item_id) WHERE i.rating = 1""")[0][0]
    pos = ws.rows("""SELECT avg(CASE WHEN m.polarity = 'negative' THEN 1.0 ELSE 0 END) FROM mentions m
                     JOIN items i USING (item_id) WHERE i.rating = 5""")[0][0]
    assert neg > pos


def test_unknown_method_and_no_mentions_are_errors(tmp_path):
    from earful.errors import ConfigError, NotFoundError
    from earful.store import Store
    from earful.topics.polarity import get_method, score_polarity

    with pytest.raises(ConfigError, match="choose one of"):
        get_method("vibes")
    with Store(tmp_path / "e.duckdb") as s, pytest.raises(NotFoundError, match="earful topics mentions"):
        score_polarity(s)


def test_hybrid_is_neutral_without_evaluative_words():
    from earful.topics.polarity import HybridPolarity

    rng = np.random.default_rng(0)
    texts = ["great", "awful", "love it", "hate it", "very good", "so bad"] * 5
    y = ["positive", "negative"] * 15
    m = HybridPolarity().fit(texts, rng.normal(size=(30, 8)), y)
    p = m.predict(["the widget shows the time", "awful"], rng.normal(size=(2, 8)))
    assert p[0] == "neutral"



def test_build_messages_is_pure_and_versioned():
    from earful.topics.polarity import build_messages, load_prompt

    msgs = build_messages("but ridiculously hard", "Good game, but ridiculously hard")
    assert msgs == build_messages("but ridiculously hard", "Good game, but ridiculously hard")
    assert msgs[0][0] == "system" and "JSON" in msgs[0][1]
    assert "Mention to judge: but ridiculously hard" in msgs[1][1] and "Good game" in msgs[1][1]
    assert load_prompt()["version"].startswith("topics-polarity-")


def test_llm_relabels_the_least_certain_mentions_within_budget(ws):
    """A fake chat model (named as one: it always answers negative) gets at most the budget, the least certain
    mentions first (a no-evidence neutral before a strong 'great'); its labels are stored as lexicon+llm, calls are
    logged, and a rerun sends nothing (nothing left to score)."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from earful.topics.polarity import lexicon_features, score_polarity

    fake = FakeListChatModel(responses=['{"polarity": "negative"}'])
    res = score_polarity(ws, chat_model=fake, llm_budget=5)
    assert res["llm"] == {"sent": 5, "relabelled": 5, "kept_offline": 0}
    rows = ws.rows("SELECT polarity, text FROM mentions WHERE polarity_method = 'lexicon+llm'")
    assert len(rows) == 5 and all(p == "negative" for p, _ in rows)
    # the routed ones were the least certain: the lexicon found no evidence either way in them
    assert all(abs(float(lexicon_features(t)[0])) <= 0.05 for _, t in rows)
    assert ws.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'topics.polarity'") == 5
    assert score_polarity(ws, chat_model=fake, llm_budget=5)["scored"] == 0


def test_llm_reply_without_a_label_keeps_the_offline_one(ws):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from earful.topics.polarity import score_polarity

    fake = FakeListChatModel(responses=["I think it is fine."])
    res = score_polarity(ws, chat_model=fake, llm_budget=3)
    assert res["llm"]["relabelled"] == 0 and res["llm"]["kept_offline"] == 3
    assert ws.scalar("SELECT count(*) FROM mentions WHERE polarity_method <> 'lexicon'") == 0
