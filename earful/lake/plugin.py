"""The lake's built-in plugin: its commands (`earful export`, `earful lake ...`), registered through the same
``register_commands`` hook as every stage's (see `earful.plugins`); the command module is imported only then."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_commands(app):
    from earful.lake import cli

    cli.register(app)
