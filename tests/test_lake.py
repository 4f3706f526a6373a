"""The lake (#18): `earful export` writes a workspace as Hive-partitioned Parquet, `earful lake init` makes a catalog of
views over it that answers like the workspace, the model stages run over it with `--engine local`, and the rollups
equal SQL over the workspace. A real workspace (60 bundled URR reviews: ingest, MiniLM vectors, a TF-IDF model on
the ardoc gold column, stand-in topics) is built once per module; every lake is a real folder in tmp_path.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import run_cli, urr_sample

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N_ROWS = 60
TAXONOMY = "ardoc"


def build_workspace(folder: Path, rows: int = N_ROWS) -> Path:
    """A processed workspace: items, vectors, a trained model with its labels, and fitted (stand-in) topics."""
    from earful.classify.base import load_taxonomy
    from earful.classify.workspace import import_gold_column, label_items, latest_model, train
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from earful.topics.fit import fit_topics

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, urr_sample(folder / "urr.csv", slice(0, rows)), source="urr")
        embed_items(s)
        import_gold_column(s, TAXONOMY, "ardoc_label_auto")
        train(s, TAXONOMY, method="tfidf")
        clf, version, _, _ = latest_model(s, TAXONOMY)
        label_items(s, load_taxonomy(TAXONOMY, s), clf, method="offline", version=version)
        fit_topics(s, backend="pca-kmeans-standin", backend_params={"n_topics": 3})
    return db


def exported_workspace(root: Path, rows: int = N_ROWS) -> tuple[Path, Path]:
    """(a processed .duckdb workspace of `rows` items, its export as a lake), under `root` (``ws/``, ``lake/``)."""
    from earful.lake.export import export
    from earful.store import Store

    db = build_workspace(root / "ws", rows=rows)
    with Store(db, read_only=True) as s:
        export(s, str(root / "lake"))
    return db, root / "lake"


def workspace_and_catalog(root: Path, rows: int = 60) -> tuple[Path, Path]:
    """(a processed .duckdb workspace of `rows` items, the catalog over its exported lake), both under `root`."""
    from earful.lake.catalog import init_catalog

    db, lake = exported_workspace(root, rows)
    init_catalog(str(lake), root / "lake.duckdb")
    return db, root / "lake.duckdb"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("lake_ws"))


@pytest.fixture(scope="module")
def exported(workspace, tmp_path_factory) -> Path:
    """The workspace exported once (tests copy it before changing it)."""
    from earful.lake.export import export
    from earful.store import Store

    lake = tmp_path_factory.mktemp("lake") / "lake"
    with Store(workspace, read_only=True) as s:
        export(s, str(lake))
    return lake


@pytest.fixture
def lake_copy(exported, tmp_path) -> Path:
    dst = tmp_path / "lake"
    shutil.copytree(exported, dst)
    return dst


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def lake_rows(lake: Path, sql: str) -> list[tuple]:
    from earful.lake.catalog import connect_lake
    from earful.lake.layout import Lake

    con = connect_lake(Lake(str(lake)))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


ITEMS = "SELECT item_id, source, external_id, text, created_at, rating, author, content_hash, batch_id FROM items"


# -- export ---------------------------------------------------------------------------------------------------------
def test_export_writes_hive_partitions_and_manifest(exported, workspace):
    days = rows(workspace, "SELECT DISTINCT CAST(created_at AS DATE)::VARCHAR FROM items")
    for (day,) in days:
        assert list((exported / "items" / "source=urr" / f"date={day}").glob("part-*.parquet")), day
        assert list((exported / "raw" / "source=urr" / f"date={day}").glob("part-*.parquet")), day
    version = rows(workspace, "SELECT DISTINCT model_version FROM classify_labels")[0][0]
    run = rows(workspace, "SELECT DISTINCT run_id FROM topic_assignments")[0][0]
    assert list((exported / "embeddings" / "model=all-MiniLM-L6-v2").glob("part-*.parquet"))
    assert list((exported / "labels" / f"taxonomy={TAXONOMY}" / f"model={version}").glob("part-*.parquet"))
    assert list((exported / "topics" / f"run={run}").glob("part-*.parquet"))
    assert (exported / "meta" / "classify_models.parquet").exists()
    manifest = json.loads((exported / "_lake.json").read_text())
    assert manifest["current"] == {"embeddings": ["all-MiniLM-L6-v2"], "labels": {TAXONOMY: [version]},
                                   "topics": [run]}
    # the Parquet files hold the rows, read back with DuckDB's own hive partitioning (nothing of Earful's)
    n = duckdb.sql(f"SELECT count(*), count(DISTINCT item_id), count(DISTINCT source) FROM read_parquet("
                   f"'{exported}/items/*/*/*.parquet', hive_partitioning = true)").fetchall()[0]
    assert n == (N_ROWS, N_ROWS, 1)


def test_export_rerun_rewrites_only_its_partitions(lake_copy, workspace):
    from earful.lake.export import export
    from earful.store import Store

    # a partition this workspace does not write (another source, exported earlier) stays as it was
    other = lake_copy / "items" / "source=other" / "date=2001-01-01"
    other.mkdir(parents=True)
    first = next((lake_copy / "items" / "source=urr").glob("date=*/part-*.parquet"))
    shutil.copy(first, other / "part-old.parquet")
    before = {p.name for p in (lake_copy / "items" / "source=urr").rglob("*.parquet")}
    with Store(workspace, read_only=True) as s:
        out = export(s, str(lake_copy))
    assert out["items"] == N_ROWS
    assert (other / "part-old.parquet").exists()
    after = {p.name for p in (lake_copy / "items" / "source=urr").rglob("*.parquet")}
    # every urr partition was rewritten: its old files are gone, not kept beside the new ones
    assert len(after) == len(before)
    n = lake_rows(lake_copy, "SELECT count(*), count(DISTINCT item_id) FROM items WHERE source = 'urr'")[0]
    assert n == (N_ROWS, N_ROWS)
    assert lake_rows(lake_copy, "SELECT count(*) FROM items WHERE source = 'other'")[0][0] > 0


def test_export_unknown_source_is_an_error(workspace, tmp_path):
    res = run_cli("export", "--to", str(tmp_path / "l"), "--source", "nope", db=workspace)
    assert res.returncode == 2, res.stderr
    assert "no source named 'nope'" in res.stderr and "urr" in res.stderr


# -- the catalog ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def catalog(exported, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("catalog") / "lake.duckdb"
    res = run_cli("lake", "init", str(exported), "--json", db=db)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["items"] == N_ROWS
    return db


@pytest.mark.parametrize("sql", [
    "SELECT * FROM urr ORDER BY item_id",                                 # the per-source wide view
    ITEMS + " ORDER BY item_id",
    "SELECT * FROM classify_labels ORDER BY item_id, taxonomy",
    "SELECT * FROM topic_assignments ORDER BY item_id",
    "SELECT * FROM embeddings ORDER BY content_hash, model_id",
    "SELECT * FROM topic_items ORDER BY item_id",
    "SELECT * FROM topics ORDER BY topic_id",
    "SELECT * FROM sources",
    "SELECT ardoc, count(*) FROM urr GROUP BY ALL ORDER BY ALL",
])
def test_catalog_answers_like_the_workspace(catalog, workspace, sql):
    assert rows(catalog, sql) == rows(workspace, sql)


def test_catalog_prunes_partitions(catalog):
    plan = "\n".join(r[1] for r in rows(catalog, "EXPLAIN SELECT count(*) FROM items WHERE date = DATE '2016-02-26'"))
    n_days = rows(catalog, "SELECT count(DISTINCT date) FROM items")[0][0]
    assert "File Filters: date = '2016-02-26'::DATE" in plan and f"Scanning Files: 1/{n_days}" in plan


def test_catalog_refuses_to_turn_a_workspace_into_one(exported, workspace):
    before = rows(workspace, "SELECT count(*) FROM items")
    res = run_cli("lake", "init", str(exported), db=workspace)
    assert res.returncode == 2
    assert "is a workspace, not a lake catalog" in res.stderr
    assert rows(workspace, "SELECT count(*) FROM items") == before


def test_a_folder_without_a_manifest_is_not_a_lake(tmp_path):
    res = run_cli("lake", "init", str(tmp_path), db=tmp_path / "c.duckdb")
    assert res.returncode == 2
    assert "no lake at" in res.stderr and "earful export --to" in res.stderr


# -- rollups --------------------------------------------------------------------------------------------------------
ROLLUP_SQL = {
    "rollup_items": "SELECT i.source, CAST(i.created_at AS DATE) AS day, i.rating, count(*) AS n FROM items i "
                    "GROUP BY ALL ORDER BY ALL",
    "rollup_labels": "SELECT i.source, CAST(i.created_at AS DATE) AS day, l.taxonomy, l.label, count(*) AS n "
                     "FROM items i JOIN classify_labels l USING (item_id) GROUP BY ALL ORDER BY ALL",
    "rollup_topics": "SELECT i.source, CAST(i.created_at AS DATE) AS day, a.topic_id, count(*) AS n "
                     "FROM items i JOIN topic_assignments a USING (item_id) GROUP BY ALL ORDER BY ALL",
}


@pytest.mark.parametrize("name", sorted(ROLLUP_SQL))
def test_rollups_equal_sql_over_the_workspace(catalog, workspace, name):
    cols = ", ".join(c.split(" AS ")[-1].split(".")[-1] for c in
                     ROLLUP_SQL[name].split("SELECT ", 1)[1].split(" FROM ")[0].split(", "))
    got = rows(catalog, f"SELECT {cols} FROM {name} ORDER BY ALL")
    want = rows(workspace, ROLLUP_SQL[name])
    assert got == want and len(got) > 0


def test_a_stage_run_rebuilds_the_rollups_it_touches(lake_copy, workspace):
    """Labels removed from the lake (as if never classified): the local run labels every item again, the label
    rollup is rebuilt from the new labels, and a second run finds nothing to do."""
    from earful.lake import runner
    from earful.lake.layout import Lake

    lake = Lake(str(lake_copy))
    shutil.rmtree(lake_copy / "labels")
    shutil.rmtree(lake_copy / "rollups" / "labels")
    m = lake.manifest()
    m["current"]["labels"] = {}
    lake.save_manifest(m)
    assert lake_rows(lake_copy, "SELECT count(*) FROM rollup_labels")[0][0] == 0
    out = runner.run(lake, runner.classify_job(lake, TAXONOMY), engine="local", batch_size=16)
    assert out["rows"] == N_ROWS and out["batches"] == 4 and out["rollup_partitions"] > 0
    assert lake_rows(lake_copy, "SELECT source, day, taxonomy, label, n FROM rollup_labels ORDER BY ALL") == \
        rows(workspace, ROLLUP_SQL["rollup_labels"])
    again = runner.run(lake, runner.classify_job(lake, TAXONOMY), engine="local")
    assert again["todo"] == 0 and again["rows"] == 0
    assert lake_rows(lake_copy, "SELECT count(*), count(DISTINCT item_id) FROM classify_labels")[0] == \
        (N_ROWS, N_ROWS)


# -- the stages on the local engine ---------------------------------------------------------------------------------
def stage_results(lake: Path) -> dict:
    """What the three stages wrote: {content_hash: vector}, {item_id: label row}, {item_id: topic_id}."""
    vec = lake_rows(lake, "SELECT content_hash, vector FROM embeddings")
    lab = lake_rows(lake, "SELECT item_id, label, labels, probability, model_version FROM classify_labels")
    top = lake_rows(lake, "SELECT item_id, topic_id, score FROM topic_assignments")
    for got in (vec, lab, top):
        keys = [r[0] for r in got]
        assert len(keys) == len(set(keys)), "duplicate keys"
    return {"vectors": {r[0]: np.asarray(r[1], dtype=np.float32) for r in vec},
            "labels": {r[0]: r[1:] for r in lab}, "topics": {r[0]: (r[1], r[2]) for r in top}}


def run_all_stages(lake_dir: Path, engine: str, batch_size: int, concurrency: int = 1) -> list[dict]:
    from earful.lake import runner
    from earful.lake.layout import Lake

    lake = Lake(str(lake_dir))
    return [runner.run(lake, job, engine=engine, batch_size=batch_size, concurrency=concurrency)
            for job in (runner.embed_job(lake, redo=True), runner.classify_job(lake, TAXONOMY, redo=True),
                        runner.assign_job(lake, redo=True))]


def expected_topics(workspace: Path) -> dict:
    """Nearest stored centroid over the workspace's own vectors (`earful.topics.model.nearest`), by item."""
    from earful.topics.model import nearest

    params = json.loads(rows(workspace, "SELECT params FROM topic_runs")[0][0])
    tc = rows(workspace, "SELECT topic_id, centroid FROM topics WHERE status = 'active' ORDER BY topic_id")
    iv = rows(workspace, "SELECT i.item_id, e.vector FROM items i JOIN embeddings e USING (content_hash) "
                         "ORDER BY i.item_id")
    idx, _ = nearest(np.asarray([v for _, v in iv], dtype=np.float32), np.asarray([c for _, c in tc], np.float32),
                     float(params.get("threshold", 0.3)))
    return {iid: (tc[k][0] if k >= 0 else -1) for (iid, _), k in zip(iv, idx)}


