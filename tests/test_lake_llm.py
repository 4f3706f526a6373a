"""`classify run --method llm` on a lake (#18): the LLM labelling stage (`earful.lake.llm`) run by the lake's runner
in this process (its Ray twin, with these helpers, is in test_lake_ray.py, the one file that starts Ray), against a
scripted OpenAI-compatible server on 127.0.0.1 (a fake for the model's *text* only: `tests/fake_openai.py`) whose
handler notes each request's arrival time.

Proved here: the labels are the replies' labels (not a fallback); a second run is answered from the lake's call log
(the server sees no new request); the rate limit (``[llm] requests_per_s``) bounds the requests the server saw in any
one-second window; no secret value and no field but the text (no review id, no raw column) reaches a request body;
and the `classify run` command does it through a catalog. A real workspace (24 bundled URR reviews, MiniLM vectors,
gold labels) is exported once per module.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time

import pytest
from fake_openai import FakeOpenAIServer
from test_lake import TAXONOMY, exported_workspace, lake_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

N_ROWS = 24
RPS = 5.0            # requests per second per process (local) or per actor (Ray)
SECRET_ENV = "LAKE_CANARY_API_KEY"   # a key-shaped variable name: its value is a secret to `earful.llm.redact`


class Scripted:
    """The fake model's reply: a label chosen by a hash of the prompt (deterministic), and each request's time."""

    def __init__(self, classes: list[str]):
        self.classes, self.times = classes, []

    def __call__(self, body: dict) -> str:
        self.times.append(time.monotonic())
        return json.dumps({"labels": [self.label_of(body)], "confidence": 0.9, "reason": "scripted"})

    def label_of(self, body: dict) -> str:
        user = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]["content"]
        return self.classes[int(hashlib.md5(user.encode()).hexdigest(), 16) % len(self.classes)]


def most_in_a_window(times: list[float], window: float = 1.0) -> int:
    ts = sorted(times)
    return max((sum(1 for t in ts[i:] if t < start + window) for i, start in enumerate(ts)), default=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An exported lake, the taxonomy's classes, a canary secret taken from a real review's text, the review ids."""
    from earful.classify.base import load_taxonomy
    from earful.store import Store

    root = tmp_path_factory.mktemp("lake_llm")
    db, _ = exported_workspace(root, N_ROWS)
    with Store(db, read_only=True) as s:
        classes = sorted(set(load_taxonomy(TAXONOMY, s).label_names)
                         | {r[0] for r in s.rows("SELECT label FROM classify_gold WHERE taxonomy = ?", [TAXONOMY])})
        texts = [r[0] for r in s.rows("SELECT text FROM items ORDER BY item_id")]
        ids = [r[0] for r in s.rows("SELECT external_id FROM items")]
    words = max(texts, key=len).split()
    canary = " ".join(words[1:4]) if len(" ".join(words[1:4])) >= 12 else " ".join(words[:6])
    return {"root": root, "db": db, "lake": root / "lake", "classes": classes, "canary": canary, "ids": ids}


def settings_for(server, **llm):
    from earful.config import LLMSettings, Settings

    return Settings(llm=LLMSettings(model="openai-compatible:fake", base_url=server.url, **llm))


def labelled(path) -> dict:
    """item_id -> (label, method) of the current LLM labels of the lake at `path` (asserting no duplicate item)."""
    rows = lake_rows(path, "SELECT item_id, label, method FROM classify_labels WHERE model_version LIKE 'fewshot%'")
    assert len({r[0] for r in rows}) == len(rows)
    return {r[0]: (r[1], r[2]) for r in rows}


def run_llm(path, server, engine: str, *, concurrency: int = 2, batch_size: int = 4, **llm) -> dict:
    from earful.lake import runner
    from earful.lake.layout import Lake
    from earful.lake.llm import llm_job

    lake = Lake(str(path))
    settings = settings_for(server, **llm)
    job = llm_job(lake, TAXONOMY, settings, redo=True, engine=engine)
    before = len(server.bodies)
    out = runner.run(lake, job, engine=engine, batch_size=batch_size, concurrency=concurrency)
    out["requests"] = len(server.bodies) - before
    return out


@pytest.fixture(scope="module")
def local(world, tmp_path_factory, monkeypatch_module):
    """Two local runs (the second answered from the cache) with the canary secret in the environment."""
    monkeypatch_module.setenv(SECRET_ENV, world["canary"])
    script = Scripted(world["classes"])
    path = tmp_path_factory.mktemp("llm_local") / "lake"
    shutil.copytree(world["lake"], path)
    with FakeOpenAIServer(reply=script) as server:
        first = run_llm(path, server, "local", requests_per_s=RPS)
        times = list(script.times)
        bodies = list(server.bodies)
        second = run_llm(path, server, "local", requests_per_s=RPS)
    return {"path": path, "first": first, "second": second, "times": times, "bodies": bodies, "script": script,
            "raw": "\n".join(server.raw)}


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_local_labels_are_the_replies(local, world):
    got = labelled(local["path"])
    assert len(got) == N_ROWS and {m for _, m in got.values()} == {"fewshot_llm"}   # as a workspace writes
    # each label is what the scripted model answered for that item's prompt: every answered label is used
    answered = {local["script"].label_of(b) for b in local["bodies"]}
    assert {lab for lab, _ in got.values()} == answered and len(answered) > 1
    assert local["first"]["requests"] > 0 and local["first"]["side_cached"] == 0
    assert local["first"]["side_rows"] == N_ROWS   # one logged call per item


