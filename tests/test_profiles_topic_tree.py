"""Profiles over the fitted topics (``earful profile --tree topics``, the default when no category option is given):
the topics are the leaves, grouped under clusters of the stored topic hierarchy, and each item reaches its topic
through its assignment. Every count and mean is recomputed with plain SQL over the workspace file.

The workspace is the notebooks' sample (300 real URR reviews, topics fitted by the fast stand-in backend), the same
file `tests/test_topic_charts.py` builds, so one session builds it once.
"""
from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pytest

from tests.conftest import run_cli, sql_rows

pytestmark = pytest.mark.slow     # the sample workspace embeds 300 real reviews before the first test

REVIEWS = "SELECT a.item_id, a.topic_id, r.app, r.rating FROM topic_assignments a JOIN reviews r USING (item_id)"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from earful.notebook.sample import sample_workspace

    return sample_workspace(tmp_path_factory.getbasetemp() / "nb-sample" / "sample.duckdb", reviews=300)


def _profile(db, **kw):
    from earful.qa_agent.profiles import build_profile

    return build_profile(db, "reviews", "app", "rating", tree="topics", quotes=kw.pop("quotes", 0), **kw)


def _topic_of_node(db, prof) -> dict[int, int]:
    """node index -> topic id, by the node's name (the topic's name, with ' (topic N)' when names collide)."""
    out = {}
    for t, name in sql_rows(db, "SELECT topic_id, name FROM topics WHERE status = 'active' AND topic_id >= 0"):
        hits = [i for i, nd in enumerate(prof.tree.nodes) if i and not nd.children and
                nd.name in (name, f"{name} (topic {t})")]
        assert len(hits) == 1, (t, name, [nd.label for nd in prof.tree.nodes])
        out[hits[0]] = t
    return out


def test_nodes_are_the_active_topics_under_hierarchy_groups_with_sql_counts(db):
    prof = _profile(db)
    leaf_topic = _topic_of_node(db, prof)
    assert sorted(leaf_topic.values()) == [t for (t,) in sql_rows(
        db, "SELECT topic_id FROM topics WHERE status = 'active' AND topic_id >= 0 ORDER BY 1")]
    assert set(leaf_topic) == set(prof.tree.leaves())
    per_topic = dict(sql_rows(db, f"SELECT topic_id, count(*) FROM ({REVIEWS}) GROUP BY 1"))
    n_node = prof.n.sum(axis=0)                                   # over every subject
    for v, t in leaf_topic.items():
        assert n_node[v] == per_topic[t]
    assert n_node[0] == sql_rows(db, "SELECT count(*) FROM reviews WHERE rating IS NOT NULL")[0][0]
    groups = [v for v in prof.tree.top if prof.tree.nodes[v].children]
    assert groups, "six topics are cut into groups"
    stored = {frozenset(ids): name for ids, name in sql_rows(db, "SELECT topic_ids, name FROM topic_hierarchy")}
    for g in groups:
        ids = sorted(leaf_topic[c] for c in prof.tree.nodes[g].children)
        assert frozenset(ids) in stored                           # a group is a cluster of the stored hierarchy
        assert prof.tree.nodes[g].name == stored[frozenset(ids)]  # named as the hierarchy names it
        count = sql_rows(db, f"SELECT count(*) FROM ({REVIEWS}) WHERE topic_id IN (SELECT unnest(?))", [ids])[0][0]
        assert n_node[g] == count


def test_per_app_means_equal_plain_sql(db):
    prof = _profile(db)
    leaf_topic = _topic_of_node(db, prof)
    want = {(app, t): (n, m) for app, t, n, m in sql_rows(
        db, f"SELECT app, topic_id, count(*), avg(rating) FROM ({REVIEWS}) GROUP BY ALL")}
    checked = 0
    for s, app in enumerate(prof.all_subjects):
        for v, t in leaf_topic.items():
            n, m = want.get((app, t), (0, None))
            assert prof.n[s, v] == n
            if n:
                assert prof.mean[s, v] == pytest.approx(m)
                checked += 1
    overall = dict(sql_rows(db, "SELECT app, avg(rating) FROM reviews GROUP BY 1"))
    for s, app in enumerate(prof.all_subjects):
        assert prof.mean[s, 0] == pytest.approx(overall[app])
    assert checked > 50


