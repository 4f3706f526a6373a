"""`--engine ray` equals `--engine local` (#18): the same stage classes over the same lake, on a one-node Ray cluster
started once for this file (``ray.init(num_cpus=3, include_dashboard=False)``: with 2 CPUs two 1-CPU actors took every
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
from test_lake import TAXONOMY, exported_workspace, lake_rows, stage_results

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'earful[ray]' (ray[data]==2.60.0)")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'earful[ray]'")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

N_ROWS = 48
N_NEW = 40      # ingested through the catalog: two blocks of 4 batches of BATCH (32 + 8 rows)
BATCH = 8


@pytest.fixture(scope="module")
def ray_cluster():
    """``ray.init(num_cpus=3, include_dashboard=False)``, retried: on a loaded machine a node can miss Ray's fixed
    15 s wait for its dashboard agent, and the next attempt (warm imports) makes it. Module scope: the cluster is shut
    down when this file's tests end, not left on the cores (and 1.5 GB) while its xdist worker runs other files."""
    from earful.lake.runner import LOCAL_CLUSTER_ENV, OFFLINE_ENV, start_local_cluster

    for key, value in LOCAL_CLUSTER_ENV.items():
        os.environ.setdefault(key, value)
    if ray.is_initialized():
        ray.shutdown()
    start_local_cluster(ray, attempts=3, num_cpus=3, include_dashboard=False, log_to_driver=False,
                        runtime_env={"env_vars": OFFLINE_ENV})
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A processed workspace of N_ROWS reviews, exported once (tests copy it before changing it)."""
    return exported_workspace(tmp_path_factory.mktemp("lake_ray"), N_ROWS)[1]


@pytest.fixture(scope="module")
def engines(exported, ray_cluster, tmp_path_factory):
    """The workspace commands on each engine through a catalog (`earful.lake.workspace.on_lake`, the one call of
    `earful ingest` / `embed` / `classify run` / `topics assign --engine E` with --db CATALOG): N_NEW new reviews
    ingested into a copy of the exported lake, then each model stage run on the new items. Batches of BATCH rows,
    blocks of 4 batches: embed and classify get two blocks, one per actor of the pool of two; the batch boundaries
    are the local run's. Three Ray runs in all (each starts its actors, the cost of this file)."""
    from conftest import urr_sample

    from earful.cli.common import State
    from earful.lake.catalog import init_catalog
    from earful.lake.workspace import on_lake

    root = tmp_path_factory.mktemp("lake_ray_engines")
    new = urr_sample(root / "new.csv", slice(N_ROWS, N_ROWS + N_NEW))
    out = {}
    for engine in ("local", "ray"):
        path, db = root / engine, root / f"{engine}.duckdb"
        shutil.copytree(exported, path)
        init_catalog(str(path), db)
        st = State(db=str(db))
        added = on_lake(st, "ingest", None, files=[(new, None)], source="urr")[0]["added"]
        summaries = {"embed": on_lake(st, "embed", engine, batch_size=BATCH),
                     "classify": on_lake(st, "classify", engine, taxonomy=TAXONOMY, batch_size=BATCH),
                     "assign": on_lake(st, "assign", engine)}
        out[engine] = {"path": path, "catalog": db, "added": added, "summaries": summaries,
                       "results": stage_results(path)}
    return out


def catalog_rows(db, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_stage_ran_on_both_engines_on_exactly_the_new_items(engines):
    for engine in ("local", "ray"):
        s = engines[engine]["summaries"]
        assert engines[engine]["added"] == N_NEW
        assert {k: v["engine"] for k, v in s.items()} == dict.fromkeys(s, engine)
        assert {k: v["rows"] for k, v in s.items()} == dict.fromkeys(s, N_NEW)
    ray_files = list((engines["ray"]["path"] / "labels").rglob("*.parquet"))
    assert any(not p.name.startswith("part-") for p in ray_files)   # written by Ray's workers


def test_an_actor_pool_of_two_shares_the_blocks(engines):
    """embed and classify ran on two actors (each loads its model once); `stage_results` asserted no duplicates."""
    s = engines["ray"]["summaries"]
    assert s["embed"]["actors"] == s["classify"]["actors"] == 2 and s["assign"]["actors"] == 1


def test_embed_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["vectors"], engines["ray"]["results"]["vectors"]
    hashes = lake_rows(engines["local"]["path"], "SELECT count(DISTINCT content_hash) FROM items")[0][0]
    assert set(remote) == set(local) and len(local) == hashes
    for h, v in local.items():
        np.testing.assert_allclose(remote[h], v, atol=1e-5, rtol=0)
    same = sum(np.array_equal(remote[h], v) for h, v in local.items())
    # batch boundaries match (same order, same size), so the vectors are the same bits
    assert same == len(local), f"{len(local) - same} of {len(local)} vectors differ in their last bits"


def test_classify_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["labels"], engines["ray"]["results"]["labels"]
    assert set(remote) == set(local) and len(local) == N_ROWS + N_NEW
    assert {k: (v[0], v[1], v[3]) for k, v in remote.items()} == {k: (v[0], v[1], v[3]) for k, v in local.items()}
    for k, v in local.items():
        assert remote[k][2] == pytest.approx(v[2], abs=1e-9)


def test_assign_ray_equals_local(engines):
    local, remote = engines["local"]["results"]["topics"], engines["ray"]["results"]["topics"]
    assert set(remote) == set(local) and len(local) == N_ROWS + N_NEW
    assert {k: t for k, (t, _) in remote.items()} == {k: t for k, (t, _) in local.items()}
    for k, (_, score) in local.items():
        assert remote[k][1] == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("rollup", ["rollup_items", "rollup_labels", "rollup_topics"])
def test_rollups_ray_equal_local(engines, rollup):
    sql = f"SELECT * FROM {rollup} ORDER BY ALL"
    got = lake_rows(engines["ray"]["path"], sql)
    assert got == lake_rows(engines["local"]["path"], sql) and len(got) > 0


def test_the_catalogs_answer_alike(engines):
    """Both catalogs (refreshed by each command) hold the same labels, topic ids and rollups."""
    for sql, n in (("SELECT item_id, label FROM classify_labels ORDER BY 1", N_ROWS + N_NEW),
                   ("SELECT item_id, topic_id FROM topic_assignments ORDER BY 1", N_ROWS + N_NEW),
                   ("SELECT source, day, taxonomy, label, n FROM rollup_labels ORDER BY ALL", 1)):
        got = catalog_rows(engines["ray"]["catalog"], sql)
        assert got == catalog_rows(engines["local"]["catalog"], sql) and len(got) >= n, sql


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
    classes = sorted(Taxonomy.model_validate_json(_taxonomy_spec(Lake(str(exported)), TAXONOMY)[1]).label_names)
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
            second = run_llm(path, server, engine, concurrency=1, batch_size=8, requests_per_s=rps)
            raw = "\n".join(server.raw)
        assert first["requests"] > 0 and first["engine"] == engine
        assert second["requests"] == 0 and second["side_cached"] == N_ROWS, engine
        assert canary not in raw and "[REDACTED]" in raw, engine
        got[engine] = (labelled(path), first["requests"])
    assert first["actors"] == 2
    assert most_in_a_window(times) <= 2 * (rps + 1), sorted(round(t - times[0], 3) for t in times)
    assert got["ray"] == got["local"] and len(got["ray"][0]) == N_ROWS
