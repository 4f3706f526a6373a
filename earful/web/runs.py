"""Streamed questions: each runs in a worker process whose progress events the chat reads, and which Cancel kills.

Design decision: a question asked from the page runs in its own process (forked from a preloaded forkserver, so
it starts in a fraction of a second), not in a server thread, because only a process can be stopped wherever it
is: inside a blocking LLM HTTP call, or while a sandboxed child computes. Cancel sends SIGTERM; the worker kills
its descendants (the sandbox's process groups; bubblewrap also dies with its parent) and exits, so the model's
connection is dropped and no further request is made. Once the answer exists and the turn is being saved, a cancel
waits for the save instead (a half-written turn would be rolled back, but the answer is already paid for).

Events (dicts) flow worker -> pipe -> a pump thread -> the run's log, so a slow or vanished client never blocks
the worker. The log is kept with the run (by run id, until `Runs.keep_s` after it ends), numbered from 0: a stream
sends each event with its number as the SSE ``id``, and a client that lost its stream (a reload, a dropped
connection) reads it again from ``GET /api/runs/<id>/events`` after the ``Last-Event-ID`` it saw: the steps so far,
then live, in order and once each. Kinds: ``run`` (first: run_id, conversation_id, question), the progress events
of `earful.qa_agent.ask` (``engine``, ``declined``, ``llm``, ``unusable``, ``running``, ``result``, ``saving``),
then exactly one of ``answer`` (answer JSON and its HTML), ``cancelled`` or ``error`` (a readable message).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid

from earful.errors import EarfulError

MAX_RUNS = max(4, (os.cpu_count() or 2))     # worker processes at once; more wait for a 503's retry
_CTX = None
_CTX_LOCK = threading.Lock()


def _mp():
    """The forkserver context, its server preloaded with the answering code (imported once, forked per run)."""
    global _CTX
    import multiprocessing as mp

    with _CTX_LOCK:
        if _CTX is None:
            _CTX = mp.get_context("forkserver")
            _CTX.set_forkserver_preload(["earful.web.runs", "earful.qa_agent.ask", "earful.qa_agent.agent",
                                         "earful.qa_agent.executor", "duckdb", "earful.web.preload"])
        return _CTX


def warm_up() -> None:
    """Start the forkserver now (in a background thread), so the first question does not wait for its imports."""
    def start():
        from multiprocessing import forkserver

        _mp()
        with contextlib.suppress(Exception):
            forkserver.ensure_running()

    threading.Thread(target=start, name="earful-forkserver-warm-up", daemon=True).start()


# -- the worker process ---------------------------------------------------------------------------------------------

def _descendants(root: int) -> list[int]:
    """Every live process below `root` (read from /proc; children first found, deepest last)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read().decode("latin-1")
                parent[int(name)] = int(stat[stat.rfind(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        found += kids
        todo += kids
    return found


def kill_descendants(root: int | None = None) -> None:
    """SIGKILL every process below `root` (default: this one) and the process groups they lead (the sandbox
    child calls setsid(), so its own children share its group)."""
    for pid in _descendants(root or os.getpid()):
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def work(conn, settings, question: str, conversation_id: str) -> None:
    """The worker's body: answer with progress events sent on `conn`; SIGTERM stops it (see the module doc)."""
    from earful.llm.redact import redact_obj, secret_pattern
    from earful.qa_agent.ask import ask
    from earful.qa_agent.base import AskContext

    state = {"saving": False}

    def on_term(_signum, _frame):
        if state["saving"]:
            return                                   # the answer exists: let the turn be written
        kill_descendants()
        os._exit(143)

    signal.signal(signal.SIGTERM, on_term)
    pattern = secret_pattern(settings)

    def emit(event: dict) -> None:
        if event.get("kind") == "saving":
            state["saving"] = True
        conn.send(redact_obj(event, pattern=pattern))

    try:
        ctx = AskContext(db_path=settings.db, settings=settings, conversation_id=conversation_id)
        answer = ask(question, ctx, on_step=emit).to_json()
        conn.send({"kind": "answer", "answer": answer})
    except Exception as exc:  # noqa: BLE001 - any failure becomes the run's readable error
        from earful.errors import EarfulError

        message = str(exc) if isinstance(exc, EarfulError) else \
            f"unexpected error: {type(exc).__name__}: {exc} (please report it)"
        conn.send({"kind": "error", "message": message})
    finally:
        conn.close()


# -- the server side ----------------------------------------------------------------------------------------------

class RunsBusy(EarfulError):
    """Too many questions are running at once on this server (answered 503 with this message)."""


class Run:
    """One question running in a worker process; `log` holds its events in order (read by any number of streams).

    `turns_before` is how many turns its conversation had when it started: until the run ends, the conversation is
    shown with those turns and this run's stream (its turn, once saved, comes with the stream's answer)."""

    def __init__(self, settings, question: str, conversation_id: str, new: bool, turns_before: int = 0):
        self.id = uuid.uuid4().hex[:12]
        self.conversation_id = conversation_id
        self.new = new
        self.question = question
        self.turns_before = turns_before
        self.log: list[dict] = []                    # append-only; an event's index is its SSE id
        self._log_lock = threading.Lock()
        self.cancelled = False
        self.saving = False                          # the answer exists and its turn is being written
        self.finished = threading.Event()
        self.outcome: str | None = None              # answer | cancelled | error
        self.ended_at: float | None = None
        ctx = _mp()
        recv, send = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=work, args=(send, settings, question, conversation_id), daemon=True,
                                name=f"earful-run-{self.id}")
        self.proc.start()
        send.close()
        self.pid = self.proc.pid
        self._put({"kind": "run", "run_id": self.id, "conversation_id": conversation_id, "new": new,
                   "question": question})
        threading.Thread(target=self._pump, args=(recv,), name=f"earful-pump-{self.id}", daemon=True).start()

    def _put(self, event: dict) -> None:
        with self._log_lock:
            self.log.append(event)

    def _pump(self, conn) -> None:
        last = None
        while True:
            try:
                event = conn.recv()
            except (EOFError, OSError):
                break
            last = event.get("kind")
            if last == "saving":
                self.saving = True
            if last == "answer":
                from earful.web.render import answer_html

                event["html"] = answer_html(event["answer"], item_link="/items/")
            self._put(event)
        conn.close()
        self.proc.join()
        if last not in ("answer", "error"):
            if self.cancelled:
                last = "cancelled"
                self._put({"kind": "cancelled", "message": "cancelled: the question was stopped on the "
                                                                  "server; nothing was saved"})
            else:
                last = "error"
                self._put({"kind": "error", "message": f"the worker answering this question stopped "
                                                             f"unexpectedly (exit code {self.proc.exitcode}); the "
                                                             "terminal running `earful serve` may say why"})
        self.outcome = last
        self.ended_at = time.monotonic()
        self.finished.set()

    def cancel(self, wait_s: float = 10.0) -> bool:
        """Stop the worker (SIGTERM, then SIGKILL after `wait_s`); True when it was stopped. False when it had
        finished, or its answer is already being saved (then the answer still comes)."""
        if self.finished.is_set() or not self.proc.is_alive() or self.saving:
            return False
        self.cancelled = True
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        if not self.finished.wait(wait_s) and self.proc.is_alive() and not self.saving:
            kill_descendants(self.pid)
            self.proc.kill()
            self.finished.wait(wait_s)
        return True

    async def astream(self, after: int = -1, keepalive_s: float = 10.0):
        """The events numbered above `after` as server-sent-event text (``id``, ``event``, ``data``), then the live
        ones, ending after the last; a comment line keeps idle links open.

        Polls the log without holding a worker thread, so many open streams cost the server nothing."""
        import asyncio

        from earful.web.render import json_for_html

        idle, sent = 0.0, max(-1, after)
        while True:
            done = self.finished.is_set()            # read before the log: the last event is in it once this is set
            with self._log_lock:
                new = self.log[sent + 1:]
            for event in new:
                sent += 1
                yield f"id: {sent}\nevent: {event['kind']}\ndata: {json_for_html(event)}\n\n"
            if new:
                idle = 0.0
                continue
            if done:
                return
            await asyncio.sleep(0.05)
            idle += 0.05
            if idle >= keepalive_s:
                idle = 0.0
                yield ": still working\n\n"


class Runs:
    """The server's runs by id: at most `limit` at once; finished ones are forgotten after `keep_s` seconds."""

    def __init__(self, limit: int = MAX_RUNS, keep_s: float = 600.0):
        self.limit = limit
        self.keep_s = keep_s
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def start(self, settings, question: str, conversation_id: str | None, turns_before: int = 0) -> Run:
        with self._lock:
            now = time.monotonic()
            for rid, r in list(self._runs.items()):
                if r.ended_at is not None and now - r.ended_at > self.keep_s:
                    del self._runs[rid]
            busy = sum(1 for r in self._runs.values() if not r.finished.is_set())
            if busy >= self.limit:
                raise RunsBusy(f"{busy} questions are running on this server (at most {self.limit} at once); "
                               "ask again when one finishes")
            new = conversation_id is None
            run = Run(settings, question, conversation_id or uuid.uuid4().hex[:12], new, turns_before)
            self._runs[run.id] = run
            return run

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def running_for(self, conversation_id: str) -> Run | None:
        """The newest run of this conversation that has not ended (None when none: its answer is in the history)."""
        with self._lock:
            live = [r for r in self._runs.values() if r.conversation_id == conversation_id and not r.finished.is_set()]
        return live[-1] if live else None

    def cancel_all(self) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for r in runs:
            r.cancel(wait_s=2.0)
