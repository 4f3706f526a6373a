"""Earful's WildBench profile, built offline from the judged responses, against WildBench's published per-category
scores: each model's weakest and strongest of the five task groups, rank correlations, and how well the offline
labels agree with a hand-checked sample of tasks.

How the profile is built (all offline, the real CLI): the critiques are ingested (source ``critiques``); every judged
response (``model_outputs.jsonl.gz``, its first `--chars` characters: MiniLM reads at most 256 tokens anyway, and
embedding 8,000 texts on 2 shared cores costs ~1 s per text per 1,000 characters) is ingested as source
``outputs``; ``earful classify run`` labels every response with WildBench's twelve task tags (no gold, no LLM: the
self-trained zero-shot path), twice: ``wildbench_plain`` reads the tags' descriptions only, ``wildbench_tasks`` also
response-like examples (`earful.qa_agent.profiles.wildbench.EXAMPLES`); the profile then gives each task the
label its 8 responses vote for (``--labels wildbench_tasks --category-source outputs --unit-column session_id``,
majority, ties alphabetical) and scores every model over WildBench's five groups (``--tree wildbench``). Since
2026-12-01 the profile's labels are ``wildbench_units`` instead: `earful.classify.unit_text.label_units` labels each
*task* once from all of its texts together (its 8 responses and, joined on session_id, its 8 critiques: "The response
provides Python code ..." says what the task was), with no gold, no LLM and no embeddings (word TF-IDF similarity to
each tag's description and examples picks the surest 20% of each tag's tasks, a balanced logistic regression on the
tasks' word n-grams learns from them and labels every task; 17 s), and writes that label on every item of the task.

What it is compared with: ``bench/data/wildbench_published.json`` (WB scores per group, from allenai/WildBench at the
commit the dataset was built from; Phi-3-mini is not in that file). WB score = (mean - 5) * 20, so ranks and
correlations compare directly with the profile's means. Caveats: WildBench counts a task in every group its primary
and secondary tags reach, the profile in one; and the labels come from the responses, not the prompts (not shared).

Agreement: ``bench/data/wildbench_hand_labels.json`` holds 60 tasks given a tag by hand (how, it says); the task
label of each method is compared with it at the tag and at the group level: one response per task (the method of the
first version of this bench: gpt-3.5's response), the majority of the task's 8 responses (what the profile uses),
a probability-weighted vote of the 8, and, for reference, zero-shot alone on the mean of the 8 response vectors.

Run: .venv/bin/python bench/profiles_wildbench.py --workdir DIR [--chars 320] [--taxonomy wildbench_units]
(re-runs reuse DIR's workspace; the unit variants below are recomputed in seconds, without storing them)

Measured 2026-11-30 (--chars 320; embedding the 8,069 distinct responses took 35 min on 2 shared cores, each
``classify run`` 1.5 min). Agreement with the 60 hand-labelled tasks, tag (of 12) / group (of 5):

    labels                                   one response  majority of 8  weighted vote of 8  zero-shot, mean vector
    descriptions only (wildbench_plain)      9 / 27        11 / 30        11 / 30             10 / 25
    descriptions + examples (wildbench_tasks) 15 / 35      15 / 31        15 / 31             15 / 31
    (the 20 held-out tasks, majority of 8 with examples: 4 / 10; the first version, one response's 600 characters
    with descriptions only: 12 / 27)

So the offline labels are weak (about 1 task in 4 gets the hand tag, 1 in 2 the group); the examples help, voting
over the 8 responses does not beat one response here (60 tasks: differences of 1-4 tasks are noise). Against the
published scores (profile on wildbench_tasks, majority of 8): the weakest group agrees for 5 of 7 models (Math & Data
Analysis; Earful says Coding & Debugging for reka-core and gemma-2b, where the published Math and Coding scores are
0.3 and 0.9 WB points apart); the strongest for 0 of 7 (published: Creative Tasks for all 7; Earful: Information/Advice
seeking for all 7, Creative second or third); Spearman over the 5 groups of one model +0.60 to +0.90; across the 7
models per group +0.96 to +1.00 (overall strength dominates that one).

Measured 2026-12-01, same workspace, all variants side by side (the summary table this script prints). Tasks whose
tag / group agree with the hand label, on all 60 and on the 20 held out (labelled after the taxonomy's examples were
written), and the models (of 7) whose weakest / strongest group agrees with the published scores. "unit" rows label
each task once from the texts named (classify.unit_text: TF-IDF seeds, then self-trained; fraction 0.2 as in
offline.SelfTrained, not tuned). Every variant run is shown; the held-out numbers were visible when TF-IDF seeds were
preferred to MiniLM ones (below), so they are not a clean test of that one choice. Re-runs: the same numbers;
differences of 1-2 tasks come with any change of the documents (e.g. cutting each critique at 2,000 characters):

    labels                                                               all 60: tag grp  held out: tag grp  weak strong
    wildbench_plain, one response                                                  9  27             1   9   4/7    0/7
    wildbench_plain, majority of 8                                                11  30             2  10   4/7    0/7
    wildbench_tasks, one response                                                 15  35             3  11   4/7    0/7
    wildbench_tasks, majority of 8 (the profile's labels until now)               15  31             4  10   5/7    0/7
    unit: responses + critiques; tags + examples; seeds only                      29  41            11  15   5/7    1/7
    unit: responses + critiques; tags + examples; self-trained                    37  45            14  16   7/7    0/7
    unit: responses; tags + examples; seeds only                                  26  38            10  13   6/7    0/7
    unit: responses; tags + examples; self-trained                                38  44            17  18   7/7    1/7
    unit: critiques; tags + examples; seeds only                                  28  37            10  14   5/7    0/7
    unit: critiques; tags + examples; self-trained                                35  46            14  17   7/7    0/7
    unit: responses + critiques; tags, descriptions only; seeds                   20  32            11  13   0/7    0/7
    unit: responses + critiques; tags, descriptions only; self-trained            28  43            12  17   0/7    0/7
    unit: responses + critiques; 5 groups + examples; seeds only                   6  43             4  17   7/7    0/7
    unit: responses + critiques; 5 groups + examples; self-trained                 9  45             5  19   7/7    0/7
    unit: responses + critiques; 5 groups, descriptions only; seeds                5  34             3  14   4/7    0/7
    unit: responses + critiques; 5 groups, descriptions only; self-tr.             8  42             5  16   0/7    0/7
    wildbench_units (stored by label_units: the profile's labels now)             37  45            14  16   7/7    0/7

(The "tag" column of the 5-group rows counts only the tasks whose hand tag is also a group name, Coding & Debugging.)
Also tried outside this script, on the same cache (/tmp experiments, not kept): self-training seeded by MiniLM
zero-shot on the mean of the task's 8 response vectors instead of TF-IDF: 21-29 / 38-43 (held out 8-11 / 14-16);
two or three rounds of self-training: no better (37 / 41-43) and the labels drift to Information seeking; fractions
0.1-0.5: 33-38 / 43-48, held out 13-16 / 17-19.

So labelling the unit from its texts together is the real gain: 2.5x the tags and +14 groups on all 60, and on the
held-out 20 from 4 to 14 tags and from 10 to 16 groups. Which texts matter less than doing it per task (responses
alone, critiques alone or both: 35-38 tags); the examples matter (without them the weakest group is Planning &
Reasoning for every model, 0/7); labelling the 5 groups directly is as good at the group level (45) but gives no
tags. With the profile on wildbench_units the weakest group agrees for 7 of 7 models (Math & Data Analysis; was 5 of
7) and Spearman over one model's 5 groups is +0.70 to +0.90 (was +0.60 to +0.90; across models per group unchanged,
+0.96 to +1.00). The strongest group agrees for 0 or 1 of 7 in every variant, 0 of 7 on the profile's labels: Earful
says Information/Advice seeking for all 7, Creative Tasks second or third; the published Creative-vs-Information/Advice
gap is only 0.05-0.5 judge points. Likely why: WildBench counts a task in every group its primary and secondary tags
reach, so its groups are far larger than one label per task gives. The WB scores' fractions give the group sizes
(about 386 Creative, 668 Planning & Reasoning, 251 Math & Data, 404 Information/Advice, 211 Coding of 1,024 tasks,
1.9 groups per task), against the hand-labelled primary shares of 35 / 10 / 15 / 25 / 15% (unit labels: 255 / 85 /
135 / 384 / 165 tasks). The 150-odd harder tasks that reach Information/Advice only by a secondary tag pull the
published mean down; a one-node-per-task profile cannot reproduce that, and better primary labels did not change it.
"""
from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "wildbench_v2_critiques"
PUBLISHED = ROOT / "bench" / "data" / "wildbench_published.json"
HAND = ROOT / "bench" / "data" / "wildbench_hand_labels.json"
ONE_RESPONSE_OF = "gpt-3.5-turbo-0125"


