"""A small workspace from the bundled data, for the notebooks when ``make demo`` has not been run.

``sample_workspace(path)`` ingests every k-th of the bundled URR app reviews (so every app and year is in it) as
source ``reviews``, the bundled WildBench critiques as source ``critiques``, embeds the reviews with the packaged
model and fits topics on them. The critiques carry no task category (WildBench's tags live in the prompts, which are
not bundled), so each gets a stand-in ``task`` from the keyword rules in `TASK_RULES` over its strengths and
weaknesses; a profile should take the majority over the 8 responses to one task (``unit_column="session_id"``).

Design decision: the fit uses the fast ``pca-kmeans-standin`` backend by default, so a notebook builds its data in
about a minute; ``make demo`` (BERTopic over every review) is the real thing, and
the notebooks use its ``demo.duckdb`` when it is there.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


# A stand-in task category per critique: the first rule whose pattern is in its strengths + weaknesses.
TASK_RULES = [("Coding & Debugging", r"\bcode\b|python|javascript|\bsql\b|debug|\bscript|\bprogram"),
              ("Math & Data", r"calculat|equation|\bmath|formula|probabilit|\bdata\b|statistic"),
              ("Creative & Editing", r"\bstory\b|poem|narrative|creative|fiction|rewrit|grammar|\bessay"),
              ("Planning & Reasoning", r"\bplan\b|schedule|itinerary|reasoning|logic|puzzle"),
              ("Information & Advice", r".")]


def stand_in_task(row: dict) -> str:
    text = (str(row.get("strengths") or "") + " " + str(row.get("weaknesses") or "")).lower()
    return next(name for name, pat in TASK_RULES if re.search(pat, text))


def _critiques(dst: Path) -> Path:
    with open(DATA / "wildbench_critiques_sample.jsonl", encoding="utf-8") as f, \
            open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.strip():
                row = json.loads(line)
                out.write(json.dumps({**row, "task": stand_in_task(row)}, ensure_ascii=False) + "\n")
    return dst


def _every_kth(src: Path, dst: Path, n: int) -> Path:
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    head, body = rows[0], rows[1:]
    step = max(1, len(body) // max(1, n))
    with open(dst, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([head] + body[::step][:n])
    return dst


def sample_workspace(path: str | Path, *, reviews: int = 400, critiques: bool = True, topics: bool = True,
                     backend: str = "pca-kmeans-standin") -> Path:
    """Build the sample workspace at `path` (nothing is done when the file exists); returns its path."""
    from earful.errors import NotFoundError

    db = Path(path)
    if db.exists():
        return db
    if not (DATA / "urr_app_reviews.csv").exists():
        raise NotFoundError(f"the bundled data is not at {DATA}", hint="run from an Earful checkout (examples/data)")
    from earful.ingest.pipeline import ingest_file
    from earful.store import Store

    db.parent.mkdir(parents=True, exist_ok=True)
    part = db.with_name(db.stem + ".part.duckdb")        # built aside, then moved: a half-built file never shows
    part.unlink(missing_ok=True)
    csv_path = _every_kth(DATA / "urr_app_reviews.csv", db.with_name(db.stem + "-reviews.csv"), reviews)
    jsonl_path = db.with_name(db.stem + "-critiques.jsonl")
    try:
        with Store(part) as store:
            ingest_file(store, csv_path, source="reviews")
            if critiques:
                ingest_file(store, _critiques(jsonl_path), source="critiques")
            if topics:
                from earful.topics.fit import fit_topics

                fit_topics(store, source="reviews", backend=backend)
        part.rename(db)
    finally:
        csv_path.unlink(missing_ok=True)
        jsonl_path.unlink(missing_ok=True)
        part.unlink(missing_ok=True)
        Path(str(part) + ".wal").unlink(missing_ok=True)
    return db
