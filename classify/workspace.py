"""Classification against the store: taxonomies and gold labels in the workspace, training, labelling runs.

Design decision: `label_items` labels only items with no label yet for the taxonomy, one batch per transaction, so a
run killed half-way keeps every finished batch and the next run picks up where it stopped. Inputs are assembled from
the store: texts from `items`, vectors of the configured embedding model from the embeddings cache, metadata columns
from the source's raw table.

A taxonomy can label one text field of a source instead of the item text (``--source S --field weaknesses``): its
texts and their cached vectors come from that column of S's view, and everything stored (gold, models, labels, runs,
evals) is kept under the name ``TAX@COL`` (`field_name`), so the labels of one taxonomy over the joined text and over
each field live side by side. Classifiers themselves see the plain taxonomy (its labels and descriptions).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime

import numpy as np

from earful.classify.base import Classifier, Inputs, Taxonomy, load_taxonomy, make_classifier, taxonomy_from_labels
from earful.errors import InputError, NotFoundError
from earful.store.views import quote_ident


def field_name(taxonomy: str, field=None) -> str:
    """The name `taxonomy`'s labels over the text field `field` are stored under: ``TAX@COL`` (TAX without one)."""
    return taxonomy if field is None else f"{taxonomy}@{field.column}"


def for_field(tax: Taxonomy, field=None) -> Taxonomy:
    """`tax` under its stored name for `field` (`field_name`); the labels are the same. Only for storing labels."""
    return tax if field is None else tax.model_copy(update={"name": field_name(tax.name, field)})


def _has_field(field, alias: str = "i") -> str:
    """SQL condition over items alias `alias`: the item's `field` has a text ('' without a field)."""
    if field is None:
        return ""
    return (f"AND {alias}.item_id IN (SELECT v.item_id FROM {quote_ident(field.source)} v "
            f"WHERE {field.present('v')})")


def save_taxonomy(store, tax: Taxonomy, origin: str) -> None:
    store.con.execute("INSERT OR REPLACE INTO taxonomies (name, spec, origin, created_at) VALUES (?, ?, ?, ?)",
                      [tax.name, tax.model_dump_json(), origin, datetime.now(UTC)])


def _sources_with_column(store, column: str, source: str | None) -> list[tuple[str, str, str]]:
    """[(source, raw_table, real column name)] whose raw table has `column` (case-insensitive)."""
    found = []
    for name in [source] if source else store.sources():
        raw = store.source_info(name)["raw_table"]
        rows = store.rows("SELECT column_name FROM information_schema.columns WHERE table_schema='main' AND "
                          "table_name=? AND lower(column_name)=lower(?)", [raw, column])
        if rows:
            found.append((name, raw, rows[0][0]))
    if not found:
        where = f"source '{source}'" if source else "any source"
        raise InputError(f"no column '{column}' in {where}",
                         hint="check the column name with 'earful sql \"DESCRIBE <source>\"'")
    return found


def import_gold_column(store, taxonomy: str, column: str, source: str | None = None, field=None) -> Taxonomy:
    """Declare `column` as gold labels of `taxonomy` (created from its distinct values when it does not exist); with
    a text `field`, of the items that have a text there, stored under ``TAX@COL``."""
    found = _sources_with_column(store, column, source)
    union = " UNION ALL ".join(
        f"SELECT item_id, trim(CAST({quote_ident(col)} AS VARCHAR)) AS label FROM {quote_ident(raw)} i "
        f"WHERE {quote_ident(col)} IS NOT NULL AND trim(CAST({quote_ident(col)} AS VARCHAR)) <> '' {_has_field(field)}"
        for _, raw, col in found)
    values = [r[0] for r in store.rows(f"SELECT DISTINCT label FROM ({union})")]
    try:
        tax = load_taxonomy(taxonomy, store)
    except NotFoundError:
        tax = taxonomy_from_labels(taxonomy, values, description=f"from gold column {column}")
    unknown = sorted(set(values) - set(tax.label_names))
    if unknown:
        raise InputError(f"column '{column}' has labels not in taxonomy '{taxonomy}': {', '.join(unknown[:10])}",
                         hint="use another --taxonomy name to create a new taxonomy from this column")
    with store.transaction() as con:
        save_taxonomy(store, tax, f"gold column {column}")
        con.execute(f"""INSERT OR REPLACE INTO classify_gold (item_id, taxonomy, label, origin)
                        SELECT item_id, ?, label, ? FROM ({union})""",
                    [field_name(tax.name, field), f"column:{column}"])
    return tax


