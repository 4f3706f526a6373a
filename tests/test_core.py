"""Core plumbing: migrations, config precedence, read-only SQL, embedding cache, the per-source view."""
import json

import pytest

from earful.config import load_settings
from earful.errors import ConfigError, ReadOnlyError
from tests.conftest import EXAMPLES, run_cli


def test_migrations_recorded_once(tmp_path):
    from earful.store import Store
    from earful.store.migrations import available

    with Store(tmp_path / "a.duckdb") as s:
        names = [r[0] for r in s.rows("SELECT name FROM _migrations ORDER BY name")]
    assert names == available()
    with Store(tmp_path / "a.duckdb") as s:  # reopening applies nothing twice
        assert s.scalar("SELECT count(*) FROM _migrations") == len(names)


def test_config_precedence(tmp_path):
    cfg = tmp_path / "earful.toml"
    cfg.write_text('db = "file.duckdb"\n[llm]\nmodel = "openai:gpt-4o-mini"\n')
    s = load_settings(cfg, environ={})
    assert (s.db, s.llm.model) == ("file.duckdb", "openai:gpt-4o-mini")
    s = load_settings(cfg, environ={"EARFUL_DB": "env.duckdb", "EARFUL_LLM": "none"})
    assert (s.db, s.llm.model) == ("env.duckdb", "none")
    s = load_settings(cfg, {"db": "flag.duckdb"}, environ={"EARFUL_DB": "env.duckdb"})
    assert s.db == "flag.duckdb"


def test_config_misspelt_key_is_an_error(tmp_path):
    cfg = tmp_path / "earful.toml"
    cfg.write_text('[llm]\nmodle = "x"\n')
    with pytest.raises(ConfigError, match="llm.modle"):
        load_settings(cfg, environ={})


@pytest.mark.slow
def test_sql_refuses_writes_and_file_access(tmp_path):
    db = tmp_path / "w.duckdb"
    assert run_cli("ingest", EXAMPLES / "tizard_forum_sentences.csv", "--source", "forum", db=db).returncode == 0
    from earful.store.readonly import run_read_only

    for bad in ["DELETE FROM items", "DROP VIEW forum", "INSERT INTO items SELECT * FROM items",
                "ATTACH 'x.duckdb' AS x", "COPY items TO '/tmp/x.csv'", "INSTALL httpfs", "CREATE TABLE t(a INT)"]:
        with pytest.raises(ReadOnlyError):
            run_read_only(str(db), bad)
    with pytest.raises(ReadOnlyError):
        run_read_only(str(db), "SELECT * FROM read_csv('/etc/passwd')")
    r = run_cli("sql", "DELETE FROM items", db=db)
    assert r.returncode == 2 and "read-only" in r.stderr
    r = run_cli("sql", "SELECT product, count(*) AS n FROM forum GROUP BY 1 ORDER BY 1", "--json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == [["Firefox", 1700], ["VLC", 2110]]


@pytest.mark.slow
def test_embedding_cache_hits(store, tmp_path):
    import csv

    from earful.embeddings import Embedder, embed_items, similar
    from earful.ingest.pipeline import ingest_file

    # 50 real forum sentences (16 about video or playback) prove the cache as well as all 3,810 did, 70x faster
    with open(EXAMPLES / "tizard_forum_sentences.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))[:51]
    sample = tmp_path / "tizard_50.csv"
    with open(sample, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    ingest_file(store, sample, source="forum")
    first = embed_items(store, Embedder())
    distinct = store.scalar("SELECT count(DISTINCT content_hash) FROM items")
    assert 40 < distinct <= 50
    assert first == {"embedded": distinct, "cached": 0}
    assert embed_items(store, Embedder()) == {"embedded": 0, "cached": distinct}
    hits = similar(store, "the video stutters during playback", k=5)
    assert len(hits) == 5 and hits[0]["score"] >= hits[-1]["score"]
    assert any(w in hits[0]["text"].lower() for w in ("video", "playback", "stutter"))


def test_sql_shows_cell_text_as_written(tmp_path):
    """rich read '[b]...[/b]' and '[llm]' in a cell as markup: the review text shown was not the text stored."""
    from tests.conftest import run_cli, workspace_from_rows

    rows = [{"review_id": "r1", "review_text": "set [llm] model, then [b]it crashes[/b] on start"}]
    db = workspace_from_rows(tmp_path, rows)
    res = run_cli("sql", "SELECT text FROM reviews", db=db)
    assert res.returncode == 0, res.stderr
    assert "[llm]" in res.stdout and "[b]it crashes[/b]" in res.stdout


def test_ingest_summary_shows_column_names_as_written(tmp_path):
    """The detection line is rich markup around data: a column named '[b]review[/b]' was printed as 'review'."""
    from tests.conftest import run_cli

    path = tmp_path / "odd.csv"
    path.write_text("id,[b]review[/b]\n1,first\n2,second\n", encoding="utf-8")
    res = run_cli("ingest", str(path), "--text", "[b]review[/b]", db=tmp_path / "w.duckdb")
    assert res.returncode == 0, res.stderr
    assert "text=[b]review[/b]" in res.stdout.replace("\n", "")
