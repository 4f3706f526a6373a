"""One conformance suite over every registered question engine (ibis's backend suite is the model): a new engine is
tested by registering it.

Each engine class carries its own fixture: ``conformance = {"params": {...}, "chat_replies": [...]}``, the
arguments it is built with and, for an engine that needs a chat model, the replies of the fake one the suite passes
(``chat_model=``). The suite never branches on names. Over a tiny real workspace (30 reviews ingested through the
real pipeline) every engine, through `ask`, answers "How many reviews are there?" with 30 (or declines, saying
why), returns a well-formed `Answer`, and the turn is saved in the conversation; built without any model and with
``[llm] model = "none"`` every engine answers without an LLM or declines, never errors.
"""
from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from earful.config import load_settings
from earful.qa_agent.ask import ask, load_history
from earful.qa_agent.base import ENGINES, Answer, AskContext, Chart, Engine, ResultTable, Step
from tests.conftest import workspace_from_rows

N = 30
QUESTION = "How many reviews are there?"


def fixture_of(engine_cls) -> dict | None:
    fx = getattr(engine_cls, "conformance", None)
    return fx if isinstance(fx, dict) and isinstance(fx.get("params"), dict) else None


def build(name: str, with_model: bool = True) -> tuple[Engine, FakeListChatModel | None]:
    cls = ENGINES[name]
    fx = fixture_of(cls)
    if fx is None:
        pytest.fail(f"engine {name} declares no `conformance` fixture")
    params = dict(fx["params"])
    chat = None
    if with_model and fx.get("chat_replies"):
        chat = FakeListChatModel(responses=list(fx["chat_replies"]))   # a fake LLM's text, named as one
        params["chat_model"] = chat
    return cls(**params), chat


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    d = tmp_path_factory.mktemp("engines")
    rows = [{"review_id": f"r{i}", "app": ["Maps", "Chess", "Notes"][i % 3], "date": f"2024-0{1 + i % 6}-1{i % 9}",
             "rating": 1 + i % 5, "review_text": f"review number {i}: the {['map', 'board', 'editor'][i % 3]} "
                                                 f"{['crashes', 'is great', 'needs dark mode'][i % 3]}"}
            for i in range(N)]
    db = workspace_from_rows(d, rows)
    from earful.store import Store

    with Store(db, read_only=True) as s:
        assert s.scalar("SELECT count(*) FROM items") == N
    return db


def ctx_for(db, conversation_id=None) -> AskContext:
    settings = load_settings(environ={}, overrides={"db": str(db), "llm": {"model": "none"},
                                                    "agent": {"max_repairs": 1, "timeout_s": 20}})
    return AskContext(db_path=str(db), settings=settings, conversation_id=conversation_id,
                      output_dir=str(db.parent / "out"))


def check_answer(name: str, ans: Answer) -> None:
    """The shape every engine's Answer has: the CLI's `--json` contract."""
    assert isinstance(ans, Answer) and ans.engine == name
    assert ans.status in ("answered", "declined"), f"{name}: {ans.status}: {ans.answer}"
    assert isinstance(ans.answer, str) and ans.answer.strip()
    assert all(isinstance(s, Step) and s.language in ("sql", "python", "text") for s in ans.steps)
    for t in ans.tables:
        assert isinstance(t, ResultTable) and all(len(r) == len(t.columns) for r in t.rows)
    assert all(isinstance(c, Chart) for c in ans.charts)
    assert all(isinstance(i, str) for i in ans.item_ids) and all(isinstance(n, str) for n in ans.notes)
    payload = json.loads(json.dumps(ans.to_json(), default=str))
    assert {"status", "answer", "engine", "steps", "tables", "charts", "conversation_id", "item_ids"} <= set(payload)


def test_every_engine_declares_its_fixture():
    assert list(ENGINES)[:2] == ["builtin", "llm"]      # the no-LLM engine is tried first
    missing = sorted(n for n in ENGINES if fixture_of(ENGINES[n]) is None)
    assert not missing, f"engines registered without a `conformance = {{'params': {{...}}}}` fixture: {missing}"


def test_the_fixture_check_catches_an_engine_without_one():
    class Bare(Engine):
        name = "bare"

        def answer(self, question, ctx):
            return Answer(status="declined", answer="no", engine=self.name)

    class Declared(Bare):
        conformance = {"params": {}}

    assert fixture_of(Bare) is None and fixture_of(Declared) == {"params": {}}


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_answers_a_simple_question(name, workspace):
    engine, chat = build(name)
    ans = ask(QUESTION, ctx_for(workspace, conversation_id=f"conf-{name}"), engines=[engine])
    check_answer(name, ans)
    assert ans.conversation_id == f"conf-{name}"
    if ans.status == "answered":
        assert "30" in ans.answer, ans.answer
        assert any(30 in row for t in ans.tables for row in t.rows), ans.tables   # the number comes from the data
    if chat is not None:     # an engine given a chat model used it, and logged the call
        from earful.store import Store

        with Store(workspace, read_only=True) as s:
            assert s.scalar("SELECT count(*) FROM llm_calls WHERE conversation_id = ?", [f"conf-{name}"]) >= 1
    turns = load_history(str(workspace), f"conf-{name}")
    assert len(turns) == 1 and turns[0]["question"] == QUESTION


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_without_a_model_answers_or_declines(name, workspace):
    engine, _ = build(name, with_model=False)
    ans = engine.answer(QUESTION, ctx_for(workspace))
    check_answer(name, ans)
    unanswerable = engine.answer("Which colour is the number seven?", ctx_for(workspace))
    check_answer(name, unanswerable)
    assert unanswerable.status == "declined", f"{name} answered an unanswerable question: {unanswerable.answer}"
