"""Long work shows honest progress (#16): `embed` reports each batch, `topics fit` its phases with elapsed seconds,
both on stderr (plain lines when stderr is not a terminal), never on stdout under --json; and `llm log` fits an
80-column terminal without breaking a header inside a word."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from tests.conftest import ROOT, ingest_json, run_cli, urr_sample

BATCH_LINE = re.compile(r"embedding: (\d+)/(\d+) texts .*texts/s.*elapsed")


def _workspace(tmp_path, rows: int = 300):
    db = tmp_path / "w.duckdb"
    ingest_json(db, str(urr_sample(tmp_path / "urr.csv", slice(0, rows))), "--source", "urr")
    return db


def test_embed_reports_each_batch_on_stderr(tmp_path):
    db = _workspace(tmp_path)
    res = run_cli("embed", "--batch-size", "64", db=db)
    assert res.returncode == 0, res.stderr
    lines = [m.groups() for m in map(BATCH_LINE.search, res.stderr.splitlines()) if m]
    assert len(lines) >= 4, res.stderr                                  # 300 texts in batches of 64: 5 batches
    done = [int(d) for d, _ in lines]
    assert done == sorted(done) and done[0] == 64 and done[-1] == int(lines[-1][1])   # counts climb to the total
    assert "embedding" not in res.stdout


def test_embed_json_keeps_stdout_pure(tmp_path):
    db = _workspace(tmp_path, 150)
    res = run_cli("embed", "--batch-size", "32", "--json", db=db)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)                                          # stdout is exactly one JSON document
    assert out["embedded"] > 0 and out["cached"] == 0


def test_topics_fit_prints_its_phases_with_elapsed_seconds(tmp_path):
    db = _workspace(tmp_path, 200)
    res = run_cli("topics", "fit", "--backend", "pca-kmeans-standin", "--no-llm", db=db)
    assert res.returncode == 0, res.stderr
    phases = re.findall(r"topics fit: \[\s*(\d+\.\d)s\] (.+)", res.stderr)
    names = [p for _, p in phases]
    for want in ("loading vectors", "sampling", "clustering", "assigning the rest", "naming", "saving", "done"):
        assert any(n.startswith(want) for n in names), (want, res.stderr)
    seconds = [float(s) for s, _ in phases]
    assert seconds == sorted(seconds)                                     # elapsed since the fit began, climbing
    assert names.index(next(n for n in names if n.startswith("loading vectors"))) < \
        names.index(next(n for n in names if n.startswith("saving")))
    assert "topics fit:" not in res.stdout
    again = run_cli("topics", "fit", "--backend", "pca-kmeans-standin", "--no-llm", "--json", db=db)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["topics"] > 0                        # stdout is exactly one JSON document


def _log_at(db, columns: int) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("NO_COLOR", None)
    res = subprocess.run([sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), "llm", "log"],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _header_cells(out: str) -> list[list[str]]:
    """The header rows of the rendered table: the lines between the top border and the header rule, split into
    cells at the column separators."""
    lines = out.splitlines()
    top = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(("┏", "+", "┌")))
    rule = next(i for i in range(top + 1, len(lines)) if lines[i].lstrip().startswith(("┡", "+", "├", "╞")))
    return [[c.strip() for c in re.split(r"[┃│|]", ln)[1:-1]] for ln in lines[top + 1:rule]]


def test_llm_log_headers_fit_80_columns(tmp_path):
    from earful.store import Store

    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        for i in range(3):
            s.con.execute(
                "INSERT INTO llm_calls (call_id, created_at, purpose, prompt_version, model, input_tokens, "
                "output_tokens, latency_ms, cached, outcome) VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?)",
                [f"c{i}", "classify:urr_regex", "classify-v3", "openai-compatible:smollm2-135m-instruct",
                 1234 + i, 56, 789.4, i == 1, "ok"])
    out = _log_at(db, 80)
    assert max(len(ln) for ln in out.splitlines()) <= 80, out
    rows = _header_cells(out)
    assert len(rows) == 1, out                                            # every header on one line: none wrapped
    names = rows[0]
    for want in ("when", "purpose", "model", "outcome"):                  # whole names; the important columns stay
        assert want in names, out
    assert "hidden at 80 columns" in out                                  # a dropped column is said, not silent
    wide = _header_cells(_log_at(db, 200))
    assert len(wide) == 1 and len(wide[0]) == 9 and "prompt" in wide[0], wide   # a wide terminal shows them all


def test_bertopic_backend_tells_its_phases_and_leaves_the_log_as_it_was():
    import logging

    import numpy as np

    from earful.topics.base import get_backend

    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 16)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    docs = [f"the app {w} when I {v}" for w, v in zip(["crashes", "lags", "freezes"] * 80, ["log in", "pay"] * 120)]
    import bertopic  # noqa: F401  (it sets up its logger on import)

    logger = logging.getLogger("BERTopic")
    before = (logger.level, list(logger.handlers))
    seen: list[str] = []
    be = get_backend("bertopic", seed=1)
    be.progress = seen.append
    be.fit(docs, X)
    assert [s.split()[0] for s in seen] == ["loading", "UMAP", "HDBSCAN", "representation"], seen
    assert (logger.level, list(logger.handlers)) == before and "setLevel" not in vars(logger)
