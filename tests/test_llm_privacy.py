"""What reaches a model, audited at the wire: the real agent, a real workspace and the real sandbox, talking to
`tests.fake_openai.FakeOpenAIServer` (a scripted OpenAI-compatible server that logs every request body; the model's
text is the only fake). Canaries are planted in the data (review text on a small source where every row is distinct,
an author name, a value that breaks a CAST) and secrets in the environment and the data; the tests then search every
request body, every `llm_calls` row, the saved conversation and the run log for them. Also: answers whose template
does not fill cleanly from the result (the small model's real mistakes) are worded by Earful, and say so.
"""
from __future__ import annotations

import json

import pytest

from earful.config import load_settings
from earful.llm.redact import MASK, redact, scrub_values
from earful.qa_agent.agent import WORDED_BY_EARFUL, LLMAgent, unsupported_numbers
from earful.qa_agent.ask import ask
from earful.qa_agent.base import AskContext
from tests.conftest import workspace_from_rows
from tests.fake_openai import FakeOpenAIServer

CAST_CANARY = "cute!!!! the game is just to cute!!!! CANARY-CAST"
OPENAI_SECRET = "plainvalue-OPENAI-secret-4417"          # not key-shaped: only the exact-value net catches it
CONFIGURED_SECRET = "my configured key q9 words"          # held in the variable named by [llm] api_key_env
SHAPED_SECRET = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx0123456789"


def plan(code, template="", language="sql", text="plan"):
    return json.dumps({"plan": text, "language": language, "code": code, "answer_template": template, "chart": None})


class Script:
    """Replies in turn to the agent's planning calls; a compose call (send_rows) gets `composed`."""

    def __init__(self, *plans, composed='{"answer": "See the table.", "item_ids": []}'):
        self.plans, self.turn, self.composed = list(plans), 0, composed

    def __call__(self, body: dict) -> str:
        tools = [t.get("function", {}).get("name") for t in body.get("tools") or []]
        if "Composed" in tools:
            return self.composed
        reply = self.plans[min(self.turn, len(self.plans) - 1)]
        self.turn += 1
        return reply


@pytest.fixture
def ws(tmp_path):
    """12 reviews of 3 apps: every review text is distinct and carries a canary, two canary authors, one `stars`
    cell that breaks CAST(stars AS INTEGER), and two reviews where a user pasted a key."""
    rows = [{"review_id": f"r{i}", "app": ["Maps", "Chess", "Notes"][i % 3], "author": f"Canary Author{'AB'[i % 2]}",
             "date": f"2024-0{1 + i % 6}-1{i % 9}", "rating": 1 + i % 5, "stars": str(1 + i % 5),
             "review_text": f"CANARY-TEXT-{i} short note"} for i in range(12)]
    rows[5]["stars"] = CAST_CANARY
    rows[7]["review_text"] = f"my key is {OPENAI_SECRET} oops"
    rows[8]["review_text"] = f"the other key is {SHAPED_SECRET} and {CONFIGURED_SECRET}"
    return workspace_from_rows(tmp_path, rows)


def ctx_for(db, url, conversation_id=None, **llm) -> AskContext:
    settings = load_settings(environ={}, overrides={
        "db": str(db), "llm": {"model": "openai-compatible:fake", "base_url": url, "max_retries": 0, **llm},
        "agent": {"max_repairs": 2, "timeout_s": 20}})
    return AskContext(db_path=str(db), settings=settings, conversation_id=conversation_id,
                      output_dir=str(db.parent / "out"))


def stored_text(db) -> str:
    """Everything the agent and `ask` wrote: llm_calls, agent_runs and the conversation, as one string."""
    from earful.store import Store

    with Store(db, read_only=True) as s:
        return "\n".join(repr(s.rows(f"SELECT * FROM {t}")) for t in ("llm_calls", "agent_runs", "conversation_turns"))


def run_audit(db, send_rows: bool):
    """A conversation as an analyst would have it: a count the built-in engine answers (its SQL holds the author
    name it matched), then through the LLM agent a quote, a follow-up whose first program breaks on a bad cell and is
    repaired, and a breakdown by author. Returns (server, answers)."""
    llm = [LLMAgent()]
    first = Script(plan("SELECT item_id, text FROM reviews WHERE text ILIKE '%short note%' ORDER BY item_id LIMIT 3",
                        "The first matching review says: {text}"))
    with FakeOpenAIServer(first) as server:
        a0 = ask("how many reviews by authora?", ctx_for(db, server.url, send_rows=send_rows))
        conv = a0.conversation_id
        a1 = ask("quote a review", ctx_for(db, server.url, conv, send_rows=send_rows), engines=llm)
        server.reply = Script(plan("SELECT avg(CAST(stars AS INTEGER)) AS avg_stars FROM reviews", "{avg_stars} stars"),
                              plan("SELECT avg(rating) AS avg_rating FROM reviews",
                                   "The average rating is {avg_rating}."))
        a2 = ask("and the average stars?", ctx_for(db, server.url, conv, send_rows=send_rows), engines=llm)
        server.reply = Script(plan("SELECT author, count(*) AS n FROM reviews GROUP BY author ORDER BY n DESC",
                                   "{author} wrote the most reviews ({n})."))
        a3 = ask("who writes the most?", ctx_for(db, server.url, conv, send_rows=send_rows), engines=llm)
    return server, [a0, a1, a2, a3]


