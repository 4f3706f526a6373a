"""`earful describe COLUMN [VALUE] --alias "words"` through the real CLI: the alias reaches the schema card (and its
cached sidecar), typos are clear errors listing what exists, and aliases survive ingesting again."""
from __future__ import annotations

import json
import os

from tests.conftest import ingest_json, run_cli, shared


def _sample(tmp_path, n=200):
    src = shared("disapere_peer_reviews/review_sentences.csv")
    with open(src, encoding="utf-8") as f:
        lines = [next(f) for _ in range(n)]
    path = tmp_path / "sentences.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _card(db, cache=True):
    from earful.qa_agent.schema_card import build_schema_card

    return build_schema_card(str(db), use_cache=cache)


def test_value_alias_round_trip_and_cached_card_refreshes(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, _sample(tmp_path), "--source", "sentences")
    before = _card(db)                                          # writes the sidecar
    assert "clarity of writing" not in before.view("sentences").column("aspect").value_aliases["asp_clarity"]
    stat = os.stat(db)
    res = run_cli("describe", "aspect", "ASP_CLARITY", "--alias", "clarity  of writing", db=db)
    assert res.returncode == 0, res.stderr
    assert "'clarity of writing' now names aspect = 'asp_clarity' (every source)" in res.stdout
    assert (os.stat(db).st_mtime_ns, os.stat(db).st_size) != (stat.st_mtime_ns, stat.st_size)
    after = _card(db)                                           # the cache key moved with the write
    assert after.view("sentences").column("aspect").value_aliases["asp_clarity"] == ["clarity of writing", "clarity"]
    out = run_cli("describe", "aspect", "--json", db=db)
    assert out.returncode == 0, out.stderr
    (col,) = json.loads(out.stdout)
    assert col["value_aliases"]["asp_clarity"][0] == "clarity of writing" and col["list_fmt"] is None
    again = run_cli("describe", "aspect", "asp_clarity", "--alias", "clarity of writing", db=db)
    assert "already named" in again.stdout


def test_column_alias_for_one_source_and_removal(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, _sample(tmp_path), "--source", "sentences")
    res = run_cli("describe", "polarity", "--alias", "tone", "--source", "sentences", "--json", db=db)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["added"][0] == {"source": "sentences", "column": "polarity", "value": None,
                                                  "alias": "tone", "added": True}
    assert _card(db).view("sentences").column("polarity").aliases == ["tone"]
    gone = run_cli("describe", "polarity", "--remove-alias", "tone", db=db)
    assert gone.returncode == 0 and "removed 1 alias" in gone.stdout
    assert _card(db).view("sentences").column("polarity").aliases == []


def test_unknown_column_or_value_is_a_clear_error(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, _sample(tmp_path), "--source", "sentences")
    res = run_cli("describe", "aspcet", "--alias", "x", db=db)
    assert res.returncode == 2 and "unexpected" not in res.stderr
    assert "no column 'aspcet' in source 'sentences'; did you mean aspect?" in res.stderr
    assert "columns: item_id, text" in res.stderr and "polarity" in res.stderr
    res = run_cli("describe", "aspect", "asp_clartiy", "--alias", "x", db=db)
    assert res.returncode == 2 and "no value 'asp_clartiy' in column aspect; did you mean asp_clarity" in res.stderr
    res = run_cli("describe", "aspect", "--source", "nosuch", "--alias", "x", db=db)
    assert res.returncode == 2 and "no source named 'nosuch'" in res.stderr
    res = run_cli("describe", "aspect", "asp_clarity", "--alias", "   ", db=db)
    assert res.returncode == 2 and "an alias needs at least one word" in res.stderr
    from tests.conftest import sql_rows
    assert sql_rows(db, "SELECT count(*) FROM aliases") == [(0,)]     # nothing half-written


def test_aliases_survive_ingesting_again(tmp_path):
    db = tmp_path / "w.duckdb"
    first = _sample(tmp_path, 120)
    ingest_json(db, first, "--source", "sentences")
    assert run_cli("describe", "review_action", "arg_request", "--alias", "asks", db=db).returncode == 0
    ingest_json(db, first, "--source", "sentences")                 # the same file: all duplicates
    more = tmp_path / "more.csv"
    more.write_text("".join(open(_sample(tmp_path, 300), encoding="utf-8").readlines()[:1]
                            + open(tmp_path / "sentences.csv", encoding="utf-8").readlines()[120:]),
                    encoding="utf-8")
    res = ingest_json(db, more, "--source", "sentences")
    assert res[0]["added"] > 0
    assert _card(db).view("sentences").column("review_action").value_aliases["arg_request"][0] == "asks"


def test_describe_lists_columns_with_their_kinds(tmp_path):
    db = tmp_path / "w.duckdb"
    ingest_json(db, _sample(tmp_path), "--source", "sentences")
    res = run_cli("describe", "--json", db=db)
    assert res.returncode == 0, res.stderr
    by = {d["column"]: d for d in json.loads(res.stdout)}
    assert by["aspect"]["kind"] == "category" and "value(s) with aliases" in by["aspect"]["notes"]
    assert by["split"]["notes"] == "the same value in every row"      # the first 199 sentences are all 'dev'
