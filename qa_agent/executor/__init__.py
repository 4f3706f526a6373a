"""Run SQL (and later Python) written by an engine or a model, contained, over a read-only view of the workspace.

Contract used by every engine: ``run_sql(db_path, sql, settings=None) -> ExecResult``. It never raises for a bad
query: the error goes into ``ExecResult.error`` so that repair loops can read it.
(Interim in-process version over `earful.store.readonly`; the agent issue replaces it with a separate, sandboxed
process while keeping this signature.)
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ExecResult:
    ok: bool
    columns: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    error: str | None = None
    truncated: bool = False


def run_sql(db_path: str, sql: str, settings=None, max_rows: int = 10_000) -> ExecResult:
    from earful.errors import EarfulError
    from earful.store.readonly import run_read_only

    try:
        tbl = run_read_only(str(db_path), sql)
    except EarfulError as exc:
        return ExecResult(ok=False, error=str(exc))
    cols = list(tbl.column_names)
    data = tbl.slice(0, max_rows).to_pylist()
    return ExecResult(ok=True, columns=cols, rows=[[r[c] for c in cols] for r in data],
                      truncated=tbl.num_rows > max_rows)
