"""Aspect topics: topics over mentions (not items), named by what users talk about, with polarity as a column.

Design decision: evaluative and generic words ("great", "love", "ok", "works", "app", "game"; the data file
`aspect_stopwords.txt`) are taken out twice. A mention made of nothing else ("Love it!!!", "Great game") is not
clustered at all: it gets aspect -2, "general". And the words are kept out of every aspect's keywords (the
vectorizer BERTopic's c-TF-IDF and KeyBERT work from) and so out of its name. So praise cannot become a topic of its
own, and "good game, but ridiculously hard" gives one general mention and one about difficulty. Everything else
follows `topics.fit`: the same backends, outlier reassignment to the nearest centroid, ids kept across refits by
centroid matching (`match_topics`), lineage in ``aspect_lineage``, and human edits (rename, merge, delete) recorded
in ``aspect_overrides`` and replayed after every refit. Item-level aspects are derived from mentions (view
``item_aspects``: an item has every aspect one of its mentions has).
"""
from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from earful.errors import InputError, NotFoundError
from earful.topics import model as M
from earful.topics.base import OUTLIER, BackendFit, TopicBackend

GENERAL = -2              # a mention with nothing but evaluative or generic words
_FOLDED = -3              # (inside a fit) a mention of an aspect folded into general as praise
STOPWORDS_FILE = Path(__file__).parent / "aspect_stopwords.txt"
MIN_MENTIONS = 20
_TOKEN = re.compile(r"[a-z][a-z']*[a-z]")


@lru_cache(maxsize=1)
def aspect_stopwords() -> frozenset[str]:
    """The evaluative and generic words of the data file."""
    words = set()
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        words.update(line.split("#", 1)[0].lower().split())
    return frozenset(words)


def _all_stopwords() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from earful.topics.keywords import CONTRACTIONS

    return frozenset(ENGLISH_STOP_WORDS | CONTRACTIONS | aspect_stopwords())


def content_words(text: str) -> list[str]:
    """The words of a mention that can name an aspect (not English stop words, not evaluative or generic)."""
    from earful.topics.keywords import normalise

    stop = _all_stopwords()
    return [w for w in _TOKEN.findall(normalise(text)) if w not in stop]


def is_general(text: str) -> bool:
    return not content_words(text)


def aspect_vectorizer(min_df: int = 1):
    """`topics.keywords.count_vectorizer` with the evaluative and generic words added to its stop words."""
    from earful.topics.keywords import count_vectorizer

    vec = count_vectorizer(min_df=min_df)
    vec.set_params(stop_words=sorted(_all_stopwords()))
    return vec


_FUNCTION = re.compile(r"^(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|should|wo|ca)(?:n't|nt)?$"
                       r"|^(?:don|doesn|didn|isn|aren|wasn|won|can|couldn|wouldn|shouldn)'?t$|^cannot$")


def clean_keywords(keywords: list[str]) -> list[str]:
    """Keyphrases that can be part of an aspect's name: no evaluative or generic word, no word repeated even as
    another form ("does does", "crashes crash"), and a negation or auxiliary ("doesn't", "can") only in front of
    another word ("can't uninstall", never "files doesn't" or "doesn't" alone)."""
    stop = aspect_stopwords()
    out = []
    for k in keywords:
        words = (k or "").lower().split()
        stems = {w[:4] for w in words}
        if not words or set(words) & stop or len(stems) < len(words) or _FUNCTION.match(words[-1]):
            continue
        out.append(k)
    return out


def aspect_name(keywords: list[str], max_words: int = 4) -> str:
    """A short noun-phrase-like name: the first two-word keyphrase among the top three (if any) leads, then distinct
    keyphrases up to `max_words` words ("Battery drain, charging"); "Miscellaneous" when nothing is left."""
    kws = clean_keywords(keywords)
    if not kws:
        return "Miscellaneous"
    lead = next((k for k in kws[:3] if len(k.split()) == 2), kws[0])
    chosen, words = [lead], len(lead.split())
    seen = {w[:4] for w in lead.split()}
    for k in kws:
        stems = {w[:4] for w in k.split()}
        if k == lead or stems & seen or words + len(k.split()) > max_words:
            continue
        chosen.append(k)
        seen |= stems
        words += len(k.split())
        if len(chosen) == 2:
            break
    name = ", ".join(chosen)
    return name[0].upper() + name[1:]