def test_local_engine_stages_equal_the_workspace(lake_copy, workspace):
    outs = run_all_stages(lake_copy, "local", batch_size=128)
    assert [o["rows"] for o in outs] == [len(rows(workspace, "SELECT DISTINCT content_hash FROM items")),
                                         N_ROWS, N_ROWS]
    got = stage_results(lake_copy)
    ws_vec = {h: np.asarray(v, np.float32) for h, v in rows(workspace, "SELECT content_hash, vector FROM embeddings")}
    assert set(got["vectors"]) == set(ws_vec)
    for h, v in ws_vec.items():   # the workspace embedded in batches of 128 by content_hash, as this run did
        np.testing.assert_allclose(got["vectors"][h], v, atol=1e-5)
    ws_lab = {r[0]: r[1:] for r in rows(workspace, "SELECT item_id, label, labels, probability, model_version "
                                                   "FROM classify_labels")}
    assert {k: (v[0], v[1], v[3]) for k, v in got["labels"].items()} == \
        {k: (v[0], v[1], v[3]) for k, v in ws_lab.items()}
    for k, v in ws_lab.items():
        assert got["labels"][k][2] == pytest.approx(v[2], abs=1e-9)
    assert {k: t for k, (t, _) in got["topics"].items()} == expected_topics(workspace)


