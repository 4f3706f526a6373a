"""Strengths and weaknesses are analysed separately by `earful profile`: a weakness's representative quotes are chosen
in the space of the `weaknesses` texts themselves, even when the workspace holds embeddings of the joined `text`
(which mixes praise and criticism). Real WildBench critiques, ingested through the real pipeline (the `wildbench`
ingest profile: `text` is the two joined, and each stays its own column); a planted subject gives a weakness.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import shared, sql_rows

MODELS = ("gpt-3.5-turbo-0125", "gemma-7b-it", "reka-edge")


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    from earful.embeddings import get_embedding_model
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("pftexts")
    rows = [json.loads(x) for x in open(shared("wildbench_v2_critiques/critiques.jsonl"), encoding="utf-8")]
    tasks = sorted({r["session_id"] for r in rows})[:300]
    keep = set(tasks)
    cat = {t: "ABCD"[k % 4] for k, t in enumerate(tasks)}
    out = []
    for r in rows:
        if r["session_id"] in keep and r["model"] in MODELS:
            r = {k: v for k, v in r.items() if k != "extra_parsed_fields"} | {"category": cat[r["session_id"]]}
            out.append(r)
            if r["model"] == MODELS[0]:            # a copy of it, 3 points weaker in category A
                out.append(dict(r, model="planted", judge="synthetic",
                                score=max(1, r["score"] - 3) if r["category"] == "A" else r["score"]))
    path = d / "wb.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    db = d / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, path, source="wb")
        # embeddings of the joined `text`, as `earful embed` stores them (random vectors stand in for MiniLM's:
        # what matters is that they exist, so a quote chosen in their space would differ from one chosen in the
        # weaknesses' own space)
        hashes = [r[0] for r in s.rows("SELECT DISTINCT content_hash FROM items ORDER BY 1")]
        vecs = np.random.default_rng(0).normal(size=(len(hashes), 384)).astype(np.float32)
        model = get_embedding_model().name
        with s.transaction() as con:
            con.executemany("INSERT INTO embeddings (content_hash, model_id, vector) VALUES (?, ?, ?)",
                            [(h, model, v.tolist()) for h, v in zip(hashes, vecs)])
    return db


def _nearest_in_own_space(texts: dict, cand: list[str], side: set[str], k: int = 3) -> list[str]:
    """An independent pick: TF-IDF over the candidates' own texts, cosine to their centroid, the side's best k."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform([texts[i] for i in cand])
    sims = np.asarray(x @ np.asarray(x.mean(axis=0)).ravel()).ravel()
    order = sorted((j for j, i in enumerate(cand) if i in side), key=lambda j: (-round(float(sims[j]), 12), cand[j]))
    return [cand[j] for j in order][:k]


def test_weakness_quotes_are_chosen_among_the_weaknesses_texts(ws):
    from earful.qa_agent.profiles import build_profile

    (joined, both), = sql_rows(ws, "SELECT count(*) FILTER (WHERE strpos(text, weaknesses) > 0 AND "
                                   "strpos(text, strengths) > 0), count(*) FROM wb")
    assert joined == both > 1000                     # `text` joins the two (kept for search) ...
    prof = build_profile(ws, "wb", "model", "score", category_column="category", unit_column="session_id",
                         subjects=["planted"])
    weak = prof.weaknesses("planted")
    assert [f.node for f in weak] == ["A"]
    f = weak[0]
    assert "weaknesses" in f.quote_space and "embeddings" not in f.quote_space   # ... but not analysed as one
    rows = sql_rows(ws, "SELECT item_id, weaknesses, score FROM wb WHERE model = 'planted' AND category = 'A' "
                        "ORDER BY item_id")
    texts = {i: w for i, w, _ in rows}
    mean = np.mean([s for _, _, s in rows])
    side = {i for i, _, s in rows if s < mean}
    assert [q.item_id for q in f.quotes] == _nearest_in_own_space(texts, [r[0] for r in rows], side)
    assert all(q.text == texts[q.item_id] for q in f.quotes)


def test_quotes_of_the_joined_text_still_use_its_embeddings(ws):
    from earful.qa_agent.profiles import build_profile

    prof = build_profile(ws, "wb", "model", "score", category_column="category", unit_column="session_id",
                         subjects=["planted"], weakness_column="text")
    f = prof.weaknesses("planted")[0]
    assert f.quote_space == "stored embeddings"
    joined = {i: t for i, t in sql_rows(ws, "SELECT item_id, text FROM wb WHERE model = 'planted'")}
    assert f.quotes and all(q.text == joined[q.item_id] for q in f.quotes)


def test_wildbench_taxonomy_has_response_like_examples_per_tag():
    from earful.classify.base import parse_taxonomy
    from earful.qa_agent.profiles.wildbench import TAG_TO_GROUP, taxonomy_yaml

    tax = parse_taxonomy(taxonomy_yaml())
    assert tax.name == "wildbench_tasks" and sorted(tax.label_names) == sorted(TAG_TO_GROUP)
    assert all(len(lab.examples) >= 3 and lab.description for lab in tax.labels)
    plain = parse_taxonomy(taxonomy_yaml("wildbench_plain", examples=False))
    assert plain.name == "wildbench_plain" and not any(lab.examples for lab in plain.labels)
