"""Schedules: earful command lines run on a cron expression, with every run and its outcome kept in the workspace.

Design decision: a run is *claimed* before it starts by inserting its (schedule, slot) row, which is the primary
key of `schedule_runs`; that row is the lease. Two schedulers on one workspace (two hosts on a shared disk, a timer
and a forgotten `schedule run`) both try the insert, and only one of them finds it new, so only one runs the job.
A scheduler that was down fires a missed job once, for the latest slot it missed, not once per slot: a job is due
when a slot has passed since its ``last_slot``, and claiming sets ``last_slot`` to the newest passed slot. Cron
expressions are read by croniter, in UTC. The workspace is never held open while a job runs (the job is a
separate `earful` process that needs it).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from earful.errors import InputError, NotFoundError
from earful.store.sql import json_text

NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
OUTPUT_CHARS = 4000


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(d: datetime) -> datetime:
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def check_cron(expr: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(expr or ""):
        raise InputError(f"'{expr}' is not a cron expression",
                         hint="five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * MON' "
                              "(times are UTC)")
    return expr


def latest_slot(expr: str, now: datetime) -> datetime:
    """The newest slot of `expr` at or before `now`."""
    from croniter import croniter

    return _utc(croniter(expr, _utc(now) + timedelta(seconds=1)).get_prev(datetime))


def next_slot(expr: str, after: datetime) -> datetime:
    from croniter import croniter

    return _utc(croniter(expr, _utc(after)).get_next(datetime))


def add(store, name: str, cron: str, args: list[str], now: datetime | None = None) -> dict:
    """Store a schedule; it first fires at the first slot after `now` (not for slots before it was added)."""
    if not name or len(name) > 64 or not set(name) <= NAME_OK:
        raise InputError(f"schedule name '{name}' is not allowed", hint="use letters, digits, '_', '-' or '.'")
    check_cron(cron)
    if not args:
        raise InputError("a schedule needs the earful command to run after '--'",
                         hint="e.g. earful schedule add weekly --cron '0 9 * * MON' -- report --since 7d --out r/")
    if args[0] in ("--db", "schedule"):
        raise InputError(f"'{args[0]}' cannot start a scheduled command",
                         hint="the schedule runs on this workspace; give the command itself (report, monitors run)")
    now = _utc(now or _now())
    with store.transaction() as con:
        if store.scalar("SELECT count(*) FROM schedules WHERE name = ?", [name]):
            raise InputError(f"a schedule named '{name}' exists",
                             hint=f"remove it with 'earful schedule remove {name}'")
        con.execute("INSERT INTO schedules VALUES (?, ?, ?, ?, ?)", [name, cron, json_text(list(args)), now, now])
    return get(store, name)


def get(store, name: str) -> dict:
    cur = store.con.execute("SELECT name, cron, args, created_at, last_slot FROM schedules WHERE name = ?", [name])
    rows = cur.fetchall()
    if not rows:
        raise NotFoundError(f"no schedule named '{name}'", hint="list them with 'earful schedule list'")
    return _job(rows[0])


def _job(row) -> dict:
    name, cron, args, created, last = row
    return {"name": name, "cron": cron, "args": json.loads(args), "created_at": created, "last_slot": last,
            "next_slot": next_slot(cron, last)}


def list_all(store) -> list[dict]:
    return [_job(r) for r in store.rows("SELECT name, cron, args, created_at, last_slot FROM schedules ORDER BY name")]


def remove(store, name: str) -> None:
    get(store, name)
    with store.transaction() as con:
        con.execute("DELETE FROM schedules WHERE name = ?", [name])


def runs(store, name: str | None = None, limit: int = 20) -> list[dict]:
    cur = store.con.execute(
        "SELECT name, slot, claimed_by, started_at, finished_at, status, exit_code, output FROM schedule_runs "
        + ("WHERE name = ? " if name else "") + "ORDER BY started_at DESC LIMIT ?", ([name] if name else []) + [limit])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def due(job: dict, now: datetime) -> datetime | None:
    """The slot to run now (the newest one passed since the job's last slot), or None."""
    if next_slot(job["cron"], job["last_slot"]) > _utc(now):
        return None
    return latest_slot(job["cron"], now)


def claim(store, name: str, slot: datetime, who: str, now: datetime | None = None) -> bool:
    """Take the (name, slot) lease; False when another scheduler already has it (or the slot is not newer)."""
    import duckdb

    try:
        with store.transaction() as con:
            last = store.scalar("SELECT last_slot FROM schedules WHERE name = ?", [name])
            if last is None or _utc(last) >= slot:
                return False
            if store.scalar("SELECT count(*) FROM schedule_runs WHERE name = ? AND slot = ?", [name, slot]):
                return False
            con.execute("INSERT INTO schedule_runs (name, slot, claimed_by, started_at, status) "
                        "VALUES (?, ?, ?, ?, 'running')", [name, slot, who, _utc(now or _now())])
            con.execute("UPDATE schedules SET last_slot = ? WHERE name = ?", [slot, name])
    except (duckdb.ConstraintException, duckdb.TransactionException):
        return False            # the other scheduler's insert won the race in this process
    return True


def finish(store, name: str, slot: datetime, status: str, exit_code: int | None, output: str) -> None:
    from earful.llm.redact import redact

    with store.transaction() as con:
        con.execute("UPDATE schedule_runs SET finished_at = ?, status = ?, exit_code = ?, output = ? "
                    "WHERE name = ? AND slot = ?", [_now(), status, exit_code, redact(output)[-OUTPUT_CHARS:],
                                                    name, slot])


def run_command(db: str, args: list[str], timeout_s: float | None = None) -> tuple[int, str]:
    """Run ``earful --db DB ARGS`` as its own process: (exit code, stdout and stderr)."""
    cmd = [sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), *args]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or "") if isinstance(exc.stdout, str) else ""
        return 124, out + f"\nstopped after {timeout_s:g} s"
    return p.returncode, (p.stdout or "") + (p.stderr or "")


