"""The classification seam: taxonomies (YAML), the `Classifier` interface, and the classifier registry.

Design decision: every classifier, offline or LLM, maps an `Inputs` bundle (texts, optional MiniLM vectors, optional
numeric metadata such as rating) to a *label distribution* (`predict_proba`, columns in `classes_` order), so the
cascade, the evaluation and the prevalence intervals treat them all alike. New classifiers are added by writing one
class and registering it through the plugin hook ``register_classifiers`` (built-ins: `classify.plugin`); the
conformance suite in tests runs over everything registered.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from earful.errors import ConfigError, InputError, NotFoundError
from earful.plugins import Registry

TAXONOMY_DIR = Path(__file__).resolve().parent / "taxonomies"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    examples: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    """A set of labels items can take. ``multi_label`` taxonomies keep every label above half the top probability."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    multi_label: bool = False
    labels: list[Label]

    @field_validator("name")
    @classmethod
    def _name_ok(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"'{v}' must be lower-case letters, digits and _ (it becomes a column name)")
        return v

    @field_validator("labels")
    @classmethod
    def _labels_ok(cls, v: list[Label]) -> list[Label]:
        if len(v) < 2:
            raise ValueError("a taxonomy needs at least two labels")
        names = [lab.name for lab in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate label(s): {', '.join(sorted(dup))}")
        return v

    @property
    def label_names(self) -> list[str]:
        return [lab.name for lab in self.labels]


def parse_taxonomy(text: str, origin: str = "<text>") -> Taxonomy:
    """Parse taxonomy YAML; any problem raises ConfigError naming the file and the offending key."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin} is not valid YAML: {str(exc).splitlines()[0]}",
                          hint="fix the file; see classify/taxonomies/feedback_type.yaml for the shape") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{origin} must be a mapping with keys name, labels (and optionally multi_label)",
                          hint="see classify/taxonomies/feedback_type.yaml")
    if isinstance(data.get("labels"), list):  # allow the short form `labels: [a, b, c]`
        data["labels"] = [{"name": x} if isinstance(x, str) else x for x in data["labels"]]
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{origin}: '{where}': {first['msg']}",
                          hint="see classify/taxonomies/feedback_type.yaml for the shape") from exc


def builtin_taxonomies() -> dict[str, Path]:
    return {p.stem: p for p in sorted(TAXONOMY_DIR.glob("*.yaml"))}


def load_taxonomy(name_or_path: str, store=None) -> Taxonomy:
    """A taxonomy by workspace name, built-in name, or path to a YAML file (in that order)."""
    if store is not None and store.table_exists("taxonomies"):
        rows = store.rows("SELECT spec FROM taxonomies WHERE name = ?", [name_or_path])
        if rows:
            return Taxonomy.model_validate_json(rows[0][0])
    builtin = builtin_taxonomies()
    if name_or_path in builtin:
        return parse_taxonomy(builtin[name_or_path].read_text(encoding="utf-8"), str(builtin[name_or_path]))
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise InputError(f"taxonomy file {p} does not exist")
        return parse_taxonomy(p.read_text(encoding="utf-8"), str(p))
    known = sorted(set(builtin) | set(workspace_taxonomies(store)))
    raise NotFoundError(f"no taxonomy named '{name_or_path}' (known: {', '.join(known)})",
                        hint="pass a YAML file, or create one from gold labels with "
                             "'earful classify train --taxonomy NAME --gold-column COL'")


def workspace_taxonomies(store) -> list[str]:
    if store is None or not store.table_exists("taxonomies"):
        return []
    return [r[0] for r in store.rows("SELECT name FROM taxonomies ORDER BY name")]


@dataclass
class Inputs:
    """What a classifier sees for n items: texts, optionally their MiniLM vectors (n x 384) and numeric metadata."""

    texts: list[str]
    vectors: np.ndarray | None = None
    extra: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, idx) -> Inputs:
        idx = np.asarray(idx, dtype=np.int64)
        return Inputs([self.texts[i] for i in idx],
                      None if self.vectors is None else self.vectors[idx],
                      None if self.extra is None else self.extra[idx])

    def need_vectors(self) -> np.ndarray:
        if self.vectors is None:
            from earful.embeddings import Embedder

            self.vectors = Embedder().encode(self.texts)
        return self.vectors


class Classifier(ABC):
    """Maps Inputs to a label distribution. scikit-learn style: `fit` returns self, fitted attributes end in `_`."""

    name: str = "abstract"
    offline: bool = True           # False: calls an LLM
    uses_vectors: bool = True      # False: never reads Inputs.vectors (callers may skip embedding)

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy
        self.classes_: list[str] = list(taxonomy.label_names)

    def _extend_classes(self, y) -> None:
        """Add gold labels the taxonomy does not list (e.g. a taxonomy made from a gold column), in sorted order."""
        for lab in sorted(set(y) - set(self.classes_)):
            self.classes_.append(lab)

    @abstractmethod
    def fit(self, inputs: Inputs, y: list[str]) -> Classifier:
        raise NotImplementedError

    @abstractmethod
    def predict_proba(self, inputs: Inputs) -> np.ndarray:
        """(n, len(classes_)) rows summing to 1."""
        raise NotImplementedError

    def predict(self, inputs: Inputs) -> list[str]:
        proba = self.predict_proba(inputs)
        return [self.classes_[j] for j in proba.argmax(axis=1)]


ClassifierFactory = Callable[..., Classifier]
# name -> factory ``(taxonomy, **params) -> Classifier``, filled on first use from the ``register_classifiers`` hook.
CLASSIFIERS: Registry = Registry("register_classifiers", "classifier")


def register_classifier(name: str):
    """Class decorator that adds a classifier directly (a test, a notebook); packages use the hook instead."""
    def deco(factory: ClassifierFactory) -> ClassifierFactory:
        CLASSIFIERS[name] = factory
        return factory
    return deco


def _load_builtins() -> None:
    """Fill the registry now (it also fills itself on first use); kept for `classify.runner` and `classify.models`."""
    CLASSIFIERS.load()


def classifier_names(offline_only: bool = False) -> list[str]:
    return [n for n, f in CLASSIFIERS.items() if not offline_only or getattr(f, "offline", True)]


def make_classifier(name: str, taxonomy: Taxonomy, **kwargs) -> Classifier:
    if name not in CLASSIFIERS:
        raise NotFoundError(f"no classifier named '{name}' (known: {', '.join(CLASSIFIERS)})")
    return CLASSIFIERS[name](taxonomy, **kwargs)


def taxonomy_from_labels(name: str, labels, description: str = "") -> Taxonomy:
    distinct = sorted({str(x) for x in labels if x is not None and str(x).strip()})
    if len(distinct) < 2:
        raise InputError(f"the gold column has {len(distinct)} distinct label(s); a taxonomy needs at least two")
    if len(distinct) > 200:
        raise InputError(f"the gold column has {len(distinct)} distinct values; that looks like free text, not labels")
    return Taxonomy(name=name, description=description, labels=[Label(name=x) for x in distinct])
