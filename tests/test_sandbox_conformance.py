"""Sandbox conformance: the same hostile programs run through EVERY executor mode this machine has, and each case
states what each mode must do with it. The table this file measures is the one the README's security section
prints (run with ``-s`` to see it):

* ``contained`` - the program ran (or tried to) and its effect did not happen;
* ``refused``   - the mode does not run model-written Python at all (unshare, subprocess): nothing ran;
* ``exposed``   - the effect happened, by design, in the opt-in ``unsafe`` mode (its notice says so).

Real workspaces (a DuckDB file per test in tmp_path), the real executor and real processes; every case is bounded
by short limits (2-3 s, 384 MB, 200 KB of output, 300 forks). The secret cases start the executor from a separate
process that has a canary ``OPENAI_API_KEY`` in its environment from the start, as a user's shell would give it,
because /proc/PID/environ shows a process's environment as it was when the process started.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from earful.config import load_settings
from earful.errors import ConfigError
from earful.qa_agent.executor import MODES, limits_from, run_python, run_sql, sandbox_mode
from earful.qa_agent.executor.sandbox import NOTICES, PythonRefused, process_cap_available, run_job
from tests.conftest import checksum

ROOT = Path(__file__).resolve().parents[1]
ALL_MODES = ["bwrap", "unshare", "subprocess", "unsafe"]
C, R, X = "contained", "refused", "exposed"
FORKS = 300
CAPPED = process_cap_available()
OBSERVED: dict[tuple[str, str], str] = {}


def _settings(mode: str, **agent):
    return load_settings(environ={}, overrides={"agent": {"sandbox": mode, "timeout_s": 2.5, "memory_mb": 384,
                                                          "max_output_bytes": 200_000, **agent}})


@pytest.fixture(params=ALL_MODES)
def mode(request):
    try:
        sandbox_mode(_settings(request.param))
    except ConfigError as exc:
        pytest.skip(f"sandbox mode {request.param!r} does not work on this machine: {exc}")
    return request.param


@pytest.fixture
def ws(tmp_path):
    import duckdb

    (tmp_path / "workspace").mkdir()
    db = tmp_path / "workspace" / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE items AS SELECT range AS item_id, 'review ' || range AS text FROM range(50)")
    con.close()
    (tmp_path / "workspace" / "earful.toml").write_text("[llm]\nprovider = 'none'\n")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "id_rsa").write_text("PRIVATE-" + secrets.token_hex(6))
    return {"db": db, "tmp": tmp_path, "before": checksum(tmp_path / "workspace")}


@pytest.fixture(scope="module")
def listener():
    """A TCP listener on 127.0.0.1 that records what every connection sends."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.1)
    got: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                c.settimeout(1)
                got.append(c.recv(200))
                c.close()
            except OSError:
                continue
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield {"port": srv.getsockname()[1], "got": got}
    stop.set()
    t.join(2)
    srv.close()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not OBSERVED:
        return
    cases = list(dict.fromkeys(c for c, _ in OBSERVED))
    modes = [m for m in ALL_MODES if any((c, m) in OBSERVED for c in cases)]
    print("\n\n" + " | ".join(["case"] + modes))
    for c in cases:
        print(" | ".join([c] + [OBSERVED.get((c, m), "skipped") for m in modes]))


def _record(case: str, mode: str, observed: str, expected: str, detail) -> None:
    OBSERVED[(case, mode)] = observed
    assert observed == expected, f"{case} in {mode}: expected {expected}, measured {observed}: {detail}"


def _refused(res) -> bool:
    return not res.ok and (res.error or "").startswith("Python is not run in sandbox mode")


def _text(res) -> str:
    return json.dumps([res.rows, res.tables, res.stdout, res.error, res.traceback, res.charts], default=str)


# --------------------------------------------------------------------------------------------------- Python cases
# Each case: the program (CTX, a dict the test fills, is defined before it runs), the outcome expected in bwrap and
# in unsafe (unshare and subprocess refuse every Python case), and a host-side check of whether the effect happened.

