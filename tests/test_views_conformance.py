"""One conformance suite over every registered view-column provider (ibis's backend suite is the model).

A view-column provider is a function ``(con, source) -> [SELECT expression ending "AS <name>"]`` that a stage
registers; its columns appear in every source's wide view once the stage has produced something. A provider is a
function, not a class, so its fixture lives here: `SAMPLES` maps the provider's registered name to the real stage
work that makes its columns exist and the columns it must then give. Registering a provider without a sample fails
`test_every_view_column_provider_has_a_sample`, so a new provider is tested by registering it.

Real parts: 70 bundled URR reviews in two sources, real DuckDB files, the packaged MiniLM model, the stages' own
runners (self-trained classification, a topic fit with the registered PCA + KMeans stand-in backend).
"""
from __future__ import annotations

import re
import shutil

import pytest

from earful.store.views import VIEW_COLUMN_PROVIDERS, derived_names
from tests.conftest import urr_sample

SOURCES = {"reviews": slice(0, 40), "tickets": slice(40, 70)}


def classify_sentiment(store) -> list[str]:
    """`earful classify run --taxonomy sentiment` (offline: self-trained from the label descriptions)."""
    from earful.classify.runner import prepare
    from earful.classify.workspace import label_items

    tax, clf, version, features, extra_names = prepare(store, "sentiment", "offline")
    label_items(store, tax, clf, method=clf.name, version=version, features=features, extra_names=extra_names)
    return ["sentiment", "sentiment_confidence"]


def fit_topics_standin(store) -> list[str]:
    """`earful topics fit` with the registered stand-in backend (PCA + KMeans, seconds)."""
    from earful.topics.fit import fit_topics

    fit_topics(store, backend="pca-kmeans-standin", backend_params={"n_topics": 3})
    return ["topic_id", "topic"]


# registered provider name -> the stage work that makes its columns exist; returns the columns it must then give
SAMPLES = {
    "classify": classify_sentiment,
    "topics": fit_topics_standin,
}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    from earful.embeddings import embed_items
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    d = tmp_path_factory.mktemp("views_conf")
    with Store(d / "base.duckdb") as s:
        for source, rows in SOURCES.items():
            assert ingest_file(s, urr_sample(d / f"{source}.csv", rows), source=source)["added"] > 0
        embed_items(s)
    urr_sample(d / "late.csv", slice(70, 80))
    return d


@pytest.fixture
def ws(base_db, tmp_path):
    from earful.store import Store

    shutil.copy(base_db / "base.duckdb", tmp_path / "w.duckdb")
    s = Store(tmp_path / "w.duckdb")
    s.late_csv = base_db / "late.csv"
    yield s
    s.close()


def view_columns_of(store, source: str) -> list[str]:
    return [r[0] for r in store.rows(f'DESCRIBE "{source}"')]


def check_expressions(exprs) -> list[str]:
    assert isinstance(exprs, list) and all(isinstance(e, str) for e in exprs)
    aliases = []
    for e in exprs:
        m = re.search(r"\sAS\s+(\"[^\"]+\"|\w+)\s*$", e)
        assert m, f"a view-column expression must end with AS <name>: {e!r}"
        aliases.append(m.group(1).strip('"'))
    return aliases


def test_every_view_column_provider_has_a_sample():
    assert {"classify", "topics"} <= set(VIEW_COLUMN_PROVIDERS)
    missing = sorted(set(VIEW_COLUMN_PROVIDERS) - set(SAMPLES))
    assert not missing, f"view-column providers registered without a sample in SAMPLES: {missing}"


@pytest.mark.parametrize("name", list(VIEW_COLUMN_PROVIDERS))
def test_view_column_provider_conformance(name, ws):
    from earful.ingest.pipeline import ingest_file

    if name not in SAMPLES:
        pytest.fail(f"view-column provider {name} has no sample in SAMPLES")
    provider = VIEW_COLUMN_PROVIDERS[name]
    # before its stage ran: a valid (usually empty) list, and the views still work
    for source in SOURCES:
        check_expressions(provider(ws.con, source))
        assert ws.scalar(f'SELECT count(*) FROM "{source}"') > 0

    expected = SAMPLES[name](ws)

    for source, rows in SOURCES.items():
        aliases = check_expressions(provider(ws.con, source))
        assert set(expected) <= set(aliases), f"{name}: {source} gives {aliases}"
        cols = view_columns_of(ws, source)
        assert set(expected) <= set(cols), f"{name}: {expected} not in the {source} view ({cols})"
        n = ws.scalar("SELECT count(*) FROM items WHERE source = ?", [source])
        assert n == rows.stop - rows.start
        for col in expected:   # the stage's values for every item of this source, and only its items
            assert ws.scalar(f'SELECT count("{col}") FROM "{source}"') == n, f"{name}: {source}.{col} has NULLs"
    assert set(expected) <= derived_names(ws.con, list(SOURCES))

    # a source ingested later: its view works at once, and has the columns once the stage has run over it
    ingest_file(ws, ws.late_csv, source="late")
    check_expressions(provider(ws.con, "late"))
    assert ws.scalar('SELECT count(*) FROM "late"') == 10
    assert SAMPLES[name](ws) == expected
    for col in expected:
        assert ws.scalar(f'SELECT count("{col}") FROM "late"') == 10, f"{name}: late.{col}"
