"""LLM labelling over a lake (`classify run --method llm` on a lake-backed workspace): one stage class, run by the
same runner in this process (``--engine local``) or on a Ray actor pool (``--engine ray``) whose size bounds how
many calls are in flight, each actor rate-limited to ``[llm] requests_per_s``.

Design decision, the cache: Earful's LLM cache *is* the call log (`earful.llm.calls`: a hit is the newest ``ok``
row of ``llm_calls`` with the same content hash of (model, prompt version, redacted messages, schema)). Workers never
open a ``.duckdb`` file, so on a lake the call log is a lake dataset, ``llm_calls/origin=<o>/part-*.parquet``, with
the workspace table's columns: ``earful export`` copies a workspace's cache-able rows to ``origin=workspace`` (a call
paid for in the workspace is not paid again on the lake), and every LLM run appends its rows to ``origin=lake``. Each
stage instance loads the cached replies of its model and prompt version from that dataset into a private in-memory
DuckDB workspace and calls `earful.llm.call_llm_many` against it, so the cache key, the lookup, the retries, the
redaction and the log rows are the same code as in a workspace. A batch's output is its label rows plus the call-log
rows it added (``llm_``-prefixed columns, null in the label rows); the runner writes the two to their datasets
(`earful.lake.runner.Job.side`). Calls made by one actor during a run are not seen by another until the next run.

Privacy: the input query selects only ``item_id``, ``text`` and ``vector`` (never author, rating or raw columns), and
the driver, which knows the secrets (the environment's key variables and the keys Earful resolved), redacts the
texts and the few-shot examples before anything is staged or handed to a worker (`Job.prepare`); `call_llm` redacts
again in the worker with what it knows.
"""
from __future__ import annotations

import numpy as np

from earful.errors import ConfigError, NotFoundError
from earful.lake.layout import Lake, part_value
from earful.lake.stages import label_table, vectors_or_embed
from earful.store.sql import quote_literal

SIDE_PREFIX = "llm_"
CALLS = "llm_calls"
LAKE_ORIGIN = f"{CALLS}/origin=lake"
ACTOR_CPUS = 0.25           # an LLM actor waits on the network: four share a core (the pool's size bounds the calls)
METHOD = "fewshot_llm"         # the method a workspace's `classify run --method llm` writes on its labels
CACHE_COLUMNS = ("cache_key", "model", "prompt_version", "response", "input_tokens", "output_tokens")


def cached_calls(lake_url: str, model: str, prompt_version: str):
    """The cache-able rows (``ok``, not themselves hits) of `model` and `prompt_version` in the lake's call log."""
    import pyarrow.dataset as pads

    lake = Lake(lake_url)
    files = lake.files(CALLS)
    if not files:
        return None
    ds = pads.dataset(files, filesystem=lake.fs, format="parquet")
    f = ((pads.field("model") == model) & (pads.field("prompt_version") == prompt_version)
         & (pads.field("outcome") == "ok") & ~pads.field("cached"))
    return ds.to_table(columns=list(CACHE_COLUMNS), filter=f)