class AspectBERTopic(TopicBackend):
    """BERTopic as in `bertopic_backend`, with `aspect_vectorizer` so keywords (c-TF-IDF, KeyBERT) never hold an
    evaluative or generic word."""

    name = "bertopic-aspects"
    conformance = {"params": {}, "slow": True}

    def fit(self, docs, vectors):
        from earful.topics.bertopic_backend import build_bertopic

        model, p = build_bertopic(len(docs), self.seed, **self.params)
        model.vectorizer_model = aspect_vectorizer(min_df=p["min_df"])
        labels, _ = model.fit_transform(docs, embeddings=np.asarray(vectors, dtype=np.float32))
        keywords = {int(t): [w for w, _ in words if w] for t, words in model.get_topics().items() if t != -1}
        return BackendFit(labels=np.asarray(labels, dtype=int), keywords=keywords, info={"params": p})


def aspect_keywords(docs: list[str], labels, top_n: int = 10) -> dict[int, list[str]]:
    """c-TF-IDF keywords per label (BERTopic's recipe, as `topics.keywords.ctfidf_keywords`) with
    `aspect_vectorizer`: for backends that give no keywords or only generic ones."""
    labels = np.asarray(labels)
    topics = sorted(int(t) for t in set(labels.tolist()) if t != OUTLIER)
    joined = [" ".join(d for d, lab in zip(docs, labels) if lab == t) for t in topics]
    try:
        vec = aspect_vectorizer()
        counts = vec.fit_transform(joined).toarray().astype(float)
    except ValueError:  # nothing but stop words
        return {t: [] for t in topics}
    words = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + (counts.sum() / max(len(topics), 1)) / np.maximum(counts.sum(axis=0), 1))
    scores = tf * idf
    return {t: [str(words[j]) for j in np.argsort(-scores[row])[:top_n] if scores[row, j] > 0]
            for row, t in enumerate(topics)}


# -- fitting ----------------------------------------------------------------------------------------------------------
FIT_MIN = 5000            # below this many mentions to cluster, every one is embedded and clustered


def fit_cap(store, source: str | None = None) -> int:
    """How many mentions to embed and cluster: about as many as there are items (at least `FIT_MIN`, at most
    `topics.fit.default_sample_cap`), so an aspect fit costs about what a topics fit costs; the rest are assigned
    to an aspect without a vector (`topics.aspect_assign.text_assign`)."""
    from earful.topics.fit import default_sample_cap

    n_items = store.scalar("SELECT count(*) FROM items" + (" WHERE source = ?" if source else ""),
                           [source] if source else [])
    return int(min(default_sample_cap(), max(FIT_MIN, int(n_items or 0))))


