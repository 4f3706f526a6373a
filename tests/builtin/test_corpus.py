"""The built-in parser's corpus: per question kind, questions -> the plan they must parse to, or a decline.

Each `corpus/<kind>.yaml` holds cases over a small in-memory schema card (no database, no model), so the whole
corpus runs in well under a second. A case is ``{q: question, view: reviews|critiques|sentences, plan: {...}}``
with the plan in the compact form `compact()` writes (only the keys given are compared), or ``{q, decline: words
the reason must contain}``; ``history`` (a list of earlier questions) makes it a follow-up. A measure of the
registry (ir.MEASURES) or a plan feature (FEATURES) without a corpus file fails the suite.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from earful.qa_agent.builtin.ir import MEASURES, Cmp, Eq, In, ListHas, ListLen, Not, TextMatch, TimeGrain, TimeRange
from earful.qa_agent.schema_card import ColumnCard, SchemaCard, ViewCard

CORPUS = Path(__file__).with_name("corpus")
FEATURES = ("compare", "having", "list", "coded", "negation", "time", "followup", "decline", "group")


def C(name, kind, values=None, **kw):
    values = values or []
    return ColumnCard(name, kw.pop("type", "VARCHAR"), kind, kw.pop("distinct", len(values) or 10),
                      kw.pop("non_null", 100), values=values, **kw)


def card() -> SchemaCard:
    reviews = ViewCard("reviews", 100, [
        C("item_id", "id"), C("text", "text", distinct=100), C("review", "text", distinct=100),
        C("created_at", "time", type="TIMESTAMP WITH TIME ZONE", min="2012-01-03 00:00:00+00",
          max="2014-05-12 10:32:31+00", canonical=True),
        C("rating", "numeric", type="BIGINT", min=1, max=5, distinct=5),
        C("app", "category", [["Pixel Dungeon", 30], ["AcDisplay", 20], ["Calculator", 10]]),
        C("app_category", "category", [["GAME", 50], ["SYSTEM", 30], ["WORK", 20]]),
        C("category", "category", [["BUG", 40], ["FEATURE", 30], ["OTHER", 20], ["SECURITY", 10]]),
        C("labels", "label", [["UI|BATTERY", 10]], distinct=40, list_fmt="|",
          list_values=[["UI", 30], ["BATTERY", 20], ["OTHER", 15]]),
    ], time_column="created_at")
    critiques = ViewCard("critiques", 100, [
        C("item_id", "id"), C("text", "text", distinct=100), C("strengths", "text", distinct=100),
        C("model", "category", [["gemma-2b-it", 25], ["gemma-7b-it", 25], ["reka-edge", 25], ["gpt-3.5-turbo", 25]]),
        C("judge", "category", [["gpt-4o", 100]], distinct=1, constant=True),
        C("score", "numeric", type="BIGINT", min=1, max=10, distinct=10),
        C("session_id", "label", [[f"s{i}", 1] for i in range(100)], distinct=100),
    ])
    sentences = ViewCard("sentences", 100, [
        C("item_id", "id"), C("text", "text", distinct=100),
        C("aspect", "category", [["asp_clarity", 40], ["asp_soundness-correctness", 30], ["asp_originality", 30]],
          value_aliases={"asp_clarity": ["clarity"], "asp_originality": ["originality"],
                         "asp_soundness-correctness": ["soundness", "correctness"]}),
        C("polarity", "category", [["pol_negative", 50], ["pol_positive", 30], ["pol_neutral", 20]]),
        C("split", "category", [["train", 60], ["test", 40]]),
        C("review_id", "label", [[f"r{i}", 5] for i in range(20)], distinct=20),
        C("fine_action", "category", [["none", 60], ["arg-request_experiment", 25], ["arg-request_clarification", 15]],
          value_aliases={"arg-request_experiment": ["request experiment"],        # as the schema card writes them
                         "arg-request_clarification": ["request clarification"]}),
    ])
    shepherd = ViewCard("shepherd", 100, [   # two score columns, and a canonical rating copied from one of them
        C("item_id", "id"), C("text", "text", distinct=100),
        C("rating", "numeric", type="DOUBLE", min=1, max=5, distinct=5, canonical=True),
        C("justification_score", "numeric", type="BIGINT", min=1, max=5, distinct=5),
        C("relevance_score", "numeric", type="BIGINT", min=1, max=5, distinct=5),
        C("justification_label", "category", [["2 Not justified enough", 40], ["3 Somewhat justified", 35],
                                              ["1 Incomprehensible and wrong", 25]]),
        C("error_types", "other", [], type="VARCHAR[]", list_fmt="list",
          list_values=[["Redundancy", 30], ["Veracity", 20], ["Arithmetic", 10]]),
    ])
    peer = ViewCard("peer_reviews", 100, [   # a count stored as a column: 'number of sentences' is n_sentences
        C("item_id", "id"), C("text", "text", distinct=100),
        C("conference", "category", [["ICLR2019", 60], ["ICLR2020", 40]]),
        C("n_sentences", "numeric", type="BIGINT", min=1, max=80, distinct=60),
        C("country", "category", [["US", 50], ["?", 30], ["DE", 20]]),     # '?': a value not known
    ])
    return SchemaCard(db_path=":memory:", views=[reviews, critiques, sentences, shepherd, peer])


CARD = card()


def compact(plan) -> dict:
    """A plan in words a corpus line can state: measure 'avg(rating)', where ['rating = 1', "not category = 'BUG'"],
    group 'app' / 'year(created_at)', top 'desc 3', having 'avg(rating) < 3', compare 'winner: A vs B'."""
    def m(x):
        return x.name if not x.column else f"{x.name}({x.column})"

    def p(x):
        if isinstance(x, Not):
            return "not " + p(x.pred)
        if isinstance(x, Eq):
            return f"{x.column} = {x.value!r}" if isinstance(x.value, str) else f"{x.column} = {x.value}"
        if isinstance(x, In):
            return f"{x.column} in {list(x.values)!r}"
        if isinstance(x, Cmp):
            return f"{x.column} {x.op} {x.value}"
        if isinstance(x, TextMatch):
            return f"{x.column} mentions " + (" & " if x.mode == "all" else " | ").join(x.phrases)
        if isinstance(x, ListHas):
            return f"{x.column} has {' | '.join(map(str, x.values))}"
        if isinstance(x, ListLen):
            return f"{x.column} holds {x.op} {x.value}"
        if isinstance(x, TimeRange):
            return f"{x.column} in [{x.start}, {x.end})"
        return str(x)
    out = {"view": plan.view, "measure": m(plan.measure), "where": [p(x) for x in plan.where]}
    if plan.target:
        out["target"] = [p(x) for x in plan.target]
    g = plan.group
    if g is not None:
        out["group"] = f"{g.grain}({g.column})" if isinstance(g, TimeGrain) else g.name
    if plan.top is not None:
        out["top"] = f"{plan.top.order} {plan.top.n}" if plan.top.n else plan.top.order
    if plan.having is not None:
        out["having"] = f"{m(plan.having.measure)} {plan.having.op} {plan.having.value}"
    if plan.compare is not None:
        c = plan.compare
        out["compare"] = f"{c.mode}: {c.a.label} vs {c.b.label}" + (" (lower)" if c.order == "asc" else "")
    if plan.limit:
        out["limit"] = plan.limit
    return out


def _cases():
    for f in sorted(CORPUS.glob("*.yaml")):
        for k, case in enumerate(yaml.safe_load(f.read_text(encoding="utf-8"))["cases"]):
            yield pytest.param(case, id=f"{f.stem}-{k}-{case['q'][:40]}")


def test_every_kind_has_a_corpus():
    have = {f.stem for f in CORPUS.glob("*.yaml")}
    missing = (set(MEASURES) | set(FEATURES)) - have
    assert not missing, f"no corpus file for: {sorted(missing)} (add tests/builtin/corpus/<kind>.yaml)"


@pytest.mark.parametrize("case", list(_cases()))
def test_corpus(case):
    from earful.qa_agent.builtin.parse import parse

    view = CARD.view(case.get("view", "reviews"))
    one = SchemaCard(db_path=":memory:", views=[view])
    prev = None
    for h in case.get("history", []):
        got = parse(h, one, prev=prev)
        assert got.plan is not None, (h, got.reason, got.unmapped)
        prev = got.plan
    got = parse(case["q"], one, prev=prev)
    if "decline" in case:
        why = " ".join([got.reason] + got.unmapped)
        assert got.plan is None, (case["q"], compact(got.plan))
        assert case["decline"].lower() in why.lower(), why
        return
    assert got.plan is not None, (case["q"], got.reason, got.unmapped)
    plan = compact(got.plan)
    want = dict(case["plan"])
    for k in ("where", "target"):        # the order of the conditions changes nothing
        if k in want:
            want[k], plan[k] = sorted(want[k]), sorted(plan.get(k) or [])
    assert {k: plan.get(k) for k in want} == want, plan
    if "group" not in want:
        assert "group" not in plan, plan
