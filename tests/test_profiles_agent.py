"""The LLM agent calls Earful's profile tool: the model (the scripted fake OpenAI-compatible server, a stand-in for a
model's text only) asks for a profile, Earful runs the real `build_profile` over a real workspace of WildBench
critiques, and the answer carries the profile's numbers, tables, charts and quotes. Every request body the fake
logged is searched: the model got the schema card and the question, and (only with ``send_rows``) the tool's summary,
never a quote.
"""
from __future__ import annotations

import json

import pytest

from earful.config import load_settings
from earful.qa_agent.agent import LLMAgent
from earful.qa_agent.ask import ask
from earful.qa_agent.base import AskContext
from tests.conftest import shared
from tests.fake_openai import FakeOpenAIServer

MODELS = ("gpt-3.5-turbo-0125", "gemma-7b-it", "reka-edge")
CALL = {"source": "wb", "subject_column": "model", "score_column": "score", "question": "weakest",
        "subject": "planted", "category_column": "category", "unit_column": "session_id"}
TEMPLATE = "{subject} is weakest at {category}: mean {mean} against {overall_mean} overall (effect {effect})."


def plan(call=CALL, template=TEMPLATE) -> str:
    return json.dumps({"plan": "ask the profile tool", "language": "profile", "code": "", "answer_template": template,
                       "chart": None, "profile": call})


class Script:
    """Plans in turn; a compose call (send_rows) gets `composed`."""

    def __init__(self, *plans, composed='{"answer": "planted is weakest at category A.", "item_ids": []}'):
        self.plans, self.turn, self.composed = list(plans), 0, composed

    def __call__(self, body: dict) -> str:
        if "Composed" in [t.get("function", {}).get("name") for t in body.get("tools") or []]:
            return self.composed
        reply = self.plans[min(self.turn, len(self.plans) - 1)]
        self.turn += 1
        return reply


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Real critiques of 3 models on 200 tasks (category A-D by task), plus `planted`: gpt-3.5's critiques with 3
    points taken off in category A."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("pfagent")
    rows = [json.loads(x) for x in open(shared("wildbench_v2_critiques/critiques.jsonl"), encoding="utf-8")]
    tasks = sorted({r["session_id"] for r in rows})[:200]
    cat = {t: "ABCD"[k % 4] for k, t in enumerate(tasks)}
    out = []
    for r in rows:
        if r["session_id"] in cat and r["model"] in MODELS:
            r = {k: v for k, v in r.items() if k != "extra_parsed_fields"} | {"category": cat[r["session_id"]]}
            out.append(r)
            if r["model"] == MODELS[0]:
                out.append(dict(r, model="planted", judge="synthetic",
                                score=max(1, r["score"] - 3) if r["category"] == "A" else r["score"]))
    path = d / "wb.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    db = d / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, path, source="wb")
    return db


def ctx_for(db, url, **llm) -> AskContext:
    settings = load_settings(environ={}, overrides={
        "db": str(db), "llm": {"model": "openai-compatible:fake", "base_url": url, "max_retries": 0, **llm},
        "agent": {"max_repairs": 2, "timeout_s": 30}})
    return AskContext(db_path=str(db), settings=settings, output_dir=str(db.parent / "out"))


def expected(db) -> dict:
    from earful.qa_agent.profiles import build_profile

    return build_profile(db, "wb", "model", "score", category_column="category", unit_column="session_id",
                         subjects=["planted"]).to_json()


def _fmt(v: float) -> str:      # how a filled template writes a number: rounded, trailing zeros dropped
    return f"{round(v, 3):.2f}".rstrip("0").rstrip(".")


def _quotes(exp: dict) -> list[str]:
    return [q["text"] for f in exp["findings"] for q in f["quotes"]]


def test_agent_answers_with_the_profile_tool_and_sends_no_data(ws):
    from earful.qa_agent.schema_card import build_schema_card

    exp = expected(ws)
    rows = sorted((r for r in exp["nodes"] if r["depth"] > 0), key=lambda r: r["effect"])
    weakest = rows[0]
    overall = next(r for r in exp["nodes"] if r["depth"] == 0)
    assert weakest["node"] == "A" and weakest["finding"] == "weakness"
    with FakeOpenAIServer(Script(plan())) as server:
        ans = ask("where is planted weakest?", ctx_for(ws, server.url), engines=[LLMAgent()])
    assert ans.status == "answered" and ans.engine == "llm", ans.answer
    assert [s.language for s in ans.steps] == ["profile"] and json.loads(ans.steps[0].code) == CALL
    assert ans.answer == (f"planted is weakest at A: mean {_fmt(weakest['mean'])} against {_fmt(overall['mean'])} "
                          f"overall (effect {_fmt(weakest['effect'])}).")
    first = ans.tables[0]
    assert first.columns[:4] == ["subject", "category", "items", "mean"]
    got = {r[1]: r for r in first.rows}
    assert list(got) == [r["node"] for r in rows]                       # every category, lowest effect first
    for r in rows:
        assert got[r["node"]][2] == r["n"]
        assert got[r["node"]][3] == pytest.approx(r["mean"], abs=1e-3)
        assert got[r["node"]][9] == pytest.approx(r["effect"], abs=1e-3)
    quotes = next(t for t in ans.tables if t.name == "quotes")
    finding = next(f for f in exp["findings"] if f["node"] == "A")
    assert [r[3] for r in quotes.rows] == [q["item_id"] for q in finding["quotes"]] and len(quotes.rows) >= 2
    assert [c.plotly["data"][0]["type"] for c in ans.charts] == ["heatmap", "scatterpolar"]
    # what reached the model: one planning request with the schema card and the question, and nothing of the result
    assert len(server.bodies) == 1
    sent = server.all_text()
    card = build_schema_card(str(ws)).to_prompt()
    assert json.dumps(card)[1:-1][:400] in sent and "where is planted weakest?" in sent
    assert not any(q[:60] in sent or json.dumps(q)[1:61] in sent for q in _quotes(exp))
    assert "significant weakness" not in sent and "Earful's profile tool ran" not in sent


def test_with_send_rows_the_model_gets_the_tools_summary_not_the_quotes(ws):
    exp = expected(ws)
    with FakeOpenAIServer(Script(plan())) as server:
        ans = ask("where is planted weakest?", ctx_for(ws, server.url, send_rows=True), engines=[LLMAgent()])
    assert ans.status == "answered" and ans.answer == "planted is weakest at category A."
    assert len(server.bodies) == 2                                      # plan, then compose
    compose = server.raw[1]
    assert "Earful's profile tool ran" in compose
    statement = exp["statements"]["planted"][0]
    assert json.dumps(statement)[1:-1] in compose                         # the profile's own statement ...
    assert not any(q[:60] in compose or json.dumps(q)[1:61] in compose for q in _quotes(exp))   # ... no quote
    assert any(t.name == "quotes" for t in ans.tables)                  # the user still gets them


def test_bad_tool_arguments_go_back_to_the_repair_loop(ws):
    bad = dict(CALL, subject_column="modell")
    with FakeOpenAIServer(Script(plan(bad), plan())) as server:
        ans = ask("where is planted weakest?", ctx_for(ws, server.url), engines=[LLMAgent()])
    assert ans.status == "answered" and [s.ok for s in ans.steps] == [False, True]
    assert "modell" in ans.steps[0].error
    assert "modell" in server.raw[1] and "no column" in server.raw[1]   # the error went back to the model
