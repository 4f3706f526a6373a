"""Unit labels for profiles (`classify.unit_text`): a unit (one task answered and judged several times) is labelled
once from all of its texts, every item of the unit gets that label, and the profile reads it through ``--labels``.
Real workspaces in tmp_path; small synthetic units where the answers alone do not say the category and the judge's
critiques do, and a slice of the bundled WildBench data against the hand-labelled tasks. Also: the agent's prompt
names the topics tree, and the WildBench taxonomy of the five groups.
"""
from __future__ import annotations

import gzip
import json
from importlib.resources import files
from pathlib import Path

import pytest

from earful.classify.base import parse_taxonomy
from earful.errors import InputError
from tests.conftest import shared

TAX = """
name: kinds
labels:
  - name: code
    description: writes or fixes program code in Python or JavaScript
    examples: ["Here is a Python function", "the bug is in the loop"]
  - name: poem
    description: writes a poem, verse or song with rhyme
    examples: ["Roses whisper to the moon", "a sonnet about the sea"]
  - name: maths
    description: solves an equation or computes a probability
    examples: ["x = 4, so the answer is", "the derivative of f is"]
"""
WORDS = {"code": ["Python function", "JavaScript snippet", "loop bug", "code fix", "program code", "Python class"],
         "poem": ["rhyme scheme", "poem verse", "song lyrics", "sonnet rhyme", "verse imagery", "poem stanza"],
         "maths": ["equation solved", "probability computed", "equation steps", "derivative computed",
                   "probability answer", "equation answer"]}
GENERIC = ["Sure, here you go.", "Here is my answer.", "I hope this helps!", "Certainly, see below."]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture()
def units_ws(tmp_path):
    """30 units (10 per kind) x 3 models: answers say nothing about the kind, the judge's critiques do."""
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    answers, critiques, truth = [], [], {}
    for u in range(30):
        kind = list(WORDS)[u % 3]
        truth[f"u{u:02}"] = kind
        for m, model in enumerate(("alpha", "beta", "gamma")):
            answers.append({"id": f"u{u:02}|{model}", "unit": f"u{u:02}", "model": model,
                            "answer": GENERIC[(u + m) % 4] + f" (answer {u}-{m})"})
            w = WORDS[kind]
            critiques.append({"unit": f"u{u:02}", "model": model, "score": 5 + m,
                              "critique": f"The response gives the {w[(u + m) % 6]} asked for; the "
                                          f"{w[(u + 2 * m + 1) % 6]} could be clearer (critique {u}-{m})."})
    _write(tmp_path / "answers.jsonl", answers)
    _write(tmp_path / "critiques.jsonl", critiques)
    db = tmp_path / "w.duckdb"
    with Store(db) as s:
        ingest_file(s, tmp_path / "answers.jsonl", source="answers", overrides={"text": "answer", "id": "id"})
        ingest_file(s, tmp_path / "critiques.jsonl", source="critiques", overrides={"text": "critique"})
    return db, truth


def _labels(s, source):
    return dict(s.rows(f"SELECT v.unit, l.label FROM {source} v JOIN classify_labels l ON l.item_id = v.item_id "
                       "AND l.taxonomy = 'kinds'"))


def test_units_are_labelled_from_all_their_texts(units_ws):
    from earful.classify.unit_text import label_units, unit_documents
    from earful.store import Store

    db, truth = units_ws
    with Store(db) as s:
        units, docs, members = unit_documents(s, "answers", "unit", ["critiques"])
        assert units == sorted(truth) and all(len(members[u]) == 6 for u in units)   # 3 answers + 3 critiques
        assert "critique 0-2" in docs[0] and "answer 0-0" in docs[0]
        r = label_units(s, parse_taxonomy(TAX), "answers", "unit", with_sources=["critiques"])
        assert r["units"] == 30 and r["items"] == 180 and r["method"] == "unit_selftrained"
        per_unit = s.rows("SELECT v.unit, count(DISTINCT l.label), count(*) FROM answers v JOIN classify_labels l "
                          "ON l.item_id = v.item_id AND l.taxonomy = 'kinds' GROUP BY 1")
        assert len(per_unit) == 30 and all(n_labels == 1 and n == 3 for _, n_labels, n in per_unit)
        got = _labels(s, "answers")
        assert _labels(s, "critiques") == got   # the critiques' items carry their unit's label too
        assert sum(got[u] == truth[u] for u in truth) >= 27
        # from the answers alone the kind cannot be told: the critiques are what labels the units
        alone = label_units(s, parse_taxonomy(TAX.replace("name: kinds", "name: kinds_alone")), "answers", "unit")
        assert alone["units"] == 30
        only = dict(s.rows("SELECT v.unit, l.label FROM answers v JOIN classify_labels l ON l.item_id = v.item_id "
                           "AND l.taxonomy = 'kinds_alone'"))
        assert sum(only[u] == truth[u] for u in truth) < 20


