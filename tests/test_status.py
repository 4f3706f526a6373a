"""`earful status` counts an item as embedded only when it has a vector of the current embedding model: vectors
another model left behind are not usable by similar/classify/topics, so they must not look like coverage."""
from __future__ import annotations

import numpy as np

from earful.status import workspace_status
from tests.conftest import urr_sample


def _add_vectors(store, hashes: list[str], model_id: str, dim: int) -> None:
    """Vectors as `embed_items` stores them (one row per content hash and model); the values do not matter here."""
    rng = np.random.default_rng(0)
    with store.transaction() as con:
        for h in hashes:
            con.execute("INSERT INTO embeddings (content_hash, model_id, vector) VALUES (?, ?, ?::FLOAT[])",
                        [h, model_id, rng.random(dim).astype(np.float32).tolist()])


def test_status_counts_only_the_current_models_vectors(store, tmp_path):
    from earful.embeddings import current_model
    from earful.ingest.pipeline import ingest_file

    ingest_file(store, urr_sample(tmp_path / "reviews.csv", slice(0, 12)), source="reviews")
    hashes = [h for (h,) in store.rows("SELECT DISTINCT content_hash FROM items ORDER BY content_hash")]
    n_items = store.scalar("SELECT count(*) FROM items")
    assert len(hashes) >= 10
    _add_vectors(store, hashes, "an-older-model", 8)          # every item, but with another model's vectors
    (src,) = workspace_status(store)["sources"]
    assert src["items"] == n_items and src["embedded"] == 0

    current = current_model()
    _add_vectors(store, hashes[:4], current, 384)             # four texts embedded with the current model
    want = store.scalar("SELECT count(*) FROM items WHERE content_hash IN ?", [hashes[:4]])
    info = workspace_status(store)
    assert info["embedding_model"] == current
    assert info["sources"][0]["embedded"] == want and 4 <= want < n_items
    assert workspace_status(store, model_id="an-older-model")["sources"][0]["embedded"] == n_items
