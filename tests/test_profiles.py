"""Feedbacker-style profiles over the shared WildBench critiques: every model profiled, node statistics recomputed
with plain SQL, a planted weakness found at the right node, a null subject with no weakness in >= 95 of 100 seeds,
and a Feedbacker-format tree imported.

The critiques carry no task category (WildBench's tags live in the prompts, which are not shared), so these tests
give each critique a stand-in category with the keyword rules in `RULES` over its strengths and weaknesses, and let
the unit column (``session_id``: the 8 responses to one task) give every response of a task its majority category.
The rules only need to be deterministic and independent of the planted effect; they are not WildBench's tags.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import shared, sql_rows

RULES = [("Coding & Debugging", r"\bcode\b|python|javascript|\bsql\b|debug|\bscript"),
         ("Math", r"calculat|equation|\bmath|formula|probabilit|integral|derivative"),
         ("Data Analysis", r"\bdata\b|dataset|statistic|regression"),
         ("Role playing", r"role-?play|in character|persona"),
         ("Creative Writing", r"\bstory\b|poem|narrative|creative|fiction"),
         ("Editing", r"rewrit|grammar|proofread|paraphras|\bedit"),
         ("Planning", r"\bplan\b|schedule|itinerary|timeline"),
         ("Brainstorming", r"\bideas\b|brainstorm"),
         ("Reasoning", r"reasoning|logic|puzzle|deduc"),
         ("Advice seeking", r"advice|recommendation"),
         ("Information seeking", r".")]

# WildBench's five published groups over its twelve task tags, in Feedbacker's cata_tree.json nesting
TREE = {"Creative Tasks": {"Creative Writing": {}, "Role playing": {}, "Brainstorming": {}, "Editing": {},
                           "Others": {}},
        "Planning & Reasoning": {"Planning": {}, "Reasoning": {}},
        "Math & Data Analysis": {"Math": {}, "Data Analysis": {}},
        "Information/Advice seeking": {"Information seeking": {}, "Advice seeking": {}},
        "Coding & Debugging": {"Coding & Debugging": {}}}   # one name on one path: the deepest node

MODELS = {"Qwen1.5-72B-Chat-greedy": 1021, "reka-core-20240501": 1024, "reka-flash-20240226": 1023,
          "gpt-3.5-turbo-0125": 1023, "Phi-3-mini-128k-instruct": 1022, "reka-edge": 1023, "gemma-7b-it": 1024,
          "gemma-2b-it": 1021}


def stand_in_category(row: dict) -> str:
    text = (row["strengths"] + " " + row["weaknesses"]).lower()
    return next(name for name, pat in RULES if re.search(pat, text))


def _write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    """A workspace with the critiques (source ``wb``, a stand-in ``category`` per critique) and, as source
    ``planted``, the same plus a synthetic subject: gpt-3.5's critiques with 1.5 points taken off in Math."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("profiles")
    rows = [json.loads(x) for x in open(shared("wildbench_v2_critiques/critiques.jsonl"), encoding="utf-8")]
    for r in rows:
        r["category"] = stand_in_category(r)
    tree = d / "cata_tree.json"
    tree.write_text(json.dumps(TREE, indent=2), encoding="utf-8")
    db = d / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, _write_jsonl(d / "wb.jsonl", rows), source="wb")
        # the unit's category, as the profile will see it (majority over the task's rows, ties alphabetical)
        planted = [dict(r) for r in rows]
        cat = {u: c for u, c in s.rows(
            "SELECT session_id, first(category ORDER BY k DESC, category) FROM (SELECT session_id, category, "
            "count(*) k FROM wb GROUP BY ALL) GROUP BY session_id")}
        for r in rows:
            if r["model"] == "gpt-3.5-turbo-0125":
                p = dict(r, model="planted", judge="synthetic")
                if cat[r["session_id"]] == "Math":
                    p["score"] = max(1, r["score"] - 1.5)
                planted.append(p)
        ingest_file(s, _write_jsonl(d / "planted.jsonl", planted), source="planted")
    return {"db": db, "tree": tree, "rows": rows}


