"""The built-in engine reads "what are the top/most common X?" as the most common topics of X when topics exist.

Clustering uses the registered PCA + KMeans *stand-in* backend: the test is about the question -> plan mapping, and
checks the answer against plain SQL over the same view.
"""
import pytest

from tests.conftest import urr_sample

pytestmark = pytest.mark.slow   # every test here takes more than ~3 s: `make test-fast` skips them


def test_top_feedback_means_most_common_topics(tmp_path):
    from earful.config import load_settings
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext
    from earful.store import Store
    from earful.topics.fit import fit_topics

    sub = urr_sample(tmp_path / "r.csv", slice(0, 400))
    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, sub, source="reviews")
        fit_topics(s, backend="pca-kmeans-standin", backend_params={"n_topics": 6})
        expected = s.rows("SELECT topic, count(*) AS n FROM reviews WHERE rating = 1 AND topic IS NOT NULL "
                          "GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3")
    ctx = AskContext(db_path=str(db), settings=load_settings(overrides={"db": str(db)}, environ={}))
    ans = ask("What are the top 3 1-star reviews?", ctx)
    assert ans.status == "answered", ans.answer
    assert [tuple(r[:2]) for r in ans.tables[0].rows] == [tuple(r) for r in expected]
    assert expected[0][0] in ans.answer
    # without topics in the view, the same words stay a decline rather than a guess
    plain = tmp_path / "plain.duckdb"
    with Store(plain) as s:
        ingest_file(s, sub, source="reviews")
    ctx = AskContext(db_path=str(plain), settings=load_settings(overrides={"db": str(plain)}, environ={}))
    assert ask("What are the top 3 1-star reviews?", ctx).status == "declined"
