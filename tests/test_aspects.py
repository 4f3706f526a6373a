"""Aspect topics over mentions: generic and evaluative words out of names, item-level aspects from mentions, stable
ids and edits across refits, new mentions assigned, and "top complaints" with quotes and praise side by side.

Real URR reviews, real DuckDB, the real packaged embedding model; the real BERTopic aspect backend in one test, the
registered PCA + KMeans stand-in where a test is about what happens around a fit.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_cli, urr_sample

STANDIN = "pca-kmeans-standin"


@pytest.mark.parametrize("text,general", [
    ("Love it!!!", True), ("Great game", True), ("Works fine", True), ("ok", True), ("Best app ever", True),
    ("but ridiculously hard", False), ("Battery drain is awful", False), ("Too many ads", False),
    ("can't uninstall it", False),
])
def test_general_mentions(text, general):
    from earful.topics.aspects import is_general

    assert is_general(text) is general


@pytest.mark.parametrize("name,generic", [
    ("Praise: great app", True), ("Ok, okay", True), ("Works", True), ("Praise: fun game", True),
    ("Miscellaneous", True), ("Battery drain, charging", False), ("Can't uninstall", False),
    ("Sms app, messaging, whatsapp", False), ("Uninstall can't", False),
])
def test_generic_name_check(name, generic):
    from earful.topics.aspects import is_generic_name

    assert is_generic_name(name) is generic


def test_aspect_names_are_noun_phrases_without_generic_words():
    from earful.topics.aspects import aspect_name, clean_keywords

    assert aspect_name(["battery", "battery drain", "drain", "charge"]) == "Battery drain, charge"
    assert aspect_name(["great app", "love", "good"]) == "Miscellaneous"
    assert clean_keywords(["files doesn't", "does does", "crashes crash", "can't uninstall", "great ads", "ads"]) == \
        ["can't uninstall", "ads"]
    assert aspect_name(["crashes crash", "fixed fix", "lt", "xd"]) == "Miscellaneous"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """400 real reviews ingested, segmented, polarity-scored and their mentions embedded (built once)."""
    from earful.embeddings import Embedder
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.mentions import embed_mentions, segment
    from earful.topics.polarity import score_polarity

    d = tmp_path_factory.mktemp("aspects")
    with Store(d / "base.duckdb") as s:
        ingest_file(s, urr_sample(d / "first.csv", slice(0, 400)), source="reviews")
        segment(s)
        score_polarity(s)
        embed_mentions(s, Embedder())
    urr_sample(d / "more.csv", slice(400, 440))
    return d


@pytest.fixture
def ws(base, tmp_path):
    from earful.store import Store

    shutil.copy(base / "base.duckdb", tmp_path / "w.duckdb")
    s = Store(tmp_path / "w.duckdb")
    s.more_csv = base / "more.csv"
    yield s
    s.close()


def _fit(store, **kw):
    from earful.topics.aspects import fit_aspects

    return fit_aspects(store, backend=STANDIN, backend_params={"n_topics": 8}, **kw)


@pytest.mark.slow
def test_bertopic_aspects_have_no_generic_names_and_praise_is_general(ws):
    from earful.topics.aspects import aspect_list, fit_aspects, is_generic_name

    res = fit_aspects(ws)
    assert res["aspects"] >= 3 and res["general"] > 0 and res["mentions"] == res["general"] + res["clustered"]
    names = [a["name"] for a in aspect_list(ws)]
    assert names and not [n for n in names if is_generic_name(n)]
    stop = {"great", "love", "good", "ok", "works", "app", "game"}
    kws = [k for (ks,) in ws.rows("SELECT keywords FROM aspects WHERE status = 'active'") for k in ks]
    assert not [k for k in kws if set(k.lower().split()) & stop]
    # a mention of nothing but praise is general (-2), never in an aspect
    assert ws.scalar("SELECT aspect_id FROM mentions WHERE lower(text) IN ('love it', 'love it!', 'great app') "
                     "LIMIT 1") in (None, -2)


def test_item_level_aspects_come_from_mentions(ws):
    from earful.topics.aspects import item_primary_aspects

    _fit(ws)
    assert ws.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
    multi = ws.scalar("SELECT count(*) FROM (SELECT item_id FROM item_aspects WHERE aspect_id >= 0 "
                      "GROUP BY item_id HAVING count(*) > 1)")
    assert multi > 0   # an item can have several aspects
    primary = item_primary_aspects(ws)
    assert set(primary) == {r[0] for r in ws.rows("SELECT DISTINCT item_id FROM mentions")}
    item, aid = next((i, a) for i, a in primary.items() if a >= 0)
    assert aid in {r[0] for r in ws.rows("SELECT aspect_id FROM mentions WHERE item_id = ?", [item])}
    # sizes count mentions
    assert ws.scalar("SELECT sum(size) FROM aspects WHERE status = 'active'") == \
        ws.scalar("SELECT count(*) FROM mentions WHERE aspect_id >= 0")


def test_fit_on_a_sample_embeds_only_the_sample_and_assigns_the_rest_by_text(tmp_path):
    """Fit on samples, apply at scale: only the sampled mentions are embedded (and no general one); every other
    mention still gets an aspect, from the text classifier trained on the sample's aspects."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.aspect_assign import GENERAL_SAMPLE
    from earful.topics.aspects import fit_aspects, is_general
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    with Store(tmp_path / "s.duckdb") as s:
        ingest_file(s, urr_sample(tmp_path / "s.csv", slice(0, 300)), source="reviews")
        segment(s)
        score_polarity(s)                       # the lexicon: no vectors needed
        res = fit_aspects(s, backend=STANDIN, backend_params={"n_topics": 6}, sample_cap=150)
        texts = s.rows("SELECT DISTINCT content_hash, text FROM mentions")
        with_vec = {h for (h,) in s.rows("SELECT content_hash FROM embeddings")}
        assert res["fitted_on"] == 150 and 0 < res["embedded"] <= 150 and res["by_text"] > 0
        specific = [h for h, t in texts if not is_general(t)]
        assert len([h for h in specific if h in with_vec]) <= 150 < len(specific)
        # general mentions: only the sample that locates them (to fold praise-only aspects), never all
        assert len([h for h, t in texts if h in with_vec and is_general(t)]) <= GENERAL_SAMPLE
        assert s.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
        by_text = s.rows("SELECT aspect_id FROM mentions WHERE aspect_method = 'text'")
        assert 0 < len(by_text) <= res["by_text"] and all(a >= 0 for (a,) in by_text)   # some folded: generic
        assert s.scalar("SELECT count(*) FROM mentions WHERE aspect_id = -2") == res["general"]