def _profile(wb, source="wb", **kw):
    from earful.qa_agent.profiles import build_profile

    args = dict(tree=wb["tree"], category_column="category", unit_column="session_id")
    args.update(kw)
    return build_profile(wb["db"], source, "model", "score", **args)


def test_profile_for_every_model(wb):
    prof = _profile(wb, quotes=0)
    assert prof.all_subjects == sorted(MODELS)
    assert not prof.notes, prof.notes      # every item reached a node
    rows = prof.node_rows()
    assert len(rows) == len(MODELS) * len(prof.tree)
    for model, count in MODELS.items():
        root = next(r for r in rows if r["subject"] == model and r["node"] == "(all)")
        assert root["n"] == count
        assert root["lo"] < root["mean"] < root["hi"]
        w, s = prof.statement(model, "weakness"), prof.statement(model, "strength")
        assert w.startswith(model) and s.startswith(model)
        assert ("no significant weakness" in w) == (not prof.weaknesses(model))
    # the overall ranking is the README's table of mean scores
    order = sorted(MODELS, key=lambda m: next(r["rank"] for r in rows if r["subject"] == m and r["depth"] == 0))
    assert order == list(MODELS)
    assert prof.comparison is not None and prof.comparison.rows[0]["significant"]
    # "Coding & Debugging" names the group and its one tag: the items go to the tag (the deepest), counted in both
    coding = {r["node"]: r["n"] for r in rows if r["subject"] == "gemma-2b-it" and r["node"].startswith("Coding")}
    assert coding["Coding & Debugging / Coding & Debugging"] == coding["Coding & Debugging"] > 100


def test_strengths_and_weaknesses_stay_separate_fields(wb):
    """The wildbench ingest profile joins strengths and weaknesses into `text` (for search) and keeps each as its own
    column of the view, so a profile quotes a weakness from `weaknesses` and a strength from `strengths`."""
    rows = sql_rows(wb["db"], "SELECT text, strengths, weaknesses FROM wb ORDER BY item_id LIMIT 50")
    assert all(s and w and s in t and w in t and s != w for t, s, w in rows)


def test_node_statistics_match_plain_sql(wb):
    prof = _profile(wb, quotes=0)
    leaf_to_top = [(leaf, top) for top, leaves in TREE.items() for leaf in leaves]
    values = ", ".join(f"('{leaf}', '{top}')" for leaf, top in leaf_to_top)
    sql = f"""
        WITH unit_cat AS (
            SELECT session_id, category FROM (
                SELECT session_id, category, row_number() OVER (PARTITION BY session_id
                       ORDER BY count(*) DESC, category) AS k
                FROM wb GROUP BY session_id, category) WHERE k = 1),
        tops(leaf, top) AS (VALUES {values}),
        cells AS (
            SELECT w.model, t.top, count(*) AS n, avg(w.score) AS mean
            FROM wb w JOIN unit_cat u USING (session_id) JOIN tops t ON t.leaf = u.category
            GROUP BY ALL)
        SELECT model, top, n, mean, rank() OVER (PARTITION BY top ORDER BY mean DESC) AS rank FROM cells"""
    expected = sql_rows(wb["db"], sql)
    got = {(r["subject"], r["node"]): r for r in prof.node_rows() if r["depth"] == 1}
    assert len(expected) == len(MODELS) * len(TREE)
    for model, top, n, mean, rank in expected:
        r = got[(model, top)]
        assert r["n"] == n
        assert r["mean"] == pytest.approx(mean, abs=1e-6)
        assert r["rank"] == rank
        overall = next(x for x in prof.node_rows(model) if x["depth"] == 0)
        assert r["rank_gap"] == rank - overall["rank"]
        assert r["mean_gap"] == pytest.approx(mean - overall["mean"], abs=1e-6)
        assert r["lo"] <= mean <= r["hi"]


