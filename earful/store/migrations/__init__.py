"""Ordered, recorded schema migrations (after simonw/llm's ``migrations.py``).

A migration is a function ``migrate(con)`` with a name ``mNNNN_<what>``. The core's own live in this package as
modules of that name (0001-0099 core/ingest, 0300 LLM log and conversations); each stage owns its tables and
registers its migrations through the plugin hook ``register_migrations`` (0100 classify, 0200 topics; a third-party
plugin picks a free range, e.g. 1000+). All of them run in name order, each once, inside the caller's transaction,
and are recorded by name in ``_migrations``, so the names never change (a workspace made before the stage tables
moved out of the core records the same names and re-runs nothing). Nothing else ever issues DDL against the
workspace.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, datetime

from earful.errors import EarfulError

NAME_RE = re.compile(r"m\d{4}_[a-z0-9_]+")


def package_migrations(package: str) -> dict:
    """name -> migrate for every ``mNNNN_<what>.py`` module of `package` (a stage's ``migrations`` folder)."""
    path = importlib.import_module(package).__path__
    names = sorted(m.name for m in pkgutil.iter_modules(path) if NAME_RE.fullmatch(m.name))
    return {name: importlib.import_module(f"{package}.{name}").migrate for name in names}


def register_package(register, package: str) -> None:
    """For a ``register_migrations`` hook: register every migration module of `package`, under its module name."""
    for name, migrate in package_migrations(package).items():
        register(migrate, name)


def _core() -> dict:
    return package_migrations(__name__)


def registered() -> dict:
    """name -> migrate, the core's and every plugin's, in the order they run (by name)."""
    from earful.plugins import call_hook

    found = _core()
    owner = dict.fromkeys(found, "earful.store.migrations")

    def register(migrate, name: str) -> None:
        where = getattr(migrate, "__module__", "?")
        if not NAME_RE.fullmatch(name or ""):
            raise EarfulError(f"migration name '{name}' from {where} is not 'mNNNN_<what>'",
                              hint="name it like m1000_myplugin (lower case, a free 4-digit number)")
        if name in found:
            raise EarfulError(f"two migrations are named '{name}' ({owner[name]} and {where})",
                              hint="each migration needs its own mNNNN_ name; a plugin picks an unused number")
        found[name], owner[name] = migrate, where

    call_hook("register_migrations", register=register)
    return dict(sorted(found.items()))


def available() -> list[str]:
    return list(registered())


def apply(con) -> list[str]:
    """Apply pending migrations on a DuckDB connection; returns the names applied now."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    done = {r[0] for r in con.execute("SELECT name FROM _migrations").fetchall()}
    ran = []
    for name, migrate in registered().items():
        if name in done:
            continue
        migrate(con)
        con.execute("INSERT INTO _migrations VALUES (?, ?)", [name, datetime.now(UTC)])
        ran.append(name)
    return ran