def test_item_primary_aspect_is_what_it_complains_about(ws):
    from earful.topics.aspects import item_primary_aspects

    _fit(ws)
    item = ws.scalar("SELECT item_id FROM mentions GROUP BY item_id HAVING count(*) >= 3 ORDER BY item_id LIMIT 1")
    a1, a2 = [r[0] for r in ws.rows("SELECT aspect_id FROM aspects WHERE status = 'active' ORDER BY aspect_id "
                                    "LIMIT 2")]
    last = ws.scalar("SELECT max(seq) FROM mentions WHERE item_id = ?", [item])
    ws.con.execute("UPDATE mentions SET aspect_id = ?, polarity = 'positive', polarity_score = 0.8 "
                   "WHERE item_id = ? AND seq < ?", [a1, item, last])
    ws.con.execute("UPDATE mentions SET aspect_id = ?, polarity = 'negative', polarity_score = -0.6 "
                   "WHERE item_id = ? AND seq = ?", [a2, item, last])
    assert item_primary_aspects(ws)[item] == a2        # one complaint outweighs two praises of another aspect
    ws.con.execute("UPDATE mentions SET polarity = 'neutral', polarity_score = 0 WHERE item_id = ? AND seq = ?",
                   [item, last])
    assert item_primary_aspects(ws)[item] == a1        # no complaint: the aspect of most mentions


def test_an_aspect_that_is_only_praise_is_folded_into_general(ws):
    """An aspect whose centroid sits with the general mentions ("Loved it Dude", "Excellent app No issues") is praise,
    not an aspect: `generic_aspects` finds it, and a fit turns its mentions general."""
    import numpy as np

    from earful.embeddings import Embedder
    from earful.topics.aspect_assign import generic_aspects
    from earful.topics.aspects import is_general
    from earful.topics.mentions import embed_mentions, mention_vectors

    general = [m for m, t in ws.rows("SELECT mention_id, text FROM mentions ORDER BY mention_id") if is_general(t)]
    emb = Embedder()
    embed_mentions(ws, emb, mention_ids=general, skip_general=False)
    _, texts, V = mention_vectors(ws, emb.model_id)
    g = V[[is_general(t) for t in texts]].mean(axis=0)
    g /= np.linalg.norm(g)
    other = np.random.default_rng(0).normal(size=g.shape)
    other -= (other @ g) * g
    C = np.stack([other / np.linalg.norm(other), g]).astype(np.float32)
    assert generic_aspects(ws, emb, C, general) == [1]
    assert generic_aspects(ws, emb, C[:1], general) == []          # nothing like praise: nothing folded
    assert generic_aspects(ws, emb, C[1:], general) == []          # never every aspect
    res = _fit(ws)
    folded = ws.rows("SELECT DISTINCT aspect_id FROM mentions WHERE aspect_method = 'generic'")
    assert folded in ([], [(-2,)]) and res["mentions"] == res["general"] + res["clustered"]


