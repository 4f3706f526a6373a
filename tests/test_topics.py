"""Topics plumbing on real data: persistence, labels, edits surviving refits, lineage, assignment, over-time tables.

Uses 600 real URR reviews from the bundled sample, real DuckDB and the real packaged embedding model. Clustering is
the registered PCA + KMeans *stand-in* backend (``pca-kmeans-standin``) because these tests are about what happens
around a fit; the real BERTopic backend is tested in test_topics_bertopic.py.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_cli, urr_sample

pytestmark = pytest.mark.slow   # its workspace fixture embeds ~600 real reviews (about 8 s) before the first test


STANDIN = "pca-kmeans-standin"


def _subset_csv(path, start, stop):
    return urr_sample(path, slice(start, stop))


@pytest.fixture(scope="module")
def embedded_db(tmp_path_factory):
    """A workspace with 600 real reviews ingested and embedded (built once, copied per test)."""
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("topics")
    with Store(d / "base.duckdb") as s:
        ingest_file(s, _subset_csv(d / "first.csv", 0, 600), source="reviews")
        embed_items(s)
    _subset_csv(d / "more.csv", 600, 660)
    return d


@pytest.fixture
def ws(embedded_db, tmp_path):
    from earful.store import Store

    shutil.copy(embedded_db / "base.duckdb", tmp_path / "w.duckdb")
    s = Store(tmp_path / "w.duckdb")
    s.more_csv = embedded_db / "more.csv"
    yield s
    s.close()


def _fit(store, **kw):
    from earful.topics.fit import fit_topics

    return fit_topics(store, backend=STANDIN, backend_params={"n_topics": 8}, **kw)


def test_fit_persists_topics_labels_and_assignments(ws):
    res = _fit(ws)
    n = ws.scalar("SELECT count(*) FROM items")
    assert n > 590 and res["items"] == n and res["topics"] == 8
    topics = ws.query("SELECT * FROM topics WHERE status = 'active'").to_pylist()
    assert len(topics) == 8
    for t in topics:
        assert t["name"] and 1 <= len(t["name"].replace(",", " ").split()) <= 6, t["name"]
        assert t["description"] and t["description"].endswith(".")
        assert t["keywords"] and len(t["representative_ids"]) == 5
        assert len(t["centroid"]) == 384
    assert len({t["name"] for t in topics}) == 8  # names are unique
    assert ws.scalar("SELECT count(*) FROM topic_assignments") == n
    assert ws.scalar("SELECT sum(size) FROM topics WHERE status='active'") == \
        ws.scalar("SELECT count(*) FROM topic_assignments WHERE topic_id <> -1")
    # the source view carries the topic columns
    row = ws.rows("SELECT topic_id, topic FROM reviews WHERE topic_id >= 0 LIMIT 1")[0]
    assert row[1] == ws.scalar("SELECT name FROM topics WHERE topic_id = ?", [row[0]])
    # representative items really are the closest members to the centroid
    t = topics[0]
    best = ws.rows("SELECT item_id FROM topic_assignments WHERE topic_id = ? ORDER BY score DESC LIMIT 5",
                   [t["topic_id"]])
    assert {r[0] for r in best} == set(t["representative_ids"])


def test_delete_makes_outliers(ws):
    """A deleted topic's items become outliers and stay so (the stand-in itself leaves no outliers)."""
    from earful.topics.fit import fit_topics

    res = fit_topics(ws, backend=STANDIN, backend_params={"n_topics": 8}, threshold=0.45)
    # the stand-in has no raw outliers; the 'delete' edit makes some, and 'assign' must respect the threshold
    assert res["outlier_rate_raw"] == 0.0
    victim = ws.scalar("SELECT topic_id FROM topics WHERE status='active' ORDER BY size LIMIT 1")
    from earful.topics.edits import edit

    edit(ws, "delete", [victim])
    assert ws.scalar("SELECT count(*) FROM topic_assignments WHERE topic_id = ?", [victim]) == 0
    assert ws.scalar("SELECT count(*) FROM topic_assignments WHERE topic_id = -1") > 0


