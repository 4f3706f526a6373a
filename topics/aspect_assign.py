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

import numpy as np

GENERIC_SIM = 0.7         # measured on the demo (bench/topics.py): folds 3 of ~67 aspects, NMI +0.014, ARI +0.09
GENERAL_SAMPLE = 256      # general mention texts embedded to find their centroid
TEXT_TRAIN_CAP = 20_000   # mentions the text classifier learns from at most (a seeded sample of the embedded ones)


def text_assign(known_texts: list[str], known_labels: np.ndarray, texts: list[str], *,
                cap: int = TEXT_TRAIN_CAP, seed: int = 42):
    """Aspect index and a margin for mentions without a vector: a linear SVM over word and character n-grams
    (TF-IDF), trained on the embedded mentions' aspects (a seeded sample of `cap` of them when there are more: a
    million-item workspace has hundreds of thousands of one-sentence items whose mentions have a vector, and the
    SVM's cost grows with them; bench/topics_scale.py --aspects). On the demo it agrees with nearest-centroid
    assignment of the real vectors for 65% of mentions, and item-level NMI against URR's gold is the same
    (bench/topics.py). None when the text gives nothing to learn from (the caller embeds those mentions instead)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    ok = np.nonzero(known_labels >= 0)[0]
    if len(ok) > cap:
        ok = np.sort(np.random.default_rng(seed).choice(ok, cap, replace=False))
    y = known_labels[ok]
    train = [known_texts[k] for k in ok]
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
