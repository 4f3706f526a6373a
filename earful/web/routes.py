"""The chat's routes besides asking: conversations (``/c/<id>``, the side panel), edited SQL, suggestions, items,
and the topics and label-share views (`earful.web.views`).

Design decision: each route is a thin adapter over a function that does the work elsewhere (`earful.web.history`,
`earful.store.readonly.run_read_only`, `earful.web.suggest`, `earful.web.items`); an unknown conversation or item
is a 404 that says what was not found (an HTML page for page URLs, ``{"error"}`` for API URLs).
"""
from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request  # at module level: FastAPI resolves route annotations here

SQL_ROW_CAP = 1000      # rows an edited query sends back to the page (the query itself runs to completion)


class RenameBody(BaseModel):
    name: str = Field(..., max_length=200)


class MergeBody(BaseModel):
    """Topics to merge from the topics page: the first id survives (as in ``earful topics merge INTO OTHER...``)."""
    topic_ids: list[int] = Field(..., max_length=200)
    name: str | None = Field(None, max_length=200)


class SqlBody(BaseModel):
    """An edited query from the page (module level: FastAPI resolves route annotations here)."""
    sql: str = Field(..., max_length=20_000)


def _esc(v) -> str:
    import html

    return html.escape(str(v))


def register(app, settings, SafeJSON) -> None:
    from fastapi.responses import HTMLResponse

    @app.get("/c/{conversation_id}", response_class=HTMLResponse)
    def conversation_page(conversation_id: str):
        from earful.web.history import conversation
        from earful.web.page import not_found_page, page

        if conversation(settings.db, conversation_id, wait_s=settings.wait_s) is None and \
                app.state.runs.running_for(conversation_id) is None:      # a new conversation's first question
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

        run = app.state.runs.running_for(conversation_id)     # first: a run that ends meanwhile is still streamed
        conv = conversation(settings.db, conversation_id, wait_s=settings.wait_s)
        if conv is None and run is None:
            return SafeJSON({"error": f"no conversation {conversation_id!r} in this workspace"}, status_code=404)
        if conv is None:                                      # its first question is still running
            conv = {"conversation_id": conversation_id, "title": run.question, "created_at": None,
                    "updated_at": None, "turns": []}
        conv["running"] = None
        if run is not None:      # the run's own turn (saved just before it ends) comes with its stream, not twice
            conv["turns"] = conv["turns"][:run.turns_before]
            conv["running"] = {"run_id": run.id, "question": run.question}
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

    @app.get("/topics/pictures", response_class=HTMLResponse)
    def topic_pictures_page():
        from earful.web.views import topic_pictures_html

        return topic_pictures_html(settings)

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

    @app.post("/api/topics/merge")
    def topics_merge(body: MergeBody):
        """Merge topics as ``earful topics merge`` does (stored as an override, kept over refits); with `name`, the
        merged topic is renamed too (a second override)."""
        from earful.web.views import merge_topics

        return merge_topics(settings, body.topic_ids, body.name)

    def _pair(request) -> list[str]:
        q = request.query_params
        pair = [x.strip() for x in (q.get("compare") or "").split(",") if x.strip()]
        return pair or [x for x in (q.get("a"), q.get("b")) if x]

    def _columns(request) -> dict:
        q = request.query_params
        return {k: (q.get(k) or None) for k in ("subject", "score", "category", "labels")}

    @app.get("/profiles", response_class=HTMLResponse)
    def profiles_page():
        from earful.web.profiles import list_html

        return list_html(settings)

    @app.get("/profiles/{source}", response_class=HTMLResponse)
    def profile_page(source: str, request: Request):
        from earful.errors import EarfulError
        from earful.web.profiles import profile_html
        from earful.web.views import view_page

        try:
            return profile_html(settings, source, compare=_pair(request), **_columns(request))
        except EarfulError as exc:
            return HTMLResponse(view_page(f"Profile: {source}", f'<p class="earful-err pf-error">{_esc(exc)}</p>'
                                                                '<p><a href="/profiles">all sources</a></p>'),
                                status_code=404 if "no source" in str(exc) else 400)

    @app.get("/api/profiles")
    def profiles_json():
        from earful.web.profiles import columns_for
        from earful.web.views import read_store

        with read_store(settings) as store:
            return {"sources": [columns_for(store, s) for s in store.sources()]}

    @app.get("/api/profiles/{source}")
    def profile_json(source: str, request: Request):
        from earful.web.profiles import profile_json as data

        return data(settings, source, compare=_pair(request), **_columns(request))