class LLMLabelStage:
    """(item_id, text, [vector]) -> label rows as ``classify_labels`` (method ``fewshot_llm``, as in a workspace) plus
    this batch's call-log rows.

    The constructor builds the chat model from plain ``[llm]`` settings (a worker does not read the driver's
    ``earful.toml``), sets its rate limit, loads the cache and the few-shot examples; ``__call__`` is pure apart from
    the LLM calls.
    """

    output = "labels"

    def __init__(self, *, taxonomy_spec: str, llm: dict, examples: list[tuple[str, str]],
                 example_vectors: list[list[float]] | None, embedding_model: str, model_version: str,
                 lake_url: str | None = None, requests_per_s: float | None = None, threads: int = 1, k: int = 8,
                 prompt: str = "fewshot_v1"):
        from earful.classify.base import Inputs, Taxonomy
        from earful.classify.llm import FewShotLLM
        from earful.config import LLMSettings, Settings
        from earful.embeddings import Embedder, set_default_model
        from earful.llm import get_chat_model
        from earful.store import Store

        set_default_model(embedding_model)
        self.taxonomy = Taxonomy.model_validate_json(taxonomy_spec)
        chat = get_chat_model(Settings(llm=LLMSettings(**llm)))
        if chat is None:
            raise ConfigError("classify run --method llm needs an LLM and [llm] model is 'none'",
                              hint="set EARFUL_LLM=provider:model (e.g. openai:gpt-4o-mini)")
        if requests_per_s:
            from langchain_core.rate_limiters import InMemoryRateLimiter

            rps = float(requests_per_s)
            chat.rate_limiter = InMemoryRateLimiter(requests_per_second=rps, max_bucket_size=1,
                                                    check_every_n_seconds=min(0.05, 0.25 / rps))
        self.store = Store(":memory:")          # a private call log: the cache, plus this actor's new calls
        self.clf = FewShotLLM(self.taxonomy, chat_model=chat, store=self.store, k=k, concurrency=max(1, threads),
                              prompt=prompt)
        self._load_cache(lake_url)
        self.embedder = Embedder(model=embedding_model)   # loads its model only for rows the lake has no vector for
        if examples:
            texts, labels = [t for t, _ in examples], [lab for _, lab in examples]
            vecs = (np.asarray(example_vectors, dtype=np.float32) if example_vectors is not None
                    else self.embedder.encode(texts))
            self.clf.fit(Inputs(texts, vecs), labels)
        self.model_version = model_version
        self._seen = self._last_rowid()

    def _load_cache(self, lake_url: str | None) -> None:
        from earful.llm import model_id

        table = cached_calls(lake_url, model_id(self.clf.chat_model), self.clf.prompt_version) if lake_url else None
        if table is None or table.num_rows == 0:
            return
        self.store.con.register("_cache", table)
        try:
            self.store.con.execute(
                "INSERT INTO llm_calls (call_id, created_at, purpose, prompt_version, model, cache_key, response, "
                "input_tokens, output_tokens, latency_ms, cached, outcome) SELECT 'cache-' || row_number() OVER (), "
                "TIMESTAMPTZ '1970-01-01 00:00:00+00', 'cache', prompt_version, model, cache_key, response, "
                "input_tokens, output_tokens, 0, false, 'ok' FROM _cache")
        finally:
            self.store.con.unregister("_cache")

    def _last_rowid(self) -> int:
        return self.store.rows("SELECT coalesce(max(rowid), -1) FROM llm_calls")[0][0]

    def __call__(self, batch):
        import pyarrow as pa

        from earful.classify.base import Inputs

        texts = batch.column("text").to_pylist()
        vecs = vectors_or_embed(batch, texts, self.embedder)
        proba = self.clf.predict_proba(Inputs(texts, vecs))
        reasons = [getattr(getattr(r, "parsed", None), "reason", None) or None for r in self.clf.last_replies_]
        labels = label_table(batch.column("item_id"), proba, self.clf.classes_, self.taxonomy.multi_label,
                             METHOD, reasons)
        calls = self.store.query(f"SELECT * FROM llm_calls WHERE rowid > {int(self._seen)} ORDER BY rowid")
        self._seen = self._last_rowid()
        calls = calls.rename_columns([SIDE_PREFIX + c for c in calls.column_names])
        return pa.concat_tables([labels, calls], promote_options="default")


# -- the job ------------------------------------------------------------------------------------------------------
def _taxonomy_spec(lake: Lake, name: str) -> tuple[str, str]:
    """(the taxonomy's name, its spec): one the lake's workspace stored, else a built-in or a YAML file, named by the
    file's ``name:`` as in a workspace (labels are stored under that name, never under the file's path)."""
    from earful.classify.base import load_taxonomy
    from earful.lake.runner import _meta

    for row in _meta(lake, "taxonomies"):
        if row["name"] == name:
            return name, row["spec"]
    tax = load_taxonomy(name)    # a built-in taxonomy, or a YAML file
    return tax.name, tax.model_dump_json()


