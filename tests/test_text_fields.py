"""Strengths and weaknesses analysable on their own (#15): topics and classify over one text column of a source.

Real WildBench critiques from ../shared/datasets (about 160 rows spread over the 8 models, read with a stride), a
real DuckDB workspace, the real packaged embedding model (only the ``weaknesses`` texts are embedded, once per
module) and the registered PCA + KMeans *stand-in* topic backend, because these tests are about which texts reach
the topics and the classifiers, not about clustering quality. Planted on top of the real rows: a word that only the
strengths carry (it must never reach weakness topics), a flag word in some weaknesses (gold labels follow it) and the
same flag word in the strengths of other rows (the planted case where the joined text and the field disagree), and
three rows with no weaknesses text (skipped, never assigned or labelled).
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.conftest import run_cli, shared

pytestmark = pytest.mark.slow   # its workspace fixture embeds ~160 real critiques (tens of seconds) once

STANDIN = "pca-kmeans-standin"
PRAISE = "zqxpraise"          # only ever in strengths
FLAW = "zqxflaw"              # in the weaknesses of the 'flagged' gold rows; in the strengths of the planted rows
FLAWS = f"{FLAW.capitalize()} " + " ".join(f"{FLAW}{k}" for k in range(1, 25)) + "."   # the planted sentence
STRIDE, FIRST, MORE = 50, 7, 33


def _rows() -> tuple[list[dict], list[dict]]:
    """(the sample, 20 more rows for a later ingest), with the plants; every fifth row a role for classify."""
    lines = shared("wildbench_v2_critiques/critiques.jsonl").read_text(encoding="utf-8").splitlines()
    sample = [json.loads(x) for i, x in enumerate(lines) if i % STRIDE == FIRST]
    more = [json.loads(x) for i, x in enumerate(lines) if i % STRIDE == MORE][:20]
    for k, r in enumerate(sample):
        r.pop("extra_parsed_fields", None)
        if k % 2 == 0:
            r["strengths"] = f"{PRAISE.capitalize()} {PRAISE}: {r['strengths']}"
        role = k % 5
        r["flag"] = None
        if role == 0:        # gold 'flagged': the flag word is in the weaknesses
            r["weaknesses"] = f"{r['weaknesses']} {FLAWS}"
            r["flag"] = "flagged"
        elif role in (1, 2):  # gold 'clean'
            r["flag"] = "clean"
        elif role == 3:      # planted: the flag word only in the strengths, no gold
            r["strengths"] = f"{r['strengths']} {FLAWS}"
    for k, blank in zip((4, 9, 14), (None, "   ", "")):   # no weaknesses text (role 4: no gold, no plant)
        sample[k]["weaknesses"] = blank
    for r in more:
        r.pop("extra_parsed_fields", None)
        r["flag"] = None
    return sample, more


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A workspace with the sample ingested as 'wildbench' and its weaknesses texts embedded (built once)."""
    from earful.embeddings import embed_field, text_field
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("fields")
    sample, more = _rows()
    _write(d / "critiques.jsonl", sample)
    _write(d / "more.jsonl", more)
    with Store(d / "base.duckdb") as s:
        ingest_file(s, d / "critiques.jsonl", source="wildbench")
        embed_field(s, text_field(s, "wildbench", "weaknesses"))
    return d