def test_intervals_are_seeded_and_exact_for_shares(wb):
    a = _profile(wb, quotes=0, seed=7)
    b = _profile(wb, quotes=0, seed=7)
    assert np.array_equal(a.lo, b.lo, equal_nan=True) and np.array_equal(a.hi, b.hi, equal_nan=True)
    from earful.qa_agent.profiles import build_profile

    share = build_profile(wb["db"], "wb", "model", label_share="score=10", tree=wb["tree"],
                          category_column="category", unit_column="session_id", quotes=0)
    assert share.proportion and share.interval.startswith("Wilson")
    (n10,), = sql_rows(wb["db"], "SELECT count(*) FILTER (WHERE score = 10) FROM wb WHERE model = 'gemma-2b-it'")
    root = next(r for r in share.node_rows("gemma-2b-it") if r["depth"] == 0)
    assert n10 == 0 and root["mean"] == 0.0
    assert root["hi"] == pytest.approx(1.959964 ** 2 / (1021 + 1.959964 ** 2), abs=1e-6)  # Wilson's bound at 0/n


def test_planted_weakness_found_at_the_right_node(wb):
    prof = _profile(wb, source="planted", subjects=["planted"])
    weak = prof.weaknesses("planted")
    assert "Math & Data Analysis / Math" in {f.node for f in weak}
    assert {f.node for f in weak} <= {"Math & Data Analysis / Math", "Math & Data Analysis"}   # nowhere else
    assert not prof.strengths("planted")       # one departure does not make the other categories look strong
    leaf = next(f for f in weak if f.node.endswith("/ Math"))
    assert leaf.p_adj < 0.05 and leaf.effect < -1.0 and leaf.mean < leaf.overall_mean
    assert 2 <= len(leaf.quotes) <= 3
    ids = {r[0] for r in sql_rows(wb["db"], "SELECT item_id FROM planted WHERE model = 'planted'")}
    assert {q.item_id for q in leaf.quotes} <= ids and set(leaf.item_ids) <= ids
    weak_texts = {r[0]: r[1] for r in sql_rows(wb["db"], "SELECT item_id, weaknesses FROM planted")}
    assert all(q.text == weak_texts[q.item_id] for q in leaf.quotes)   # a weakness is quoted from `weaknesses`
    # the real model the planted one copies has no weakness there
    real = _profile(wb, source="planted", subjects=["gpt-3.5-turbo-0125"], quotes=0)
    assert not any(f.node.startswith("Math") for f in real.weaknesses("gpt-3.5-turbo-0125"))


def test_null_subject_has_no_weakness_in_95_of_100_seeds(wb):
    """Scores shuffled across the subjects inside each task: no subject departs from its standing anywhere."""
    from earful.qa_agent.profiles import load_tree, profile_from_arrays

    rows = sql_rows(wb["db"], "SELECT session_id, model, score, category FROM wb ORDER BY session_id, model")
    cat = {u: c for u, c in sql_rows(wb["db"], "SELECT session_id, first(category ORDER BY k DESC, category) FROM "
                                               "(SELECT session_id, category, count(*) k FROM wb GROUP BY ALL) "
                                               "GROUP BY session_id")}
    unit = np.array([r[0] for r in rows])
    subject = np.array([r[1] for r in rows], dtype=object)
    y = np.array([r[2] for r in rows], dtype=float)
    category = np.array([cat[r[0]] for r in rows], dtype=object)
    tree = load_tree(wb["tree"])
    starts = np.flatnonzero(np.r_[True, unit[1:] != unit[:-1]])
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(unit)]))
    for within_task in (True, False):      # shuffled inside each task, and across all tasks
        clean = 0
        for seed in range(100):
            rng = np.random.default_rng(seed)
            order = np.lexsort((rng.random(len(y)), group)) if within_task else rng.permutation(len(y))
            prof = profile_from_arrays(subject, y[order], category, tree, intervals=False, subjects=["gemma-2b-it"],
                                       unit=unit)      # the paired test, as build_profile runs it with a unit
            clean += not prof.weaknesses("gemma-2b-it")
            assert prof.inter.tested[prof.all_subjects.index("gemma-2b-it")].sum() >= 10
        assert clean >= 95, (within_task, clean)


