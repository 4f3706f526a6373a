"""Profile time and peak memory: 8 subjects x 10,000 items and 50 subjects x 1,000,000 items over a real tree.

The tree is WildBench's: its five published groups over its twelve task tags (`earful.qa_agent.profiles.wildbench`).
Items are synthetic: units (tasks) each answered once by every subject, each unit's category drawn from the tree's
leaves, a 1-10 integer score = task difficulty + subject skill + noise; subject k is made 1.5 points weaker in leaf
k mod 12 (a planted weakness per subject, so the run also says how many are found). "N items" is the total across
subjects. The data is written as a Parquet file and ingested with the real pipeline (``ingest`` column), then
`build_profile` runs unchanged from the workspace file (``profile``: read + statistics + bootstrap + quotes);
``stats`` is the in-memory part alone (`profile_from_arrays`). Each case runs in a fresh process (spawn); peak RSS
is that process's, after the ingest (the profile's own peak is reported separately by a second process).

Run: .venv/bin/python bench/profile.py [--cases 8x10000 50x1000000]
     .venv/bin/python bench/profile.py --wildbench DIR   (runs bench/profiles_wildbench.py: the five groups vs
                                                          WildBench's published per-category scores)

Measured 2026-11-30 on 2 cores shared with other sessions (load average 7-10); "profile s" includes importing
scikit-learn for the quotes' TF-IDF (a few seconds under load), "stats s" is the in-memory computation alone:

    subjects | items     | nodes | ingest s | profile s | stats s | profile peak MB | planted found | other weaknesses
    8        | 10,000    | 18    | 0.6      | 6.8       | 1.05    | 258             | 8/8           | 0
    50       | 1,000,000 | 18    | 4.1      | 14.5      | 2.87    | 951             | 50/50         | 0

(Before the quotes were read in one query and ranked in a sparse TF-IDF space, the 1M case took 51-76 s.)
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _make(path: Path, n_subjects: int, n_items: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from earful.qa_agent.profiles.wildbench import wildbench_tree

    tree = wildbench_tree()
    leaves = [tree.nodes[i].name for i in tree.leaves()]
    rng = np.random.default_rng(seed)
    n_units = max(1, n_items // n_subjects)
    unit_leaf = rng.integers(0, len(leaves), n_units)
    difficulty = rng.normal(0, 1.2, n_units)
    skill = np.linspace(1.0, -1.0, n_subjects)
    unit = np.repeat(np.arange(n_units), n_subjects)
    subj = np.tile(np.arange(n_subjects), n_units)
    leaf = unit_leaf[unit]
    raw = 6.5 + difficulty[unit] + skill[subj] + rng.normal(0, 1.5, len(unit)) - 1.5 * (leaf == subj % len(leaves))
    score = np.clip(np.rint(raw), 1, 10).astype(np.int64)
    names = np.array([f"model-{k:02d}" for k in range(n_subjects)])
    pq.write_table(pa.table({
        "id": pa.array(np.arange(len(unit)).astype(str)),
        "session_id": pa.array(unit.astype(str)), "model": pa.array(names[subj]), "score": pa.array(score),
        "category": pa.array(np.array(leaves)[leaf]),
        "text": pa.array(np.char.add("critique of task ", unit.astype(str)))}), path)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ingest(db: str, parquet: str, out) -> None:
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    t = time.perf_counter()
    with Store(db) as s:
        ingest_file(s, Path(parquet), source="synthetic", overrides={"id": "id", "text": "text"})
    out.put({"ingest_s": time.perf_counter() - t, "ingest_mb": _peak_mb()})


def _profile(db: str, n_subjects: int, out) -> None:
    from earful.qa_agent.profiles import build_profile, profile_from_arrays
    from earful.qa_agent.profiles.wildbench import wildbench_tree

    tree = wildbench_tree()
    t = time.perf_counter()
    prof = build_profile(db, "synthetic", "model", "score", tree=tree, category_column="category",
                         unit_column="session_id")
    took = time.perf_counter() - t
    leaves = [tree.nodes[i].name for i in tree.leaves()]
    planted = {(f"model-{k:02d}", leaves[k % len(leaves)]) for k in range(n_subjects)}
    found = {(f.subject, f.node.split(" / ")[-1]) for f in prof.findings if f.kind == "weakness"}
    # a planted leaf's group may be found too (it holds the leaf): not a false finding
    groups = {(s, tree.nodes[tree.nodes[tree.resolve(leaf)[0]].parent].name) for s, leaf in planted}
    # the in-memory statistics alone, on arrays already read
    from earful.qa_agent.profiles import data
    from earful.store import Store

    with Store(db, read_only=True) as s:
        items = data.load_items(s, "synthetic", "model", "score", None, "category", None, "session_id", None, None)
    t2 = time.perf_counter()
    profile_from_arrays(items.subject, items.y, items.category, tree, unit=items.unit)
    out.put({"profile_s": took, "stats_s": time.perf_counter() - t2, "profile_mb": _peak_mb(),
             "nodes": len(tree), "planted_found": len(planted & found), "planted": len(planted),
             "other_weaknesses": len(found - planted - groups)})


def _run(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, q))
    p.start()
    res = q.get()
    p.join()
    return res


def wildbench(workdir: Path) -> None:
    """The WildBench comparison moved to `bench/profiles_wildbench.py` (every response labelled, the task's 8
    responses voting, agreement with hand labels, and WildBench's published per-category scores)."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "profiles_wildbench.py"), "--workdir", str(workdir)],
                   check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=["8x10000", "50x1000000"], help="SUBJECTSxITEMS")
    ap.add_argument("--wildbench", metavar="DIR", help="instead: the WildBench five-group comparison, workspace in DIR")
    args = ap.parse_args()
    if args.wildbench:
        wildbench(Path(args.wildbench))
        return
    rows = []
    for case in args.cases:
        n_subjects, n_items = (int(x) for x in case.lower().split("x"))
        with tempfile.TemporaryDirectory() as d:
            parquet, db = Path(d) / "items.parquet", str(Path(d) / "w.duckdb")
            _make(parquet, n_subjects, n_items)
            res = _run(_ingest, db, str(parquet))
            res |= _run(_profile, db, n_subjects)
            res |= {"subjects": n_subjects, "items": n_items}
            rows.append(res)
            print(res, flush=True)
    head = ("subjects", "items", "nodes", "ingest s", "profile s", "stats s", "profile peak MB", "planted found",
            "other weaknesses")
    print("\n" + " | ".join(head))
    for r in rows:
        print(" | ".join([f"{r['subjects']}", f"{r['items']:,}", f"{r['nodes']}", f"{r['ingest_s']:.1f}",
                          f"{r['profile_s']:.1f}", f"{r['stats_s']:.2f}", f"{r['profile_mb']:.0f}",
                          f"{r['planted_found']}/{r['planted']}", f"{r['other_weaknesses']}"]))


if __name__ == "__main__":
    main()
