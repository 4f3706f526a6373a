"""After-ingest hooks: with a fitted topic model, `earful ingest` assigns new items to existing topics (no refit).

Clustering uses the registered PCA + KMeans *stand-in* backend: this test is about the ingest -> topics plumbing.
"""
import json

import pytest

from tests.conftest import run_cli, urr_sample

pytestmark = pytest.mark.slow   # every test here takes more than ~3 s: `make test-fast` skips them


def _subset(path, start, stop):
    return urr_sample(path, slice(start, stop))


def test_ingest_assigns_new_items_to_existing_topics(tmp_path):
    from earful.store import Store
    from earful.topics.fit import fit_topics

    db = tmp_path / "w.duckdb"
    first = run_cli("ingest", _subset(tmp_path / "a.csv", 0, 300), "--source", "reviews", "--json", db=db)
    assert first.returncode == 0, first.stderr
    assert "topics" not in json.loads(first.stdout)  # no model yet: the hook does nothing
    with Store(db) as s:
        fit_topics(s, backend="pca-kmeans-standin", backend_params={"n_topics": 5})
        before = s.scalar("SELECT count(*) FROM topic_assignments")
    r = run_cli("ingest", _subset(tmp_path / "b.csv", 300, 340), "--source", "reviews", "--json", db=db)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["added"] == 40
    assert summary["topics"]["new_items"] == 40
    assert summary["topics"]["assigned"] + summary["topics"]["outliers"] == 40
    with Store(db) as s:
        assert s.scalar("SELECT count(*) FROM topic_assignments") == before + 40
        assert s.scalar("SELECT count(*) FROM reviews WHERE topic_id IS NULL") == 0
