"""Start `runner.py` in a contained child process and collect its reply within time, memory and output limits.

Design decision: containment comes from the operating system, never from inspecting the code, and a mode that
cannot stop code from writing the user's files does not run model-written Python at all. The modes
(``[agent] sandbox``; `MODES` says what each contains, as measured by tests/test_sandbox_conformance.py):

* ``bwrap`` (bubblewrap; what ``auto`` picks when it works): SQL and Python, with only the interpreter, the
  virtualenv, the runner and the database mounted read-only, every namespace unshared (no network, own pids), a
  private /tmp, all capabilities dropped. bwrap itself is started from a minimal environment, because its own
  init process (pid 1 inside) keeps the environment it was started with, whatever ``--clearenv`` gives the child.
* ``unshare`` (new user + network + pid namespaces) and ``subprocess``: SQL only, over a read-only COPY of the
  database. Neither can hide or protect the file system, so `run_job` refuses Python jobs (`PythonRefused`).
* ``unsafe`` (opt-in by name only, never picked by ``auto``): SQL and Python in a plain subprocess over the copy.

In every mode the child starts from a minimal environment (no API keys) and gets rlimits (address space, CPU time,
file size, process count), a cgroup where writable, a wall-clock timeout that kills its whole process tree, and a
cap on output bytes. `sandbox_notice()` says once per process and mode what a non-bwrap mode does not contain.
"""
from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from earful.errors import ConfigError, ExecutionError

RUNNER = Path(__file__).with_name("runner.py")
VA_HEADROOM_MB = 3072
SETTINGS = ("auto", "bwrap", "unshare", "subprocess", "unsafe")
RUNS_PYTHON = frozenset({"bwrap", "unsafe"})
_WORKS: dict[str, bool] = {}
_NOTICES_SHOWN: set[str] = set()
# The child's whole environment (bwrap's too): nothing of Earful's, so no API key can be read from any process.
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
             "POLARS_MAX_THREADS": "2", "OMP_NUM_THREADS": "1"}
_LIMITS = "time, memory, output-size and process limits"
MODES = {
    "bwrap": {
        "runs": "SQL and Python",
        "contains": "no network; no environment variables of Earful's (API keys); only the interpreter, the "
                    "virtualenv and the database are visible, all read-only (no other file can be read or "
                    "written; /tmp is private and discarded); " + _LIMITS,
        "exposes": "the workspace database itself, read-only (that is what it answers from)",
    },
    "unshare": {
        "runs": "SQL only (Python is refused)",
        "contains": "no network; empty environment; SQL runs read-only with DuckDB's file and network access off, "
                    "over a read-only copy of the database; " + _LIMITS,
        "exposes": "nothing to SQL; it cannot hide or protect files, which is why model-written Python is refused",
    },
    "subprocess": {
        "runs": "SQL only (Python is refused)",
        "contains": "empty environment; SQL runs read-only with DuckDB's file and network access off, over a "
                    "read-only copy of the database; " + _LIMITS,
        "exposes": "nothing to SQL; it cannot hide or protect files or cut off the network, which is why "
                   "model-written Python is refused",
    },
    "unsafe": {
        "runs": "SQL and Python (opted in by name)",
        "contains": "empty environment of its own; SQL stays read-only with file access off; Python gets a "
                    "read-only copy of the database; " + _LIMITS,
        "exposes": "Python can READ every file this user can read (including other processes' environments under "
                   "/proc, where Earful's API keys are), WRITE wherever this user can write (the workspace, the "
                   "virtualenv, $HOME), and use the NETWORK",
    },
}
NOTICES = {
    "unshare": "sandbox 'unshare' (bubblewrap is not available): only SQL runs - read-only, DuckDB file and network "
               "access off, over a read-only copy, no network, empty environment. Model-written Python is refused "
               "because this mode cannot stop it from writing this user's files; install bubblewrap "
               "(apt-get install bubblewrap) to run it contained.",
    "subprocess": "sandbox 'subprocess' (bubblewrap is not used): only SQL runs - read-only, DuckDB file and network "
                  "access off, over a read-only copy, empty environment. Model-written Python is refused because "
                  "this mode cannot stop it from writing this user's files, reading Earful's environment or using "
                  "the network; install bubblewrap (apt-get install bubblewrap) to run it contained.",
    "unsafe": "sandbox 'unsafe' (opted in): model-written Python runs in a plain subprocess with an empty "
              "environment and time/memory/output limits over a read-only copy of the database, but it is NOT "
              "contained: it can READ every file this user can read (including Earful's API keys through "
              "/proc/PID/environ), WRITE wherever this user can write (the workspace, the virtualenv, $HOME), and "
              "use the NETWORK. Install bubblewrap (apt-get install bubblewrap) and set [agent] sandbox = \"auto\" "
              "to contain it.",
}