def test_canaries_never_reach_the_model_without_send_rows(ws):
    server, (a0, a1, a2, a3) = run_audit(ws, send_rows=False)
    assert a0.engine == "builtin" and "Canary AuthorA" in a0.steps[0].code
    assert a1.status == a2.status == a3.status == "answered"
    assert "CANARY-TEXT" in a1.answer                          # the user sees the quote ...
    assert a2.steps[0].ok is False and "CANARY-CAST" in a2.steps[0].error      # ... and the raw error
    assert len(server.bodies) == 4                             # plan, plan + repair, plan
    sent = server.all_text()
    assert "CANARY" not in sent.upper()                        # no review text, author, cast value or answer
    assert "how many reviews by authora?" in sent              # the earlier questions do go
    assert "Could not convert string" in sent and "<value>" in sent          # the repair still says what failed
    assert "The first matching review says: {text}" in sent   # follow-ups carry the template
    assert "'Maps'" in sent and "'Chess'" in sent              # short category labels stay on the card


@pytest.mark.slow
def test_canaries_do_reach_the_model_with_send_rows(ws):
    server, answers = run_audit(ws, send_rows=True)
    sent = server.all_text()
    assert "CANARY-TEXT" in sent and "CANARY-CAST" in sent and "Canary Author" in sent
    assert "There are 6 reviews where author is Canary AuthorA" in sent       # the earlier answer, filled in
    assert all(a.status == "answered" for a in answers)


def test_schema_card_shares_only_short_labels(ws):
    from earful.qa_agent.schema_card import build_schema_card

    card = build_schema_card(str(ws), use_cache=False)
    prompt = card.to_prompt()
    view = card.view("reviews")
    assert view.column("app").shareable and "'Notes'" in prompt
    for col in ("author", "review_text", "stars", "text"):
        assert not view.column(col).shareable, col
    assert "CANARY" not in prompt.upper() and "values not shared with the model" in prompt
    assert view.column("author").values                     # still known locally (the built-in engine uses it)


@pytest.mark.slow
def test_secrets_never_reach_the_model_or_the_store(ws, monkeypatch):
    """A hostile program raises the key; SQL errors and result tables quote keys users pasted into reviews; the model
    echoes one. With send_rows on (so scrubbing is not what protects them) none reaches the wire or the store."""
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_SECRET)
    monkeypatch.setenv("MY_LLM_CREDS_VAR", CONFIGURED_SECRET)
    hostile = ("import os\nraise RuntimeError('env: ' + os.environ.get('OPENAI_API_KEY', '') + ' ' + "
               "os.environ.get('MY_LLM_CREDS_VAR', '') + open('/proc/1/environ').read())")
    script = Script(plan(hostile, "{n}", language="python"),
                    plan("SELECT CAST(text AS INTEGER) AS n FROM reviews WHERE text LIKE '%key%'", "{n}"),
                    plan("SELECT item_id, text FROM reviews WHERE text LIKE '%key%' ORDER BY item_id", "{text}"),
                    composed=json.dumps({"answer": f"One user pasted {OPENAI_SECRET}.", "item_ids": []}))
    with FakeOpenAIServer(script) as server:
        ans = ask("which reviews mention a key?",
                  ctx_for(ws, server.url, send_rows=True, api_key_env="MY_LLM_CREDS_VAR"), engines=[LLMAgent()])
    assert ans.status == "answered" and len(server.bodies) == 4          # plan, 2 repairs, compose
    sent = server.all_text()
    assert "my key is" in sent and "Could not convert string" in sent    # the rows and errors did go out ...
    assert MASK in sent                                                  # ... with the keys masked
    blob = sent + stored_text(ws) + json.dumps(ans.to_json())
    for secret in (OPENAI_SECRET, CONFIGURED_SECRET, SHAPED_SECRET):
        assert secret not in blob


