"""The LLM layer's built-in plugin: its providers and the `earful llm` commands, registered through the same hooks a
third-party package uses (see `earful.plugins`)."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_llm_providers(register):
    from earful.llm.base import Anthropic, AzureOpenAI, Ollama, OpenAI, OpenAICompatible

    for provider in (OpenAI(), AzureOpenAI(), Anthropic(), Ollama(), OpenAICompatible()):
        register(provider)


@hookimpl
def register_commands(app):
    from earful.llm import cli

    cli.register(app)