def test_unit_labels_reach_the_profile_and_keep_human_labels(units_ws):
    from earful.classify.unit_text import label_units
    from earful.qa_agent.profiles import build_profile
    from earful.store import Store

    db, truth = units_ws
    with Store(db) as s:
        iid = s.rows("SELECT item_id FROM answers WHERE unit = 'u00' AND model = 'alpha'")[0][0]
        s.con.execute("INSERT INTO classify_labels (item_id, taxonomy, label, labels, probability, method) VALUES "
                      "(?, 'kinds', 'poem', ['poem'], 1.0, 'human')", [iid])
        r = label_units(s, parse_taxonomy(TAX), "answers", "unit", with_sources=["critiques"])
        assert r["items"] == 179   # the item a person labelled is left alone
        assert s.rows("SELECT label, method FROM classify_labels WHERE item_id = ? AND taxonomy = 'kinds'",
                      [iid]) == [("poem", "human")]
        got = dict(s.rows("SELECT v.unit, l.label FROM critiques v JOIN classify_labels l ON l.item_id = v.item_id "
                          "AND l.taxonomy = 'kinds'"))
    prof = build_profile(db, "critiques", "model", "score", labels="kinds", unit_column="unit",
                         category_source="answers", quotes=0)
    for kind in WORDS:
        v = prof.tree.resolve(kind)[0]
        s = prof.all_subjects.index("alpha")
        assert prof.n[s, v] == sum(lab == kind for lab in got.values())   # one critique of alpha per unit


def test_unit_labels_say_what_is_wrong(units_ws):
    from earful.classify.unit_text import label_units
    from earful.store import Store

    db, _ = units_ws
    bare = parse_taxonomy("name: bare\nlabels: [code, poem, maths]")
    with Store(db) as s:
        with pytest.raises(InputError, match="no label descriptions"):
            label_units(s, bare, "answers", "unit")
        with pytest.raises(InputError, match="no unit column 'task'"):
            label_units(s, parse_taxonomy(TAX), "answers", "task")


def test_wildbench_tasks_labelled_from_responses_and_critiques(tmp_path):
    """The 60 hand-labelled WildBench tasks (8 responses' first 320 characters + 8 critiques each), labelled as units
    with the WildBench taxonomy: far more tasks get the hand tag than the 15 of 60 that labelling each response and
    voting got on all 1,024 tasks (bench/profiles_wildbench.py)."""
    from earful.classify.unit_text import label_units
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent.profiles.wildbench import TAG_TO_GROUP, taxonomy_yaml
    from earful.store import Store

    hand = json.loads((Path(__file__).resolve().parent.parent / "bench" / "data" / "wildbench_hand_labels.json")
                      .read_text(encoding="utf-8"))["tasks"]
    want = {t["session_id"]: t["tag"] for t in hand}
    data = shared("wildbench_v2_critiques")
    crit = [r for r in map(json.loads, open(f"{data}/critiques.jsonl", encoding="utf-8")) if r["session_id"] in want]
    with gzip.open(f"{data}/model_outputs.jsonl.gz", "rt", encoding="utf-8") as f:
        outs = [{"id": f"{r['session_id']}|{r['model']}", "session_id": r["session_id"], "model": r["model"],
                 "model_output": r["model_output"][:320]}
                for r in map(json.loads, f) if r["session_id"] in want]
    _write(tmp_path / "c.jsonl", [{k: v for k, v in r.items() if k != "extra_parsed_fields"} for r in crit])
    _write(tmp_path / "o.jsonl", outs)
    with Store(tmp_path / "w.duckdb") as s:
        ingest_file(s, tmp_path / "c.jsonl", source="critiques")
        ingest_file(s, tmp_path / "o.jsonl", source="outputs", overrides={"text": "model_output", "id": "id"})
        r = label_units(s, parse_taxonomy(taxonomy_yaml("wb_units")), "outputs", "session_id",
                        with_sources=["critiques"])
        got = dict(s.rows("SELECT v.session_id, l.label FROM outputs v JOIN classify_labels l ON "
                          "l.item_id = v.item_id AND l.taxonomy = 'wb_units'"))
    assert r["units"] == 60
    tags = sum(got[t] == want[t] for t in want)
    groups = sum(TAG_TO_GROUP[got[t]] == TAG_TO_GROUP[want[t]] for t in want)
    assert tags >= 30 and groups >= 42, (tags, groups)   # measured 35 / 49


