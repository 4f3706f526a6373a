"""Topic centroids of any embedding model: ``topics.centroid`` becomes variable-length (``FLOAT[]``).

Centroids were ``FLOAT[384]`` (the packaged MiniLM only); ``[embeddings] model`` can name models of other sizes
(all-mpnet-base-v2: 768). Which model the topics were fitted with is recorded in ``topic_runs.params``
(``embedding_model``; runs from before it are MiniLM's), and `earful.topics.model.require_fitted_model` refuses to
compare them with another model's vectors.
"""


def migrate(con):
    con.execute("ALTER TABLE topics ALTER centroid SET DATA TYPE FLOAT[]")
