"""Ingest defects of the Trust issue: nothing lost, nothing shadowed, real exports recognised.

Each test drives the real `earful` CLI (or `ingest_file` where the case is internal) on a real DuckDB file in tmp_path,
checks the result with SQL, and checks that every record is accounted for: rows in == added + duplicates + quarantined.
"""
from __future__ import annotations

import gzip
import json
import zlib

import duckdb
import pytest
from conftest import TEST_DATA, assert_accounted, run_cli
from conftest import ingest_json as _ingest
from conftest import sql_rows as _sql


def _cli(db, *args) -> str:
    res = run_cli(*args, db=db)
    assert res.returncode == 0, res.stderr + res.stdout
    return res.stdout


def _columns(db, view: str) -> list[str]:
    return [r[0] for r in _sql(db, f'DESCRIBE "{view}"')]


# --- 1. a text column named `text`, and input columns named like Earful's own -----------------------------------------

@pytest.mark.slow
def test_reingest_and_a_second_file_keep_a_column_named_text(tmp_path):
    db = tmp_path / "w.duckdb"
    a = tmp_path / "a.csv"
    a.write_text("text,stars\nfirst row here,5\nsecond one,3\n")
    b = tmp_path / "b.csv"
    b.write_text("text,stars\nthird row,2\n")
    assert_accounted(_ingest(db, str(a), "--source", "s"), 2)
    again = _ingest(db, str(a), str(b), "--source", "s")
    assert [(r["added"], r["duplicates"]) for r in again] == [(0, 2), (1, 0)]
    assert_accounted(again, 3)
    assert _sql(db, "SELECT text FROM s ORDER BY text") == [("first row here",), ("second one",), ("third row",)]
    assert _sql(db, "SELECT count(*) FROM s WHERE text ILIKE '%row%'") == [(2,)]
    reply = json.loads(_cli(db, "ask", "--json", 'How many reviews mention "row"?'))
    assert reply["tables"][0]["rows"] == [[2]]


@pytest.mark.slow
def test_a_folder_of_two_csvs_ingested_twice_keeps_text(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = tmp_path / "reviews"
    folder.mkdir()
    (folder / "jan.csv").write_text("text,stars\nrow one,5\nrow two,4\n")
    (folder / "feb.csv").write_text("text,stars\nrow three,1\n")
    assert_accounted(_ingest(db, str(folder)), 3)
    second = _ingest(db, str(folder))
    assert sum(r["duplicates"] for r in second) == 3
    assert_accounted(second, 3)
    assert _sql(db, "SELECT count(*), count(text) FROM reviews") == [(3, 3)]


def test_a_hive_partitioned_parquet_folder_keeps_text(tmp_path):
    db = tmp_path / "w.duckdb"
    folder = tmp_path / "hive"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM (VALUES ('first row', 5, 2023), ('second row', 4, 2024), ('third', 1, 2024)) "
                f"t(text, stars, year)) TO '{folder}' (FORMAT parquet, PARTITION_BY (year))")
    con.close()
    results = _ingest(db, str(folder))
    assert len(results) == 2
    assert_accounted(results, 3)
    assert _sql(db, "SELECT text, year FROM hive ORDER BY text") == \
        [("first row", 2023), ("second row", 2024), ("third", 2024)]


def test_input_columns_named_like_earfuls_own_are_kept_and_said(tmp_path):
    """item_id, created_at (as text), rating (as text), topic and a taxonomy's name, all in one file: each is kept
    under input_<name> (the summary says so) and Earful's own column keeps its name and meaning."""
    db = tmp_path / "w.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("text,stars\nanything,5\n")
    _ingest(db, str(first))
    # a taxonomy named `sentiment` exists in the workspace (labels written where `earful classify run` writes them)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO classify_labels (item_id, taxonomy, label, method) SELECT item_id, 'sentiment', 'pos', "
                "'gold' FROM items")
    con.close()
    p = tmp_path / "clash.csv"
    p.write_text("item_id,text,created_at,rating,author,topic,sentiment\n"
                 "a1,row one,16/02/26,5 stars,al,billing,angry\n"
                 "a2,row two,31/12/15,4 stars,bo,login,calm\n")
    res, = _ingest(db, str(p))
    assert (res["added"], res["quarantined"]) == (2, 0)
    renamed = {"item_id", "created_at", "rating", "topic", "sentiment"}
    for name in renamed:
        assert any(f"'{name}' is kept as 'input_{name}'" in w for w in res["warnings"]), res["warnings"]
    cols = _columns(db, "clash")
    assert {f"input_{n}" for n in renamed} <= set(cols)
    rows = _sql(db, "SELECT input_item_id, text, input_created_at, created_at::DATE::VARCHAR, input_rating, rating, "
                    "author, input_topic, input_sentiment FROM clash ORDER BY input_item_id")
    assert rows == [("a1", "row one", "16/02/26", "2026-02-16", "5 stars", 5.0, "al", "billing", "angry"),
                    ("a2", "row two", "31/12/15", "2015-12-31", "4 stars", 4.0, "bo", "login", "calm")]
    # Earful's own columns are not shadowed: item_id joins items, topic/topic_id are the topic stage's
    assert _sql(db, "SELECT count(*) FROM clash c JOIN items i ON i.item_id = c.item_id AND i.source = 'clash'") == \
        [(2,)]
    assert _sql(db, "SELECT count(topic) FROM clash") == [(0,)]
    # re-ingest: all duplicates, nothing blanked
    again, = _ingest(db, str(p))
    assert (again["added"], again["duplicates"]) == (0, 2)
    assert _sql(db, "SELECT input_item_id, text, input_rating FROM clash ORDER BY 1") == \
        [("a1", "row one", "5 stars"), ("a2", "row two", "4 stars")]


