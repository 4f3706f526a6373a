"""The notebook API and magics: `Workspace` (ask with follow-ups, sql/df, topics, topic charts, profile), answers that
render (text, chart, table, SQL) and expose polars tables and plotly figures, ``%load_ext earful`` with ``%%ask``,
``%earful_sql`` and ``%earful_db`` in a real in-process IPython shell, and clear errors for a missing workspace.

The fast tests use 240 real URR reviews (no embeddings); topics and profiles use the notebooks' sample workspace
(`earful.notebook.sample`), built once per session and marked slow.
"""
from __future__ import annotations

import pytest

from tests.conftest import sql_rows, urr_sample

AVG_Q = "What is the average rating per app?"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("nbapi")
    with Store(d / "w.duckdb") as s:
        ingest_file(s, urr_sample(d / "r.csv", slice(0, 240)), source="reviews")
    return d / "w.duckdb"


@pytest.fixture
def fresh_kernel():
    """As in a new kernel: plotly.js not yet sent to the page."""
    from earful.notebook import display

    display._SENT["plotly"] = False
    yield
    display._SENT["plotly"] = False


def sample_db(tmp_path_factory):
    from earful.notebook.sample import sample_workspace

    return sample_workspace(tmp_path_factory.getbasetemp() / "nb-sample" / "sample.duckdb", reviews=300)


def test_a_missing_workspace_is_a_clear_earful_error(tmp_path):
    from earful.errors import EarfulError, InputError, NotFoundError
    from earful.notebook import Workspace

    with pytest.raises(NotFoundError) as err:
        Workspace(tmp_path / "typo.duckdb")
    assert isinstance(err.value, EarfulError) and not isinstance(err.value, FileNotFoundError)
    assert "no workspace at" in str(err.value) and "typo.duckdb" in str(err.value) and "make demo" in str(err.value)
    assert not (tmp_path / "typo.duckdb").exists()          # nothing was created on the way
    with pytest.raises(InputError, match="is a folder"):
        Workspace(tmp_path)


def test_an_answer_renders_text_chart_table_and_sql_and_exposes_frames_and_figures(tiny, fresh_kernel):
    import plotly.graph_objects as go
    import polars as pl

    from earful.notebook import Workspace
    from earful.web.render import plotly_js

    ans = Workspace(tiny).ask(AVG_Q)
    assert ans.status == "answered" and ans["status"] == "answered"
    (table,) = ans.tables
    assert isinstance(table, pl.DataFrame) and {"app", "avg_rating"} <= set(table.columns)
    truth = dict(sql_rows(tiny, "SELECT app, round(avg(rating), 4) FROM reviews WHERE rating IS NOT NULL "
                                "GROUP BY app"))
    assert {r["app"]: r["avg_rating"] for r in table.iter_rows(named=True)} == pytest.approx(truth)
    (fig,) = ans.charts
    assert isinstance(fig, go.Figure) and fig.data[0].type == "bar" and len(fig.data[0].x) == len(truth)
    assert any("avg" in s.lower() and "group by" in s.lower() for s in ans.sql)
    html = ans._repr_html_()
    bundle = plotly_js()[:300]
    assert bundle in html                                   # plotly.js from the installed package, once
    assert "Plotly.newPlot" in html and "<table" in html and "<pre><code" in html and "<details open" in html
    assert ans.text.split(":")[0] in html or ans.text[:40].replace("'", "&#x27;") in html
    again = ans._repr_html_()
    assert bundle not in again and "Plotly.newPlot" in again   # later charts use the plotly.js already loaded


def test_follow_ups_continue_the_conversation_and_new_starts_one(tiny):
    from earful.notebook import Workspace

    ws = Workspace(tiny)
    first = ws.ask(AVG_Q)
    second = ws.ask("and per month?")
    assert second.conversation_id == first.conversation_id and second.status == "answered"
    assert "month" in second.tables[0].columns
    assert [r[0] for r in sql_rows(tiny, "SELECT question FROM conversation_turns WHERE conversation_id = ? "
                                         "ORDER BY turn", [first.conversation_id])] == [AVG_Q, "and per month?"]
    third = ws.ask(AVG_Q, new=True)
    assert third.conversation_id != first.conversation_id


def test_sql_is_polars_df_is_pandas_and_both_only_read(tiny):
    import pandas as pd
    import polars as pl

    from earful.errors import ReadOnlyError
    from earful.notebook import Workspace

    ws = Workspace(tiny)
    q = "SELECT app, count(*) AS n FROM reviews GROUP BY app ORDER BY n DESC, app"
    frame = ws.sql(q)
    assert isinstance(frame, pl.DataFrame) and frame.rows() == sql_rows(tiny, q)
    pdf = ws.df(q)
    assert isinstance(pdf, pd.DataFrame) and pdf["n"].tolist() == [r[1] for r in sql_rows(tiny, q)]
    with pytest.raises(ReadOnlyError):
        ws.sql("DELETE FROM items")
    assert sql_rows(tiny, "SELECT count(*) FROM items")[0][0] == 240


def test_profile_without_the_profiles_module_says_so(tiny, monkeypatch):
    import sys

    from earful.errors import EarfulError
    from earful.notebook import Workspace

    monkeypatch.setitem(sys.modules, "earful.qa_agent.profiles", None)     # as an install without it
    with pytest.raises(EarfulError, match="profiles need the earful.qa_agent.profiles module"):
        Workspace(tiny).profile("reviews", "app", "rating")


