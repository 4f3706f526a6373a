"""One conformance suite over every registered LLM provider (ibis's backend suite is the model): a new provider is
tested by registering it.

Each provider class carries its own fixture, ``conformance = {"model": ..., "settings": {...}, "env": {...},
"wire": "openai"}``: the model it is built with, the ``[llm]`` settings and environment it needs besides its key,
and (optional) the wire protocol it speaks. The suite never branches on names. For every provider:

- with its key variable unset (or ``[llm] api_key_env`` naming an unset one) `build` raises `NeedsKeyError` naming it;
- with a fake key in the environment `build` returns a langchain chat model (no network), or, when the provider's
  integration package is not installed, `NotInstalledError` with the pip line; ``provider:model`` resolves to it;
- a provider that speaks the OpenAI chat API makes one real `call_llm` round trip to a fake OpenAI server.

A provider registered the way a plugin does, whose model is langchain's fake chat model, goes through the same
checks and answers through `get_chat_model` + `call_llm`. Fakes stand in for an LLM's *text* only.
"""
from __future__ import annotations

import importlib.util

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from earful.config import load_settings
from earful.errors import NeedsKeyError, NotInstalledError
from earful.llm import call_llm, get_chat_model, model_id
from earful.llm.base import PROVIDERS, Provider, provider_for
from tests.fake_openai import FakeOpenAIServer

FAKE_KEY = "sk-conformance-fake-key-0000"
UNSET_VAR = "EARFUL_CONFORMANCE_UNSET_KEY"


def fixture_of(provider) -> dict | None:
    fx = getattr(provider, "conformance", None)
    return fx if isinstance(fx, dict) and isinstance(fx.get("model"), str) else None


def settings_for(provider, **llm):
    fx = fixture_of(provider)
    return load_settings(environ={}, overrides={"llm": {"model": f"{provider.name}:{fx['model']}",
                                                        **fx.get("settings", {}), **llm}})


def installed(provider) -> bool:
    """Whether the provider's langchain integration package is importable here."""
    return not provider.package or importlib.util.find_spec(provider.package.replace("-", "_")) is not None


def prepare_env(provider, monkeypatch, key: str | None) -> None:
    for var, value in fixture_of(provider).get("env", {}).items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv(UNSET_VAR, raising=False)
    if provider.key_env:
        if key is None:
            monkeypatch.delenv(provider.key_env, raising=False)
        else:
            monkeypatch.setenv(provider.key_env, key)


def check_missing_key(provider, monkeypatch) -> None:
    fx = fixture_of(provider)
    prepare_env(provider, monkeypatch, key=None)
    if provider.key_env:
        with pytest.raises(NeedsKeyError) as e:
            provider.build(fx["model"], settings_for(provider))
        assert provider.key_env in str(e.value)
    # a key variable named in [llm] api_key_env that is not set: every provider says which one
    with pytest.raises(NeedsKeyError) as e:
        provider.build(fx["model"], settings_for(provider, api_key_env=UNSET_VAR))
    assert UNSET_VAR in str(e.value)


def check_build(provider, monkeypatch) -> BaseChatModel | None:
    """Build with a fake key; returns the chat model, or None when the integration package is missing."""
    fx = fixture_of(provider)
    prepare_env(provider, monkeypatch, key=FAKE_KEY)
    settings = settings_for(provider)
    if not installed(provider):
        with pytest.raises(NotInstalledError) as e:
            provider.build(fx["model"], settings)
        assert "pip install" in str(e.value)
        return None
    model = provider.build(fx["model"], settings)
    assert isinstance(model, BaseChatModel), f"{provider.name}: build gave {type(model).__name__}"
    assert model_id(model)   # part of every cache key
    # the spec 'provider:model' in the settings reaches this provider through the registry
    assert provider_for(provider.name) is provider
    assert type(get_chat_model(settings)) is type(model)
    return model


def cases() -> list:
    return [pytest.param(name, id=name) for name in PROVIDERS]


def test_every_provider_declares_its_fixture():
    assert {"openai", "anthropic", "ollama", "openai-compatible", "azure_openai"} <= set(PROVIDERS)
    missing = sorted(n for n in PROVIDERS if fixture_of(PROVIDERS[n]) is None)
    assert not missing, f"LLM providers registered without a `conformance = {{'model': ...}}` fixture: {missing}"


def test_the_fixture_check_catches_a_provider_without_one():
    class Bare(Provider):
        name = "bare"

    class Declared(Bare):
        conformance = {"model": "m"}

    assert fixture_of(Bare()) is None and fixture_of(Declared()) == {"model": "m"}


def declared(name: str):
    """The registered provider `name`, failing the test when it declares no fixture."""
    provider = PROVIDERS[name]
    if fixture_of(provider) is None:
        pytest.fail(f"LLM provider {name} declares no `conformance` fixture")
    return provider


@pytest.mark.parametrize("name", cases())
def test_provider_needs_its_key(name, monkeypatch):
    check_missing_key(declared(name), monkeypatch)


@pytest.mark.parametrize("name", cases())
def test_provider_builds_a_chat_model(name, monkeypatch):
    check_build(declared(name), monkeypatch)


WIRE_CASES = [n for n in PROVIDERS if (fixture_of(PROVIDERS[n]) or {}).get("wire") == "openai"]


@pytest.mark.parametrize("name", WIRE_CASES)
def test_openai_wire_provider_round_trip(name, store, monkeypatch):
    provider = PROVIDERS[name]
    if not installed(provider):
        pytest.skip(f"{provider.package} is not installed")
    prepare_env(provider, monkeypatch, key=FAKE_KEY)
    with FakeOpenAIServer(reply=["pong from the fake server"]) as server:
        model = provider.build(fixture_of(provider)["model"], settings_for(provider, base_url=server.url))
        reply = call_llm(store, model, [("system", "Be brief."), ("user", "ping")],
                         prompt_version="conformance-v1", purpose="conformance")
    assert reply.text == "pong from the fake server"
    assert fixture_of(provider)["model"] in model_id(model)   # one model's cached replies never serve another
    assert len(server.bodies) == 1 and server.bodies[0]["messages"][-1]["content"] == "ping"
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'conformance'") == 1
    assert FAKE_KEY not in server.all_text()     # the key travels in a header, never in a prompt


class FakePluginProvider(Provider):
    """Registered by a test the way a plugin's hook would: its model is langchain's fake chat model (LLM text)."""

    name, key_env = "fake-plugin", "EARFUL_FAKE_PLUGIN_KEY"
    conformance = {"model": "echo-1"}

    def build(self, model, settings):
        self.api_key(settings)
        return FakeListChatModel(responses=[f"{model} answers"])


def test_a_registered_provider_goes_through_the_same_checks_and_answers(store, monkeypatch):
    provider = FakePluginProvider()
    monkeypatch.setitem(PROVIDERS, provider.name, provider)
    check_missing_key(provider, monkeypatch)
    model = check_build(provider, monkeypatch)
    chat = get_chat_model(settings_for(provider))
    reply = call_llm(store, chat, [("user", "hello")], prompt_version="conformance-v1", purpose="conformance")
    assert isinstance(model, FakeListChatModel) and reply.text == "echo-1 answers"
    assert store.scalar("SELECT count(*) FROM llm_calls WHERE purpose = 'conformance'") == 1
