"""The typed plan's compiler over a real DuckDB file: every measure, predicate, group, having, top-N and compare.

The SQL runs through the engine's own path (`run_sql(..., in_process=True)`: the read-only check and connection);
every expected number is computed in Python from the same rows, never by SQL.
"""
from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from earful.qa_agent.builtin.compiler import PlanError, columns_used, compile_sql, shape
from earful.qa_agent.builtin.ir import (
    Cmp,
    Column,
    Compare,
    Eq,
    Having,
    In,
    ListHas,
    ListLen,
    Measure,
    Not,
    Plan,
    Side,
    TextMatch,
    TimeGrain,
    TimeRange,
    TopN,
)

HOSTILE_CATS = ["O'Brien", "100%", "a_b", "back\\slash", "café", "plain"]
TEXTS = ["It's 100% broken", "under_score here", "a back\\slash path", "Naïve CAFÉ ünïcode", "crash on start",
         "50%_off deal", "quote 'single' and \"double\"", "CRASH again", "works fine", "battery drains"]
LABELS = [["bug", "ui"], ["ui"], [], ["bug"], None, ["perf", "bug", "bug"]]
JOINED = ["bug | ui", "ui", "", "bug|perf", None, " perf ;x"]


def _rows():
    rows = []
    for i in range(40):
        created = datetime(2019 + i % 3, 1 + (i * 5) % 12, 1 + (i * 7) % 28, (i * 3) % 24, tzinfo=UTC)
        rows.append({
            "item_id": f"i{i:02d}",
            "text": TEXTS[i % len(TEXTS)],
            "created_at": None if i == 39 else created,
            "rating": None if i % 9 == 4 else float(1 + i % 5),
            "cat": None if i % 13 == 12 else HOSTILE_CATS[i % len(HOSTILE_CATS)],
            "labels": None if LABELS[i % 6] is None else json.dumps(LABELS[i % 6]),
            "joined": JOINED[i % 6],
            "score": round(0.37 * i - 3.1, 2),
            "judge": "gpt-4o",
            "note": None if i % 4 == 0 else f"note {i}",
        })
    return rows