def test_refit_keeps_ids_and_replays_edits(ws):
    from earful.topics.aspects import edit_aspect

    _fit(ws)
    ids = [r[0] for r in ws.rows("SELECT aspect_id FROM aspects WHERE status = 'active' ORDER BY size DESC")]
    edit_aspect(ws, "rename", [ids[0]], "Comic loading")
    edit_aspect(ws, "merge", [ids[1], ids[2]])
    edit_aspect(ws, "delete", [ids[3]])
    res = _fit(ws)
    assert res["lineage"].get("matched", 0) >= len(ids) - 1 and res["overrides_applied"] == 3
    status = dict(ws.rows("SELECT aspect_id, status FROM aspects"))
    assert ws.scalar("SELECT name FROM aspects WHERE aspect_id = ?", [ids[0]]) == "Comic loading"
    assert status[ids[2]] == "merged" and status[ids[3]] == "deleted"
    assert ws.scalar("SELECT count(*) FROM mentions WHERE aspect_id IN (?, ?)", [ids[2], ids[3]]) == 0
    events = {r[0] for r in ws.rows("SELECT event FROM aspect_lineage")}
    assert {"new", "matched", "renamed", "merged", "deleted"} <= events


def test_edit_errors(ws):
    from earful.errors import InputError, NotFoundError
    from earful.topics.aspects import edit_aspect

    _fit(ws)
    with pytest.raises(NotFoundError, match="aspects list"):
        edit_aspect(ws, "rename", [999], "x")
    aid = ws.scalar("SELECT min(aspect_id) FROM aspects")
    with pytest.raises(InputError):
        edit_aspect(ws, "rename", [aid], " ")
    with pytest.raises(InputError):
        edit_aspect(ws, "merge", [aid, aid])


def test_new_items_get_aspects_without_refit(ws):
    from earful.ingest.pipeline import ingest_file
    from earful.topics.aspects import assign_new_mentions
    from earful.topics.mentions import segment
    from earful.topics.polarity import score_polarity

    _fit(ws)
    ingest_file(ws, ws.more_csv, source="reviews")
    segment(ws)
    score_polarity(ws)
    res = assign_new_mentions(ws)
    assert res["assigned"] + res["general"] + res["outliers"] > 40
    assert ws.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
    assert assign_new_mentions(ws)["assigned"] == 0   # rerun: nothing new


def test_top_complaints_rank_negative_mentions_with_quotes_and_praise(ws):
    from earful.topics.complaints import format_complaints, top_complaints

    _fit(ws)
    rows = top_complaints(ws, n=3)
    assert 1 <= len(rows) <= 3
    assert [r["negative"] for r in rows] == sorted((r["negative"] for r in rows), reverse=True)
    for r in rows:
        assert r["aspect_id"] >= 0 and r["negative"] > 0
        assert r["negative_share"] == round(r["negative"] / r["mentions"], 3)
        assert r["quotes"] and len(r["quotes"]) <= 3
        pols = {q["mention_id"]: None for q in r["quotes"] + r["praise"]}
        got = dict(ws.rows("SELECT mention_id, polarity || ':' || aspect_id FROM mentions WHERE mention_id IN "
                           "(SELECT unnest(?::VARCHAR[]))", [list(pols)]))
        assert all(got[q["mention_id"]] == f"negative:{r['aspect_id']}" for q in r["quotes"])
        assert all(got[q["mention_id"]] == f"positive:{r['aspect_id']}" for q in r["praise"])
        assert all(q["text"] in ws.scalar("SELECT text FROM items WHERE item_id = ?", [q["item_id"]])
                   for q in r["quotes"])
    # the negative count is the SQL count over the view, in mentions
    top = rows[0]
    assert top["negative"] == ws.scalar("SELECT count(*) FROM mention_items WHERE aspect_id = ? AND "
                                        "polarity = 'negative'", [top["aspect_id"]])
    assert format_complaints(rows)[0].startswith(f"1. {top['aspect']}: {top['negative']} negative mentions")


