"""Security suite: hostile programs and SQL run through the real executor must be stopped, and the workspace stays
byte-for-byte unchanged. Also the prompt-injection case through the full LLM agent (a fake chat model, named as one,
that obeys the injected review).

Python cases run in whatever mode 'auto' picks here: under bubblewrap they are contained, and without it they are
refused (the fallback modes run SQL only), so every case must come back stopped either way. What each mode
contains, case by case, is measured in tests/test_sandbox_conformance.py.
"""
from __future__ import annotations

import json
import socket
import threading

import pytest

from earful.config import load_settings
from earful.errors import ConfigError
from earful.qa_agent.executor import run_python, run_sql, sandbox_mode
from earful.qa_agent.executor.sandbox import process_cap_available
from tests.conftest import checksum

SECRET = "TOP-SECRET-7f3a9c"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """A real workspace (bundled sample ingested) in its own folder, a planted secret outside it, a listener."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store
    from tests.conftest import EXAMPLES

    root = tmp_path_factory.mktemp("sec")
    (root / "workspace").mkdir()
    db = root / "workspace" / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, EXAMPLES / "tizard_forum_sentences.csv")
        s.con.execute("CHECKPOINT")
    (root / "secret").mkdir()
    (root / "secret" / "id_rsa").write_text(SECRET)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                hits.append(c.recv(100))
                c.close()
            except OSError:
                continue
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield {"db": db, "root": root, "port": srv.getsockname()[1], "hits": hits}
    stop.set()


@pytest.fixture(scope="module")
def settings():
    return load_settings(environ={}, overrides={"agent": {"timeout_s": 4, "memory_mb": 768,
                                                          "max_output_bytes": 1_000_000}})


FIND_DB = "db = con.execute(\"SELECT path FROM duckdb_databases() WHERE NOT internal\").fetchall()[0][0]\n"

PY_CASES = {
    "delete_db": FIND_DB + "import os\nos.remove(db)\nresult = {'done': [1]}",
    "overwrite_db": FIND_DB + "open(db, 'wb').write(b'gone')\nresult = {'done': [1]}",
    "truncate_db": FIND_DB + "import os\nos.truncate(db, 0)\nresult = {'done': [1]}",
    "rename_db": FIND_DB + "import os\nos.rename(db, db + '.bak')\nresult = {'done': [1]}",
    "reopen_writable_drop": FIND_DB + "con.close()\nc2 = duckdb.connect(db)\nc2.execute('DROP TABLE items')\n"
                                      "result = {'done': [1]}",
    "drop_via_con": "con.execute('DROP TABLE items')\nresult = {'done': [1]}",
    "unlock_config": "con.execute('SET enable_external_access = true')\nresult = {'done': [1]}",
    "copy_out_via_con": "con.execute(\"COPY items TO '/tmp/x.csv'\")\nresult = {'done': [1]}",
    "write_outside": "open({outside!r}, 'w').write('pwned')\nresult = {'done': [1]}",
    "read_shadow": "result = {'x': [open('/etc/shadow').read()]}",
    "read_ssh_key": "import os\nresult = {'x': [open(os.path.expanduser('~/.ssh/id_rsa')).read()]}",
    "read_planted_secret": "result = {'x': [open({secret!r}).read()]}",
    "shell_rm": FIND_DB + "import subprocess\nsubprocess.run(['sh', '-c', 'rm -f ' + db], check=True)\n"
                           "import os\nassert not os.path.exists(db)\nresult = {'done': [1]}",
    "socket_loopback": "import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                       "s.sendall(b'exfiltrated')\nresult = {'done': [1]}",
    "socket_internet": "import socket\ns = socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
                       "result = {'done': [1]}",
    "http_request": "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:{port}/', timeout=2)\n"
                    "result = {'done': [1]}",
    "dns_lookup": "import socket\nresult = {'ip': [socket.gethostbyname('example.com')]}",
    "infinite_loop": "while True:\n    pass",
    "sleep_forever": "import time\ntime.sleep(3600)",
    "memory_bomb": "x = bytearray(8 * 1024 ** 3)\nresult = {'done': [1]}",
    "memory_growth": "x = []\nwhile True:\n    x.append(' ' * 10_000_000)",
    "huge_stdout_fd": "import os\nwhile True:\n    os.write(1, b'x' * 1_000_000)",
    "huge_file_tmp": "f = open('/tmp/big', 'wb')\nfor _ in range(1000):\n    f.write(b'0' * 1_000_000)\n"
                     "result = {'done': [1]}",
    "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nimport time\ntime.sleep(10)",
    "fork_bomb": "import os\nwhile True:\n    os.fork()",
}

SQL_CASES = {
    "delete": "DELETE FROM items",
    "drop": "DROP TABLE items",
    "update": "UPDATE items SET text = 'x'",
    "insert": "INSERT INTO sources SELECT * FROM sources",
    "create": "CREATE TABLE pwn AS SELECT 1",
    "multi_statement": "SELECT 1; DROP TABLE items",
    "attach": "ATTACH '/tmp/other.duckdb' AS o",
    "copy_to": "COPY items TO '/tmp/out.csv'",
    "copy_select_to": "COPY (SELECT * FROM items) TO '/tmp/out.parquet' (FORMAT parquet)",
    "export": "EXPORT DATABASE '/tmp/exported'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "read_csv_passwd": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text_shadow": "SELECT * FROM read_text('/etc/shadow')",
    "read_planted_secret": "SELECT * FROM read_text({secret!r})",
    "glob_root": "SELECT * FROM glob('/root/*')",
    "remote_parquet": "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "set_external": "SET enable_external_access = true",
    "with_then_write": "WITH x AS (SELECT 1) DELETE FROM items",
    "checkpoint": "CHECKPOINT",
}


def _fill(code: str, ws) -> str:
    return (code.replace("{outside!r}", repr(str(ws["root"] / "pwned.txt")))
                .replace("{secret!r}", repr(str(ws["root"] / "secret" / "id_rsa")))
                .replace("{port}", str(ws["port"])))


def _assert_stopped(res, ws, before):
    assert res.ok is False, f"hostile code was not stopped: {res}"
    assert res.error
    assert checksum(ws["root"] / "workspace") == before
    assert not (ws["root"] / "pwned.txt").exists()
    assert SECRET not in json.dumps([res.rows, res.tables, res.stdout, res.error, res.traceback], default=str)
    assert ws["hits"] == []


def test_suite_is_large_enough():
    assert len(PY_CASES) + len(SQL_CASES) >= 25


# the cases a time limit stops take the limit's seconds each: the full suite runs them, the fast lane does not
TIMED = {"infinite_loop", "sleep_forever", "kill_parent"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in TIMED else n
                                  for n in sorted(PY_CASES)])
def test_hostile_python_is_stopped(name, ws, settings):
    if name == "fork_bomb" and not process_cap_available():
        pytest.skip("no writable cgroup to cap processes here; a fork bomb would only be stopped by the timeout")
    before = checksum(ws["root"] / "workspace")
    res = run_python(str(ws["db"]), _fill(PY_CASES[name], ws), settings)
    _assert_stopped(res, ws, before)


@pytest.mark.parametrize("name", sorted(SQL_CASES))
def test_hostile_sql_is_stopped(name, ws, settings):
    before = checksum(ws["root"] / "workspace")
    res = run_sql(str(ws["db"]), _fill(SQL_CASES[name], ws), settings)
    _assert_stopped(res, ws, before)
    assert not any((p.name.startswith(("out.", "exported", "other"))) for p in ws["root"].iterdir())


@pytest.mark.slow
def test_limits_give_clear_reasons(ws, settings):
    assert "time limit" in run_python(str(ws["db"]), PY_CASES["infinite_loop"], settings).error
    assert "output exceeded" in run_python(str(ws["db"]), PY_CASES["huge_stdout_fd"], settings).error
    assert "read-only" in run_sql(str(ws["db"]), "DELETE FROM items", settings).error


def test_sandbox_still_answers_after_the_suite(ws, settings):
    res = run_sql(str(ws["db"]), "SELECT count(*) AS n FROM items", settings)
    assert res.ok and res.rows[0][0] > 0


@pytest.mark.parametrize("mode", ["subprocess", "unsafe"])
@pytest.mark.parametrize("name", ["delete_db", "overwrite_db", "reopen_writable_drop",
                                  pytest.param("infinite_loop", marks=pytest.mark.slow),
                                  "huge_stdout_fd", "memory_bomb"])
def test_fallback_sandbox_protects_the_workspace(name, mode, ws):
    """Without bubblewrap, Python is refused ('subprocess'), or runs by explicit opt-in ('unsafe') over a read-only
    copy: code that finds the database through DuckDB reaches only the copy, and limits still stop it."""
    fb = load_settings(environ={}, overrides={"agent": {"timeout_s": 4, "memory_mb": 768, "sandbox": mode,
                                                        "max_output_bytes": 1_000_000}})
    before = checksum(ws["root"] / "workspace")
    res = run_python(str(ws["db"]), _fill(PY_CASES[name], ws), fb)
    assert res.sandbox == mode
    assert checksum(ws["root"] / "workspace") == before
    if mode == "subprocess" or name in ("infinite_loop", "huge_stdout_fd", "memory_bomb"):
        assert res.ok is False
    if mode == "subprocess":
        assert res.error.startswith("Python is not run in sandbox mode 'subprocess'")


@pytest.mark.parametrize("name", ["socket_loopback", "socket_internet", "delete_db"])
def test_unshare_fallback_refuses_python_and_keeps_sql(name, ws):
    """The middle fallback (no bwrap, but user+network namespaces) cannot protect files, so Python is refused."""
    un = load_settings(environ={}, overrides={"agent": {"timeout_s": 4, "sandbox": "unshare"}})
    try:
        sandbox_mode(un)
    except ConfigError:
        pytest.skip("unshare (user + network namespaces) is not available here")
    before = checksum(ws["root"] / "workspace")
    res = run_python(str(ws["db"]), _fill(PY_CASES[name], ws), un)
    assert checksum(ws["root"] / "workspace") == before and ws["hits"] == []
    assert res.ok is False and res.error.startswith("Python is not run in sandbox mode 'unshare'")
    assert run_sql(str(ws["db"]), "SELECT count(*) AS n FROM items", un).rows[0][0] > 0
