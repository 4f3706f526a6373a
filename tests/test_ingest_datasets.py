"""The ingest commands that run_qa.py uses, on the shared datasets, through the real CLI: nothing lost, views usable."""
from __future__ import annotations

import csv
import json

import pytest
from conftest import run_cli, shared

pytestmark = pytest.mark.slow   # every test here takes more than ~3 s: `make test-fast` skips them


def _ingest(db, *args):
    r = run_cli("ingest", *args, "--json", db=db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _sql(db, q):
    r = run_cli("sql", q, "--json", db=db)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    return [dict(zip(out["columns"], row)) for row in out["rows"]]


def test_run_qa_ingest_commands(db_path):
    clap = shared("clap_app_reviews/reviews.csv")
    wild = shared("wildbench_v2_critiques/critiques.jsonl")
    tiz = shared("tizard_forum_posts/sentences.csv")

    res = _ingest(db_path, clap, "--source", "reviews", "--text", "review")
    n_clap = sum(1 for _ in csv.DictReader(clap.open(encoding="utf-8")))
    assert res["added"] + res["quarantined"] == n_clap and res["added"] > 0.95 * n_clap
    assert res["detection"]["time_kind"] == "epoch_ms"  # date_ms

    res = _ingest(db_path, wild, "--source", "critiques", "--text", "weaknesses")
    assert (res["added"], res["duplicates"], res["quarantined"]) == (8181, 0, 0)  # same texts are not duplicates

    res = _ingest(db_path, tiz, "--source", "sentences", "--text", "sentence")
    n_tiz = sum(1 for _ in csv.DictReader(tiz.open(encoding="utf-8")))
    assert res["added"] == n_tiz and res["detection"]["author"] is None

    rows = _sql(db_path, "SELECT count(*) AS n, count(DISTINCT model) AS models, min(score) AS lo FROM critiques")
    assert rows[0]["n"] == 8181 and rows[0]["models"] > 1 and rows[0]["lo"] is not None
    rows = _sql(db_path, "SELECT count(*) AS n FROM reviews WHERE created_at IS NOT NULL AND rating BETWEEN 1 AND 5")
    assert rows[0]["n"] == _sql(db_path, "SELECT count(*) AS n FROM reviews")[0]["n"]
    # re-running the same commands adds nothing
    assert _ingest(db_path, wild, "--source", "critiques", "--text", "weaknesses")["added"] == 0
