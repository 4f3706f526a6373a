"""Run SQL or Python written by an engine or a model, contained, over a read-only view of the workspace.

Contract used by every engine: ``run_sql(db_path, sql, settings=None) -> ExecResult`` and
``run_python(db_path, code, settings=None) -> ExecResult``. Neither raises for bad code: the error goes into
``ExecResult.error`` so that repair loops can read it. Design decision: code a model or user wrote never runs in
Earful's process (only the built-in engine's own template SQL may, with ``in_process=True``);
`sandbox.run_job` starts `runner.py` under bubblewrap (or the best fallback this machine allows, announced once in
``ExecResult.notice``). SQL is first checked by `earful.store.readonly.check_sql` so refusals read clearly, then
runs on a DuckDB connection opened read-only with external access off inside the sandbox. Python runs only in the
modes that contain it (bwrap) or that the user opted into by name (``unsafe``); elsewhere `run_python` returns
the `PythonRefused` message as the error, which tells the model to write SQL and the user how to enable Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from earful.qa_agent.executor.sandbox import (
    MODES,
    RUNS_PYTHON,
    Limits,
    PythonRefused,
    detect_mode,
    run_job,
    sandbox_notice,
)

__all__ = ["ExecResult", "run_sql", "run_python", "limits_from", "sandbox_mode", "python_allowed", "MODES",
           "PythonRefused"]


@dataclass
class ExecResult:
    ok: bool
    columns: list[str] = field(default_factory=list)      # the first table's, for single-result callers
    rows: list[list] = field(default_factory=list)
    error: str | None = None
    truncated: bool = False
    tables: list[dict] = field(default_factory=list)      # [{name, columns, rows, truncated}]
    charts: list[dict] = field(default_factory=list)      # [{title, plotly}]
    stdout: str = ""
    sandbox: str = ""                                     # bwrap | unshare | subprocess | unsafe | in-process
    notice: str | None = None                             # what the mode does not contain, once per process+mode
    traceback: str | None = None
    seconds: float = 0.0


def limits_from(settings) -> Limits:
    if settings is None:
        return Limits()
    a = settings.agent
    return Limits(timeout_s=a.timeout_s, memory_mb=a.memory_mb, max_output_bytes=a.max_output_bytes)


def sandbox_mode(settings=None) -> str:
    return detect_mode(settings.agent.sandbox if settings is not None else "auto")


def python_allowed(settings=None) -> bool:
    """Whether `run_python` will run code under these settings (bwrap works, or the user chose 'unsafe')."""
    return sandbox_mode(settings) in RUNS_PYTHON


def _finish(raw, mode: str) -> ExecResult:
    notice = sandbox_notice(mode)
    if not raw.ok:
        tb = raw.reply.get("traceback") if raw.reply else None
        return ExecResult(ok=False, error=raw.error or "failed", sandbox=mode, notice=notice, traceback=tb,
                          seconds=raw.seconds, stdout=(raw.reply or {}).get("stdout", ""))
    tables = raw.reply.get("tables") or []
    first = tables[0] if tables else {"columns": [], "rows": [], "truncated": False}
    return ExecResult(ok=True, columns=first["columns"], rows=first["rows"], truncated=bool(first.get("truncated")),
                      tables=tables, charts=raw.reply.get("charts") or [], stdout=raw.reply.get("stdout", ""),
                      sandbox=mode, notice=notice, seconds=raw.seconds)


def _missing(db_path) -> ExecResult | None:
    from pathlib import Path

    if not Path(db_path).exists():
        return ExecResult(ok=False, error=f"no workspace at {db_path} (run 'earful ingest FILE' first)")
    return None


def run_sql(db_path: str, sql: str, settings=None, max_rows: int = 10_000, in_process: bool = False) -> ExecResult:
    """Check `sql` (read-only statements only), then run it in the sandbox; the last statement's rows come back.

    ``in_process=True`` skips the sandbox (saves the ~0.1-0.3 s process start) and runs over a read-only,
    external-access-off connection in this process: only for SQL that Earful itself composed from templates (the
    built-in engine), never for text a model or a user wrote.
    """
    from earful.errors import EarfulError
    from earful.store.readonly import check_sql

    if (miss := _missing(db_path)) is not None:
        return miss
    try:
        statements = check_sql(sql)
    except EarfulError as exc:
        return ExecResult(ok=False, error=str(exc))
    if in_process:
        return _run_in_process(db_path, sql, max_rows)
    try:   # a lake catalog: the query must not read every partition; the sandbox may read the lake's folder
        lake_dirs = _lake_dirs(db_path, settings, statements)
    except EarfulError as exc:
        return ExecResult(ok=False, error=str(exc))
    mode = sandbox_mode(settings)
    job = {"kind": "sql", "statements": statements, "max_rows": max_rows, "lake_dirs": lake_dirs}
    return _finish(_run_waiting(db_path, job, settings, mode), mode)


def _run_in_process(db_path: str, sql: str, max_rows: int) -> ExecResult:
    from earful.errors import EarfulError
    from earful.store.readonly import run_read_only

    try:
        tbl = run_read_only(str(db_path), sql)
    except EarfulError as exc:
        return ExecResult(ok=False, error=str(exc), sandbox="in-process")
    cols = list(tbl.column_names)
    rows = [[r[c] for c in cols] for r in tbl.slice(0, max_rows).to_pylist()]
    table = {"name": "result", "columns": cols, "rows": rows, "truncated": tbl.num_rows > max_rows}
    return ExecResult(ok=True, columns=cols, rows=rows, truncated=table["truncated"], tables=[table],
                      sandbox="in-process")


def run_python(db_path: str, code: str, settings=None, max_rows: int = 10_000) -> ExecResult:
    """Run Python in the sandbox with ``con`` (read-only DuckDB) and ``duckdb`` in scope.

    The code sets ``result`` (DataFrame / arrow table / dict of lists / list of dicts) and optionally ``tables``
    ({name: frame}) and ``fig`` / ``figures`` (plotly); printed text comes back in ``stdout``. A syntax error is
    reported without starting the sandbox. In a mode that cannot contain writes (unshare, subprocess) nothing
    runs: the error is `PythonRefused`'s message.
    """
    if (miss := _missing(db_path)) is not None:
        return miss
    mode = sandbox_mode(settings)
    if mode not in RUNS_PYTHON:
        return ExecResult(ok=False, error=str(PythonRefused(mode)), sandbox=mode, notice=sandbox_notice(mode))
    try:
        compile(code, "<generated>", "exec")
    except SyntaxError as exc:
        return ExecResult(ok=False, error=f"SyntaxError: {exc.msg} (line {exc.lineno})")
    job = {"kind": "python", "code": code, "max_rows": max_rows, "lake_dirs": _lake_dirs(db_path, settings)}
    return _finish(_run_waiting(db_path, job, settings, mode), mode)


def _lake_dirs(db_path, settings, statements=None) -> list[str]:
    """The lake folders a lake catalog's views read (checking `statements` first: `earful.store.readonly.lake_guard`);
    [] for a .duckdb workspace, or for a file being written (the sandbox's own wait then says it is busy)."""
    from earful.store import WorkspaceBusyError
    from earful.store.readonly import lake_access

    try:
        return lake_access(str(db_path), statements, getattr(settings, "wait_s", None) if settings else None)
    except WorkspaceBusyError:
        return []


def _run_waiting(db_path, job: dict, settings, mode: str):
    """`run_job`, run again by `earful.store.open_waiting` while another process holds the workspace for writing
    (an ingest, a classify run), up to ``wait_s`` (``--wait``); then the error says the workspace is busy instead
    of handing a lock error to a repair loop that cannot fix it."""
    import duckdb

    from earful.store import WorkspaceBusyError, open_waiting

    last: list = []

    def attempt():
        raw = run_job(db_path, job, limits_from(settings), mode)
        last[:] = [raw]
        if not raw.ok and "Could not set lock on file" in (raw.error or ""):
            raise duckdb.IOException(raw.error)      # the runner's lock error, as open_waiting recognises it
        return raw

    wait_s = getattr(settings, "wait_s", None) if settings is not None else None
    try:
        return open_waiting(attempt, db_path, wait_s)
    except WorkspaceBusyError as exc:
        raw = last[0]
        waited = re.search(r"waited \S+ s", str(exc))
        raw.error = (f"the workspace is busy: another process is writing it (an ingest or a classify run?)"
                     f"{'; ' + waited.group(0) if waited else ''}. Try again when it finishes, or wait longer with "
                     f"'earful --wait SECONDS ...' (or EARFUL_WAIT)")
        return raw