ROWS = _rows()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    import duckdb

    path = tmp_path_factory.mktemp("compiler") / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""CREATE TABLE src (item_id VARCHAR, text VARCHAR, created_at TIMESTAMPTZ, rating DOUBLE,
                   cat VARCHAR, labels VARCHAR, joined VARCHAR, score DOUBLE, judge VARCHAR, note VARCHAR)""")
    cols = list(ROWS[0])
    con.executemany(f"INSERT INTO src VALUES ({', '.join('?' * len(cols))})", [[r[c] for c in cols] for r in ROWS])
    con.execute("CREATE VIEW v_reviews AS SELECT * FROM src")
    con.execute("CREATE VIEW reviews AS SELECT * FROM src")   # a view named like its row noun
    con.close()
    return str(path)


def run(db, plan, table=None):
    from earful.qa_agent.executor import run_sql

    res = run_sql(db, compile_sql(plan, table), in_process=True)
    assert res.ok, (res.error, compile_sql(plan, table))
    return res.columns, res.rows


def P(**kw):
    return Plan(view="v_reviews", noun="reviews", time_column="created_at", **kw)


def count(db, *preds):
    return run(db, P(where=tuple(preds)))[1][0][0]


# ---- predicates ---------------------------------------------------------------------------------------------------
def _listed(r, col, fmt):
    v = r[col]
    if v is None:
        return None
    if fmt == "json":
        return [str(x) for x in json.loads(v)]
    return [x.strip() for x in v.strip().split(fmt)]


PREDICATES = [
    ("eq", Eq("cat", "a_b"), lambda r: r["cat"] == "a_b"),
    ("eq-number", Eq("rating", 3), lambda r: r["rating"] == 3),
    ("in", In("cat", ("plain", "café")), lambda r: r["cat"] in ("plain", "café")),
    ("lt", Cmp("rating", "<", 3), lambda r: r["rating"] is not None and r["rating"] < 3),
    ("ge", Cmp("score", ">=", 4.08), lambda r: r["score"] >= 4.08),
    ("text-any", TextMatch("text", ("crash", "battery")),
     lambda r: "crash" in r["text"].lower() or "battery" in r["text"].lower()),
    ("text-all", TextMatch("text", ("crash", "again"), "all"),
     lambda r: "crash" in r["text"].lower() and "again" in r["text"].lower()),
    ("since", TimeRange("created_at", "2020-03-01"),
     lambda r: r["created_at"] is not None and r["created_at"] >= datetime(2020, 3, 1, tzinfo=UTC)),
    ("between", TimeRange("created_at", "2019-06-01", "2020-06-01"),
     lambda r: r["created_at"] is not None and datetime(2019, 6, 1, tzinfo=UTC) <= r["created_at"]
     < datetime(2020, 6, 1, tzinfo=UTC)),
    ("before", TimeRange("created_at", None, "2020-01-01"),
     lambda r: r["created_at"] is not None and r["created_at"] < datetime(2020, 1, 1, tzinfo=UTC)),
    ("list-json", ListHas("labels", ("bug",), "json"), lambda r: "bug" in (_listed(r, "labels", "json") or [])),
    ("list-json-any", ListHas("labels", ("perf", "ui"), "json"),
     lambda r: bool({"perf", "ui"} & set(_listed(r, "labels", "json") or []))),
    ("list-joined", ListHas("joined", ("perf",), "|"), lambda r: "perf" in (_listed(r, "joined", "|") or [])),
    ("list-semicolon", ListHas("joined", ("x",), ";"), lambda r: "x" in (_listed(r, "joined", ";") or [])),
    # negation: a missing value is not "other than X"; a missing text or list does not mention X
    ("not-eq", Not(Eq("cat", "plain")), lambda r: r["cat"] is not None and r["cat"] != "plain"),
    ("not-cmp", Not(Cmp("rating", ">=", 4)), lambda r: r["rating"] is not None and not r["rating"] >= 4),
    ("not-text", Not(TextMatch("note", ("1",))), lambda r: not (r["note"] and "1" in r["note"])),
    ("not-list", Not(ListHas("labels", ("bug",))), lambda r: "bug" not in (_listed(r, "labels", "json") or [])),
    ("not-in", Not(In("cat", ("plain", "100%"))), lambda r: r["cat"] is not None and r["cat"] not in ("plain", "100%")),
]


@pytest.mark.parametrize("name,pred,py", PREDICATES, ids=[p[0] for p in PREDICATES])
def test_each_predicate_counts_the_rows_python_counts(db, name, pred, py):
    expected = sum(1 for r in ROWS if py(r))
    assert 0 < expected < len(ROWS), f"{name}: the data must separate the rows"
    assert count(db, pred) == expected


@pytest.mark.parametrize("value", HOSTILE_CATS)
def test_eq_with_hostile_literals_is_exact(db, value):
    assert count(db, Eq("cat", value)) == sum(1 for r in ROWS if r["cat"] == value)


@pytest.mark.parametrize("phrase", ["100%", "%", "_", "r_s", "back\\slash", "\\", "'single'", "\"double\"",
                                    "café", "ÜNÏCODE", "it's", "%_"])
def test_text_match_is_the_literal_text_case_insensitively(db, phrase):
    expected = sum(1 for r in ROWS if phrase.lower() in r["text"].lower())
    assert count(db, TextMatch("text", (phrase,))) == expected
    sql = compile_sql(P(where=(TextMatch("text", (phrase,)),)))
    assert " LIKE " not in sql.upper()


def test_a_phrase_that_matches_nothing_counts_zero_and_injection_stays_text(db):
    assert count(db, TextMatch("text", ("'); DROP TABLE src; --",))) == 0
    assert count(db, Eq("cat", "x' OR '1'='1")) == 0


# ---- measures -------------------------------------------------------------------------------------------------
def _vals(col, rows=ROWS):
    return [r[col] for r in rows if r[col] is not None]


def test_every_scalar_measure(db):
    ratings = _vals("rating")
    cases = {
        "avg": round(statistics.fmean(ratings), 4), "min": min(ratings), "max": max(ratings), "sum": sum(ratings),
        "median": statistics.median(ratings), "stddev": round(statistics.stdev(ratings), 4),
    }
    for name, expected in cases.items():
        cols, rows = run(db, P(measure=Measure(name, "rating")))
        assert cols == [f"{name}_rating", "reviews"]
        assert rows[0][0] == pytest.approx(expected), name
        assert rows[0][1] == len(ratings)   # over the rows that have a rating
    cols, rows = run(db, P(measure=Measure("distinct", "cat")))
    assert rows[0][0] == len(set(_vals("cat")))
    dates = _vals("created_at")
    assert run(db, P(measure=Measure("earliest", "created_at")))[1][0][0] == min(dates).strftime("%Y-%m-%d %H:%M:%S")
    assert run(db, P(measure=Measure("latest", "created_at")))[1][0][0] == max(dates).strftime("%Y-%m-%d %H:%M:%S")
    assert run(db, P(measure=Measure("sum", "score"), where=(Eq("cat", "café"),)))[1][0][0] == pytest.approx(
        sum(r["score"] for r in ROWS if r["cat"] == "café"))


@pytest.mark.parametrize("col,fmt", [("labels", "json"), ("joined", "|")])
def test_distinct_values_inside_a_list_column(db, col, fmt):
    expected = {v for r in ROWS for v in (_listed(r, col, fmt) or []) if v}
    assert run(db, P(measure=Measure("distinct", col, fmt)))[1][0][0] == len(expected)
    assert P(measure=Measure("distinct", col, fmt)).to_dict()["measure"]["list_fmt"] == fmt


def test_share_is_matching_over_total(db):
    plan = P(measure=Measure("share"), where=(Cmp("rating", ">=", 2),), target=(TextMatch("text", ("crash",)),))
    cols, rows = run(db, plan)
    base = [r for r in ROWS if r["rating"] is not None and r["rating"] >= 2]
    matching = sum(1 for r in base if "crash" in r["text"].lower())
    got = dict(zip(cols, rows[0]))
    assert (got["matching"], got["total"]) == (matching, len(base))
    assert got["percent"] == round(100 * matching / len(base), 2)
    assert shape(plan).value == "percent" and shape(plan).size == "total"


def test_a_constant_column_is_just_a_column(db):
    assert count(db, Eq("judge", "gpt-4o")) == len(ROWS)
    assert run(db, P(measure=Measure("distinct", "judge")))[1][0][0] == 1


# ---- groups -------------------------------------------------------------------------------------------------------
def test_group_by_column_with_sizes(db):
    cols, rows = run(db, P(measure=Measure("avg", "rating"), group=Column("cat")))
    groups = defaultdict(list)
    for r in ROWS:
        if r["cat"] is not None and r["rating"] is not None:
            groups[r["cat"]].append(r["rating"])
    assert cols == ["cat", "avg_rating", "reviews"]
    assert {g: (a, n) for g, a, n in rows} == {g: (round(statistics.fmean(v), 4), len(v)) for g, v in groups.items()}
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)   # highest first


@pytest.mark.parametrize("grain,key", [
    ("year", lambda d: f"{d.year}"), ("month", lambda d: f"{d.year}-{d.month:02d}"),
    ("quarter", lambda d: f"{d.year}-Q{(d.month - 1) // 3 + 1}"), ("day", lambda d: d.strftime("%Y-%m-%d")),
    ("week", lambda d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}")])
def test_time_grains_in_utc_in_time_order(db, grain, key):
    cols, rows = run(db, P(group=TimeGrain(grain, "created_at")))
    expected = Counter(key(r["created_at"]) for r in ROWS if r["created_at"] is not None)
    assert cols == [grain, "reviews"]
    assert rows == [[k, expected[k]] for k in sorted(expected)]


@pytest.mark.parametrize("col,fmt", [("labels", "json"), ("joined", "|")])
def test_a_list_column_breakdown_counts_each_value_once_per_item(db, col, fmt):
    cols, rows = run(db, P(group=Column(col, fmt), unit="mentions"))
    expected = Counter(v for r in ROWS for v in set(_listed(r, col, fmt) or []) if v)
    assert {k: n for k, n in rows} == dict(expected)
    assert cols == [col, "reviews"]


def test_list_breakdown_with_a_measure_and_filter(db):
    plan = P(measure=Measure("avg", "rating"), where=(Cmp("score", ">", 0),), group=Column("labels", "json"))
    groups = defaultdict(list)
    for r in ROWS:
        if r["score"] > 0 and r["rating"] is not None:
            for v in set(_listed(r, "labels", "json") or []):
                groups[v].append(r["rating"])
    assert {g: (a, n) for g, a, n in run(db, plan)[1]} == {
        g: (round(statistics.fmean(v), 4), len(v)) for g, v in groups.items()}


@pytest.mark.parametrize("col,fmt", [("labels", "json"), ("joined", "|")])
def test_a_list_breakdown_other_than_a_value_leaves_the_value_out_not_its_items(db, col, fmt):
    """'which label is most common, other than bug': the groups lose 'bug'; an item holding 'bug' beside 'ui' still
    counts under 'ui' (before: every item holding 'bug' was dropped, and 'ui' lost those items)."""
    plan = P(group=Column(col, fmt), unit="mentions", where=(Not(ListHas(col, ("bug",), fmt)),))
    cols, rows = run(db, plan)
    expected = Counter(v for r in ROWS for v in set(_listed(r, col, fmt) or []) if v and v != "bug")
    assert {k: n for k, n in rows} == dict(expected)
    assert expected["ui"] > Counter(v for r in ROWS for v in set(_listed(r, col, fmt) or [])
                                    if "bug" not in (_listed(r, col, fmt) or []))["ui"]
    kept, out = plan.left_out_groups()
    assert kept == () and out == ("bug",)


def test_having_on_the_count_with_a_ranking_by_another_measure(db):
    """'of the categories with at least 6 reviews, which has the lowest average rating': the count decides which
    groups rank; the count column is shown once."""
    plan = P(measure=Measure("avg", "rating"), group=Column("cat"), having=Having(Measure("count"), ">=", 6),
             top=TopN(None, "asc"))
    cols, rows = run(db, plan)
    ratings = defaultdict(list)
    for r in ROWS:
        if r["cat"] is not None and r["rating"] is not None:
            ratings[r["cat"]].append(r["rating"])
    passing = {g: round(statistics.fmean(v), 4) for g, v in ratings.items() if len(v) >= 6}
    assert 0 < len(passing) < len(ratings)
    assert cols == ["cat", "avg_rating", "reviews"]
    assert [(g, a) for g, a, _ in rows] == sorted(passing.items(), key=lambda kv: (kv[1], kv[0]))


@pytest.mark.parametrize("col,fmt", [("labels", "json"), ("joined", "|")])
@pytest.mark.parametrize("op,n", [(">", 1), (">=", 1), ("<", 2), ("=", 0)])
def test_how_many_values_a_list_holds(db, col, fmt, op, n):
    """ListLen counts the distinct non-empty values of each item's list; an item with no list holds 0."""
    import operator

    f = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "=": operator.eq}[op]
    expected = sum(f(len({v for v in (_listed(r, col, fmt) or []) if v}), n) for r in ROWS)
    assert 0 < expected < len(ROWS)
    assert count(db, ListLen(col, op, n, fmt)) == expected


