"""The LLM agent over a lake-backed workspace (#18): its contained executor (the real sandbox) reads the catalog's
views over the lake's Parquet files, and an answer over the catalog equals the one over the .duckdb workspace with
the same data. The model is the scripted fake OpenAI-compatible server (tests/fake_openai.py, a stand-in for a
model's text only); the same script is played to both workspaces. A raw query over the lake that would read every
partition is refused inside the repair loop, whose error tells the model how to narrow it.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_lake import workspace_and_catalog

from earful.config import load_settings
from earful.qa_agent.agent import LLMAgent
from earful.qa_agent.ask import ask
from earful.qa_agent.base import AskContext
from tests.fake_openai import FakeOpenAIServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    return workspace_and_catalog(tmp_path_factory.mktemp("lake_agent"))


def plan(code: str, template: str, language: str = "sql") -> str:
    return json.dumps({"plan": "scripted", "language": language, "code": code, "answer_template": template,
                       "chart": None})


def ctx_for(db: Path, url: str) -> AskContext:
    settings = load_settings(environ={}, overrides={
        "db": str(db), "llm": {"model": "openai-compatible:fake", "base_url": url, "max_retries": 0},
        "agent": {"max_repairs": 2, "timeout_s": 60}})
    return AskContext(db_path=str(db), settings=settings, output_dir=str(db.parent / "out"))


def both(pair, question: str, *replies: str):
    """The same scripted replies played to the agent over the workspace and over the catalog."""
    out = []
    for db in pair:
        with FakeOpenAIServer(list(replies)) as server:
            out.append((ask(question, ctx_for(db, server.url), engines=[LLMAgent()]), server.all_text()))
    return out


SCRIPTS = {
    "how many reviews per rating?": [plan("SELECT rating, count(*) AS n FROM urr GROUP BY 1 ORDER BY 1",
                                          "Reviews per rating are in the table.")],
    "which topic is biggest?": [plan("SELECT topic, count(*) AS n FROM urr GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1",
                                     "The biggest topic is {topic}, with {n} reviews.")],
    "how many reviews per label in 2015?": [plan(
        "SELECT l.label, count(*) AS n FROM items i JOIN classify_labels l USING (item_id) "
        "WHERE i.created_at >= '2015-01-01' AND i.created_at < '2016-01-01' GROUP BY 1 ORDER BY 2 DESC, 1",
        "Labels of 2015 reviews are in the table.")],
    "what is the average rating? (python)": [plan(
        "result = con.sql(\"SELECT round(avg(rating), 3) AS avg_rating, count(*) AS n FROM urr\").fetch_arrow_table()",
        "The average rating is {avg_rating} over {n} reviews.", language="python")],
}


@pytest.mark.parametrize("question", sorted(SCRIPTS))
def test_the_agent_answers_alike_over_the_catalog_and_the_workspace(pair, question):
    (ws, _), (lake, _) = both(pair, question, *SCRIPTS[question])
    assert ws.status == "answered", (ws.answer, [s.error for s in ws.steps])
    assert lake.status == "answered", (lake.answer, [s.error for s in lake.steps])
    assert lake.answer == ws.answer
    assert [t.rows for t in lake.tables] == [t.rows for t in ws.tables] and lake.tables[0].rows


def test_a_whole_lake_scan_goes_back_to_the_model_with_how_to_narrow_it(pair):
    """`SELECT count(*) FROM items WHERE rating >= 4` runs on the workspace; over the lake it is refused (it would
    read every partition), the refusal reaches the model in the repair prompt, and the narrowed query answers the
    same."""
    whole = plan("SELECT count(*) AS n FROM items WHERE rating >= 4", "There are {n} positive reviews.")
    narrowed = plan("SELECT count(*) AS n FROM items WHERE rating >= 4 AND source = 'urr'",
                    "There are {n} positive reviews.")
    (ws, _), (lake, sent) = both(pair, "how many positive reviews?", whole, narrowed)
    assert ws.answer == lake.answer and ws.answer.startswith("There are ") and ws.tables[0].rows[0][0] > 0
    assert [s.ok for s in ws.steps] == [True]
    assert [s.ok for s in lake.steps] == [False, True]
    assert "must carry a date or source predicate or a LIMIT" in lake.steps[0].error
    assert "must carry a date or source predicate" in sent          # the repair prompt carried it to the model


def test_the_sandbox_reads_the_lake_and_nothing_else(pair):
    """Through the catalog the sandboxed connection reads the lake's folder; any other file stays out of reach, from
    SQL and from Python."""
    from earful.qa_agent.executor import run_python, run_sql

    catalog = str(pair[1])
    assert run_sql(catalog, "SELECT count(*) FROM urr").rows == [[60]]
    res = run_sql(catalog, "SELECT * FROM read_csv('/etc/passwd')")
    assert not res.ok and "disabled by configuration" in res.error
    res = run_python(catalog, "result = con.sql(\"SELECT * FROM read_csv('/etc/passwd')\").fetch_arrow_table()")
    assert not res.ok and "disabled by configuration" in res.error