def _examples(lake: Lake, con, taxonomy: str, embedding_model: str) -> tuple[list, list | None]:
    """[(text, label)] of the taxonomy's gold items and their stored vectors (None when any is missing)."""
    import pyarrow as pa

    from earful.lake.runner import _meta

    gold = [(r["item_id"], r["label"]) for r in _meta(lake, "classify_gold") if r["taxonomy"] == taxonomy]
    if not gold:
        return [], None
    con.register("_gold", pa.table({"item_id": [g[0] for g in gold], "label": [g[1] for g in gold]}))
    try:
        rows = con.execute(
            "SELECT i.text, g.label, e.vector FROM _gold g JOIN items i ON i.item_id = g.item_id LEFT JOIN "
            f"(SELECT content_hash, vector FROM embeddings WHERE model_id = {quote_literal(embedding_model)}) e "
            "ON e.content_hash = i.content_hash ORDER BY g.item_id").fetchall()
    finally:
        con.unregister("_gold")
    examples = [(t, lab) for t, lab, _ in rows]
    vectors = [list(map(float, v)) for _, _, v in rows] if all(v is not None for _, _, v in rows) else None
    return examples, vectors


def _spaced(text) -> str:
    """The text as the prompt has it (`earful.classify.llm` joins its words with single spaces), so that a secret
    split by a line break or double space in the data is still found by the driver's redaction."""
    return " ".join(str(text or "").split())


def redactor():
    """A driver-side `Job.prepare`: the batch with its ``text`` column redacted (`earful.llm.redact`)."""
    import pyarrow as pa

    from earful.llm.redact import redact, secret_pattern

    pattern = secret_pattern()

    def prepare(batch):
        texts = [redact(_spaced(t), pattern=pattern) for t in batch.column("text").to_pylist()]
        i = batch.column_names.index("text")
        return batch.set_column(i, "text", pa.array(texts, pa.string()))
    return prepare


def llm_job(lake: Lake, taxonomy: str, settings, *, redo: bool = False, source: str | None = None,
            engine: str = "local", k: int = 8, prompt: str = "fewshot_v1"):
    """The `earful.lake.runner.Job` that labels the items still to do for `taxonomy` with the configured LLM."""
    from earful.classify.llm import load_prompt
    from earful.lake.catalog import connect_lake
    from earful.lake.runner import Job, _default_model, _only, label_versions, labels_todo
    from earful.llm import llm_enabled
    from earful.llm.redact import redact, secret_pattern

    if not llm_enabled(settings):
        raise ConfigError("classify run --method llm needs an LLM and [llm] model is 'none'",
                          hint="set EARFUL_LLM=provider:model (e.g. openai:gpt-4o-mini) or use --method offline")
    from earful.llm import get_chat_model

    get_chat_model(settings)   # a missing key or package is said here, once, not by every worker
    taxonomy, spec = _taxonomy_spec(lake, taxonomy)
    emb_model = _default_model(None)
    version = f"fewshot_llm-{load_prompt(prompt)['version']}"
    con = connect_lake(lake)
    try:
        if not con.execute("SELECT count(*) FROM items").fetchall()[0][0]:
            raise NotFoundError("the lake has no items", hint="ingest first: earful ingest FILE")
        examples, vectors = _examples(lake, con, taxonomy, emb_model)
    finally:
        con.close()
    pattern = secret_pattern(settings)
    examples = [(redact(_spaced(t), pattern=pattern), lab) for t, lab in examples]
    todo = labels_todo(taxonomy, redo)
    # only what the prompt needs: never author, rating or the source's raw columns
    sql = (f"SELECT i.item_id, i.text, e.vector FROM items i LEFT JOIN "
           f"(SELECT content_hash, vector FROM embeddings WHERE model_id = {quote_literal(emb_model)}) e "
           f"ON e.content_hash = i.content_hash WHERE true{_only(source, 'i.')}{todo} ORDER BY i.item_id")
    update = label_versions(taxonomy, version, redo)
    llm = settings.llm
    kwargs = {"taxonomy_spec": spec, "llm": llm.model_dump(), "examples": examples, "example_vectors": vectors,
              "embedding_model": emb_model, "model_version": version, "lake_url": lake.url,
              "requests_per_s": llm.requests_per_s, "k": k, "prompt": prompt,
              # one call in flight per actor on Ray (the pool's size bounds concurrency); [llm] concurrency here
              "threads": 1 if engine == "ray" else max(1, int(llm.concurrency))}
    return Job(LLMLabelStage, kwargs, sql, f"labels/taxonomy={part_value(taxonomy)}/model={part_value(version)}",
               replace=redo, update=update, prepare=redactor(), side=(LAKE_ORIGIN, SIDE_PREFIX), num_cpus=ACTOR_CPUS,
               info={"taxonomy": taxonomy, "model_version": version, "llm": llm.model,
                     "requests_per_s": llm.requests_per_s})
