"""`--engine ray` equals `--engine local` (#18): the same stage classes over the same lake, on a one-node Ray cluster
started once per session (``ray.init(num_cpus=3, include_dashboard=False)``: with 2 CPUs two 1-CPU actors took every
slot and the read never ran). For each stage: the same id set, no duplicates, embeddings allclose 1e-5 (and bitwise
where the batch boundaries match), labels and topic ids exactly equal, and the rollups the runs rebuilt equal.
Every test has a timeout, so a hung cluster fails instead of stalling the suite.
"""
from __future__ import annotations

import os
import shutil

import duckdb
import numpy as np
import pytest
from test_lake import TAXONOMY, build_workspace, lake_rows, stage_results

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'earful[ray]' (ray[data]==2.60.0)")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'earful[ray]'")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

N_ROWS = 48
BATCH = 16


@pytest.fixture(scope="session")
def ray_cluster():
    """``ray.init(num_cpus=3, include_dashboard=False)``, retried: on a loaded machine a node can miss Ray's fixed
    15 s wait for its dashboard agent, and the next attempt (warm imports) makes it."""
    from earful.lake.runner import LOCAL_CLUSTER_ENV, OFFLINE_ENV, start_local_cluster

    for key, value in LOCAL_CLUSTER_ENV.items():
        os.environ.setdefault(key, value)
    if ray.is_initialized():
        ray.shutdown()
    start_local_cluster(ray, attempts=3, num_cpus=3, include_dashboard=False, log_to_driver=False,
                        runtime_env={"env_vars": OFFLINE_ENV})
    yield ray
    ray.shutdown()


