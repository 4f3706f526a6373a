"""The classify stage's built-in plugin: its classifiers, tables (migrations), view columns, commands and demo step,
registered through the same hooks a third-party package uses (see `earful.plugins`). Stage code is imported inside
each hook, so listing this module costs nothing until that part is used."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_classifiers(register):
    from earful.classify import llm, offline

    for cls in (offline.WordTfidf, offline.CharTfidf, offline.EmbeddingLR, offline.ZeroShot, offline.SelfTrained,
                offline.Stacked, offline.Joint, llm.FewShotLLM, llm.Cascade):
        register(cls)


@hookimpl
def register_migrations(register):
    from earful.store.migrations import register_package

    register_package(register, "earful.classify.migrations")   # every mNNNN_<what>.py there (0100-0199)


@hookimpl
def register_view_columns(register):
    from earful.classify.views import view_columns

    register(view_columns, "classify")


@hookimpl
def register_commands(app):
    from earful.classify import cli

    cli.register(app)


@hookimpl
def register_demo_steps(register):
    from earful.classify.demo import run

    register(run, "classify")
