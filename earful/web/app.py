"""The web chat: a FastAPI app over the same `ask` path as the CLI (``earful serve``).

It binds 127.0.0.1 by default and serves everything itself (page, plotly.js from the installed package), so it
works offline and sends nothing anywhere. Errors from Earful become JSON ``{"error": ...}`` responses here, the
only place besides the CLI that turns them into a protocol.

Design decision: every request passes one guard (`Guard`, plain ASGI) before any route runs. It checks the Host
header against the names the server is bound to (a DNS-rebinding page at ``evil.example.com`` resolving to
127.0.0.1 is refused), and, when a token is set (always, off loopback), wants it on every request: as
``Authorization: Bearer TOKEN`` or as the HttpOnly cookie that ``/?token=TOKEN`` sets on the first page load.
Every JSON this app serves is escaped for HTML (`json_for_html`), like the JSON inside its pages.

Routes: the page (``/``, ``/c/<conversation id>``), ``/api/ask`` (JSON, or a stream of steps when the request
accepts ``text/event-stream``; see `earful.web.runs`), ``/api/runs/<id>/cancel``, ``/api/runs/<id>/events`` (a
streamed question again, from ``Last-Event-ID``), the conversation list and turns, ``/api/sql`` (an edited query,
read-only as in ``earful sql``), ``/api/suggestions``, the item pages, the views and the profile pages
(`earful.web.routes`).
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
from urllib.parse import parse_qsl, quote, unquote, urlencode

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError
from starlette.requests import Request  # at module level: FastAPI resolves route annotations here

from earful.web.render import answer_html, json_for_html, plotly_js

COOKIE = "earful_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


MAX_QUESTION = 2000     # characters; longer text is refused with a message that says so


class AskBody(BaseModel):
    question: str = Field(..., json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION})
    conversation_id: str | None = None

    @field_validator("question")
    @classmethod
    def _fits(cls, v: str) -> str:
        """An empty or too-long question is a 422 whose `msg` says what is wrong (the page shows it as is)."""
        if not v.strip():
            raise PydanticCustomError("question_empty", "the question is empty: type a question about the workspace")
        if len(v) > MAX_QUESTION:
            raise PydanticCustomError("question_too_long", "the question is too long: {n} characters, at most "
                                      "{most}; shorten it or ask it in parts",
                                      {"n": f"{len(v):,}", "most": f"{MAX_QUESTION:,}"})
        return v


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost': addresses only this machine can reach."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name part of a Host header: 'a.b:80' -> 'a.b', '[::1]:80' -> '::1'."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """ASGI middleware: Host header check on every request, and the token when one is set.

    `bind` is the address the server listens on; the accepted Host names are the loopback names, `bind` itself and
    `extra_hosts`. Bound to a wildcard (0.0.0.0, ::), any IP literal is accepted too (a rebinding attack always
    arrives under a DNS name), plus this machine's hostname.
    """

    def __init__(self, app, *, bind: str = "127.0.0.1", token: str | None = None, extra_hosts=()):
        import socket

        self.app = app
        self.token = token or None
        names = {*LOOPBACK_NAMES, host_name(bind), *(host_name(h) for h in extra_hosts)}
        self.any_ip = bind.strip("[]") in ("0.0.0.0", "::", "")
        if self.any_ip:
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        self.names = names

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        name = host_name(headers.get("host", ""))
        allowed = (name in self.names or (self.any_ip and _is_ip(name))) and (self.token is None or
                                                                               self._has_token(headers))
        if scope["type"] == "websocket":   # the app has none; refused unless Host and token are right
            return await (self.app(scope, receive, send) if allowed else send({"type": "websocket.close",
                                                                                "code": 1008}))
        if not (name in self.names or (self.any_ip and _is_ip(name))):
            return await _reply(send, 400, {"error": f"unknown Host header {name!r}: this server answers to "
                                                     f"{', '.join(sorted(self.names))} (see 'earful serve --help')"})
        if self.token is None or self._has_token(headers):
            return await self._run(scope, receive, send)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["type"] == "http" and scope["method"] == "GET" and self._same(query.get("token")):
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            cookie = f"{COOKIE}={quote(self.token, safe='')}; HttpOnly; SameSite=Strict; Path=/"
            return await _reply(send, 303, {"ok": True}, [("location", scope["path"] + ("?" + rest if rest else "")),
                                                          ("set-cookie", cookie)])
        return await _reply(send, 401, {"error": "this Earful server needs its token: open the page once as "
                                                 "/?token=TOKEN, or send 'Authorization: Bearer TOKEN'"},
                            [("www-authenticate", "Bearer")])

    async def _run(self, scope, receive, send):
        """The app; a request still running when a stop's grace period ends gets a 503, not a traceback."""
        started = []

        async def tracked(message):
            if message["type"] == "http.response.start":
                started.append(True)
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if scope["type"] == "http" and not started:
                await _reply(send, 503, {"error": "the server is stopping; ask again when it is back"},
                             [("connection", "close")])

    def _same(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def _has_token(self, headers: dict) -> bool:
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer " and self._same(auth[7:].strip()):
            return True
        for part in headers.get("cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == COOKIE and self._same(unquote(value)):
                return True
        return False


async def _reply(send, status: int, body: dict, headers: list | None = None) -> None:
    data = json_for_html(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


def create_app(settings, *, host: str = "127.0.0.1", token: str | None = None, extra_hosts=()):
    """Build the FastAPI app for one workspace (`settings.db`) behind the `Guard`.

    `host` is the bound address (for the Host check); `token` defaults to ``settings.web.token``.
    """
    import contextlib

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

    from earful.errors import EarfulError
    from earful.web.runs import Runs, RunsBusy

    class SafeJSON(JSONResponse):
        def render(self, content) -> bytes:
            return json_for_html(content).encode("utf-8")

    runs = Runs()

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        from earful.web.runs import warm_up

        warm_up()
        yield
        await asyncio.to_thread(runs.cancel_all)      # no worker outlives the server

    app = FastAPI(title="Earful", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  default_response_class=SafeJSON, lifespan=lifespan)
    js = {"body": None}
    app.state.runs = runs

    @app.exception_handler(EarfulError)
    async def _earful_error(_request: Request, exc: EarfulError):
        status = 503 if isinstance(exc, RunsBusy) else 400 if exc.exit_code == 2 else 500
        return SafeJSON({"error": str(exc)}, status_code=status)

    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        """No such page: an HTML page that says so (pages) or ``{"error"}`` (``/api``)."""
        if exc.status_code == 404 and not request.url.path.startswith("/api/"):
            from earful.web.page import not_found_page

            return HTMLResponse(not_found_page(f"There is no page {request.url.path!r} here."), status_code=404)
        detail = exc.detail if isinstance(exc.detail, str) else json_for_html(exc.detail)
        return SafeJSON({"error": f"{detail} ({request.method} {request.url.path})"}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError):
        """A body that is not what the route takes: a readable ``error`` like every other failure, with FastAPI's
        ``detail`` kept beside it (the chat page reads a question's ``msg`` from there)."""
        from typing import get_args

        from fastapi.encoders import jsonable_encoder
        from pydantic_core.core_schema import ErrorType

        errors = exc.errors()
        if len(errors) == 1 and errors[0].get("type") not in get_args(ErrorType):    # written for people: as is
            return SafeJSON({"error": errors[0].get("msg", ""), "detail": jsonable_encoder(errors)}, status_code=422)
        said = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', '')}"
                         for e in errors[:5])
        want = "a JSON body" if any(e.get("type") == "model_attributes_type" for e in errors) else "a valid request"
        return SafeJSON({"error": f"{request.url.path} needs {want}: {said}", "detail": jsonable_encoder(errors)},
                        status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        return SafeJSON({"error": f"unexpected error: {type(exc).__name__}: {exc} (please report it)"},
                        status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index():
        from earful.web.page import page

        return page()

    @app.get("/favicon.ico")
    def favicon():
        return Response(status_code=204)      # no icon; a 404 here was the page's one console error

    @app.get("/static/plotly.min.js")
    def plotly():
        js["body"] = js["body"] or plotly_js()
        return Response(js["body"], media_type="application/javascript")

    @app.get("/api/status")
    def status():
        from earful.qa_agent.ask import workspace_lock
        from earful.status import workspace_status
        from earful.store import Store

        # exclusive in this process: a Store's read-only connection is configured unlike the engines' ones, and
        # DuckDB allows one configuration per file per process
        with workspace_lock(settings.db).exclusive(), Store(settings.db, read_only=True) as store:
            return workspace_status(store)

    @app.post("/api/ask")
    def ask(body: AskBody, request: Request):
        """The answer as JSON; with ``Accept: text/event-stream``, the run's steps as they happen, then the answer
        (`earful.web.runs`), cancellable with ``POST /api/runs/<run_id>/cancel``."""
        from earful.qa_agent.ask import ask as run_ask
        from earful.qa_agent.base import AskContext

        turns_before = 0
        if body.conversation_id is not None:
            from earful.web.history import conversation

            conv = conversation(settings.db, body.conversation_id, wait_s=settings.wait_s)
            if conv is None:
                return SafeJSON({"error": f"no conversation {body.conversation_id!r} in this workspace: start a "
                                          "new one (leave conversation_id out)"}, status_code=404)
            turns_before = len(conv["turns"])
        if "text/event-stream" in request.headers.get("accept", ""):
            run = runs.start(settings, body.question, body.conversation_id, turns_before)
            return StreamingResponse(run.astream(), media_type="text/event-stream",
                                     headers={"cache-control": "no-cache", "x-accel-buffering": "no"})
        # no output_dir: the page draws charts with plotly.js, so no PNG is rendered (matplotlib costs ~0.1-0.5 s
        # of CPU per chart, the largest part of a built-in answer, and every client would wait for it)
        ctx = AskContext(db_path=settings.db, settings=settings, conversation_id=body.conversation_id)
        answer = run_ask(body.question, ctx).to_json()
        return {"answer": answer, "html": answer_html(answer, item_link="/items/")}

    @app.post("/api/runs/{run_id}/cancel")
    def cancel(run_id: str):
        run = runs.get(run_id)
        if run is None:
            return SafeJSON({"error": f"no question {run_id!r} is running on this server"}, status_code=404)
        stopped = run.cancel()
        return {"run_id": run_id, "stopped": stopped, "outcome": run.outcome}

    @app.get("/api/runs/{run_id}/events")
    def run_events(run_id: str, request: Request):
        """A streamed question's events again (a reload, a lost connection): those numbered above the
        ``Last-Event-ID`` header (or ``?after=N``; default: all of them), then the live ones, to the end."""
        run = runs.get(run_id)
        if run is None:
            return SafeJSON({"error": f"no question {run_id!r} is running on this server (a finished one's answer "
                                      "is in its conversation)"}, status_code=404)
        raw = request.headers.get("last-event-id") or request.query_params.get("after") or "-1"
        try:
            after = int(raw)
        except ValueError:
            return SafeJSON({"error": f"Last-Event-ID must be an event number, not {raw[:40]!r}"}, status_code=400)
        return StreamingResponse(run.astream(after), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})

    @app.get("/api/runs/{run_id}")
    def run_state(run_id: str):
        """Where a streamed question stands: its outcome (None while running) and its worker process."""
        run = runs.get(run_id)
        if run is None:
            return SafeJSON({"error": f"no question {run_id!r} is running on this server"}, status_code=404)
        return {"run_id": run_id, "conversation_id": run.conversation_id, "question": run.question,
                "outcome": run.outcome, "events": len(run.log), "worker_pid": run.pid,
                "worker_alive": run.proc.is_alive()}

    from earful.web.routes import register

    register(app, settings, SafeJSON)
    token = token if token is not None else settings.web.token
    return Guard(app, bind=host, token=token, extra_hosts=extra_hosts)