def scheduler_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def tick(db: str, now: datetime | None = None, who: str | None = None, runner=run_command,
         timeout_s: float | None = None, log=None) -> list[dict]:
    """Run every job that is due at `now` and that this scheduler claims; returns what ran, with outcomes."""
    from earful.store import Store

    now, who = _utc(now or _now()), who or scheduler_id()
    with Store(db) as store:
        jobs = [(j, s) for j in list_all(store) if (s := due(j, now)) is not None]
    done = []
    for job, slot in jobs:
        with Store(db) as store:
            mine = claim(store, job["name"], slot, who, now)
        if not mine:
            if log:
                log(f"{job['name']}: slot {slot:%Y-%m-%d %H:%M} already claimed by another scheduler")
            continue
        if log:
            log(f"{job['name']}: running 'earful {' '.join(job['args'])}' for slot {slot:%Y-%m-%d %H:%M} UTC")
        code, output = runner(db, job["args"], timeout_s)
        status = "ok" if code == 0 else "failed"
        with Store(db, wait_s=300) as store:      # the outcome must not be lost to a busy workspace
            finish(store, job["name"], slot, status, code, output)
        done.append({"name": job["name"], "slot": slot, "status": status, "exit_code": code})
        if log:
            log(f"{job['name']}: {status} (exit {code})")
    return done


def serve(db: str, *, poll_s: float = 30.0, stop=None, log=None, timeout_s: float | None = None) -> None:
    """Tick until `stop` (a threading.Event) is set: wake at the next slot or every `poll_s` seconds, whichever is
    first, so jobs added while it runs are picked up. A busy workspace is retried at the next wake."""
    from earful.store import Store, WorkspaceBusyError

    who = scheduler_id()
    while stop is None or not stop.is_set():
        try:
            tick(db, who=who, log=log, timeout_s=timeout_s)
            with Store(db) as store:
                nexts = [j["next_slot"] for j in list_all(store)]
        except WorkspaceBusyError as exc:
            if log:
                log(f"workspace busy, retrying: {exc}")
            nexts = []
        except Exception as exc:  # noqa: BLE001 - a long-running scheduler logs and goes on
            if log:
                log(f"scheduler error, retrying: {type(exc).__name__}: {exc}")
            nexts = []
        wait = poll_s
        if nexts:
            wait = max(0.5, min(poll_s, (min(nexts) - _now()).total_seconds() + 0.5))
        if stop is not None:
            stop.wait(wait)
        else:
            time.sleep(wait)
