"""Imported once by the streamed questions' forkserver (`earful.web.runs`), before any run is forked from it.

Design decision: a forked run inherits whatever this process has already loaded, so loading the engine registry
(every stage's plugin hook) and the modules a first answer imports here saves each run about half a second of
imports. Nothing here opens the workspace or starts a thread: a fork copies neither safely. Every step is a
warm-up only; whatever fails here a run simply loads itself.
"""
from __future__ import annotations

import contextlib
import importlib
import pkgutil


def _warm() -> None:
    for name in ("numpy", "pyarrow", "earful.charts", "earful.llm.calls", "earful.llm.redact",
                 "earful.qa_agent.schema_card", "earful.store.readonly", "earful.qa_agent.builtin"):
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        builtin = importlib.import_module("earful.qa_agent.builtin")
        for m in pkgutil.iter_modules(builtin.__path__):      # the parser, compiler, ... (loaded on first answer)
            with contextlib.suppress(Exception):
                importlib.import_module(f"{builtin.__name__}.{m.name}")
    with contextlib.suppress(Exception):
        from earful.qa_agent.base import ENGINES

        for name in list(ENGINES):
            ENGINES[name]            # loads every stage's plugin hook and the engine classes


_warm()