def test_unknown_engine_and_missing_models_say_what_to_do(lake_copy):
    from earful.errors import InputError, NotFoundError
    from earful.lake import runner
    from earful.lake.layout import Lake

    lake = Lake(str(lake_copy))
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        runner.run(lake, runner.assign_job(lake), engine="spark")
    with pytest.raises(NotFoundError, match="no trained model for taxonomy 'nope'") as e:
        runner.classify_job(lake, "nope")
    assert "earful export" in str(e.value)


def test_a_ray_address_that_answers_nothing_fails_fast_with_what_to_do(lake_copy, tmp_path):
    """``RAY_ADDRESS`` naming a port where no cluster listens: `embed --engine ray` exits with an EarfulError that
    names the address and says what to do (Ray's own client retries the GCS for minutes; the subprocess's timeout
    turns such a hang into a failure here)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("ray", reason="Ray is not installed: pip install 'earful[ray]'")
    from conftest import ROOT, free_port

    from earful.lake.catalog import init_catalog

    shutil.rmtree(lake_copy / "embeddings")   # work to do: with nothing to do no cluster is needed
    db = tmp_path / "lake.duckdb"
    init_catalog(str(lake_copy), db)
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "RAY_ADDRESS": address}
    res = subprocess.run([sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), "embed",
                          "--engine", "ray"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"no Ray cluster answers at RAY_ADDRESS={address}" in res.stderr
    assert "ray start --head" in res.stderr and "Traceback" not in res.stderr


# -- the question engine on a lake-backed workspace ---------------------------------------------------------------
DEV_DATA = [("reviews", "clap_app_reviews/reviews.csv", "review"),
            ("critiques", "wildbench_v2_critiques/critiques.jsonl", "weaknesses"),
            ("forum", "tizard_forum_posts/sentences.csv", "sentence")]


def test_the_builtin_engine_answers_the_dev_questions_alike_on_the_lake(tmp_path):
    """The three dev datasets (../shared/eval/dev_qa.jsonl) ingested into a workspace, exported, and made a catalog:
    every dev question gets the same status, answer text and result rows from both (the engine reads the catalog's
    per-source views over Parquet through the read-only store, which allows the lake's folder and nothing else)."""
    from conftest import SHARED, shared

    from earful.ingest.pipeline import ingest_file
    from earful.lake.catalog import init_catalog
    from earful.lake.export import export
    from earful.qa_agent.base import AskContext
    from earful.qa_agent.builtin import BuiltinEngine
    from earful.store import Store

    questions = [json.loads(line) for line in shared("../eval/dev_qa.jsonl").read_text().splitlines() if line.strip()]
    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        for source, path, text in DEV_DATA:
            ingest_file(s, SHARED / path, source=source, overrides={"text": text})
        export(s, str(tmp_path / "lake"))
    catalog = tmp_path / "lake.duckdb"
    init_catalog(str(tmp_path / "lake"), catalog)
    engine = BuiltinEngine()
    answered = 0
    for q in questions:
        got = [engine.answer(q["question"], AskContext(db_path=str(p), settings=None)) for p in (db, catalog)]
        assert got[1].status == got[0].status, q["question"]
        assert got[1].answer == got[0].answer, q["question"]
        assert [t.rows for t in got[1].tables] == [t.rows for t in got[0].tables], q["question"]
        answered += got[0].status == "answered"
    assert answered >= len(questions) // 2
    # and nothing outside the lake's folder is readable through the catalog's read-only path
    from earful.errors import ExecutionError, ReadOnlyError
    from earful.store.readonly import run_read_only

    with pytest.raises((ExecutionError, ReadOnlyError), match="disabled by configuration"):
        run_read_only(str(catalog), f"SELECT * FROM read_csv('{SHARED / DEV_DATA[0][1]}')")


def test_a_catalog_naming_a_folder_that_is_no_lake_gets_no_file_access(catalog, tmp_path):
    """The read-only path allows a catalog's lake folder only when it holds a lake manifest: a catalog file whose
    _lake row names "/" (or any plain folder) reads nothing outside itself."""
    from earful.errors import ExecutionError, ReadOnlyError
    from earful.store.readonly import run_read_only

    forged = tmp_path / "forged.duckdb"
    shutil.copy(catalog, forged)
    con = duckdb.connect(str(forged))
    con.execute("UPDATE _lake SET url = '/'")
    con.close()
    with pytest.raises((ExecutionError, ReadOnlyError), match="disabled by configuration"):
        run_read_only(str(forged), "SELECT * FROM read_csv('/etc/hostname')")


def test_a_stage_command_refreshes_the_catalog_it_serves(lake_copy, tmp_path):
    """`earful --db CATALOG lake classify LAKE` on a lake with no labels: the run labels every item and re-makes the
    catalog, whose per-source view then has the taxonomy's column."""
    from earful.lake.layout import Lake

    shutil.rmtree(lake_copy / "labels")
    lake = Lake(str(lake_copy))
    m = lake.manifest()
    m["current"]["labels"] = {}
    lake.save_manifest(m)
    db = tmp_path / "lake.duckdb"
    assert run_cli("lake", "init", str(lake_copy), db=db).returncode == 0
    assert TAXONOMY not in [r[0] for r in rows(db, "DESCRIBE urr")]
    res = run_cli("lake", "classify", str(lake_copy), "--taxonomy", TAXONOMY, "--json", db=db)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["rows"] == N_ROWS and out["engine"] == "local" and out["catalog_refreshed"] == str(db)
    assert rows(db, f"SELECT count({TAXONOMY}) FROM urr")[0][0] == N_ROWS


def test_a_relative_lake_folder_works_from_any_folder(workspace, tmp_path):
    """`export --to lake` and `lake init lake` in one folder; the catalog then answers from another (it names the
    lake by its absolute path)."""
    res = run_cli("--db", str(workspace), "export", "--to", "lake", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["lake"] == str((tmp_path / "lake").resolve())
    assert run_cli("--db", "lake.duckdb", "lake", "init", "lake", cwd=tmp_path).returncode == 0
    res = run_cli("sql", "SELECT count(*) AS n FROM urr", "--json", db=tmp_path / "lake.duckdb")
    assert res.returncode == 0, res.stderr
    assert str(N_ROWS) in res.stdout
