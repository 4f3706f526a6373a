"""Benchmark the overhead Earful adds around the model in the LLM agent, with a zero-latency fake chat model.

For every question of ../shared/eval/dev_qa.jsonl it runs `qa_agent.ask.ask` with the real `LLMAgent` (schema card,
prompt building, cached+logged LLM call, sandboxed execution, result checks, answer, conversation + run log) with a
langchain fake chat model that answers instantly with a small valid SQL program over the question's dataset. What is
measured is therefore everything except the model's own latency. Prints p50 / p95 per component and per sandbox mode.

    .venv/bin/python bench/agent.py [--modes auto,subprocess] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
DATASETS = {   # as in ../shared/eval/run_qa.py: file, source name, text column
    "clap": ("datasets/clap_app_reviews/reviews.csv", "reviews", "review"),
    "wildbench": ("datasets/wildbench_v2_critiques/critiques.jsonl", "critiques", "weaknesses"),
    "tizard": ("datasets/tizard_forum_posts/sentences.csv", "forum", "sentence"),
}


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modes", default="auto,subprocess")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()

    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from earful.config import load_settings
    from earful.ingest.pipeline import ingest_file
    from earful.qa_agent.agent import LLMAgent, schema_card_text
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext
    from earful.qa_agent.executor import run_sql, sandbox_mode
    from earful.store import Store

    lines = (SHARED / "eval" / "dev_qa.jsonl").read_text().splitlines()
    questions = [json.loads(line) for line in lines if line.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="earful-bench-agent-"))
    dbs = {}
    for name in sorted({q["dataset"] for q in questions}):
        path, source, text = DATASETS[name]
        db = tmp / f"{name}.duckdb"
        with Store(db) as s:
            ingest_file(s, SHARED / path, source=source, overrides={"text": text})
        dbs[name] = (db, source)

    rows = []
    for mode in args.modes.split(","):
        settings = load_settings(environ={}, overrides={"agent": {"sandbox": mode}})
        actual = sandbox_mode(settings)
        total, card, cold, execu, other = [], [], [], [], []
        for rep in range(args.repeat):
            for q in questions:
                db, source = dbs[q["dataset"]]
                sql = f"SELECT count(*) AS n, avg(length(text)) AS avg_len FROM {source}"
                reply = json.dumps({"plan": "count and length", "language": "sql", "code": sql,
                                    "answer_template": "{n} items, {avg_len} characters on average."})
                # a fresh fake per question; the question text is in the prompt, so each is an LLM-cache miss once
                fake = FakeListChatModel(responses=[reply])
                ctx = AskContext(db_path=str(db), settings=settings, output_dir=str(tmp / "out"))
                t0 = time.perf_counter()
                ans = ask(q["question"] + f" [{mode} {rep}]", ctx, engines=[LLMAgent(chat_model=fake)])
                t_total = (time.perf_counter() - t0) * 1000
                assert ans.status == "answered", ans.answer
                t0 = time.perf_counter()
                schema_card_text(str(db))          # the agent's own log writes changed the file: a rebuild
                t_cold = (time.perf_counter() - t0) * 1000
                t0 = time.perf_counter()
                schema_card_text(str(db))          # what the agent itself paid (the card was fresh when it asked)
                t_card = (time.perf_counter() - t0) * 1000
                t0 = time.perf_counter()
                run_sql(str(db), sql, settings)
                t_exec = (time.perf_counter() - t0) * 1000
                total.append(t_total)
                card.append(t_card)
                cold.append(t_cold)
                execu.append(t_exec)
                other.append(max(0.0, t_total - t_card - t_exec))
        for label, xs in (("total per question", total), ("  schema card (warm)", card),
                          ("  [schema card rebuild]", cold),
                          ("  sandboxed execution", execu), ("  LLM layer + checks + logs", other)):
            rows.append((actual, label, len(xs), statistics.median(xs), pct(xs, 0.95)))

    print(f"\nLLM agent overhead with a zero-latency fake model, {len(questions)} dev questions x {args.repeat}")
    print(f"{'sandbox':<11} {'component':<28} {'n':>3} {'p50 ms':>8} {'p95 ms':>8}")
    for mode, label, n, p50, p95 in rows:
        print(f"{mode:<11} {label:<28} {n:>3} {p50:>8.1f} {p95:>8.1f}")
    print("(target: p50 of 'total per question' < 300 ms on top of the model; the bracketed row is not part of the"
          " total: it is what a card rebuild costs when the workspace changed since the last question)")


if __name__ == "__main__":
    main()
