"""Fitting topics: select items, cluster (on a sample for big corpora), reduce outliers, match ids, label, persist.

Design decision: a fit never invents ids blindly. New centroids are matched one-to-one (Hungarian, cosine >=
`match_threshold`) to every earlier topic, so a topic keeps its id across refits; the lineage table records
matched / split / merged / new / gone, then the stored human overrides are re-applied. Items outside the fitted
sample, and outliers close enough to a topic (BERTopic's ``reduce_outliers(strategy="embeddings")`` rule:
cosine similarity to the topic embedding >= threshold), are assigned to their nearest centroid.

A fit is deterministic for a given workspace and `seed` (default `SEED`; ``earful topics fit --seed N``): items are
read in item-id order, the sample is drawn with the seed from a cap that does not depend on free memory, the backend
is seeded, and ties (representative items) break by item id. Only the run id and timestamps differ between runs.

With ``field`` (``--source S --field weaknesses``) the fit is over that text column of S's view instead of the item
text: items whose field is blank are skipped (and counted), and the field is recorded with the run, so naming,
quotes, edits and later assignments read the same texts. Topics fitted over another field (or over the item text)
are not matched by id: they are about other texts.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import numpy as np

from earful.embeddings import Embedder, TextField, embed_field, embed_items, field_items, text_field
from earful.errors import InputError
from earful.store import quote_ident
from earful.topics import model as M
from earful.topics.base import OUTLIER, Labeler, TopicDraft, get_backend, get_labeler

DEFAULT_THRESHOLD = 0.3      # outlier reassignment: min cosine similarity to the nearest topic centroid
MATCH_THRESHOLD = 0.8        # refit id matching: min cosine similarity between old and new centroids
MIN_ITEMS = 20
SAMPLE_CAP = 50_000          # default sample cap on a machine with >= 10 GB (see default_sample_cap)
SEED = 42                    # default seed: the same workspace and seed give the same topics


def default_sample_cap() -> int:
    """How many items to cluster directly; the rest are assigned by nearest centroid: 50,000, fewer on a machine
    with under ~10 GB of memory (~100 KB per item for UMAP's kNN graph and HDBSCAN; never under 20,000).

    Read from the machine's total memory, never its free memory (as it once was): free memory changes from run to
    run, and with it the sample, so the same workspace and seed gave other topics."""
    try:
        import os

        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        total = 16 << 30
    return int(max(20_000, min(SAMPLE_CAP, total // 2 // 100_000)))


def select_items(store, source: str | None = None, where: str | None = None) -> list[str]:
    if source:
        store.source_info(source)  # NotFoundError with the known names
    if where:
        if source:
            base = f"SELECT item_id FROM {quote_ident(source)} WHERE {where}"
        else:
            base = f"SELECT item_id FROM items i WHERE {where}"
        try:
            return [r[0] for r in store.rows(base + " ORDER BY item_id")]
        except Exception as exc:  # duckdb parser/binder errors
            raise InputError(f"--where is not valid here: {exc}",
                             hint="it is a SQL condition over the source's view columns, e.g. \"rating <= 2\"") from exc
    sql = "SELECT item_id FROM items" + (" WHERE source = ?" if source else "") + " ORDER BY item_id"
    return [r[0] for r in store.rows(sql, [source] if source else [])]


def match_topics(new_C: np.ndarray, prev_ids: list[int], prev_C: np.ndarray, threshold: float):
    """One-to-one matching of new centroids to previous topics. Returns (new index -> prev id or None, events)
    where events are (event, new index or None, prev id or None, similarity)."""
    from scipy.optimize import linear_sum_assignment

    n = len(new_C)
    assigned: dict[int, int | None] = {k: None for k in range(n)}
    events = []
    if len(prev_ids) == 0 or n == 0:
        return assigned, [("new", k, None, None) for k in range(n)]
    S = new_C @ prev_C.T
    rows, cols = linear_sum_assignment(-S)
    taken_prev = set()
    for r, c in zip(rows, cols):
        if S[r, c] >= threshold:
            assigned[int(r)] = prev_ids[c]
            taken_prev.add(c)
            events.append(("matched", int(r), prev_ids[c], float(S[r, c])))
    for k in range(n):
        if assigned[k] is None:
            c = int(S[k].argmax())
            kind = "split" if S[k, c] >= threshold and c in taken_prev else "new"
            events.append((kind, k, prev_ids[c] if kind == "split" else None, float(S[k, c])))
    for c, pid in enumerate(prev_ids):
        if c not in taken_prev:
            r = int(S[:, c].argmax())
            events.append(("merged" if S[r, c] >= threshold else "gone", r if S[r, c] >= threshold else None,
                           pid, float(S[r, c])))
    return assigned, events


def drafts_for(store, topics: list[tuple[int, list[str], list[str], int]], field=M.CURRENT) -> list[TopicDraft]:
    return [TopicDraft(topic_id=t, keywords=kw, examples=M.texts_for(store, reps, field=field), size=size)
            for t, kw, reps, size in topics]


def fit_topics(store, *, source: str | None = None, where: str | None = None, backend: str = "bertopic",
               labeler: Labeler | None = None, threshold: float = DEFAULT_THRESHOLD, sample_cap: int | None = None,
               seed: int = SEED, match_threshold: float = MATCH_THRESHOLD, backend_params: dict | None = None,
               field: str | None = None, progress: bool | Callable[[str], None] = False) -> dict:
    """Fit topics on the selected items and persist them; returns a summary dict (run id, counts, outlier rates).

    `progress`: a callable is told each phase's name as the fit enters it (embedding, loading vectors, sampling,
    clustering and the backend's own phases, assigning the rest, naming, saving); True shows the embedding bar.
    `field`: a text column of `source`'s view to fit on instead of the item text (see the module docstring)."""
    t0 = time.perf_counter()
    phase = progress if callable(progress) else (lambda name: None)
    tf = text_field(store, source, field) if field is not None else None   # first: a bad field changes nothing
    wanted, skipped = _select(store, source, where, tf)
    embedder = Embedder()   # one model for this fit; recorded with the run, so later edits and assignments match it
    previous_model, previous_field = M.fitted_embedding_model(store), M.run_field(store)
    show = _embedding_phases(phase) if callable(progress) else progress
    if tf is None:
        embed_items(store, embedder, source=source, progress=show)   # only texts not embedded yet
    else:
        embed_field(store, tf, embedder, item_ids=wanted, progress=show)
    phase(f"loading vectors ({len(wanted)} items)")
    ids, X = M.vectors_for(store, wanted, model_id=embedder.model_id, field=tf)
    cap = sample_cap or default_sample_cap()
    fit_idx = _sample(len(ids), cap, seed)
    phase(f"sampling: clustering {len(fit_idx)} of {len(ids)} items (cap {cap})")
    phase(f"clustering ({backend})")
    res, raw, labs = _cluster(store, ids, X, fit_idx, backend, seed, backend_params, phase, tf)
    phase(f"assigning the rest ({len(ids) - len(fit_idx)} unsampled items, {int((raw == OUTLIER).sum())} "
          "outliers) to the nearest topic")
    label_idx, methods = _assign(X, fit_idx, raw, labs, threshold)
    C, scores = _centroids_and_scores(X, label_idx, len(labs))
    same_model = previous_model in (None, embedder.model_id) and previous_field == tf   # same vectors' space
    final_id, events = _stable_ids(store, C, same_model, match_threshold)
    topic_of = np.array([final_id[k] if k >= 0 else OUTLIER for k in label_idx], dtype=np.int32)
    topics = _describe(ids, label_idx, scores, labs, final_id, res.keywords)
    labeler = labeler or get_labeler("keywords")
    phase(f"naming {len(topics)} topics ({labeler.name})")
    labels = labeler.label(drafts_for(store, topics, field=tf))
    phase("saving")

    run_id = uuid.uuid4().hex[:12]
    now = M.now()
    raw_rate = float((raw == OUTLIER).mean())
    params = {"threshold": threshold, "sample_cap": cap, "seed": seed, "match_threshold": match_threshold,
              "embedding_model": embedder.model_id, **({"field": tf.column} if tf else {}),
              **{k: v for k, v in res.info.items() if isinstance(v, (int, float, str, dict))}}
    with store.transaction() as con:
        _write_topics(con, topics, labels, labeler.name, C, run_id, now)
        con.execute("DELETE FROM topic_assignments")
        M.write_assignments(con, ids, topic_of, scores, methods.tolist(), run_id)
        _write_lineage(con, events, final_id, run_id, now)
        con.execute("INSERT INTO topic_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, backend, source, where, json.dumps(params, default=str), len(ids), len(fit_idx),
                     len(labs), raw_rate, float((topic_of == OUTLIER).mean()), None, now])
        applied, rate, seconds = _settle(store, con, labeler, run_id, t0)
    store.refresh_views()
    out = {"run_id": run_id, "backend": backend, "items": len(ids), "fitted_on": int(len(fit_idx)),
           "topics": int(store.scalar("SELECT count(*) FROM topics WHERE status = 'active'")),
           "outlier_rate_raw": round(raw_rate, 4), "outlier_rate": round(rate, 4),
           "overrides_applied": applied, "lineage": _event_counts(events),
           "label_fallbacks": getattr(labels, "fallbacks", 0), "seconds": round(seconds, 1)}
    if tf is not None:
        out.update(field=tf.column, source=tf.source, skipped=skipped)
        if skipped:
            out["skipped_note"] = f"{skipped} selected items have no {tf.column} text and are not assigned"
    if previous_model is not None and previous_field != tf:
        out["note"] = (f"the earlier topics were fitted over {_texts(previous_field)} and these over {_texts(tf)}: "
                       "they were not matched, so the earlier topics are gone and their edits do not apply")
    return out