PY = {
    "write_workspace_file": (
        "hits = []\n"
        "for p in CTX['workspace_files']:\n"
        "    try:\n"
        "        with open(p, 'r+b') as f:\n"
        "            f.write(b'PWNED')\n"
        "        hits.append(p)\n"
        "    except OSError as e:\n"
        "        print(p, e)\n"
        "result = {'written': hits}",
        C, X),
    "write_pth_into_site_packages": (
        "import sys\n"
        "ok = []\n"
        "for d in [CTX['site']] + [p for p in sys.path if p.endswith('site-packages')]:\n"
        "    try:\n"
        "        open(d + '/' + CTX['pth'], 'w').write('# planted by a conformance probe\\n')\n"
        "        ok.append(d)\n"
        "    except OSError as e:\n"
        "        print(d, e)\n"
        "result = {'planted': ok}",
        C, X),
    "write_home": (
        "import os\n"
        "ok = []\n"
        "for d in [CTX['home'], os.path.expanduser('~')]:\n"
        "    try:\n"
        "        open(os.path.join(d, CTX['home_file']), 'w').write('pwned')\n"
        "        ok.append(d)\n"
        "    except OSError as e:\n"
        "        print(d, e)\n"
        "result = {'written': ok}",
        C, X),
    "read_private_file": (
        "result = {'x': [open(CTX['private']).read()]}",
        C, X),
    "network_loopback": (
        "import socket\n"
        "s = socket.create_connection(('127.0.0.1', CTX['port']), timeout=1)\n"
        "s.sendall(CTX['token'].encode())\n"
        "s.close()\n"
        "result = {'sent': [1]}",
        C, X),
    "fork_bomb": (
        "import os\n"
        "n, err = 0, None\n"
        f"for _ in range({FORKS}):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as e:\n"
        "        err = repr(e)\n"
        "        break\n"
        "    if pid == 0:\n"
        "        try:\n"
        "            os.setsid()\n"                        # leave the process group, as a real bomb would
        "            os.execv('/bin/sleep', [CTX['token'], '3'])\n"
        "        finally:\n"
        "            os._exit(0)\n"
        "    n += 1\n"
        "result = {'forked': [n], 'error': [err]}",
        C, C if CAPPED else X),
    "memory_hog": (
        "x = []\n"
        "for _ in range(64):\n"                            # 4 GiB at most, in 64 MB steps that touch every page
        "    x.append(bytearray(64 * 1024 * 1024))\n"
        "result = {'allocated_mb': [64 * len(x)]}",
        C, C),
    "infinite_loop": ("while True:\n    pass", C, C),
    "huge_output": ("import os\nfor _ in range(200):\n    os.write(1, b'x' * 1_000_000)\nresult = {'done': [1]}",
                    C, C),
}


LIMIT_CASES = {"memory_hog", "infinite_loop", "huge_output"}   # "happened" = not stopped by its limit


def _leftovers(token: str) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if token.encode() in Path(f"/proc/{d}/cmdline").read_bytes():
                    pids.append(int(d))
            except OSError:
                pass
    return pids


def _effect(case: str, res, ctx: dict, ws: dict, listener) -> tuple[bool, str]:
    """(did the hostile effect happen, what was seen) - measured on the host, not taken from the program's word."""
    if case == "write_workspace_file":
        return checksum(ws["tmp"] / "workspace") != ws["before"], "workspace checksum"
    if case == "write_pth_into_site_packages":
        return (Path(ctx["site"]) / ctx["pth"]).exists(), "pth file in the virtualenv"
    if case == "write_home":
        return (Path(ctx["home"]) / ctx["home_file"]).exists(), "file in $HOME"
    if case == "read_private_file":
        return (ws["tmp"] / "private" / "id_rsa").read_text() in _text(res), "private file content in the reply"
    if case == "network_loopback":
        time.sleep(0.2)
        return any(ctx["token"].encode() in g for g in listener["got"]), "listener received the token"
    if case == "fork_bomb":
        left = _leftovers(ctx["token"])
        forked = res.rows[0][0] if res.ok and res.rows else None
        return bool(left) or forked == FORKS, f"forked={forked}, still running after the job={len(left)}"
    if case == "memory_hog":
        return res.ok, res.error
    if case == "infinite_loop":
        return not (res.error and "time limit" in res.error), res.error
    if case == "huge_output":
        return not (res.error and "output exceeded" in res.error), res.error
    raise AssertionError(case)


