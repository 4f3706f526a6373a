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
