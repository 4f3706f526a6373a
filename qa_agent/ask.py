"""`ask`: run the engines in order over one question and return the first non-declined Answer.

The built-in engine answers what it can map with confidence; when it declines and an LLM is configured the LLM agent
takes over; when none answers, the built-in engine's decline (what it understood, what it could not map) is returned.
"""
from __future__ import annotations

import importlib

from qa_agent.base import ENGINES, Answer, AskContext


def load_engine(path: str):
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, attr)()


def ask(question: str, ctx: AskContext) -> Answer:
    first_decline = None
    for path in ENGINES:
        engine = load_engine(path)
        if engine is None:
            continue
        ans = engine.answer(question, ctx)
        if ans.status != "declined":
            return ans
        first_decline = first_decline or ans
    return first_decline or Answer(status="declined", answer="No answering engine is installed.", engine="none")