def test_input_columns_that_are_earfuls_values_keep_their_names(store, tmp_path):
    """A numeric `rating`, a typed `created_at`, a text `author` and the `text` itself mean what Earful's columns
    mean: they keep their names, so the common case is unchanged. (A CSV's `created_at` is text, so it is kept as
    input_created_at and `created_at` is the parsed time, as the test above shows.)"""
    from earful.ingest.pipeline import ingest_file

    p = tmp_path / "ok.parquet"
    duckdb.sql(f"COPY (SELECT * FROM (VALUES ('row one', TIMESTAMP '2024-01-02 10:00:00', 5, 'al'), ('row two', "
               f"TIMESTAMP '2024-01-03 11:00:00', 3, 'bo')) t(text, created_at, rating, author)) TO '{p}'")
    res = ingest_file(store, p, source="ok")
    assert not res["warnings"] and res["added"] == 2
    cols = [r[0] for r in store.rows("DESCRIBE ok")]
    assert not [c for c in cols if c.startswith("input_")]
    assert store.rows("SELECT text, created_at::VARCHAR, rating, author FROM ok ORDER BY text") == \
        [("row one", "2024-01-02 10:00:00", 5, "al"), ("row two", "2024-01-03 11:00:00", 3, "bo")]


def test_an_earlier_files_column_moves_when_a_later_file_breaks_its_meaning(store, tmp_path):
    """File 1's numeric `rating` is Earful's rating; file 2's is words: from then on `rating` is Earful's number for
    every row and both files' own values are in input_rating."""
    from earful.ingest.pipeline import ingest_file

    a = tmp_path / "a.csv"
    a.write_text("text,rating\nrow one,5\nrow two,3\n")
    b = tmp_path / "b.csv"
    b.write_text("text,rating\nrow three,2 stars\n")
    ingest_file(store, a, source="s")
    res = ingest_file(store, b, source="s")
    assert any("'rating' of the earlier files of 's' is now 'input_rating'" in w for w in res["warnings"])
    assert store.rows("SELECT text, rating, CAST(input_rating AS VARCHAR) FROM s ORDER BY text") == \
        [("row one", 5.0, "5"), ("row three", 2.0, "2 stars"), ("row two", 3.0, "3")]
    assert "rating" not in [r[0] for r in store.rows("DESCRIBE src_s")]


def test_a_later_file_mapping_text_elsewhere_keeps_the_first_files_text_column(store, tmp_path):
    from earful.ingest.pipeline import ingest_file

    a = tmp_path / "a.csv"
    a.write_text("text,stars\nrow one,5\n")
    b = tmp_path / "b.csv"
    b.write_text("text,body\nshort tag,the real review body\n")
    ingest_file(store, a, source="s")
    res = ingest_file(store, b, source="s", overrides={"text": "body"})
    assert res["added"] == 1
    assert store.rows("SELECT text, input_text FROM s ORDER BY text") == [("row one", "row one"),
                                                                          ("the real review body", "short tag")]


# --- 2. real export formats -------------------------------------------------------------------------------------------

def test_google_play_export_with_empty_review_links(tmp_path):
    db = tmp_path / "w.duckdb"
    p = tmp_path / "reviews_com.example.notes_202402.csv"
    p.write_bytes((TEST_DATA / "google_play_reviews_no_links.csv").read_text(encoding="utf-8").encode("utf-16"))
    res, = _ingest(db, str(p), "--source", "play")
    assert (res["profile"], res["encoding"], res["added"], res["quarantined"]) == ("google_play", "utf-16", 4, 0)
    assert _sql(db, "SELECT count(*), count(DISTINCT item_id), count(external_id), count(created_at) FROM items") == \
        [(4, 4, 1, 4)]
    assert _sql(db, "SELECT rating FROM play ORDER BY created_at") == [(2.0,), (5.0,), (4.0,), (1.0,)]
    again, = _ingest(db, str(p), "--source", "play")
    assert (again["added"], again["duplicates"]) == (0, 4)


