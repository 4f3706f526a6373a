"""The `earful` command line: one Typer app, a module per command group.

Design decision: the CLI's own commands (status/sql/embed/similar first, serve/report last) come from
`earful.cli.core` and `earful.cli.web`; every stage's (and any installed plugin's) commands come from the plugin hook
``register_commands(app)``, so a stage adds commands by writing one module, never by editing a dispatcher. Only this
layer turns `EarfulError` into a message and an exit code; ``EARFUL_DEBUG=1`` shows the traceback instead. A usage
mistake (misspelt command or option, missing argument) is a usage error: exit 2, the usage line and "did you mean"
(`earful.cli.common.show_usage_error`), never "unexpected error". Help is plain text, not rich markup, because help
texts quote settings such as ``[sql] timeout_s`` whose brackets markup would eat.
"""
from __future__ import annotations

import os
import sys

import typer

from earful.cli.common import State, console_err, show_usage_error

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(help="Earful: ask anything of your natural-language feedback.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings=HELP_OPTIONS)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("earful")
        except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
            from earful import __version__ as v
        typer.echo(f"earful {v}")
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context,
          db: str = typer.Option(None, "--db", help="workspace DuckDB file (default ./earful.duckdb, or EARFUL_DB)"),
          config: str = typer.Option(None, "--config", help="settings file (default ./earful.toml)"),
          wait: float = typer.Option(None, "--wait", min=0, metavar="SECONDS",
                                     help="wait this long for a workspace another process is writing "
                                          "(default 10, or EARFUL_WAIT)"),
          _show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                             help="print the version and exit")):
    """Earful: ingest feedback, classify it, find topics and ask questions, all in one DuckDB workspace."""
    ctx.obj = State(db=db, config=config, wait=wait)


def _register_all() -> None:
    from earful.cli import core, web
    from earful.plugins import call_hook

    core.register(app)                           # status, sql, embed, similar
    call_hook("register_commands", app=app)      # ingest, classify, topics, llm, ask, ... and plugins' commands
    web.register(app)                            # serve, report
    for group in app.registered_groups:          # a stage's command group: plain help, -h, like the top level
        sub = group.typer_instance
        if sub is not None:
            sub.rich_markup_mode = None
            if not isinstance(sub.info.context_settings, dict):
                sub.info.context_settings = dict(HELP_OPTIONS)


_register_all()


def main() -> None:
    from earful.config import apply_process_env
    from earful.errors import EarfulError

    apply_process_env()  # offline, quiet model libraries: set by the program, not by importing earful

    try:
        rc = app(standalone_mode=False, prog_name="earful")  # returns typer.Exit's code instead of exiting
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
    except (typer.TyperException, typer.Abort) as exc:   # typer's own click: usage errors, bad values, Abort
        sys.exit(show_usage_error(exc))
    except Exception as exc:
        import click

        if isinstance(exc, (click.exceptions.ClickException, click.exceptions.Abort)):  # a plugin using click itself
            sys.exit(show_usage_error(exc))
        if os.environ.get("EARFUL_DEBUG") == "1":
            raise
        from rich.markup import escape

        console_err.print(f"[bold red]unexpected error:[/] {type(exc).__name__}: {escape(str(exc))} "
                          "(set EARFUL_DEBUG=1 for the traceback and please report it)", highlight=False)
        sys.exit(1)
