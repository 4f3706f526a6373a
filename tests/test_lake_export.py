"""`earful export --to DIR` (#18) reruns: an unchanged workspace re-exported touches no file of the lake; new rows
rewrite only the (source, date) partitions they fall in (items and raw), the stage datasets only where their rows
changed, the rollups only for the months that changed. Hostile targets (a folder of other files, a file, a folder
that cannot be written) are refused with a clear error and nothing written; a catalog whose lake folder is gone says
so. A real workspace: 240 URR reviews from ../shared/datasets ingested with the CLI, MiniLM vectors, a TF-IDF model
on the ardoc column and its labels, stand-in topics; every lake is a real folder in tmp_path.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ingest_json, run_cli, shared, sql_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N_ROWS = 240
URR = "urr_app_reviews/reviews_all.csv"


def urr_rows(start: int, stop: int) -> tuple[list[str], list[list[str]]]:
    with open(shared(URR), newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    return data[0], data[1:][start:stop]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A processed workspace (kept as built: tests that change it work on a copy)."""
    from earful.classify.base import load_taxonomy
    from earful.classify.workspace import import_gold_column, label_items, latest_model, train
    from earful.embeddings import embed_items
    from earful.store import Store
    from earful.topics.fit import fit_topics

    folder = tmp_path_factory.mktemp("export_ws")
    db = folder / "w.duckdb"
    header, rows = urr_rows(0, N_ROWS)
    ingest_json(db, str(write_csv(folder / "urr.csv", header, rows)), "--source", "urr")
    with Store(db) as s:
        embed_items(s)
        import_gold_column(s, "ardoc", "ardoc_label_auto")
        train(s, "ardoc", method="tfidf")
        clf, version, _, _ = latest_model(s, "ardoc")
        label_items(s, load_taxonomy("ardoc", s), clf, method="offline", version=version)
        fit_topics(s, backend="pca-kmeans-standin", backend_params={"n_topics": 3})
    return db


@pytest.fixture
def copy(workspace, tmp_path) -> Path:
    dst = tmp_path / "ws" / "w.duckdb"
    dst.parent.mkdir()
    shutil.copy(workspace, dst)
    return dst


def export(db: Path, lake: Path) -> dict:
    res = run_cli("export", "--to", str(lake), "--json", db=db)
    assert res.returncode == 0, res.stderr + res.stdout
    return json.loads(res.stdout)


