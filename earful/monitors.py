"""Monitors: saved questions re-run with the same SQL, their history kept, and alerts on a threshold or a change.

Design decision: a monitor stores the SQL its answer ran (and the engine's plan, for the reader), not the question
alone, so re-running it never asks an engine again: the same query over newer data, run through the read-only path
(`earful.store.readonly.run_read_only`). Its value is read from the result: a one-row share answer
(``matching``/``total``, the built-in engine's share shape) gives a proportion whose change since the previous run
is tested (two-proportion z-test); any other one-row numeric result gives its last number, compared with the
threshold only.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from earful.errors import InputError, NotFoundError
from earful.store.sql import json_text

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_K_COLUMNS = ("matching", "count", "k", "hits")
_N_COLUMNS = ("total", "n", "base", "items")


def _check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise InputError(f"monitor name '{name}' is not allowed",
                         hint="use letters, digits, '_', '-' or '.', at most 64 characters")
    return name


def sql_of(answer: dict) -> str:
    """The SQL an answer ran (its last SQL step); an InputError when it has none to save."""
    if answer.get("status") != "answered":
        why = (answer.get("answer") or "").strip()
        raise InputError(f"the question was not answered ({answer.get('status')}), so there is nothing to monitor"
                         + (f": {why}" if why else ""),
                         hint="rephrase it until `earful ask` answers it, then add --save NAME")
    steps = answer.get("steps") or []
    if not steps or any(s.get("language") != "sql" or not s.get("ok") for s in steps):
        raise InputError("only answers computed by SQL can be saved as monitors (this one ran Python or failed)",
                         hint="ask it so the built-in engine answers, or ask for a number rather than a chart")
    return steps[-1]["code"]


def save(store, name: str, question: str, answer: dict, *, threshold: float | None = None,
         alert_on_change: bool = False, replace: bool = False) -> dict:
    """Store `question` with its plan and SQL under `name`; an existing name is an error unless `replace`."""
    _check_name(name)
    sql = sql_of(answer)
    with store.transaction() as con:
        if store.scalar("SELECT count(*) FROM monitors WHERE name = ?", [name]):
            if not replace:
                raise InputError(f"a monitor named '{name}' exists",
                                 hint=f"remove it first with 'earful monitors remove {name}', or pick another name")
            con.execute("DELETE FROM monitors WHERE name = ?", [name])
        con.execute("INSERT INTO monitors VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [name, question, answer.get("engine"), json_text(answer.get("plan")), sql, threshold,
                     bool(alert_on_change), datetime.now(UTC)])
    return get(store, name)


def configure(store, name: str, *, threshold: float | None = None, clear_threshold: bool = False,
              alert_on_change: bool | None = None) -> dict:
    """Set (or clear) a monitor's threshold and whether a significant change alerts."""
    get(store, name)
    with store.transaction() as con:
        if threshold is not None or clear_threshold:
            con.execute("UPDATE monitors SET threshold = ? WHERE name = ?", [threshold, name])
        if alert_on_change is not None:
            con.execute("UPDATE monitors SET alert_on_change = ? WHERE name = ?", [alert_on_change, name])
    return get(store, name)


def list_all(store) -> list[dict]:
    cur = store.con.execute(
        "SELECT m.name, m.question, m.threshold, m.alert_on_change, m.created_at, count(r.run_at) AS runs, "
        "max(r.run_at) AS last_run FROM monitors m LEFT JOIN monitor_runs r USING (name) GROUP BY ALL ORDER BY name")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def get(store, name: str) -> dict:
    cur = store.con.execute("SELECT * FROM monitors WHERE name = ?", [name])
    row = cur.fetchall()
    if not row:
        raise NotFoundError(f"no monitor named '{name}'", hint="list them with 'earful monitors list'")
    out = dict(zip([d[0] for d in cur.description], row[0]))
    out["plan"] = json.loads(out["plan"]) if out.get("plan") else None
    return out


def history(store, name: str, limit: int = 50) -> list[dict]:
    cur = store.con.execute("SELECT run_at, status, value, k, n, error FROM monitor_runs WHERE name = ? "
                            "ORDER BY run_at DESC LIMIT ?", [name, limit])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def remove(store, name: str) -> None:
    get(store, name)
    with store.transaction() as con:
        con.execute("DELETE FROM monitor_runs WHERE name = ?", [name])
        con.execute("DELETE FROM monitors WHERE name = ?", [name])


