"""Trained classifiers as workspace bytes that load no code: skops, with an allow-list of the types Earful writes.

Design decision: a model is never unpickled. skops writes the object graph as JSON plus numpy arrays, and `load_model`
first lists every type the bytes name and refuses the model unless each is either one skops trusts by default
(scikit-learn estimators, numpy, scipy) or on `allowed_types()` (Earful's offline classifier classes and its taxonomy
models), so opening a workspace file someone sent you cannot run their code. Rows written before this format (pickles)
are refused with the command that retrains them. The scikit-learn version and the embedding model a model was trained
with are stored and checked, because a model loaded into another version, or fed another model's vectors, can predict
differently without any error.
"""
from __future__ import annotations

import json

from earful.errors import EarfulError

FORMAT = "skops-1"


class ModelLoadError(EarfulError):
    """A stored model cannot be loaded safely (old pickle, unknown types, other scikit-learn): retrain it."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, method: str | None = None):
        super().__init__(message, hint=hint)
        self.method = method


def _retrain(taxonomy: str, method: str | None) -> str:
    if method == "selftrained":
        return f"it is learnt again by: earful classify run --taxonomy {taxonomy} (no gold needed)"
    m = f" --method {method}" if method else ""
    return f"retrain it: earful classify train --taxonomy {taxonomy}{m} (add --gold-column COL if needed)"


def allowed_types() -> set[str]:
    """Types (besides skops's defaults) a stored model may contain: registered offline classifiers, taxonomies."""
    from earful.classify.base import CLASSIFIERS, Label, Taxonomy, _load_builtins

    _load_builtins()
    out = {f"{t.__module__}.{t.__qualname__}" for t in (Taxonomy, Label)}
    for factory in CLASSIFIERS.values():
        if isinstance(factory, type) and getattr(factory, "offline", True):
            out.add(f"{factory.__module__}.{factory.__qualname__}")
    return out


def library_versions() -> dict:
    import sklearn
    import skops

    from earful.embeddings import get_embedding_model

    return {"scikit-learn": sklearn.__version__, "skops": skops.__version__,
            "embedding_model": get_embedding_model().name}


def dump_model(payload: dict) -> bytes:
    """skops bytes of `payload` ({classifier, features, extra_names})."""
    from earful.errors import require

    sio = require("skops.io", "skops", purpose="storing trained classifiers")
    return sio.dumps(payload)


def _minor(v: str) -> str:
    return ".".join(str(v).split(".")[:2])


def load_model(blob: bytes, fmt: str | None, versions: str | dict | None, *, taxonomy: str,
               method: str | None = None, model_version: str = "") -> dict:
    """The payload of a stored model, or ModelLoadError when it cannot be loaded without trusting its bytes."""
    from earful.errors import require

    what = f"the stored model {model_version} of taxonomy '{taxonomy}'"
    if fmt != FORMAT:
        kind = "a pickle written by an older Earful" if fmt is None else f"in an unknown format '{fmt}'"
        raise ModelLoadError(f"{what} is {kind}; Earful does not load pickles because loading one can run code",
                             hint=_retrain(taxonomy, method), method=method)
    sio = require("skops.io", "skops", purpose="loading trained classifiers")
    try:
        named = set(sio.get_untrusted_types(data=bytes(blob)))
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign bytes: refuse, never guess
        raise ModelLoadError(f"{what} is not a readable skops file ({type(exc).__name__})",
                             hint=_retrain(taxonomy, method), method=method) from exc
    bad = sorted(named - allowed_types())
    if bad:
        raise ModelLoadError(f"{what} names types Earful never stores ({', '.join(bad[:5])}); it was not written by "
                             "Earful or was changed, and it is not loaded",
                             hint=_retrain(taxonomy, method), method=method)
    have = json.loads(versions) if isinstance(versions, str) else (versions or {})
    now = library_versions()
    if _minor(have.get("scikit-learn", "?")) != _minor(now["scikit-learn"]):
        raise ModelLoadError(f"{what} was trained with scikit-learn {have.get('scikit-learn', 'unknown')} and this is "
                             f"{now['scikit-learn']}; its predictions could differ silently",
                             hint=_retrain(taxonomy, method), method=method)
    trained_on = have.get("embedding_model", "all-MiniLM-L6-v2")   # models stored before the setting: MiniLM
    if trained_on != now["embedding_model"]:
        raise ModelLoadError(f"{what} was trained on vectors of the embedding model '{trained_on}' and "
                             f"[embeddings] model is now '{now['embedding_model']}'; vectors of two models never mix",
                             hint=_retrain(taxonomy, method) + f", or set [embeddings] model = \"{trained_on}\"",
                             method=method)
    try:
        return sio.loads(bytes(blob), trusted=sorted(named))
    except Exception as exc:  # noqa: BLE001
        raise ModelLoadError(f"{what} could not be loaded: {type(exc).__name__}: {str(exc)[:200]}",
                             hint=_retrain(taxonomy, method), method=method) from exc