def fit_aspects(store, *, source: str | None = None, backend: str = "bertopic-aspects", seed: int = 42,
                threshold: float = 0.3, match_threshold: float = 0.8, sample_cap: int | None = None,
                embed_all: bool = False, fold_generic: bool = True, backend_params: dict | None = None,
                progress: bool = False) -> dict:
    """Fit aspect topics over the mentions (of `source`) and persist them; returns a summary (counts, rates, times).

    Fit on samples, apply at scale: a seeded random sample of `sample_cap` (default `fit_cap`) mentions that say
    what they are about is embedded and clustered; other mentions with a vector (one-sentence items, earlier runs)
    go to the nearest aspect centroid, and the rest to the aspect a text classifier trained on the embedded ones
    gives (``aspect_method`` 'text'), so most mention texts are never embedded. `embed_all` embeds every mention
    and clusters up to `sample_cap` of them (the slower, vectors-only way). With `fold_generic`, an aspect whose
    centroid is as close to general mentions as `aspect_assign.generic_aspects` says is praise, not an aspect: its
    mentions become general (``aspect_method`` 'generic')."""
    from earful.embeddings import Embedder
    from earful.topics.aspect_assign import generic_aspects, text_assign
    from earful.topics.base import get_backend
    from earful.topics.fit import _assign, _centroids_and_scores, _sample
    from earful.topics.mentions import _log_run, embed_mentions, require_mentions
    from earful.topics.polarity import score_polarity

    t0 = time.perf_counter()
    require_mentions(store, source)
    if store.scalar("SELECT count(*) FROM mentions WHERE polarity IS NULL"):
        score_polarity(store, source=source)
    embedder = Embedder()
    where, params = ("i.source = ?", [source]) if source else ("", [])
    rows = store.rows("SELECT m.mention_id, m.text FROM mentions m JOIN items i USING (item_id) "
                      f"{'WHERE ' + where if where else ''} ORDER BY m.mention_id", params)
    ids, texts = [r[0] for r in rows], [r[1] for r in rows]
    general = np.array([is_general(t) for t in texts], dtype=bool)
    keep = np.nonzero(~general)[0]
    if len(keep) < MIN_MENTIONS:
        raise InputError(f"only {len(keep)} mentions say what they are about; aspects need at least {MIN_MENTIONS}",
                         hint="ingest more feedback or drop --source")
    cap = sample_cap or fit_cap(store, source)
    sample = _sample(len(keep), cap, seed)                     # positions in keep
    t_embed = time.perf_counter()
    wanted = None if embed_all or len(sample) == len(keep) else [ids[keep[j]] for j in sample]
    emb = embed_mentions(store, embedder, progress=progress, mention_ids=wanted)
    t_embed = time.perf_counter() - t_embed
    known, Xn = _vectors_of(store, embedder.model_id, where, params, [ids[j] for j in keep])
    rest = np.setdiff1d(np.arange(len(keep)), known)
    fit_pos = np.searchsorted(known, sample)                   # the sample, as positions in `known`
    docs = [texts[i] for i in keep]
    res = get_backend(backend, seed=seed, **(backend_params or {})).fit([docs[j] for j in sample], Xn[fit_pos])
    raw = np.asarray(res.labels, dtype=int)
    labs = sorted(int(t) for t in set(raw.tolist()) if t != OUTLIER)
    if not labs:
        raise InputError("the clustering found no aspects (every mention is an outlier)",
                         hint="fit on more feedback, or pass a smaller min_cluster_size in backend_params")
    known_idx, known_how = _assign(Xn, fit_pos, raw, labs, threshold)
    C, known_scores = _centroids_and_scores(Xn, known_idx, len(labs))
    label_idx = np.full(len(keep), OUTLIER, dtype=int)
    label_idx[known] = known_idx
    scores = np.full(len(keep), -1.0)                          # cosine to the centroid; -1: no vector
    scores[known] = known_scores
    stored = scores.copy()
    methods = np.full(len(keep), "text", dtype=object)
    methods[known] = known_how
    by_text = (text_assign([docs[j] for j in known], known_idx, [docs[j] for j in rest], seed=seed)
               if len(rest) else None)
    if len(rest) and by_text is None:                          # nothing to learn from: embed those too
        return fit_aspects(store, source=source, backend=backend, seed=seed, threshold=threshold,
                           match_threshold=match_threshold, sample_cap=sample_cap, embed_all=True,
                           backend_params=backend_params, progress=progress)
    if by_text is not None:
        label_idx[rest], stored[rest] = by_text
    generic = (generic_aspects(store, embedder, C, [ids[i] for i in np.nonzero(general)[0]], seed)
               if fold_generic else [])
    if generic:                                                # praise clusters: their mentions are general
        kept = [k for k in range(len(labs)) if k not in generic]
        remap = np.full(len(labs), _FOLDED, dtype=int)
        remap[kept] = np.arange(len(kept))
        label_idx = np.where(label_idx >= 0, remap[np.maximum(label_idx, 0)], label_idx)
        methods[label_idx == _FOLDED] = "generic"
        labs, C = [labs[k] for k in kept], C[kept]
    final_id, events = _stable_ids(store, C, embedder.model_id, match_threshold)
    own = aspect_keywords(docs, np.where(label_idx == _FOLDED, OUTLIER, label_idx))
    kw = {k: (clean_keywords(res.keywords.get(lab, [])) or own.get(k, [])) for k, lab in enumerate(labs)}

    aspect_of = np.full(len(ids), GENERAL, dtype=np.int32)
    aspect_of[keep] = [final_id[k] if k >= 0 else GENERAL if k == _FOLDED else OUTLIER for k in label_idx]
    score_all = np.zeros(len(ids))
    score_all[keep] = stored
    how = np.full(len(ids), "general", dtype=object)
    how[keep] = methods
    now = M.now()
    params_doc = {"backend": backend, "seed": seed, "threshold": threshold, "match_threshold": match_threshold,
                  "embedding_model": embedder.model_id, "mentions": len(ids), "general": int(general.sum()),
                  "fitted_on": int(len(sample)), "with_vector": int(len(known)), "by_text": int(len(rest)),
                  "embedded_now": emb["embedded"], "generic_folded": len(generic),
                  "raw_outlier_rate": float((raw == OUTLIER).mean()),
                  "lineage": _event_counts(events)}
    with store.transaction() as con:
        run_id = _log_run(store, "aspects", source, params_doc, len(ids), 0.0)
        _write_aspects(con, labs, label_idx, final_id, kw, C, keep, ids, scores, run_id, now)
        _write_mention_aspects(con, ids, aspect_of, score_all, how.tolist())
        con.executemany("INSERT INTO aspect_lineage VALUES (?, ?, ?, ?, ?, ?)",
                        [[run_id, ev, final_id[k] if k is not None else None, pid, sim, now]
                         for ev, k, pid, sim in events])
        applied = apply_overrides(store)
        update_sizes(store)
        seconds = time.perf_counter() - t0
        con.execute("UPDATE mention_runs SET seconds = ? WHERE run_id = ?", [seconds, run_id])
    n_active = int(store.scalar("SELECT count(*) FROM aspects WHERE status = 'active'"))
    outliers = int((aspect_of == OUTLIER).sum())
    return {"run_id": run_id, "mentions": len(ids), "general": int((aspect_of == GENERAL).sum()),
            "clustered": int((aspect_of != GENERAL).sum()), "generic_folded": len(generic),
            "fitted_on": int(len(sample)), "embedded": emb["embedded"], "by_text": int(len(rest)),
            "aspects": n_active, "outlier_rate_raw": round(params_doc["raw_outlier_rate"], 4),
            "outlier_rate": round(outliers / max(len(keep), 1), 4), "overrides_applied": applied,
            "lineage": params_doc["lineage"], "embed_seconds": round(t_embed, 1), "seconds": round(seconds, 1)}


