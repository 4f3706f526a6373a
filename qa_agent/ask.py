"""`ask`: run the engines in order over one question, and keep the conversation in the store.

The built-in engine answers what it can map with confidence; when it declines and an LLM is configured the LLM agent
takes over; when none answers, the built-in engine's decline (what it understood, what it could not map) is returned.
Design decision: conversations live in the workspace (`conversations`, `conversation_turns`), so a follow-up from a
new process (``earful ask --conversation ID``) sees earlier turns as ``AskContext.history`` =
[{question, answer, plan, steps, engine}]. The store is opened only to read history and to save the turn, never
while an engine runs (the sandboxed executor opens the file read-only from another process).
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from earful.registry import load_optional

from qa_agent.base import ENGINES, Answer, AskContext


def load_engine(path: str):
    cls = load_optional(path)
    return None if cls is None else cls()


def run_engines(question: str, ctx: AskContext, engines: list | None = None) -> Answer:
    first_decline = None
    for eng in engines if engines is not None else ENGINES:
        engine = load_engine(eng) if isinstance(eng, str) else eng
        if engine is None:
            continue
        ans = engine.answer(question, ctx)
        if ans.status != "declined":
            return ans
        first_decline = first_decline or ans
    return first_decline or Answer(status="declined", answer="No answering engine is installed.", engine="none")


def ask(question: str, ctx: AskContext, engines: list | None = None, persist: bool = True) -> Answer:
    """Answer `question`; continue ``ctx.conversation_id`` (or start one) and save the turn in the store.

    `engines` (engine objects or "module:Class" paths) replaces the default chain; tests pass an `LLMAgent` built
    around a fake chat model here.
    """
    from earful.errors import EarfulError

    problem = None
    if persist:
        new = ctx.conversation_id is None
        ctx.conversation_id = ctx.conversation_id or uuid.uuid4().hex[:12]
        ctx.pending_runs = []     # engines put their run-log rows here; saved with the turn, in one transaction
        if not ctx.history and not new:
            try:
                ctx.history = load_history(ctx.db_path, ctx.conversation_id)
            except (EarfulError, OSError) as exc:
                problem = f"earlier turns could not be read ({exc})"
    ans = run_engines(question, ctx, engines)
    if persist:
        ans.conversation_id = ctx.conversation_id
        try:
            save_turn(ctx.db_path, ctx.conversation_id, question, ans, runs=ctx.pending_runs)
        except (EarfulError, OSError) as exc:   # e.g. another process holds the workspace for writing
            problem = problem or f"this turn was not saved in the workspace ({exc})"
        if problem:
            ans.notes.append(problem)
    return ans


def load_history(db_path: str, conversation_id: str) -> list[dict]:
    """Earlier turns of a conversation, oldest first; [] for a new id or a workspace without the tables."""
    from pathlib import Path

    from earful.store import Store

    if not Path(db_path).exists():
        return []
    with Store(db_path, read_only=True) as store:
        if not store.table_exists("conversation_turns"):
            return []
        rows = store.rows("SELECT question, answer, plan, steps, engine FROM conversation_turns "
                          "WHERE conversation_id = ? ORDER BY turn", [conversation_id])
    return [{"question": q, "answer": a, "plan": json.loads(p) if p else None, "steps": json.loads(s) if s else [],
             "engine": e} for q, a, p, s, e in rows]


def save_turn(db_path: str, conversation_id: str, question: str, ans: Answer, runs: list | None = None) -> None:
    """Append the turn (and any `agent_runs` rows the engines deferred) to the conversation, atomically."""
    from pathlib import Path

    from earful.cli.common import dumps
    from earful.store import Store

    if not Path(db_path).exists():
        return
    now = datetime.now(timezone.utc)
    data = ans.to_json()
    with Store(db_path) as store, store.transaction() as con:
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


def list_conversations(db_path: str, limit: int = 20) -> list[dict]:
    from earful.store import Store

    with Store(db_path, read_only=True) as store:
        if not store.table_exists("conversations"):
            return []
        rows = store.rows("SELECT c.conversation_id, c.title, c.updated_at, count(t.turn) FROM conversations c "
                          "LEFT JOIN conversation_turns t USING (conversation_id) GROUP BY ALL "
                          "ORDER BY c.updated_at DESC LIMIT ?", [limit])
    return [{"conversation_id": i, "title": t, "updated_at": u, "turns": n} for i, t, u, n in rows]
