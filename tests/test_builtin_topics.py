"""The built-in engine answers "what are the most common topics in X?" from the topics when they exist. The bare
"what are the top 3 1-star reviews?" is declined since the engine's rebuild (#13): it could ask for the most common
topics or for three example reviews, and the engine does not guess between them.

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
        # the top 3 keep their ties (a topic level with the third is shown too)
        expected = s.rows("SELECT topic, count(*) AS n FROM reviews WHERE rating = 1 AND topic IS NOT NULL "
                          "GROUP BY 1 QUALIFY rank() OVER (ORDER BY count(*) DESC) <= 3 ORDER BY n DESC, 1")
    ctx = AskContext(db_path=str(db), settings=load_settings(overrides={"db": str(db)}, environ={}))
    ans = ask("What are the 3 most common topics in 1-star reviews?", ctx)
    assert ans.status == "answered", ans.answer
    assert [tuple(r[:2]) for r in ans.tables[0].rows] == [tuple(r) for r in expected]
    assert expected[0][0] in ans.answer
    # without topics in the view, the same words stay a decline rather than a guess
    plain = tmp_path / "plain.duckdb"
    with Store(plain) as s:
        ingest_file(s, sub, source="reviews")
    ctx = AskContext(db_path=str(plain), settings=load_settings(overrides={"db": str(plain)}, environ={}))
    assert ask("What are the top 3 1-star reviews?", ctx).status == "declined"
