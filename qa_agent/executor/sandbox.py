"""Start `runner.py` in a contained child process and collect its reply within time, memory and output limits.

Design decision: containment comes from the operating system, never from inspecting the code. In order of
preference: ``bwrap`` (bubblewrap) with only the interpreter, the virtualenv, the runner and the database mounted,
all read-only, every namespace unshared (no network), a private /tmp, all capabilities dropped; else
``unshare`` (new user + network + pid namespaces) over a read-only COPY of the database in a temp dir; else a plain
subprocess over that copy. The last two cannot hide the rest of the file system, and the last cannot block the
network: `sandbox_notice()` says so, once per process. In every mode the child gets rlimits (address space, CPU
time, file size, process count), a wall-clock timeout that kills its whole process tree, and a cap on output bytes.
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

RUNNER = Path(__file__).with_name("runner.py")
VA_HEADROOM_MB = 3072
_MODE: str | None = None
_NOTICE_SHOWN = False
NOTICES = {
    "unshare": "bubblewrap (bwrap) is not available here: generated code runs in a separate process with "
               "resource limits and no network (unshare), over a read-only copy of the database, but it can still "
               "READ other files this user can read. Install bubblewrap for full containment.",
    "subprocess": "bubblewrap (bwrap) and unshare are not available here: generated code runs in a separate process "
                  "with resource limits over a read-only copy of the database, but it is NOT cut off from the "
                  "network or from reading this user's files. Install bubblewrap for containment.",
}


@dataclass
class Limits:
    timeout_s: float = 30.0
    memory_mb: int = 2048
    max_output_bytes: int = 2_000_000
    max_procs: int = 64
    max_file_mb: int = 64


def _probe(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd + ["true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def detect_mode(wanted: str = "auto") -> str:
    """'bwrap', 'unshare' or 'subprocess': what actually works on this machine (probed once, then cached)."""
    global _MODE
    if wanted not in ("auto", "bwrap", "unshare", "subprocess"):
        from earful.errors import ConfigError
        raise ConfigError(f"[agent] sandbox = '{wanted}' is not one of auto, bwrap, unshare, subprocess")
    if wanted == "subprocess":
        return "subprocess"
    if _MODE is None:
        if shutil.which("bwrap") and _probe(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL",
                                               "--die-with-parent", "--proc", "/proc", "--dev", "/dev"]):
            _MODE = "bwrap"
        elif shutil.which("unshare") and _probe(["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork"]):
            _MODE = "unshare"
        else:
            _MODE = "subprocess"
    if wanted == "bwrap" and _MODE != "bwrap":
        from earful.errors import ConfigError
        raise ConfigError("[agent] sandbox = 'bwrap' but bubblewrap does not work on this machine",
                          hint="install it (apt-get install bubblewrap) or set [agent] sandbox = 'auto'")
    if wanted == "unshare" and _MODE == "subprocess":
        return "subprocess"
    return "unshare" if wanted == "unshare" else _MODE


def sandbox_notice(mode: str) -> str | None:
    """The weaker-containment notice for `mode`, the first time only (None afterwards, and for bwrap)."""
    global _NOTICE_SHOWN
    if mode == "bwrap" or _NOTICE_SHOWN:
        return None
    _NOTICE_SHOWN = True
    return NOTICES[mode]


def _site_packages() -> str:
    """The virtualenv's site-packages, passed to the runner so it can skip `site` (and its .pth scan) at start-up."""
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def _bwrap_cmd(db: Path, python: str) -> tuple[list[str], str]:
    inside_db = f"/workspace/{db.name}"
    cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/workspace"]
    for p in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc/ld.so.cache", "/etc/localtime"):
        cmd += ["--ro-bind-try", p, p]
    for p in {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        cmd += ["--ro-bind", p, p]
    cmd += ["--ro-bind", str(RUNNER), "/sandbox/runner.py", "--ro-bind", str(db), inside_db]
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        cmd += ["--ro-bind", str(wal), inside_db + ".wal"]
    cmd += ["--chdir", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
            "--setenv", "PYTHONDONTWRITEBYTECODE", "1", "--setenv", "PYTHONNOUSERSITE", "1",
            "--setenv", "POLARS_MAX_THREADS", "2", "--setenv", "OMP_NUM_THREADS", "1",
            "--", python, "-I", "-S", "/sandbox/runner.py", _site_packages()]
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

    def close(self) -> None:
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
    db = Path(db_path).resolve()
    python = os.path.join(sys.prefix, "bin", "python")
    tmp = None
    if mode == "bwrap":
        cmd, inside = _bwrap_cmd(db, python)
        py_runner = cmd
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
        py_runner = (["unshare", "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"] + base
                     if mode == "unshare" else base)
    marker = "EARFUL-REPLY-" + secrets.token_hex(8)
    payload = json.dumps({**job, "db": inside, "marker": marker, "memory_mb": limits.memory_mb}).encode()
    env = None if mode == "bwrap" else {"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONDONTWRITEBYTECODE": "1",
                                        "POLARS_MAX_THREADS": "2", "OMP_NUM_THREADS": "1"}
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
        why = {-signal.SIGKILL: "killed (memory or process limit)", 128 + signal.SIGKILL: "killed (memory limit)", -signal.SIGXCPU: "stopped: CPU time limit",
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