def test_a_planted_low_rating_in_one_topic_is_that_apps_weakness(db, tmp_path):
    """Every third review becomes the app 'planted' (about 100 reviews over every topic); a copy where its reviews
    in one topic are all rated 1 shows that topic as its significant weakness, and the copy without does not."""
    plain, planted = tmp_path / "plain.duckdb", tmp_path / "planted.duckdb"
    shutil.copy(db, plain)
    con = duckdb.connect(str(plain))
    con.execute("UPDATE src_reviews SET app = 'planted' WHERE item_id IN (SELECT item_id FROM (SELECT item_id, "
                "row_number() OVER (ORDER BY item_id) AS k FROM src_reviews) WHERE k % 3 = 0)")
    con.close()
    shutil.copy(plain, planted)
    topic, n = sql_rows(plain, f"SELECT topic_id, count(*) FROM ({REVIEWS}) WHERE app = 'planted' GROUP BY 1 "
                               f"ORDER BY 2 DESC, 1 LIMIT 1")[0]
    assert n >= 15
    con = duckdb.connect(str(planted))
    con.execute("UPDATE src_reviews SET rating = 1 WHERE app = 'planted' AND item_id IN "
                "(SELECT item_id FROM topic_assignments WHERE topic_id = ?)", [topic])
    con.close()
    prof = _profile(planted, min_items=10, quotes=2)
    node = next(v for v, t in _topic_of_node(planted, prof).items() if t == topic)
    weak = prof.weaknesses("planted")
    assert node in {f.node_id for f in weak}, prof.statement("planted", "weakness")
    f = next(f for f in weak if f.node_id == node)
    assert f.mean == 1.0 and f.n == n and len(f.quotes) == 2
    quoted = {i for (i,) in sql_rows(planted, f"SELECT item_id FROM ({REVIEWS}) WHERE app = 'planted' AND "
                                              f"topic_id = ?", [topic])}
    assert {q.item_id for q in f.quotes} <= quoted and set(f.item_ids) == quoted
    before = _profile(plain, min_items=10)
    assert node not in {f.node_id for f in before.weaknesses("planted")}   # the weakness is the planted one


def test_outliers_are_in_no_category_and_the_notes_say_so(db, tmp_path):
    work = tmp_path / "outliers.duckdb"
    shutil.copy(db, work)
    con = duckdb.connect(str(work))
    con.execute("UPDATE topic_assignments SET topic_id = -1 WHERE item_id IN "
                "(SELECT item_id FROM topic_assignments ORDER BY item_id LIMIT 17)")
    con.close()
    prof = _profile(work)
    assert any(n.startswith("17 items are topic outliers (topic -1): in no category") for n in prof.notes), prof.notes
    assert not any(n.endswith("in no category: missing") for n in prof.notes)
    n_node = prof.n.sum(axis=0)
    assert n_node[0] == 300 and sum(n_node[v] for v in prof.tree.top) == 300 - 17


