"""The topics stage's built-in plugin: its backends, labelers, tables (migrations), view column, commands, demo step
and after-ingest assignment, registered through the same hooks a third-party package uses (see `earful.plugins`).
Stage code is imported inside each hook, so listing this module costs nothing until that part is used."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_topic_backends(register):
    from earful.topics.aspects import AspectBERTopic
    from earful.topics.bertopic_backend import BERTopicBackend  # BERTopic/UMAP themselves load on fit
    from earful.topics.standin import PcaKMeansStandIn

    register(BERTopicBackend, "bertopic")
    # A plumbing stand-in (PCA + KMeans, seconds instead of a minute); used by tests about persistence and edits.
    register(PcaKMeansStandIn, "pca-kmeans-standin")
    register(AspectBERTopic, "bertopic-aspects")   # over mentions: evaluative/generic words out of keywords


@hookimpl
def register_topic_labelers(register):
    from earful.topics.labels import KeywordLabeler, LLMLabeler

    register(KeywordLabeler, "keywords")
    register(LLMLabeler, "llm")


@hookimpl
def register_migrations(register):
    from earful.store.migrations import register_package

    register_package(register, "earful.topics.migrations")   # every mNNNN_<what>.py there (0200-0299)


@hookimpl
def register_view_columns(register):
    from earful.topics.views import view_columns

    register(view_columns, "topics")


@hookimpl
def register_commands(app):
    from earful.topics import cli

    cli.register(app)


@hookimpl
def register_demo_steps(register):
    from earful.topics.demo import run

    register(run, "topics")


@hookimpl
def after_ingest(store, source):
    from earful.topics.assign import after_ingest as assign_new_items

    result = assign_new_items(store, source)
    return None if result is None else {"topics": result}