TAXONOMIES = {"wildbench_plain": False, "wildbench_tasks": True}   # name -> with the response-like examples
UNITS = "wildbench_units"   # the tags with examples, each task labelled once from all its texts (classify.unit_text)


def prepare(workdir: Path, chars: int) -> Path:
    """The workspace: critiques, every response's first `chars` characters, their labels under each of TAXONOMIES
    (each step is skipped when its result is there, so a re-run only does what is missing)."""
    import duckdb

    from earful.qa_agent.profiles.wildbench import taxonomy_yaml

    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "w.duckdb"

    def earful(*a):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", "from earful.cli import main; main()", "--db", str(db), *a],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit(r.stderr + r.stdout)
        print(f"earful {' '.join(a[:3])} ... {time.perf_counter() - t:.0f} s", flush=True)

    def have(sql: str) -> bool:
        if not db.exists():
            return False
        con = duckdb.connect(str(db), read_only=True)
        try:
            return bool(con.execute(sql).fetchone()[0])
        except duckdb.Error:
            return False
        finally:
            con.close()

    if not have("SELECT count(*) FROM items WHERE source = 'critiques'"):
        earful("ingest", str(DATA / "critiques.jsonl"), "--source", "critiques")
    if not have("SELECT count(*) FROM items WHERE source = 'outputs'"):
        out = workdir / f"outputs{chars}.jsonl"
        with gzip.open(DATA / "model_outputs.jsonl.gz", "rt", encoding="utf-8") as f, \
                open(out, "w", encoding="utf-8") as o:
            for line in f:
                r = json.loads(line)
                o.write(json.dumps({"id": f"{r['session_id']}|{r['model']}", "session_id": r["session_id"],
                                    "model": r["model"], "model_output": r["model_output"][:chars]}) + "\n")
        earful("ingest", str(out), "--source", "outputs", "--text", "model_output", "--id", "id")
    earful("embed", "--source", "outputs")
    for name, examples in TAXONOMIES.items():
        if not have(f"SELECT count(*) FROM classify_labels WHERE taxonomy = '{name}'"):
            tax = workdir / f"{name}.yaml"
            tax.write_text(taxonomy_yaml(name, examples=examples), encoding="utf-8")
            earful("classify", "run", "--taxonomy", str(tax), "--source", "outputs")
    if not have(f"SELECT count(*) FROM classify_labels WHERE taxonomy = '{UNITS}'"):
        from earful.classify.base import parse_taxonomy
        from earful.classify.unit_text import label_units
        from earful.store import Store

        t = time.perf_counter()
        with Store(db) as s:
            r = label_units(s, parse_taxonomy(taxonomy_yaml(UNITS)), "outputs", "session_id",
                            with_sources=["critiques"])
        print(f"label_units {UNITS}: {r['units']} tasks, {r['items']} items ... {time.perf_counter() - t:.0f} s")
    return db


