"""The plugin system: a real package installed with pip (entry-point group ``earful``) adds a loader, a classifier, an
LLM provider, a command, a migration and an after-ingest hook, through the same hooks as the built-ins; a broken
plugin is skipped with a message; stage migrations keep the names existing workspaces recorded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The README's "Extending Earful" examples, in one package (so the docs' code is the code under test).
TINY_PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "earful-tiny"
version = "0.1"
dependencies = ["earful"]

[project.entry-points.earful]
tiny = "earful_tiny"
"""

TINY_MODULE = '''\
"""A tiny Earful plugin: a loader for pipe-separated .tiny files, a keyword classifier, an LLM provider, a command,
a table of its own (a migration) and an after-ingest hook."""
import numpy as np
import typer

from earful.classify.base import Classifier
from earful.ingest.base import Loaded, Loader
from earful.llm.base import Provider
from earful.plugins import hookimpl


class TinyLoader(Loader):
    """``text|rating`` lines with a header row."""

    name, extensions = "tiny", (".tiny",)

    def load(self, con, path, options):
        quoted = str(path).replace("'", "''")
        rel = con.sql(f"SELECT * FROM read_csv('{quoted}', delim='|', header=true, all_varchar=true)")
        return Loaded(relation=rel, loader=self.name, numbered=False)


class KeywordMatch(Classifier):
    """Labels an item with the first label whose name occurs in its text; no training needed."""

    name, uses_vectors = "keyword_match", False

    def fit(self, inputs, y=None):
        return self

    def predict_proba(self, inputs):
        proba = np.full((len(inputs.texts), len(self.classes_)), 1e-6)
        for i, text in enumerate(inputs.texts):
            hits = [j for j, c in enumerate(self.classes_) if c.lower() in text.lower()] or [0]
            proba[i, hits[0]] = 1.0
        return proba / proba.sum(axis=1, keepdims=True)


class Mistral(Provider):
    name, langchain_provider, key_env, package = "mistral", "mistralai", "MISTRAL_API_KEY", "langchain-mistralai"


@hookimpl
def register_loaders(register):
    register(TinyLoader())


@hookimpl
def register_classifiers(register):
    register(KeywordMatch)


@hookimpl
def register_llm_providers(register):
    register(Mistral())


@hookimpl
def register_commands(app):
    @app.command(name="tiny-hello")
    def hello(name: str = "world"):
        """Say hello from the tiny plugin."""
        typer.echo(f"hello, {name}")


def migrate(con):
    con.execute("CREATE TABLE tiny_seen (source VARCHAR, seen_at TIMESTAMPTZ DEFAULT current_timestamp)")


@hookimpl
def register_migrations(register):
    register(migrate, "m1000_tiny")


@hookimpl
def after_ingest(store, source):
    store.con.execute("INSERT INTO tiny_seen (source) VALUES (?)", [source])
    return {"tiny": {"seen": source}}
'''

BROKEN_PYPROJECT = TINY_PYPROJECT.replace("earful-tiny", "earful-broken").replace('tiny = "earful_tiny"',
                                                                                  'broken = "earful_broken"')


def _pip_install(src: Path, site: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--no-index", "--target", str(site), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A site folder with the tiny plugin and a broken one, installed by pip from their own pyproject.toml."""
    base = tmp_path_factory.mktemp("plugins")
    site = base / "site"
    for name, pyproject, module in (("earful_tiny", TINY_PYPROJECT, TINY_MODULE),
                                    ("earful_broken", BROKEN_PYPROJECT, "import earful_no_such_module\n")):
        src = base / name
        src.mkdir()
        (src / "pyproject.toml").write_text(pyproject)
        (src / f"{name}.py").write_text(module)
        _pip_install(src, site)
    return site


def _run(site: Path, *argv: str, env_extra: dict | None = None, cwd: Path | None = None):
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           **(env_extra or {})}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd or ROOT,
                          timeout=300)


def _cli(site: Path, *args: str, **kw):
    return _run(site, "-c", "from earful.cli import main; main()", *args, **kw)


