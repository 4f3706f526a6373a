"""The one seam of the answering stage: an `Engine` turns a question into an `Answer`.

Engines are registered through the plugin hook ``register_engines`` (built-ins: `qa_agent.plugin`) and tried in the
order of `ENGINES` (the built-in no-LLM engine first, then the LLM agent when a model is configured); the first that
does not decline answers. `Answer.to_json()` is the CLI contract that other tools rely
on: status, answer, engine, steps, tables, charts, conversation_id, item_ids.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

from earful.plugins import Registry


@dataclass
class Step:
    language: str            # "sql" | "python"
    code: str
    ok: bool
    error: str | None = None


@dataclass
class ResultTable:
    name: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Chart:
    title: str
    plotly: dict | None = None   # plotly figure JSON (web, Jupyter)
    png: str | None = None       # path of a PNG written under the workspace's output folder


@dataclass
class Answer:
    status: str                  # "answered" | "declined" | "error"
    answer: str
    engine: str
    steps: list[Step] = field(default_factory=list)
    tables: list[ResultTable] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    conversation_id: str | None = None
    item_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # e.g. unsupported-number flags, sandbox fallbacks
    plan: dict | None = None                              # the engine's structured plan, when it has one

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class AskContext:
    """What an engine gets besides the question: the workspace, settings and the conversation so far."""

    db_path: str
    settings: Any
    conversation_id: str | None = None
    history: list[dict] = field(default_factory=list)   # earlier turns: {question, plan, sql, answer}
    output_dir: str | None = None
    # set by `ask` when the turn is saved: engines queue their run-log rows here to be written with it; None: an
    # engine called on its own writes them itself
    pending_runs: list | None = None


class Engine(ABC):
    name: str = ""

    @abstractmethod
    def answer(self, question: str, ctx: AskContext) -> Answer:
        """Answer, or return an Answer with status 'declined' saying what was understood and what was not."""
        raise NotImplementedError


# name -> Engine class, in the order they are tried; filled on first use from the ``register_engines`` hook.
ENGINES: Registry = Registry("register_engines", "question engine")
