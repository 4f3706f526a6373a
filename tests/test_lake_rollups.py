"""Rollups first, and a guard on raw queries over a lake (#18).

The built-in engine answers counts and breakdowns by month/day/year, rating, label and topic from the catalog's
rollup tables when they answer the plan exactly (rollup.py decides, the compiler writes the SQL): the same answers
as the .duckdb workspace, and on the same catalog the rollup SQL and the view SQL give the same rows. A query over
the lake's raw tables must carry a date/source/item predicate or a LIMIT, runs with a timeout and a row cap, and is
otherwise refused saying how to narrow it. A real processed workspace (60 URR reviews, a TF-IDF model's labels,
stand-in topics), exported and made a catalog.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from test_lake import workspace_and_catalog

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> tuple[Path, Path]:
    """(the .duckdb workspace, the catalog over its exported lake)."""
    return workspace_and_catalog(tmp_path_factory.mktemp("lake_rollups"))


# question -> the rollup that answers it
FROM_ROLLUPS = {
    "How many reviews are there?": "rollup_items",
    "reviews by month": "rollup_items",
    "How many reviews per day in 2016?": "rollup_items",
    "reviews by rating": "rollup_items",
    "What share of reviews are 5 stars?": "rollup_items",
    "how many 1-star reviews by month": "rollup_items",
    "reviews by ardoc": "rollup_labels",
    "reviews by topic": "rollup_topics",
    "number of reviews per topic_id": "rollup_topics",
    "Which topic has the most reviews?": "rollup_topics",
}
FROM_THE_VIEW = ["average rating by month",                 # an average: not in a rollup
                 "how many reviews per ardoc label"]         # an original column (ardoc_label_auto), not the labels


def _ask(question: str, db: Path):
    from earful.qa_agent.base import AskContext
    from earful.qa_agent.builtin import BuiltinEngine

    return BuiltinEngine().answer(question, AskContext(db_path=str(db), settings=None))


@pytest.mark.parametrize("question", sorted(FROM_ROLLUPS))
def test_counts_come_from_the_rollups_with_the_same_numbers(pair, question):
    from earful.qa_agent.builtin.compiler import compile_sql
    from earful.qa_agent.builtin.ir import plan_from_dict
    from earful.qa_agent.builtin.rollup import rollup_for
    from earful.qa_agent.executor import run_sql

    db, catalog = pair
    ws, lake = _ask(question, db), _ask(question, catalog)
    assert lake.status == ws.status == "answered", lake.answer
    assert lake.answer == ws.answer
    assert [t.rows for t in lake.tables] == [t.rows for t in ws.tables]
    sql = lake.steps[0].code
    assert f'FROM "{FROM_ROLLUPS[question]}"' in sql, sql
    assert "rollup_" not in ws.steps[0].code           # a .duckdb workspace has no rollups: the view, as before
    # both ways on the same catalog: the plan over the view and over the rollup give the same rows
    plan = plan_from_dict(lake.plan)
    rolled = run_sql(str(catalog), compile_sql(plan, rollup=rollup_for(plan, str(catalog))), in_process=True)
    raw = run_sql(str(catalog), compile_sql(plan), in_process=True)
    assert rolled.ok and raw.ok, (rolled.error, raw.error)
    assert rolled.rows == raw.rows and rolled.columns == raw.columns and rolled.rows


@pytest.mark.parametrize("question", FROM_THE_VIEW)
def test_what_a_rollup_cannot_answer_reads_the_view(pair, question):
    db, catalog = pair
    ws, lake = _ask(question, db), _ask(question, catalog)
    assert lake.status == "answered" and lake.answer == ws.answer
    assert "rollup_" not in lake.steps[0].code


def test_stale_rollups_are_not_used(pair, tmp_path):
    """A catalog whose rollups no longer count the view's rows (here: a source's rollup partitions removed) answers
    from the view, with the right number."""
    import shutil

    from earful.lake.catalog import init_catalog

    db, catalog = pair
    lake = tmp_path / "lake"
    shutil.copytree(catalog.parent / "lake", lake)
    months = sorted((lake / "rollups" / "items" / "source=urr").iterdir())
    shutil.rmtree(months[0])
    init_catalog(str(lake), tmp_path / "lake.duckdb")
    got = _ask("How many reviews are there?", tmp_path / "lake.duckdb")
    assert got.answer == _ask("How many reviews are there?", db).answer == "There are 60 reviews."
    assert "rollup_" not in got.steps[0].code


def test_a_share_among_partly_labelled_items_reads_the_view(pair, tmp_path):
    """Eight reviews ingested into the lake after the labels and topics were applied: a share of a label is of all
    the reviews (the label rollup counts only labelled items, so it is not used), while counts by label still come
    from the rollup and equal the view's."""
    import shutil

    from conftest import urr_sample

    from earful.lake.catalog import init_catalog
    from earful.lake.ingest import ingest_files
    from earful.lake.layout import Lake
    from earful.store.readonly import run_read_only

    lake = tmp_path / "lake"
    shutil.copytree(pair[1].parent / "lake", lake)
    new = urr_sample(tmp_path / "new.csv", slice(60, 68))
    assert ingest_files(Lake(str(lake)), files=[(new, None)], source="urr")[0]["added"] == 8
    catalog = tmp_path / "lake.duckdb"
    init_catalog(str(lake), catalog)
    k = run_read_only(str(catalog), "SELECT count(*) FROM urr WHERE ardoc = 'FEATURE_REQUEST'").to_pylist()[0]
    got = _ask("What share of reviews have ardoc FEATURE_REQUEST?", catalog)
    assert f"({list(k.values())[0]} of 68)" in got.answer, got.answer
    assert "rollup_" not in got.steps[0].code
    by_label = _ask("reviews by ardoc", catalog)
    assert 'FROM "rollup_labels"' in by_label.steps[0].code
    want = run_read_only(str(catalog), "SELECT ardoc, count(*) FROM urr WHERE ardoc IS NOT NULL GROUP BY 1 "
                                       "ORDER BY 2 DESC, 1").to_pylist()
    assert by_label.tables[0].rows == [list(r.values()) for r in want]


