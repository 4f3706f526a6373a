"""The new composer's wording rules (issue #13): each test fails on the wording the issue calls wrong.

Most tests hand the composer result rows with distinctive numbers (its input is the plan plus rows, nothing else),
so a number in the text that is not in the rows, a dropped chart bar or a wrong word shows. The last tests run
compiled plans over a real DuckDB file and check the answer against numbers computed in Python.
"""
from __future__ import annotations

import re

import pytest

from earful.qa_agent.builtin.answer import compose, describe
from earful.qa_agent.builtin.compiler import compile_sql
from earful.qa_agent.builtin.ir import (
    Cmp,
    Column,
    Compare,
    Eq,
    Having,
    ListHas,
    Measure,
    Not,
    Plan,
    Side,
    TextMatch,
    TimeGrain,
    TimeRange,
    TopN,
)


def P(**kw):
    return Plan(view="v_reviews", noun="reviews", time_column="created_at", **kw)


def text_of(plan, columns, rows, **kw):
    return compose(plan, columns, rows, None, **kw)[0]


def numbers(text):
    return [float(m.replace(",", "")) for m in re.findall(r"-?\d[\d,]*\.?\d*", text)]


# ---- counts and grammar -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,expected", [(1, "There is 1 review."), (2, "There are 2 reviews."),
                                        (0, "There are no reviews."), (12345, "There are 12,345 reviews.")])
def test_count_is_grammatical(n, expected):
    assert text_of(P(), ["reviews"], [[n]]) == expected


def test_singular_of_other_nouns_and_distinct_values():
    plan = Plan(view="v", noun="categories")
    assert text_of(plan, ["categories"], [[1]]) == "There is 1 category."
    t = text_of(P(measure=Measure("distinct", "app")), ["distinct_app"], [[1]])
    assert t.startswith("There is 1 distinct app value among reviews") and "values" not in t


@pytest.mark.parametrize("pred,words", [
    (TimeRange("created_at", "2016-03-01"), "since 2016-03-01"),
    (TimeRange("created_at", None, "2017-01-01"), "before 2017-01-01"),
    (TimeRange("created_at", "2016-03-01", "2016-06-01"), "between 2016-03-01 and 2016-05-31"),
    (TimeRange("created_at", "2016-01-01", "2017-01-01"), "in 2016"),
    (TimeRange("created_at", "2016-03-01", "2016-04-01"), "in March 2016"),
])
def test_time_ranges_read_as_plain_english(pred, words):
    t = text_of(P(where=(pred, Eq("app", "vlc"))), ["reviews"], [[7]])
    assert t == f"There are 7 reviews {words} where app is vlc."
    assert "dated" not in t and "on or after" not in t


def test_predicates_in_words():
    assert describe(TextMatch("text", ("crash", "freeze"))) == "the text mentions 'crash' or 'freeze'"
    assert describe(Not(TextMatch("text", ("crash",)))) == "the text does not mention 'crash'"
    assert describe(Not(Eq("model", "gpt-4o"))) == "model is not gpt-4o"
    assert describe(Cmp("rating", "<=", 2)) == "rating is at most 2"
    assert describe(Cmp("rating", "=", 1.0)) == "rating is 1"
    assert describe(Not(Cmp("rating", ">=", 4))) == "rating is below 4"
    assert describe(ListHas("labels", ("bug", "ui"))) == "labels includes bug or ui"


# ---- scalar measures: numbers from the rows ---------------------------------------------------------------------
def test_share_states_matching_and_total_from_the_rows():
    plan = P(measure=Measure("share"), target=(Eq("rating", 1),))
    t = text_of(plan, ["percent", "matching", "total"], [[41.18, 7, 17]])
    assert t == "41.18% of reviews (7 of 17) are ones where rating is 1."


def test_numeric_measure_states_value_and_size_from_the_rows():
    t = text_of(P(measure=Measure("avg", "rating"), where=(Eq("app", "vlc"),)), ["avg_rating", "reviews"],
                [[3.4567, 1]])
    assert t == "The average rating of reviews where app is vlc is 3.457 (over 1 review)."
    t = text_of(P(measure=Measure("stddev", "score")), ["stddev_score", "reviews"], [[0.25, 0]])
    assert "no standard deviation of score" in t and "0.25" not in t


def test_earliest_and_latest_are_dates():
    t = text_of(P(measure=Measure("earliest", "created_at")), ["earliest_created_at", "reviews"],
                [["2012-03-04 00:00:00", 321]])
    assert t == "The oldest review is dated 2012-03-04 (of 321 reviews)."
    t = text_of(P(measure=Measure("latest", "created_at")), ["latest_created_at", "reviews"],
                [["2019-11-30 13:05:09", 2]])
    assert "newest review is dated 2019-11-30 (13:05 UTC)" in t