def _vectors_of(store, model_id: str, where: str, params: list, wanted: list[str]):
    """(positions in `wanted` (mention ids, sorted) that have a vector, their vectors in that order)."""
    from earful.topics.mentions import mention_vectors

    vid, _, V = mention_vectors(store, model_id, where, params)
    pos = {m: k for k, m in enumerate(wanted)}
    at = np.array([pos.get(m, -1) for m in vid], dtype=int)
    ok = at >= 0
    order = np.argsort(at[ok], kind="stable")
    return at[ok][order], (V[ok][order] if len(V) else np.zeros((0, 0), np.float32))


def _stable_ids(store, C: np.ndarray, model_id: str, match_threshold: float):
    """Aspect index -> stable aspect id (matched to an earlier aspect of the same embedding model, else new)."""
    from earful.topics.fit import match_topics

    last = store.rows("SELECT params FROM mention_runs WHERE stage = 'aspects' ORDER BY created_at DESC LIMIT 1")
    same_model = not last or json.loads(last[0][0] or "{}").get("embedding_model") == model_id
    prev = store.query("SELECT aspect_id, centroid FROM aspects WHERE centroid IS NOT NULL ORDER BY aspect_id")
    prev_ids = prev.column("aspect_id").to_pylist() if same_model else []
    prev_C = (prev.column("centroid").combine_chunks().flatten().to_numpy(zero_copy_only=False)
              .reshape(len(prev_ids), -1).astype(np.float32) if prev_ids else np.zeros((0, C.shape[1]), np.float32))
    assigned, events = match_topics(C, prev_ids, prev_C, match_threshold)
    next_id = int(store.scalar("SELECT coalesce(max(aspect_id), -1) FROM aspects")) + 1
    final = {}
    for k in range(len(C)):
        if assigned[k] is None:
            final[k], next_id = next_id, next_id + 1
        else:
            final[k] = assigned[k]
    return final, events