def test_feedbacker_tree_import(tmp_path):
    from earful.errors import InputError
    from earful.qa_agent.profiles import load_tree

    spec = {"writing": {"Creative Stages": {"Research": {}, "Rhetorical Use": {"Pun": {}, "Metaphor": {}}},
                        "Everyday Writing": {"Sports": {}, "Food": {}}},
            "knowledge": {"Applied Sciences": {"Sports": {}, "Medicine": {}}}}
    path = tmp_path / "cata_tree.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    tree = load_tree(path)
    assert tree.to_dict() == spec
    assert [tree.nodes[i].name for i in tree.top] == ["writing", "knowledge"]
    assert sorted(tree.nodes[i].name for i in tree.leaves()) == sorted(
        ["Research", "Pun", "Metaphor", "Sports", "Food", "Sports", "Medicine"])
    pun, why = tree.resolve("pun")
    assert tree.nodes[pun].path == ("writing", "Creative Stages", "Rhetorical Use", "Pun") and why is None
    idx, why = tree.resolve("Sports")                 # two nodes: never guessed
    assert idx is None and "2 nodes" in why
    idx, _ = tree.resolve("knowledge > Applied Sciences > Sports")
    assert tree.nodes[idx].label == "knowledge / Applied Sciences / Sports"
    desc = tree.descendants()
    assert desc[0].sum() == len(tree) and desc[tree.resolve("Rhetorical Use")[0]].sum() == 3
    # YAML with descriptions, and lists of leaves
    yml = tmp_path / "t.yaml"
    yml.write_text("Math & Data Analysis:\n  Math: calculations and proofs\n  Data Analysis: tables, statistics\n"
                   "Coding & Debugging: [Code, Debugging]\n", encoding="utf-8")
    t2 = load_tree(yml)
    assert t2.descriptions()["Math & Data Analysis / Math"] == "calculations and proofs"
    assert t2.to_dict()["Coding & Debugging"] == {"Code": {}, "Debugging": {}}
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": {"b": {}, "b": 3}', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_tree(bad)


def test_comparison_of_two_models(wb):
    prof = _profile(wb, subjects=["gemma-2b-it", "Qwen1.5-72B-Chat-greedy"], quotes=0)
    comp = prof.comparison
    assert comp.test.startswith("Welch") and comp.effect_name == "Cohen's d"
    root = next(r for r in comp.rows if r["node"] == "(all)")
    (a,), (b,) = (sql_rows(wb["db"], f"SELECT avg(score) FROM wb WHERE model = '{m}'")[0] for m in
                  ("gemma-2b-it", "Qwen1.5-72B-Chat-greedy"))
    assert root["difference"] == pytest.approx(a - b, abs=1e-6) and root["significant"] and root["effect"] < -0.8
    assert comp.rows[0]["significant"]          # the most different nodes first
    many = prof.compare(["gemma-2b-it", "gemma-7b-it", "reka-edge"])
    assert many.test.startswith("Wald chi-square") and many.effect_name == "eta squared"


def test_engine_api_answers(wb):
    prof = _profile(wb, quotes=0)
    res = prof.weakest_subject("math")            # "which model is weakest at math?"
    assert res["node"] == "Math & Data Analysis / Math" and res["weakest"] == "gemma-2b-it"
    w = prof.weakest("gemma-2b-it")
    assert w["statement"].startswith("gemma-2b-it") and len(w["lowest_effects"]) == 3
    from earful.errors import InputError

    with pytest.raises(InputError, match="no subject"):
        prof.weakest("nobody")
    with pytest.raises(InputError, match="names several"):
        prof.find_node("a")                       # ambiguous words are not guessed


def test_clear_errors(wb):
    from earful.errors import InputError, NotFoundError
    from earful.qa_agent.profiles import build_profile

    with pytest.raises(InputError, match="no column 'nope'"):
        build_profile(wb["db"], "wb", "nope", "score")
    with pytest.raises(NotFoundError, match="no source named"):
        build_profile(wb["db"], "missing", "model", "score")
    with pytest.raises(InputError, match="needs a way for items"):
        build_profile(wb["db"], "wb", "model", "score", tree=wb["tree"])
    with pytest.raises(InputError, match="no items for subject"):
        build_profile(wb["db"], "wb", "model", "score", category_column="category", subjects=["gpt-9"])