# ---- compare ------------------------------------------------------------------------------------------------------
A, B = Side("model A", (Eq("model", "a"),)), Side("model B", (Eq("model", "b"),))
AVG_ROWS = (["side", "avg_score", "critiques"], [["model A", 4.25, 50], ["model B", 3.75, 48]])


AVG_SCORE = Measure("avg", "score")


def cplan(mode="difference", measure=AVG_SCORE, order="desc", **kw):
    return Plan(view="v", noun="critiques", measure=measure, compare=Compare(A, B, mode, order), **kw)


def test_compare_difference_shows_both_numbers_and_the_difference():
    t = text_of(cplan(), *AVG_ROWS)
    assert "model A's average score is 0.5 higher than model B's" in t
    assert "4.25" in t and "3.75" in t and "50 critiques" in t and "48 critiques" in t
    t = text_of(cplan(), ["side", "avg_score", "critiques"], [["model A", 3.5, 5], ["model B", 3.75, 6]])
    assert "0.25 lower" in t


def test_compare_ratio_and_winner():
    t = text_of(cplan("ratio"), *AVG_ROWS)
    assert "1.133 times model B's" in t and "4.25" in t and "3.75" in t
    t = text_of(cplan("winner"), *AVG_ROWS)
    assert t.startswith("model A has the higher average score, by 0.5") and "3.75" in t
    t = text_of(cplan("winner", order="asc"), *AVG_ROWS)
    assert t.startswith("model B has the lower average score")


def test_compare_counts_and_shares():
    t = text_of(cplan(measure=Measure("count")), ["side", "critiques"], [["model A", 12], ["model B", 1]])
    assert "is 11 more than" in t and "model A: 12 critiques" in t and "model B: 1 critique" in t
    t = text_of(cplan(measure=Measure("share"), target=(Eq("rating", 1),)),
                ["side", "percent", "matching", "total"], [["model A", 25.0, 5, 20], ["model B", 10.0, 1, 10]])
    assert "15 percentage points higher" in t and "25% (5 of 20 critiques)" in t and "10% (1 of 10 critiques)" in t


def test_compare_with_an_empty_side_says_so():
    t = text_of(cplan(), ["side", "avg_score", "critiques"], [["model A", 4.0, 3], ["model B", None, 0]])
    assert "no average score for model B" in t and "cannot be compared" in t and "higher" not in t


# ---- breakdowns ---------------------------------------------------------------------------------------------------
def test_small_groups_state_their_sizes():
    plan = P(measure=Measure("share"), target=(Eq("rating", 1),), group=TimeGrain("month", "created_at"))
    rows = [["2020-01", 10.0, 30, 300], ["2020-02", 41.18, 7, 17], ["2020-03", 20.0, 40, 200]]
    t = text_of(plan, ["month", "percent", "matching", "total"], rows)
    assert "highest in 2020-02, with 41.18% (7 of 17 reviews)" in t
    plan = P(measure=Measure("avg", "rating"), group=Column("app"))
    t = text_of(plan, ["app", "avg_rating", "reviews"], [["vlc", 4.5, 3], ["firefox", 3.9, 500]])
    assert "vlc: 4.5 (over 3 reviews)" in t and "firefox: 3.9." in t


@pytest.mark.parametrize("n", [39, 75])
def test_charts_never_drop_rows_silently(n):
    rows = [[f"app{i:02d}", 5 - i / 100, 40] for i in range(n)]
    _, _, charts, _ = compose(P(measure=Measure("avg", "rating"), group=Column("app")),
                              ["app", "avg_rating", "reviews"], rows, None)
    bars = charts[0].plotly["data"][0]["x"]
    title = charts[0].title
    assert len(bars) == n or f"top {len(bars)} of {n}" in title


def test_a_top_n_chart_says_of_how_many():
    plan = P(measure=Measure("avg", "rating"), group=Column("app"), top=TopN(3))
    rows = [[f"app{i}", 5 - i, 40, 39] for i in range(3)]
    text, _, charts, _ = compose(plan, ["app", "avg_rating", "reviews", "all_groups"], rows, None)
    assert "(top 3 of 39)" in charts[0].title
    assert text.startswith("Top 3 of 39 apps by average rating: app0: 5;")


def test_most_and_ties():
    plan = P(group=Column("app"), top=TopN(1))
    t = text_of(plan, ["app", "reviews", "all_groups"], [["vlc", 120, 9]])
    assert t == "vlc has the most reviews: 120."
    t = text_of(plan, ["app", "reviews", "all_groups"], [["vlc", 120, 9], ["firefox", 120, 9]])
    assert t == "vlc and firefox are tied for the most reviews, with 120 each."