def gold(store, taxonomy: str) -> list[tuple[str, str]]:
    return store.rows("SELECT item_id, label FROM classify_gold WHERE taxonomy = ? ORDER BY item_id", [taxonomy])


def feature_columns(store, item_ids: list[str], features: list[str]) -> dict[str, list]:
    """Metadata columns for `item_ids` (a canonical items column such as rating, or a raw column), in that order."""
    if not features:
        return {}
    import pyarrow as pa

    store.con.register("_clf_ids", pa.table({"item_id": item_ids, "pos": list(range(len(item_ids)))}))
    try:
        out = {}
        for f in features:
            if f.lower() in ("rating", "created_at", "author"):
                expr = f"i.{f.lower()}"
                joins = ""
            else:
                parts = []
                for name in store.sources():
                    raw = store.source_info(name)["raw_table"]
                    cols = {c.lower(): c for c in (r[0] for r in store.rows(
                        "SELECT column_name FROM information_schema.columns WHERE table_name=?", [raw]))}
                    if f.lower() in cols:
                        parts.append(f"SELECT item_id, CAST({quote_ident(cols[f.lower()])} AS VARCHAR) AS v "
                                     f"FROM {quote_ident(raw)}")
                if not parts:
                    raise InputError(f"no column '{f}' to use as a feature")
                joins = f"LEFT JOIN ({' UNION ALL '.join(parts)}) r ON r.item_id = i.item_id"
                expr = "r.v"
            rows = store.rows(f"SELECT {expr} FROM _clf_ids w JOIN items i ON i.item_id = w.item_id {joins} "
                              "ORDER BY w.pos")
            out[f] = [r[0] for r in rows]
        return out
    finally:
        store.con.unregister("_clf_ids")


def inputs_for(store, item_ids: list[str], features: list[str] | None = None, extra_names: list[str] | None = None,
               embed: bool = True, field=None) -> Inputs:
    """Inputs for these items in this order: texts (of the text `field`, when given), cached vectors of one model
    (embedding the missing; a field's vectors are cached like item texts'), metadata."""
    import pyarrow as pa

    from earful.embeddings import Embedder, embed_field, field_texts, field_vectors, item_vectors

    if field is not None:
        texts = [t or "" for t in field_texts(store, field, list(item_ids))]
    else:
        store.con.register("_clf_ids", pa.table({"item_id": item_ids, "pos": list(range(len(item_ids)))}))
        try:
            texts = [r[0] for r in store.rows("SELECT i.text FROM _clf_ids w JOIN items i ON i.item_id = w.item_id "
                                              "ORDER BY w.pos")]
        finally:
            store.con.unregister("_clf_ids")
    vectors = None
    if embed:
        emb = Embedder()   # one model for the stored vectors and the ones embedded now
        if field is None:
            ids, mat = item_vectors(store, item_ids, model_id=emb.model_id)
        else:
            embed_field(store, field, emb, item_ids=item_ids)
            ids, mat = field_vectors(store, field, item_ids, model_id=emb.model_id)
        pos = {i: k for k, i in enumerate(ids)}
        missing = [k for k, i in enumerate(item_ids) if i not in pos]
        vectors = np.zeros((len(item_ids), mat.shape[1] if len(ids) else emb.dim), dtype=np.float32)
        have = [k for k, i in enumerate(item_ids) if i in pos]
        if have:
            vectors[have] = mat[[pos[item_ids[k]] for k in have]]
        if missing:
            vectors[missing] = emb.encode([texts[k] for k in missing])
    extra = None
    if features:
        from earful.classify.offline import one_hot_extra

        cols = feature_columns(store, item_ids, features)
        extra = one_hot_extra(cols, extra_names)[0]  # with extra_names: the features seen in training
    return Inputs(texts, vectors, extra)


