"""`ask`: run the engines in order over one question, and keep the conversation in the store.

The built-in engine answers what it can map with confidence; when it declines and an LLM is configured the LLM agent
takes over; when none answers, the built-in engine's decline (what it understood, what it could not map) is returned.
Design decision: conversations live in the workspace (`conversations`, `conversation_turns`), so a follow-up from a
new process (``earful ask --conversation ID``) sees earlier turns as ``AskContext.history`` =
[{question, answer, plan, steps, engine}]. The store is opened only to read history and to save the turn, never
while an engine runs (the sandboxed executor opens the file read-only from another process).

Concurrency: DuckDB lets one process hold a file read-write, or any number of processes hold it read-only, and
within one process every connection to a file must share one configuration. So in this process, readers (engines,
history) share `workspace_lock(db)` and a turn's short write transaction takes it exclusively (a waiting writer
holds back new readers, so a busy web server still saves every turn); across processes, the write (and the
history read) is retried with backoff for ``settings.wait_s`` seconds while another process holds the file.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import random
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from earful.qa_agent.base import ENGINES, Answer, AskContext


def load_engine(name: str):
    """A new engine: a registered name (`ENGINES`), or a ``module:Class`` path (tests, one-off engines)."""
    if name in ENGINES:
        return ENGINES[name]()
    import importlib

    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)()


_PROGRESS: contextvars.ContextVar = contextvars.ContextVar("earful_progress", default=None)


def report_progress(kind: str, **data) -> None:
    """Tell whoever called ``ask(on_step=...)`` what is happening now ({"kind": kind, **data}); a no-op when nobody
    listens, and a listener's failure never reaches the engine."""
    listener = _PROGRESS.get()
    if listener is not None:
        try:
            listener({"kind": kind, **data})
        except Exception:  # noqa: BLE001 - progress is advisory
            pass


def run_engines(question: str, ctx: AskContext, engines: list | None = None) -> Answer:
    first_decline = None
    for eng in engines if engines is not None else ENGINES:
        engine = load_engine(eng) if isinstance(eng, str) else eng
        if engine is None:
            continue
        report_progress("engine", engine=getattr(engine, "name", "") or type(engine).__name__)
        ans = engine.answer(question, ctx)
        if ans.status != "declined":
            return ans
        report_progress("declined", engine=ans.engine, answer=ans.answer)
        first_decline = first_decline or ans
    return first_decline or Answer(status="declined", answer="No answering engine is installed.", engine="none")


