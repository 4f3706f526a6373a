"""The ingest stage's built-in plugin: its loaders, export profiles and commands, registered through the same hooks
a third-party package uses (see `earful.plugins`). Stage code is imported inside each hook, so listing this module
costs nothing until a registry is used."""
from __future__ import annotations

from earful.plugins import hookimpl


@hookimpl
def register_loaders(register):
    from earful.ingest.loaders import CsvLoader, JsonLoader
    from earful.ingest.loaders_binary import ParquetLoader, XlsxLoader

    for loader in (CsvLoader(), JsonLoader(), ParquetLoader(), XlsxLoader()):
        register(loader)


@hookimpl
def register_profiles(register):
    from earful.ingest.profiles import BUILTIN_PROFILES

    for profile in BUILTIN_PROFILES:
        register(profile)


@hookimpl
def register_commands(app):
    from earful.ingest import cli

    cli.register(app)