@pytest.mark.parametrize("case", list(PY))
def test_hostile_python(case, mode, ws, listener):
    code, in_bwrap, in_unsafe = PY[case]
    expected = {"bwrap": in_bwrap, "unsafe": in_unsafe}.get(mode, R)
    token = "earful-probe-" + secrets.token_hex(6)
    ctx = {"workspace_files": [str(ws["db"]), str(ws["tmp"] / "workspace" / "earful.toml")],
           "site": sysconfig.get_paths()["purelib"], "pth": f"zz_{token.replace('-', '_')}.pth",
           "home": str(Path.home()), "home_file": f".{token}", "private": str(ws["tmp"] / "private" / "id_rsa"),
           "port": listener["port"], "token": token}
    try:
        limits = {"timeout_s": 1.5} if case == "infinite_loop" else {}
        res = run_python(str(ws["db"]), f"CTX = {ctx!r}\n" + code, _settings(mode, **limits))
        happened, seen = _effect(case, res, ctx, ws, listener)
    finally:
        for p in (Path(ctx["site"]) / ctx["pth"], Path(ctx["home"]) / ctx["home_file"]):
            p.unlink(missing_ok=True)
        for pid in _leftovers(token):                     # only the sleeps this case started, by their token
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    observed = R if _refused(res) else X if happened else C
    if observed == R:                                     # refused before anything started: no effect at all
        assert res.seconds == 0.0 and (case in LIMIT_CASES or not happened), seen
    _record(case, mode, observed, expected, f"{seen}; error={res.error}")


SECRET_PROBE = r"""
import glob, os
seen = [repr(dict(os.environ))]
for p in ['/proc/self/environ', '/proc/1/environ', '/proc/%d/environ' % os.getppid()] + glob.glob('/proc/*/environ'):
    try:
        seen.append(open(p, 'rb').read().decode('latin-1'))
    except OSError as e:
        seen.append(repr(e))
hit = [s for s in seen if 'OPENAI_API_KEY' in s]
raise RuntimeError(' || '.join(hit)[:5000] if hit else 'no key found')
"""

DRIVER = r"""
import json, sys
from earful.config import load_settings
from earful.qa_agent.executor import run_python
s = load_settings(environ={}, overrides={"agent": {"sandbox": sys.argv[2], "timeout_s": 5}})
r = run_python(sys.argv[1], sys.stdin.read(), s)
print(json.dumps([r.ok, r.error, json.dumps([r.rows, r.stdout, r.error, r.traceback], default=str)]))
"""


