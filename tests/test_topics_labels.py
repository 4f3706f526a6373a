"""Topic labels: offline names from keyphrases, the LLM labeler's prompt (pure) and its use of a fake chat model.

The only fake here is the LLM's *text*: langchain's FakeListChatModel, named as a fake.
"""
from __future__ import annotations

import json

from earful.topics.base import TopicDraft, get_labeler
from earful.topics.labels import KeywordLabeler, build_messages, name_from_keywords, parse_label

DRAFTS = [
    TopicDraft(0, ["battery drain", "battery", "drains battery", "widget", "phone hot"],
               ["Drains my battery in two hours", "Battery life got terrible after the update"], 120),
    TopicDraft(1, ["crashes", "keeps crashing", "crash", "update", "force close"],
               ["Keeps crashing on start", "Crashes since the last update"], 80),
]


def test_offline_names_are_short_distinct_and_described():
    assert name_from_keywords(["battery drain", "battery", "drains battery", "widget"]) == "Battery drain, widget"
    assert name_from_keywords([]) == "Miscellaneous"
    labels = KeywordLabeler().label(DRAFTS + [TopicDraft(2, ["crashes", "crash", "update"], ["It crashes"], 5)])
    names = [n for n, _ in labels]
    assert len(set(names)) == 3 and all(2 <= len(n.replace(",", " ").split()) <= 6 for n in names[:2])
    assert labels[0][1].startswith("120 items about battery drain") and "Drains my battery" in labels[0][1] \
        or "Battery life" in labels[0][1]


def test_prompt_is_a_pure_function_of_the_draft():
    msgs = build_messages(DRAFTS[0])
    assert msgs == build_messages(DRAFTS[0])
    assert msgs[0][0] == "system" and "JSON" in msgs[0][1]
    assert "battery drain" in msgs[1][1] and "120" in msgs[1][1] and "Drains my battery" in msgs[1][1]
    assert parse_label('```json\n{"name": "Battery drain", "description": "Users report fast drain."}\n```') == \
        ("Battery drain", "Users report fast drain.")
    assert parse_label("no json here") is None


def test_llm_labeler_uses_the_model_caches_and_falls_back(store):
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    fake = FakeListChatModel(responses=[
        json.dumps({"name": "Battery drain after update", "description": "Users say the battery empties fast."}),
        "Sorry, I cannot help with that.",
    ])
    labeler = get_labeler("llm", store=store, chat_model=fake)
    labels = labeler.label(DRAFTS)
    assert labels[0] == ("Battery drain after update", "Users say the battery empties fast.")
    assert labels[1] == KeywordLabeler().label(DRAFTS)[1]      # unusable reply: offline label
    assert labeler.fallbacks == 1
    # the same prompts again: the usable reply comes from the store's cache (an unusable one is asked again)
    again = get_labeler("llm", store=store, chat_model=fake).label(DRAFTS)
    assert again[0] == labels[0]
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'topics.label' AND cached") == 1


def test_keywords_keep_negations_whole_and_drop_possessives_and_pronoun_contractions():
    from earful.topics.keywords import ctfidf_keywords

    docs = ["It doesn\u2019t scrobble from Spotify", "doesn't scrobble at all, I'm sad", "cbr's pages crash",
            "the cbr reader can't open pages", "it's fine"]
    kw = ctfidf_keywords(docs, [0, 0, 1, 1, -1])
    assert "doesn't scrobble" in kw[0] and "doesn" not in kw[0]      # curly and straight apostrophes are one word
    assert not any("i'm" in k or k == "t" for k in kw[0])
    assert "cbr" in kw[1] and not any("cbr's" in k for k in kw[1])    # the possessive counts as the word
    assert "can't" in kw[1]                                           # a negation is the complaint: it stays
    assert name_from_keywords(kw[0]).startswith("Doesn't")
