"""Benchmark the web chat under a crowd: N concurrent clients asking built-in questions of `earful serve`.

It starts a real ``earful serve`` on a free loopback port over a *copy* of the workspace (every answer saves a
conversation turn, so the original is left alone), runs `--clients` threads that each ask the built-in questions
below in turn over HTTP for `--seconds`, then stops the server with SIGTERM. Prints one table: requests,
throughput, p50/p95/max latency, errors (a non-200 reply, a failed request, or an answer with status "error"),
declines, the turns saved, and how long the server took to stop. Target: zero errors and p95 under 2 s.

The workspace: `--db PATH`, else ``demo.duckdb`` (``make demo``) when it exists, else a small one built from
``examples/data/urr_app_reviews.csv`` with ``earful ingest``.

    .venv/bin/python bench/serve.py [--db demo.duckdb] [--clients 20] [--seconds 30] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "How many reviews are there?",
    "How many reviews per app?",
    "What is the average rating per app?",
    "How many reviews mention crash?",
    "How many reviews per month?",
    "What is the average rating?",
    "Which app has the most 1-star reviews?",
    "How many reviews mention battery or ads?",
]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def _earful(*args: str) -> list[str]:
    return [sys.executable, "-c", "from earful.cli import main; main()", *args]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARFUL_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def workspace(db: str | None, tmp: Path) -> tuple[Path, str]:
    """A copy of the workspace to serve, and where it came from."""
    for cand in [db] if db else ["demo.duckdb", str(ROOT / "demo.duckdb")]:
        if cand and Path(cand).exists():
            shutil.copy(cand, tmp / "bench.duckdb")
            return tmp / "bench.duckdb", str(cand)
    if db:
        sys.exit(f"no workspace at {db}")
    out = tmp / "bench.duckdb"
    r = subprocess.run(_earful("--db", str(out), "ingest", str(ROOT / "examples/data/urr_app_reviews.csv"),
                               "--source", "reviews"), capture_output=True, text=True, env=_env(), cwd=tmp)
    if r.returncode:
        sys.exit(f"ingest failed: {r.stderr}")
    return out, "examples/data/urr_app_reviews.csv (earful ingest)"


def turns(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM conversation_turns").fetchall()[0][0]
    finally:
        con.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="workspace to copy and serve (default demo.duckdb, else a small built one)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = ap.parse_args()

    import httpx

    tmp = Path(tempfile.mkdtemp(prefix="earful-bench-serve-"))
    db, origin = workspace(args.db, tmp)
    before = turns(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen(_earful("--db", str(db), "serve", "--port", str(port)), cwd=tmp, env=_env(),
                              stdout=log, stderr=subprocess.STDOUT)
    for _ in range(600):
        try:
            httpx.get(url + "/api/status", timeout=2).raise_for_status()
            break
        except httpx.HTTPError:
            if server.poll() is not None:
                sys.exit(f"earful serve exited {server.returncode}: {(tmp / 'serve.log').read_text()}")
            time.sleep(0.1)
    for q in QUESTIONS:     # warm-up: one pass, sequential (schema card, imports); not counted
        httpx.post(url + "/api/ask", json={"question": q}, timeout=120)

    lat: list[float] = []
    errors: list[str] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def client(k: int) -> None:
        i = k
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.monotonic() < deadline:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = c.post("/api/ask", json={"question": q})
                    status = r.json()["answer"]["status"] if r.status_code == 200 else f"HTTP {r.status_code}"
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    status = f"{type(exc).__name__}: {exc}"
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status not in ("answered", "declined"):
                        errors.append(f"{q}: {status}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    t_stop = time.perf_counter()
    server.send_signal(signal.SIGTERM)
    try:
        rc = server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        rc = "ignored SIGTERM (killed)"
    stop_s = time.perf_counter() - t_stop
    log.close()
    result = {"workspace": origin, "clients": args.clients, "seconds": round(wall, 1), "requests": len(lat),
              "throughput_rps": round(len(lat) / wall, 1), "p50_s": round(pct(lat, 0.5), 3),
              "p95_s": round(pct(lat, 0.95), 3), "max_s": round(max(lat), 3) if lat else None,
              "errors": len(errors), "declined": statuses.get("declined", 0),
              "turns_saved": turns(db) - before - len(QUESTIONS), "stop_s": round(stop_s, 2), "stop_rc": rc,
              "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)}
    if args.json:
        print(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        print(f"earful serve: {args.clients} clients asking built-in questions for {args.seconds:g} s on loopback")
        for k, v in result.items():
            print(f"  {k:<{width}}  {v}")
        print(f"target: errors 0 and p95 under 2 s -> {'met' if not errors and result['p95_s'] < 2 else 'NOT met'}")
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
