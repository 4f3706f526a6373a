"""Subject words: the words concentrated in one subject (app, product) found from a source's subject column, and
masked in the texts an aspect fit embeds and names (`fit_aspects(mask_subjects=True)`; measured in bench/topics.py).

Real URR reviews (with their ``app`` column) in a real DuckDB workspace; the stand-in backend for the fit.
"""
from __future__ import annotations

import csv
import re
from collections import Counter

from tests.conftest import urr_sample


def _workspace(tmp_path, rows=slice(0, 6000, 10)):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    s = Store(tmp_path / "w.duckdb")
    ingest_file(s, urr_sample(tmp_path / "r.csv", rows), source="reviews")
    return s


def test_subject_words_are_concentrated_in_one_app(tmp_path):
    from earful.topics.aspect_assign import subject_column, subject_words

    with _workspace(tmp_path) as s:
        assert subject_column(s, "reviews") == "app"
        words = subject_words(s)
        rows = s.rows("SELECT app, lower(text) FROM reviews")
    assert words
    toks = [(a, set(re.findall(r"[^\W\d_]+", t))) for a, t in rows]
    for w in words:       # each: >= 80% of the items that use it are about one app (40% for the app's own name words)
        per_app = Counter(a for a, t in toks if w in t)
        app, top = per_app.most_common(1)[0]
        assert top >= (0.4 if w in app.lower() else 0.8) * sum(per_app.values()) and sum(per_app.values()) >= 5, w
    for w in ("great", "app", "crashes", "the", "battery"):   # stop, evaluative and shared words never count
        assert w not in words


def test_no_subject_column_no_subject_words(tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.aspect_assign import subject_column, subject_words

    with open(urr_sample(tmp_path / "r.csv", slice(0, 200)), newline="", encoding="utf-8") as f:
        rows = [{"id": r["review_id"], "text": r["review_text"]} for r in csv.DictReader(f)]
    with open(tmp_path / "plain.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["id", "text"])
        w.writeheader()
        w.writerows(rows)
    with Store(tmp_path / "p.duckdb") as s:
        ingest_file(s, tmp_path / "plain.csv", source="plain")
        assert subject_column(s, "plain") is None
        assert subject_words(s) == frozenset()


def test_mask_words_keeps_everything_else():
    from earful.topics.aspect_assign import MASK, mask_words

    assert mask_words("Scrobbling to Last.fm fails; SCROBBLE button gone", {"scrobbling", "scrobble", "last"}) == \
        f"{MASK} to {MASK}.fm fails; {MASK} button gone"
    assert mask_words("unchanged text", frozenset()) == "unchanged text"


def test_fit_with_subject_words_masked(tmp_path):
    """The fit embeds and names the masked texts: the subject words are recorded with the run, no aspect keyword
    holds one, the masked texts' vectors are cached, and every mention still gets an aspect."""
    import hashlib
    import json

    from earful.topics.aspect_assign import mask_words
    from earful.topics.aspects import fit_aspects
    from earful.topics.mentions import segment

    with _workspace(tmp_path, slice(0, 6000, 20)) as s:
        segment(s)
        res = fit_aspects(s, backend="pca-kmeans-standin", backend_params={"n_topics": 6}, sample_cap=150,
                          mask_subjects=True)
        params = json.loads(s.scalar("SELECT params FROM mention_runs WHERE run_id = ?", [res["run_id"]]))
        words = set(params["masked_subject_words"])
        assert words and res["fitted_on"] == 150
        kws = {w for (ks,) in s.rows("SELECT keywords FROM aspects WHERE status = 'active'") for k in ks
               for w in k.lower().split()}
        assert kws and not kws & words
        changed = [t for (t,) in s.rows("SELECT text FROM mentions") if mask_words(t, words) != t]
        hashes = {hashlib.md5(mask_words(t, words).encode()).hexdigest() for t in changed}
        cached = {h for (h,) in s.rows("SELECT content_hash FROM embeddings")}
        assert hashes & cached
        assert s.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
        # new items: their mentions are assigned by their masked texts' vectors, as the fit's were
        from earful.ingest.pipeline import ingest_file
        from earful.topics.aspects import assign_new_mentions

        ingest_file(s, urr_sample(tmp_path / "more.csv", slice(7, 6000, 200)), source="reviews")
        segment(s)
        new = s.rows("SELECT text FROM mentions WHERE aspect_id IS NULL")
        out = assign_new_mentions(s)
        assert out["assigned"] > 0 and s.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
        cached = {h for (h,) in s.rows("SELECT content_hash FROM embeddings")}
        masked_new = [mask_words(t, words) for (t,) in new if mask_words(t, words) != t]
        assert masked_new and all(hashlib.md5(t.encode()).hexdigest() in cached for t in masked_new
                                  if t.strip() and any(c.isalpha() for c in t))