# -- magics in a real IPython shell --------------------------------------------------------------------------------
@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    yield sh
    sh.magics_manager.registry.pop("EarfulMagics", None)
    InteractiveShell.clear_instance()


def test_magics_ask_follow_up_new_and_sql(tiny, shell, capsys):
    import polars as pl

    from earful.notebook import NotebookAnswer

    assert shell.run_line_magic("load_ext", "earful") is None
    assert shell.run_line_magic("earful_db", str(tiny)).path == tiny
    first = shell.run_cell(f"%%ask\n{AVG_Q}\n").result
    assert isinstance(first, NotebookAnswer) and first.status == "answered"
    follow = shell.run_cell("%%ask\nand per month?\n").result
    assert follow.conversation_id == first.conversation_id and "month" in follow.tables[0].columns
    new = shell.run_cell(f"%%ask --new\n{AVG_Q}\n").result
    assert new.conversation_id != first.conversation_id
    n = shell.run_cell("%earful_sql SELECT count(*) AS n FROM items").result
    assert isinstance(n, pl.DataFrame) and n["n"][0] == 240
    res = shell.run_cell("%%earful_sql --out by_app\nSELECT app, count(*) AS n FROM reviews GROUP BY app\n")
    assert isinstance(res.result, pl.DataFrame) and shell.user_ns["by_app"].equals(res.result)
    assert sorted(res.result.rows()) == sorted(sql_rows(tiny, "SELECT app, count(*) FROM reviews GROUP BY app"))


def test_magics_show_errors_as_one_line_not_a_traceback(tiny, shell, tmp_path, capsys):
    shell.run_line_magic("load_ext", "earful")
    res = shell.run_cell(f"%earful_db {tmp_path / 'nope.duckdb'}")
    assert res.error_in_exec is None and res.result is None
    err = capsys.readouterr().err
    assert err.startswith("error: no workspace at") and "Traceback" not in err
    shell.run_line_magic("earful_db", str(tiny))
    res = shell.run_cell("%%ask --bogus\nhow many reviews?\n")
    assert res.result is None and "unknown option --bogus" in capsys.readouterr().err
    res = shell.run_cell("%earful_sql DROP TABLE items")
    assert res.result is None and "error:" in capsys.readouterr().err
    assert sql_rows(tiny, "SELECT count(*) FROM items")[0][0] == 240


# -- topics and profiles on the notebooks' sample workspace --------------------------------------------------------
@pytest.mark.slow
def test_topics_and_topic_charts(tmp_path_factory, fresh_kernel):
    import plotly.graph_objects as go

    from earful.notebook import Workspace

    db = sample_db(tmp_path_factory)
    ws = Workspace(db)
    topics = ws.topics()
    truth = dict(sql_rows(db, "SELECT topic_id, size FROM topics WHERE status = 'active'"))
    assert dict(zip(topics["id"].to_list(), topics["size"].to_list())) == truth
    assert sum(truth.values()) == sql_rows(db, "SELECT count(*) FROM reviews")[0][0]
    assert all(len(ex) == 3 for ex in topics["examples"].to_list())
    pics = ws.topic_charts()
    assert pics.titles == ["Intertopic distance map", "Topic keywords", "Topic hierarchy", "Topics over time"]
    assert all(isinstance(f, go.Figure) for f in pics.charts)
    html = pics._repr_html_()
    assert html.count("Plotly.newPlot") == 4


@pytest.mark.slow
def test_profile_on_the_critiques(tmp_path_factory, fresh_kernel):
    import plotly.graph_objects as go

    from earful.notebook import Workspace

    db = sample_db(tmp_path_factory)
    prof = Workspace(db).profile("critiques", "model", "score", category_column="task", unit_column="session_id",
                                 n_boot=200)
    models = sorted(r[0] for r in sql_rows(db, "SELECT DISTINCT model FROM critiques"))
    assert sorted(prof.subjects) == models and len(models) == 8
    nodes = prof.tables["nodes"]
    overall = {r["subject"]: r["mean"] for r in nodes.filter(nodes["depth"] == 0).iter_rows(named=True)}
    truth = dict(sql_rows(db, "SELECT model, avg(score) FROM critiques GROUP BY model"))
    assert overall == pytest.approx(truth)
    assert {r[0] for r in sql_rows(db, "SELECT DISTINCT task FROM critiques")} <= set(nodes["node"].to_list())
    assert prof.weakest_subject("Coding")["weakest"] in models      # the Profile's own methods work through it
    assert [type(f) for f in prof.charts] == [go.Figure, go.Figure]
    html = prof._repr_html_()
    assert html.count("Plotly.newPlot") == 2 and prof.statement(models[0], "weakness")[:30] in html


def test_items_behind_an_answer_come_back_in_its_order(tiny):
    from earful.notebook import Workspace

    ws = Workspace(tiny)
    ans = ws.ask("show me examples of reviews about crashes")
    assert ans.status == "answered" and len(ans.item_ids) >= 2
    ids = list(reversed(ans.item_ids))
    got = ws.items(ids)
    assert got["item_id"].to_list() == ids
    texts = dict(sql_rows(tiny, "SELECT item_id, text FROM items"))
    assert got["text"].to_list() == [texts[i] for i in ids]
    assert ws.items([]).is_empty() and ws.items(["no-such-id", "x'); DROP TABLE items; --"]).is_empty()