@pytest.mark.slow  # six CLI subprocesses
def test_installed_plugin_adds_command_loader_migration_and_hook(plugin_site, tmp_path):
    r = _cli(plugin_site, "--help")
    assert r.returncode == 0, r.stderr
    assert "tiny-hello" in r.stdout and "ingest" in r.stdout
    assert "the Earful plugin 'broken'" in r.stderr and "pip uninstall earful-broken" in r.stderr  # skipped, named
    assert _cli(plugin_site, "tiny-hello", "--name", "earful").stdout.strip() == "hello, earful"

    data = tmp_path / "notes.tiny"
    data.write_text("text|rating\nthe app crashes on start|1\nlove the dark mode|5\nsync is slow|2\n")
    db = tmp_path / "w.duckdb"
    r = _cli(plugin_site, "--db", str(db), "ingest", str(data), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["added"] == 3 and summary["tiny"] == {"seen": "notes"}   # after_ingest's result
    r = _cli(plugin_site, "--db", str(db), "sql", "SELECT count(*) AS n FROM tiny_seen", "--json")
    assert json.loads(r.stdout)["rows"] == [[1]]                               # the plugin's own migration ran
    r = _cli(plugin_site, "--db", str(db), "sql",
             "SELECT loader FROM batches WHERE source = 'notes'", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows"] == [["tiny"]]


@pytest.mark.slow
def test_installed_plugin_adds_classifier_and_provider(plugin_site):
    code = textwrap.dedent("""
        import json
        from earful.classify.base import Inputs, Label, Taxonomy, classifier_names, make_classifier
        from earful.llm.base import PROVIDERS, parse_spec, provider_for
        from earful.plugins import plugin_names

        tax = Taxonomy(name="t", labels=[Label(name="crash"), Label(name="slow")])
        clf = make_classifier("keyword_match", tax).fit(Inputs(texts=[]), [])
        print(json.dumps({"names": classifier_names(), "offline": classifier_names(offline_only=True),
                          "pred": clf.predict(Inputs(texts=["it is slow", "crash again"])),
                          "provider": provider_for(parse_spec("mistral:mistral-small-latest")[0]).key_env,
                          "providers": list(PROVIDERS), "plugins": plugin_names()}))
    """)
    r = _run(plugin_site, "-c", code)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["names"][-1] == "keyword_match" and "joint" in out["names"]   # built-ins first, then plugins
    assert "keyword_match" in out["offline"]
    assert out["pred"] == ["slow", "crash"]
    assert out["provider"] == "MISTRAL_API_KEY" and out["providers"][-1] == "mistral"
    assert out["plugins"] == ["tiny"]                                          # the broken one is not loaded


def test_no_plugins_switch_loads_builtins_only(plugin_site):
    r = _cli(plugin_site, "--help", env_extra={"EARFUL_NO_PLUGINS": "1"})
    assert r.returncode == 0 and "tiny-hello" not in r.stdout and "classify" in r.stdout and not r.stderr


# -- migrations: the stages own their tables, the recorded names stay ----------------------------------------------
HISTORICAL = ["m0001_core", "m0002_items_zstd", "m0100_classify", "m0110_classify_models", "m0200_topics",
              "m0300_llm"]


def test_stage_migrations_keep_recorded_names_and_order():
    from earful.store.migrations import available, registered

    assert [n for n in available() if n in HISTORICAL] == HISTORICAL   # later ones may be added, never renamed
    owners = {name: fn.__module__ for name, fn in registered().items()}
    assert owners["m0100_classify"].startswith("earful.classify.migrations")
    assert owners["m0200_topics"].startswith("earful.topics.migrations")
    assert not any(m.startswith("earful.store") for n, m in owners.items() if n in ("m0100_classify", "m0200_topics"))


def test_workspace_recorded_before_the_move_reruns_nothing(tmp_path):
    """A workspace whose `_migrations` holds the names it recorded when the core owned every table: opening it with
    the stage-owned migrations applies nothing (a re-run would fail: CREATE TABLE of an existing table)."""
    import duckdb

    from earful.store import Store
    from earful.store.migrations import apply, registered

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    for name, migrate in registered().items():
        if name in HISTORICAL:
            migrate(con)
            con.execute("INSERT INTO _migrations VALUES (?, TIMESTAMPTZ '2025-01-01 00:00:00+00')", [name])
    assert not set(apply(con)) & set(HISTORICAL)   # only migrations added since then may run
    con.close()
    with Store(path) as s:
        assert s.scalar("SELECT count(*) FROM _migrations WHERE applied_at < TIMESTAMPTZ '2025-01-02 00:00:00+00'") == 6
        tables = {r[0] for r in s.rows("SELECT table_name FROM information_schema.tables")}
    assert {"items", "classify_labels", "classify_runs", "topics", "topic_assignments", "llm_calls"} <= tables


def test_duplicate_or_malformed_migration_name_is_an_error():
    from earful.errors import EarfulError
    from earful.plugins import hookimpl, manager
    from earful.store.migrations import registered

    class Clash:
        @hookimpl
        def register_migrations(self, register):
            register(lambda con: None, "m0100_classify")

    class BadName:
        @hookimpl
        def register_migrations(self, register):
            register(lambda con: None, "tiny_tables")

    for plugin, message in ((Clash(), "two migrations are named 'm0100_classify'"), (BadName(), "not 'mNNNN_")):
        manager().register(plugin)
        try:
            with pytest.raises(EarfulError, match=message):
                registered()
        finally:
            manager().unregister(plugin)


# -- the lazy registry -----------------------------------------------------------------------------------------------
def test_registry_fills_once_in_registration_order_and_direct_entries_win():
    from earful.plugins import Registry, hookimpl, manager

    calls = []

    class Late:
        @hookimpl
        def register_loaders(self, register):
            calls.append("late")
            register("replaced", name="csv")
            register("new", name="zz_new")

    manager().register(Late())
    try:
        reg = Registry("register_loaders", "loader")
        reg["direct"] = "mine"            # a direct entry before the fill survives it
        assert calls == []                # nothing is loaded until a lookup
        names = list(reg)
        assert names[:2] == ["csv", "json"] and names[-2:] == ["zz_new", "direct"]   # replaced in place
        assert reg["csv"] == "replaced"   # a later registration of a name replaces the earlier one
        list(reg), len(reg)
        assert calls == ["late"]          # filled once
        del reg["direct"]
        assert "direct" not in reg
    finally:
        for p in [p for p in manager().get_plugins() if isinstance(p, Late)]:
            manager().unregister(p)
