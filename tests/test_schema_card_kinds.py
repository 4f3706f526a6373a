"""The schema card's kinds beyond types (issue 13): list columns, constant columns, plain-word aliases of coded and
taxonomy values, the workspace's stages, and what of them reaches an LLM prompt.

Real samples of the shared datasets (the first rows, ingested through the real pipeline) with expectations computed
from the raw files, plus synthetic edge cases for the conservative rules.
"""
from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from tests.conftest import shared, workspace_from_rows


def _ingest(tmp_path, path, source, **overrides):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, path, source=source, overrides=overrides or None)
    return db


def _card(db):
    from earful.qa_agent.schema_card import build_schema_card

    return build_schema_card(str(db), use_cache=False)


def _head(src, dst, n):
    with open(src, encoding="utf-8") as f:
        lines = [next(f) for _ in range(n)]
    dst.write_text("".join(lines), encoding="utf-8")
    return dst


# -- list columns --------------------------------------------------------------------------------------------------
def test_shepherd_error_types_are_a_native_list_with_item_counts(tmp_path):
    path = _head(shared("shepherd_human_critiques/critiques.jsonl"), tmp_path / "shep.jsonl", 80)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    c = _card(_ingest(tmp_path, path, "critiques")).view("critiques").column("error_types")
    assert c.list_fmt == "list"
    want = Counter(t for r in rows for t in set(r["error_types"]))
    assert dict(map(tuple, c.list_values)) == dict(want)
    assert [n for _, n in c.list_values] == sorted(want.values(), reverse=True)   # most frequent first
    assert c.shareable and not c.constant


def test_urr_labels_are_pipe_joined_lists(tmp_path):
    path = _head(shared("urr_app_reviews/golden_set.csv"), tmp_path / "urr.csv", 301)
    rows = [r for r in csv.DictReader(open(path, encoding="utf-8")) if r["review_text"].strip()]
    v = _card(_ingest(tmp_path, path, "reviews")).view("reviews")
    for col in ("labels_high", "labels_low"):
        c = v.column(col)
        assert c.list_fmt == "|", col
        want = Counter(p for r in rows if r[col] for p in {x.strip() for x in r[col].split("|")})
        assert dict(map(tuple, c.list_values)) == dict(want)
    assert v.column("class1").list_fmt is None                 # single labels stay plain categories
    assert v.column("review_text").list_fmt is None            # prose with commas is not a list


def test_synthetic_lists_json_semicolons_and_prose(tmp_path):
    tags = [["fast", "cheap"], ["cheap"], ["slow", "buggy"], ["fast"], ["buggy", "cheap", "slow"], []] * 5
    prose = ["Great app, love it", "Slow, crashes often, please fix", "Fine, I guess", "Too many ads, uninstalled",
             "Works, mostly", "Nice colours, bad menus"] * 5
    rows = [{"text": f"review {i}", "tags_json": json.dumps(t), "tags_semi": "; ".join(t) or None,
             "comment": prose[i], "app": "x" if i else "y"} for i, t in enumerate(tags)]
    v = _card(workspace_from_rows(tmp_path, rows)).view("reviews")
    want = Counter(x for t in tags for x in t)
    js, semi = v.column("tags_json"), v.column("tags_semi")
    assert js.list_fmt == "json" and dict(map(tuple, js.list_values)) == dict(want)
    assert semi.list_fmt == ";" and dict(map(tuple, semi.list_values)) == dict(want)
    assert v.column("comment").list_fmt is None and v.column("comment").list_values == []


def test_a_few_commas_in_labels_do_not_make_a_list(tmp_path):
    from earful.qa_agent.card_kinds import joined_separator

    cities = [[f"City{i}, Country{i % 3}", 2] for i in range(40)]          # 'Paris, France': parts never alone
    assert joined_separator(cities) is None
    assert joined_separator([["A", 5], ["B", 4], ["A, B", 1]]) is None     # one joined value is not a pattern
    assert joined_separator([["A", 5], ["B", 4], ["C", 3], ["A|B", 2], ["B|C", 2], ["A|C", 1]]) == "|"