def _texts(field: TextField | None) -> str:
    return "the item texts" if field is None else f"the {field.column} texts of {field.source}"


def _embedding_phases(phase: Callable[[str], None]) -> Callable[[int, int], None]:
    """Embedding progress as phase lines: how many texts are new, then about every tenth of them."""
    shown = [-1]

    def step(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if done == 0:
            phase(f"embedding {total} new texts")
        elif tenth > shown[0]:
            shown[0] = tenth
            phase(f"embedding: {done}/{total} texts")
    return step


def _select(store, source: str | None, where: str | None, field: TextField | None = None) -> tuple[list[str], int]:
    """(The selected items' ids, how many selected items were skipped for a blank `field`); too few to fit topics on
    is an error that says what to do."""
    wanted = select_items(store, source, where)
    skipped = 0
    if field is not None:
        n = len(wanted)
        wanted = field_items(store, field, wanted)
        skipped = n - len(wanted)
    if len(wanted) < MIN_ITEMS:
        what = f" with a {field.column} text" if field is not None else ""
        raise InputError(f"only {len(wanted)} items{what} selected; topics need at least {MIN_ITEMS}",
                         hint="ingest more feedback or loosen --source/--where")
    return wanted, skipped


def _sample(n: int, cap: int, seed: int) -> np.ndarray:
    """Indices of the items the backend clusters: all of them, or a seeded random sample of `cap` in order."""
    rng = np.random.default_rng(seed)
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, cap, replace=False))