class WorkspaceLock:
    """Many readers or one writer of one workspace file, within this process; writers go first when waiting."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0
        self.pending: list[_Turn] = []     # turns waiting to be written (see `save_turn`), guarded by _cond

    def add(self, turn: _Turn) -> None:
        with self._cond:
            self.pending.append(turn)

    def take(self) -> list[_Turn]:
        with self._cond:
            batch, self.pending = self.pending, []
        return batch

    @contextlib.contextmanager
    def shared(self):
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self._cond:
            self._waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


_LOCKS: dict[str, WorkspaceLock] = {}
_LOCKS_GUARD = threading.Lock()


def workspace_lock(db_path) -> WorkspaceLock:
    """The process-wide lock of the workspace file at `db_path` (one per resolved path)."""
    key = str(Path(db_path).resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, WorkspaceLock())


def _busy(exc: BaseException) -> bool:
    """Did `exc` come from another connection holding the file (another process, or this one's other config)?

    A `WorkspaceBusyError` is not: the store raises it after waiting its own bounded time (``--wait``).
    """
    import duckdb

    seen = 0
    while exc is not None and seen < 8:
        if "busy" in type(exc).__name__.lower():
            return False
        if isinstance(exc, (duckdb.IOException, duckdb.ConnectionException)):
            text = str(exc).lower()
            if "lock" in text or "configuration" in text or "already open" in text:
                return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def retry_busy(fn, wait_s: float):
    """Call `fn()`; while the workspace is busy (see `_busy`), retry with jittered backoff for up to `wait_s` s."""
    from earful.errors import EarfulError

    deadline = time.monotonic() + max(0.0, float(wait_s))
    delay = 0.01
    while True:
        try:
            return fn()
        except (EarfulError, OSError) as exc:
            left = deadline - time.monotonic()
            if left <= 0 or not _busy(exc):
                raise
        time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
        delay = min(delay * 2, 0.25)


def _wait_s(ctx: AskContext) -> float:
    return float(getattr(ctx.settings, "wait_s", 10.0) or 0.0)


def ask(question: str, ctx: AskContext, engines: list | None = None, persist: bool = True,
        on_step=None) -> Answer:
    """Answer `question`; continue ``ctx.conversation_id`` (or start one) and save the turn in the store.

    `engines` (engine objects or "module:Class" paths) replaces the default chain; tests pass an `LLMAgent` built
    around a fake chat model here. `on_step`, when given, gets each progress event (see `report_progress`).
    """
    token = _PROGRESS.set(on_step)
    try:
        return _ask(question, ctx, engines, persist)
    finally:
        _PROGRESS.reset(token)


def _ask(question: str, ctx: AskContext, engines: list | None, persist: bool) -> Answer:
    from earful.errors import EarfulError

    problem = None
    if persist:
        new = ctx.conversation_id is None
        ctx.conversation_id = ctx.conversation_id or uuid.uuid4().hex[:12]
        ctx.pending_runs = []     # engines put their run-log rows here; saved with the turn, in one transaction
        if not ctx.history and not new:
            try:
                ctx.history = load_history(ctx.db_path, ctx.conversation_id, wait_s=_wait_s(ctx))
            except (EarfulError, OSError) as exc:
                problem = f"earlier turns could not be read ({exc})"
    with workspace_lock(ctx.db_path).shared():
        ans = run_engines(question, ctx, engines)
    if persist:
        ans.conversation_id = ctx.conversation_id
        report_progress("saving", status=ans.status)
        try:
            save_turn(ctx.db_path, ctx.conversation_id, question, ans, runs=ctx.pending_runs, wait_s=_wait_s(ctx))
        except Exception as exc:  # noqa: BLE001 - e.g. another process held the workspace past --wait
            problem = problem or f"this turn was not saved in the workspace ({exc})"
        if problem:
            ans.notes.append(problem)
    return ans


def _read(db_path: str, sql: str, params: list, table: str) -> list[tuple]:
    """Rows of `sql` over the workspace's read-only connection (the engines' configuration); [] without `table`."""
    from earful.store.readonly import connect_read_only

    with workspace_lock(db_path).shared():
        con = connect_read_only(str(db_path))
        try:
            if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                               "AND table_name = ?", [table]).fetchall()[0][0]:
                return []
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def load_history(db_path: str, conversation_id: str, wait_s: float = 0.0) -> list[dict]:
    """Earlier turns of a conversation, oldest first; [] for a new id or a workspace without the tables."""
    if not Path(db_path).exists():
        return []
    rows = retry_busy(lambda: _read(db_path, "SELECT question, answer, plan, steps, engine FROM conversation_turns "
                                             "WHERE conversation_id = ? ORDER BY turn", [conversation_id],
                                    "conversation_turns"), wait_s)
    return [{"question": q, "answer": a, "plan": json.loads(p) if p else None, "steps": json.loads(s) if s else [],
             "engine": e} for q, a, p, s, e in rows]


class _Turn:
    """One turn waiting to be saved, and how its save ended (`error` None: written)."""

    def __init__(self, conversation_id: str, question: str, ans: Answer, runs: list | None):
        from earful.errors import EarfulError

        self.args = (conversation_id, question, ans, runs)
        self.error: BaseException | None = EarfulError("the turn was not written")   # None once it is


def save_turn(db_path: str, conversation_id: str, question: str, ans: Answer, runs: list | None = None,
              wait_s: float = 0.0) -> None:
    """Append the turn (and any `agent_runs` rows the engines deferred) to the conversation, atomically.

    Writers in this process take turns (`workspace_lock`), and whoever gets the lock writes every turn queued so
    far in one transaction (group commit: a busy server opens the file for writing once per batch, not once per
    answer; a batch that fails is written turn by turn, so one bad turn costs only itself). While another process
    holds the file, the write is retried for up to `wait_s` seconds. Returns once this turn is written; raises if
    it could not be.
    """
    if not Path(db_path).exists():
        return
    lock = workspace_lock(db_path)
    mine = _Turn(conversation_id, question, ans, runs)
    lock.add(mine)
    with lock.exclusive():
        batch = lock.take()        # empty when an earlier writer already took (and wrote) this turn
        if batch:
            _write_batch(db_path, batch, wait_s)
    if mine.error is not None:
        raise mine.error


def _write_batch(db_path: str, batch: list[_Turn], wait_s: float) -> None:
    try:
        retry_busy(lambda: _write_turns(db_path, [t.args for t in batch]), wait_s)
    except Exception as exc:  # noqa: BLE001 - recorded on each turn; each turn's own caller raises it
        if len(batch) == 1 or _busy(exc):
            for t in batch:
                t.error = exc
            return
        for t in batch:
            try:
                _write_turns(db_path, [t.args])
                t.error = None
            except Exception as one:  # noqa: BLE001
                t.error = one
    else:
        for t in batch:
            t.error = None


def _write_turns(db_path: str, turns: list[tuple]) -> None:
    from earful.store import Store

    with Store(db_path) as store, store.transaction() as con:
        for args in turns:
            _insert_turn(store, con, *args)


def _insert_turn(store, con, conversation_id: str, question: str, ans: Answer, runs: list | None) -> None:
    from earful.store.sql import json_text as dumps

    now = datetime.now(UTC)
    data = ans.to_json()
    turn = store.scalar("SELECT coalesce(max(turn), 0) + 1 FROM conversation_turns WHERE conversation_id = ?",
                        [conversation_id])
    if turn == 1:
        con.execute("INSERT INTO conversations VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [conversation_id, now, now, question[:200]])
    else:
        con.execute("UPDATE conversations SET updated_at = ? WHERE conversation_id = ?", [now, conversation_id])
    con.execute("INSERT INTO conversation_turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [conversation_id, turn, now, question, ans.engine, ans.status, ans.answer,
                 dumps(ans.plan) if ans.plan is not None else None, dumps(data["steps"]), dumps(data)])
    for row in runs or []:
        con.execute("INSERT INTO agent_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)


def list_conversations(db_path: str, limit: int = 20, wait_s: float = 0.0) -> list[dict]:
    if not Path(db_path).exists():
        from earful.errors import NotFoundError
        raise NotFoundError(f"no workspace at {db_path}", hint="run 'earful ingest FILE' first, or pass --db PATH")
    rows = retry_busy(lambda: _read(db_path, "SELECT c.conversation_id, c.title, c.updated_at, count(t.turn) "
                                             "FROM conversations c LEFT JOIN conversation_turns t "
                                             "USING (conversation_id) GROUP BY ALL ORDER BY c.updated_at DESC "
                                             "LIMIT ?", [limit], "conversations"), wait_s)
    return [{"conversation_id": i, "title": t, "updated_at": u, "turns": n} for i, t, u, n in rows]
