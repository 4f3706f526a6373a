"""One conformance suite over every registered embedding model (ibis's backend suite is the model).

A registered model is a name plus a factory (`earful.embeddings.EmbeddingModel`), not a class, so its fixture lives
here: `SAMPLES` maps each registered name to how the suite runs it (``slow``: the slow lane only). Registering a
model without a sample fails `test_every_embedding_model_has_a_sample`, so a new model is tested by registering it.
Every model must give L2-normalised float32 vectors of its declared dimension, the same vectors for the same text,
paraphrases closer than unrelated texts, and through a real workspace: vectors stored under its own id, read back
by that id, and `similar` finding the paraphrase. Real models only (the packaged MiniLM; all-mpnet-base-v2 from its
installed PyPI parts, whose missing parts are an error naming the pip line).
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from earful.embeddings import Embedder, embed_items, embedding_model_names, get_embedding_model, item_vectors, similar
from earful.errors import NotInstalledError

# registered model name -> how the suite runs it
SAMPLES = {
    "all-MiniLM-L6-v2": {},
    "all-mpnet-base-v2": {"slow": True},     # 438 MB, about 10x MiniLM's cost
}

# (text, a paraphrase of it, an unrelated text)
TRIPLES = [
    ("The app crashes every time I open it.", "It crashes on startup, every single time.",
     "Please add a dark mode to the settings."),
    ("Way too many ads, I would pay to remove them.", "The advertisements are constant and annoying.",
     "Syncing my notes between phone and laptop works well."),
    ("I was charged twice for the subscription.", "My card was billed two times for one month.",
     "The map shows the wrong street names in my town."),
]


def cases() -> list:
    return [pytest.param(n, id=n, marks=[pytest.mark.slow] if SAMPLES.get(n, {}).get("slow") else [])
            for n in embedding_model_names()]


def embedder_or_skip_reason(name: str) -> Embedder:
    """The model's Embedder, loaded; a model whose packages are missing must say which pip line installs them."""
    emb = Embedder(model=name)
    try:
        emb.encode(["warm up"])
    except NotInstalledError as exc:
        assert "pip install" in str(exc)
        pytest.skip(f"{name} is not installed here: {exc}")
    return emb


def test_every_embedding_model_has_a_sample():
    names = embedding_model_names()
    assert "all-MiniLM-L6-v2" in names
    missing = sorted(set(names) - set(SAMPLES))
    assert not missing, f"embedding models registered without a sample in SAMPLES: {missing}"


@pytest.mark.parametrize("name", cases())
def test_embedding_model_conformance(name, tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    if name not in SAMPLES:
        pytest.fail(f"embedding model {name} has no sample in SAMPLES")
    spec = get_embedding_model(name)
    assert spec.name == name
    emb = embedder_or_skip_reason(name)
    assert emb.model_id == name
    texts = [t for triple in TRIPLES for t in triple]
    vecs = emb.encode(texts)
    assert vecs.dtype == np.float32 and vecs.shape == (len(texts), emb.dim)
    if spec.dim:
        assert emb.dim == spec.dim
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    assert np.allclose(emb.encode(texts[:2]), vecs[:2], atol=1e-5), "the same text must give the same vector"
    assert emb.encode([]).shape == (0, emb.dim)
    for k in range(len(TRIPLES)):
        a, para, other = vecs[3 * k], vecs[3 * k + 1], vecs[3 * k + 2]
        assert a @ para > a @ other, f"{name}: '{TRIPLES[k][0]}' is nearer an unrelated text than its paraphrase"

    # through a real workspace: stored under the model's id, read back by it, searched in its space
    path = tmp_path / "fb.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "comment"])
        w.writerows([[f"c{i}", t] for i, t in enumerate(texts)])
    with Store(tmp_path / "w.duckdb") as store:
        ingest_file(store, path, source="fb")
        assert embed_items(store, emb) == {"embedded": len(texts), "cached": 0}
        assert embed_items(store, emb) == {"embedded": 0, "cached": len(texts)}
        assert store.scalar("SELECT count(*) FROM embeddings WHERE model_id = ?", [name]) == len(texts)
        ids, stored = item_vectors(store, model_id=name)
        assert len(ids) == len(texts) and stored.shape == (len(texts), emb.dim)
        by_text = dict(store.rows("SELECT text, item_id FROM items"))
        assert np.allclose(stored[ids.index(by_text[texts[0]])], vecs[0], atol=1e-5)
        hits = similar(store, TRIPLES[2][1], k=2, embedder=emb)
        assert TRIPLES[2][0] in [h["text"] for h in hits]
