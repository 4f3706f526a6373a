"""Pieces of the built-in engine on their own: word normalisation, value matching tiers, SQL rendering, charts."""
from __future__ import annotations

import json

import pytest

from earful.qa_agent.builtin.vocab import ValueIndex, compact, resolve, singular
from earful.qa_agent.schema_card import ColumnCard, ViewCard


def _view():
    cols = [ColumnCard("text", "VARCHAR", "text", 10, 10),
            ColumnCard("model", "VARCHAR", "category", 3, 10,
                       values=[["gpt-3.5-turbo-0125", 4], ["gemma-2b-it", 3], ["gemma-7b-it", 3]]),
            ColumnCard("app", "VARCHAR", "label", 2, 10, values=[["com.eterno", 6], ["com.other.app", 4]]),
            ColumnCard("category", "VARCHAR", "category", 2, 10, values=[["BUG", 6], ["OTHER", 4]]),
            ColumnCard("kind", "VARCHAR", "category", 2, 10, values=[["bug", 5], ["x", 5]])]
    return ViewCard("t", 10, cols)


def test_normalisation():
    assert compact("gpt-3.5-turbo-0125") == compact("GPT 3.5 Turbo 0125") == "gpt35turbo0125"
    assert compact("Fire fox") == compact("firefox")
    assert [singular(w) for w in ("reviews", "categories", "crashes", "status", "bus")] == \
        ["review", "category", "crash", "status", "bus"]


def test_value_tiers():
    idx = ValueIndex(_view())
    assert [(h.column, h.value, h.tier) for h in idx.lookup("gpt-3.5-turbo-0125", "gpt-3.5-turbo-0125")] == \
        [("model", "gpt-3.5-turbo-0125", 0)]
    assert idx.lookup("com.eterno", "com.eterno")[0].value == "com.eterno"
    gem = idx.lookup("gemma", "gemma")
    assert {h.value for h in gem} == {"gemma-2b-it", "gemma-7b-it"} and gem[0].tier == 3
    # a common word only names a value when written the way it is stored
    assert idx.lookup("other", "other") == []
    assert idx.lookup("other", "OTHER")[0].value == "OTHER"


def test_ambiguous_columns_are_reported_or_resolved_by_naming():
    view = _view()
    hits = ValueIndex(view).lookup("bug", "bug")
    assert {h.column for h in hits} == {"category", "kind"}
    chosen, why = resolve(hits, view, set())
    assert chosen == [] and "category" in why and "kind" in why
    chosen, why = resolve(hits, view, {"kind"})
    assert why is None and chosen[0].column == "kind"


def test_history_in_the_old_format_is_no_previous_plan():
    """A conversation saved before the typed plan (filters/column keys) must not crash a follow-up."""
    from earful.qa_agent.builtin import previous_plan
    from earful.qa_agent.builtin.ir import Eq, Plan

    old = {"view": "reviews", "measure": "count", "column": None, "filters": [{"column": "rating", "op": "=",
                                                                                 "value": 1, "words": "1-star"}]}
    assert previous_plan([{"question": "q", "plan": old}]) is None
    new = Plan(view="reviews", where=(Eq("rating", 1),))
    assert previous_plan([{"question": "q", "plan": old}, {"question": "q2", "plan": new.to_dict()}]) == new


def test_lexicon_words_are_data():
    from earful.qa_agent.builtin.lexicon import lexicon

    lx = lexicon()
    assert ("how", "many") in lx.measures["count"] and ("other", "than") in lx.negation
    for w in ("during", "arrived", "ever", "covered", "address", "written", "received"):
        assert lx.ignorable(w), w
    # nothing specific to a bundled dataset
    assert not {"firefox", "vlc", "battery issue"} & set(lx.value_synonyms)


def test_normalise_leaves_quoted_phrases_as_typed():
    from earful.qa_agent.builtin.recognise import normalise, tokenize

    assert normalise("What's the share of 3+ star reviews that don't say \"I'm sorry\"?") == \
        'What the share of 3 star or more reviews that do not say "I\'m sorry"?'
    assert normalise("Which reviews say 'I'm sorry' or 'can't wait'?") == \
        "Which reviews say 'I'm sorry' or 'can't wait'?"
    assert normalise('reviews mentioning "top-rated" or "4+"') == 'reviews mentioning "top-rated" or "4+"'
    assert normalise("reviews that say “I’m out”") == "reviews that say “I’m out”"
    quoted = [t.text for t in tokenize(normalise("say 'I'm sorry' and \"50%\" but 'don't'"))
              if t.quoted]
    assert quoted == ["I'm sorry", "50%", "don't"]


def test_charts_bar_and_line(tmp_path):
    from earful import charts

    b = charts.bar("Reviews per category", ["BUG", "OTHER"], [3, 1], out_dir=tmp_path, y_title="reviews")
    assert b["plotly"]["data"][0]["x"] == ["BUG", "OTHER"] and b["plotly"]["data"][0]["y"] == [3, 1]
    assert b["png"] and open(b["png"], "rb").read(4) == b"\x89PNG"
    json.dumps(b)
    ln = charts.line("Per month", ["2014-01", "2014-02"], {"reviews": [1, 2], "bugs": [0, 1]})
    assert ln["png"] is None and [t["name"] for t in ln["plotly"]["data"]] == ["reviews", "bugs"]
    from earful.errors import InputError
    with pytest.raises(InputError):
        charts.bar("x", ["a"], [1, 2])


def test_a_count_of_one_is_worded_in_the_singular(tmp_path):
    """'There are 1 reviews where ...' read as a typo in front of users."""
    from earful.config import load_settings
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext
    from tests.conftest import workspace_from_rows

    rows = [{"review_id": f"r{i}", "rating": 1 + i % 5, "review_text": f"note {i}" + (" zebra" if i == 3 else "")}
            for i in range(8)]
    db = workspace_from_rows(tmp_path, rows)
    ctx = AskContext(db_path=str(db), settings=load_settings(overrides={"db": str(db)}, environ={}))
    one = ask('How many reviews mention "zebra"?', ctx, persist=False)
    assert one.status == "answered" and one.answer.startswith("There is 1 review where"), one.answer
    many = ask('How many reviews mention "note"?', ctx, persist=False)
    assert many.answer.startswith("There are 8 reviews where"), many.answer