# -- constant columns ----------------------------------------------------------------------------------------------
def test_wildbench_judge_is_constant_and_model_is_not(tmp_path):
    src = shared("wildbench_v2_critiques/critiques.jsonl")
    lines = src.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "wb.jsonl"
    path.write_text("\n".join(lines[:40] + lines[-40:]) + "\n", encoding="utf-8")
    rows = [json.loads(x) for x in lines[:40] + lines[-40:]]
    assert len({r["judge"] for r in rows}) == 1 and len({r["model"] for r in rows}) > 1
    v = _card(_ingest(tmp_path, path, "critiques")).view("critiques")
    judge = v.column("judge")
    assert judge.constant and judge.values[0][0] == rows[0]["judge"]
    assert not v.column("model").constant and not v.column("score").constant


def test_constant_needs_two_rows_and_no_nulls(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = _card(workspace_from_rows(tmp_path / "a", [{"text": "only row", "team": "red"}])).view("reviews")
    assert not one.column("team").constant                     # one value in one row says nothing
    rows = [{"text": f"r{i}", "team": "red", "half": "x" if i % 2 else "", "num": 3} for i in range(6)]
    v = _card(workspace_from_rows(tmp_path / "b", rows)).view("reviews")
    assert v.column("team").constant and v.column("num").constant
    assert not v.column("half").constant                       # NULL in half the rows: filtering on it selects
    assert not v.column("text").constant


# -- value aliases -------------------------------------------------------------------------------------------------
def test_disapere_coded_values_get_plain_words(tmp_path):
    path = _head(shared("disapere_peer_reviews/review_sentences.csv"), tmp_path / "dis.csv", 400)
    v = _card(_ingest(tmp_path, path, "sentences")).view("sentences")
    aspect, polarity, action = v.column("aspect"), v.column("polarity"), v.column("review_action")
    assert aspect.value_aliases["asp_clarity"] == ["clarity"]
    assert aspect.value_aliases["asp_soundness-correctness"] == ["soundness correctness"]
    assert polarity.value_aliases == {"pol_negative": ["negative"], "pol_positive": ["positive"]}
    assert action.value_aliases["arg_request"] == ["request"]
    assert "none" not in aspect.value_aliases
    fine = v.column("fine_review_action").value_aliases
    assert fine["arg-request_edit"] == ["request edit"]


def test_plain_word_rules_skip_ids_versions_and_ambiguity():
    from earful.qa_agent.card_kinds import coded_aliases, merge_aliases

    assert coded_aliases(["FEATURE_REQUEST", "OTHER", "gpt-4o-2024-05-13", "Byxe-jVOhQ", "rkeru_QAYH", "ARC-c"]) == {
        "FEATURE_REQUEST": ["feature request"]}
    assert coded_aliases(["BUG_REPORT", "UI_ISSUE"]) == {"BUG_REPORT": ["bug report"], "UI_ISSUE": ["ui issue"]}
    # 'clarity' learnt for two values, or naming another value, is dropped; the user's own alias always stays
    got = merge_aliases(["asp_clarity", "pol_clarity", "negative", "pol_negative"],
                        {"asp_clarity": ["clear writing"]},
                        [{"asp_clarity": ["clarity"], "pol_clarity": ["clarity"], "pol_negative": ["negative"]}])
    assert got == {"asp_clarity": ["clear writing"]}


def test_taxonomy_descriptions_give_aliases_and_stages(tmp_path):
    import numpy as np

    from earful.classify.base import load_taxonomy
    from earful.classify.workspace import import_gold_column, write_labels
    from earful.store import Store

    rows = [{"text": t, "mood": m} for t, m in [("love it", "positive"), ("hate it", "negative"), ("meh", "neutral"),
                                                ("great", "positive"), ("awful", "negative")]]
    db = workspace_from_rows(tmp_path, rows)
    card = _card(db)
    assert card.stages == {"taxonomies": [], "labels": [], "topics": False}
    assert card.view("reviews").column("mood").value_aliases == {}
    with Store(db) as s:
        import_gold_column(s, "sentiment", "mood")       # the built-in taxonomy, saved into the workspace
    card = _card(db)
    assert card.stages["taxonomies"] == ["sentiment"] and card.stages["labels"] == []
    mood = card.view("reviews").column("mood").value_aliases
    assert mood["negative"] == ["unhappy", "angry", "disappointed", "bad experience"]
    assert mood["neutral"] == ["factual", "mixed"]           # 'no clear feeling' starts with a negation: dropped
    with Store(db) as s:
        tax = load_taxonomy("sentiment", s)
        ids = [r[0] for r in s.rows("SELECT item_id FROM items ORDER BY item_id")]
        with s.transaction():
            write_labels(s, tax, ids, np.eye(3)[[0, 1, 2, 0, 1]], tax.label_names, ["test"] * len(ids), None)
        s.refresh_views()
        with s.transaction() as con:
            con.execute("INSERT INTO topic_runs (run_id, backend, n_items) VALUES ('r1', 'bertopic', 5)")
    card = _card(db)
    assert card.stages == {"taxonomies": ["sentiment"], "labels": ["sentiment"], "topics": True}
    assert card.view("reviews").column("sentiment").value_aliases["positive"][:2] == ["happy", "satisfied"]


def test_description_rule_is_conservative():
    from earful.qa_agent.card_kinds import taxonomy_aliases

    got = taxonomy_aliases([
        {"name": "RESOURCES", "description": "battery, memory, storage, data usage and performance"},
        {"name": "bug report", "description": "the app crashes, freezes or shows an error"},
        {"name": "USAGE", "description": "usability, user interface, how the app is used"},
        {"name": "user_interface", "description": ""}])
    assert got == {"RESOURCES": ["battery", "memory", "storage", "data usage", "performance"],
                   "user_interface": ["user interface"]}


# -- the prompt ----------------------------------------------------------------------------------------------------
def test_aliases_of_non_shareable_columns_never_reach_the_prompt(tmp_path):
    from earful.store import Store
    from earful.store.aliases import add_alias

    rows = [{"text": f"review {i}", "author": f"person{i % 4}", "aspect": ["asp_clarity", "asp_substance"][i % 2],
             "judge": "gpt-4o"} for i in range(12)]
    db = workspace_from_rows(tmp_path, rows)
    with Store(db) as s:
        add_alias(s, "author", "secret nickname", value="person1")
        add_alias(s, "author", "writer")
        add_alias(s, "aspect", "topic of the remark")
    card = _card(db)
    v = card.view("reviews")
    assert v.column("author").value_aliases["person1"] == ["secret nickname"]
    assert v.column("author").aliases == ["writer"] and not v.column("author").shareable
    prompt = card.to_prompt()
    assert "secret nickname" not in prompt and "person1" not in prompt and "writer" not in prompt
    assert "'topic of the remark'" in prompt and "'asp_clarity' (= clarity)" in prompt
    assert "judge VARCHAR [category] the same value in every row: 'gpt-4o'" in prompt


@pytest.mark.parametrize("version_field", ["aliases", "value_aliases", "constant", "list_fmt", "list_values"])
def test_card_round_trips_through_its_sidecar(tmp_path, version_field):
    from earful.qa_agent.schema_card import SchemaCard, build_schema_card

    rows = [{"text": f"r{i}", "tags": "a|b" if i % 2 else "a", "k": "same", "c": "pol_good" if i % 3 else "pol_bad"}
            for i in range(8)]
    rows[0]["tags"] = "b|c"
    db = workspace_from_rows(tmp_path, rows)
    card = build_schema_card(str(db))
    again = SchemaCard.from_dict(json.loads((db.parent / "w.duckdb.card.json").read_text()))
    for a, b in zip(card.view("reviews").columns, again.view("reviews").columns):
        assert getattr(a, version_field) == getattr(b, version_field)
    assert again.stages == card.stages