def test_having_keeps_the_groups_that_pass(db):
    plan = P(group=Column("cat"), having=Having(Measure("avg", "rating"), "<", 3.2))
    cols, rows = run(db, plan)
    ratings, sizes = defaultdict(list), Counter()
    for r in ROWS:
        if r["cat"] is not None:
            sizes[r["cat"]] += 1
            if r["rating"] is not None:
                ratings[r["cat"]].append(r["rating"])
    passing = {g for g, v in ratings.items() if statistics.fmean(v) < 3.2}
    assert 0 < len(passing) < len(ratings)
    assert cols == ["cat", "reviews", "avg_rating"]
    assert {r[0]: r[1] for r in rows} == {g: sizes[g] for g in passing}
    assert shape(plan).having == "avg_rating"


def test_top_n_keeps_ties_and_counts_all_groups(db):
    sizes = Counter(r["rating"] for r in ROWS if r["rating"] is not None)
    cols, rows = run(db, P(group=Column("rating"), top=TopN(1)))
    best = max(sizes.values())
    assert sorted(r[0] for r in rows) == sorted(k for k, v in sizes.items() if v == best)
    assert all(r[-1] == len(sizes) for r in rows) and cols[-1] == "all_groups"
    cols, rows = run(db, P(measure=Measure("avg", "score"), group=Column("cat"), top=TopN(2, "asc")))
    avgs = defaultdict(list)
    for r in ROWS:
        if r["cat"] is not None:
            avgs[r["cat"]].append(r["score"])
    low = sorted((round(statistics.fmean(v), 4), k) for k, v in avgs.items())[:2]
    assert [(r[0], r[1]) for r in rows] == [(k, a) for a, k in low]