def test_a_second_local_run_is_answered_from_the_lake_call_log(local):
    assert local["second"]["requests"] == 0
    assert local["second"]["side_cached"] == local["second"]["side_rows"] == N_ROWS
    rows = lake_rows(local["path"], "SELECT count(*), count(*) FILTER (WHERE cached) FROM read_parquet("
                     f"'{local['path']}/llm_calls/*/*.parquet')")
    assert rows == [(2 * N_ROWS, N_ROWS)]


def test_the_local_rate_limit_bounds_requests_per_second(local):
    times = local["times"]
    assert len(times) >= N_ROWS // 2
    # one process, [llm] concurrency threads sharing one limiter of RPS a second (a bucket of one)
    assert most_in_a_window(times) <= RPS + 1, sorted(round(t - times[0], 3) for t in times)


def test_no_secret_and_no_other_field_reaches_the_model(local, world):
    raw = local["raw"]
    assert world["canary"] not in raw and "[REDACTED]" in raw
    assert not [i for i in world["ids"] if i and i in raw]         # review ids: never in a prompt
    assert "app_version" not in raw and "regex_labels" not in raw   # raw columns: never in a prompt


def test_classify_run_llm_through_a_catalog(world, tmp_path, monkeypatch):
    """`earful classify run --method llm` with --db CATALOG labels the items still to do through the lake."""
    from conftest import run_cli

    from earful.lake.catalog import init_catalog

    path = tmp_path / "lake"
    shutil.copytree(world["lake"], path)
    db = tmp_path / "lake.duckdb"
    init_catalog(str(path), db)
    script = Scripted(world["classes"])
    with FakeOpenAIServer(reply=script) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        res = run_cli("classify", "run", "-t", TAXONOMY, "--method", "llm", "--redo", "--engine", "local",
                      "--llm-budget", "5", "--json", db=db)
        assert res.returncode == 0, res.stderr
        assert len(server.bodies) > 0
    out = json.loads(res.stdout)
    assert out["engine"] == "local" and out["model_version"].startswith("fewshot_llm") and out["rows"] == N_ROWS
    assert any("--method llm sent every item" in w for w in out["warnings"])   # the budget steers the cascade
    assert len(labelled(path)) == N_ROWS


def test_calls_paid_for_in_the_workspace_are_not_paid_again_on_the_lake(world, tmp_path, monkeypatch):
    """The same cache: `classify run --method llm` in the .duckdb workspace, then `earful export` (which copies its
    paid-for classification calls to the lake's call log), then the lake's LLM stage: the server sees no request."""
    from conftest import run_cli

    from earful.lake.export import export
    from earful.store import Store

    ws = tmp_path / "w.duckdb"
    shutil.copy(world["db"], ws)
    script = Scripted(world["classes"])
    with FakeOpenAIServer(reply=script) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        res = run_cli("classify", "run", "-t", TAXONOMY, "--method", "llm", "--redo", "--json", db=ws)
        assert res.returncode == 0, res.stderr
        paid = len(server.bodies)
        assert paid > 0
        with Store(ws, read_only=True) as s:
            summary = export(s, str(tmp_path / "lake"))
        assert summary["llm_calls"] == paid
        out = run_llm(tmp_path / "lake", server, "local")
    assert out["requests"] == 0 and out["side_cached"] == N_ROWS
    with Store(ws, read_only=True) as s:
        ws_labels = {r[0]: (r[1], r[2]) for r in s.rows("SELECT item_id, label, method FROM classify_labels "
                                                         "WHERE taxonomy = ?", [TAXONOMY])}
    assert labelled(tmp_path / "lake") == ws_labels   # the same labels, written by the same method



def test_a_taxonomy_file_labels_under_its_own_name(world, tmp_path, monkeypatch):
    """`classify run -t FILE.yaml --method llm` on a lake stores the labels under the file's `name:` (as a workspace
    does), not under the file's path (probe D03 found them under '/tmp/.../probe_problem.yaml')."""
    from conftest import run_cli

    from earful.lake.catalog import init_catalog

    path = tmp_path / "lake"
    shutil.copytree(world["lake"], path)
    db = tmp_path / "lake.duckdb"
    init_catalog(str(path), db)
    tax = tmp_path / "my_problem.yaml"
    tax.write_text("name: probe_problem\nlabels:\n  - name: problem\n    description: something does not work\n"
                   "  - name: other\n    description: anything else\n", encoding="utf-8")
    with FakeOpenAIServer(reply=Scripted(["problem", "other"])) as server:
        monkeypatch.setenv("EARFUL_LLM", "openai-compatible:fake")
        monkeypatch.setenv("EARFUL_LLM_BASE_URL", server.url)
        res = run_cli("classify", "run", "-t", str(tax), "--method", "llm", "--json", db=db)
        assert res.returncode == 0, res.stderr
    rows = lake_rows(path, "SELECT taxonomy, count(*) FROM classify_labels WHERE method = 'fewshot_llm' GROUP BY 1")
    assert rows == [("probe_problem", N_ROWS)]
    assert [p.name for p in (path / "labels").iterdir() if "problem" in p.name] == ["taxonomy=probe_problem"]
