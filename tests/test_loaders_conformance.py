"""One conformance suite over the ingest registries: every registered loader and every export profile.

Registering a loader or profile without adding a sample here makes `test_every_*_has_a_sample` fail, so a new
implementation is tested by registering it. Each loader sample holds the same five reviews (tests/data/reviews.csv)
written in that loader's format and its variants (encodings, delimiters, records key, gzip).
"""
from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import EXAMPLES, TEST_DATA

from earful.ingest.base import LOADERS, PROFILES
from earful.ingest.pipeline import ingest_file

ROWS = list(csv.DictReader((TEST_DATA / "reviews.csv").open(encoding="utf-8")))


def _csv_text(delim=",") -> str:
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ROWS[0]), delimiter=delim, lineterminator="\n")
    w.writeheader()
    w.writerows(ROWS)
    return buf.getvalue()


def _records():
    return [{**r, "stars": int(r["stars"])} for r in ROWS]


def w_csv(d):
    (d / "r.csv").write_text(_csv_text(), encoding="utf-8")
    return d / "r.csv"


def w_tsv(d):
    (d / "r.tsv").write_text(_csv_text("\t"), encoding="utf-8")
    return d / "r.tsv"


def w_semicolon(d):
    (d / "r_semi.csv").write_text(_csv_text(";"), encoding="utf-8")
    return d / "r_semi.csv"


def w_bom(d):
    (d / "r_bom.csv").write_bytes(b"\xef\xbb\xbf" + _csv_text().encode("utf-8"))
    return d / "r_bom.csv"


def w_utf16(d):
    (d / "r_utf16.csv").write_bytes(_csv_text().encode("utf-16"))
    return d / "r_utf16.csv"


def w_cp1252(d):
    (d / "r_cp1252.csv").write_bytes(_csv_text().encode("cp1252"))
    return d / "r_cp1252.csv"