def test_a_view_named_like_its_noun(db):
    """"reviews" is both the view and the count's column: ranking, ordering and comparing must not read it as the
    view's whole row."""
    sizes = Counter(r["cat"] for r in ROWS if r["cat"] is not None)
    plan = Plan(view="reviews", noun="reviews", group=Column("cat"), top=TopN(2))
    rows = run(db, plan)[1]
    cut = sorted(sizes.values(), reverse=True)[1]
    assert {r[0]: r[1] for r in rows} == {k: v for k, v in sizes.items() if v >= cut}
    years = Counter(r["created_at"].year for r in ROWS if r["created_at"] is not None)
    rows = run(db, Plan(view="reviews", noun="reviews", group=TimeGrain("year", "created_at"), top=TopN(1)))[1]
    assert sorted((int(r[0]), r[1]) for r in rows) == sorted(kv for kv in years.items() if kv[1] == max(years.values()))
    both = Compare(Side("a", (Eq("cat", "plain"),)), Side("b", (Eq("cat", "café"),)))
    assert [r[1] for r in run(db, Plan(view="reviews", noun="reviews", compare=both))[1]] == [
        sizes["plain"], sizes["café"]]


def test_top_n_by_group_is_time_order(db):
    cols, rows = run(db, P(group=TimeGrain("year", "created_at"), top=TopN(2, "desc", "group")))
    years = Counter(str(r["created_at"].year) for r in ROWS if r["created_at"] is not None)
    assert [r[0] for r in rows] == sorted(years, reverse=True)[:2]