def train(store, taxonomy: str, method: str = "joint", features: list[str] | None = None, field=None) -> dict:
    """Fit `method` on all gold labels of `taxonomy` (over the text `field`: ``TAX@COL``'s, on that field's texts)
    and store it; returns {model_version, n_train, ...}."""
    tax = load_taxonomy(taxonomy, store)
    name = field_name(tax.name, field)
    pairs = gold(store, name)
    if len(pairs) < 10:
        raise InputError(f"taxonomy '{name}' has {len(pairs)} gold label(s); training needs at least 10",
                         hint="declare a gold column with --gold-column COL, or import a reviewed CSV")
    ids, y = [p[0] for p in pairs], [p[1] for p in pairs]
    clf = make_classifier(method, tax)
    extra_names = None
    if features:
        from earful.classify.offline import one_hot_extra

        extra_names = one_hot_extra(feature_columns(store, ids, features))[1]
    if not clf.offline:
        raise InputError(f"'{method}' is not an offline method; train one of the offline methods")
    inputs = inputs_for(store, ids, features, extra_names, embed=clf.uses_vectors, field=field)
    clf.fit(inputs, y)
    version = _save_model(store, name, method, clf, features or [], extra_names, len(ids))
    return {"taxonomy": name, "method": method, "model_version": version, "n_train": len(ids),
            "labels": len(clf.classes_), "features": features or []}


def _save_model(store, name: str, method: str, clf: Classifier, features: list[str], extra_names, n_train: int):
    from earful.classify.models import FORMAT, dump_model, library_versions

    blob = dump_model({"classifier": clf, "features": features, "extra_names": extra_names})
    version = f"{method}-{hashlib.sha256(blob).hexdigest()[:10]}"
    with store.transaction() as con:
        con.execute("INSERT OR REPLACE INTO classify_models (model_version, taxonomy, method, features, n_train, "
                    "trained_at, blob, format, versions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [version, name, method, json.dumps(features), n_train, datetime.now(UTC), blob,
                     FORMAT, json.dumps(library_versions())])
    return version


SELF_TRAIN_POOL = 50_000  # items a no-gold model is fitted on: bounds fit time and memory on big workspaces


def self_train(store, tax: Taxonomy, source: str | None = None, field=None) -> tuple[Classifier, str]:
    """Fit and store the no-gold `selftrained` model of `tax` on up to SELF_TRAIN_POOL items (of `source`, if
    given; a fixed, content-ordered sample when there are more; over the text `field`: its texts, stored under
    ``TAX@COL``), and return (classifier, model_version)."""
    if field is not None:
        ids = [r[0] for r in store.rows(f"SELECT v.item_id FROM {quote_ident(field.source)} v WHERE "
                                        f"{field.present('v')} ORDER BY md5({field.sql('v')}), v.item_id LIMIT ?",
                                        [SELF_TRAIN_POOL])]
    else:
        where, params = ("WHERE source = ?", [source]) if source else ("", [])
        ids = [r[0] for r in store.rows(f"SELECT item_id FROM items {where} ORDER BY content_hash, item_id LIMIT ?",
                                        [*params, SELF_TRAIN_POOL])]
    if not ids:
        raise InputError("there are no items to label", hint="ingest some feedback first: earful ingest FILE")
    clf = make_classifier("selftrained", tax).fit(inputs_for(store, ids, field=field))
    return clf, _save_model(store, field_name(tax.name, field), "selftrained", clf, [], None, clf.n_pseudo_)


def latest_model(store, taxonomy: str):
    """(classifier, model_version, features, extra_names) of the newest trained model, or None.

    The model is loaded by `classify.models.load_model` (skops, allow-listed types only): a pickle from an older
    Earful, or bytes naming any other type, raise ModelLoadError asking for a retrain and are never unpickled."""
    from earful.classify.models import load_model

    rows = store.rows("SELECT model_version, blob, format, versions, method FROM classify_models WHERE taxonomy = ? "
                      "ORDER BY trained_at DESC LIMIT 1", [taxonomy])
    if not rows:
        return None
    version, blob, fmt, versions, method = rows[0]
    data = load_model(blob, fmt, versions, taxonomy=taxonomy, method=method, model_version=version)
    return data["classifier"], version, data["features"], data["extra_names"]