# -- the guard on raw queries over a lake ------------------------------------------------------------------------
REFUSED = ["SELECT avg(rating) FROM items",
           "SELECT count(*) FROM items WHERE text ILIKE '%a%'",
           "SELECT count(item_id) FROM items",
           "SELECT * FROM embeddings",
           "WITH t AS (SELECT * FROM items) SELECT count(*) FROM t",
           "SELECT label, count(*) FROM classify_labels GROUP BY 1",
           "SELECT count(*) FROM (SELECT * FROM items LIMIT 5) x JOIN topic_assignments USING (item_id)"]
ALLOWED = ["SELECT count(*) FROM items WHERE source = 'urr'",
           "SELECT count(*) FROM items",                                     # partition keys only: file metadata
           "SELECT source, date, count(*) FROM items GROUP BY ALL",
           "SELECT count(*) FROM items WHERE date >= DATE '2014-01-01'",
           "SELECT count(*) FROM items i JOIN classify_labels l USING (item_id) WHERE i.created_at < '2015-01-01'",
           "SELECT * FROM items LIMIT 3",
           "SELECT count(*) FROM urr",                                       # a source's view: its partitions
           "SELECT source, sum(n) FROM rollup_items GROUP BY 1",
           "SELECT count(*) FROM topics",
           "DESCRIBE items"]


@pytest.mark.parametrize("sql", REFUSED)
def test_a_raw_query_over_a_lake_without_a_predicate_or_limit_is_refused(pair, sql):
    from earful.errors import InputError
    from earful.store.readonly import run_read_only

    db, catalog = pair
    with pytest.raises(InputError, match="must carry a date or source predicate or a LIMIT") as e:
        run_read_only(str(catalog), sql)
    assert "WHERE source = " in str(e.value) and "rollup_items" in str(e.value)
    assert run_read_only(str(db), sql).num_rows >= 1        # a .duckdb workspace: no such rule


@pytest.mark.parametrize("sql", ALLOWED)
def test_a_narrowed_query_over_a_lake_runs(pair, sql):
    from earful.store.readonly import run_read_only

    assert run_read_only(str(pair[1]), sql).num_rows >= 1


def test_the_cli_says_how_to_narrow(pair):
    res = run_cli("sql", "SELECT avg(rating) FROM items", db=pair[1])
    assert res.returncode == 2 and "WHERE date >= DATE" in res.stderr and "LIMIT" in res.stderr
    res = run_cli("sql", "SELECT count(*) AS n FROM items WHERE source = 'urr'", "--json", db=pair[1])
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"] == [[60]]


def test_queries_over_a_lake_have_a_row_cap_and_a_timeout(pair, monkeypatch):
    from earful.errors import ExecutionError, InputError
    from earful.store import readonly

    catalog = str(pair[1])
    monkeypatch.setattr(readonly, "LAKE_MAX_ROWS", 10)
    with pytest.raises(InputError, match="more than 10 rows"):
        readonly.run_read_only(catalog, "SELECT * FROM items WHERE source = 'urr'")
    assert readonly.run_read_only(catalog, "SELECT * FROM items WHERE source = 'urr' LIMIT 10").num_rows == 10
    monkeypatch.setattr(readonly, "LAKE_TIMEOUT_S", 0.5)
    with pytest.raises(ExecutionError, match="query stopped after 0.5 s"):
        readonly.run_read_only(catalog, "SELECT count(*) FROM items i, range(2000000000) r WHERE i.source = 'urr' "
                                        "AND hash(r.range, i.item_id) % 7 = 3")


def test_a_catalog_whose_lake_is_gone_says_so(pair, tmp_path):
    """The lake folder moved away: `sql` and `ask` say the lake is gone and how to point the catalog at it again
    (was DuckDB's "file system operations are disabled by configuration", and a traceback from ask)."""
    import shutil

    from earful.lake.catalog import init_catalog

    lake = tmp_path / "lake"
    shutil.copytree(pair[1].parent / "lake", lake)
    init_catalog(str(lake), tmp_path / "lake.duckdb")
    lake.rename(tmp_path / "moved")
    for args in (("sql", "SELECT count(*) FROM urr"), ("ask", "How many reviews are there?")):
        res = run_cli(*args, db=tmp_path / "lake.duckdb")
        assert res.returncode == 2, res.stderr
        assert f"the lake at {lake} that {tmp_path / 'lake.duckdb'} reads is gone" in res.stderr
        assert "lake init FOLDER" in res.stderr and "Traceback" not in res.stderr
