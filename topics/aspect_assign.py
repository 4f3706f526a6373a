"""Two parts of an aspect fit that keep it cheap and specific: assigning mentions that were never embedded, and
folding "aspects" that are only praise into general.

Design decision: both are measured corrections around the clustering, not a second model. A fit embeds and clusters
a sample of mentions (`topics.aspects.fit_cap`); `text_assign` gives the others an aspect from their words (a
linear SVM trained on the sample), so most mention texts are never embedded. `generic_aspects` compares each
aspect's centroid with the centroid of mentions made only of evaluative or generic words ("Love it!!!"): HDBSCAN
still finds clusters such as "Loved it Dude really loved it", "Excellent app No issues", whose few other words
("dude", "recommended") slip past the stoplist; at cosine >= `GENERIC_SIM` they are general, not aspects.
"""
from __future__ import annotations

import re

import numpy as np

GENERIC_SIM = 0.7         # measured on the demo (bench/topics.py): folds 3 of ~67 aspects, NMI +0.014, ARI +0.09
GENERAL_SAMPLE = 256      # general mention texts embedded to find their centroid


def text_assign(known_texts: list[str], known_labels: np.ndarray, texts: list[str]):
    """Aspect index and a margin for mentions without a vector: a linear SVM over word and character n-grams
    (TF-IDF), trained on the embedded mentions' aspects. On the demo it agrees with nearest-centroid assignment of
    the real vectors for 65% of mentions, and item-level NMI against URR's gold is the same (bench/topics.py).
    None when the text gives nothing to learn from (the caller embeds those mentions instead)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    ok = known_labels >= 0
    y = known_labels[ok]
    train = [t for t, k in zip(known_texts, ok) if k]
    if len(set(y.tolist())) < 2:
        return None
    try:
        word = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(train)
        char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True,
                               max_features=200_000).fit(train)
    except ValueError:    # an empty vocabulary
        return None
    svm = LinearSVC(C=0.5, random_state=0).fit(hstack([word.transform(train), char.transform(train)]).tocsr(), y)
    idx, margin = np.empty(len(texts), dtype=int), np.empty(len(texts))
    for s in range(0, len(texts), 100_000):
        F = hstack([word.transform(texts[s:s + 100_000]), char.transform(texts[s:s + 100_000])]).tocsr()
        D = svm.decision_function(F)
        D = D[:, None] if D.ndim == 1 else D
        if D.shape[1] == 1:     # two classes: one column, positive means the second
            D = np.hstack([-D, D])
        idx[s:s + len(D)] = svm.classes_[D.argmax(axis=1)]
        margin[s:s + len(D)] = D.max(axis=1)
    return idx, margin



def generic_aspects(store, embedder, C: np.ndarray, general_ids: list[str], seed: int = 42,
                    threshold: float = GENERIC_SIM) -> list[int]:
    """Indices of the aspects (rows of centroid matrix `C`) whose centroid is at cosine >= `threshold` with the
    centroid of up to `GENERAL_SAMPLE` general mentions (`general_ids`, sampled with `seed`; embedded here when they
    are not yet). Never all of them; none when there are fewer than 20 general mentions."""
    from earful.topics.mentions import embed_mentions, mention_vectors

    if len(general_ids) < 20 or not len(C):
        return []
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(general_ids), min(GENERAL_SAMPLE, len(general_ids)), replace=False).tolist())
    ids = [general_ids[i] for i in pick]
    embed_mentions(store, embedder, mention_ids=ids, skip_general=False)
    import pyarrow as pa

    store.con.register("_general_sample", pa.table({"mention_id": pa.array(ids, pa.string())}))
    try:
        _, _, V = mention_vectors(store, embedder.model_id, "m.mention_id IN (SELECT mention_id FROM _general_sample)")
    finally:
        store.con.unregister("_general_sample")
    if not len(V):
        return []
    g = V.mean(axis=0)
    g /= max(float(np.linalg.norm(g)), 1e-9)
    sims = C @ g
    out = [int(k) for k in np.nonzero(sims >= threshold)[0]]
    return out if len(out) < len(C) else []


# -- subject words (an option of the aspect fit, measured in bench/topics.py) -----------------------------------------
SUBJECT_NAMES = ("app", "app_name", "product", "product_name", "model", "models", "subject", "system", "brand",
                 "vendor", "service")       # as the profiles' subject column (earful.web.profiles)
MAX_SUBJECTS = 200
SUBJECT_SHARE = 0.8       # a word whose items are at least this share about one subject...
SUBJECT_LIFT = 3.0        # ...at least this many times that subject's share of all items...
SUBJECT_MIN_ITEMS = 5     # ...in at least this many items, is that subject's word
MASK = "thing"            # what a subject word becomes (an aspect stop word, so never part of a name)
_LETTERS = re.compile(r"[^\W\d_]+")


def subject_column(store, source: str) -> str | None:
    """The first column of `source` named like a subject (`SUBJECT_NAMES`) with 2..`MAX_SUBJECTS` values."""
    from earful.store.sql import quote_ident

    cols = {r[0].lower(): r[0] for r in store.rows(f"DESCRIBE {quote_ident(source)}")}
    for name in SUBJECT_NAMES:
        if name in cols:
            k = store.scalar(f"SELECT count(DISTINCT {quote_ident(cols[name])}) FROM {quote_ident(source)}")
            if 2 <= (k or 0) <= MAX_SUBJECTS:
                return cols[name]
    return None


def subject_words(store, source: str | None = None, *, share: float = SUBJECT_SHARE, lift: float = SUBJECT_LIFT,
                  min_items: int = SUBJECT_MIN_ITEMS) -> frozenset[str]:
    """Words concentrated in one subject (app, product): of the items that use the word, at least `share` are about
    one subject, `lift` times that subject's share of all items (pointwise mutual information >= log(lift)), in at
    least `min_items` items ("anki", "scrobble", "sms" on URR); the subject's own name words count at half the
    share. Stop and evaluative words never count. Nothing without a subject column (`subject_column`)."""
    from collections import Counter, defaultdict

    from earful.store.sql import quote_ident
    from earful.topics.aspects import _all_stopwords

    stop = _all_stopwords()
    found: set[str] = set()
    for src in [source] if source else store.sources():
        col = subject_column(store, src)
        if col is None:
            continue
        rows = store.rows(f"SELECT CAST(v.{quote_ident(col)} AS VARCHAR), i.text FROM items i "
                          f"JOIN {quote_ident(src)} v USING (item_id) WHERE v.{quote_ident(col)} IS NOT NULL")
        per_subject = Counter(s for s, _ in rows)
        by_word: dict[str, Counter] = defaultdict(Counter)
        for subj, text in rows:
            for w in set(_LETTERS.findall((text or "").lower())):
                if len(w) > 2 and w not in stop:
                    by_word[w][subj] += 1
        names = {s: set(_LETTERS.findall(s.lower())) for s in per_subject}
        n = len(rows)
        for w, c in by_word.items():
            total = sum(c.values())
            subj, top = c.most_common(1)[0]
            need = share / 2 if w in names[subj] else share
            if total >= min_items and top / total >= need and (top / total) / (per_subject[subj] / n) >= lift:
                found.add(w)
    return frozenset(found)


def mask_words(text: str, words: frozenset[str] | set[str], mask: str = MASK) -> str:
    """`text` with each of `words` (any case) replaced by `mask`."""
    if not words:
        return text
    return _LETTERS.sub(lambda m: mask if m.group(0).lower() in words else m.group(0), text)


def text_vectors(store, embedder, texts: list[str], embed: np.ndarray | None = None):
    """(positions in `texts` that have a vector in the embeddings cache, their vectors in that order, how many texts
    were embedded now), after embedding the texts at positions `embed` (all when None) that the cache lacks: for
    texts that are not a stored mention's own, such as mentions with their subject words masked."""
    import hashlib

    import pyarrow as pa

    from earful.embeddings import _arrow_vectors

    hashes = [hashlib.md5(t.encode("utf-8")).hexdigest() for t in texts]
    want = range(len(texts)) if embed is None else embed
    store.con.register("_want_hashes", pa.table({"pos": pa.array(np.arange(len(texts)), pa.int64()),
                                                 "content_hash": pa.array(hashes, pa.string())}))
    try:
        have = {r[0] for r in store.rows("SELECT content_hash FROM embeddings WHERE model_id = ? AND content_hash "
                                         "IN (SELECT content_hash FROM _want_hashes)", [embedder.model_id])}
        todo = {hashes[k]: texts[k] for k in want if hashes[k] not in have}
        if todo:
            table = _arrow_vectors(list(todo), embedder.model_id, embedder.encode(list(todo.values())))
            with store.transaction() as con:
                con.register("_new_vectors", table)
                con.execute("INSERT INTO embeddings (content_hash, model_id, vector) "
                            "SELECT content_hash, model_id, vector::FLOAT[] FROM _new_vectors")
                con.unregister("_new_vectors")
        tbl = store.query("SELECT w.pos, e.vector FROM _want_hashes w JOIN embeddings e ON e.content_hash = "
                          "w.content_hash AND e.model_id = ? ORDER BY w.pos", [embedder.model_id])
    finally:
        store.con.unregister("_want_hashes")
    pos = np.asarray(tbl.column("pos").to_pylist(), dtype=int)
    if not len(pos):
        return pos, np.zeros((0, 0), np.float32), len(todo)
    flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    return pos, flat.reshape(len(pos), -1).astype(np.float32, copy=False), len(todo)