def test_cli_tree_topics_and_the_default_use_the_topics(db):
    res = run_cli("profile", "--source", "reviews", "--subject-column", "app", "--score-column", "rating", "--tree",
                  "topics", "--quotes", "0", "--json", db=db)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    topics = {n for (n,) in sql_rows(db, "SELECT name FROM topics WHERE status = 'active' AND topic_id >= 0")}

    def leaves(d):
        return [k for k, v in d.items() if not v] + [x for v in d.values() if v for x in leaves(v)]
    assert set(leaves(data["tree"])) == topics
    assert data["params"]["tree"].startswith("topics")
    default = run_cli("profile", "--source", "reviews", "--subject-column", "app", "--score-column", "rating",
                      "--quotes", "0", "--json", db=db)
    assert default.returncode == 0, default.stderr
    d2 = json.loads(default.stdout)
    assert d2["tree"] == data["tree"] and any("categories: the fitted topics" in n for n in d2["notes"])
    both = run_cli("profile", "--source", "reviews", "--subject-column", "app", "--score-column", "rating",
                   "--tree", "topics", "--category-column", "app", db=db)
    assert both.returncode != 0 and "--tree topics" in both.stderr + both.stdout
    helped = run_cli("profile", "--help")
    assert "'topics'" in helped.stdout


def test_the_agent_tool_profiles_over_the_topics(db):
    from earful.qa_agent.profiles.tool import run_profile_tool

    worst = sql_rows(db, f"SELECT topic_id FROM ({REVIEWS}) GROUP BY 1 ORDER BY avg(rating), 1 LIMIT 1")[0][0]
    name = sql_rows(db, "SELECT name FROM topics WHERE topic_id = ?", [worst])[0][0]
    res = run_profile_tool(db, {"source": "reviews", "subject_column": "app", "score_column": "rating",
                                "tree": "topics", "question": "weakest_subject", "category": name}, quotes=0)
    assert res.ok, res.error
    means = dict(sql_rows(db, f"SELECT app, avg(rating) FROM ({REVIEWS}) WHERE topic_id = ? GROUP BY 1", [worst]))
    lowest = {a for a, m in means.items() if m == min(means.values())}   # ties at the lowest mean
    assert res.rows[0][0].split(" / ")[-1] == name and res.rows[0][1] in lowest
    assert len(res.rows) == len(means)
    assert res.profile_json["params"]["tree"].startswith("topics")


def test_the_cli_comparison_of_many_subjects_names_the_lowest_and_highest(db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "220")                            # rich's width in the subprocess: no wrapping
    res = run_cli("profile", "--source", "reviews", "--subject-column", "app", "--score-column", "rating", "--tree",
                  "topics", "--quotes", "0", db=db)
    assert res.returncode == 0, res.stderr
    table = res.stdout[res.stdout.index("where they differ most"):]
    flat = " ".join(table.split())
    assert "lowest (mean)" in flat and "highest (mean)" in flat     # 36 subjects: not 36 empty mean columns
    low = sql_rows(db, "SELECT app, avg(rating) FROM reviews GROUP BY 1 ORDER BY 2, 1 LIMIT 1")[0]
    high = sql_rows(db, "SELECT app, avg(rating) FROM reviews GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")[0]
    row = next(ln for ln in table.splitlines() if "(all)" in ln)
    assert f"{low[0]} ({low[1]:.2f})" in row and f"({high[1]:.2f})" in row


def test_no_topics_fitted_is_a_clear_error_naming_the_three_ways(tmp_path):
    from earful.errors import NotFoundError
    from earful.notebook.sample import sample_workspace

    bare = sample_workspace(tmp_path / "bare.duckdb", reviews=40, critiques=False, topics=False)
    for extra in ([], ["--tree", "topics"]):
        res = run_cli("profile", "--source", "reviews", "--subject-column", "app", "--score-column", "rating",
                      *extra, db=bare)
        out = res.stderr + res.stdout
        assert res.returncode != 0, out
        for way in ("--category-column", "--labels", "earful topics fit --source reviews", "--tree topics"):
            assert way in " ".join(out.split()), (way, out)
    with pytest.raises(NotFoundError, match="no fitted topics"):
        _profile(bare)
    # a category column still works without topics
    from earful.qa_agent.profiles import build_profile

    prof = build_profile(bare, "reviews", "app", "rating", category_column="app", quotes=0)
    assert len(prof.tree) > 2 and np.isfinite(prof.mean[:, 0]).all()