def w_csv_gz(d):
    with gzip.open(d / "r.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(_csv_text())
    return d / "r.csv.gz"


def w_json_array(d):
    (d / "r.json").write_text(json.dumps(_records()), encoding="utf-8")
    return d / "r.json"


def w_json_records_key(d):
    (d / "r_wrapped.json").write_text(json.dumps({"count": 5, "records": _records(), "next": None}),
                                      encoding="utf-8")
    return d / "r_wrapped.json"


def w_jsonl(d):
    (d / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    return d / "r.jsonl"


def w_jsonl_gz(d):
    with gzip.open(d / "r.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in _records()))
    return d / "r.jsonl.gz"


def w_parquet(d):
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs = _records()
    pq.write_table(pa.table({k: [r[k] for r in recs] for k in recs[0]}), d / "r.parquet")
    return d / "r.parquet"


def w_xlsx(d):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(ROWS[0]))
    for r in _records():
        row = dict(r, submitted=datetime.strptime(r["submitted"], "%Y-%m-%d %H:%M:%S"))
        ws.append(list(row.values()))
    wb.save(d / "r.xlsx")
    return d / "r.xlsx"


# loader name -> writers of the same five records in that loader's format (one per variant it must handle)
SAMPLES = {
    "csv": [w_csv, w_tsv, w_semicolon, w_bom, w_utf16, w_cp1252, w_csv_gz],
    "json": [w_json_array, w_json_records_key, w_jsonl, w_jsonl_gz],
    "parquet": [w_parquet],
    "xlsx": [w_xlsx],
}
CASES = [(name, w) for name in sorted(LOADERS) for w in SAMPLES.get(name, [None])]


def test_every_loader_has_a_sample():
    missing = sorted(set(LOADERS) - set(SAMPLES))
    assert not missing, f"registered loaders without a conformance sample: {missing}"


@pytest.mark.parametrize("loader,writer", CASES, ids=[f"{n}-{w.__name__ if w else 'missing'}" for n, w in CASES])
def test_loader_conformance(store, tmp_path, loader, writer):
    if writer is None:
        pytest.fail(f"loader {loader} has no sample in SAMPLES")
    path = writer(tmp_path)
    res = ingest_file(store, path, source="rev")
    assert res["loader"] == loader
    assert (res["added"], res["duplicates"], res["quarantined"]) == (5, 0, 0)
    d = res["detection"]
    assert (d["text"], d["time"], d["rating"], d["id"], d["author"]) == \
        ("comment", "submitted", "stars", "review_id", "user_name")
    got = {r[0]: r[1:] for r in store.rows("SELECT external_id, text, created_at, rating, author FROM items")}
    for r in ROWS:
        text, created, rating, author = got[r["review_id"]]
        assert text == r["comment"]  # verbatim, accents included, whatever the encoding
        assert created == datetime.strptime(r["submitted"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert rating == float(r["stars"]) and author == r["user_name"]
    # the view keeps every original column next to the canonical ones
    view_cols = [c for c, *_ in store.rows("DESCRIBE rev")]
    assert set(ROWS[0]) <= set(view_cols) and "created_at" in view_cols
    assert store.scalar("SELECT count(*) FROM rev WHERE user_level = 'gold'") == 2
    if writer is w_cp1252:
        assert res["encoding"] == "cp1252" and any("not UTF-8" in w for w in res["warnings"])
    again = ingest_file(store, path, source="rev")
    assert (again["added"], again["duplicates"]) == (0, 5)


# profile name -> (fixture file, expected row count, a text the joined/selected text must contain[, the encoding the
# export really comes in: the UTF-8 fixture is written in it first])
PROFILE_SAMPLES = {
    "google_play": ("google_play_reviews.csv", 3, "Super\n\nEndlich eine Notiz-App", "utf-16"),  # Play Console
    "app_store": ("app_store_reviews.csv", 3, "Subscription trap\n\nCharged twice"),
    "app_store_api": ("app_store_connect_api.json", 3, "Subscription trap\n\nCharged twice"),
    "zendesk": ("zendesk_tickets.json", 3, "Cannot reset password\n\nThe reset email never arrives"),
    "github_issues": ("github_issues.json", 3, "Crash when opening large CSV\n\nSteps: open a 2 GB CSV"),
    "openreview": ("openreview_reviews.jsonl", 3, "the ablations are missing"),
    "peer_review": ("peer_reviews.jsonl", 3, "The novelty is limited"),
    "llm_critique": ("llm_critiques.jsonl", 3, "omits the decisions and action items"),
    "wildbench": (str(EXAMPLES / "wildbench_critiques_sample.jsonl"), 1000, "The response does not provide"),
}


def test_every_profile_has_a_sample():
    missing = sorted(set(PROFILES) - set(PROFILE_SAMPLES))
    assert not missing, f"registered profiles without a conformance sample: {missing}"


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_conformance(store, tmp_path, name):
    if name not in PROFILE_SAMPLES:
        pytest.fail(f"profile {name} has no sample in PROFILE_SAMPLES")
    file, n, needle, *encoding = PROFILE_SAMPLES[name]
    path = Path(file) if Path(file).is_absolute() else TEST_DATA / file
    if encoding:
        path = tmp_path / path.name
        path.write_bytes((TEST_DATA / file).read_text(encoding="utf-8").encode(encoding[0]))
    res = ingest_file(store, path, source="fb")  # no --profile: it must be detected from the columns
    assert res["profile"] == name
    assert (res["added"], res["quarantined"]) == (n, 0)
    prof = PROFILES[name]
    for key, canon in (("time", "created_at"), ("rating", "rating"), ("id", "external_id"), ("author", "author")):
        if getattr(prof, key):
            assert store.scalar(f"SELECT count(*) FROM items WHERE {canon} IS NULL") == 0, f"{key} missing"
    assert store.scalar("SELECT count(*) FROM items WHERE strpos(text, ?) > 0", [needle]) >= 1
    # every top-level original field is a column of the view
    raw = store.rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'src_fb'")
    view_cols = {c for c, *_ in store.rows("DESCRIBE fb")}
    assert {c for (c,) in raw} - {"item_id"} <= view_cols