def measure(columns: list[str], rows: list[list]) -> dict:
    """The monitored value of a result: {value, k, n} (k/n for a share, None where there is none)."""
    if len(rows) != 1:
        return {"value": None, "k": None, "n": None}
    row = dict(zip([c.lower() for c in columns], rows[0]))
    k = next((row[c] for c in _K_COLUMNS if isinstance(row.get(c), int)), None)
    n = next((row[c] for c in _N_COLUMNS if isinstance(row.get(c), int)), None)
    if k is not None and n:
        return {"value": k / n, "k": k, "n": n}
    nums = [v for v in rows[0] if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return {"value": float(nums[-1]) if nums else None, "k": None, "n": None}


def compare(prev: dict | None, cur: dict) -> dict:
    """Change of `cur` against `prev` (both {value, k, n}); shares get a two-proportion test."""
    from earful.reports.stats import ALPHA, two_proportions

    if not prev or prev.get("value") is None or cur.get("value") is None:
        return {"change": None, "p": None, "significant": False}
    out = {"change": cur["value"] - prev["value"], "p": None, "significant": False}
    if cur.get("n") and prev.get("n"):
        _, p = two_proportions(prev["k"], prev["n"], cur["k"], cur["n"])
        out.update(p=p, significant=p < ALPHA)
    return out


def run_one(db_path: str, monitor: dict, *, timeout_s: float | None = 60.0) -> dict:
    """Run a monitor's saved SQL read-only: {name, status, value, k, n, columns, rows, error}."""
    from earful.store.readonly import run_read_only

    try:
        tbl = run_read_only(str(db_path), monitor["sql"], limit=1000, timeout_s=timeout_s)
    except Exception as exc:  # noqa: BLE001 - a failing monitor is reported, never fatal to the others
        return {"name": monitor["name"], "status": "error", "value": None, "k": None, "n": None,
                "columns": [], "rows": [], "error": f"{type(exc).__name__}: {exc}"}
    cols = list(tbl.column_names)
    rows = [[r[c] for c in cols] for r in tbl.to_pylist()]
    return {"name": monitor["name"], "status": "ok", **measure(cols, rows), "columns": cols, "rows": rows,
            "error": None}


def alerts(monitor: dict, result: dict, change: dict) -> list[str]:
    """Why this run should alert: the threshold crossed, or a significant change when the monitor asks for it."""
    out = []
    v, t = result.get("value"), monitor.get("threshold")
    if v is not None and t is not None:
        shown = v * 100 if result.get("n") else v      # a share's threshold is in percent
        if shown > t:
            out.append(f"above its threshold {t:g}")
    if monitor.get("alert_on_change") and change.get("significant"):
        out.append("changed significantly since the last run")
    if result.get("status") == "error":
        out.append("failed")
    return out


def record(store, results: list[dict]) -> None:
    """Append each run to `monitor_runs` (one transaction)."""
    now = datetime.now(UTC)
    with store.transaction() as con:
        for r in results:
            con.execute("INSERT INTO monitor_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [r["name"], now, r["status"], r["value"], r["k"], r["n"],
                         json_text({"columns": r["columns"], "rows": r["rows"]}), r["error"]])


def run_all(db_path: str, names: list[str] | None = None) -> list[dict]:
    """Re-run monitors (all, or `names`), record them, and return each with its previous run, change and alerts."""
    from earful.store import Store

    with Store(db_path) as store:
        mons = [get(store, n) for n in names] if names else [get(store, m["name"]) for m in list_all(store)]
        prevs = {m["name"]: next((h for h in history(store, m["name"], 1) if h["status"] == "ok"), None)
                 for m in mons}
    results = [run_one(db_path, m) for m in mons]
    with Store(db_path) as store:
        record(store, results)
    out = []
    for m, r in zip(mons, results):
        ch = compare(prevs[m["name"]], r)
        out.append({**r, "question": m["question"], "threshold": m["threshold"],
                    "alert_on_change": m["alert_on_change"], "previous": prevs[m["name"]], **ch,
                    "alerts": alerts(m, r, ch)})
    return out


def show_value(v: dict | None) -> str:
    """A monitored value as the report writes it: '12.0% (30 of 250)' for a share, else the number."""
    if not v or v.get("value") is None:
        return "n/a"
    if v.get("n"):
        return f"{100 * v['value']:.1f}% ({v['k']} of {v['n']})"
    return f"{v['value']:g}"
