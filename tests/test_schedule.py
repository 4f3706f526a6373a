"""Schedules: cron slots (croniter), runs kept in the workspace, a missed run fires once, two schedulers run a job once.

Real workspaces and real `earful` processes for the jobs; the clock is passed to `tick` so slots days apart are
tested without waiting for them.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT, run_cli, sql_rows, workspace_from_rows

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)      # a Monday


@pytest.fixture
def db(tmp_path):
    rows = [{"id": str(i), "text": ("cannot login" if i % 4 == 0 else "fine") + f" {i}", "rating": "4",
             "date": "2025-12-01"} for i in range(40)]
    return workspace_from_rows(tmp_path, rows)


def _add(db, name, cron, args, now):
    from earful.schedule import add
    from earful.store import Store

    with Store(db) as s:
        return add(s, name, cron, args, now=now)


def test_missed_run_fires_once_then_on_its_next_slot(db):
    from earful.schedule import tick

    _add(db, "daily", "0 9 * * *", ["status", "--json"], T0)
    assert tick(str(db), now=T0 + timedelta(hours=1)) == []                   # 11:00: next slot is tomorrow 09:00
    late = T0 + timedelta(days=5, hours=2)                                     # five slots missed (Jan 6-10)
    [ran] = tick(str(db), now=late)
    assert ran["slot"] == datetime(2026, 1, 10, 9, 0, tzinfo=UTC) and ran["status"] == "ok"
    assert tick(str(db), now=late + timedelta(minutes=5)) == []               # not once per missed slot
    [nxt] = tick(str(db), now=datetime(2026, 1, 11, 9, 0, 30, tzinfo=UTC))
    assert nxt["slot"] == datetime(2026, 1, 11, 9, 0, tzinfo=UTC)
    rows = sql_rows(db, "SELECT slot, status, exit_code, output FROM schedule_runs ORDER BY slot")
    assert [(r[0], r[1], r[2]) for r in rows] == [(datetime(2026, 1, 10, 9, tzinfo=UTC), "ok", 0),
                                                  (datetime(2026, 1, 11, 9, tzinfo=UTC), "ok", 0)]
    assert json.loads(rows[0][3])["sources"]          # the job's own output (earful status --json) is kept


def test_failing_job_is_recorded_with_its_exit_code_and_output(db, tmp_path):
    from earful.schedule import tick

    _add(db, "broken", "*/5 * * * *", ["report", "--questions", str(tmp_path / "nope.yaml"), "--out",
                                       str(tmp_path / "r")], T0)
    [ran] = tick(str(db), now=T0 + timedelta(minutes=7))
    assert (ran["status"], ran["exit_code"]) == ("failed", 2)
    [(status, output)] = sql_rows(db, "SELECT status, output FROM schedule_runs")
    assert status == "failed" and ".yaml: no such questions file" in output


def test_a_claimed_slot_is_not_claimed_again(db):
    from earful.schedule import claim
    from earful.store import Store

    _add(db, "j", "0 * * * *", ["status"], T0)
    slot = T0 + timedelta(hours=1)
    with Store(db) as s:
        assert claim(s, "j", slot, "scheduler-a") is True
        assert claim(s, "j", slot, "scheduler-b") is False
        assert claim(s, "j", slot - timedelta(hours=1), "scheduler-b") is False    # an older slot, after a newer
    assert sql_rows(db, "SELECT claimed_by FROM schedule_runs") == [("scheduler-a",)]


@pytest.mark.slow
def test_two_schedulers_on_one_workspace_run_a_job_once(db):
    assert run_cli("ask", "What share of reviews mention login?", "--save", "login", db=db).returncode == 0
    _add(db, "monitors", "* * * * *", ["monitors", "run"], datetime.now(UTC) - timedelta(days=2))
    cmd = [sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), "--wait", "60",
           "schedule", "run", "--once", "--json"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ran = [json.loads(o) for o, _ in outs]
    assert sorted(len(r) for r in ran) == [0, 1], ran                       # one ran it, the other did not
    assert sql_rows(db, "SELECT count(*), min(status) FROM schedule_runs") == [(1, "ok")]
    assert sql_rows(db, "SELECT count(*) FROM monitor_runs") == [(1,)]         # the job itself ran once


@pytest.mark.slow
def test_scheduler_runs_due_job_and_stops_on_sigterm(db, tmp_path):
    _add(db, "weekly", "0 9 * * MON", ["report", "--since", "7d", "--out", str(tmp_path / "reports")],
         datetime.now(UTC) - timedelta(days=8))                               # a Monday slot was missed
    log = open(tmp_path / "sched.log", "w")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db),
                             "schedule", "run", "--poll", "1"], cwd=ROOT, stdout=log, stderr=log)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (tmp_path / "reports" / "report.md").exists():
            time.sleep(0.5)
        time.sleep(3)                                  # let it record the run's outcome
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    text = (tmp_path / "sched.log").read_text()
    assert proc.returncode == 0 and "scheduler stopped" in text, text
    assert "weekly: running 'earful report --since 7d" in text and "weekly: ok (exit 0)" in text
    assert sql_rows(db, "SELECT count(*), min(status) FROM schedule_runs") == [(1, "ok")]


def test_schedule_cli_add_list_remove(db):
    r = run_cli("schedule", "add", "weekly", "--cron", "0 9 * * MON", "--json", "--", "report", "--since", "7d",
                "--out", "reports/", db=db)
    assert r.returncode == 0, r.stderr
    job = json.loads(r.stdout)
    assert job["args"] == ["report", "--since", "7d", "--out", "reports/"]
    assert datetime.fromisoformat(job["next_slot"]).weekday() == 0
    listed = json.loads(run_cli("schedule", "list", "--json", db=db).stdout)
    assert [j["name"] for j in listed] == ["weekly"]
    bad = run_cli("schedule", "add", "x", "--cron", "61 * * * *", "--", "report", db=db)
    assert bad.returncode == 2 and "is not a cron expression" in bad.stderr
    bad = run_cli("schedule", "add", "x", "--cron", "0 * * * *", "--", "reprot", db=db)
    assert bad.returncode == 2 and "'reprot' is not an earful command" in bad.stderr
    assert run_cli("schedule", "remove", "weekly", db=db).returncode == 0
    assert json.loads(run_cli("schedule", "list", "--json", db=db).stdout) == []


@pytest.mark.parametrize("args, says", [
    (["report", "--bogus-flag"], "No such option: --bogus-flag"),
    (["report", "--since"], "'--since' requires an argument"),
    (["monitors", "rnu"], "No such command 'rnu'"),
    (["ask"], "Missing argument"),
    (["report", "--help"], "cannot ask for help"),
])
def test_schedule_add_refuses_a_command_line_that_would_not_run(db, args, says):
    """The arguments are parsed as `earful` would parse them when the schedule is added, not at its first run."""
    r = run_cli("schedule", "add", "bad", "--cron", "0 9 * * MON", "--", *args, db=db)
    assert r.returncode == 2 and says in r.stderr, r.stderr
    assert "unexpected error" not in r.stderr
    assert json.loads(run_cli("schedule", "list", "--json", db=db).stdout) == []      # nothing was stored
    ok = run_cli("schedule", "add", "good", "--cron", "0 9 * * MON", "--", "monitors", "run", db=db)
    assert ok.returncode == 0, ok.stderr
