"""Ingest behaviour on real files in tmp_path: column detection, dedupe, incremental re-ingest, every quarantine case,
transactional rollback, folders/globs, and the one-line errors (exit 2, nothing written) through the real CLI.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import EXAMPLES, run_cli

from earful.errors import InputError
from earful.ingest.base import LOADERS, Loaded, Loader, register_loader
from earful.ingest.pipeline import ingest_file, ingest_paths

UTC = UTC


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


# ---------------------------------------------------------------- column detection

def test_tizard_author_is_not_user_level(store):
    res = ingest_file(store, EXAMPLES / "tizard_forum_sentences.csv", source="tizard")
    assert res["detection"]["text"] == "sentence"
    assert res["detection"]["author"] is None  # 'user_level' is a property of the user, not the user
    assert res["added"] == 3810


def test_urr_dates_are_day_first(store):
    res = ingest_file(store, EXAMPLES / "urr_app_reviews.csv", source="reviews")
    assert res["detection"]["time_kind"] == "format:%d/%m/%y"
    row = store.rows("SELECT created_at, date FROM reviews WHERE review_id = '57291b7c507c69054da8ebeb'")[0]
    assert row[1] == "26/02/16" and row[0] == datetime(2016, 2, 26, tzinfo=UTC)
    lo, hi = store.rows("SELECT min(created_at), max(created_at) FROM reviews")[0]
    assert datetime(2009, 1, 1, tzinfo=UTC) < lo and hi < datetime(2017, 1, 1, tzinfo=UTC)


def test_ambiguous_dates_are_reported_and_overridable(store, tmp_path):
    p = _write(tmp_path / "a.csv", "id,date,text\n1,03/04/2024,first\n2,05/06/2024,second\n")
    res = ingest_file(store, p, source="a")
    assert res["detection"]["time_kind"] == "format:%d/%m/%Y"
    assert any("ambiguous" in w for w in res["warnings"])
    assert store.scalar("SELECT created_at FROM items WHERE external_id = '1'") == datetime(2024, 4, 3, tzinfo=UTC)
    res = ingest_file(store, p, source="b", overrides={"time_format": "%m/%d/%Y"})
    assert store.scalar("SELECT created_at FROM items WHERE source = 'b' AND external_id = '1'") == \
        datetime(2024, 3, 4, tzinfo=UTC)


def test_us_dates_when_day_first_is_impossible(store, tmp_path):
    p = _write(tmp_path / "us.csv", "id,date,text\n1,12/31/2023,a\n2,01/02/2024,b\n")
    res = ingest_file(store, p, source="us")
    assert res["detection"]["time_kind"] == "format:%m/%d/%Y"
    assert store.scalar("SELECT created_at FROM items WHERE external_id = '2'") == datetime(2024, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize("col,values,kind,first", [
    ("created", ["1709284500", "1709370000"], "epoch_s", datetime(2024, 3, 1, 9, 15, tzinfo=UTC)),
    ("created_ms", ["1709284500000", "1709370000000"], "epoch_ms", datetime(2024, 3, 1, 9, 15, tzinfo=UTC)),
    ("posted", ["2024-03-01T09:15:00Z", "2024-03-02T10:00:00+02:00"], "timestamp",
     datetime(2024, 3, 1, 9, 15, tzinfo=UTC)),
    ("when", ["\"Mar 01, 2024\"", "\"Mar 02, 2024\""], "format:%b %d, %Y", datetime(2024, 3, 1, tzinfo=UTC)),
])
def test_timestamp_kinds(store, tmp_path, col, values, kind, first):
    p = _write(tmp_path / "t.csv", f"id,{col},body\n" + "".join(f"{i},{v},text {i}\n" for i, v in enumerate(values)))
    res = ingest_file(store, p, source="t", overrides={"time": col})
    assert res["detection"]["time_kind"] == kind
    assert store.scalar("SELECT created_at FROM items WHERE external_id = '0'") == first


def test_overrides_win_and_bad_override_is_an_error(store, tmp_path):
    p = _write(tmp_path / "o.csv", "a,b,c\nx1,hello there,3\nx2,general kenobi,4\n")
    res = ingest_file(store, p, source="o", overrides={"text": "b", "id": "a", "rating": "c"})
    d = res["detection"]
    assert (d["text"], d["id"], d["rating"]) == ("b", "a", "c")
    with pytest.raises(InputError, match="--text nope: no such column"):
        ingest_file(store, p, source="o2", overrides={"text": "nope"})


# ---------------------------------------------------------------- dedupe and incremental ingest

def test_same_file_twice_adds_nothing_and_extra_rows_add_only_those(store, tmp_path):
    head = "review_id,comment,stars\n"
    rows = [f"r{i},comment number {i},{i % 5 + 1}\n" for i in range(10)]
    p = _write(tmp_path / "v1.csv", head + "".join(rows[:6]))
    assert ingest_file(store, p, source="rev")["added"] == 6
    assert ingest_file(store, p, source="rev")["added"] == 0
    p2 = _write(tmp_path / "v2.csv", head + "".join(rows))
    res = ingest_file(store, p2, source="rev")
    assert (res["added"], res["duplicates"]) == (4, 6)
    assert store.scalar("SELECT count(*) FROM rev") == 10
    assert store.scalar("SELECT count(*) FROM batches") == 3


def test_without_id_same_text_is_not_a_duplicate_but_same_record_is(store, tmp_path):
    p = _write(tmp_path / "n.jsonl", "\n".join(json.dumps(r) for r in [
        {"model": "a", "weaknesses": "too short"}, {"model": "b", "weaknesses": "too short"},
        {"model": "a", "weaknesses": "too short"}]) + "\n")
    res = ingest_file(store, p, source="n", overrides={"text": "weaknesses"})
    assert (res["added"], res["duplicates"]) == (2, 1)
    assert store.scalar("SELECT count(DISTINCT content_hash) FROM items") == 1


# ---------------------------------------------------------------- quarantine, one case each

def _quarantine(store):
    return store.rows("SELECT record_no, reason, raw FROM quarantine ORDER BY record_no")


def test_quarantine_no_text(store, tmp_path):
    p = _write(tmp_path / "q.csv", 'id,comment\n1,fine\n2,""\n3,   \n4,ok\n')
    res = ingest_file(store, p, source="q")
    assert (res["added"], res["quarantined"]) == (2, 2)
    q = _quarantine(store)
    assert [(r[0], r[1]) for r in q] == [(2, "no text"), (3, "no text")]
    assert '"id":2' in q[0][2]
    again = ingest_file(store, p, source="q")  # re-ingest: bad rows are reported but not recorded twice
    assert (again["added"], again["quarantined"]) == (0, 2) and _quarantine(store) == q


def test_quarantine_unparsable_timestamp(store, tmp_path):
    good = "".join(f"{i},2024-03-{i:02d},text {i}\n" for i in range(1, 20))
    p = _write(tmp_path / "q.csv", "id,created_at,comment\n" + good + "99,not a date,still text\n100,,no date given\n")
    res = ingest_file(store, p, source="q")
    assert res["quarantined"] == 1 and res["added"] == 20  # an empty timestamp is missing, not unparsable
    (rec, reason, raw), = _quarantine(store)
    assert reason == "unparsable timestamp" and "not a date" in raw and rec == 20


def test_quarantine_field_over_size_limit(store, tmp_path):
    p = _write(tmp_path / "q.csv", "id,comment,note\n1,short,ok\n2," + "x" * 500 + ",ok\n3,fine," + "y" * 500 + "\n")
    res = ingest_file(store, p, source="q", max_field_bytes=100)
    assert (res["added"], res["quarantined"]) == (1, 2)
    assert [r[1] for r in _quarantine(store)] == ["text over the size limit (100 bytes)",
                                                  "a field over the size limit (100 bytes)"]


def test_quarantine_broken_encoding_line(store, tmp_path):
    good = "id,comment\n1,caf\u00e9 au lait is great\n2,na\u00efve question\n".encode("utf-8")
    p = tmp_path / "q.csv"
    p.write_bytes(good + b"3,broken \xff\xfe bytes here\n4,fine again\n")
    res = ingest_file(store, p, source="q")
    assert (res["added"], res["quarantined"]) == (3, 1)
    (rec, reason, raw), = _quarantine(store)
    assert rec == 4 and "broken encoding" in reason and "\\xff\\xfe" in raw
    assert store.scalar("SELECT text FROM items WHERE external_id = '1'") == "caf\u00e9 au lait is great"


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_record_numbers_follow_the_file_across_row_groups(store, tmp_path, fmt):
    # CSV, Parquet and JSON Lines rows are numbered while DuckDB reads in parallel: numbers must still be file
    # positions past the first row groups, where parallel chunks are reassembled
    blank = {7, 150_001, 299_998}
    lines = "".join(f"{i},{'' if i in blank else f'review {i}'}\n" for i in range(1, 300_001))
    p = _write(tmp_path / "big.csv", "id,comment\n" + lines)
    if fmt == "parquet":
        import duckdb

        duckdb.sql(f"COPY (FROM read_csv('{p}')) TO '{tmp_path / 'big.parquet'}' "
                   "(FORMAT parquet, ROW_GROUP_SIZE 20000)")
        p = tmp_path / "big.parquet"
    if fmt == "jsonl":
        p = _write(tmp_path / "big.jsonl", "".join(
            json.dumps({"id": i, "comment": "" if i in blank else f"review {i}"}) + "\n" for i in range(1, 300_001)))
    res = ingest_file(store, p, source="big")
    assert (res["added"], res["quarantined"]) == (300_000 - len(blank), len(blank))
    assert [(r[0], r[1]) for r in _quarantine(store)] == [(n, "no text") for n in sorted(blank)]
    assert all(f'"id":{r[0]},' in r[2] for r in _quarantine(store))


def test_quarantine_malformed_json_lines(store, tmp_path):
    p = _write(tmp_path / "q.jsonl", '{"id": 1, "text": "good one"}\n{"id": 2, "text": "broken\n'
                                     '{"id": 3, "text": "good two"}\n[1, 2]\n')
    res = ingest_file(store, p, source="q")
    assert (res["added"], res["quarantined"]) == (2, 2)
    q = _quarantine(store)
    assert [r[0] for r in q] == [2, 4]
    assert "malformed JSON" in q[0][1] and '"broken' in q[0][2]


def test_quarantine_list_cli(db_path, tmp_path):
    p = _write(tmp_path / "q.csv", 'id,comment\n1,fine\n2,""\n')
    r = run_cli("ingest", p, "--source", "q", "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["quarantined"] == 1
    r = run_cli("quarantine", "list", "--json", db=db_path)
    rows = json.loads(r.stdout)
    assert [(x["source"], x["record_no"], x["reason"]) for x in rows] == [("q", 2, "no text")]


# ---------------------------------------------------------------- one transaction per file

class ExplodingLoader(Loader):
    """A test loader whose relation fails half-way through the file (DuckDB raises while reading row 3)."""

    name = "exploding"
    extensions = (".boom",)

    def load(self, con, path, options):
        rel = con.sql("SELECT i AS __record_no, 'text ' || i AS comment, CASE WHEN i = 3 THEN error('disk on fire') "
                      "ELSE i END AS id FROM range(1, 6) t(i)")
        return Loaded(relation=rel, loader=self.name)


@pytest.fixture
def exploding_loader():
    register_loader(ExplodingLoader())
    yield
    LOADERS.pop("exploding", None)


def test_loader_failing_mid_file_leaves_no_rows(store, tmp_path, exploding_loader):
    ingest_file(store, EXAMPLES / "tizard_forum_sentences.csv", source="ok")
    before = [store.scalar(f"SELECT count(*) FROM {t}") for t in ("items", "batches", "quarantine", "sources")]
    p = _write(tmp_path / "x.boom", "anything")
    with pytest.raises(Exception, match="disk on fire"):
        ingest_file(store, p, source="boom")
    after = [store.scalar(f"SELECT count(*) FROM {t}") for t in ("items", "batches", "quarantine", "sources")]
    assert after == before
    assert not store.table_exists("src_boom")


# ---------------------------------------------------------------- folders and globs

def test_folder_and_glob_one_batch_per_file(store, tmp_path):
    d = tmp_path / "exports"
    d.mkdir()
    _write(d / "jan.csv", "id,comment\n1,january one\n2,january two\n")
    _write(d / "feb.jsonl", '{"id": 3, "comment": "february"}\n')
    _write(d / "notes.md", "not feedback")
    res = ingest_paths(store, [d])
    assert [r["added"] for r in res] == [1, 2] and {r["source"] for r in res} == {"exports"}
    assert store.scalar("SELECT count(*) FROM batches") == 2
    res = ingest_paths(store, [str(d / "*.csv")], source="again")
    assert [r["path"].endswith("jan.csv") for r in res] == [True]


# ---------------------------------------------------------------- one-line errors, exit 2, nothing written

def _cases(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (tmp_path / "data.xyz").write_text("a,b\n1,2\n")
    (tmp_path / "nums.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "ok.csv").write_text("id,comment\n1,hello\n")
    return {
        "empty": ([tmp_path / "empty.csv"], "empty"),
        "missing": ([tmp_path / "nope.csv"], "no such file"),
        "binary": ([tmp_path / "bin.csv"], "binary"),
        "unknown format": ([tmp_path / "data.xyz"], "unknown file format"),
        "no text column": ([tmp_path / "nums.csv"], "no text column"),
        "missing --text column": ([tmp_path / "ok.csv", "--text", "review"], "no such column"),
        "one bad path among good": ([tmp_path / "ok.csv", tmp_path / "nope.csv"], "no such file"),
    }


@pytest.mark.slow
def test_bad_inputs_are_one_line_errors_with_exit_2_and_nothing_written(tmp_path):
    for name, (args, needle) in _cases(tmp_path).items():
        db = tmp_path / f"{name.replace(' ', '_')}.duckdb"
        r = run_cli("ingest", *args, db=db)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        err = r.stderr.strip()
        assert needle in err and "Traceback" not in err and len(err.splitlines()) == 1, (name, err)
        if db.exists():
            from earful.store import Store

            with Store(db, read_only=True) as s:
                assert s.scalar("SELECT count(*) FROM items") == 0, name
                assert s.scalar("SELECT count(*) FROM batches") == 0, name


def test_text_column_stored_once_survives_a_file_with_another_text_mapping(store, tmp_path):
    a = _write(tmp_path / "a.csv", "id,comment\n1,first comment\n2,second comment\n")
    b = _write(tmp_path / "b.csv", "id,comment,body\n3,a side note,the real text\n")
    ingest_file(store, a, source="mix")
    assert "comment" not in {c for (c,) in store.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'src_mix'")}  # text lives in items
    assert store.rows("SELECT comment, text FROM mix WHERE id = 1") == [("first comment", "first comment")]
    ingest_file(store, b, source="mix", overrides={"text": "body"})
    got = dict(store.rows("SELECT id, comment FROM mix ORDER BY id"))
    assert got == {1: "first comment", 2: "second comment", 3: "a side note"}
    assert store.scalar("SELECT text FROM mix WHERE id = 3") == "the real text"


def test_csv_with_line_breaks_inside_quoted_text(store, tmp_path):
    # review exports often carry multi-line text; DuckDB's parallel CSV reader refuses that with null_padding
    p = tmp_path / "multiline.csv"
    p.write_text('id,review,rating\n1,"line one\nline two",5\n2,plain,3\n3,"has ""quotes""\nand a break",1\n'
                 '4,,2\n', encoding="utf-8")
    res = ingest_file(store, p, source="ml")
    assert (res["added"], res["quarantined"]) == (3, 1)
    rows = store.rows("SELECT external_id, text FROM items WHERE source = 'ml' ORDER BY external_id")
    assert rows == [("1", "line one\nline two"), ("2", "plain"), ("3", 'has "quotes"\nand a break')]
    assert [(r[0], r[1]) for r in _quarantine(store)] == [(4, "no text")]


def _late_csv(path, late_rows: str):
    """A CSV whose first 30,000 rows are plain (nothing quoted, numbers in `rating`), so DuckDB's sniffer, which reads
    the first 20,480, sees nothing of what `late_rows` brings."""
    body = "".join(f"{i},{i % 5 + 1},review number {i}\n" for i in range(30000))
    path.write_text("id,rating,text\n" + body + late_rows + "30099,2,last\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("late, text, rating", [
    ('30000,3,"a, b and ""c"""\n', 'a, b and "c"', "3"),        # first quoted field: a comma and escaped quotes
    ('30000,3,"he said ""hi"""\n', 'he said "hi"', "3"),         # quoted, no comma: must not keep its quotes
    ('30000,3,"line one\nline two"\n', "line one\nline two", "3"),
    ("30000,five,a rating in words\n", "a rating in words", "five"),  # text in a column typed as numbers
])
def test_csv_format_changes_after_the_sniffed_sample(store, tmp_path, late, text, rating):
    res = ingest_file(store, _late_csv(tmp_path / "late.csv", late), source="late")
    assert (res["added"], res["quarantined"]) == (30002, 0)
    # a rating column that is not all numbers is kept as input_rating (`rating` is Earful's number; ingest/columns.py)
    own = "input_rating" if store.rows("SELECT 1 FROM information_schema.columns WHERE table_name = 'late' AND "
                                       "column_name = 'input_rating'") else "rating"
    assert store.rows(f"SELECT text, CAST({own} AS VARCHAR) FROM late WHERE CAST(id AS VARCHAR) = '30000'") == \
        [(text, rating)]
    assert store.scalar("SELECT text FROM late WHERE CAST(id AS VARCHAR) = '30099'") == "last"


def test_csv_row_that_fits_no_format_is_quarantined_after_the_sample(store, tmp_path):
    res = ingest_file(store, _late_csv(tmp_path / "late.csv", "30000,3,text,one field too many\n"), source="late")
    assert (res["added"], res["quarantined"]) == (30001, 1)
    assert any("20,480" in w and "1 line(s)" in w for w in res["warnings"])
    (line, reason, raw), = _quarantine(store)
    assert (line, raw) == (30002, "30000,3,text,one field too many") and "too many columns" in reason
    assert store.scalar("SELECT count(*) FROM late WHERE text = 'last'") == 1
