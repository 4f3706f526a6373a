"""The LLM layer: provider resolution (no network: models are only constructed), and call_llm's cache, log,
structured output and retries with langchain's fake chat models (named as fakes; they stand in for LLM text only).
"""
from __future__ import annotations

import json

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import BaseModel

from earful.config import load_settings
from earful.errors import ConfigError, ExecutionError, NeedsKeyError, NotInstalledError
from earful.llm import call_llm, call_llm_many, get_chat_model, model_id
from tests.conftest import run_cli


class Verdict(BaseModel):
    label: str
    score: int


class FakeCountingChatModel(FakeListChatModel):
    """A fake that counts how often it was really invoked (to prove cache hits do not call the model)."""
    calls: int = 0

    def _call(self, *a, **kw):
        self.calls += 1
        return super()._call(*a, **kw)


class RateLimitError(Exception):
    """Named like the provider SDKs' rate-limit errors, which call_llm retries."""


class FakeFlakyChatModel(FakeCountingChatModel):
    """A fake that fails with a rate-limit error `fail_times` times before answering."""
    fail_times: int = 1

    def _call(self, *a, **kw):
        if self.calls < self.fail_times:
            self.calls += 1
            raise RateLimitError("429 slow down")
        return super()._call(*a, **kw)


def _settings(**llm):
    return load_settings(environ={}, overrides={"llm": llm})


def test_none_means_no_model():
    assert get_chat_model(_settings(model="none")) is None


@pytest.mark.parametrize("spec,var", [("openai:gpt-4o-mini", "OPENAI_API_KEY"),
                                      ("anthropic:claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
                                      ("azure_openai:gpt-4o", "AZURE_OPENAI_API_KEY")])
def test_missing_key_names_the_variable(spec, var, monkeypatch):
    monkeypatch.delenv(var, raising=False)
    with pytest.raises(NeedsKeyError) as e:
        get_chat_model(_settings(model=spec))
    assert var in str(e.value)


def test_openai_resolves_through_init_chat_model(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    m = get_chat_model(_settings(model="openai:gpt-4o-mini", max_tokens=77))
    assert type(m).__name__ == "ChatOpenAI" and model_id(m) == "openai:gpt-4o-mini"
    assert m.max_retries == 0      # retries are call_llm's job, once


def test_openai_compatible_handles_local_server_quirks(monkeypatch):
    m = get_chat_model(_settings(model="openai-compatible:smollm2", base_url="http://127.0.0.1:9/v1", max_tokens=99))
    assert m.extra_body == {"max_tokens": 99}            # llama.cpp ignores max_completion_tokens
    assert m.openai_api_base == "http://127.0.0.1:9/v1"
    assert model_id(m) == "openai-compatible:smollm2@http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="base_url"):
        get_chat_model(_settings(model="openai-compatible:smollm2"))


def test_bad_spec_and_missing_provider_package(monkeypatch):
    with pytest.raises(ConfigError, match="provider:model"):
        get_chat_model(_settings(model="gpt-4o"))
    # langchain knows this provider, but its integration package is not installed here
    with pytest.raises((NotInstalledError, ConfigError)) as e:
        get_chat_model(_settings(model="mistralai:mistral-small"))
    assert "pip install" in str(e.value) or "mistral" in str(e.value)


def test_cache_and_log(store):
    fake = FakeCountingChatModel(responses=["first answer", "second answer"])
    msgs = [("system", "be brief"), ("user", "hello")]
    r1 = call_llm(store, fake, msgs, prompt_version="t.v1", purpose="test")
    r2 = call_llm(store, fake, msgs, prompt_version="t.v1", purpose="test")
    r3 = call_llm(store, fake, msgs, prompt_version="t.v2", purpose="test")      # new prompt version: a miss
    assert (r1.text, r1.cached) == ("first answer", False)
    assert (r2.text, r2.cached) == ("first answer", True)
    assert (r3.text, r3.cached) == ("second answer", False)
    assert fake.calls == 2
    rows = store.rows("SELECT purpose, prompt_version, model, cached, outcome, messages FROM llm_calls "
                      "ORDER BY created_at")
    assert [(r[1], r[3], r[4]) for r in rows] == [("t.v1", False, "ok"), ("t.v1", True, "ok"), ("t.v2", False, "ok")]
    assert rows[0][2] == "fake-list-chat-model" and json.loads(rows[0][5])[1] == {"role": "user", "content": "hello"}


def test_structured_output_falls_back_to_json_in_text(store):
    fake = FakeListChatModel(responses=['Sure! ```json\n{"label": "bug", "score": 4}\n```', "no json here"])
    r = call_llm(store, fake, [("user", "classify")], prompt_version="s.v1", purpose="test", schema=Verdict)
    assert r.parsed == Verdict(label="bug", score=4) and r.parse_error is None
    bad = call_llm(store, fake, [("user", "again")], prompt_version="s.v1", purpose="test", schema=Verdict)
    assert bad.parsed is None and "JSON" in bad.parse_error
    assert store.scalar("SELECT outcome FROM llm_calls WHERE call_id = ?", [bad.call_id]) == "unparsed"


def test_retries_rate_limits_then_fails_cleanly(store):
    flaky = FakeFlakyChatModel(responses=["ok after retry"], fail_times=2)
    r = call_llm(store, flaky, [("user", "x")], prompt_version="r.v1", purpose="test", backoff_s=0.001)
    assert r.text == "ok after retry"
    dead = FakeFlakyChatModel(responses=["never"], fail_times=10)
    with pytest.raises(ExecutionError, match="RateLimitError"):
        call_llm(store, dead, [("user", "y")], prompt_version="r.v1", purpose="test", retries=2, backoff_s=0.001)
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE outcome = 'error'") == 1


def test_call_llm_many_keeps_order_under_a_concurrency_limit(store):
    fake = FakeListChatModel(responses=["same"])
    batch = [[("user", f"item {i}")] for i in range(12)]
    seen = []
    out = call_llm_many(store, fake, batch, prompt_version="b.v1", purpose="batch", concurrency=3, progress=seen.append)
    assert [r.text for r in out] == ["same"] * 12 and sorted(seen) == list(range(1, 13))
    assert store.scalar("SELECT count(DISTINCT cache_key) FROM llm_calls WHERE purpose = 'batch'") == 12
    again = call_llm_many(store, fake, batch, prompt_version="b.v1", purpose="batch", concurrency=3)
    assert all(r.cached for r in again)


def test_llm_log_cli(store, db_path):
    fake = FakeListChatModel(responses=["a"])
    call_llm(store, fake, [("user", "q")], prompt_version="c.v1", purpose="cli")
    call_llm(store, fake, [("user", "q")], prompt_version="c.v1", purpose="cli")
    store.close()
    p = run_cli("llm", "log", "--json", db=db_path)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["totals"]["calls"] == 2 and data["totals"]["cache_hits"] == 1
    assert {c["purpose"] for c in data["calls"]} == {"cli"}