class PythonRefused(ExecutionError):
    """Model-written Python in a mode that cannot contain its writes (unshare, subprocess)."""

    def __init__(self, mode: str):
        super().__init__(
            f"Python is not run in sandbox mode '{mode}': this mode cannot stop code from writing this user's files"
            + (" or reading Earful's environment" if mode == "subprocess" else "")
            + ", so only SQL runs here - write the analysis as a SQL query instead. To run Python, install "
            "bubblewrap (apt-get install bubblewrap) and set [agent] sandbox = \"auto\", or opt in to unconfined "
            "Python with [agent] sandbox = \"unsafe\" (it can then read and write this user's files and use the "
            "network).")


@dataclass
class Limits:
    timeout_s: float = 30.0
    memory_mb: int = 2048
    max_output_bytes: int = 2_000_000
    max_procs: int = 64
    max_file_mb: int = 64


def _probe(cmd: list[str]) -> bool:
    exe = shutil.which(cmd[0])
    if exe is None:
        return False
    try:
        return subprocess.run([exe, *cmd[1:], "true"], capture_output=True, timeout=10,
                              env=dict(CHILD_ENV)).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


PROBES = {"bwrap": ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent",
                    "--proc", "/proc", "--dev", "/dev"],
          "unshare": ["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork"]}


def works(mode: str) -> bool:
    """Whether `mode` can start here (bwrap and unshare are probed once per process; the others always can)."""
    if mode not in PROBES:
        return mode in MODES
    if mode not in _WORKS:
        _WORKS[mode] = _probe(PROBES[mode])
    return _WORKS[mode]


def detect_mode(wanted: str = "auto") -> str:
    """The mode to run in: 'auto' is bwrap, else unshare, else subprocess (never 'unsafe'); a named mode that
    cannot start here is a ConfigError."""
    if wanted not in SETTINGS:
        raise ConfigError(f"[agent] sandbox = '{wanted}' is not one of {', '.join(SETTINGS)}")
    if wanted == "auto":
        return next(m for m in ("bwrap", "unshare", "subprocess") if works(m))
    if not works(wanted):
        raise ConfigError(f"[agent] sandbox = '{wanted}' but {wanted} does not work on this machine",
                          hint="install bubblewrap (apt-get install bubblewrap) or set [agent] sandbox = 'auto'")
    return wanted


def sandbox_notice(mode: str) -> str | None:
    """What `mode` does not contain, the first time per process and mode (None afterwards, and for bwrap)."""
    if mode not in NOTICES or mode in _NOTICES_SHOWN:
        return None
    _NOTICES_SHOWN.add(mode)
    return NOTICES[mode]


