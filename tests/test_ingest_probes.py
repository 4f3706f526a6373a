"""Ingest defects found by a black-box tester: odd CSV lines inside the sniffed sample, GitHub's REST API issue
export, and a survey export with both a start and a submit date.

Each test drives the real `earful` CLI on a real DuckDB file in tmp_path, checks the result with SQL, and checks that
every record is accounted for: rows in == added + duplicates + quarantined.
"""
from __future__ import annotations

import pytest
from conftest import TEST_DATA, assert_accounted
from conftest import ingest_json as _ingest
from conftest import sql_rows as _sql


def _columns(db, table: str) -> list[str]:
    return [r[0] for r in _sql(db, f'DESCRIBE "{table}"')]


# --- 1. a CSV line with more fields than the header, inside the sniffed sample ----------------------------------------

EXTRA = "id,review,rating\n1,first fine,5\n2,second fine,4\n3,has,extra,field,3\n4,fourth fine,2\n"


@pytest.mark.slow
def test_a_line_with_too_many_fields_is_quarantined_and_the_header_defines_the_columns(tmp_path):
    db, p = tmp_path / "w.duckdb", tmp_path / "extra.csv"
    p.write_text(EXTRA)
    (res,) = _ingest(db, str(p), "--text", "review", "--source", "s")
    assert_accounted([res], 4)
    assert (res["added"], res["quarantined"]) == (3, 1)
    assert res["detection"]["rating"] == "rating"
    assert any("more fields than the header" in w for w in res["warnings"])
    # no columns invented from the odd line; `rating` is the numeric rating of every row
    assert [c for c in _columns(db, "src_s") if c.startswith(("column", "input_"))] == []
    assert _sql(db, "SELECT text, rating FROM s ORDER BY id") == [("first fine", 5.0), ("second fine", 4.0),
                                                                  ("fourth fine", 2.0)]
    assert _sql(db, "SELECT data_type FROM information_schema.columns WHERE table_name = 'src_s' "
                    "AND column_name = 'rating'") == [("BIGINT",)]
    assert _sql(db, "SELECT record_no, raw, reason FROM quarantine") == [
        (4, "3,has,extra,field,3", "too many columns: 5 fields, header has 3")]
    # re-ingesting the file records nothing twice
    (again,) = _ingest(db, str(p), "--text", "review", "--source", "s")
    assert (again["added"], again["duplicates"], again["quarantined"]) == (0, 3, 1)
    assert _sql(db, "SELECT count(*) FROM quarantine") == [(1,)]


def test_a_line_with_fewer_fields_keeps_the_missing_trailing_fields_as_null(tmp_path):
    db, p = tmp_path / "w.duckdb", tmp_path / "short.csv"
    p.write_text("id,review,rating\n1,first fine,5\n2,no rating given\n3,has,extra,field,3\n4,fourth fine,2\n")
    (res,) = _ingest(db, str(p), "--text", "review", "--source", "s")
    assert_accounted([res], 4)
    assert (res["added"], res["quarantined"]) == (3, 1)
    assert _sql(db, "SELECT text, rating FROM s ORDER BY id") == [("first fine", 5.0), ("no rating given", None),
                                                                  ("fourth fine", 2.0)]


def test_trailing_delimiters_on_every_line_are_not_quarantined(tmp_path):
    # an export that ends each data line with a delimiter has one more (always empty) field than its header:
    # nothing there is data in the wrong place, so every row is kept
    db, p = tmp_path / "w.duckdb", tmp_path / "trail.csv"
    p.write_text("id,review,rating\n1,first fine,5,\n2,second fine,4,\n3,third fine,3,\n")
    (res,) = _ingest(db, str(p), "--text", "review", "--source", "s")
    assert (res["added"], res["quarantined"]) == (3, 0)
    assert _sql(db, "SELECT text, rating FROM s ORDER BY id") == [("first fine", 5.0), ("second fine", 4.0),
                                                                  ("third fine", 3.0)]


# --- 2. GitHub issues from the REST API (user.login, created_at, html_url; body may be null or empty) -----------------

