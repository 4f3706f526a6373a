"""The `earful classify` commands end to end through the real CLI on 300 real CLAP reviews with gold categories."""
from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import run_cli, shared

pytestmark = pytest.mark.slow   # every test here takes more than ~3 s: `make test-fast` skips them


def _ok(r):
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def test_classify_cli_flow(tmp_path):
    src = shared("clap_app_reviews/reviews.csv")
    lines = src.read_text(encoding="utf-8").splitlines(True)
    sample = tmp_path / "clap.csv"
    sample.write_text("".join(lines[:301]), encoding="utf-8")
    db = tmp_path / "w.duckdb"
    _ok(run_cli("ingest", sample, "--source", "clap", db=db))
    unlabelled = tmp_path / "new.csv"  # 100 later reviews without their category: what a team would classify
    with unlabelled.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "review", "rating"])
        for row in list(csv.DictReader(lines[:1] + lines[301:401]))[:100]:
            w.writerow([row["id"], row["review"], row["rating"]])
    _ok(run_cli("ingest", unlabelled, "--source", "new", "--text", "review", db=db))

    ev = json.loads(_ok(run_cli("classify", "eval", "-t", "clap_category", "--gold-column", "category",
                                "--methods", "tfidf", "--folds", "3", "--json", db=db)).stdout)
    assert set(ev["methods"]) == {"tfidf"}
    for m in ev["methods"].values():
        assert 0 <= m["macro_f1"] <= m["accuracy"] + 1 and 0 < m["accuracy"] <= 1
        assert sum(map(sum, m["confusion"])) == 300
    majority = max(c["support"] for c in ev["methods"]["tfidf"]["per_class"]) / 300
    assert ev["methods"]["tfidf"]["accuracy"] > majority

    tr = json.loads(_ok(run_cli("classify", "train", "-t", "clap_category", "--method", "tfidf", "--json",
                                db=db)).stdout)
    assert tr["n_train"] == 300 and tr["model_version"].startswith("tfidf-")
    run = json.loads(_ok(run_cli("classify", "run", "-t", "clap_category", "--json", db=db)).stdout)
    assert run["labelled"] == 400 and run["model_version"] == tr["model_version"]
    again = json.loads(_ok(run_cli("classify", "run", "-t", "clap_category", "--json", db=db)).stdout)
    assert again["labelled"] == 0, "a second run only labels what is unlabelled"

    sh = json.loads(_ok(run_cli("classify", "shares", "-t", "clap_category", "--json", db=db)).stdout)
    assert "confusion matrix" in sh["basis"] and sh["n"] == 400 and sh["n_gold"] == 300
    new = json.loads(_ok(run_cli("classify", "shares", "-t", "clap_category", "--source", "new", "--json",
                                 db=db)).stdout)
    assert new["n"] == 100 and new["n_gold"] == 0
    assert any(d["high"] - d["low"] > 0.05 for d in new["labels"]), "estimated shares carry uncertainty"
    assert abs(sum(d["share"] for d in sh["labels"]) - 1) < 1e-3
    assert all(d["low"] <= d["share"] <= d["high"] for d in sh["labels"])

    out = tmp_path / "review.csv"
    _ok(run_cli("classify", "review", "-t", "clap_category", "--export", out, "--n", "5", db=db))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 5 and float(rows[0]["probability"]) <= float(rows[-1]["probability"])
    rows[0]["label"] = "SECURITY" if rows[0]["predicted"] != "SECURITY" else "ENERGY"
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    imp = json.loads(_ok(run_cli("classify", "review", "-t", "clap_category", "--import", out, "--json",
                                 db=db)).stdout)
    assert imp == {"imported": 5, "corrected": 1, "taxonomy": "clap_category"}
    r = _ok(run_cli("sql", f"SELECT clap_category FROM clap WHERE item_id = '{rows[0]['item_id']}' UNION ALL "
                           f"SELECT clap_category FROM new WHERE item_id = '{rows[0]['item_id']}'", "--json", db=db))
    assert rows[0]["label"] in r.stdout

    tx = json.loads(_ok(run_cli("classify", "taxonomies", "--json", db=db)).stdout)
    assert {"clap_category", "feedback_type"} <= {t["name"] for t in tx}

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlabels: [a, b\n", encoding="utf-8")
    r = run_cli("classify", "run", "-t", bad, db=db)
    assert r.returncode == 2 and "not valid YAML" in r.stderr
    r = run_cli("classify", "run", "-t", "clap_category", "--method", "llm", db=db)
    assert r.returncode == 2 and "EARFUL_LLM" in r.stderr