def test_redact_and_scrub_are_pure():
    env = {"OPENAI_API_KEY": "value-from-env-123", "SOME_SERVICE_TOKEN": "tok-abcdefgh", "HOME": "/home/someone"}
    out = redact("a value-from-env-123 b tok-abcdefgh c /home/someone d Bearer abc.def.ghi "
                 "e sk-proj-ABCDEFGHIJKLMNOPQRSTUV f " + "a1" * 20 + " g 0123456789abcdef", environ=env)
    assert out == (f"a {MASK} b {MASK} c /home/someone d {MASK} e {MASK} f {MASK} g 0123456789abcdef")
    md5 = "9e107d9d372bb6826bd81d3542a419d6"
    assert redact(f"{md5} sk-proj-ABCDEFGHIJKLMNOPQRSTUV", generic=False, environ={}) == f"{md5} {MASK}"
    err = ('Conversion Error: Could not convert string \'cute!!!! so cute\' to INT32\nLINE 1: SELECT CAST(stars AS '
           'INTEGER) FROM reviews WHERE app = \'Chess\'; Referenced column "stars" not found. '
           'Candidate: "reviews.text"')
    scrubbed = scrub_values(err, keep=("SELECT CAST(stars AS INTEGER) FROM reviews WHERE app = 'Chess'",
                                       "VIEW reviews\n  text VARCHAR [text]"))
    assert "cute" not in scrubbed and "'<value>'" in scrubbed
    assert "'Chess'" in scrubbed and '"stars"' in scrubbed and '"reviews.text"' in scrubbed
    strptime = 'Could not parse string "cute!!! so cute" according to format specifier "%Y"\ncute!!! so cute\n^'
    assert "cute" not in scrub_values(strptime, keep=("SELECT strptime(stars, '%Y') FROM reviews",))
    polars = ('conversion from `str` to `i64` failed in column \'text\' for 2 out of 2 values: ["CANARY one", '
              '"CANARY two"]\n\tcol("text").strict_cast(Int64)')
    assert scrub_values(polars, keep=("VIEW reviews\n  text VARCHAR [text]",)) == polars.replace(
        '["CANARY one", "CANARY two"]', '["<value>", "<value>"]')
    signature = "No function matches the given name and argument types 'lower(INTEGER)'."
    assert scrub_values(signature, keep=("SELECT lower(rating) FROM reviews",)) == signature


# -- answers written by a model: the real small model's mistakes, replayed ------------------------------------------
BAD_TEMPLATES = [
    # (program, template the model wrote, what the answer must show)
    ("SELECT round(avg(rating), 3) AS average_rating FROM reviews WHERE app = 'Chess'",
     "{avg_rating} (average rating of bug reports)", "average_rating: 2.75"),
    ("SELECT count(*) AS feature_requests FROM reviews WHERE app = 'Chess'", "{n_rows} feature requests",
     "feature_requests: 4"),
    ("SELECT count(*) AS feature_requests FROM reviews WHERE app = 'Chess'", "1 feature requests",
     "feature_requests: 4"),
    ("SELECT app, count(*) AS n FROM reviews GROUP BY app ORDER BY n DESC, app", "",
     "n by app: Chess: 4; Maps: 4; Notes: 4."),
    ("SELECT avg(rating) AS avg_rating FROM reviews WHERE app = 'BUG'", "{n_rows} bug reports rate {avg_rating}",
     "The result has no value (avg_rating empty): no rows matched"),
    ("SELECT CAST(SUM(CASE WHEN app = 'Chess' THEN 1 ELSE 0 END) AS REAL) * 100 / COUNT(*) FROM reviews",
     "{n_rows} reviews are {percent}% Chess.", "value: 33.333."),
]


@pytest.mark.parametrize("code,template,shown", BAD_TEMPLATES)
def test_bad_templates_are_worded_by_earful(ws, code, template, shown):
    with FakeOpenAIServer([plan(code, template)]) as server:
        ans = LLMAgent().answer("how many feature requests are there?", ctx_for(ws, server.url))
    assert ans.status == "answered"
    assert "{" not in ans.answer and "see the table" not in ans.answer
    assert shown in ans.answer and ans.answer.endswith(WORDED_BY_EARFUL)
    assert any("worded by Earful" in n for n in ans.notes)
    tables = [{"name": t.name, "columns": t.columns, "rows": t.rows} for t in ans.tables]
    assert unsupported_numbers(ans.answer, tables) == []


def test_composed_answer_with_a_wrong_number_is_not_shown(ws):
    """send_rows on: the model composes from the rows but writes a number no table holds; the template is used."""
    script = Script(plan("SELECT count(*) AS n FROM reviews WHERE app = 'Chess'", "{n} Chess reviews."),
                    composed='{"answer": "There are 333 Chess reviews.", "item_ids": []}')
    with FakeOpenAIServer(script) as server:
        ans = LLMAgent().answer("how many Chess reviews?", ctx_for(ws, server.url, send_rows=True))
    assert ans.answer == "4 Chess reviews." and any("333" in n for n in ans.notes)


@pytest.mark.parametrize("code,template,expected", [
    ("SELECT count(*) AS n FROM reviews WHERE app = 'Chess'", "There are {n} Chess reviews.",
     "There are 4 Chess reviews."),
    ("SELECT item_id, text FROM reviews WHERE text LIKE '%TEXT-3 %'", "{n_rows} review matches: {text}",
     "1 review matches: CANARY-TEXT-3 short note"),
])
def test_a_clean_template_is_kept(ws, code, template, expected):
    with FakeOpenAIServer([plan(code, template)]) as server:
        ans = LLMAgent().answer("which reviews?", ctx_for(ws, server.url))
    assert ans.answer == expected and not any("worded" in n for n in ans.notes)
