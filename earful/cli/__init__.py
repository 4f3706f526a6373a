"""The `earful` command line: one Typer app, a module per command group.

Design decision: command groups are registered from a list of dotted module paths (each module exposes
``register(app)``), so a stage adds commands by writing one module, never by editing a dispatcher. Only this layer
turns `EarfulError` into a message and an exit code; ``EARFUL_DEBUG=1`` shows the traceback instead.
"""
from __future__ import annotations

import os
import sys

import typer

from earful.cli.common import State, console_err
from earful.registry import load_optional

COMMAND_MODULES = [
    "earful.cli.core",      # status, sql, embed, similar
    "earful.ingest.cli",           # ingest, quarantine
    "earful.classify.cli",         # classify ...
    "earful.topics.cli",           # topics ...
    "earful.llm.cli",       # llm ...
    "earful.qa_agent.cli",         # ask, conversations
    "earful.cli.web",       # serve, report
]

app = typer.Typer(help="Earful: ask anything of your natural-language feedback.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _root(ctx: typer.Context,
          db: str = typer.Option(None, "--db", help="workspace DuckDB file (default ./earful.duckdb, or EARFUL_DB)"),
          config: str = typer.Option(None, "--config", help="settings file (default ./earful.toml)"),
          wait: float = typer.Option(None, "--wait", min=0, metavar="SECONDS",
                                     help="wait this long for a workspace another process is writing "
                                          "(default 10, or EARFUL_WAIT)")):
    """Earful: ingest feedback, classify it, find topics and ask questions, all in one DuckDB workspace."""
    ctx.obj = State(db=db, config=config, wait=wait)


def _register_all() -> None:
    for path in COMMAND_MODULES:
        module = load_optional(path)
        if module is not None:  # None: that stage is not installed
            module.register(app)


_register_all()


def main() -> None:
    from earful.errors import EarfulError

    try:
        rc = app(standalone_mode=False)  # returns typer.Exit's code instead of exiting
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except EarfulError as exc:
        if os.environ.get("EARFUL_DEBUG") == "1":
            raise
        from rich.markup import escape

        console_err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)  # '[sql]' is text
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted; completed batches are kept, the current one was rolled back")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(1)
        if os.environ.get("EARFUL_DEBUG") == "1":
            raise
        console_err.print(f"[bold red]unexpected error:[/] {type(exc).__name__}: {exc} "
                          "(set EARFUL_DEBUG=1 for the traceback and please report it)", highlight=False)
        sys.exit(1)
