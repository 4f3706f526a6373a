"""Mentions: sentence and clause segmentation with exact offsets, stored per item, rerunnable without duplicates.

The segmentation rules are proven by a corpus of inputs and their expected mentions (including texts that must not
be cut); the stage runs on real URR reviews in a real DuckDB workspace.
"""
from __future__ import annotations

import pytest

from tests.conftest import sql_rows, urr_sample

# (text, expected mentions in order): the corpus of the segmentation rules, with must-not-cut cases.
CORPUS = [
    ("Good game, but ridiculously hard", ["Good game", "but ridiculously hard"]),
    ("Great app except for the ads.", ["Great app", "except for the ads."]),
    ("I like the design. However the sync never works!", ["I like the design.", "However the sync never works!"]),
    ("Nice widgets; however, battery drain is awful", ["Nice widgets", "however, battery drain is awful"]),
    ("Although it looks nice, it crashes every time.", ["Although it looks nice", "it crashes every time."]),
    ("Love it!!! Worth every penny", ["Love it!!!", "Worth every penny"]),
    ("First line\nsecond line here", ["First line", "second line here"]),
    ("Version 2.5 is better, e.g. the sync works.", ["Version 2.5 is better, e.g. the sync works."]),
    ("It is nothing but ads", ["It is nothing but ads"]),              # "nothing but": one complaint, not two
    ("Fine but", ["Fine but"]),                                         # no clause of two words after "but"
    ("But why?", ["But why?"]),
    ("Is it free? Yes.", ["Is it free?", "Yes."]),
    ("!!! \U0001F44D", ["!!! \U0001F44D"]),                           # no letter: the whole text is the mention
    (" \U0001F621\U0001F621 ", ["\U0001F621\U0001F621"]),
    ("?!?!... --- !!! ;;", ["?!?!... --- !!! ;;"]),
    # an emoji after a sentence stays with it (it carries polarity; before rules-v2 it was dropped)
    ("Great app. \U0001F44D\U0001F44D", ["Great app. \U0001F44D\U0001F44D"]),
    ("Crashes. \U0001F621\U0001F621 Then fine.", ["Crashes. \U0001F621\U0001F621", "Then fine."]),
    ("\U0001F621. Crashes again.", ["\U0001F621. Crashes again."]),          # opening symbols join the next one
    ("Great!!! ... Works.", ["Great!!!", "Works."]),                   # bare punctuation is still no mention
    # 。！？ end a sentence with no space after them
    ("このアプリは素晴らしい。でも遅い。", ["このアプリは素晴らしい。", "でも遅い。"]),
    ("好用！但是广告太多？", ["好用！", "但是广告太多？"]),
    ("", []),
    (" \n\t ", []),
    ("  Spaces around.  ", ["Spaces around."]),
    ("\u201cGreat\u201d said he. Then it broke.", ["\u201cGreat\u201d said he.", "Then it broke."]),
]


@pytest.mark.parametrize("text,expected", CORPUS)
def test_split_corpus(text, expected):
    from earful.topics.mentions import split

    spans = split(text)
    assert [text[s.start:s.end] for s in spans] == expected
    assert all(s.kind in ("sentence", "clause") for s in spans)


def test_split_marks_clauses_and_sentences():
    from earful.topics.mentions import split

    kinds = [s.kind for s in split("Good game, but ridiculously hard. Love it")]
    assert kinds == ["clause", "clause", "sentence"]


def test_offsets_exact_on_real_reviews():
    """Every mention of 2,000 real reviews is the verbatim slice of its text, in order, without overlaps."""
    import csv

    from earful.topics.mentions import split
    from tests.conftest import EXAMPLES

    with open(EXAMPLES / "urr_app_reviews.csv", newline="", encoding="utf-8") as f:
        texts = [r["review_text"] for r, _ in zip(csv.DictReader(f), range(2000))]
    n_clauses = 0
    for t in texts:
        spans = split(t)
        for a, b in zip(spans, spans[1:]):
            assert a.end <= b.start
        for s in spans:
            piece = t[s.start:s.end]
            assert piece and piece == piece.strip() and any(ch.isalnum() for ch in piece)
        n_clauses += sum(s.kind == "clause" for s in spans)
    assert n_clauses > 50   # contrastive clauses are common in reviews


