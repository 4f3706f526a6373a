"""The real BERTopic backend (UMAP + HDBSCAN + KeyBERTInspired/MMR, offline) on ~646 real app reviews.

Checks: a fit persists readable labels for every topic, outlier reassignment follows its rule and lowers the
outlier rate, a second workspace ingested from the same file gets the very same topics (fits are deterministic), and a
refit on the same data plus ~10% new reviews keeps most topic ids.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import urr_sample

pytestmark = pytest.mark.slow   # every test here takes more than ~3 s: `make test-fast` skips them


def _spread_csv(path, every, offset):
    """Every `every`-th review from the bundled sample (it is sorted by app, so a slice would be 2-3 apps)."""
    return urr_sample(path, slice(offset, None, every))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.fit import fit_topics

    d = tmp_path_factory.mktemp("bt")
    s = Store(d / "w.duckdb")
    ingest_file(s, _spread_csv(d / "a.csv", 12, 0), source="reviews")   # ~646 reviews
    embed_items(s)
    res = fit_topics(s)
    res["assignments"] = dict(s.rows("SELECT item_id, topic_id FROM topic_assignments"))
    res["csv"] = d / "a.csv"
    yield s, res, _spread_csv(d / "b.csv", 120, 6)    # ~65 more, disjoint
    s.close()


def test_bertopic_fit_labels_every_topic(fitted):
    store, res, _ = fitted
    assert res["backend"] == "bertopic" and res["topics"] >= 3
    run = store.query("SELECT * FROM topic_runs").to_pylist()[0]
    params = json.loads(run["params"])
    assert params["params"]["min_cluster_size"] == 10   # ~600 items: the floor (0.3*sqrt(646) ~ 8)
    assert params["params"]["n_neighbors"] == 15
    for t in store.query("SELECT * FROM topics WHERE status='active'").to_pylist():
        assert t["name"] and t["name"] != "Miscellaneous" and len(t["name"].replace(",", " ").split()) <= 6
        assert t["description"] and len(t["keywords"]) >= 3 and t["size"] > 0


def test_outlier_reassignment_rule_and_rate(fitted):
    store, res, _ = fitted
    threshold = json.loads(store.scalar("SELECT params FROM topic_runs"))["threshold"]
    reduced = store.rows("SELECT min(score), count(*) FROM topic_assignments WHERE method = 'reduced'")[0]
    assert reduced[1] > 0 and reduced[0] >= threshold
    still = store.rows("SELECT max(score) FROM topic_assignments WHERE method = 'outlier'")[0][0]
    assert still is None or still < threshold
    assert res["outlier_rate"] < res["outlier_rate_raw"]
    assert res["outlier_rate"] < 0.10


def test_same_file_in_a_new_workspace_gives_the_same_topics(fitted, tmp_path):
    """Embedding batches and the fit's input order are fixed, so nothing moves the clustering between workspaces."""
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.fit import fit_topics

    _, first, _ = fitted
    with Store(tmp_path / "again.duckdb") as s:
        ingest_file(s, first["csv"], source="reviews")
        embed_items(s)
        res = fit_topics(s)
        again = dict(s.rows("SELECT item_id, topic_id FROM topic_assignments"))
    assert res["topics"] == first["topics"]
    assert again == first["assignments"]


def test_refit_with_ten_percent_more_keeps_ids(fitted):
    from earful.ingest.pipeline import ingest_file
    from earful.topics.fit import fit_topics

    store, first_res, more = fitted
    before = {r[0] for r in store.rows("SELECT topic_id FROM topics WHERE status='active'")}
    ingest_file(store, more, source="reviews")
    res = fit_topics(store)
    after = {r[0] for r in store.rows("SELECT topic_id FROM topics WHERE status='active'")}
    matched = store.scalar("SELECT count(*) FROM topic_lineage WHERE run_id = ? AND event = 'matched'",
                           [res["run_id"]])
    assert matched == len(before & after)
    assert len(before & after) >= 0.6 * len(before), res["lineage"]
