"""`earful report`, `earful monitors ...` and `earful schedule ...`: insight reports, saved questions and their runs.

Design decision: the scheduler runs ordinary `earful` command lines (``schedule add NAME --cron C -- report ...``),
so whatever a schedule does can be run by hand, from cron or from a systemd timer in exactly the same way.
"""
from __future__ import annotations

import typer

from earful.cli.common import JSON_OPTION, console, console_err, emit, rich_table, state

monitors_app = typer.Typer(help="Saved questions (earful ask ... --save NAME): list, show, run, remove.",
                           no_args_is_help=True)
schedule_app = typer.Typer(help="Run earful commands on a cron schedule, recorded in the workspace.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.add_typer(monitors_app, name="monitors")
    app.add_typer(schedule_app, name="schedule")


def report(ctx: typer.Context,
           out: str = typer.Option("reports", "--out", help="folder for report.html and report.md "
                                                            "(or a FILE.html; FILE.md is written beside it)"),
           since: str = typer.Option(None, "--since", help="length of the period, e.g. 7d or 2w (default 7d), up "
                                                           "to the data's latest date (or --to)"),
           date_from: str = typer.Option(None, "--from", help="first day of the period (YYYY-MM-DD)"),
           date_to: str = typer.Option(None, "--to", help="last day of the period (YYYY-MM-DD)"),
           source: str = typer.Option(None, "--source", help="only this source"),
           questions: str = typer.Option(None, "--questions", help="YAML file: {title: ..., questions: [...]}"),
           title: str = typer.Option(None, "--title", help="report title (default: the YAML's, or a generic one)"),
           deliver: list[str] = typer.Option(None, "--deliver",
                                             help="also send it: folder:PATH, email:ADDR[,ADDR...] or webhook "
                                                  "(SMTP and webhook settings from [delivery] / EARFUL_DELIVERY_*); "
                                                  "repeatable"),
           as_json: bool = JSON_OPTION):
    """Write an insight report for a period against the period before it (HTML and Markdown).

    Headline findings come first, each linked to the table row it is checked against; then volume, label shares,
    emerging and fading topics, rating shifts, monitors and saved questions. Questions that are declined or fail are
    listed under "Could not answer"; the report is still written, and the command then exits 1 so cron and CI
    notice. A delivery that fails after its retries also exits 1; the report stays on disk.
    """
    from rich.markup import escape

    from earful.reports import build_report, load_questions

    q_title, qs = load_questions(questions)
    settings = state(ctx).settings()
    if deliver:
        from earful.delivery import parse_target

        for spec in deliver:        # a wrong target is an error before any work
            parse_target(spec)
    summary = build_report(settings, out, since=since, date_from=date_from, date_to=date_to, source=source,
                           questions=qs, title=title or (q_title if questions else None))
    failed = summary["failed"]
    if (summary["period"] or {}).get("warning"):
        console_err.print(f"warning: {summary['period']['warning']}", markup=False, highlight=False, soft_wrap=True)
    undelivered = []
    if deliver:
        from earful.delivery import deliver_report

        summary["deliveries"] = deliver_report(settings, summary, deliver, log=_log)
        undelivered = [d for d in summary["deliveries"] if not d["ok"]]
    if as_json:
        emit(summary, as_json=True)
    else:
        emit({k: summary[k] for k in ("out", "markdown", "questions", "answered", "declined", "error",
                                      "could_not_answer")}
             | {"period": (summary["period"] or {}).get("label", "no dated items"),
                "headlines": len(summary["headlines"])}, as_json=False)
        for h in summary["headlines"]:
            console.print(f"- {h['text']}", markup=False, highlight=False)
        if failed:
            console.print(rich_table(["question", "status", "reason"],
                                     [[escape(f[k]) for k in ("question", "status", "reason")] for f in failed],
                                     title="Could not answer"))
    for d in undelivered:
        console_err.print(f"delivery to {d['target']} failed after {d['attempts']} attempt(s): {d['error']} "
                          f"(the report is kept at {summary['out']})", markup=False, highlight=False, soft_wrap=True)
    if failed:
        n = summary["questions"]
        console_err.print(f"{len(failed)} of {n} question{'s' if n != 1 else ''} could not be answered (listed "
                          f"under 'Could not answer' in {summary['out']})", markup=False, highlight=False,
                          soft_wrap=True)
    if failed or undelivered:
        raise typer.Exit(1)


def _log(msg: str) -> None:
    """A delivery or scheduler log line on stderr, stamped, secrets already redacted by the caller."""
    from datetime import UTC, datetime

    console_err.print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {msg}", markup=False, highlight=False, soft_wrap=True)


# -- monitors -------------------------------------------------------------------------------------------------------
@monitors_app.command("list")
def monitors_list(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """List saved questions with their threshold, alert setting and how often they ran."""
    from earful.monitors import list_all

    with state(ctx).store() as store:
        rows = list_all(store)
    emit(rows, as_json=as_json, columns=["name", "question", "threshold", "alert on change", "runs", "last run"],
         rows=[[r["name"], r["question"], r["threshold"], r["alert_on_change"], r["runs"], r["last_run"]]
               for r in rows])


@monitors_app.command("show")
def monitors_show(ctx: typer.Context, name: str = typer.Argument(..., help="monitor name"),
                  as_json: bool = JSON_OPTION):
    """Show a monitor: its question, saved SQL and plan, and its run history (newest first)."""
    from earful.monitors import get, history, show_value

    with state(ctx).store() as store:
        m = get(store, name)
        hist = history(store, name)
    if as_json:
        emit(m | {"history": hist}, as_json=True)
        return
    emit({k: m[k] for k in ("name", "question", "engine", "threshold", "alert_on_change", "created_at", "sql")},
         as_json=False, title=name)
    console.print(rich_table(["run at", "status", "value", "error"],
                             [[h["run_at"], h["status"], show_value(h), h["error"] or ""] for h in hist],
                             title="history"))


@monitors_app.command("set")
def monitors_set(ctx: typer.Context, name: str = typer.Argument(..., help="monitor name"),
                 threshold: float = typer.Option(None, "--threshold",
                                                 help="alert when the value is above this (a share: in percent)"),
                 no_threshold: bool = typer.Option(False, "--no-threshold", help="remove the threshold"),
                 alert_on_change: bool = typer.Option(None, "--alert-on-change/--no-alert-on-change",
                                                      help="alert when a share changed significantly since the "
                                                           "last run"),
                 as_json: bool = JSON_OPTION):
    """Give a monitor a threshold, or make a significant change since its last run an alert."""
    from earful.monitors import configure

    with state(ctx).store() as store:
        m = configure(store, name, threshold=threshold, clear_threshold=no_threshold,
                      alert_on_change=alert_on_change)
    emit({k: m[k] for k in ("name", "question", "threshold", "alert_on_change")}, as_json=as_json)


@monitors_app.command("run")
def monitors_run(ctx: typer.Context, names: list[str] = typer.Argument(None, help="monitors to run (default all)"),
                 deliver: list[str] = typer.Option(None, "--deliver", help="send alerts: folder:PATH, "
                                                                           "email:ADDR or webhook; repeatable"),
                 as_json: bool = JSON_OPTION):
    """Re-run monitors with their saved SQL, record the runs, and print each value, change and alert."""
    from earful.monitors import run_all, show_value

    settings = state(ctx).settings()
    results = run_all(settings.db, names or None)
    fired = [r for r in results if r["alerts"]]
    out: dict = {"monitors": results, "alerts": len(fired)}
    if deliver and fired:
        from earful.delivery import deliver_alerts

        out["deliveries"] = deliver_alerts(settings, fired, deliver, log=_log)
    if as_json:
        emit(out, as_json=True)
    else:
        console.print(rich_table(["monitor", "previous", "latest", "significant", "alerts"],
                                 [[r["name"], show_value(r["previous"]), show_value(r), r["significant"],
                                   "; ".join(r["alerts"])] for r in results]))
    if any(r["status"] == "error" for r in results) or any(not d["ok"] for d in out.get("deliveries", [])):
        raise typer.Exit(1)


@monitors_app.command("remove")
def monitors_remove(ctx: typer.Context, name: str = typer.Argument(..., help="monitor name"),
                    as_json: bool = JSON_OPTION):
    """Remove a monitor and its history."""
    from earful.monitors import remove

    with state(ctx).store() as store:
        remove(store, name)
    emit({"removed": name}, as_json=as_json)


# -- schedules ------------------------------------------------------------------------------------------------------
def _check_command_line(root, args: list[str]) -> None:
    """Parse a scheduled command line as `earful` would (without running it), so a misspelt command or option, a
    missing argument or a bad value is refused when the schedule is added, not at its first run days later."""
    from earful.errors import InputError

    known = set(root.commands)
    if args and args[0] not in known:
        raise InputError(f"'{args[0]}' is not an earful command", hint="commands: " + ", ".join(sorted(known)))
    if any(a in ("--help", "-h", "--version") for a in args):
        raise InputError("a scheduled command cannot ask for help or the version",
                         hint="give the command as it should run, e.g. -- report --since 7d --out reports/")
    cmd, rest, parent, name = root, list(args), None, "earful"
    try:
        while True:
            ctx = cmd.make_context(name, list(rest), parent=parent)
            if not hasattr(cmd, "resolve_command"):             # a command, not a group of them
                return
            protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
            name, sub, rest = cmd.resolve_command(ctx, [*protected, *ctx.args])
            if sub is None:
                return
            cmd, parent = sub, ctx
    except typer.TyperException as e:       # NoSuchOption, MissingParameter, BadParameter, no such command
        message = e.format_message() if hasattr(e, "format_message") else str(e)
        raise InputError(f"the scheduled command 'earful {' '.join(args)}' would not run: {message}",
                         hint=f"check it with 'earful {' '.join(args[:1])} --help'") from None


@schedule_app.command("add")
def schedule_add(ctx: typer.Context, name: str = typer.Argument(..., help="schedule name"),
                 command: list[str] = typer.Argument(..., metavar="-- COMMAND...",
                                                     help="the earful command to run, after '--' "
                                                          "(e.g. -- report --since 7d --out reports/)"),
                 cron: str = typer.Option(..., "--cron", help="cron expression in UTC, e.g. '0 9 * * MON'"),
                 as_json: bool = JSON_OPTION):
    """Run an earful command on a cron schedule: earful schedule add NAME --cron "0 9 * * MON" -- report ...

    It fires at the first slot after now, when `earful schedule run` is running (or at the next
    `earful schedule run --once` from cron or a systemd timer). A missed slot fires once on catch-up.
    """
    from earful.cli import app as root
    from earful.schedule import add

    _check_command_line(typer.main.get_command(root), list(command))
    with state(ctx).store() as store:
        job = add(store, name, cron, list(command))
    emit(job, as_json=as_json, columns=["name", "cron", "command", "next run (UTC)"],
         rows=[[job["name"], job["cron"], "earful " + " ".join(job["args"]), job["next_slot"]]])


@schedule_app.command("list")
def schedule_list(ctx: typer.Context, as_json: bool = JSON_OPTION):
    """List schedules with their command, last slot and next run."""
    from earful.schedule import list_all

    with state(ctx).store() as store:
        jobs = list_all(store)
    emit(jobs, as_json=as_json, columns=["name", "cron", "command", "last slot", "next run (UTC)"],
         rows=[[j["name"], j["cron"], "earful " + " ".join(j["args"]), j["last_slot"], j["next_slot"]] for j in jobs])


@schedule_app.command("remove")
def schedule_remove(ctx: typer.Context, name: str = typer.Argument(..., help="schedule name"),
                    as_json: bool = JSON_OPTION):
    """Remove a schedule (its past runs stay in `earful schedule runs`)."""
    from earful.schedule import remove

    with state(ctx).store() as store:
        remove(store, name)
    emit({"removed": name}, as_json=as_json)


@schedule_app.command("runs")
def schedule_runs(ctx: typer.Context, name: str = typer.Argument(None, help="only this schedule"),
                  limit: int = typer.Option(20, "--limit", help="how many recent runs"), as_json: bool = JSON_OPTION):
    """Recent runs: slot, which scheduler claimed it, outcome, exit code and the end of the output."""
    from earful.schedule import runs

    with state(ctx).store() as store:
        rows = runs(store, name, limit)
    emit(rows, as_json=as_json, columns=["name", "slot", "claimed by", "status", "exit", "finished"],
         rows=[[r["name"], r["slot"], r["claimed_by"], r["status"], r["exit_code"], r["finished_at"]] for r in rows])


@schedule_app.command("run")
def schedule_run(ctx: typer.Context,
                 once: bool = typer.Option(False, "--once", help="run what is due now and exit (for cron or a "
                                                                  "systemd timer)"),
                 poll: float = typer.Option(30.0, "--poll", min=0.5, help="look for new or changed schedules "
                                                                          "this often (seconds)"),
                 timeout: float = typer.Option(None, "--job-timeout", help="stop a job after this many seconds"),
                 as_json: bool = JSON_OPTION):
    """Run the scheduler: each job at its cron slots, until stopped (Ctrl+C or SIGTERM finish the current job).

    Every run is claimed in the workspace first, so two schedulers on one workspace never run the same slot; a
    slot missed while no scheduler ran fires once when one starts. With --once it runs what is due and exits 0, or 1
    when a job failed.
    """
    import signal
    import threading
    from datetime import UTC, datetime

    from earful.llm.redact import redact
    from earful.schedule import serve, tick

    db = state(ctx).settings().db

    def log(msg: str) -> None:
        console_err.print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} {redact(msg)}", markup=False, highlight=False,
                          soft_wrap=True)

    if once:
        done = tick(db, log=log, timeout_s=timeout)
        emit(done, as_json=as_json, columns=["name", "slot", "status", "exit"],
             rows=[[d["name"], d["slot"], d["status"], d["exit_code"]] for d in done])
        if any(d["status"] != "ok" for d in done):
            raise typer.Exit(1)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    log(f"scheduler for {db} started (Ctrl+C to stop)")
    serve(db, poll_s=poll, stop=stop, log=log, timeout_s=timeout)
    log("scheduler stopped")