@pytest.fixture
def ws(tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    s = Store(tmp_path / "w.duckdb")
    ingest_file(s, urr_sample(tmp_path / "a.csv", slice(0, 150)), source="reviews")
    s.more_csv = urr_sample(tmp_path / "b.csv", slice(150, 200))
    yield s
    s.close()


def test_segment_stores_offsets_linked_to_items(ws):
    from earful.topics.mentions import segment

    res = segment(ws)
    assert res["items_segmented"] == 150 and res["mentions"] == res["mentions_added"] > 150
    bad = ws.rows("""SELECT m.mention_id FROM mentions m JOIN items i USING (item_id)
                     WHERE substring(i.text, m.start_char + 1, m.end_char - m.start_char) <> m.text
                        OR m.content_hash <> md5(m.text) OR m.mention_id <> m.item_id || ':' || m.seq""")
    assert bad == []
    # items count and mentions count are both answerable
    n_items, n_mentions = ws.rows("SELECT count(DISTINCT item_id), count(*) FROM mention_items")[0]
    assert n_items <= 150 and n_mentions == res["mentions"]


def test_segment_rerun_is_idempotent_and_keeps_scores(ws):
    from earful.topics.mentions import segment

    first = segment(ws)
    ws.con.execute("UPDATE mentions SET polarity = 'negative' WHERE seq = 0")
    before = ws.rows("SELECT * FROM mentions ORDER BY mention_id")
    again = segment(ws)
    assert again["mentions_added"] == 0 and again["mentions"] == first["mentions"]
    assert ws.rows("SELECT * FROM mentions ORDER BY mention_id") == before


def test_segment_only_new_items_after_ingest_and_rebuild(ws):
    from earful.ingest.pipeline import ingest_file
    from earful.topics.mentions import segment

    first = segment(ws)
    ingest_file(ws, ws.more_csv, source="reviews")
    second = segment(ws)
    assert second["items_segmented"] == 50 and second["mentions"] == first["mentions"] + second["mentions_added"]
    ws.con.execute("DELETE FROM items WHERE item_id IN (SELECT item_id FROM items ORDER BY item_id LIMIT 3)")
    third = segment(ws)
    assert third["removed_for_gone_items"] > 0 and third["mentions_added"] == 0
    rebuilt = segment(ws, rebuild=True)
    assert rebuilt["mentions"] == third["mentions"] and rebuilt["items_segmented"] == 197


def test_a_new_segmenter_keeps_the_mentions_whose_spans_it_does_not_change(ws):
    """Mentions of an earlier segmenter version: an item the current version splits the same way keeps its mentions
    (polarity and all; only the version changes), an item it splits otherwise (here: a trailing emoji that rules-v1
    dropped) is segmented again."""
    from earful.topics.mentions import SEGMENTER, segment

    segment(ws)
    item = ws.rows("SELECT item_id, text FROM items ORDER BY item_id LIMIT 1")[0]
    ws.con.execute("UPDATE items SET text = text || ' \U0001F621' WHERE item_id = ?", [item[0]])
    ws.con.execute("DELETE FROM mentions WHERE item_id = ?", [item[0]])
    segment(ws)
    last = ws.rows("SELECT max(seq) FROM mentions WHERE item_id = ?", [item[0]])[0][0]
    # as rules-v1 left the workspace: every mention of the old version, the emoji outside the item's last mention
    ws.con.execute("UPDATE mentions SET end_char = end_char - 2, text = left(text, length(text) - 2) "
                   "WHERE item_id = ? AND seq = ?", [item[0], last])
    ws.con.execute("UPDATE mentions SET segmenter = 'rules-v1', polarity = 'positive', polarity_score = 0.5")
    kept = ws.rows("SELECT * EXCLUDE (segmenter, segmented_at) FROM mentions WHERE item_id <> ? ORDER BY mention_id",
                   [item[0]])
    res = segment(ws)
    assert res["resegmented"] == 1 and res["items_segmented"] == 1
    assert ws.rows("SELECT * EXCLUDE (segmenter, segmented_at) FROM mentions WHERE item_id <> ? "
                   "ORDER BY mention_id", [item[0]]) == kept
    assert ws.rows("SELECT DISTINCT segmenter FROM mentions") == [(SEGMENTER,)]
    text, end = ws.rows("SELECT m.text, m.end_char FROM mentions m WHERE item_id = ? ORDER BY seq DESC LIMIT 1",
                        [item[0]])[0]
    assert text.endswith("\U0001F621") and end == len(item[1]) + 2
    assert ws.rows("SELECT count(*) FROM mentions WHERE item_id = ? AND polarity IS NOT NULL", [item[0]]) == [(0,)]


def test_segment_unknown_source_and_no_mentions_errors(ws):
    from earful.errors import NotFoundError
    from earful.topics.mentions import require_mentions, segment

    with pytest.raises(NotFoundError, match="no source named"):
        segment(ws, source="nope")
    with pytest.raises(NotFoundError, match="earful topics mentions"):
        require_mentions(ws)


def test_segment_records_a_run_readable_from_plain_duckdb(ws, tmp_path):
    from earful.topics.mentions import SEGMENTER, segment

    segment(ws)
    ws.close()
    rows = sql_rows(tmp_path / "w.duckdb", "SELECT stage, n FROM mention_runs")
    assert rows and rows[0][0] == "segment" and rows[0][1] > 0
    assert sql_rows(tmp_path / "w.duckdb", "SELECT DISTINCT segmenter FROM mentions") == [(SEGMENTER,)]
