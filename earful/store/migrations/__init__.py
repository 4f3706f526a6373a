"""Ordered, recorded schema migrations (after simonw/llm's ``migrations.py``).

Every module in this package named ``mNNNN_<what>.py`` defines ``def migrate(con): ...``. Modules run in name
order, each once, inside the caller's transaction, and are recorded in ``_migrations``. A stage that needs new
tables adds one module here (numbers: 0001-0099 core/ingest, 0100 classify, 0200 topics, 0300 qa_agent/llm);
nothing else ever issues DDL against the workspace.
"""
from __future__ import annotations

import importlib
import pkgutil
from datetime import datetime, timezone


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("m") and m.name[1:5].isdigit())


def apply(con) -> list[str]:
    """Apply pending migrations on a DuckDB connection; returns the names applied now."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    done = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
    ran = []
    for name in available():
        if name in done:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        module.migrate(con)
        con.execute("INSERT INTO _migrations VALUES (?, ?)", [name, datetime.now(timezone.utc)])
        ran.append(name)
    return ran