def todo_ids(store, taxonomy: str, source: str | None, limit: int, field=None) -> list[str]:
    where = ("AND i.source = ?" if source else "") + _has_field(field)
    params = [taxonomy] + ([source] if source else []) + [limit]
    return [r[0] for r in store.rows(
        f"SELECT i.item_id FROM items i WHERE NOT EXISTS (SELECT 1 FROM classify_labels l WHERE l.item_id = "
        f"i.item_id AND l.taxonomy = ?) {where} ORDER BY i.item_id LIMIT ?", params)]


def count_todo(store, taxonomy: str, source: str | None, field=None) -> int:
    where = ("AND i.source = ?" if source else "") + _has_field(field)
    return store.scalar(f"SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM classify_labels l WHERE "
                        f"l.item_id = i.item_id AND l.taxonomy = ?) {where}", [taxonomy] + ([source] if source else []))


def write_labels(store, taxonomy: Taxonomy, ids: list[str], proba: np.ndarray, classes: list[str],
                 methods: list[str], version: str | None, reasons: list[str | None] | None = None) -> None:
    """Insert one batch of labels (caller wraps it in a transaction)."""
    import pyarrow as pa

    top = proba.argmax(axis=1)
    labels, multi, probs = [], [], []
    for r, j in enumerate(top):
        labels.append(classes[j])
        probs.append(float(proba[r, j]))
        if taxonomy.multi_label:
            multi.append([classes[k] for k in np.nonzero(proba[r] >= 0.5 * proba[r, j])[0]])
        else:
            multi.append([classes[j]])
    tbl = pa.table({"item_id": ids, "taxonomy": [taxonomy.name] * len(ids), "label": labels,
                    "labels": pa.array(multi, type=pa.list_(pa.string())), "probability": probs, "method": methods,
                    "model_version": [version] * len(ids), "reason": reasons or [None] * len(ids),
                    "labelled_at": [datetime.now(UTC)] * len(ids)})
    store.con.register("_clf_new", tbl)
    try:
        store.con.execute("INSERT OR REPLACE INTO classify_labels SELECT * FROM _clf_new")
    finally:
        store.con.unregister("_clf_new")


def label_items(store, taxonomy: Taxonomy, clf: Classifier, *, method: str, version: str | None,
                source: str | None = None, batch_size: int = 1000, features: list[str] | None = None,
                extra_names: list[str] | None = None, llm_budget: int | None = None, progress=None,
                field=None) -> dict:
    """Label every item with no label for `taxonomy`; one committed transaction per batch (resumable). With a text
    `field` (`taxonomy` then named ``TAX@COL``: `for_field`), from that field's texts; items without one are
    skipped and counted."""
    done = routed = 0
    if llm_budget is not None and hasattr(clf, "budget_left_"):
        clf.budget_left_ = llm_budget
    while True:
        ids = todo_ids(store, taxonomy.name, source, batch_size, field)
        if not ids:
            break
        inputs = inputs_for(store, ids, features, extra_names, embed=getattr(clf, "uses_vectors", True), field=field)
        proba = clf.predict_proba(inputs)
        methods = [method] * len(ids)
        mask = getattr(clf, "routed_", None)
        if mask is not None and len(mask) == len(ids):
            methods = [f"{method}:llm" if m else f"{method}:offline" for m in mask]
            routed += int(mask.sum())
        with store.transaction():
            write_labels(store, taxonomy, ids, proba, clf.classes_, methods, version)
        done += len(ids)
        if progress:
            progress(len(ids))
    routing = getattr(clf, "routing_", None)
    with store.transaction() as con:  # what this run did (and, for a cascade, why it did or did not route)
        con.execute("INSERT INTO classify_runs (run_id, taxonomy, method, model_version, source, labelled, "
                    "sent_to_llm, routing, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [uuid.uuid4().hex[:12], taxonomy.name, method, version, source, done, routed,
                     None if routing is None else json.dumps(routing), datetime.now(UTC)])
    store.refresh_views()
    out = {"labelled": done, "sent_to_llm": routed}
    if routing is not None:
        out["routing"] = routing
    if field is not None:
        out["field"] = field.column
        out["skipped"] = int(store.scalar(f"SELECT count(*) FROM {quote_ident(field.source)} v "
                                          f"WHERE NOT {field.present('v')}") or 0)
    return out