def test_fewest_counts_groups_with_none_of_the_rows(db):
    plan = P(where=(TextMatch("text", ("battery",)),), group=Column("cat"), top=TopN(1, "asc"))
    counts = Counter({r["cat"]: 0 for r in ROWS if r["cat"] is not None})
    counts.update(r["cat"] for r in ROWS if r["cat"] is not None and "battery" in r["text"])
    assert min(counts.values()) == 0
    rows = run(db, plan)[1]
    assert {r[0] for r in rows} == {k for k, v in counts.items() if v == 0} and all(r[1] == 0 for r in rows)


# ---- compare -----------------------------------------------------------------------------------------------------
def test_compare_gives_one_row_per_side_in_order(db):
    a, b = Side("café", (Eq("cat", "café"),)), Side("O'Brien", (Eq("cat", "O'Brien"),))
    plan = P(measure=Measure("avg", "rating"), where=(Cmp("score", ">", -5),), compare=Compare(a, b))
    cols, rows = run(db, plan)

    def side(cat):
        v = [r["rating"] for r in ROWS if r["cat"] == cat and r["rating"] is not None and r["score"] > -5]
        return round(statistics.fmean(v), 4), len(v)

    assert cols == ["side", "avg_rating", "reviews"]
    assert rows == [["café", *side("café")], ["O'Brien", *side("O'Brien")]]
    rev = run(db, P(measure=Measure("avg", "rating"), compare=Compare(b, a)))[1]
    assert [r[0] for r in rev] == ["O'Brien", "café"]