def _write_aspects(con, labs, label_idx, final_id, kw, C, keep, ids, scores, run_id, now) -> None:
    con.execute("UPDATE aspects SET status = 'gone', size = 0, updated_at = ? WHERE status <> 'gone'", [now])
    used: set[str] = set()
    for k in range(len(labs)):
        members = np.nonzero(label_idx == k)[0]
        reps = [ids[keep[i]] for i in members[np.argsort(-scores[members])][:M.N_REPRESENTATIVE]]
        name = aspect_name(kw[k])
        if name.lower() in used:
            name = f"{name} #{final_id[k]}"
        used.add(name.lower())
        desc = f"{len(members)} mentions about " + ", ".join(kw[k][:4]) if kw[k] else f"{len(members)} mentions"
        con.execute("""INSERT INTO aspects (aspect_id, name, description, label_source, keywords, representative_ids,
                           size, centroid, status, parent_id, run_id, created_at, updated_at)
                       VALUES (?, ?, ?, 'keywords', ?, ?, ?, ?::FLOAT[], 'active', NULL, ?, ?, ?)
                       ON CONFLICT (aspect_id) DO UPDATE SET name = excluded.name, description = excluded.description,
                           label_source = excluded.label_source, keywords = excluded.keywords,
                           representative_ids = excluded.representative_ids, size = excluded.size,
                           centroid = excluded.centroid, status = 'active', parent_id = NULL,
                           run_id = excluded.run_id, updated_at = excluded.updated_at""",
                    [final_id[k], name, desc, kw[k], reps, len(members), C[k].tolist(), run_id, now, now])


def _write_mention_aspects(con, ids, aspect_of, score, how) -> None:
    import pyarrow as pa

    con.register("_asp", pa.table({"mention_id": pa.array(ids, pa.string()),
                                   "aspect_id": pa.array(np.asarray(aspect_of, dtype=np.int32)),
                                   "score": pa.array(np.asarray(score, dtype=np.float64)),
                                   "how": pa.array(how, pa.string())}))
    con.execute("UPDATE mentions SET aspect_id = a.aspect_id, aspect_score = a.score, aspect_method = a.how "
                "FROM _asp a WHERE mentions.mention_id = a.mention_id")
    con.unregister("_asp")


def _event_counts(events: list) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ev, *_ in events:
        counts[ev] = counts.get(ev, 0) + 1
    return counts


def update_sizes(store) -> None:
    store.con.execute("""UPDATE aspects SET size = coalesce(
        (SELECT count(*) FROM mentions m WHERE m.aspect_id = aspects.aspect_id), 0)""")


