"""Loading registered extension points by dotted path ("package.module:attr").

Stages plug into each other through lists of dotted paths (CLI command modules, view-column providers, demo steps,
answering engines, after-ingest hooks). This one helper imports them lazily and returns None only when the named
stage's own package is absent, so an optional stage can be left out while a real import error still surfaces.
"""
from __future__ import annotations

import importlib


def load_optional(path: str):
    """The object at ``module:attr`` (or the module itself), or None when that module does not exist."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    return getattr(module, attr) if attr else module