def _site_packages() -> str:
    """The virtualenv's site-packages, passed to the runner so it can skip `site` (and its .pth scan) at start-up."""
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def _bwrap_cmd(db: Path, python: str, lake_dirs: list[str] = ()) -> tuple[list[str], str]:
    inside_db = f"/workspace/{db.name}"
    cmd = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/workspace"]
    for p in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc/ld.so.cache", "/etc/localtime"):
        cmd += ["--ro-bind-try", p, p]
    for p in {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        cmd += ["--ro-bind", p, p]
    cmd += ["--ro-bind", str(RUNNER), "/sandbox/runner.py", "--ro-bind", str(db), inside_db]
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        cmd += ["--ro-bind", str(wal), inside_db + ".wal"]
    for d in lake_dirs:   # a lake catalog's views read its lake's Parquet files: that folder, read-only, same path
        cmd += ["--ro-bind", d.rstrip("/"), d.rstrip("/")]
    cmd += ["--chdir", "/tmp", "--clearenv"]
    for k, v in {**CHILD_ENV, "HOME": "/tmp"}.items():
        cmd += ["--setenv", k, v]
    cmd += ["--", python, "-I", "-S", "/sandbox/runner.py", _site_packages()]
    return cmd, inside_db


class Cgroup:
    """Best-effort process-count and memory caps for the whole child tree (cgroup v2, or v1 pids + memory).

    rlimits alone cannot stop a fork bomb when Earful runs as root (RLIMIT_NPROC does not bind root), and
    RLIMIT_AS is per process. Where the cgroup file system is writable, a fresh group caps both for the tree;
    elsewhere this does nothing and the timeout plus the pid namespace's kill-all are what stop a bomb.
    """

    def __init__(self, limits: Limits):
        self.dirs: list[Path] = []
        name = "earful-" + secrets.token_hex(4)
        root = Path("/sys/fs/cgroup")
        wanted = {"pids": ("pids.max", str(limits.max_procs)),
                  "memory": ("memory.limit_in_bytes", str(limits.memory_mb * 1024 * 1024))}
        own = self._own()
        if (root / "cgroup.controllers").exists():
            self._make(root / own.get("", "/").lstrip("/") / name,
                       [("pids.max", str(limits.max_procs)), ("memory.max", wanted["memory"][1])])
        else:
            for ctrl, (fname, value) in wanted.items():
                self._make(root / ctrl / own.get(ctrl, "/").lstrip("/") / name, [(fname, value)])

    @staticmethod
    def _own() -> dict:
        out = {}
        try:
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                _, ctrls, path = line.split(":", 2)
                for c in (ctrls.split(",") if ctrls else [""]):
                    out[c] = path
        except OSError:
            pass
        return out

    def _make(self, d: Path, settings: list[tuple[str, str]]) -> None:
        try:
            d.mkdir()
        except OSError:
            return
        try:
            for fname, value in settings:
                (d / fname).write_text(value)
            self.dirs.append(d)
        except OSError:
            try:
                d.rmdir()
            except OSError:
                pass

    def enter(self) -> None:
        """Called in the child before exec: move this process (and so its descendants) into the group."""
        for d in self.dirs:
            try:
                (d / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                pass

    def kill_all(self) -> None:
        """SIGKILL whatever is still in the group: children that called setsid() escape the process-group kill,
        and only the pid namespace (bwrap) or this catches them."""
        for _ in range(50):
            pids: set[int] = set()
            for d in self.dirs:
                try:
                    pids.update(int(x) for x in (d / "cgroup.procs").read_text().split())
                except (OSError, ValueError):
                    pass
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def close(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


def _preexec(limits: Limits, cgroup: Cgroup | None = None):
    # Address space is not memory: DuckDB, polars and thread stacks reserve far more than they touch, so the
    # rlimit gets headroom and the real cap on resident memory is the cgroup's (memory_mb, when writable).
    mem = (limits.memory_mb + VA_HEADROOM_MB) * 1024 * 1024
    cpu = int(limits.timeout_s) + 2
    fsize = limits.max_file_mb * 1024 * 1024

    def apply():
        os.setsid()
        if cgroup is not None:
            cgroup.enter()
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        # counted per real user across the machine; the child runs in its own user namespace (no CAP_SYS_RESOURCE
        # in the initial one), so the limit binds: what the user runs now plus a small allowance.
        n = _count_user_procs()
        resource.setrlimit(resource.RLIMIT_NPROC, (n + limits.max_procs, n + limits.max_procs))
    return apply


def _count_user_procs() -> int:
    uid = os.getuid()
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                n += os.stat(f"/proc/{d}").st_uid == uid
            except OSError:
                pass
    return n


def _reader(stream, sink: bytearray, cap: int, over: threading.Event):
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        if len(sink) < cap + 1:
            sink.extend(chunk[: cap + 1 - len(sink)])
        if len(sink) > cap:
            over.set()


@dataclass
class RawResult:
    ok: bool
    reply: dict | None
    error: str | None
    mode: str
    seconds: float


def run_job(db_path: str | os.PathLike, job: dict, limits: Limits, mode: str) -> RawResult:
    """Run one runner job contained by `mode`; never raises for anything the job does."""
    if job.get("kind") == "python" and mode not in RUNS_PYTHON:
        return RawResult(False, None, str(PythonRefused(mode)), mode, 0.0)
    db = Path(db_path).resolve()
    python = os.path.join(sys.prefix, "bin", "python")
    tmp = None
    lake_dirs = list(job.get("lake_dirs") or [])
    if mode == "bwrap":
        cmd, inside = _bwrap_cmd(db, python, lake_dirs)
        py_runner = cmd
        env = dict(CHILD_ENV)     # bwrap's own init (pid 1 inside) keeps this environment: never Earful's
    else:
        tmp = tempfile.mkdtemp(prefix="earful-exec-")
        inside = os.path.join(tmp, db.name)
        shutil.copyfile(db, inside)
        wal = db.with_name(db.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, inside + ".wal")
            os.chmod(inside + ".wal", 0o444)
        os.chmod(inside, 0o444)
        base = [python, "-I", "-S", str(RUNNER), _site_packages()]
        py_runner = ([shutil.which("unshare") or "unshare", "--user", "--map-root-user", "--net", "--pid", "--fork",
                      "--kill-child"] + base if mode == "unshare" else base)
        env = {**CHILD_ENV, "HOME": tmp}
    marker = "EARFUL-REPLY-" + secrets.token_hex(8)
    payload = json.dumps({**job, "db": inside, "marker": marker, "memory_mb": limits.memory_mb}).encode()
    t0 = time.perf_counter()
    cgroup = Cgroup(limits)
    try:
        proc = subprocess.Popen(py_runner, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_preexec(limits, cgroup), cwd=tmp or "/", env=env)
    except OSError as exc:
        cgroup.close()
        _cleanup(tmp)
        return RawResult(False, None, f"could not start the sandbox: {exc}", mode, 0.0)
    out, err, over = bytearray(), bytearray(), threading.Event()
    readers = [threading.Thread(target=_reader, args=(proc.stdout, out, limits.max_output_bytes, over), daemon=True),
               threading.Thread(target=_reader, args=(proc.stderr, err, 20000, threading.Event()), daemon=True)]
    for r in readers:
        r.start()
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except OSError:
        pass
    reason = None
    deadline = t0 + limits.timeout_s
    while proc.poll() is None:
        if over.is_set():
            reason = f"stopped: output exceeded the limit of {limits.max_output_bytes} bytes"
            break
        if time.perf_counter() > deadline:
            reason = f"stopped: the code ran longer than the time limit of {limits.timeout_s:g} s"
            break
        time.sleep(0.005)
    _kill(proc)   # always: also ends anything the code left running in its session (the fallback has no pid ns)
    cgroup.kill_all()   # and whatever left the session (setsid) but not the group: it would hold the pipes open
    proc.wait()
    for r in readers:
        r.join(timeout=2)
    seconds = time.perf_counter() - t0
    cgroup.close()
    _cleanup(tmp)
    if reason is None and over.is_set():
        reason = f"stopped: output exceeded the limit of {limits.max_output_bytes} bytes"
    if reason:
        return RawResult(False, None, reason, mode, seconds)
    text = out.decode("utf-8", "replace")
    idx = text.rfind(marker)
    if idx < 0:
        rc = proc.returncode
        why = {-signal.SIGKILL: "killed (memory or process limit)", 128 + signal.SIGKILL: "killed (memory limit)",
               -signal.SIGXCPU: "stopped: CPU time limit",
               -signal.SIGXFSZ: "stopped: file size limit"}.get(rc, f"the sandboxed process exited with code {rc}")
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        return RawResult(False, None, why + (": " + " | ".join(tail) if tail else ""), mode, seconds)
    try:
        reply = json.loads(text[idx + len(marker):].strip().splitlines()[0])
    except (ValueError, IndexError):
        return RawResult(False, None, "the sandbox reply was not readable", mode, seconds)
    return RawResult(bool(reply.get("ok")), reply, reply.get("error"), mode, seconds)


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)   # the child called setsid(): its pgid is its pid
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def process_cap_available(limits: Limits | None = None) -> bool:
    """True when a cgroup can cap the child's process count here (else a fork bomb is stopped only by time)."""
    cg = Cgroup(limits or Limits())
    try:
        return any((d / "pids.max").exists() for d in cg.dirs)
    finally:
        cg.close()


def _cleanup(tmp: str | None) -> None:
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
