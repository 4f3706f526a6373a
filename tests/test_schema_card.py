"""The schema card over a real workspace: kinds, vocabularies, ranges, the cache and the prompt text."""
from __future__ import annotations

import csv
import os
from collections import Counter

from tests.conftest import EXAMPLES

TIZ = EXAMPLES / "tizard_forum_sentences.csv"


def _workspace(store):
    from earful.ingest.pipeline import ingest_file

    ingest_file(store, TIZ, source="forum", overrides={"text": "sentence"})
    return str(store.path) if hasattr(store, "path") else None


def test_card_describes_columns_and_vocabularies(store, db_path):
    from earful.qa_agent.schema_card import build_schema_card

    _workspace(store)
    store.close()
    rows = list(csv.DictReader(open(TIZ, encoding="utf-8")))
    card = build_schema_card(str(db_path), use_cache=False)
    v = card.view("forum")
    assert v is not None and v.rows == len(rows)
    product = v.column("product")
    assert product.kind == "category"
    assert dict((a, b) for a, b in product.values) == dict(Counter(r["product"] for r in rows))
    assert v.column("sentence").kind == "text" and v.column("text").kind == "text"
    assert v.column("id").kind == "id"
    assert v.column("label").distinct == len({r["label"] for r in rows})
    assert v.column("created_at").kind == "empty"          # this source has no dates
    prompt = card.to_prompt()
    assert "VIEW forum" in prompt and "'VLC'" in prompt and "created_at" not in prompt


def test_card_numeric_and_time_ranges(store, db_path):
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent.schema_card import build_schema_card

    ingest_file(store, EXAMPLES / "urr_app_reviews.csv", source="reviews")
    store.close()
    rows = [r for r in csv.DictReader(open(EXAMPLES / "urr_app_reviews.csv", encoding="utf-8"))
            if r["review_text"].strip()]
    v = build_schema_card(str(db_path), use_cache=False).view("reviews")
    rating = v.column("rating")
    assert rating.kind == "numeric" and (rating.min, rating.max) == (1, 5)
    assert v.time_column == "created_at"
    years = sorted(2000 + int(r["date"].split("/")[2]) for r in rows)
    assert str(v.column("created_at").min).startswith(str(years[0]))
    assert str(v.column("created_at").max).startswith(str(years[-1]))


def test_card_is_cached_until_the_file_changes(store, db_path):
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent import schema_card

    _workspace(store)
    store.close()
    first = schema_card.build_schema_card(str(db_path))
    side = schema_card._sidecar(str(db_path))
    assert side.exists()
    schema_card._MEMO.clear()
    again = schema_card.build_schema_card(str(db_path))           # from the JSON sidecar
    assert again.to_dict() == first.to_dict()
    from earful.store import Store

    s = Store(db_path)
    ingest_file(s, EXAMPLES / "urr_app_reviews.csv", source="reviews")
    s.close()
    os.utime(db_path)
    changed = schema_card.build_schema_card(str(db_path))
    assert {x.name for x in changed.views} == {"forum", "reviews"}
    # a long-running server sees a write after every saved turn: the memo keeps one card per workspace, not one
    # per state of the file (it grew without bound)
    for _ in range(3):
        Store(db_path).close()
        os.utime(db_path, ns=(os.stat(db_path).st_mtime_ns + 10**9,) * 2)
        schema_card.build_schema_card(str(db_path))
    assert len(schema_card._MEMO) == 1


def test_prompt_lists_only_short_labels(store, db_path, tmp_path):
    """App Store / Zendesk shapes on a small source: few distinct bodies, descriptions and nicknames (each under the
    old 'category' bound) stay off the prompt; short labels (territory, priority) stay on it."""
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent.schema_card import build_schema_card

    body = ["The app crashes whenever I open the camera on my phone, every single time.",
            "Love it, but the sync with my laptop is slow and sometimes loses notes.",
            "Worst update ever: all my saved playlists are gone and support never answered."]
    path = tmp_path / "appstore.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "body", "reviewerNickname", "territory", "priority", "description", "rating"])
        for i in range(12):
            w.writerow([f"a{i}", f"Title {i % 3}", body[i % 3], ["mia_k", "joe77"][i % 2], ["USA", "GBR"][i % 2],
                        ["low", "high"][i % 2], "Customer writes: " + body[(i + 1) % 3], 1 + i % 5])
    ingest_file(store, path, source="appstore")
    store.close()
    card = build_schema_card(str(db_path), use_cache=False)
    prompt = card.to_prompt()
    v = card.view("appstore")
    assert v.column("body").values and v.column("reviewerNickname").values      # still known locally
    for col in ("title", "body", "reviewerNickname", "description", "id"):
        assert not v.column(col).shareable, col
    assert "'USA'" in prompt and "'high'" in prompt
    for secret in ("crashes", "sync with my laptop", "mia_k", "joe77", "Title 1", "Customer writes"):
        assert secret not in prompt, secret
