"""`earful serve` (the web chat) and `earful report` (an HTML insight report, for cron or CI schedules)."""
from __future__ import annotations

import typer

from earful.cli.common import JSON_OPTION, console, emit, state


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("report")(report)


def serve(ctx: typer.Context, host: str = typer.Option("127.0.0.1", help="address to bind (loopback by default)"),
          port: int = typer.Option(8765, help="port")):
    """Start the web chat on http://HOST:PORT (answers, tables, charts and code, as in `earful ask`)."""
    import uvicorn

    from earful.web.app import create_app

    settings = state(ctx).settings()
    console.print(f"Earful web chat for {settings.db} on http://{host}:{port}  (Ctrl+C to stop)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


def report(ctx: typer.Context, out: str = typer.Option("earful-report.html", "--out", help="HTML file to write"),
           questions: str = typer.Option(None, "--questions", help="YAML file: {title: ..., questions: [...]}"),
           as_json: bool = JSON_OPTION):
    """Answer a saved list of questions and write them as one self-contained HTML report."""
    from earful.report import build_report, load_questions

    title, qs = load_questions(questions)
    summary = build_report(state(ctx).settings(), qs, title, out)
    emit(summary, as_json=as_json)
