"""The topic stage's seams: a `TopicBackend` clusters embedded documents, a `Labeler` names the clusters.

Design decision: both are small ABCs with registries (`BACKENDS`, `LABELERS`) keyed by name and filled through the
plugin hooks ``register_topic_backends`` / ``register_topic_labelers`` (built-ins: `topics.plugin`), so a new
clustering method or labeling strategy is one class plus one registration, never an if/elif. Everything a backend
learns that Earful keeps (centroids, keywords, assignments) is written to the store by `topics.fit`, not kept in the
backend, so topics keep working (assign, edit, refit matching) without the backend's own model object.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from earful.errors import ConfigError
from earful.plugins import Registry

OUTLIER = -1


@dataclass
class BackendFit:
    """What a backend hands back: one label per document (-1 = outlier) and keywords per topic label."""

    labels: np.ndarray
    keywords: dict[int, list[str]]
    info: dict = field(default_factory=dict)


@dataclass
class TopicDraft:
    """A topic as a labeler sees it: its keywords and its most representative texts (closest to the centroid)."""

    topic_id: int
    keywords: list[str]
    examples: list[str]
    size: int


class TopicBackend(ABC):
    """Clusters documents given their (normalised) embeddings. Must be deterministic for a fixed ``seed``."""

    name: str = "abstract"
    progress: Callable[[str], None] | None = None   # set by `topics.fit`: told each phase's name as the fit goes

    def __init__(self, seed: int = 42, **params):
        self.seed = seed
        self.params = params

    def phase(self, name: str) -> None:
        """Say that the fit enters phase `name` (UMAP, HDBSCAN, ...), for the progress shown to the user."""
        if self.progress is not None:
            self.progress(name)

    @abstractmethod
    def fit(self, docs: list[str], vectors: np.ndarray) -> BackendFit:
        raise NotImplementedError


class Labeler(ABC):
    """Gives each topic a short name (2-5 words) and a one-sentence description."""

    name: str = "abstract"

    @abstractmethod
    def label(self, drafts: list[TopicDraft]) -> list[tuple[str, str]]:
        raise NotImplementedError


# name -> class, filled on first use from the plugin hooks (a backend imports its heavy libraries only when fitting).
BACKENDS: Registry = Registry("register_topic_backends", "topic backend")
LABELERS: Registry = Registry("register_topic_labelers", "topic labeler")


def _load(registry: Registry, name: str, kind: str):
    if name not in registry:
        raise ConfigError(f"unknown topic {kind} '{name}'", hint="choose one of: " + ", ".join(sorted(registry)))
    return registry[name]


def get_backend(name: str = "bertopic", **kwargs) -> TopicBackend:
    return _load(BACKENDS, name, "backend")(**kwargs)


def get_labeler(name: str = "keywords", **kwargs) -> Labeler:
    return _load(LABELERS, name, "labeler")(**kwargs)