def test_compare_share_and_count(db):
    a, b = Side("bug", (ListHas("labels", ("bug",)),)), Side("1 star", (Eq("rating", 1),))
    cols, rows = run(db, P(measure=Measure("share"), target=(TextMatch("text", ("crash",)),), compare=Compare(a, b)))
    assert cols == ["side", "percent", "matching", "total"]
    for (label, pct, m, t), pred in zip(rows, (lambda r: "bug" in (_listed(r, "labels", "json") or []),
                                               lambda r: r["rating"] == 1)):
        base = [r for r in ROWS if pred(r)]
        hit = sum(1 for r in base if "crash" in r["text"].lower())
        assert (m, t, pct) == (hit, len(base), round(100 * hit / len(base), 2)), label
    cols, rows = run(db, P(compare=Compare(a, b)))
    assert cols == ["side", "reviews"]
    assert [r[1] for r in rows] == [sum(1 for r in ROWS if "bug" in (_listed(r, "labels", "json") or [])),
                                    sum(1 for r in ROWS if r["rating"] == 1)]


# ---- examples, errors, fast table -----------------------------------------------------------------------------------
def test_examples_return_ids_newest_first_and_the_count_of_all(db):
    plan = P(measure=Measure("examples"), where=(TextMatch("text", ("crash",)),), limit=3)
    cols, rows = run(db, plan)
    hits = [r for r in ROWS if "crash" in r["text"].lower()]
    order = sorted(hits, key=lambda r: (r["created_at"] is None, -(r["created_at"].timestamp()
                                                                   if r["created_at"] else 0), r["item_id"]))
    assert cols == ["item_id", "text", "date", "matches"]
    assert [r[0] for r in rows] == [r["item_id"] for r in order]
    assert {r[3] for r in rows} == {len(hits)}


def test_compile_reads_the_given_table(db):
    plan = P(where=(Eq("cat", "plain"),))
    assert '"src"' in compile_sql(plan, "src") and run(db, plan, "src") == run(db, plan)
    assert columns_used(P(measure=Measure("avg", "rating"), where=(Not(Eq("cat", "x")),),
                          group=TimeGrain("year", "created_at"))) == {"rating", "cat", "created_at"}


@pytest.mark.parametrize("plan", [
    P(where=(Cmp("rating", "<", float("inf")),)),
    P(group=TimeGrain("decade", "created_at")),
    P(compare=Compare(Side("a", ()), Side("b", ())), group=Column("cat")),
    P(where=(Cmp("rating", "!~", 3),)),
    P(measure=Measure("avg")),
    P(top=TopN(3)),
    P(where=(ListHas("labels", ("x",), "/"),)),
])
def test_plans_that_break_the_rules_are_a_clear_error(plan):
    with pytest.raises(PlanError):
        compile_sql(plan)
