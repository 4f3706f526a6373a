"""The workspace commands on a lake-backed workspace (#18): `earful ingest`, `embed`, `classify run` and `topics assign`
with ``--db CATALOG`` do their work through the lake (Hive partitions appended, the stage runner for the model stages)
and refresh the catalog; what a lake cannot do, and ``--engine ray`` where it cannot run, are clear errors.
Real CLI in subprocesses, real lakes in tmp_path, the bundled URR reviews.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli, urr_sample
from test_lake import TAXONOMY, build_workspace

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N_ROWS = 40


def rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def cli_json(db: Path, *args):
    res = run_cli(*args, "--json", db=db)
    assert res.returncode == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


# -- ingest into a lake ----------------------------------------------------------------------------------------------
ITEMS = "SELECT item_id, source, external_id, text, created_at, rating, author, content_hash FROM items ORDER BY ALL"


def test_ingest_into_a_lake_appends_hive_partitions_deduplicated_like_a_workspace(tmp_path):
    """Two overlapping files into a new lake (`lake init --create`) and into a plain workspace: the lake gets Hive
    partitions items/source=urr/date=<d>/ (the second file only adds files), the same items, the same duplicate
    counts, the same per-source view, rollups equal SQL over the workspace, and the batches and sources meta."""
    first = urr_sample(tmp_path / "a.csv", slice(0, 30))
    second = urr_sample(tmp_path / "b.csv", slice(20, 50))
    cat, ws, lake = tmp_path / "lake.duckdb", tmp_path / "ws.duckdb", tmp_path / "lake"
    assert run_cli("lake", "init", str(lake), "--create", db=cat).returncode == 0
    got_lake = [cli_json(cat, "ingest", str(f), "--source", "urr") for f in (first, second)]
    got_ws = [cli_json(ws, "ingest", str(f), "--source", "urr") for f in (first, second)]
    for a, b in zip(got_lake, got_ws):
        assert (a["added"], a["duplicates"], a["quarantined"]) == (b["added"], b["duplicates"], b["quarantined"])
    assert [g["added"] for g in got_lake] == [30, 20] and got_lake[1]["duplicates"] == 10
    days = rows(ws, "SELECT DISTINCT CAST(created_at AS DATE)::VARCHAR FROM items")
    for (day,) in days:
        assert list((lake / "items" / "source=urr" / f"date={day}").glob("part-*.parquet")), day
        assert list((lake / "raw" / "source=urr" / f"date={day}").glob("part-*.parquet")), day
    assert rows(cat, ITEMS) == rows(ws, ITEMS)
    assert rows(cat, "SELECT * FROM urr ORDER BY item_id") == \
        rows(ws, "SELECT * FROM urr ORDER BY item_id")
    assert rows(cat, "SELECT source, day, rating, n FROM rollup_items ORDER BY ALL") == \
        rows(ws, "SELECT source, CAST(created_at AS DATE), rating, count(*) FROM items GROUP BY ALL ORDER BY ALL")
    assert rows(cat, "SELECT added, duplicates FROM batches ORDER BY started_at") == [(30, 0), (20, 10)]
    assert rows(cat, "SELECT name, text_column FROM sources") == rows(ws, "SELECT name, text_column FROM sources")
    # the same file again adds nothing and writes no partition
    files = sorted((lake / "items").rglob("*.parquet"))
    again = cli_json(cat, "ingest", str(second), "--source", "urr")
    assert (again["added"], again["duplicates"]) == (0, 30)
    assert sorted((lake / "items").rglob("*.parquet")) == files


def test_ingest_into_a_lake_keeps_bad_rows_in_quarantine(tmp_path):
    csv = tmp_path / "q.csv"
    csv.write_text("id,text,date\n1,fine,2024-01-02\n2,,2024-01-03\n3,also fine,2024-01-04\n", encoding="utf-8")
    cat, ws = tmp_path / "lake.duckdb", tmp_path / "ws.duckdb"
    assert run_cli("lake", "init", str(tmp_path / "lake"), "--create", db=cat).returncode == 0
    a, b = cli_json(cat, "ingest", str(csv)), cli_json(ws, "ingest", str(csv))
    assert (a["added"], a["quarantined"]) == (b["added"], b["quarantined"])
    assert rows(cat, "SELECT record_no, reason FROM quarantine") == rows(ws, "SELECT record_no, reason FROM quarantine")


# -- the model stages through the workspace commands -----------------------------------------------------------------
@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> Path:
    """A processed workspace (vectors, a trained TF-IDF model and its labels, stand-in topics) on N_ROWS reviews."""
    return build_workspace(tmp_path_factory.mktemp("lake_ws_cmds"), rows=N_ROWS)


def _bare_lake(processed: Path, folder: Path) -> Path:
    """The processed workspace exported, then its vectors, labels and topic assignments removed: a lake whose model
    stages are fitted but not yet applied."""
    from earful.lake.export import export
    from earful.lake.layout import Lake
    from earful.store import Store

    with Store(processed, read_only=True) as s:
        export(s, str(folder))
    for sub in ("embeddings", "labels", "topics", "rollups/labels", "rollups/topics"):
        shutil.rmtree(folder / sub)
    lake = Lake(str(folder))
    m = lake.manifest()
    m["current"] = {"embeddings": [], "labels": {}, "topics": []}
    lake.save_manifest(m)
    return folder


def test_embed_classify_assign_on_a_lake_backed_workspace(processed, tmp_path):
    """`embed`, `classify run` and `topics assign` with --db CATALOG run the lake's stages and refresh the catalog:
    labels and topics equal the workspace's; new items ingested later are the only ones each command then does."""
    lake = _bare_lake(processed, tmp_path / "lake")
    cat = tmp_path / "lake.duckdb"
    assert run_cli("lake", "init", str(lake), db=cat).returncode == 0
    emb = cli_json(cat, "embed", "--engine", "local")
    assert emb["stage"] == "EmbedStage" and emb["engine"] == "local" and emb["rows"] == \
        rows(processed, "SELECT count(DISTINCT content_hash) FROM items")[0][0]
    lab = cli_json(cat, "classify", "run", "-t", TAXONOMY)
    assert lab["rows"] == N_ROWS and lab["engine"] == "local"
    top = cli_json(cat, "topics", "assign")
    assert top["rows"] == N_ROWS
    assert rows(cat, "SELECT item_id, label FROM classify_labels ORDER BY 1") == \
        rows(processed, "SELECT item_id, label FROM classify_labels ORDER BY 1")
    assert rows(cat, f"SELECT count({TAXONOMY}) FROM urr")[0][0] == N_ROWS   # the catalog was refreshed
    assert rows(cat, "SELECT count(*), count(DISTINCT item_id) FROM topic_assignments")[0] == (N_ROWS, N_ROWS)
    # ten new reviews: each command does exactly those
    new = urr_sample(tmp_path / "new.csv", slice(N_ROWS, N_ROWS + 10))
    assert cli_json(cat, "ingest", str(new), "--source", "urr")["added"] == 10
    assert cli_json(cat, "embed")["rows"] == 10
    assert cli_json(cat, "classify", "run", "-t", TAXONOMY, "--source", "urr")["rows"] == 10
    assert cli_json(cat, "topics", "assign")["rows"] == 10
    assert rows(cat, "SELECT count(*), count(DISTINCT item_id) FROM classify_labels")[0] == (N_ROWS + 10,) * 2
    assert rows(cat, "SELECT sum(n) FROM rollup_labels")[0][0] == N_ROWS + 10