# -- new mentions and edits -------------------------------------------------------------------------------------------
def assign_new_mentions(store, threshold: float | None = None) -> dict:
    """Give mentions without an aspect (new items, segmented after the fit) their nearest aspect, or general/-1."""
    from earful.embeddings import Embedder
    from earful.topics.mentions import embed_mentions, mention_vectors

    last = store.rows("SELECT params FROM mention_runs WHERE stage = 'aspects' ORDER BY created_at DESC LIMIT 1")
    if not last:
        return {"assigned": 0, "reason": "no aspects fitted yet"}
    p = json.loads(last[0][0] or "{}")
    threshold = p.get("threshold", 0.3) if threshold is None else threshold
    embedder = Embedder(model=p.get("embedding_model"))
    todo = store.rows("SELECT mention_id, text FROM mentions WHERE aspect_id IS NULL ORDER BY mention_id")
    if not todo:
        return {"assigned": 0, "general": 0, "outliers": 0}
    gen = [m for m, t in todo if is_general(t)]          # general mentions need no vector
    embed_mentions(store, embedder, mention_ids=[m for m, t in todo if not is_general(t)])
    ids, texts, X = mention_vectors(store, embedder.model_id, "m.aspect_id IS NULL")
    keep = [k for k, t in enumerate(texts) if not is_general(t)]
    ids, X = [ids[k] for k in keep], X[keep] if len(keep) else X
    tbl = store.query("SELECT aspect_id, centroid FROM aspects WHERE status = 'active' ORDER BY aspect_id")
    aids = tbl.column("aspect_id").to_pylist()
    C = tbl.column("centroid").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(len(aids), -1)
    idx, sim = M.nearest(X, C.astype(np.float32), threshold) if ids else (np.zeros(0, int), np.zeros(0))
    aspect_of = np.concatenate([np.full(len(gen), GENERAL), [aids[k] if k >= 0 else OUTLIER for k in idx]])
    how = ["general"] * len(gen) + ["assigned"] * len(ids)
    with store.transaction() as con:
        _write_mention_aspects(con, gen + ids, aspect_of.astype(np.int32),
                               np.concatenate([np.zeros(len(gen)), sim]), how)
        update_sizes(store)
    return {"assigned": int((aspect_of >= 0).sum()), "general": len(gen),
            "outliers": int((aspect_of == OUTLIER).sum())}


def _active(store, aid: int) -> bool:
    return store.scalar("SELECT status FROM aspects WHERE aspect_id = ?", [aid]) == "active"


def apply_override(store, ov: dict) -> bool:
    """Apply one stored aspect edit; False when its aspects are not active any more."""
    op, ids, value = ov["op"], list(ov["aspect_ids"]), ov["value"]
    if not _active(store, ids[0]):
        return False
    if op == "rename":
        store.con.execute("UPDATE aspects SET name = ?, label_source = 'user' WHERE aspect_id = ?", [value, ids[0]])
    elif op == "delete":
        store.con.execute("UPDATE mentions SET aspect_id = -1, aspect_method = 'deleted' WHERE aspect_id = ?", [ids[0]])
        store.con.execute("UPDATE aspects SET status = 'deleted', size = 0 WHERE aspect_id = ?", [ids[0]])
    elif op == "merge":
        others = [a for a in ids[1:] if _active(store, a)]
        if not others:
            return False
        for a in others:
            store.con.execute("UPDATE mentions SET aspect_id = ?, aspect_method = 'merged' WHERE aspect_id = ?",
                              [ids[0], a])
            store.con.execute("UPDATE aspects SET status = 'merged', parent_id = ?, size = 0 WHERE aspect_id = ?",
                              [ids[0], a])
    else:
        raise InputError(f"unknown aspect edit '{op}'", hint="rename, merge or delete")
    run = store.scalar("SELECT run_id FROM aspects WHERE aspect_id = ?", [ids[0]])
    store.con.execute("INSERT INTO aspect_lineage VALUES (?, ?, ?, ?, NULL, ?)",
                      [run, {"rename": "renamed", "delete": "deleted", "merge": "merged"}[op], ids[0],
                       ids[1] if op == "merge" else None, M.now()])
    return True


def apply_overrides(store) -> int:
    rows = store.query("SELECT * FROM aspect_overrides ORDER BY seq").to_pylist()
    return sum(1 for ov in rows if apply_override(store, ov))