def test_having_counts_the_groups_that_pass():
    plan = P(group=Column("app"), having=Having(Measure("avg", "rating"), "<", 3))
    t = text_of(plan, ["app", "reviews", "avg_rating"], [["vlc", 40, 2.5], ["k9", 35, 2.9]])
    assert t == "2 apps have an average rating below 3: vlc: 2.5 (40 reviews); k9: 2.9 (35 reviews)."
    assert text_of(plan, ["app", "reviews", "avg_rating"], [["vlc", 40, 2.5]]).startswith(
        "1 app has an average rating below 3")
    assert text_of(plan, ["app", "reviews", "avg_rating"], []) == "No app has an average rating below 3."


def test_a_list_breakdown_says_counts_are_of_mentions():
    plan = P(group=Column("labels", "json"), unit="mentions")
    t = text_of(plan, ["labels", "reviews"], [["bug", 30], ["ui", 20]])
    assert "mentions" in t and "not reviews" in t
    assert "mentions" not in text_of(P(group=Column("app")), ["app", "reviews"], [["vlc", 30]])


# ---- examples ----------------------------------------------------------------------------------------------------
def test_examples_are_labelled_and_state_all_matches():
    plan = P(measure=Measure("examples"), where=(Eq("rating", 1), TextMatch("text", ("crash",))), limit=2)
    rows = [["i3", "crashes on start", "2020-01-02", 57], ["i9", "crash again", None, 57],
            ["i1", "third", None, 57]]
    text, tables, _, ids = compose(plan, ["item_id", "text", "date", "matches"], rows, None, ranked_by="embeddings")
    assert text.startswith("2 examples (most representative first) of the 57 reviews where rating is 1 and "
                           "the text mentions 'crash':")
    assert ids == ["i3", "i9"] and len(tables[0].rows) == 2
    assert "[i3] (2020-01-02) \"crashes on start\"" in text
    text = text_of(plan, ["item_id", "text", "date", "matches"], rows)
    assert "(newest first)" in text
    assert text_of(plan, ["item_id", "text", "date", "matches"], []).startswith("There are no reviews where")


# ---- over a real database -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def db(tmp_path_factory):
    import duckdb

    path = tmp_path_factory.mktemp("answer") / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE v_reviews (item_id VARCHAR, text VARCHAR, created_at TIMESTAMPTZ, rating DOUBLE, "
                "model VARCHAR)")
    rows = [(f"i{i}", "crash" if i % 3 == 0 else "fine", f"2020-{1 + i % 4:02d}-15 10:00:00+00",
             float(1 + i % 5), "a" if i % 2 else "b") for i in range(23)]
    con.executemany("INSERT INTO v_reviews VALUES (?, ?, ?, ?, ?)", rows)
    con.close()
    return str(path), rows


def test_answers_from_a_real_database(db):
    from earful.qa_agent.executor import run_sql

    path, raw = db

    def ans(plan):
        res = run_sql(path, compile_sql(plan), in_process=True)
        assert res.ok, res.error
        return compose(plan, res.columns, res.rows, None)

    a = [r[3] for r in raw if r[4] == "a"]
    b = [r[3] for r in raw if r[4] == "b"]
    text = ans(Plan(view="v_reviews", noun="reviews", measure=Measure("avg", "rating"),
                    compare=Compare(Side("a", (Eq("model", "a"),)), Side("b", (Eq("model", "b"),)))))[0]
    va, vb = round(sum(a) / len(a), 4), round(sum(b) / len(b), 4)
    for x in (abs(va - vb), va, vb):   # shown to 3 decimals
        assert any(abs(n - x) < 0.0006 for n in numbers(text)), (x, text)
    text, _, charts, _ = ans(P(measure=Measure("share"), target=(TextMatch("text", ("crash",)),),
                               group=TimeGrain("month", "created_at")))
    months = {f"2020-{m:02d}": [r for r in raw if r[2][5:7] == f"{m:02d}"] for m in range(1, 5)}
    for m, rs in months.items():
        hit = sum(1 for r in rs if r[1] == "crash")
        assert f"{m}: {round(100 * hit / len(rs), 2):g}% ({hit} of {len(rs)} reviews)" in text
    assert len(charts[0].plotly["data"][0]["x"]) == 4
    text = ans(P(where=(TimeRange("created_at", "2020-03-01"),)))[0]
    assert text == f"There are {sum(1 for r in raw if r[2] >= '2020-03')} reviews since 2020-03-01."