def _cluster(store, ids: list[str], X: np.ndarray, fit_idx: np.ndarray, backend: str, seed: int,
             backend_params: dict | None, phase: Callable[[str], None] | None = None,
             field: TextField | None = None):
    """Run the backend on the sample (texts of `field`, else the item texts). Returns (its fit, its label per sampled
    item, its topic labels sorted); a clustering in which every item is an outlier is an error."""
    docs = M.texts_for(store, [ids[i] for i in fit_idx], field=field)
    be = get_backend(backend, seed=seed, **(backend_params or {}))
    be.progress = phase
    res = be.fit(docs, X[fit_idx])
    raw = np.asarray(res.labels, dtype=int)
    labs = sorted(int(t) for t in set(raw.tolist()) if t != OUTLIER)
    if not labs:
        raise InputError("the clustering found no topics (every item is an outlier)",
                         hint="select more items, or use --min-cluster-size smaller")
    return res, raw, labs


def _assign(X: np.ndarray, fit_idx: np.ndarray, raw: np.ndarray, labs: list[int], threshold: float):
    """Every item's topic index (position in `labs`; -1: outlier) and how it got it: ``fit`` (clustered),
    ``transform`` (outside the sample, nearest sample centroid), ``reduced`` (an outlier close enough to a centroid)
    or ``outlier``. Items outside the sample and outliers go to the nearest centroid at cosine >= `threshold`."""
    n = len(X)
    C = M.group_means(X[fit_idx], raw, labs)
    pos = {t: k for k, t in enumerate(labs)}
    label_idx = np.full(n, -1, dtype=int)
    label_idx[fit_idx] = [pos.get(int(t), -1) for t in raw]
    methods = np.full(n, "transform", dtype=object)
    methods[fit_idx] = np.where(raw == OUTLIER, "outlier", "fit")
    todo = np.nonzero(label_idx == -1)[0]
    near, _ = M.nearest(X[todo], C, threshold)
    label_idx[todo] = near
    reduced = (methods[todo] == "outlier") & (near >= 0)
    methods[todo[reduced]] = "reduced"
    return label_idx, methods


def _centroids_and_scores(X: np.ndarray, label_idx: np.ndarray, n_topics: int):
    """Final centroids from all members (not only the sample), and each item's cosine to its topic's centroid."""
    C = M.group_means(X, label_idx, list(range(n_topics)))
    scores = np.zeros(len(X), dtype=np.float32)
    inl = label_idx >= 0
    scores[inl] = np.einsum("ij,ij->i", X[inl], C[label_idx[inl]])
    return C, scores


