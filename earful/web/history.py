"""The workspace's conversations as the chat shows them: the side panel's list and one conversation's turns.

Design decision: the conversation tables that `earful.qa_agent.ask` writes are the only record; the page keeps
nothing of its own, so a reload, another browser or ``earful ask --conversation ID`` all see the same turns. Reads
go through the engines' read-only connection under the workspace lock's shared side (as `ask`'s history does),
retried while another process writes the file.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _rows(db_path: str, sql: str, params: list, wait_s: float) -> list[tuple]:
    from earful.qa_agent.ask import retry_busy, workspace_lock
    from earful.store.readonly import connect_read_only

    def read():
        with workspace_lock(db_path).shared():
            con = connect_read_only(str(db_path))
            try:
                if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                                   "AND table_name = 'conversation_turns'").fetchall()[0][0]:
                    return []
                return con.execute(sql, params).fetchall()
            finally:
                con.close()

    if not Path(db_path).exists():
        return []
    return retry_busy(read, wait_s)


def conversations(db_path: str, limit: int = 200, wait_s: float = 10.0) -> list[dict]:
    """Newest first: id, title (the first question), when it was last continued, number of turns."""
    rows = _rows(db_path, "SELECT c.conversation_id, c.title, c.updated_at, count(t.turn) FROM conversations c "
                          "LEFT JOIN conversation_turns t USING (conversation_id) GROUP BY ALL "
                          "ORDER BY c.updated_at DESC LIMIT ?", [limit], wait_s)
    return [{"conversation_id": i, "title": t or "(untitled)", "updated_at": u.isoformat() if u else None,
             "turns": n} for i, t, u, n in rows]


def conversation(db_path: str, conversation_id: str, wait_s: float = 10.0) -> dict | None:
    """The conversation's turns, oldest first, each with its saved Answer JSON; None when there is no such id."""
    if not ID_SHAPE.fullmatch(conversation_id or ""):
        return None
    head = _rows(db_path, "SELECT title, created_at, updated_at FROM conversations WHERE conversation_id = ?",
                 [conversation_id], wait_s)
    if not head:
        return None
    turns = _rows(db_path, "SELECT turn, question, engine, status, answer, reply FROM conversation_turns "
                           "WHERE conversation_id = ? ORDER BY turn", [conversation_id], wait_s)
    out = []
    for turn, question, engine, status, answer, reply in turns:
        try:
            data = json.loads(reply) if reply else None
        except ValueError:
            data = None
        if not isinstance(data, dict):     # an older or damaged turn: what the columns say
            data = {"status": status, "answer": answer, "engine": engine, "steps": [], "tables": [], "charts": [],
                    "notes": [], "item_ids": []}
        data["conversation_id"] = conversation_id
        out.append({"turn": turn, "question": question, "answer": data})
    title, created, updated = head[0]
    return {"conversation_id": conversation_id, "title": title, "created_at": created.isoformat() if created else None,
            "updated_at": updated.isoformat() if updated else None, "turns": out}