def test_edits_survive_refit_with_lineage(ws):
    from earful.topics.edits import edit

    _fit(ws)
    by_size = [r[0] for r in ws.rows("SELECT topic_id FROM topics WHERE status='active' ORDER BY size DESC")]
    a, b, c, big, gone = by_size[1], by_size[2], by_size[3], by_size[0], by_size[-1]
    edit(ws, "rename", [a], "Crashes after update")
    edit(ws, "merge", [b, c])
    ov = edit(ws, "split", [big], "2")
    children = ov["result_ids"]
    edit(ws, "delete", [gone])
    before = dict(ws.rows("SELECT topic_id, size FROM topics WHERE status='active'"))
    assert c not in before and big not in before and gone not in before and set(children) <= set(before)

    res = _fit(ws)   # refit on the same data: every edit is re-applied
    assert res["overrides_applied"] == 4
    after = dict(ws.rows("SELECT topic_id, size FROM topics WHERE status='active'"))
    assert after == before
    assert ws.scalar("SELECT name FROM topics WHERE topic_id = ?", [a]) == "Crashes after update"
    assert ws.scalar("SELECT status FROM topics WHERE topic_id = ?", [c]) == "merged"
    assert ws.scalar("SELECT status FROM topics WHERE topic_id = ?", [gone]) == "deleted"
    assert ws.scalar("SELECT count(*) FROM topic_assignments WHERE topic_id = ?", [gone]) == 0
    events = ws.rows("SELECT DISTINCT event, topic_id, prev_topic_id FROM topic_lineage")
    assert ("merged", b, c) in events
    assert {("split", ch, big) for ch in children} <= set(events)
    assert ("deleted", None, gone) in events
    matched = ws.scalar("SELECT count(*) FROM topic_lineage WHERE run_id = ? AND event = 'matched'", [res["run_id"]])
    assert matched == 8


def test_ids_stable_when_refitting_with_10_percent_more(ws):
    from earful.ingest.pipeline import ingest_file

    _fit(ws)
    n0 = ws.scalar("SELECT count(*) FROM items")
    first = {r[0]: r[1] for r in ws.rows("SELECT topic_id, name FROM topics WHERE status='active'")}
    members = dict(ws.rows("SELECT item_id, topic_id FROM topic_assignments"))
    ingest_file(ws, ws.more_csv, source="reviews")
    res = _fit(ws)
    assert res["items"] == ws.scalar("SELECT count(*) FROM items") > n0
    second = {r[0] for r in ws.rows("SELECT topic_id FROM topics WHERE status='active'")}
    kept = len(set(first) & second) / len(first)
    assert kept >= 0.75, (first, second, res["lineage"])
    # the items' topics agree with the first fit for most of the original items
    now = dict(ws.rows("SELECT item_id, topic_id FROM topic_assignments"))
    same = np.mean([now[i] == t for i, t in members.items()])
    assert same >= 0.7


def test_assign_new_items_and_drift(ws):
    from earful.ingest.pipeline import ingest_file
    from earful.topics.assign import assign_new, drift

    _fit(ws)
    assert drift(ws)["new_items"] == 0
    n0 = ws.scalar("SELECT count(*) FROM items")
    ingest_file(ws, ws.more_csv, source="reviews")
    added = ws.scalar("SELECT count(*) FROM items") - n0
    res = assign_new(ws)
    assert added > 50 and res["new_items"] == added and res["assigned"] + res["outliers"] == added
    assert ws.scalar("SELECT count(*) FROM topic_assignments WHERE method = 'assigned'") == added
    # each new item got its nearest centroid
    from earful.embeddings import item_vectors
    from earful.topics.model import centroids

    ids, X = item_vectors(ws, [r[0] for r in ws.rows("SELECT item_id FROM topic_assignments WHERE method='assigned' "
                                                       "AND topic_id <> -1")])
    tids, C = centroids(ws)
    got = dict(ws.rows("SELECT item_id, topic_id FROM topic_assignments WHERE method='assigned'"))
    assert [got[i] for i in ids] == [tids[k] for k in (X @ C.T).argmax(axis=1)]
    d = drift(ws)
    assert d["new_items"] == added and isinstance(d["refit_recommended"], bool) and d["advice"]
    assert assign_new(ws)["new_items"] == 0


