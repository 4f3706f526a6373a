"""Docs are tested: every CLI command has help text and appears in the README (after sqlite-utils' test_docs)."""
from pathlib import Path

import pytest
import typer.main

from earful.cli import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands():
    root = typer.main.get_command(app)

    def walk(cmd, prefix):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, prefix + [name])
        else:
            yield " ".join(prefix), cmd

    return list(walk(root, []))


COMMANDS = _commands()


def test_there_are_commands():
    names = {n for n, _ in COMMANDS}
    assert {"ingest", "sql", "ask", "status"} <= names


@pytest.mark.parametrize("name,cmd", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_command_has_help_and_is_in_readme(name, cmd):
    assert (cmd.help or "").strip(), f"'earful {name}' has no help text"
    assert f"earful {name}" in README or f"earful --db demo.duckdb {name}" in README \
        or any(f"earful {opt} {name}" in README for opt in ("--db W", "--db demo.duckdb")), \
        f"'earful {name}' is not documented in README.md"


def test_readme_has_no_repeated_section():
    """A merge once pasted 230 lines of the README twice (four sections under two headings each)."""
    import re
    headings = [line for line in README.splitlines() if re.match(r"#{2,4} ", line)]
    repeated = sorted({h for h in headings if headings.count(h) > 1})
    assert not repeated, f"README headings used twice: {repeated}"
