"""A topic fit is a function of the workspace and the seed (#16): the README's topics are what a fresh run prints.

Two sources of run-to-run variation are pinned here, each with a test that failed before its fix:
- BERTopic's KeyBERTInspired embedded its candidate words in a ``set``'s order, which follows each process's
  PYTHONHASHSEED; the words' vectors then differed in their last bits (other batch mates, other padding), and on near
  ties a topic's keywords and name with them;
- the default sample cap was read from *free* memory, so a workspace over 20,000 items was clustered on a sample
  of another size (another sample, other topics) from one run to the next.
The end-to-end test fits two fresh workspaces built from the same real reviews, in processes with different hash
seeds, and refits one of them: ids, names, sizes, keywords and every assignment are the same.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, urr_sample

KEYBERT_PROBE = textwrap.dedent("""
    import csv, hashlib, re
    from earful.config import apply_process_env
    apply_process_env()
    from bertopic.backend._utils import select_backend
    from earful.topics.bertopic_backend import build_bertopic
    rows = list(csv.DictReader(open("examples/data/urr_app_reviews.csv", encoding="utf-8")))[:200]
    docs = [r["review_text"] for r in rows]
    words = sorted({w for d in docs for w in re.findall(r"[a-z]+", d.lower()) if len(w) > 3})[:120]
    topics = {k: words[k * 30:(k + 1) * 30] for k in range(4)}
    model, _ = build_bertopic(200)
    model.embedding_model = select_backend(model.embedding_model)
    keybert = model.representation_model[0]
    groups = [list(range(k * 5, k * 5 + 5)) for k in range(4)]
    sim, vocab = keybert._extract_embeddings(model, topics, docs[:20], groups)
    h = hashlib.sha256()
    for w in sorted(vocab):
        h.update(w.encode() + sim[:, vocab.index(w)].tobytes())
    print(h.hexdigest())
""")


def _env(hash_seed: int) -> dict:
    return {**os.environ, "PYTHONHASHSEED": str(hash_seed), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@pytest.mark.slow
def test_keyword_vectors_do_not_depend_on_the_hash_seed():
    """The similarity of every candidate word to every topic is the same to the bit in two processes whose string
    hashes differ (before: the words were embedded in set order, and the bits differed)."""
    out = [subprocess.run([sys.executable, "-c", KEYBERT_PROBE], cwd=ROOT, env=_env(seed), capture_output=True,
                          text=True, timeout=600) for seed in (1, 2)]
    for p in out:
        assert p.returncode == 0, p.stderr[-2000:]
    assert out[0].stdout.split()[-1] == out[1].stdout.split()[-1]


def test_default_sample_cap_does_not_follow_free_memory(monkeypatch):
    """The same machine gives the same cap however much memory is free at the moment (before: 20,000 to 100,000
    by free memory, so a big workspace was sampled differently from one run to the next)."""
    from earful.topics.fit import SAMPLE_CAP, default_sample_cap

    real = os.sysconf
    caps = set()
    for free_gb in (3, 12, 40):
        def fake(name, free_gb=free_gb):
            if name == "SC_AVPHYS_PAGES":
                return free_gb * (1 << 30) // real("SC_PAGE_SIZE")
            if name == "SC_PHYS_PAGES":
                return 64 * (1 << 30) // real("SC_PAGE_SIZE")
            return real(name)
        monkeypatch.setattr(os, "sysconf", fake)
        caps.add(default_sample_cap())
    assert caps == {SAMPLE_CAP}


def _fit(db, seed: int, hash_seed: int) -> dict:
    p = subprocess.run([sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), "topics", "fit",
                        "--seed", str(seed), "--json"], cwd=ROOT, env=_env(hash_seed), capture_output=True,
                       text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)


def _snapshot(db) -> dict:
    from earful.store import Store

    with Store(db, read_only=True) as s:
        return {"topics": s.rows("SELECT topic_id, name, description, size, keywords, representative_ids FROM topics "
                                 "WHERE status = 'active' ORDER BY topic_id"),
                "assignments": s.rows("SELECT item_id, topic_id, method, round(score, 5) FROM topic_assignments "
                                      "ORDER BY item_id"),
                "seed": json.loads(s.scalar("SELECT params FROM topic_runs ORDER BY fitted_at DESC LIMIT 1"))["seed"]}


@pytest.mark.slow
def test_same_reviews_and_seed_give_the_same_topics(tmp_path):
    """Two workspaces built from the same ~390 real reviews and fitted with the same seed in processes with
    different hash seeds hold the same topics and assignments; a refit of one changes nothing and keeps every id."""
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    csv = urr_sample(tmp_path / "sample.csv", slice(3, None, 20))   # spread over all apps (the file is by app)
    dbs = [tmp_path / "a.duckdb", tmp_path / "b.duckdb"]
    for db in dbs:
        with Store(db) as s:
            ingest_file(s, csv, source="reviews")
            embed_items(s)
    first = _fit(dbs[0], 7, hash_seed=1)
    second = _fit(dbs[1], 7, hash_seed=2)
    a, b = _snapshot(dbs[0]), _snapshot(dbs[1])
    assert first["topics"] >= 3 and a["seed"] == 7
    assert a == b
    refit = _fit(dbs[0], 7, hash_seed=3)
    assert refit["lineage"] == {"matched": first["topics"]}
    assert _snapshot(dbs[0]) == a
    assert {k: first[k] for k in ("topics", "outlier_rate", "outlier_rate_raw")} == \
        {k: second[k] for k in ("topics", "outlier_rate", "outlier_rate_raw")}