def _stable_ids(store, C: np.ndarray, same_model: bool, match_threshold: float):
    """Topic index -> stable topic id: matched to an earlier topic (see `match_topics`) or a fresh id. Returns
    (that map, the lineage events). Earlier topics split by a stored override, and every earlier topic when it was
    fitted in another embedding model, are not matched."""
    prev = store.query("SELECT topic_id, centroid FROM topics WHERE centroid IS NOT NULL AND topic_id NOT IN "
                       "(SELECT unnest(result_ids) FROM topic_overrides WHERE op = 'split' AND result_ids IS NOT NULL)"
                       " ORDER BY topic_id")
    prev_ids = prev.column("topic_id").to_pylist() if same_model else []
    prev_C = (prev.column("centroid").combine_chunks().flatten().to_numpy(zero_copy_only=False)
              .reshape(len(prev_ids), -1).astype(np.float32) if prev_ids else np.zeros((0, C.shape[1]), np.float32))
    assigned, events = match_topics(C, prev_ids, prev_C, match_threshold)
    next_id = int(store.scalar("SELECT coalesce(max(topic_id), -1) FROM topics")) + 1
    final_id = {}
    for k in range(len(C)):
        if assigned[k] is None:
            final_id[k], next_id = next_id, next_id + 1
        else:
            final_id[k] = assigned[k]
    return final_id, events


def _describe(ids: list[str], label_idx: np.ndarray, scores: np.ndarray, labs: list[int], final_id: dict,
              keywords: dict) -> list[tuple[int, list[str], list[str], int]]:
    """Each topic as (stable id, the backend's keywords, its best-scoring member ids, size), for the labeler."""
    sizes = np.bincount(label_idx[label_idx >= 0], minlength=len(labs))
    topics = []
    for k, lab in enumerate(labs):
        members = np.nonzero(label_idx == k)[0]
        reps = members[np.argsort(-scores[members], kind="stable")][:M.N_REPRESENTATIVE]
        topics.append((final_id[k], keywords.get(lab, []), [ids[i] for i in reps], int(sizes[k])))
    return topics


def _write_topics(con, topics: list, labels: list, label_source: str, C: np.ndarray, run_id: str, now) -> None:
    """Mark every earlier topic gone, then upsert this fit's topics as active (a matched id keeps its row)."""
    con.execute("UPDATE topics SET status = 'gone', size = 0, updated_at = ? WHERE status <> 'gone'", [now])
    for k, ((tid, kw, reps, size), (name, desc)) in enumerate(zip(topics, labels)):
        con.execute("""INSERT INTO topics (topic_id, name, description, label_source, keywords, representative_ids,
                           size, centroid, status, parent_id, run_id, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?::FLOAT[], 'active', NULL, ?, ?, ?)
                       ON CONFLICT (topic_id) DO UPDATE SET name = excluded.name, description =
                           excluded.description, label_source = excluded.label_source, keywords = excluded.keywords,
                           representative_ids = excluded.representative_ids, size = excluded.size,
                           centroid = excluded.centroid, status = 'active', parent_id = NULL,
                           run_id = excluded.run_id, updated_at = excluded.updated_at""",
                    [tid, name, desc, label_source, kw, reps, size, C[k].tolist(), run_id, now, now])


def _write_lineage(con, events: list, final_id: dict, run_id: str, now) -> None:
    """One lineage row per matching event, with the new topic's stable id."""
    con.executemany("INSERT INTO topic_lineage VALUES (?, ?, ?, ?, ?, ?)",
                    [[run_id, ev, final_id[k] if k is not None else None, pid, sim, now]
                     for ev, k, pid, sim in events])


def _settle(store, con, labeler: Labeler, run_id: str, t0: float) -> tuple[int, float, float]:
    """After the fit is written: replay the stored human overrides, recount sizes, rebuild the hierarchy, and record
    the final outlier rate and the fit's seconds. Returns (overrides applied, outlier rate, seconds)."""
    from earful.topics.edits import apply_overrides

    applied = apply_overrides(store, labeler=labeler)
    M.update_sizes(store)
    M.build_hierarchy(store)
    rate = M.outlier_rate(store)
    seconds = time.perf_counter() - t0
    con.execute("UPDATE topic_runs SET fit_seconds = ?, outlier_rate = ? WHERE run_id = ?", [seconds, rate, run_id])
    return applied, rate, seconds


def _event_counts(events: list) -> dict[str, int]:
    """How many lineage events of each kind (matched, split, merged, new, gone)."""
    counts: dict[str, int] = {}
    for ev, *_ in events:
        counts[ev] = counts.get(ev, 0) + 1
    return counts