@pytest.fixture
def db(base, tmp_path):
    shutil.copy(base / "base.duckdb", tmp_path / "w.duckdb")
    (tmp_path / "more.jsonl").write_text((base / "more.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    return tmp_path / "w.duckdb"


def _sql(db, sql, params=None):
    from earful.store import Store

    with Store(db, read_only=True) as s:
        return s.rows(sql, params)


def _ok(*args, db):
    r = run_cli(*args, db=db)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _json(*args, db):
    return json.loads(_ok(*args, "--json", db=db).stdout)


def _fit(db, *extra):
    return _json("topics", "fit", "--source", "wildbench", "--field", "weaknesses", "--backend", STANDIN, *extra,
                 db=db)


def _squash(t: str | None) -> str:
    return " ".join(str(t or "").split())


# -- topics ----------------------------------------------------------------------------------------------------------
def test_topics_over_weaknesses_take_names_keywords_and_quotes_from_the_weaknesses_only(db):
    res = _fit(db)
    n, blank = _sql(db, "SELECT count(*), count(*) FILTER (WHERE weaknesses IS NULL OR trim(weaknesses) = '') "
                        "FROM wildbench")[0]
    assert blank == 3 and res["skipped"] == 3 and res["field"] == "weaknesses" and res["items"] == n - 3
    # the three items with no weaknesses text are not assigned; every other item is
    assert _sql(db, "SELECT count(*) FROM topic_assignments")[0][0] == n - 3
    assert _sql(db, "SELECT count(*) FROM topic_assignments a JOIN wildbench w USING (item_id) "
                    "WHERE w.weaknesses IS NULL OR trim(w.weaknesses) = ''")[0][0] == 0
    assert json.loads(_sql(db, "SELECT params FROM topic_runs")[0][0])["field"] == "weaknesses"
    # the strengths-only word is in half the joined texts, and never in a topic's name, keywords or quotes
    assert _sql(db, f"SELECT count(*) FROM items WHERE text ILIKE '%{PRAISE}%'")[0][0] > 50
    doc = _json("topics", "list", "--examples", "5", db=db)
    assert doc["field"] == {"source": "wildbench", "column": "weaknesses"}
    weak = dict(_sql(db, "SELECT item_id, weaknesses FROM wildbench"))
    joined = dict(_sql(db, "SELECT item_id, text FROM items"))
    quotes = 0
    for t in doc["topics"]:
        assert PRAISE not in (t["name"] + " ".join(t["keywords"])).lower(), t
        for e in t["examples"]:
            quote = e["text"].rstrip("…")
            assert PRAISE not in quote.lower()
            assert _squash(weak[e["item_id"]]).startswith(quote), (quote, weak[e["item_id"]])
            assert not _squash(joined[e["item_id"]]).startswith(quote)   # the joined text starts with strengths
            quotes += 1
    assert quotes >= 5
    for reps, kws in _sql(db, "SELECT representative_ids, keywords FROM topics WHERE status='active'"):
        assert reps and all(weak[i] and weak[i].strip() for i in reps)
        assert PRAISE not in " ".join(kws).lower()
    shown = _ok("topics", "show", str(doc["topics"][0]["id"]), db=db).stdout
    assert "text field: weaknesses (source wildbench)" in " ".join(shown.split())
    # the fit clustered the weaknesses' vectors: the centroids are the means of the members' weaknesses vectors
    vec = {i: np.asarray(v, dtype=np.float32) for i, v in _sql(
        db, "SELECT w.item_id, e.vector FROM wildbench w JOIN embeddings e ON e.content_hash = md5(w.weaknesses)")}
    for tid, centroid in _sql(db, "SELECT topic_id, centroid FROM topics WHERE status = 'active'"):
        members = [i for (i,) in _sql(db, "SELECT item_id FROM topic_assignments WHERE topic_id = ?", [tid])]
        m = np.mean([vec[i] for i in members], axis=0)
        assert np.allclose(m / np.linalg.norm(m), centroid, atol=1e-4)
    # the joined texts were never embedded: only the field's texts were
    assert _sql(db, "SELECT count(*) FROM items i JOIN embeddings e ON e.content_hash = i.content_hash")[0][0] == 0


def test_a_refit_over_the_field_keeps_a_rename_and_new_items_are_assigned_by_their_weaknesses(db, tmp_path):
    first = _fit(db)
    tid = _sql(db, "SELECT topic_id FROM topics WHERE status = 'active' ORDER BY size DESC, topic_id LIMIT 1")[0][0]
    _ok("topics", "rename", str(tid), "Flaws we care about", db=db)
    again = _fit(db)
    assert again["overrides_applied"] == 1 and again["lineage"].get("matched") == first["topics"]
    assert _sql(db, "SELECT name, status FROM topics WHERE topic_id = ?", [tid])[0] == ("Flaws we care about",
                                                                                       "active")
    # new rows: the ingest hook assigns them, by the nearest centroid of their *weaknesses* vector
    before = {i for (i,) in _sql(db, "SELECT item_id FROM items")}
    _ok("ingest", str(tmp_path / "more.jsonl"), "--source", "wildbench", db=db)
    rows = _sql(db, "SELECT item_id, topic_id, score, method FROM topic_assignments")
    new = [(i, t, s) for i, t, s, _ in rows if i not in before]
    assert len(new) == 20 and {m for i, _, _, m in rows if i not in before} == {"assigned"}
    ids, C = zip(*_sql(db, "SELECT topic_id, centroid FROM topics WHERE status = 'active' ORDER BY topic_id"))
    C = np.asarray(C, dtype=np.float32)
    vec = dict(_sql(db, "SELECT w.item_id, e.vector FROM wildbench w JOIN embeddings e "
                        "ON e.content_hash = md5(w.weaknesses)"))
    for item, topic, score in new:
        sims = C @ np.asarray(vec[item], dtype=np.float32)
        assert abs(score - sims.max()) < 1e-4
        assert topic == (ids[int(sims.argmax())] if sims.max() >= 0.3 else -1)
    assert _sql(db, "SELECT count(*) FROM items i JOIN embeddings e ON e.content_hash = i.content_hash")[0][0] == 0
    # `topics assign` says which field it uses, and finds nothing left to do
    out = _json("topics", "assign", db=db)
    assert out["field"] == "weaknesses" and out["new_items"] == 0 and out["skipped"] == 3


def test_a_fit_over_another_field_starts_new_topics_and_says_so(db):
    first = _fit(db)
    old = {t for (t,) in _sql(db, "SELECT topic_id FROM topics WHERE status = 'active'")}
    _ok("topics", "rename", str(min(old)), "Flaws we care about", db=db)
    other = _json("topics", "fit", "--source", "wildbench", "--field", "model", "--backend", STANDIN, db=db)
    assert other["field"] == "model" and other["overrides_applied"] == 0
    assert "fitted over the weaknesses texts of wildbench and these over the model texts" in other["note"]
    assert other["lineage"] == {"new": other["topics"]} and len(old) == first["topics"]
    assert {st for (st,) in _sql(db, "SELECT DISTINCT status FROM topics WHERE topic_id IN (SELECT unnest(?))",
                                 [sorted(old)])} == {"gone"}
    new = {t for (t,) in _sql(db, "SELECT topic_id FROM topics WHERE status = 'active'")}
    assert not new & old and "Flaws we care about" not in {n for (n,) in _sql(db, "SELECT name FROM topics "
                                                                                  "WHERE status = 'active'")}
    doc = _json("topics", "list", db=db)
    assert doc["field"] == {"source": "wildbench", "column": "model"}
    models = {m.lower() for (m,) in _sql(db, "SELECT DISTINCT model FROM wildbench")}
    assert all(e["text"].lower() in models for t in doc["topics"] for e in t["examples"])


def _counts(db) -> dict:
    tables = [t for (t,) in _sql(db, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                     "AND table_type = 'BASE TABLE'")]
    return {t: _sql(db, f'SELECT count(*) FROM "{t}"')[0][0] for t in tables}


@pytest.mark.parametrize("command", [
    ["topics", "fit", "--backend", STANDIN],
    ["classify", "run", "-t", "sentiment"],
    ["classify", "train", "-t", "flag", "--gold-column", "flag", "--method", "tfidf"],
    ["classify", "eval", "-t", "flag", "--gold-column", "flag", "--methods", "tfidf"],
])
def test_a_bad_field_exits_2_names_the_text_columns_and_changes_nothing(db, command):
    before = _counts(db)
    for extra, says in ((["--source", "wildbench", "--field", "score"], "'score' is not a text column (BIGINT)"),
                        (["--source", "wildbench", "--field", "nope"], "'nope' is not a column"),
                        (["--field", "weaknesses"], "--field weaknesses needs --source")):
        r = run_cli(*command, *extra, db=db)
        out = " ".join((r.stdout + r.stderr).split())
        assert r.returncode == 2, out
        assert says in out, out
        if "--source" in extra:
            assert "text columns: text, session_id, model, model_test, judge, strengths, weaknesses" in out, out
    assert _counts(db) == before


# -- classify ----------------------------------------------------------------------------------------------------------
def test_labels_over_the_weaknesses_are_stored_as_tax_at_field_and_come_from_the_weaknesses(db):
    # the same taxonomy and gold column, trained and run once over the joined text and once over the weaknesses
    _ok("classify", "train", "-t", "flag", "--gold-column", "flag", "--source", "wildbench", "--method", "tfidf", db=db)
    _ok("classify", "run", "-t", "flag", "--source", "wildbench", db=db)
    tr = _json("classify", "train", "-t", "flag", "--gold-column", "flag", "--source", "wildbench",
               "--field", "weaknesses", "--method", "tfidf", db=db)
    assert tr["taxonomy"] == "flag@weaknesses"
    run = _json("classify", "run", "-t", "flag", "--source", "wildbench", "--field", "weaknesses", db=db)
    assert run["taxonomy"] == "flag@weaknesses" and run["skipped"] == 3
    n = _sql(db, "SELECT count(*) FROM items")[0][0]
    assert dict(_sql(db, "SELECT taxonomy, count(*) FROM classify_labels GROUP BY 1")) == \
        {"flag": n, "flag@weaknesses": n - 3}
    # gold of the field run: only items that have a weaknesses text
    assert _sql(db, "SELECT count(*) FROM classify_gold WHERE taxonomy = 'flag@weaknesses'")[0][0] == \
        _sql(db, "SELECT count(*) FROM wildbench WHERE flag IS NOT NULL AND trim(weaknesses) <> ''")[0][0]
    # the planted rows carry the flag word in their strengths only: flagged over the joined text, clean over the
    # weaknesses; the rows whose weaknesses carry it are flagged both ways
    labels = {(i, t): lab for i, t, lab in _sql(db, "SELECT item_id, taxonomy, label FROM classify_labels")}
    planted = [i for (i,) in _sql(db, f"SELECT item_id FROM wildbench WHERE strengths ILIKE '%{FLAW}%'")]
    weak_flag = [i for (i,) in _sql(db, f"SELECT item_id FROM wildbench WHERE weaknesses ILIKE '%{FLAW}%'")]
    assert len(planted) >= 20 and len(weak_flag) >= 20
    field_clean = sum(labels[(i, "flag@weaknesses")] == "clean" for i in planted)
    joined_flagged = sum(labels[(i, "flag")] == "flagged" for i in planted)
    assert field_clean == len(planted) and joined_flagged >= 0.9 * len(planted), (field_clean, joined_flagged)
    assert all(labels[(i, "flag@weaknesses")] == "flagged" for i in weak_flag)
    # the view has both columns; shares read the field's labels; the profile's --labels can name them
    cols = {c for (c, *_) in _sql(db, "DESCRIBE wildbench")}
    assert {"flag_weaknesses", "flag_weaknesses_confidence", "flag"} <= cols
    shares = _json("classify", "shares", "-t", "flag@weaknesses", db=db)
    assert shares["n"] == n - 3
    # -t TAX@COL is the same as -t TAX --field COL
    again = _json("classify", "run", "-t", "flag@weaknesses", "--source", "wildbench", db=db)
    assert again["taxonomy"] == "flag@weaknesses" and again["labelled"] == 0


def test_eval_over_the_field_is_stored_under_tax_at_field(db):
    out = _json("classify", "eval", "-t", "flag", "--gold-column", "flag", "--source", "wildbench",
                "--field", "weaknesses", "--methods", "tfidf", "--folds", "3", db=db)
    assert out["taxonomy"] == "flag@weaknesses"
    assert out["methods"]["tfidf"]["accuracy"] >= 0.9   # the flag word in the weaknesses decides the gold label
    assert _sql(db, "SELECT DISTINCT taxonomy FROM classify_evals") == [("flag@weaknesses",)]


# -- profiles ----------------------------------------------------------------------------------------------------------
def test_the_profile_tree_topics_is_the_weakness_topics(db):
    from earful.qa_agent.profiles import build_profile

    _fit(db)
    prof = build_profile(db, "wildbench", "model", "score", tree="topics", quotes=0, min_items=5)
    assert "over the weaknesses texts of wildbench" in prof.tree.origin
    assert any(n.startswith("3 items have no weaknesses text") for n in prof.notes), prof.notes
    assert not any("fitted after the topics" in n for n in prof.notes), prof.notes
    names = {name for (name,) in _sql(db, "SELECT name FROM topics WHERE status = 'active'")}
    leaves = {prof.tree.nodes[v].name for v in prof.tree.leaves()}
    assert {n.split(" (topic ")[0] for n in leaves} == names
    assert prof.n.sum(axis=0)[0] == _sql(db, "SELECT count(*) FROM wildbench")[0][0]
