"""The one seam of the LLM layer: a `Provider` turns ``provider:model`` plus settings into a langchain chat model.

Design decision: providers are registered by name in `PROVIDERS` through the plugin hook ``register_llm_providers``
(built-ins: `earful.llm.plugin`; one small class each, no if/elif chain). Every
provider except ``openai-compatible`` goes through langchain's ``init_chat_model``, so any provider langchain knows
works without new code; the registry only adds what langchain does not do for us: naming the missing key variable,
the exact pip line for a missing package (``pip install 'earful[<extra>]'`` for a provider whose integration is an
optional extra: `Provider.extra`), and the quirks of local OpenAI-compatible servers.
"""
from __future__ import annotations

import os

from earful.errors import ConfigError, NeedsKeyError, NotInstalledError
from earful.llm.redact import remember_secret
from earful.plugins import Registry


class Provider:
    """Builds a chat model for one provider. Subclasses set the class attributes; `build` rarely needs overriding."""

    name: str = ""
    langchain_provider: str = ""         # model_provider for init_chat_model
    key_env: str | None = None           # the provider's usual API-key variable
    package: str = ""                    # pip package that brings the langchain integration
    extra: str | None = None             # the earful extra that installs `package` (None: a core dependency)

    def api_key(self, settings) -> str | None:
        var = settings.llm.api_key_env or self.key_env
        if var is None:
            return None
        key = os.environ.get(var)
        if not key:
            raise NeedsKeyError(f"no API key for '{self.name}': the environment variable {var} is not set",
                                hint=f"export {var}=... (or set [llm] api_key_env to the variable that holds it)")
        remember_secret(key)     # never sent to a model or stored, whatever variable it came from
        return key

    def kwargs(self, settings) -> dict:
        llm = settings.llm
        kw = {"temperature": llm.temperature, "max_tokens": llm.max_tokens, "timeout": llm.timeout_s,
              "max_retries": 0}  # retries with backoff are done once, in call_llm
        if llm.base_url:
            kw["base_url"] = llm.base_url
        return kw

    def build(self, model: str, settings):
        from langchain.chat_models import init_chat_model

        key = self.api_key(settings)
        kw = self.kwargs(settings)
        if key and settings.llm.api_key_env:
            kw["api_key"] = key
        try:
            return init_chat_model(model, model_provider=self.langchain_provider or self.name, **kw)
        except ImportError as exc:
            raise NotInstalledError(self.package or f"langchain-{self.name}", extra=self.extra,
                                    purpose=f"the '{self.name}' LLM provider") from exc
        except ValueError as exc:
            raise ConfigError(f"cannot set up LLM '{self.name}:{model}': {exc}",
                              hint="check [llm] model in earful.toml, EARFUL_LLM or --llm") from exc


class OpenAI(Provider):
    name, langchain_provider, key_env, package = "openai", "openai", "OPENAI_API_KEY", "langchain-openai"
    conformance = {"model": "gpt-4o-mini", "wire": "openai"}  # tests/test_llm_conformance.py


class AzureOpenAI(Provider):
    name, langchain_provider = "azure_openai", "azure_openai"
    key_env, package = "AZURE_OPENAI_API_KEY", "langchain-openai"
    conformance = {"model": "gpt-4o", "env": {"AZURE_OPENAI_ENDPOINT": "https://conformance.invalid"},
                   "wire": "openai"}  # tests/test_llm_conformance.py

    def kwargs(self, settings) -> dict:
        kw = super().kwargs(settings)
        if kw.pop("base_url", None):
            kw["azure_endpoint"] = settings.llm.base_url
        elif not os.environ.get("AZURE_OPENAI_ENDPOINT"):
            raise ConfigError("Azure OpenAI needs an endpoint",
                              hint="export AZURE_OPENAI_ENDPOINT=https://... or set [llm] base_url")
        kw.setdefault("api_version", os.environ.get("OPENAI_API_VERSION", "2024-10-21"))
        return kw


class Anthropic(Provider):
    name, langchain_provider, key_env, package = "anthropic", "anthropic", "ANTHROPIC_API_KEY", "langchain-anthropic"
    extra = "anthropic"   # pip install 'earful[anthropic]'
    conformance = {"model": "claude-3-5-haiku-latest"}  # tests/test_llm_conformance.py


class Ollama(Provider):
    name, langchain_provider, key_env, package = "ollama", "ollama", None, "langchain-ollama"
    extra = "ollama"      # pip install 'earful[ollama]'
    conformance = {"model": "llama3.2"}  # tests/test_llm_conformance.py

    def kwargs(self, settings) -> dict:
        kw = super().kwargs(settings)
        kw.pop("max_tokens", None)
        kw.pop("timeout", None)
        kw.pop("max_retries", None)
        kw["num_predict"] = settings.llm.max_tokens
        return kw


class OpenAICompatible(Provider):
    """vLLM, llama.cpp server, LM Studio, Ollama's /v1: ChatOpenAI with a base_url.

    Quirks handled: llama.cpp ignores ``max_completion_tokens`` so ``max_tokens`` goes in ``extra_body``; local
    servers need no key, so a dummy one is sent unless ``[llm] api_key_env`` names a variable.
    """

    name, package = "openai-compatible", "langchain-openai"
    conformance = {"model": "smollm2", "settings": {"base_url": "http://127.0.0.1:9/v1"},
                   "wire": "openai"}  # tests/test_llm_conformance.py

    def build(self, model: str, settings):
        llm = settings.llm
        if not llm.base_url:
            raise ConfigError("'openai-compatible' needs the server's URL",
                              hint="set [llm] base_url = 'http://127.0.0.1:8080/v1' or EARFUL_LLM_BASE_URL")
        key = self.api_key(settings) if llm.api_key_env else "not-needed"
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise NotInstalledError("langchain-openai", purpose="OpenAI-compatible servers") from exc
        return ChatOpenAI(model=model, base_url=llm.base_url, api_key=key, temperature=llm.temperature,
                          timeout=llm.timeout_s, max_retries=0, extra_body={"max_tokens": llm.max_tokens})


# name -> Provider instance, filled on first use from the ``register_llm_providers`` hook.
PROVIDERS: Registry = Registry("register_llm_providers", "LLM provider")
ALIASES = {"azure": "azure_openai", "azure-openai": "azure_openai", "openai_compatible": "openai-compatible",
           "local": "openai-compatible"}


def register_provider(provider: Provider) -> None:
    """Add (or replace) a provider directly (a test, a notebook); packages use the ``register_llm_providers`` hook."""
    PROVIDERS[provider.name] = provider


def parse_spec(spec: str) -> tuple[str, str]:
    """'provider:model' -> (provider, model). The model part may itself contain ':' (ollama tags)."""
    provider, sep, model = (spec or "").partition(":")
    if not sep or not provider or not model:
        raise ConfigError(f"LLM spec '{spec}' is not 'provider:model'",
                          hint="e.g. openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest, "
                               "ollama:llama3.2, openai-compatible:smollm2 (with base_url), or 'none'")
    return ALIASES.get(provider, provider), model


def provider_for(name: str) -> Provider:
    if name in PROVIDERS:
        return PROVIDERS[name]
    # langchain knows more providers than we list (groq, mistralai, bedrock...): pass them through.
    generic = Provider()
    generic.name = generic.langchain_provider = name
    return generic
