"""The one seam of the ingest stage: a `Loader` turns a file into a DuckDB relation of raw records.

Design decision: loaders hand back a *DuckDB relation* (registered on the store's connection), not Python rows, so a
million-row CSV is parsed, checked, deduplicated and inserted entirely inside DuckDB. Loaders and export profiles
are registered through the plugin hooks ``register_loaders`` / ``register_profiles`` (built-ins in `ingest.plugin`)
into the lazy registries `LOADERS` / `PROFILES`; the pipeline never branches on file types.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from earful.plugins import Registry

SNIFF_ROWS = 20_480  # rows a text loader reads to detect a file's format and column types (DuckDB's sample_size)


@dataclass
class BadRecord:
    """A record a loader could not even parse; it goes to the quarantine table, never away."""

    record_no: int
    raw: str
    reason: str


@dataclass
class Loaded:
    """A loader's output: a relation with a ``__record_no`` column (1-based line/record number), plus bad records.

    A loader whose relation yields the records in file order may instead leave ``__record_no`` out and set
    ``numbered=False``: the pipeline then numbers rows as it stages them (by the staged table's row ids), which lets
    DuckDB parse in parallel where a ``row_number() OVER ()`` window would run on one thread.
    """

    relation: object
    bad: list[BadRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    loader: str = ""
    temp_files: list = field(default_factory=list)  # transcoded copies, deleted once the batch is staged
    encoding: str = ""
    numbered: bool = True  # False: no __record_no column; record numbers are the relation's row order
    serial: object = None  # the same records read on one thread, for when the parallel reader refuses the file
    # for when staging fails on rows the loader's format detection did not see: () -> (relation, serial, bad records)
    # read with the format of the whole file, the rows that still fail left out and returned as bad records
    reread: object = None


class Loader(ABC):
    """Reads one file format. Subclasses set `name` and `extensions` and implement `load`."""

    name: str = ""
    extensions: tuple[str, ...] = ()

    def accepts(self, path: Path) -> bool:
        return path.name.lower().endswith(self.extensions)

    @abstractmethod
    def load(self, con, path: Path, options: dict) -> Loaded:
        raise NotImplementedError


@dataclass
class Profile:
    """A named mapping for a real export (Google Play CSV, Zendesk JSON, ...): which columns mean what.

    `text` is a column, or a list of columns: the first present one, or with ``join_text`` all present ones joined
    (title + body); `time`, `rating`, `id` and `author` may be lists too (the first present one). Any column may be a
    dotted path into a JSON object (``author.login``). One export can come in several shapes (GitHub issues from the
    CLI and from the REST API): `required` identifies one, each of `also_required` another, and the lists name the
    column each shape uses.
    """

    name: str
    description: str
    text: str | list[str]
    time: str | list[str] | None = None
    rating: str | list[str] | None = None
    id: str | list[str] | None = None
    author: str | list[str] | None = None
    required: tuple[str, ...] = ()  # columns (or dotted paths into struct columns) whose presence identifies the export
    join_text: bool = False
    also_required: tuple[tuple[str, ...], ...] = ()  # the same export in other shapes: each set identifies one

    def matches(self, columns: list[str]) -> bool:
        cols = {c.lower() for c in columns}
        return any(req and all(r.lower() in cols for r in req) for req in (self.required, *self.also_required))


# name -> part, in registration order (the first loader that accepts a file reads it); filled on first use.
LOADERS: Registry = Registry("register_loaders", "loader")
PROFILES: Registry = Registry("register_profiles", "export profile")


def register_loader(loader: Loader) -> Loader:
    """Add a loader directly (a test, a notebook); packages use the ``register_loaders`` hook instead."""
    LOADERS[loader.name] = loader
    return loader


def register_profile(profile: Profile) -> Profile:
    """Add a profile directly (a test, a notebook); packages use the ``register_profiles`` hook instead."""
    PROFILES[profile.name] = profile
    return profile
