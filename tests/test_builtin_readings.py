"""Two readings of a question that give the same answer are one answer (qa_s6 probes: a label held by both levels of
a taxonomy, two score columns): the engine runs each reading's SQL, answers when every result is the same and says
that it read the question two ways; when the results differ it declines naming both, as before."""
from __future__ import annotations

import csv

import pytest


def _workspace(tmp_path, same: bool) -> tuple[str, list[dict]]:
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    rows = [{"text": f"review {i}: the sync and the widget", "quality_score": i % 5 + 1,
             "overall_score": i % 5 + 1 if same else i % 3 + 1} for i in range(40)]
    path = tmp_path / "scores.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, path, source="reviews")
    return str(db), rows


def _ask(db: str, question: str):
    from earful.qa_agent.base import AskContext
    from earful.qa_agent.builtin import BuiltinEngine

    return BuiltinEngine().answer(question, AskContext(db_path=db, settings=None, history=[], output_dir=None))


@pytest.mark.parametrize("question,expected", [
    ("What is the average score?", lambda rows: sum(r["quality_score"] for r in rows) / len(rows)),
    ("How many reviews have a score of 5?", lambda rows: sum(r["quality_score"] == 5 for r in rows)),
])
def test_readings_with_one_answer_are_answered_and_say_so(tmp_path, question, expected):
    db, rows = _workspace(tmp_path, same=True)
    ans = _ask(db, question)
    assert ans.status == "answered", ans.answer
    assert float(ans.tables[0].rows[0][0]) == pytest.approx(expected(rows))
    assert "overall_score" in ans.answer and "quality_score" in ans.answer and "the same result" in ans.answer


def test_readings_with_different_answers_are_still_declined(tmp_path):
    db, _ = _workspace(tmp_path, same=False)
    ans = _ask(db, "What is the average score?")
    assert ans.status == "declined"
    assert "two readings that give different answers" in ans.answer
    assert "overall_score" in ans.answer and "quality_score" in ans.answer


def test_parse_without_a_database_declines_as_before(tmp_path):
    """The corpus parses over a schema card alone: with no database to run the readings, two readings stay a
    decline."""
    from earful.qa_agent.builtin.parse import parse
    from earful.qa_agent.schema_card import build_schema_card

    db, _ = _workspace(tmp_path, same=True)
    got = parse("What is the average score?", build_schema_card(db))
    assert got.plan is None and "two readings" in got.reason


def test_a_label_in_two_list_columns_as_often_is_one_reading():
    """'ERROR' as a low-level and a high-level label on the same number of items (URR): the list columns are
    equivalent and the raw parts ('class1'...) hold it less often; when the lists disagree it stays ambiguous."""
    from earful.qa_agent.builtin.roles import _prefer_list
    from earful.qa_agent.builtin.vocab import ValueHit

    hits = [ValueHit("labels_low", "ERROR", 474, 0, "|"), ValueHit("labels_high", "ERROR", 474, 0, "|"),
            ValueHit("class1", "ERROR", 300, 0), ValueHit("class2", "ERROR", 120, 0)]
    chosen, amb = _prefer_list(hits, "could mean ...")
    assert amb is None and {h.column for h in chosen} == {"labels_low"}
    hits[1] = ValueHit("labels_high", "ERROR", 470, 0, "|")
    assert _prefer_list(hits, "could mean ...") == ([], "could mean ...")
