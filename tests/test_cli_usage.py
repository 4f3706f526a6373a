"""The CLI as a new user meets it (issue 16): usage mistakes are usage errors (exit 2, a usage line, "did you mean"),
not crashes; --version and -h work; brackets in help and messages survive rich; a misspelt --db is an error for
every command but those that create a workspace; an unknown --conversation id is an error."""
from __future__ import annotations

from importlib.metadata import version

import pytest

from tests.conftest import EXAMPLES, ingest_json, run_cli

CRASH = "unexpected error"


def test_version_prints_the_version():
    res = run_cli("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"earful {version('earful')}"


@pytest.mark.parametrize("args", [["-h"], ["sql", "-h"], ["classify", "-h"]])
def test_short_help_is_help(args):
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    assert "Usage: earful" in res.stdout and "--help" in res.stdout and "-h" in res.stdout


@pytest.mark.parametrize("args,expect", [
    (["statsu"], "No such command 'statsu'. Did you mean 'status'?"),
    (["sql"], "Missing argument 'query'"),
    (["status", "--josn"], "No such option: --josn. Did you mean --json?"),
    (["ask", "--conversaton", "x", "hi"], "Did you mean --conversation?"),
    (["stat[us]"], "No such command 'stat[us]'"),
])
def test_usage_mistakes_are_usage_errors(args, expect, tmp_path):
    res = run_cli(*args, db=tmp_path / "w.duckdb")
    assert res.returncode == 2, res.stderr
    assert CRASH not in res.stderr and "please report" not in res.stderr
    assert "Usage: earful" in res.stderr and "-h' for help" in res.stderr
    assert expect in res.stderr


def test_an_unknown_option_far_from_any_says_no_more():
    res = run_cli("status", "--zzzzzz")
    assert res.returncode == 2 and "No such option: --zzzzzz" in res.stderr and "Did you mean" not in res.stderr


def test_brackets_survive_in_help_text():
    res = run_cli("sql", "--help")
    assert res.returncode == 0
    assert "[sql] timeout_s" in " ".join(res.stdout.split())          # rich markup ate '[sql]'
    top = run_cli("--help")
    assert "[embeddings] model" in " ".join(top.stdout.split())


def test_brackets_survive_in_error_messages(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, EXAMPLES / "tizard_forum_sentences.csv", "--source", "forum", "--text", "sentence")
    res = run_cli("describe", "[llm]", "--alias", "x", db=db)
    assert res.returncode == 2 and "no column '[llm]'" in res.stderr


READERS = [["status"], ["ask", "how many reviews are there?"], ["sql", "select 1"], ["conversations"],
           ["quarantine", "list"], ["llm", "log"], ["embed"], ["describe"], ["topics", "list"],
           ["classify", "taxonomies"]]


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a[:2]) for a in READERS])
def test_a_missing_workspace_is_an_error_not_a_new_empty_one(args, tmp_path):
    db = tmp_path / "typo.duckdb"
    res = run_cli(*args, db=db)
    assert res.returncode == 2, res.stdout + res.stderr
    assert f"no workspace at {db}" in res.stderr and "ingest FILE" in res.stderr
    assert CRASH not in res.stderr
    assert not db.exists() and not list(tmp_path.iterdir())


def test_ingest_creates_the_workspace(tmp_path):
    db = tmp_path / "new.duckdb"
    (res,) = ingest_json(db, EXAMPLES / "tizard_forum_sentences.csv", "--text", "sentence")
    assert res["added"] > 0 and db.exists()
    assert run_cli("status", db=db).returncode == 0


def test_an_unknown_conversation_is_an_error(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, EXAMPLES / "tizard_forum_sentences.csv", "--source", "forum", "--text", "sentence")
    res = run_cli("ask", "--conversation", "typo123", "how many sentences are there?", db=db)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "no conversation 'typo123'" in res.stderr and "earful conversations" in res.stderr
    from tests.conftest import sql_rows
    assert sql_rows(db, "SELECT count(*) FROM conversations") == [(0,)]     # nothing started behind the user's back
    first = run_cli("ask", "--json", "how many sentences are there?", db=db)
    assert first.returncode == 0, first.stderr
    import json
    cid = json.loads(first.stdout)["conversation_id"]
    follow = run_cli("ask", "--json", "--conversation", cid, "and about firefox?", db=db)
    assert json.loads(follow.stdout)["conversation_id"] == cid
