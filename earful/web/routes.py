"""The chat's routes besides asking: conversations (``/c/<id>``, the side panel), edited SQL, suggestions, items,
and the topics and label-share views (`earful.web.views`).

Design decision: each route is a thin adapter over a function that does the work elsewhere (`earful.web.history`,
`earful.store.readonly.run_read_only`, `earful.web.suggest`, `earful.web.items`); an unknown conversation or item
is a 404 that says what was not found (an HTML page for page URLs, ``{"error"}`` for API URLs).
"""
from __future__ import annotations

from pydantic import BaseModel, Field

SQL_ROW_CAP = 1000      # rows an edited query sends back to the page (the query itself runs to completion)


class RenameBody(BaseModel):
    name: str = Field(..., max_length=200)


class SqlBody(BaseModel):
    """An edited query from the page (module level: FastAPI resolves route annotations here)."""
    sql: str = Field(..., max_length=20_000)


def register(app, settings, SafeJSON) -> None:
    from fastapi.responses import HTMLResponse

    @app.get("/c/{conversation_id}", response_class=HTMLResponse)
    def conversation_page(conversation_id: str):
        from earful.web.history import conversation
        from earful.web.page import not_found_page, page

        if conversation(settings.db, conversation_id, wait_s=settings.wait_s) is None:
            return HTMLResponse(not_found_page(f"There is no conversation {conversation_id!r} in this workspace "
                                               f"({settings.db})."), status_code=404)
        return page(conversation_id)

    @app.get("/api/conversations")
    def conversations_list():
        from earful.web.history import conversations

        return {"conversations": conversations(settings.db, wait_s=settings.wait_s)}

    @app.get("/api/conversations/{conversation_id}")
    def conversation_turns(conversation_id: str):
        from earful.web.history import conversation
        from earful.web.render import answer_html

        conv = conversation(settings.db, conversation_id, wait_s=settings.wait_s)
        if conv is None:
            return SafeJSON({"error": f"no conversation {conversation_id!r} in this workspace"}, status_code=404)
        for t in conv["turns"]:
            t["html"] = answer_html(t["answer"], item_link="/items/")
        return conv

    @app.post("/api/sql")
    def sql(body: SqlBody):
        """Run an edited query as ``earful sql`` does: checked read-only, [sql] timeout_s and memory_mb; the first
        `SQL_ROW_CAP` rows come back."""
        from earful.qa_agent.ask import workspace_lock
        from earful.store.readonly import run_read_only

        with workspace_lock(settings.db).shared():
            tbl = run_read_only(settings.db, body.sql, timeout_s=settings.sql.timeout_s,
                                memory_mb=settings.sql.memory_mb, wait_s=settings.wait_s)
        cols = list(tbl.column_names)
        rows = [[r[c] for c in cols] for r in tbl.slice(0, SQL_ROW_CAP).to_pylist()]
        return {"columns": cols, "rows": rows, "row_count": tbl.num_rows, "truncated": tbl.num_rows > SQL_ROW_CAP}

    @app.get("/api/suggestions")
    def suggestions():
        from earful.web.suggest import suggest

        return {"questions": suggest(settings.db)}

    @app.get("/items/{item_id}", response_class=HTMLResponse)
    def item_page(item_id: str):
        from earful.web.items import item, item_page_html
        from earful.web.page import not_found_page

        data = item(settings, item_id)
        if data is None:
            return HTMLResponse(not_found_page(f"There is no item {item_id!r} in this workspace ({settings.db})."),
                                status_code=404)
        return item_page_html(data)

    @app.get("/api/items/{item_id}")
    def item_json(item_id: str):
        from earful.web.items import item

        data = item(settings, item_id)
        if data is None:
            return SafeJSON({"error": f"no item {item_id!r} in this workspace"}, status_code=404)
        return data

    @app.get("/topics", response_class=HTMLResponse)
    def topics_page():
        from earful.web.views import topics_html

        return topics_html(settings)

    @app.get("/topics/{topic_id}", response_class=HTMLResponse)
    def topic_page(topic_id: str):
        from earful.web.page import not_found_page
        from earful.web.views import topic_html

        page = topic_html(settings, int(topic_id)) if topic_id.lstrip("-").isdigit() else None
        if page is None:
            return HTMLResponse(not_found_page(f"There is no topic {topic_id!r} in this workspace (see /topics)."),
                                status_code=404)
        return page

    @app.get("/labels", response_class=HTMLResponse)
    def labels_page():
        from earful.web.views import labels_html

        return labels_html(settings)

    @app.post("/api/topics/{topic_id}/rename")
    def topic_rename(topic_id: int, body: RenameBody):
        """Rename a topic as ``earful topics rename`` does (stored as an override, kept over refits)."""
        from earful.web.views import rename_topic

        return rename_topic(settings, topic_id, body.name)