def snapshot(lake: Path) -> dict[str, tuple[int, int]]:
    """Every file of the lake: relative path -> (mtime in ns, size)."""
    return {str(p.relative_to(lake)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in lake.rglob("*") if p.is_file()}


def changed_folders(before: dict, after: dict) -> set[str]:
    """The folders of files added, removed or rewritten between two snapshots."""
    return {str(Path(f).parent) for f in set(before) | set(after) if before.get(f) != after.get(f)}


def lake_count(lake: Path, dataset: str) -> int:
    import duckdb

    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{lake}/{dataset}/**/*.parquet')").fetchall()[0][0]


# -- reruns ---------------------------------------------------------------------------------------------------------
def test_an_unchanged_reexport_touches_no_file(workspace, tmp_path):
    lake = tmp_path / "lake"
    first = export(workspace, lake)
    before = snapshot(lake)
    assert any(f.startswith("items/source=urr/date=") for f in before)
    again = export(workspace, lake)
    assert snapshot(lake) == before          # same names, same mtimes: items, raw, stages, rollups, meta, manifest
    assert again["partitions"]["written"] == 0 and again["partitions"]["removed"] == 0
    assert again["partitions"]["unchanged"] == first["partitions"]["written"] > 0
    assert again["rollup_partitions"] == 0
    assert (again["items"], again["raw"], again["item_partitions"]) == \
        (first["items"], first["raw"], first["item_partitions"]) == (N_ROWS, N_ROWS, first["item_partitions"])


def test_new_rows_rewrite_only_their_partitions(copy, tmp_path):
    lake = tmp_path / "lake"
    export(copy, lake)
    days = [r[0] for r in sql_rows(copy, "SELECT DISTINCT CAST(created_at AS DATE)::VARCHAR FROM items ORDER BY 1")]
    old_day, new_day = days[len(days) // 2], "2017-01-15"
    assert new_day not in days
    header, more = urr_rows(N_ROWS, N_ROWS + 3)
    fmt = {d: f"{d[8:10]}/{d[5:7]}/{d[2:4]}" for d in (old_day, new_day)}   # URR's own dd/mm/yy
    for row, day in zip(more, [old_day, old_day, new_day], strict=True):
        row[header.index("review_id")] += "-new"
        row[header.index("date")] = fmt[day]
    ingest_json(copy, str(write_csv(tmp_path / "new.csv", header, more)), "--source", "urr")
    before = snapshot(lake)
    out = export(copy, lake)
    after = snapshot(lake)
    got = changed_folders(before, after) - {"."}   # the manifest and the export state at the root change
    months = {old_day[:7], new_day[:7]}
    rollups = {f"rollups/{r}/source=urr/month={m}" for r in ("items", "labels", "topics") for m in months}
    version = sql_rows(copy, "SELECT DISTINCT model_version FROM classify_labels")[0][0]
    run = sql_rows(copy, "SELECT DISTINCT run_id FROM topic_assignments")[0][0]
    # ingest's after-ingest hook embedded the new items and assigned them to the fitted topics; no labels yet
    assert sql_rows(copy, "SELECT (SELECT count(*) FROM embeddings), (SELECT count(*) FROM topic_assignments), "
                          "(SELECT count(*) FROM classify_labels)")[0] == (N_ROWS + 3, N_ROWS + 3, N_ROWS)
    items = {f"{ds}/source=urr/date={d}" for ds in ("items", "raw") for d in (old_day, new_day)}
    stages = {"embeddings/model=all-MiniLM-L6-v2", f"topics/run={run}", "meta"}
    assert {f for f in got if f.startswith(("items/", "raw/"))} == items
    assert {f for f in got if not f.startswith(("items/", "raw/", "rollups/"))} == stages
    assert {f for f in got if f.startswith("rollups/")} <= rollups
    assert {f"rollups/items/source=urr/month={m}" for m in months} <= got
    assert out["partitions"]["written"] == 6 and out["partitions"]["rollup_months_rebuilt"] == 2
    assert out["rows_written"]["items"] == 3 + sum(1 for (d,) in sql_rows(
        copy, "SELECT CAST(created_at AS DATE)::VARCHAR FROM items") if d == old_day) - 2
    assert out["rows_written"]["labels"] == 0 and f"labels/taxonomy=ardoc/model={version}" not in got
    assert lake_count(lake, "items") == lake_count(lake, "raw") == N_ROWS + 3

    # now the new items get labels: only the taxonomy's labels partition, the meta table of classify runs and
    # those two months' rollups change
    from earful.classify.base import load_taxonomy
    from earful.classify.workspace import label_items, latest_model
    from earful.store import Store

    with Store(copy) as s:
        clf, version, _, _ = latest_model(s, "ardoc")
        label_items(s, load_taxonomy("ardoc", s), clf, method="offline", version=version)
    before = snapshot(lake)
    out = export(copy, lake)
    got = changed_folders(before, snapshot(lake)) - {"."}
    assert got - rollups - {"meta"} == {f"labels/taxonomy=ardoc/model={version}"}   # meta: the labelling run
    assert {f"rollups/labels/source=urr/month={m}" for m in months} <= got
    assert out["partitions"]["written"] == 1 and out["partitions"]["rollup_months_rebuilt"] == 2
    assert lake_count(lake, "labels") == N_ROWS + 3


def test_a_partition_changed_behind_the_exports_back_is_rewritten(workspace, tmp_path):
    """A partition whose files are not the ones the export wrote (a file deleted, or another writer's file added)
    is rewritten from the workspace; the others stay as they were."""
    lake = tmp_path / "lake"
    export(workspace, lake)
    parts = sorted((lake / "items" / "source=urr").glob("date=*"))
    gone = next(parts[0].glob("*.parquet"))
    gone.unlink()
    before = snapshot(lake)
    export(workspace, lake)
    month = parts[0].name.split("=")[1][:7]
    rollups = {f"rollups/{r}/source=urr/month={month}" for r in ("items", "labels", "topics")}
    assert changed_folders(before, snapshot(lake)) - {"."} - rollups == {str(parts[0].relative_to(lake))}
    assert lake_count(lake, "items") == N_ROWS


# -- hostile targets ------------------------------------------------------------------------------------------------
def test_export_refuses_a_folder_of_other_files(workspace, tmp_path):
    target = tmp_path / "photos"
    (target / "items").mkdir(parents=True)
    (target / "notes.txt").write_text("my notes")
    (target / "items" / "keep.txt").write_text("not a partition")
    before = snapshot(target)
    res = run_cli("export", "--to", str(target), db=workspace)
    assert res.returncode == 2, res.stderr
    assert f"{target} is not empty" in res.stderr and "not an Earful lake" in res.stderr
    assert "pick a new or empty folder, or an existing Earful lake" in res.stderr
    assert "unexpected error" not in res.stderr
    assert snapshot(target) == before and sorted(p.name for p in target.iterdir()) == ["items", "notes.txt"]


def test_export_refuses_a_file(workspace, tmp_path):
    target = tmp_path / "afile.txt"
    target.write_text("precious")
    res = run_cli("export", "--to", str(target), db=workspace)
    assert res.returncode == 2, res.stderr
    assert f"{target} is a file, not a folder" in res.stderr and "unexpected error" not in res.stderr
    assert target.read_text() == "precious"
    res = run_cli("export", "--to", str(target / "lake"), db=workspace)   # a folder under a file
    assert res.returncode == 2 and "cannot write the lake at" in res.stderr, res.stderr
    assert target.read_text() == "precious"


def test_export_into_an_unwritable_folder_is_a_clear_error(workspace, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode != 0:
        if os.geteuid() == 0:
            pytest.skip("neither chattr +i nor file modes can stop root writing here")
        ro.chmod(0o500)
    try:
        res = run_cli("export", "--to", str(ro / "lake"), db=workspace)
    finally:
        subprocess.run(["chattr", "-i", str(ro)], capture_output=True)
        ro.chmod(0o700)
    assert res.returncode == 2, res.stderr
    assert f"cannot write the lake at {ro / 'lake'}" in res.stderr and "unexpected error" not in res.stderr
    assert list(ro.iterdir()) == []


# -- a catalog whose lake is gone -----------------------------------------------------------------------------------
def test_a_catalog_whose_lake_is_gone_says_so(workspace, tmp_path):
    lake = tmp_path / "lake"
    export(workspace, lake)
    cat = tmp_path / "lake.duckdb"
    assert run_cli("lake", "init", str(lake), db=cat).returncode == 0
    assert run_cli("sql", "SELECT count(*) AS n FROM urr", "--json", db=cat).returncode == 0
    lake.rename(tmp_path / "moved")
    # status opens the catalog writable (earful.cli.common); sql and ask read-only (earful.store.readonly)
    for args in (["status"], ["sql", "SELECT count(*) FROM urr"], ["ask", "How many reviews are there?"]):
        res = run_cli(*args, db=cat)
        assert res.returncode == 2, (args, res.stderr)
        said = "".join(res.stderr.split())   # the console wraps long lines
        assert "".join(f"the lake at {lake} that {cat} reads is gone".split()) in said, (args, res.stderr)
        assert "".join(f"earful --db {cat} lake init FOLDER".split()) in said and "unexpectederror" not in said
    # pointing the catalog at where the lake is now is the fix, and works
    (tmp_path / "moved").rename(tmp_path / "lake2")
    assert run_cli("lake", "init", str(tmp_path / "lake2"), db=cat).returncode == 0
    res = run_cli("sql", "SELECT count(*) AS n FROM urr", "--json", db=cat)
    assert res.returncode == 0 and json.loads(res.stdout)["rows"] == [[N_ROWS]], res.stderr