def task_labels(db: Path, taxonomy: str) -> dict[str, dict[str, str]]:
    """method -> {session_id: tag}: one response, majority of the 8 (ties alphabetical, as the profile), weighted."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT o.session_id, o.model, l.label, l.probability FROM outputs o JOIN classify_labels l "
                           "ON l.item_id = o.item_id AND l.taxonomy = ?", [taxonomy]).fetchall()
    finally:
        con.close()
    votes, weights, one = defaultdict(Counter), defaultdict(Counter), {}
    for sid, model, label, p in rows:
        votes[sid][label] += 1
        weights[sid][label] += p
        if model == ONE_RESPONSE_OF:
            one[sid] = label

    def top(c: Counter) -> str:
        return min(c, key=lambda k: (-c[k], k))
    return {"one response": one, "majority of 8": {s: top(c) for s, c in votes.items()},
            "weighted vote of 8": {s: top(c) for s, c in weights.items()}}


def mean_vector_labels(db: Path, taxonomy_name: str, examples: bool) -> dict[str, str]:
    """For reference: the classify stage's zero-shot classifier on the mean of each task's 8 stored response vectors
    (one vector per task, outside `earful classify run`, which labels items, not units)."""
    import numpy as np

    from earful.classify.base import Inputs, parse_taxonomy
    from earful.classify.offline import ZeroShot
    from earful.embeddings import item_vectors
    from earful.qa_agent.profiles.wildbench import taxonomy_yaml
    from earful.store import Store

    with Store(db, read_only=True) as s:
        ids, mat = item_vectors(s, source="outputs")
        unit = dict(s.rows("SELECT item_id, session_id FROM outputs"))
    tasks = sorted({unit[i] for i in ids})
    pos = {t: k for k, t in enumerate(tasks)}
    sums = np.zeros((len(tasks), mat.shape[1]))
    np.add.at(sums, [pos[unit[i]] for i in ids], mat)
    sums /= np.linalg.norm(sums, axis=1, keepdims=True)
    clf = ZeroShot(parse_taxonomy(taxonomy_yaml(taxonomy_name, examples=examples))).fit(None)
    proba = clf.predict_proba(Inputs([""] * len(tasks), sums.astype(np.float32), None))
    return {t: clf.classes_[k] for t, k in zip(tasks, proba.argmax(axis=1))}


def _group(label: str | None) -> str | None:
    """The group a tag belongs to; a group name (labels of the five groups directly) is its own group."""
    from earful.qa_agent.profiles.wildbench import GROUPS, TAG_TO_GROUP

    return label if label in GROUPS else TAG_TO_GROUP.get(label)


def unit_variants(db: Path) -> dict[str, dict[str, str]]:
    """Each task labelled once from its texts together (`classify.unit_text`), computed here without storing: which
    texts (responses, critiques, both), descriptions with or without examples, twelve tags or the five groups."""
    from earful.classify.base import Inputs, parse_taxonomy
    from earful.classify.unit_text import TextSelfTrained, unit_documents
    from earful.qa_agent.profiles.wildbench import taxonomy_yaml
    from earful.store import Store

    with Store(db, read_only=True) as s:
        texts = {"responses + critiques": unit_documents(s, "outputs", "session_id", ["critiques"]),
                 "responses": unit_documents(s, "outputs", "session_id"),
                 "critiques": unit_documents(s, "critiques", "session_id")}
    runs = [("responses + critiques", "tags + examples", taxonomy_yaml("t")),
            ("responses", "tags + examples", taxonomy_yaml("t")),
            ("critiques", "tags + examples", taxonomy_yaml("t")),
            ("responses + critiques", "tags, descriptions only", taxonomy_yaml("t", examples=False)),
            ("responses + critiques", "5 groups + examples", taxonomy_yaml("t", groups=True)),
            ("responses + critiques", "5 groups, descriptions only", taxonomy_yaml("t", examples=False,
                                                                                    groups=True))]
    out = {}
    for which, tax, spec in runs:
        units, docs, _ = texts[which]
        clf = TextSelfTrained(parse_taxonomy(spec)).fit(Inputs(docs))
        seeds, final = clf.seed_proba(docs), clf.predict_proba(Inputs(docs))
        out[f"unit: {which}; {tax}; seeds only"] = {u: clf.classes_[k] for u, k in zip(units, seeds.argmax(1))}
        out[f"unit: {which}; {tax}; self-trained"] = {u: clf.classes_[k] for u, k in zip(units, final.argmax(1))}
    return out


def label_means(db: Path, labels: dict[str, str]) -> dict:
    """Weakest / strongest group per model from task labels without a profile (the profile's group mean is the plain
    mean of the scores of the model's items in the group), against the published scores."""
    import duckdb

    pub = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT session_id, model, score FROM critiques WHERE score IS NOT NULL").fetchall()
    finally:
        con.close()
    scores = defaultdict(lambda: defaultdict(list))
    for sid, model, score in rows:
        g = _group(labels.get(sid))
        if g:
            scores[model][g].append(score)
    weak = strong = 0
    for m, d in pub["models"].items():
        e = {c: sum(scores[m][c]) / len(scores[m][c]) for c in pub["categories"] if scores[m][c]}
        p = {c: d[f"WB_score.{c}"] for c in pub["categories"]}
        weak += min(e, key=e.get) == min(p, key=p.get)
        strong += max(e, key=e.get) == max(p, key=p.get)
    return {"weakest_agree": weak, "strongest_agree": strong, "n_models": len(pub["models"])}


def agreement(methods: dict[str, dict[str, str]]) -> list[dict]:
    """Per method and per hand-labelled set (first 40, held-out 20, all): tasks whose tag / group agree."""
    from earful.qa_agent.profiles.wildbench import TAG_TO_GROUP

    hand = json.loads(HAND.read_text(encoding="utf-8"))["tasks"]
    out = []
    for name, labels in methods.items():
        for part in ("first", "held-out", "all"):
            tasks = [t for t in hand if part in ("all", t["set"])]
            clear = [t for t in tasks if not t["ambiguous"]]
            out.append({"method": name, "set": part, "n": len(tasks), "n_clear": len(clear),
                        "tag": sum(labels.get(t["session_id"]) == t["tag"] for t in tasks),
                        "group": sum(_group(labels.get(t["session_id"])) == TAG_TO_GROUP[t["tag"]] for t in tasks),
                        "tag_clear": sum(labels.get(t["session_id"]) == t["tag"] for t in clear)})
    return out


def compare(prof) -> dict:
    """Per model: weakest and strongest group by the profile and by the published scores; Spearman per group (across
    models) and per model (across groups)."""
    from scipy.stats import spearmanr

    from earful.qa_agent.profiles.wildbench import strongest_and_weakest

    pub = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    cats = pub["categories"]
    ours = {r["subject"]: r for r in strongest_and_weakest(prof)}
    models = [m for m in pub["models"] if m in ours]
    per_model = []
    for m in models:
        p = {c: pub["models"][m][f"WB_score.{c}"] for c in cats}
        e = {c: ours[m]["means"][c] for c in cats}
        per_model.append({"model": m, "earful_weakest": min(e, key=e.get), "published_weakest": min(p, key=p.get),
                          "earful_strongest": max(e, key=e.get), "published_strongest": max(p, key=p.get),
                          "rho_over_groups": float(spearmanr([e[c] for c in cats], [p[c] for c in cats])[0]),
                          "earful": e, "published": p})
    per_cat = {c: float(spearmanr([ours[m]["means"][c] for m in models],
                                  [pub["models"][m][f"WB_score.{c}"] for m in models])[0]) for c in cats}
    return {"models": per_model, "rho_per_group": per_cat,
            "weakest_agree": sum(r["earful_weakest"] == r["published_weakest"] for r in per_model),
            "strongest_agree": sum(r["earful_strongest"] == r["published_strongest"] for r in per_model),
            "n_models": len(models)}


SHORT = {"Creative Tasks": "Creative", "Planning & Reasoning": "Planning/Reasoning",
         "Math & Data Analysis": "Math/Data", "Information/Advice seeking": "Info/Advice",
         "Coding & Debugging": "Coding"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", required=True, type=Path)
    ap.add_argument("--chars", type=int, default=320, help="characters of each response that are labelled")
    ap.add_argument("--taxonomy", default=UNITS, choices=[*TAXONOMIES, UNITS],
                    help="whose labels the profile uses")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args()
    from earful.qa_agent.profiles import build_profile

    db = prepare(args.workdir, args.chars)
    agree, tasks = [], {}
    print("\nagreement with the hand-labelled tasks (tag of 12 / group of 5; tag on the unambiguous ones); sets: the "
          "first 40, the 20 held out from writing the taxonomy's examples, all 60")
    for name, examples in TAXONOMIES.items():
        methods = task_labels(db, name)
        methods["zero-shot, mean vector"] = mean_vector_labels(db, name, examples)
        tasks[name] = Counter(methods["majority of 8"].values())
        for a in agreement(methods):
            a["taxonomy"] = name
            agree.append(a)
            print(f"  {name:15} "
                  f"{a['method']:22} {a['set']:8} tag {a['tag']}/{a['n']}  group {a['group']}/{a['n']}  "
                  f"tag, unambiguous {a['tag_clear']}/{a['n_clear']}")
    print("\nsummary: tasks whose tag / group agree with the hand label (all 60 | the 20 held out), and for how many "
          "of the 7 models the weakest / strongest group agrees with the published scores")
    print(f"  {'labels':72} {'tag':>5} {'group':>5} | {'tag':>3} {'group':>5} | weakest strongest")
    every = {f"{name}, {m}": labels for name, examples in TAXONOMIES.items()
             for m, labels in task_labels(db, name).items() if m != "weighted vote of 8"}
    every.update(unit_variants(db))
    every[f"{UNITS} (stored by label_units; the profile's labels)"] = task_labels(db, UNITS)["majority of 8"]
    summary = []
    for name, labels in every.items():
        a = {r["set"]: r for r in agreement({name: labels})}
        c = label_means(db, labels)
        summary.append({"labels": name, **{f"{k}_{p}": a[p][k] for p in ("all", "held-out") for k in ("tag", "group")},
                        **c})
        print(f"  {name:72} {a['all']['tag']:>5} {a['all']['group']:>5} | {a['held-out']['tag']:>3} "
              f"{a['held-out']['group']:>5} | {c['weakest_agree']}/7     {c['strongest_agree']}/7")
    if args.taxonomy == UNITS:
        tasks[UNITS] = Counter(task_labels(db, UNITS)["majority of 8"].values())
    t = tasks[args.taxonomy]
    print(f"\n{args.taxonomy}: tasks labelled {sum(t.values())}; by tag: "
          + ", ".join(f"{k} {v}" for k, v in t.most_common()))
    prof = build_profile(db, "critiques", "model", "score", tree="wildbench", labels=args.taxonomy,
                         category_source="outputs", unit_column="session_id", quotes=0)
    comp = compare(prof)
    print("\nper model: weakest and strongest group, Earful's profile vs WildBench's published WB scores")
    print(f"  {'model':26} {'Earful weakest':18} {'published weakest':18} {'Earful strongest':18} "
          f"{'published strongest':19} rho")
    for r in comp["models"]:
        print(f"  {r['model']:26} {SHORT[r['earful_weakest']]:18} {SHORT[r['published_weakest']]:18} "
              f"{SHORT[r['earful_strongest']]:18} {SHORT[r['published_strongest']]:19} {r['rho_over_groups']:+.2f}")
    print(f"  weakest agrees for {comp['weakest_agree']}/{comp['n_models']} models, strongest for "
          f"{comp['strongest_agree']}/{comp['n_models']}; rho = Spearman over the 5 groups of one model")
    print("\nSpearman rank correlation across the models, per group (Earful mean vs published WB score):")
    print("  " + "; ".join(f"{SHORT[c]} {v:+.2f}" for c, v in comp["rho_per_group"].items()))
    print("\nmeans per group (Earful, 1-10) | published WB score")
    for r in comp["models"]:
        print(f"  {r['model']:26} " + "  ".join(f"{SHORT[c]} {r['earful'][c]:.2f}|{r['published'][c]:.1f}"
                                                for c in r["earful"]))
    for s in prof.subjects:
        print(prof.statement(s, "weakness"))
        print(prof.statement(s, "strength"))
    if args.json:
        args.json.write_text(json.dumps({"agreement": agree, "summary": summary, "comparison": comp,
                                         "tasks_by_tag": tasks},
                                        indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
