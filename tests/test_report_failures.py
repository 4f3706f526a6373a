"""`earful report` with questions that get no answer: listed under "Could not answer", and a non-zero exit.

Real workspace, real CLI, the built-in engine (no LLM): "Why ...?" asks for interpretation, which it declines.
"""
import html
import json

import pytest

from tests.conftest import run_cli, workspace_from_rows

ANSWERABLE = "How many items are there per month?"
DECLINED = "Why do people uninstall it?"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    rows = [{"id": str(i), "text": t, "rating": str(r), "date": d} for i, (t, r, d) in enumerate([
        ("Crashes on start, uninstalling", 1, "2024-01-05"), ("Love it", 5, "2024-01-20"),
        ("Login fails every time", 2, "2024-02-03"), ("Great app, fast", 5, "2024-02-10"),
        ("Ads everywhere", 3, "2024-03-01")])]
    return workspace_from_rows(tmp_path_factory.mktemp("report"), rows)


def _report(db, tmp_path, questions: list[str]):
    qfile = tmp_path / "q.yaml"
    qfile.write_text("title: Weekly\nquestions:\n" + "".join(f"  - {json.dumps(q)}\n" for q in questions))
    out = tmp_path / "r.html"
    r = run_cli("report", "--questions", qfile, "--out", out, "--json", db=db)
    return r, out


def test_declined_question_is_listed_and_exit_is_nonzero(db, tmp_path):
    r, out = _report(db, tmp_path, [ANSWERABLE, DECLINED])
    assert r.returncode == 1, r.stderr + r.stdout
    assert "1 of 2 questions could not be answered" in r.stderr
    summary = json.loads(r.stdout)
    assert (summary["answered"], summary["declined"], summary["could_not_answer"]) == (1, 1, 1)
    [failed] = summary["failed"]
    assert failed["question"] == DECLINED and failed["status"] == "declined"
    assert "'Why' asks for interpretation" in failed["reason"]

    page = out.read_text()        # written in full despite the failure
    # the answered question renders as an answer, with its numbers (2, 2, 1 items in Jan-Mar 2024)
    assert f'<h3 class="earful-q">{ANSWERABLE}</h3>' in page
    assert "2024-01: 2; 2024-02: 2; 2024-03: 1" in page
    # the declined one is not rendered as an answer, only in the closing section, with its (escaped) reason
    assert f'<h3 class="earful-q">{DECLINED}' not in page and 'class="earful-answer earful-declined"' not in page
    section = page[page.index('<h2 id="could-not-answer">Could not answer</h2>'):]
    assert page.index(ANSWERABLE) < page.index("Could not answer")
    assert DECLINED in section and "declined" in section
    assert html.escape(failed["reason"]) in section
    assert "1 of 2 questions answered; 1 could not be answered" in page


def test_all_answered_exits_zero_without_section(db, tmp_path):
    r, out = _report(db, tmp_path, [ANSWERABLE])
    assert r.returncode == 0, r.stderr + r.stdout
    summary = json.loads(r.stdout)
    assert summary["answered"] == 1 and summary["could_not_answer"] == 0 and summary["failed"] == []
    page = out.read_text()
    assert "Could not answer" not in page and "2024-01: 2; 2024-02: 2; 2024-03: 1" in page


def test_failed_question_text_is_escaped_in_section(db, tmp_path):
    hostile = "Why do people write <script>alert(1)</script> here?"
    r, out = _report(db, tmp_path, [hostile])
    assert r.returncode == 1, r.stderr + r.stdout
    page = out.read_text()
    assert "<script>alert(1)</script>" not in page
    assert html.escape(hostile) in page[page.index("Could not answer"):]


def test_human_summary_lists_failures(db, tmp_path):
    qfile = tmp_path / "q.yaml"
    qfile.write_text(f"questions:\n  - {ANSWERABLE}\n  - {DECLINED}\n")
    r = run_cli("report", "--questions", qfile, "--out", tmp_path / "r.html", db=db)
    assert r.returncode == 1
    assert "could_not_answer" in r.stdout and "Could not answer" in r.stdout and "[llm]" in r.stdout


@pytest.mark.parametrize("args", [["--from", "2024-13-01"], ["--since", "abc"], ["--from", "2024-05-01", "--to",
                                                                                   "2024-04-01"]])
def test_rejected_period_writes_no_folder(db, tmp_path, args):
    """A bad date is refused before anything is written: no empty output folder is left behind."""
    out = tmp_path / "new-reports"
    r = run_cli("report", *args, "--out", out, db=db)
    assert r.returncode == 2, r.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, says", [
    (["--from", "2025-06-01", "--to", "2025-06-30"], "lie outside the data"),
    (["--from", "2024-03-02", "--to", "2024-03-30"], "starts after the newest item (2024-03-01)"),
])
def test_period_outside_the_data_is_warned_about(db, tmp_path, args, says):
    """A period with no data is not reported as a silent '0 against 0': stderr and the report's header say why."""
    r = run_cli("report", *args, "--out", tmp_path / "r", db=db)
    assert r.returncode == 0, r.stderr
    assert "warning:" in r.stderr and says in r.stderr, r.stderr
    assert says in (tmp_path / "r" / "report.md").read_text()
    inside = run_cli("report", "--from", "2024-02-01", "--out", tmp_path / "ok", db=db)
    assert inside.returncode == 0 and "warning:" not in inside.stderr