def test_what_a_lake_cannot_do_says_what_to_run(processed, tmp_path):
    lake = _bare_lake(processed, tmp_path / "lake")
    cat = tmp_path / "lake.duckdb"
    assert run_cli("lake", "init", str(lake), db=cat).returncode == 0
    res = run_cli("classify", "run", "-t", TAXONOMY, "--method", "cascade", db=cat)
    assert res.returncode == 2
    assert f"classify run -t {TAXONOMY} --method cascade' in a workspace" in res.stderr
    assert "earful export" in res.stderr
    res = run_cli("classify", "run", "-t", TAXONOMY, "--method", "llm", db=cat)   # runs on a lake, given an LLM
    assert res.returncode != 0 and "[llm] model is 'none'" in res.stderr
    res = run_cli("embed", "--source", "nope", db=cat)
    assert res.returncode == 2 and "no source named 'nope' in the lake (known: urr)" in res.stderr
    res = run_cli("embed", "--engine", "spark", db=cat)
    assert res.returncode == 2 and "unknown engine 'spark'" in res.stderr


def test_engine_ray_on_a_plain_workspace_is_a_clear_error(processed):
    before = rows(processed, "SELECT count(*) FROM embeddings")
    for args in (("embed",), ("classify", "run", "-t", TAXONOMY), ("topics", "assign")):
        res = run_cli(*args, "--engine", "ray", db=processed)
        assert res.returncode == 2, res.stderr
        assert "--engine ray runs on a lake-backed workspace" in res.stderr and "export --to lake" in res.stderr
        assert "lake init lake" in res.stderr
    assert rows(processed, "SELECT count(*) FROM embeddings") == before


def test_engine_ray_without_ray_says_the_pip_line(processed, tmp_path, monkeypatch):
    """Ray made unimportable (a `ray` package that raises ImportError, first on the path): the command stops before
    any work with the exact pip install line."""
    stub = tmp_path / "noray" / "ray"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('ray is not installed (test stub)')\n")
    monkeypatch.setenv("PYTHONPATH", str(stub.parent))
    lake = _bare_lake(processed, tmp_path / "lake")
    cat = tmp_path / "lake.duckdb"
    assert run_cli("lake", "init", str(lake), db=cat).returncode == 0
    res = run_cli("embed", "--engine", "ray", db=cat)
    assert res.returncode == 3, res.stderr
    assert "install it with: pip install 'earful[ray]'" in res.stderr
    assert not (lake / "embeddings").exists()


def test_a_workspace_being_written_is_still_waited_for_then_called_busy(tmp_path):
    """The lake check that every command now makes first (is --db a catalog?) must not turn another process's write
    lock into a crash: the command waits (--wait) and says the workspace is busy, as before."""
    import subprocess
    import sys

    ws = tmp_path / "ws.duckdb"
    cli_json(ws, "ingest", str(urr_sample(tmp_path / "a.csv", slice(0, 5))))
    code = f"import duckdb, time; c = duckdb.connect({str(ws)!r}); print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        for args in (("embed",), ("topics", "assign"), ("ingest", str(tmp_path / "a.csv"))):
            res = run_cli("--wait", "1", *args, db=ws)
            assert res.returncode == 75, res.stderr
            assert f"workspace {ws} is busy" in res.stderr and "waited 1 s" in res.stderr
    finally:
        holder.kill()
        holder.wait()
