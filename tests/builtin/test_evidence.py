"""Examples ranked most representative first by their stored embeddings, over a real workspace with hand-made
vectors whose order is known; no model is loaded."""
from __future__ import annotations

import numpy as np
import pytest

from earful.qa_agent.builtin.evidence import rank_examples, rank_rows, ranking

VECTORS = {"i1": [1, 0, 0, 0], "i2": [1, 1, 0, 0], "i3": [0, 1, 0, 0], "i4": [1, 0.2, 0, 0], "i5": [0, 0, 1, 0]}
SQL_ORDER = ["i5", "i6", "i3", "i1", "i4", "i2", "i7"]    # as the examples SQL returned them (newest first)
EXPECTED = ["i2", "i4", "i1", "i3", "i5", "i6"]          # i7 is i2's text again; i6 has no vector


def _workspace(path, vectors=True):
    from earful.store import Store

    s = Store(path)
    try:
        for item in SQL_ORDER:
            h = "h2" if item == "i7" else f"h{item[1:]}"
            s.con.execute("INSERT INTO items VALUES (?, 'reviews', NULL, ?, NULL, NULL, NULL, ?, 'b1')",
                          [item, f"text {item}", h])
        if vectors:
            for item, v in VECTORS.items():
                s.con.execute("INSERT INTO embeddings VALUES (?, 'all-MiniLM-L6-v2', ?)", [f"h{item[1:]}", v])
            # another model's vectors for only two items, pointing the other way: not the model used
            for item in ("i3", "i5"):
                s.con.execute("INSERT INTO embeddings VALUES (?, 'other-model', ?)", [f"h{item[1:]}", [9, 9, 9, 9]])
    finally:
        s.close()
    return str(path)


@pytest.fixture
def no_model(monkeypatch):
    import earful.embeddings as emb

    def refuse(*a, **k):
        raise AssertionError("ranking examples must not load an embedding model")

    monkeypatch.setattr(emb, "_load", refuse)
    monkeypatch.setattr(emb, "load_model", refuse)


def test_the_expected_order_is_the_centroid_similarity():
    unit = {k: np.array(v, float) / np.linalg.norm(v) for k, v in VECTORS.items()}
    centroid = np.mean(list(unit.values()), axis=0)
    by_hand = sorted(unit, key=lambda k: -float(unit[k] @ centroid))
    assert by_hand == EXPECTED[:5]


def test_examples_are_ranked_by_similarity_to_the_pools_centroid(tmp_path, no_model):
    db = _workspace(tmp_path / "w.duckdb")
    r = ranking(db, SQL_ORDER)
    assert r.ids == EXPECTED and r.by == "embeddings" and r.model_id == "all-MiniLM-L6-v2"
    assert rank_examples(db, SQL_ORDER, 2) == ["i2", "i4"]


def test_without_vectors_the_order_is_the_sqls(tmp_path, no_model):
    db = _workspace(tmp_path / "w.duckdb", vectors=False)
    r = ranking(db, SQL_ORDER, 3)
    assert r.ids == SQL_ORDER[:3] and r.by == "newest"
    assert rank_examples(db, ["i1"], 5) == ["i1"]


def test_rank_rows_feeds_the_composer(tmp_path, no_model):
    from earful.qa_agent.builtin.answer import compose
    from earful.qa_agent.builtin.ir import Measure, Plan, TextMatch

    db = _workspace(tmp_path / "w.duckdb")
    plan = Plan(view="v", noun="reviews", measure=Measure("examples"), where=(TextMatch("text", ("text",)),),
                limit=3)
    rows = [[i, f"text {i}", 7] for i in SQL_ORDER]
    cols, picked, by = rank_rows(db, plan, ["item_id", "text", "matches"], rows)
    assert [r[0] for r in picked] == EXPECTED[:3] and by == "embeddings"
    text, _, _, ids = compose(plan, cols, picked, None, ranked_by=by)
    assert ids == EXPECTED[:3]
    assert text.startswith("3 examples (most representative first) of the 7 reviews where the text mentions")
