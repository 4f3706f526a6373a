"""Optional extras for LLM providers beyond OpenAI: a provider whose langchain integration is not installed raises
`NotInstalledError` naming the exact ``pip install 'earful[<extra>]'`` line, and every extra a provider names is
declared in pyproject.toml and brings that provider's package."""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from earful.config import load_settings
from earful.errors import EarfulError, NotInstalledError
from earful.llm.base import PROVIDERS, Provider
from earful.plugins import hookimpl, manager

ROOT = Path(__file__).resolve().parent.parent


def _optional_dependencies() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _core_dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def _settings(spec: str):
    return load_settings(environ={}, overrides={"llm": {"model": spec}})


def _hide(monkeypatch, package: str) -> None:
    """Make `package`'s module unimportable here, whether or not it is installed."""
    monkeypatch.setitem(sys.modules, package.replace("-", "_"), None)


@pytest.mark.parametrize(("name", "extra"), [("anthropic", "anthropic"), ("ollama", "ollama")])
def test_a_missing_provider_package_names_the_earful_extra(name, extra, monkeypatch):
    provider = PROVIDERS[name]
    if provider.key_env:
        monkeypatch.setenv(provider.key_env, "sk-extras-fake-key")
    _hide(monkeypatch, provider.package)
    with pytest.raises(NotInstalledError) as e:
        provider.build("some-model", _settings(f"{name}:some-model"))
    assert isinstance(e.value, EarfulError)
    assert f"pip install 'earful[{extra}]'" in str(e.value)
    assert provider.package in str(e.value)


class _PluginProvider(Provider):
    """A provider a plugin package registers, on a langchain integration that is not installed here."""

    name, langchain_provider, key_env, package = "extras-test-mistral", "mistralai", None, "langchain-mistralai"
    conformance = {"model": "mistral-small"}


class _PluginProviderWithExtra(_PluginProvider):
    name, extra = "extras-test-mistral-extra", "mistral"


def test_a_plugin_provider_names_its_package_or_its_extra(monkeypatch):
    class Plugin:
        @hookimpl
        def register_llm_providers(self, register):
            register(_PluginProvider())
            register(_PluginProviderWithExtra())

    plugin = Plugin()
    manager().register(plugin, name="test-llm-extras-plugin")
    PROVIDERS._hooked.clear()
    PROVIDERS._state = "empty"     # ask the hooks again, with this plugin among them
    _hide(monkeypatch, "langchain-mistralai")
    try:
        with pytest.raises(NotInstalledError) as e:
            PROVIDERS["extras-test-mistral"].build("mistral-small", _settings("extras-test-mistral:mistral-small"))
        assert "pip install langchain-mistralai" in str(e.value)       # no extra: the package itself
        with pytest.raises(NotInstalledError) as e:
            PROVIDERS["extras-test-mistral-extra"].build("m", _settings("extras-test-mistral-extra:m"))
        assert "pip install 'earful[mistral]'" in str(e.value)
    finally:
        manager().unregister(plugin)
        PROVIDERS._hooked.clear()
        PROVIDERS._state = "empty"
    assert "extras-test-mistral" not in PROVIDERS


def test_every_provider_extra_is_declared_and_brings_its_package():
    extras = _optional_dependencies()
    core = [r.split(">")[0].split("=")[0].split("<")[0].strip() for r in _core_dependencies()]
    builtins = [p for p in PROVIDERS.values() if type(p).__module__ == "earful.llm.base"]
    assert {"anthropic", "ollama"} <= {p.extra for p in builtins}
    for provider in builtins:
        if provider.package in core:
            assert provider.extra is None, f"{provider.name}: {provider.package} is always installed"
            continue
        assert provider.extra in extras, f"{provider.name}: needs an extra in pyproject.toml for {provider.package}"
        assert any(req.startswith(provider.package) for req in extras[provider.extra]), extras[provider.extra]