@pytest.mark.slow
def test_categories_from_classify_labels_of_another_source(tmp_path):
    """Items reach the tree through the classify stage: the judged responses (another source) are labelled with a
    taxonomy (here a tf-idf model trained on stand-in gold labels, `earful classify train/run`), each task takes the
    majority label of its responses (unit column), and the critiques are profiled over it. The profile's counts
    and means are recomputed from ``classify_labels`` with plain SQL."""
    import gzip

    from earful.qa_agent.profiles import build_profile
    from tests.conftest import run_cli

    crit = [json.loads(x) for x in open(shared("wildbench_v2_critiques/critiques.jsonl"), encoding="utf-8")]
    sessions = sorted({r["session_id"] for r in crit})[:60]
    keep = set(sessions)
    crit = [r for r in crit if r["session_id"] in keep]
    gold = {(r["session_id"], r["model"]): stand_in_category(r) for r in crit}
    with gzip.open(shared("wildbench_v2_critiques/model_outputs.jsonl.gz"), "rt", encoding="utf-8") as f:
        outs = [json.loads(x) for x in f]
    outs = [r | {"gold": gold[(r["session_id"], r["model"])]} for r in outs if r["session_id"] in keep]
    db = tmp_path / "w.duckdb"
    for path, source, extra in ((_write_jsonl(tmp_path / "c.jsonl", crit), "critiques", ()),
                                (_write_jsonl(tmp_path / "o.jsonl", outs), "outputs", ("--text", "model_output"))):
        r = run_cli("ingest", path, "--source", source, *extra, db=db)
        assert r.returncode == 0, r.stderr
    tax = tmp_path / "tags.yaml"
    tax.write_text("name: tags\nlabels: [" + ", ".join(json.dumps(x) for x in sorted(set(gold.values()))) + "]\n",
                   encoding="utf-8")
    for args in (("train", "--taxonomy", tax, "--gold-column", "gold", "--method", "tfidf", "--source", "outputs"),
                 ("run", "--taxonomy", "tags", "--source", "outputs")):
        r = run_cli("classify", *args, db=db)
        assert r.returncode == 0, r.stderr + r.stdout
    prof = build_profile(db, "critiques", "model", "score", tree=TREE, labels="tags", category_source="outputs",
                         unit_column="session_id", quotes=0, min_items=5)
    expected = sql_rows(db, """
        WITH lab AS (SELECT o.session_id, l.label, count(*) AS k FROM outputs o
                     JOIN classify_labels l ON l.item_id = o.item_id AND l.taxonomy = 'tags' GROUP BY ALL),
             unit AS (SELECT session_id, first(label ORDER BY k DESC, label) AS label FROM lab GROUP BY session_id)
        SELECT c.model, u.label, count(*), avg(c.score) FROM critiques c JOIN unit u USING (session_id)
        GROUP BY ALL""")
    assert expected
    got = {(r["subject"], r["node"].split(" / ")[-1]): r for r in prof.node_rows() if r["n"] and r["depth"] == 2}
    for model, label, n, mean in expected:
        assert got[(model, label)]["n"] == n and got[(model, label)]["mean"] == pytest.approx(mean, abs=1e-6)
    assert sum(n for _, _, n, _ in expected) == len(crit)


def test_tree_from_a_column(wb):
    """With no tree file the category column's values are the tree (a value with ' > ' nests)."""
    from earful.qa_agent.profiles import tree_from_values

    prof = _profile(wb, tree=None, unit_column=None, quotes=0)
    values = {r[0] for r in sql_rows(wb["db"], "SELECT DISTINCT category FROM wb")}
    assert {prof.tree.nodes[i].name for i in prof.tree.top} == values and len(prof.tree) == len(values) + 1
    for model, cat, n in sql_rows(wb["db"], "SELECT model, category, count(*) FROM wb GROUP BY ALL"):
        assert next(r for r in prof.node_rows(model) if r["node"] == cat)["n"] == n
    t = tree_from_values(["Coding > Python", "Coding > SQL", "Math", "Information/Advice seeking"])
    assert t.to_dict() == {"Coding": {"Python": {}, "SQL": {}}, "Information/Advice seeking": {}, "Math": {}}
