"""Earful's LLM layer: one setting picks the chat model for every stage; every call is cached and logged.

Public API (other stages code against exactly this):
``get_chat_model(settings) -> BaseChatModel | None`` (None when ``[llm] model = "none"``),
``call_llm(store, chat_model, messages, *, prompt_version, purpose, schema=None) -> LLMReply``,
``call_llm_many(store, chat_model, list_of_messages, ..., concurrency=N) -> list[LLMReply]`` for batch stages, and
``model_id(chat_model)``. Design decision: langchain is imported only when a model is actually configured.
"""
from __future__ import annotations

from earful.llm.calls import LLMReply, cache_key, call_llm, call_llm_many, model_id, normalise_messages

__all__ = ["get_chat_model", "call_llm", "call_llm_many", "LLMReply", "model_id", "cache_key",
           "normalise_messages", "llm_enabled"]


def llm_enabled(settings) -> bool:
    return bool(settings.llm.model) and settings.llm.model.strip().lower() != "none"


def get_chat_model(settings):
    """The configured chat model, or None when ``[llm] model = "none"``.

    Raises NeedsKeyError (naming the variable) when the provider's key is missing, NotInstalledError (with the pip
    line) when its integration package is missing, ConfigError for a malformed spec.
    """
    if not llm_enabled(settings):
        return None
    from earful.llm.base import parse_spec, provider_for

    provider, model = parse_spec(settings.llm.model.strip())
    return provider_for(provider).build(model, settings)