def test_over_time_trends_and_breakdowns(ws):
    from earful.topics.timeline import breakdown, over_time, trends, two_proportion_z

    _fit(ws)
    rows = over_time(ws, "month", include_outliers=True)
    per = {}
    for r in rows:
        per.setdefault(r["period"], []).append(r)
    for rs in per.values():
        assert abs(sum(r["share"] for r in rs) - 1) < 0.01
    direct = ws.rows("SELECT count(*) FROM topic_items WHERE created_at IS NOT NULL")[0][0]
    assert sum(r["count"] for r in rows) == direct
    z, p = two_proportion_z(50, 100, 30, 100)
    assert round(z, 3) == 2.887 and 0.003 < p < 0.005
    tr = trends(ws, days=365)
    assert tr and all(0 <= r["p_value"] <= 1 and r["trend"] in ("emerging", "fading", "stable") for r in tr)
    bd = breakdown(ws, "rating", source="reviews")
    assert {r["group"] for r in bd} <= {"1", "2", "3", "4", "5", None}
    assert sum(r["count"] for r in bd) == ws.scalar("SELECT count(*) FROM items")
    assert breakdown(ws)[0]["group"] == "reviews"


def test_hierarchy_and_charts(ws, tmp_path):
    from earful.topics.report import charts, hierarchy

    _fit(ws)
    h = hierarchy(ws)
    assert len(h) == 7  # n-1 merges for 8 topics
    root = max(h, key=lambda r: len(r["topic_ids"]))
    active = ws.rows("SELECT topic_id FROM topics WHERE status='active'")
    assert sorted(root["topic_ids"]) == sorted(r[0] for r in active)
    figs = charts(ws, tmp_path / "charts")
    assert [f["title"] for f in figs][0] == "Topic sizes"
    assert all((tmp_path / "charts").joinpath(f["png"].rsplit("/", 1)[-1]).stat().st_size > 1000 for f in figs)


def test_match_topics_events():
    from earful.topics.fit import match_topics

    rng = np.random.default_rng(0)
    prev = rng.normal(size=(4, 384)).astype(np.float32)
    prev /= np.linalg.norm(prev, axis=1, keepdims=True)
    new = prev[[2, 0, 1]]                     # same topics, new order; topic 13 gone
    extra = prev[0] + 0.01 * rng.normal(size=384).astype(np.float32)  # a second near-copy of topic 10: a split
    new = np.vstack([new, extra / np.linalg.norm(extra)])
    assigned, events = match_topics(new, [10, 11, 12, 13], prev, 0.8)
    assert [assigned[k] for k in range(3)] == [12, 10, 11]
    kinds = {(e[0], e[2]) for e in events}
    assert ("split", 10) in kinds and ("gone", 13) in kinds


def test_cli_list_show_edit_and_errors(ws):
    _fit(ws)
    db = ws.path
    ws.close()
    out = run_cli("topics", "list", "--json", db=db)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) >= {"outlier_rate", "topics"} and len(doc["topics"]) == 8
    t = doc["topics"][0]
    assert {"id", "name", "size", "share", "trend", "examples"} <= set(t) and len(t["examples"]) == 3
    assert run_cli("topics", "rename", str(t["id"]), "Battery drain", db=db).returncode == 0
    shown = json.loads(run_cli("topics", "show", str(t["id"]), "--json", db=db).stdout)
    assert shown["name"] == "Battery drain" and shown["label_source"] == "user"
    bad = run_cli("topics", "show", "999", db=db)
    assert bad.returncode == 2 and "no topic 999" in bad.stderr
    bad = run_cli("topics", "merge", str(t["id"]), db=db)
    assert bad.returncode == 2 and "at least two" in bad.stderr


def test_fit_reports_how_many_llm_topic_names_fell_back(ws):
    """A model that answers every topic with a reply that names no topic: the fit says all 8 kept keyword names."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel  # fake LLM text only

    from earful.topics.base import get_labeler

    fake = FakeListChatModel(responses=["Sorry, I cannot help with that."])
    res = _fit(ws, labeler=get_labeler("llm", store=ws, chat_model=fake))
    assert res["topics"] == 8 and res["label_fallbacks"] == 8
    assert _fit(ws)["label_fallbacks"] == 0          # the offline labeler never falls back