def test_top_complaints_period_and_errors(ws, tmp_path):
    from earful.errors import InputError, NotFoundError
    from earful.store import Store
    from earful.topics.complaints import top_complaints

    with pytest.raises(NotFoundError, match="topics mentions"):
        with Store(tmp_path / "empty.duckdb") as e:
            top_complaints(e)
    with pytest.raises(NotFoundError, match="aspects fit"):
        top_complaints(ws)
    _fit(ws)
    everything = sum(r["negative"] for r in top_complaints(ws, n=50))
    mid = ws.scalar("SELECT quantile_disc(created_at, 0.5)::DATE FROM items")
    later = sum(r["negative"] for r in top_complaints(ws, since=mid, n=50))
    earlier = sum(r["negative"] for r in top_complaints(ws, until=mid, n=50))
    assert later + earlier == everything and 0 < later < everything
    with pytest.raises(InputError, match="not a date"):
        top_complaints(ws, since="March")
    with pytest.raises(InputError, match="not before"):
        top_complaints(ws, since="2016-05-01", until="2016-01-01")


@pytest.mark.slow
def test_cli_mentions_aspects_and_complaints(base, tmp_path):
    db = tmp_path / "c.duckdb"
    shutil.copy(base / "base.duckdb", db)
    res = run_cli("topics", "mentions", "--json", db=db)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["segment"]["mentions_added"] == 0 and doc["polarity"]["scored"] == 0   # rerun: nothing new
    res = run_cli("topics", "aspects", "fit", "--backend", STANDIN, "--json", db=db)
    assert res.returncode == 0, res.stderr
    res = run_cli("topics", "complaints", "--since", "2014-01-01", "--n", "2", db=db)
    assert res.returncode == 0, res.stderr
    assert "1. " in res.stdout and "negative mentions of" in res.stdout
    bad = run_cli("topics", "complaints", "--since", "March", db=db)
    assert bad.returncode != 0 and "not a date" in (bad.stderr + bad.stdout)


@pytest.mark.slow
def test_demo_step_fits_aspects_so_top_complaints_are_answered(tmp_path):
    """The topics stage's demo step leaves mentions and aspects behind: "top 5 complaints since March" is answered
    with aspects ranked by negative mentions (it declined on a fresh demo before)."""
    from rich.console import Console

    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics import demo

    db = tmp_path / "d.duckdb"
    console = Console(record=True, width=120)
    with Store(db) as s:
        ingest_file(s, urr_sample(tmp_path / "d.csv", slice(0, 300)), source="reviews")
        demo.aspects(s, console, "reviews", backend=STANDIN, backend_params={"n_topics": 6})
        assert s.scalar("SELECT count(*) FROM mentions WHERE aspect_id IS NULL") == 0
    out = console.export_text()
    assert "top 5 complaints" in out and "1. " in out and "negative mentions of" in out
    res = run_cli("ask", "What are the top 5 complaints since March?", db=db)
    assert res.returncode == 0, res.stderr
    assert "ranked by negative mentions" in res.stdout and "I can't answer" not in res.stdout


def test_the_text_classifier_learns_from_a_capped_seeded_sample(monkeypatch):
    """`text_assign` trains on at most `cap` embedded mentions (a million-item workspace has hundreds of thousands
    with a vector: the SVM ran for over 20 minutes on 100,000 items before the cap), the same sample for the same
    seed, and still gives every unembedded mention one of the known aspects."""
    from sklearn.svm import LinearSVC

    from earful.topics.aspect_assign import text_assign

    words = {0: "battery drains charging", 1: "crash crashes closes", 2: "ads popups advertising"}
    known = [f"{words[k % 3]} {k}" for k in range(300)]
    labels = np.array([k % 3 for k in range(300)])
    seen = []
    real_fit = LinearSVC.fit
    monkeypatch.setattr(LinearSVC, "fit", lambda self, X, y: seen.append(X.shape[0]) or real_fit(self, X, y))
    texts = ["the battery drains", "it crashes", "too many ads"]
    a = text_assign(known, labels, texts, cap=60, seed=1)
    b = text_assign(known, labels, texts, cap=60, seed=1)
    full = text_assign(known, labels, texts)
    assert seen == [60, 60, 300]
    assert a[0].tolist() == b[0].tolist() == full[0].tolist() == [0, 1, 2]
