"""The answering stage's built-in plugin: its engines (tried in this order), chart kinds, commands and demo step,
registered through the same hooks a third-party package uses (see `earful.plugins`)."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_engines(register):
    from earful.qa_agent.agent import LLMAgent
    from earful.qa_agent.builtin import BuiltinEngine

    register(BuiltinEngine)   # first: answers what it can map with confidence, without an LLM
    register(LLMAgent)        # then the LLM agent, when a model is configured


@hookimpl
def register_chart_kinds(register):
    from earful.charts import BUILTIN_KINDS

    for kind in BUILTIN_KINDS:   # bar, line: the kinds its answers and the LLM agent's chart specs name
        register(kind)


@hookimpl
def register_commands(app):
    from earful.qa_agent import cli
    from earful.qa_agent.profiles import cli as profile_cli

    cli.register(app)
    profile_cli.register(app)   # earful profile (#15)


@hookimpl
def register_demo_steps(register):
    from earful.qa_agent.demo import run

    register(run, "ask", after_close=True)   # its questions run in other processes, after the demo closed the file