def test_github_rest_api_issues_are_recognised(tmp_path):
    db = tmp_path / "w.duckdb"
    (res,) = _ingest(db, str(TEST_DATA / "github_issues_rest.json"), "--source", "gh")
    assert_accounted([res], 3)
    assert res["profile"] == "github_issues"
    assert (res["added"], res["quarantined"]) == (3, 0)
    det = res["detection"]
    assert (det["time"], det["author"], det["id"]) == ("created_at", "user.login", "html_url")
    assert _sql(db, "SELECT external_id, author, text, created_at = TIMESTAMPTZ '2024-06-04 14:02:11+00' "
                    "FROM items ORDER BY external_id") == [
        ("https://github.com/example/app/issues/2201", "octocat",
         "Export button does nothing on Safari\n\nClicking Export on Safari 17 shows no dialog and no file is saved.",
         False),
        ("https://github.com/example/app/issues/2202", "mona", "Please add a keyboard shortcut for search", True),
        ("https://github.com/example/app/issues/2203", "hubot", "Dark mode colours are hard to read", False)]


def test_github_cli_issues_keep_their_mapping(tmp_path):
    db = tmp_path / "w.duckdb"
    (res,) = _ingest(db, str(TEST_DATA / "github_issues.json"), "--source", "gh")
    assert res["profile"] == "github_issues" and (res["added"], res["quarantined"]) == (3, 0)
    det = res["detection"]
    assert (det["time"], det["author"], det["id"]) == ("createdAt", "author.login", "number")


# --- 3. a survey export with a start and a submit date: the item's time is when it was submitted ----------------------

def test_typeform_export_is_dated_by_its_submit_date(tmp_path):
    db = tmp_path / "w.duckdb"
    (res,) = _ingest(db, str(TEST_DATA / "typeform_responses.csv"), "--source", "tf")
    assert_accounted([res], 3)
    det = res["detection"]
    assert det["time"] == "Submit Date (UTC)"
    assert det["text"] == "What is the main reason for your score?"
    assert _sql(db, "SELECT strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') FROM items "
                    "ORDER BY created_at") == [("2024-03-01 09:04:05",), ("2024-03-03 07:15:44",),
                                               ("2024-03-04 12:02:59",)]


def test_time_columns_rank_by_what_dates_an_item(tmp_path):
    from earful.ingest.detect import TIME_PREFERENCE, time_rank

    # the ranking is data: submit before created before posted ... before updated before start
    order = ["Submit Date", "Created Date", "Posted Date", "Review Date", "Last Updated Date", "Start Date"]
    assert sorted(order[::-1], key=time_rank) == order
    assert any("start" in group for group in TIME_PREFERENCE)


def test_a_survey_respondents_second_answer_is_not_merged_by_an_other_entity_id(tmp_path):
    """A Typeform export's `Network ID` is unique in one file, but it names the respondent's network, not the answer:
    taken as the dedupe key, a repeat respondent's next answer was silently dropped as a duplicate."""
    import csv

    db = tmp_path / "w.duckdb"
    with open(TEST_DATA / "typeform_responses.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, first = rows[0], rows[1]
    again = list(first)
    again[header.index("#")] = "z9z9z9z9z9z9z9z9z9z9z9z9"
    again[header.index("What is the main reason for your score?")] = "Second answer: the new sync is much better."
    again[header.index("Submit Date (UTC)")] = "2024-04-01 10:00:00"
    later = tmp_path / "later.csv"
    with open(later, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, again])
    (res,) = _ingest(db, str(TEST_DATA / "typeform_responses.csv"), "--source", "tf")
    assert res["detection"]["id"] == "#"
    (res2,) = _ingest(db, str(later), "--source", "tf")
    assert_accounted([res2], 1)
    assert res2["added"] == 1, res2
    assert _sql(db, "SELECT count(*) FROM items WHERE text LIKE 'Second answer%'") == [(1,)]


def test_id_named_columns_of_other_entities_are_not_dedupe_keys():
    from earful.ingest.detect import likely_id

    assert likely_id(["Network ID", "text"]) is None
    assert likely_id(["user_id", "app_id", "comment"]) is None
    assert likely_id(["review_id", "user_id", "text"]) == "review_id"
    assert likely_id(["#", "Network ID", "answer"]) == "#"