# (name, batch size, actors): embed with one actor, so the batches are the local run's and the vectors the same bits;
# classify and assign with a pool of two (two blocks of 4 batches: each actor gets one), labels and topics the same
STAGES = (("embed", BATCH, 1), ("classify", BATCH // 2, 2), ("assign", BATCH // 2, 2))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A processed workspace of N_ROWS reviews, exported once (tests copy it before changing it)."""
    from earful.lake.export import export
    from earful.store import Store

    root = tmp_path_factory.mktemp("lake_ray")
    db = build_workspace(root / "ws", rows=N_ROWS)
    with Store(db, read_only=True) as s:
        export(s, str(root / "exported"))
    return root / "exported"


@pytest.fixture(scope="module")
def engines(exported, ray_cluster):
    """The exported lake, copied twice; every stage run with --redo on each copy, local and ray, same batch sizes."""
    from earful.lake import runner
    from earful.lake.layout import Lake

    root = exported.parent
    out = {"exported": exported}
    jobs = {"embed": lambda lk: runner.embed_job(lk, redo=True),
            "classify": lambda lk: runner.classify_job(lk, TAXONOMY, redo=True),
            "assign": lambda lk: runner.assign_job(lk, redo=True)}
    for engine in ("local", "ray"):
        path = root / engine
        shutil.copytree(exported, path)
        lake = Lake(str(path))
        summaries = {name: runner.run(lake, jobs[name](lake), engine=engine, batch_size=batch, concurrency=actors)
                     for name, batch, actors in STAGES}
        out[engine] = {"path": path, "summaries": summaries, "results": stage_results(path)}
    return out


def test_every_stage_ran_on_both_engines(engines):
    for engine in ("local", "ray"):
        s = engines[engine]["summaries"]
        assert {k: v["engine"] for k, v in s.items()} == dict.fromkeys(s, engine)
        assert s["classify"]["rows"] == s["assign"]["rows"] == N_ROWS
    ray_files = list((engines["ray"]["path"] / "labels").rglob("*.parquet"))
    assert ray_files and not any(p.name.startswith("part-") for p in ray_files)   # written by Ray's workers


def test_embed_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["vectors"], engines["ray"]["results"]["vectors"]
    assert set(remote) == set(local) and len(local) > 0
    for h, v in local.items():
        np.testing.assert_allclose(remote[h], v, atol=1e-5, rtol=0)
    same = sum(np.array_equal(remote[h], v) for h, v in local.items())
    # batch boundaries match (same order, same size), so the vectors are the same bits
    assert same == len(local), f"{len(local) - same} of {len(local)} vectors differ in their last bits"


def test_classify_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["labels"], engines["ray"]["results"]["labels"]
    assert set(remote) == set(local) and len(local) == N_ROWS
    assert {k: (v[0], v[1], v[3]) for k, v in remote.items()} == {k: (v[0], v[1], v[3]) for k, v in local.items()}
    for k, v in local.items():
        assert remote[k][2] == pytest.approx(v[2], abs=1e-9)


def test_assign_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["topics"], engines["ray"]["results"]["topics"]
    assert set(remote) == set(local) and len(local) == N_ROWS
    assert {k: t for k, (t, _) in remote.items()} == {k: t for k, (t, _) in local.items()}
    for k, (_, score) in local.items():
        assert remote[k][1] == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("rollup", ["rollup_items", "rollup_labels", "rollup_topics"])
def test_rollups_ray_equal_local(engines, rollup):
    sql = f"SELECT * FROM {rollup} ORDER BY ALL"
    got = lake_rows(engines["ray"]["path"], sql)
    assert got == lake_rows(engines["local"]["path"], sql) and len(got) > 0


def test_an_actor_pool_of_two_shares_the_batches(engines):
    """classify and assign ran on two actors (each loads its model once): the same labels and topics as local, no
    duplicates (`stage_results` asserts that)."""
    s = engines["ray"]["summaries"]
    assert s["classify"]["actors"] == s["assign"]["actors"] == 2 and s["embed"]["actors"] == 1


def test_the_workspace_commands_run_on_ray_through_a_catalog(engines, tmp_path):
    """`earful ingest` / `embed` / `classify run` / `topics assign --engine ray|local` with --db CATALOG (the commands'
    one call, `earful.lake.workspace.on_lake`): eight new reviews ingested into two copies of the processed lake,
    then each model stage run on each engine through the catalog; both catalogs then hold the same labels, topic ids
    and rollups, and each stage did exactly the new items."""
    from conftest import urr_sample

    from earful.cli.common import State
    from earful.lake.catalog import init_catalog
    from earful.lake.workspace import on_lake

    new = urr_sample(tmp_path / "new.csv", slice(N_ROWS, N_ROWS + 8))
    catalogs = {}
    for engine in ("local", "ray"):
        shutil.copytree(engines["local"]["path"], tmp_path / engine)
        db = tmp_path / f"{engine}.duckdb"
        init_catalog(str(tmp_path / engine), db)
        st = State(db=str(db))
        assert on_lake(st, "ingest", None, files=[(new, None)], source="urr")[0]["added"] == 8
        runs = [on_lake(st, "embed", engine), on_lake(st, "classify", engine, taxonomy=TAXONOMY),
                on_lake(st, "assign", engine)]
        assert [r["engine"] for r in runs] == [engine] * 3 and [r["rows"] for r in runs] == [8, 8, 8]
        catalogs[engine] = db
    def rows(engine: str, sql: str) -> list[tuple]:
        con = duckdb.connect(str(catalogs[engine]), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    for sql, n in (("SELECT item_id, label FROM classify_labels ORDER BY 1", N_ROWS + 8),
                   ("SELECT item_id, topic_id FROM topic_assignments ORDER BY 1", N_ROWS + 8),
                   ("SELECT source, day, taxonomy, label, n FROM rollup_labels ORDER BY ALL", 1)):
        got = rows("ray", sql)
        assert got == rows("local", sql) and len(got) >= n, sql


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("ray_cluster")
def test_llm_labels_on_ray_equal_local_come_from_the_cache_on_a_rerun_within_the_rate_limit(exported, tmp_path,
                                                                                           monkeypatch):
    """`classify run --method llm` on a pool of two actors (one call in flight each, `RPS` calls a second each)
    against a scripted OpenAI-compatible server: the labels equal the local run's; a rerun is answered from the lake's
    call log (the server sees no request); no one-second window saw more than 2 x (RPS + 1) requests; and a secret in
    the driver's environment (set after the cluster started: the workers do not know it) never reaches the server."""
    from fake_openai import FakeOpenAIServer
    from test_lake_llm import SECRET_ENV, Scripted, labelled, most_in_a_window, run_llm

    from earful.classify.base import Taxonomy
    from earful.lake.layout import Lake
    from earful.lake.llm import _taxonomy_spec

    rps = 10.0
    classes = sorted(Taxonomy.model_validate_json(_taxonomy_spec(Lake(str(exported)), TAXONOMY)).label_names)
    texts = [r[0] for r in lake_rows(exported, "SELECT text FROM items ORDER BY length(text) DESC")]
    canary = " ".join(texts[0].split()[1:4])
    monkeypatch.setenv(SECRET_ENV, canary)
    got = {}
    for engine in ("local", "ray"):
        path = tmp_path / engine
        shutil.copytree(exported, path)
        script = Scripted(classes)
        with FakeOpenAIServer(reply=script) as server:
            first = run_llm(path, server, engine, concurrency=2, batch_size=8, requests_per_s=rps)
            times = list(script.times)
            second = run_llm(path, server, engine, concurrency=2, batch_size=8, requests_per_s=rps)
            raw = "\n".join(server.raw)
        assert first["requests"] > 0 and first["engine"] == engine
        assert second["requests"] == 0 and second["side_cached"] == N_ROWS, engine
        assert canary not in raw and "[REDACTED]" in raw, engine
        got[engine] = (labelled(path), first["requests"])
    assert first["actors"] == 2
    assert most_in_a_window(times) <= 2 * (rps + 1), sorted(round(t - times[0], 3) for t in times)
    assert got["ray"] == got["local"] and len(got["ray"][0]) == N_ROWS