def edit_aspect(store, op: str, aspect_ids: list[int], value: str | None = None) -> dict:
    """Record and apply one edit (rename, merge INTO OTHER..., delete); it is replayed after every refit."""
    if not aspect_ids:
        raise InputError(f"{op} needs an aspect id")
    for a in aspect_ids:
        if not _active(store, int(a)):
            raise NotFoundError(f"no active aspect {a}", hint="see 'earful topics aspects list'")
    if op == "rename" and not (value or "").strip():
        raise InputError("rename needs a non-empty name")
    if op == "merge" and len(set(aspect_ids)) < 2:
        raise InputError("merge needs at least two different aspect ids")
    with store.transaction():
        seq = int(store.scalar("SELECT coalesce(max(seq), 0) + 1 FROM aspect_overrides"))
        ov = {"seq": seq, "op": op, "aspect_ids": [int(a) for a in aspect_ids],
              "value": value.strip() if value else value}
        store.con.execute("INSERT INTO aspect_overrides VALUES (?, ?, ?, ?, ?)",
                          [seq, op, ov["aspect_ids"], ov["value"], M.now()])
        apply_override(store, ov)
        update_sizes(store)
    return ov


# -- reading ----------------------------------------------------------------------------------------------------------
def aspect_list(store, n_examples: int = 2) -> list[dict]:
    """Active aspects by size: id, name, mentions, items, negative and positive counts and shares, examples."""
    rows = store.rows("""
        SELECT a.aspect_id, a.name, count(m.mention_id), count(DISTINCT m.item_id),
               count(*) FILTER (WHERE m.polarity = 'negative'), count(*) FILTER (WHERE m.polarity = 'positive'),
               a.representative_ids, a.keywords
        FROM aspects a LEFT JOIN mentions m ON m.aspect_id = a.aspect_id
        WHERE a.status = 'active' GROUP BY ALL ORDER BY count(m.mention_id) DESC, a.aspect_id""")
    texts = dict(store.rows("SELECT mention_id, text FROM mentions WHERE mention_id IN (SELECT unnest("
                            "representative_ids) FROM aspects WHERE status = 'active')"))
    return [{"id": r[0], "name": r[1], "mentions": r[2], "items": r[3], "negative": r[4], "positive": r[5],
             "negative_share": round(r[4] / r[2], 3) if r[2] else 0.0, "keywords": list(r[7] or [])[:6],
             "examples": [{"mention_id": m, "text": texts.get(m, "")} for m in list(r[6] or [])[:n_examples]]}
            for r in rows]


def item_primary_aspects(store) -> dict[str, int]:
    """item_id -> one aspect per item, for comparisons with single-label gold: the aspect of its most negative
    mention when it has a negative mention in a real aspect (what it complains about), else the aspect of most of its
    mentions (ties: the earliest); a real aspect before general (-2) and outlier (-1). Measured on URR's gold: NMI
    +0.005 over the majority rule alone, in each of three clusterings (bench/topics.py)."""
    rows = store.rows("""
        SELECT item_id, aspect_id FROM (
            SELECT item_id, aspect_id, row_number() OVER (PARTITION BY item_id ORDER BY (aspect_id >= 0) DESC,
                       min(polarity_score) FILTER (WHERE polarity = 'negative') ASC NULLS LAST, count(*) DESC,
                       min(seq)) AS rk
            FROM mentions WHERE aspect_id IS NOT NULL GROUP BY item_id, aspect_id) WHERE rk = 1""")
    return dict(rows)


def is_generic_name(name: str) -> bool:
    """Whether a topic name says nothing about what (only evaluative, generic or stop words, after a "Praise:" or
    "#12" mark); the bench's name-quality check. "Miscellaneous" counts as generic."""
    words = [w for w in _TOKEN.findall((name or "").lower()) if w != "praise"]
    return not words or all(w in _all_stopwords() or w == "miscellaneous" for w in words)