def test_wildbench_taxonomy_of_the_five_groups():
    from earful.qa_agent.profiles.wildbench import GROUPS, taxonomy_yaml, wildbench_tree

    tax = parse_taxonomy(taxonomy_yaml("wb_groups", groups=True))
    assert tax.label_names == list(GROUPS)
    assert all(lab.description and lab.examples for lab in tax.labels)
    tree = wildbench_tree()

    def top_of(i):
        while tree.nodes[i].parent:
            i = tree.nodes[i].parent
        return i
    # each group label lands in its own top-level node ("Coding & Debugging": the tag of that name under it)
    assert [top_of(tree.resolve(g)[0]) for g in GROUPS] == tree.top


def test_agent_prompt_names_the_topics_tree():
    text = (files("earful.qa_agent.prompts") / "agent.v3.yaml").read_text(encoding="utf-8")
    assert '"tree": "topics"' in text


def test_classify_run_labels_units_from_the_cli(units_ws, tmp_path):
    """`earful classify run --unit-column --unit-text`: the same unit labels through the real CLI; misuse exits 2."""
    from tests.conftest import run_cli, sql_rows

    db, truth = units_ws
    tax = tmp_path / "kinds.yaml"
    tax.write_text(TAX, encoding="utf-8")
    res = run_cli("classify", "run", "-t", str(tax), "--source", "answers", "--unit-column", "unit",
                  "--unit-text", "critiques", "--json", db=db)
    assert res.returncode == 0, res.stderr + res.stdout
    out = json.loads(res.stdout)
    assert out["units"] == 30 and out["items"] == 180 and out["method"] == "unit_selftrained"
    got = dict(sql_rows(db, "SELECT v.unit, any_value(l.label) FROM answers v JOIN classify_labels l "
                            "ON l.item_id = v.item_id AND l.taxonomy = 'kinds' GROUP BY 1 "
                            "HAVING count(DISTINCT l.label) = 1"))
    assert len(got) == 30 and sum(got[u] == truth[u] for u in truth) >= 27   # one label per unit, mostly right
    for args, msg in ((["--unit-text", "critiques", "--source", "answers"], "needs --unit-column"),
                      (["--unit-column", "unit"], "needs --source"),
                      (["--unit-column", "unit", "--source", "answers", "--method", "llm"], "does not combine"),
                      (["--unit-column", "task", "--source", "answers"], "no unit column 'task'")):
        bad = run_cli("classify", "run", "-t", str(tax), *args, db=db)
        assert bad.returncode == 2 and msg in bad.stderr + bad.stdout, (args, bad.stderr + bad.stdout)


def test_the_shipped_wildbench_taxonomy_file_is_the_code_s():
    """examples/taxonomies/wildbench_tasks.yaml (what the README's profile uses) says what taxonomy_yaml says."""
    import yaml

    from earful.qa_agent.profiles.wildbench import taxonomy_yaml

    shipped = Path(__file__).resolve().parent.parent / "examples" / "taxonomies" / "wildbench_tasks.yaml"
    assert yaml.safe_load(shipped.read_text(encoding="utf-8")) == yaml.safe_load(taxonomy_yaml("wildbench_tasks"))