def test_secret_in_earfuls_environment_python(mode, ws):
    """Earful started with OPENAI_API_KEY set (from its first instruction): can sandboxed Python read it from
    os.environ, /proc/self, /proc/1 (bwrap's init) or Earful's own /proc/PID/environ?"""
    canary = "sk-canary-" + secrets.token_hex(8)
    if mode in ("bwrap", "unsafe"):
        env = {**os.environ, "OPENAI_API_KEY": canary, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        out = subprocess.run([sys.executable, "-c", DRIVER, str(ws["db"]), mode], input=SECRET_PROBE, env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]
        _ok, error, text = json.loads(out.stdout.strip().splitlines()[-1])
    else:                                                 # refused before any process starts
        res = run_python(str(ws["db"]), SECRET_PROBE, _settings(mode))
        error, text = res.error, _text(res)
    observed = R if (error or "").startswith("Python is not run in sandbox mode") else X if canary in text else C
    if observed == C:
        assert "no key found" in error                    # the probe ran, and found no key anywhere
    _record("secret_env_python", mode, observed, {"bwrap": C, "unsafe": X}.get(mode, R), error)


def test_secret_in_earfuls_environment_sql(mode, ws, monkeypatch):
    """SQL straight to the runner (no statement check): DuckDB's file access is off, and the child's environment
    holds no key to read anyway."""
    canary = "sk-canary-" + secrets.token_hex(8)
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    s = _settings(mode)
    got = [run_job(ws["db"], {"kind": "sql", "statements": [sql], "max_rows": 100}, limits_from(s), mode)
           for sql in ("SELECT * FROM read_text('/proc/1/environ')", "SELECT * FROM read_text('/proc/self/environ')")]
    text = json.dumps([[g.reply, g.error] for g in got], default=str)
    assert not any(g.ok for g in got)
    _record("secret_env_sql", mode, X if canary in text else C, C, text[:300])


# ------------------------------------------------------------------------------------------------------ SQL cases
# Through run_sql (the statement check, then the sandbox) and straight to the runner (the sandbox's own DuckDB
# connection: read-only, external access off, configuration locked), so each layer is measured alone.

SQL = {
    "sql_delete": "DELETE FROM items",
    "sql_attach": "ATTACH '{tmp}/attached.duckdb' AS o",
    "sql_copy_to": "COPY items TO '{tmp}/out.csv'",
    "sql_read_passwd": "SELECT * FROM read_csv('/etc/passwd')",
    "sql_enable_external": "SET enable_external_access = true",
}


@pytest.mark.parametrize("layer", ["checked", "runner_only"])
@pytest.mark.parametrize("case", list(SQL))
def test_hostile_sql(case, layer, mode, ws):
    sql = SQL[case].replace("{tmp}", str(ws["tmp"]))
    s = _settings(mode)
    if layer == "checked":
        res = run_sql(str(ws["db"]), sql, s)
        ok, text = res.ok, _text(res)
    else:
        raw = run_job(ws["db"], {"kind": "sql", "statements": [sql], "max_rows": 100}, limits_from(s), mode)
        ok, text = raw.ok, json.dumps([raw.reply, raw.error], default=str)
    happened = (ok or checksum(ws["tmp"] / "workspace") != ws["before"] or "root:" in text
                or (ws["tmp"] / "attached.duckdb").exists() or (ws["tmp"] / "out.csv").exists())
    _record(f"{case}[{layer}]", mode, X if happened else C, C, text[:300])


# --------------------------------------------------------------------------------------- what still works, notices

def test_each_mode_still_answers(mode, ws):
    s = _settings(mode)
    assert run_sql(str(ws["db"]), "SELECT count(*) AS n FROM items", s).rows == [[50]]
    py = run_python(str(ws["db"]), "result = {'n': [con.execute('SELECT count(*) FROM items').fetchone()[0]]}", s)
    if mode in ("bwrap", "unsafe"):
        assert py.ok and py.rows == [[50]], py.error
    else:
        assert _refused(py) and str(PythonRefused(mode)) == py.error
        assert "apt-get install bubblewrap" in py.error and 'sandbox = "unsafe"' in py.error
    _record("benign_sql_and_python", mode, "SQL+Python" if py.ok else "SQL only",
            "SQL+Python" if mode in ("bwrap", "unsafe") else "SQL only", py.error)


def test_every_mode_documents_what_it_contains_and_exposes():
    assert set(MODES) == set(ALL_MODES)
    for m, d in MODES.items():
        assert d["runs"] and d["contains"] and d["exposes"], m
    assert set(NOTICES) == {"unshare", "subprocess", "unsafe"}
    for m in ("unshare", "subprocess"):
        assert "only SQL runs" in NOTICES[m] and "Python is refused" in NOTICES[m]
    for word in ("READ every file", "WRITE wherever", "NETWORK", "/proc"):
        assert word in NOTICES["unsafe"] and word in MODES["unsafe"]["exposes"]