def test_app_store_connect_api_json_is_recognised_with_its_rating(tmp_path):
    db = tmp_path / "w.duckdb"
    res, = _ingest(db, str(TEST_DATA / "app_store_connect_api.json"), "--source", "appstore")
    assert (res["profile"], res["added"]) == ("app_store_api", 3)
    assert res["detection"]["rating"] == "attributes.rating"
    assert _sql(db, "SELECT rating, author, created_at::VARCHAR, text FROM appstore ORDER BY rating") == [
        (1.0, "jmk88", "2024-01-21 13:00:00+00",
         "Subscription trap\n\nCharged twice and no way to cancel from the app."),
        (3.0, "lou", "2024-01-23 07:59:59+00", "Okay\n\nNice design; sync with iPad is flaky."),
        (5.0, "skywalker", "2024-01-20 18:11:12+00", "Finally!\n\nOffline mode works on the plane, thank you.")]
    assert _sql(db, "SELECT attributes.territory FROM appstore ORDER BY rating") == [("GBR",), ("CAN",), ("USA",)]


# --- 3-6. bad rows are quarantined, the rest of the file is read ------------------------------------------------------

def test_explicit_time_column_quarantines_the_values_that_do_not_parse(tmp_path):
    db = tmp_path / "w.duckdb"
    p = tmp_path / "t.csv"
    rows = [f"review {i},2024-01-{i:02d}" for i in range(1, 9)] + ["review 9,not a date", "review 10,soon"]
    p.write_text("comment,when\n" + "\n".join(rows) + "\n")
    res, = _ingest(db, str(p), "--time", "when")
    assert (res["added"], res["quarantined"]) == (8, 2)
    assert any(w.startswith("2 row(s) whose 'when' does not parse") for w in res["warnings"]), res["warnings"]
    assert_accounted([res], 10)
    assert _sql(db, "SELECT reason, count(*) FROM quarantine GROUP BY 1") == [("unparsable timestamp", 2)]
    assert _sql(db, "SELECT count(created_at) FROM t") == [(8,)]


def test_explicit_time_column_that_is_not_a_time_is_still_refused(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("comment,when\n" + "\n".join(f"review {i},soon" for i in range(5)) + "\nreview,2024-01-01\n")
    res = run_cli("ingest", str(p), "--time", "when", db=tmp_path / "w.duckdb")
    assert res.returncode == 2 and "does not look like a timestamp" in res.stderr + res.stdout


@pytest.mark.slow
@pytest.mark.parametrize("before", [0, 25_000], ids=["in-the-sample", "after-the-sample"])
def test_a_10_mb_csv_field_quarantines_its_line_not_the_file(tmp_path, before):
    db = tmp_path / "w.duckdb"
    p = tmp_path / "big.csv"
    with p.open("w") as f:
        f.write("id,comment,note\n")
        f.writelines(f"{i},review {i},ok\n" for i in range(before))
        f.write(f'{before},huge,"{"x" * (10 * 1024 * 1024)}"\n')
        f.write(f"{before + 1},after the big one,ok\n")
    res, = _ingest(db, str(p))
    assert (res["added"], res["quarantined"]) == (before + 1, 1)
    assert_accounted([res], before + 2)
    (reason, raw), = _sql(db, "SELECT reason, raw FROM quarantine")
    assert "ingest.max_field_bytes" in reason and raw.startswith(f"{before},huge,")
    assert _sql(db, "SELECT text FROM big WHERE id = ?", [before + 1]) == [("after the big one",)]


def test_a_truncated_jsonl_gz_keeps_what_was_read_and_quarantines_the_tail(tmp_path):
    db = tmp_path / "w.duckdb"
    lines = b"".join(json.dumps({"id": i, "text": f"review number {i} " + "words " * 20}).encode() + b"\n"
                     for i in range(3000))
    packed = gzip.compress(lines)
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(packed[: len(packed) * 2 // 3])
    readable = zlib.decompressobj(wbits=31).decompress(p.read_bytes())
    complete = readable.count(b"\n")
    assert 0 < complete < 3000
    res, = _ingest(db, str(p))
    assert (res["added"], res["quarantined"]) == (complete, 1)
    assert_accounted([res], complete + 1)  # the complete lines and the cut one
    assert any("truncated" in w for w in res["warnings"])
    (reason, raw), = _sql(db, "SELECT reason, raw FROM quarantine")
    assert reason.startswith("truncated") and readable.endswith(raw.encode())
    assert _sql(db, "SELECT min(id), max(id) FROM cut") == [(0, complete - 1)]


def test_jsonl_with_an_empty_key_or_a_nul_in_a_key_is_read_as_records(tmp_path):
    db = tmp_path / "w.duckdb"
    p = tmp_path / "odd.jsonl"
    p.write_text('{"": 1, "text": "x"}\n{"a\\u0000b": 2, "text": "y"}\n{"text": "z"}\n')
    res, = _ingest(db, str(p))
    assert (res["added"], res["quarantined"]) == (3, 0)
    assert_accounted([res], 3)
    assert any("empty_key" in w and "a_b" in w for w in res["warnings"])
    assert _sql(db, "SELECT text, empty_key, a_b FROM odd ORDER BY text") == [("x", 1, None), ("y", None, 2),
                                                                             ("z", None, None)]
