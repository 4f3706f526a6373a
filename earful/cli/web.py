"""`earful serve` (the web chat) and `earful report` (an HTML insight report, for cron or CI schedules)."""
from __future__ import annotations

import typer

from earful.cli.common import JSON_OPTION, console, emit, state


def register(app: typer.Typer) -> None:
    from earful.cli import reports

    app.command("serve")(serve)
    reports.register(app)   # report, monitors, schedule (earful/cli/reports.py)


def serve(ctx: typer.Context, host: str = typer.Option("127.0.0.1", help="address to bind (loopback by default)"),
          port: int = typer.Option(8765, help="port"),
          token: str = typer.Option(None, "--token", help="secret required on every request (or EARFUL_TOKEN, "
                                                           "or token in earful.toml's web section); "
                                                           "needed off loopback"),
          allow_host: list[str] = typer.Option(None, "--allow-host",
                                               help="another Host name clients use to reach this server "
                                                    "(besides localhost, 127.0.0.1, [::1] and HOST); repeatable")):
    """Start the web chat on http://HOST:PORT (answers, tables, charts and code, as in `earful ask`).

    Each question's steps stream to the page as they happen and Cancel stops the run on the server; the workspace's
    conversations are listed in a side panel and open at /c/ID; /topics and /labels show topics and label shares.

    Requests whose Host header is not a name of this server are refused (DNS rebinding). Off loopback a token is
    required: open http://HOST:PORT/?token=TOKEN once (it sets a cookie) or send 'Authorization: Bearer TOKEN'.
    """
    from earful.errors import ConfigError
    from earful.web.app import create_app, is_loopback

    settings = state(ctx).settings(web={"token": token} if token else {})
    token = settings.web.token
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to serve on {host} without a token: anyone who can reach it could read the "
                          "workspace", hint="pass --token SECRET or set EARFUL_TOKEN (e.g. from "
                                            "python -c 'import secrets; print(secrets.token_urlsafe())'), "
                                            "or bind 127.0.0.1")
    app = create_app(settings, host=host, token=token, extra_hosts=allow_host or ())
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Earful web chat for {settings.db} on http://{shown}:{port}  (Ctrl+C to stop)"
                  + (f"\ntoken required: open http://{shown}:{port}/?token=TOKEN once" if token else ""),
                  markup=False, highlight=False)
    run_server(app, host, port)


def run_server(app, host: str, port: int, grace_s: int = 3) -> None:
    """Serve until SIGINT/SIGTERM, then stop promptly: in-flight requests get `grace_s` seconds, not forever.

    uvicorn re-raises the stop signal once it is done (which would kill us with SIGTERM or raise
    KeyboardInterrupt); a stop is the normal end of `serve`, so it exits 0 instead. Worker threads still inside a
    long answer are not waited for: an unsaved turn's transaction simply never commits.
    """
    import os
    import signal
    import sys
    import threading

    import uvicorn

    stop = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda *_: None) for s in stop}   # restored by uvicorn, then re-raised: no-op
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                      timeout_graceful_shutdown=grace_s)).run()
    finally:
        for s, h in before.items():
            signal.signal(s, h)
    console.print("stopped")
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for t in busy:
        t.join(timeout=grace_s / max(1, len(busy)))
    if any(t.is_alive() for t in busy):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def report(ctx: typer.Context, out: str = typer.Option("earful-report.html", "--out", help="HTML file to write"),
           questions: str = typer.Option(None, "--questions", help="YAML file: {title: ..., questions: [...]}"),
           as_json: bool = JSON_OPTION):
    """Answer a saved list of questions and write them as one self-contained HTML report.

    Questions that are declined or fail are listed with their reason under "Could not answer" at the end of the
    report; the report is still written, and the command then exits 1 so cron and CI notice.
    """
    from rich.markup import escape

    from earful.cli.common import console_err, rich_table
    from earful.report import build_report, load_questions

    title, qs = load_questions(questions)
    summary = build_report(state(ctx).settings(), qs, title, out)
    failed = summary["failed"]
    if as_json:
        emit(summary, as_json=True)
    else:
        emit({k: v for k, v in summary.items() if k != "failed"}, as_json=False)
        if failed:
            console.print(rich_table(["question", "status", "reason"],
                                     [[escape(f[k]) for k in ("question", "status", "reason")] for f in failed],
                                     title="Could not answer"))
    if failed:
        n = len(failed)
        console_err.print(f"{n} of {summary['questions']} question{'s' if summary['questions'] != 1 else ''} "
                          f"could not be answered (listed under 'Could not answer' in {summary['out']})",
                          markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
