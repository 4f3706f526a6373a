"""Shared fixtures: real DuckDB workspaces in tmp_path, the bundled and shared datasets.

No fakes of Earful's own parts. The only fakes allowed are LLM *texts* (langchain fake chat models), registered by
the fixtures of the tests that need them and named as fakes.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from earful.config import apply_process_env

apply_process_env()   # as the CLI does: no model hub, quiet model libraries

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "data"
SHARED = ROOT.parent / "shared" / "datasets"
TEST_DATA = Path(__file__).resolve().parent / "data"


# The slowest files, slowest first (seconds per file from `pytest --durations`, 2-core machine, 2026-12). `make test`
# runs files on two workers (--dist loadfile) in collection order (--no-loadscope-reorder: xdist's default order is
# by test count, which sent these few-test files last, so one worker ran them alone at the end).
SLOW_FIRST = ("test_lake_ray.py", "test_topics_determinism.py", "test_text_fields.py", "test_aspects.py",
              "test_classify_trust.py", "test_topics_bertopic.py", "test_classify.py", "test_lake_workspace.py",
              "test_cli_progress.py", "test_lake.py", "test_report_sections.py", "test_readme_outputs.py",
              "test_classify_cli.py", "test_profiles.py", "test_lake_export.py", "test_topic_charts.py")


def pytest_collection_modifyitems(session, config, items):
    """Slowest files first, each file's tests in their own order; the rest as collected."""
    rank = {name: k for k, name in enumerate(SLOW_FIRST)}
    items[:] = sorted(items, key=lambda it: rank.get(it.path.name, len(SLOW_FIRST)))


def urr_sample(path: Path, rows: slice) -> Path:
    """Write the bundled URR reviews' header plus the data rows selected by `rows` to `path` (a real CSV subset)."""
    import csv

    with open(EXAMPLES / "urr_app_reviews.csv", newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([data[0]] + data[1:][rows])
    return path


def shared(path: str) -> Path:
    """A file from ../shared/datasets, or skip the test where that folder is not laid out."""
    p = SHARED / path
    if not p.exists():
        pytest.skip(f"shared dataset {path} not available")
    return p


@pytest.fixture
def store(tmp_path):
    from earful.store import Store

    s = Store(tmp_path / "w.duckdb")
    yield s
    s.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "w.duckdb"


def run_cli(*args: str, db: Path | None = None, cwd: Path | None = None):
    """Run the real `earful` CLI in a subprocess (real exit codes, real stdout/stderr); returns CompletedProcess."""
    import subprocess
    import sys

    argv = (["--db", str(db)] if db else []) + [str(a) for a in args]
    return subprocess.run([sys.executable, "-c", "from earful.cli import main; main()", *argv],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


def ingest_json(db: Path, *args) -> list[dict]:
    """`earful ingest --json ARGS` through the real CLI; asserts exit 0 and returns one summary per file."""
    import json

    res = run_cli("ingest", "--json", *args, db=db)
    assert res.returncode == 0, res.stderr + res.stdout
    out = json.loads(res.stdout)
    return out if isinstance(out, list) else [out]


def sql_rows(db: Path, query: str, params=None) -> list[tuple]:
    """Rows of `query` on the workspace file, read with plain DuckDB (not through Earful)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


def assert_accounted(results: list[dict], rows_in: int) -> None:
    """Nothing silently lost: every record read is added, a duplicate, or quarantined."""
    assert sum(r["added"] + r["duplicates"] + r["quarantined"] for r in results) == rows_in


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_until_ready(cmd: list[str], log_path: Path, url: str, timeout_s: float):
    """Start a server process (its output to `log_path`) and wait until GET `url`/models answers 200; fails the test
    with the log's tail if it exits or does not come up in time. Returns the process (stop it with `stop`)."""
    import subprocess
    import time
    import urllib.request

    log = open(log_path, "wb")  # noqa: SIM115 - the server writes to it for its whole life
    proc = subprocess.Popen(cmd, stdout=log, stderr=log)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("server exited: " + open(log_path, errors="replace").read()[-2000:])
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    pytest.fail(f"server did not come up in {timeout_s:g} s: " + open(log_path, errors="replace").read()[-2000:])


def stop(proc, grace_s: float = 10) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def workspace_from_rows(tmp_path: Path, rows: list[dict], source: str = "reviews") -> Path:
    """A real workspace (tmp_path/ws/w.duckdb) holding `rows`, written as a CSV and ingested through the pipeline."""
    import csv

    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    path = tmp_path / f"{source}.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    db = tmp_path / "ws" / "w.duckdb"
    db.parent.mkdir()
    with Store(db) as s:
        ingest_file(s, path, source=source)
    return db


def checksum(folder: Path) -> str:
    """One hash of every file name and byte under `folder` (to prove a hostile program changed nothing there)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()
