"""The web chat: a FastAPI app over the same `ask` path as the CLI (``earful serve``).

It binds 127.0.0.1 by default and serves everything itself (page, plotly.js from the installed package), so it
works offline and sends nothing anywhere. Errors from Earful become JSON ``{"error": ...}`` responses here, the
only place besides the CLI that turns them into a protocol.

Design decision: every request passes one guard (`Guard`, plain ASGI) before any route runs. It checks the Host
header against the names the server is bound to (a DNS-rebinding page at ``evil.example.com`` resolving to
127.0.0.1 is refused), and, when a token is set (always, off loopback), wants it on every request: as
``Authorization: Bearer TOKEN`` or as the HttpOnly cookie that ``/?token=TOKEN`` sets on the first page load.
Every JSON this app serves is escaped for HTML (`json_for_html`), like the JSON inside its pages.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
from urllib.parse import parse_qsl, quote, unquote, urlencode

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from earful.web.render import STYLE, answer_html, json_for_html, plotly_js

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


PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Earful</title>
<style>%STYLE% #ask{display:flex;gap:.5em;align-items:center;position:sticky;bottom:0;background:#fff;padding:1em 0}
#q{flex:1;font-size:1em;padding:.5em}</style><script src="/static/plotly.min.js"></script></head>
<body><h2>Earful</h2><p id="ws"></p><div id="log"></div>
<form id="ask"><input id="q" autofocus placeholder="Ask anything, e.g. how many reviews mention battery?">
<button id="go">Ask</button><button type="button" id="new">New conversation</button>
<span id="working" class="earful-working" role="status" hidden><span class="earful-spin"></span>
working&hellip; <span id="elapsed">0 s</span></span></form>
<script>
// Failures are shown with textContent only: server text is never parsed into this page's DOM.
let conv = null, timer = null;
const $ = id => document.getElementById(id);
fetch('/api/status').then(async r => {if(!r.ok) throw new Error(await problem(r)); return r.json();})
  .then(s => {$('ws').textContent = 'workspace ' + s.db + ': ' +
    s.sources.map(x => x.source + ' (' + x.items + ')').join(', ');})
  .catch(x => {$('ws').textContent = 'could not read the workspace status: ' + reason(x);});
function add(html){const d=document.createElement('div');d.innerHTML=html;$('log').appendChild(d);
  d.querySelectorAll('script').forEach(s=>{const n=document.createElement('script');n.text=s.text;s.replaceWith(n);});
  window.scrollTo(0, document.body.scrollHeight);}
function err(text){const p=document.createElement('p');p.className='earful-err';p.textContent=text;
  $('log').appendChild(p); window.scrollTo(0, document.body.scrollHeight);}
function reason(x){return x && x.message ? x.message : String(x);}
function busy(on){
  $('q').disabled = $('go').disabled = $('new').disabled = on; $('working').hidden = !on; clearInterval(timer);
  if(on){const t0 = Date.now();
    const tick = () => {$('elapsed').textContent = Math.floor((Date.now() - t0) / 1000) + ' s';};
    tick(); timer = setInterval(tick, 500);}
  else $('q').focus();}
// A readable sentence for a failed response: Earful's {"error"}, FastAPI's {"detail"} (its msgs), or the text.
async function problem(r){
  let text = ''; try {text = await r.text();} catch (x) {}
  let j = null; try {j = JSON.parse(text);} catch (x) {}
  if(j && typeof j.error === 'string') return j.error;
  if(j && Array.isArray(j.detail) && j.detail.length) return j.detail.map(d => {
    const msg = d && typeof d.msg === 'string' ? d.msg : JSON.stringify(d);
    const field = d && Array.isArray(d.loc) ? d.loc.filter(x => x !== 'body').join('.') : '';
    return field && !msg.toLowerCase().includes(String(field).toLowerCase()) ? field + ': ' + msg : msg;}).join('; ');
  if(j && typeof j.detail === 'string') return j.detail;
  if((r.headers.get('content-type') || '').includes('html'))   // an inert document: no script runs, nothing loads
    text = new DOMParser().parseFromString(text, 'text/html').body.textContent || '';
  text = text.replace(/\\s+/g, ' ').trim();
  const said = (r.status + ' ' + (r.statusText || '')).trim();
  const head = r.status >= 500 ? 'the server failed while answering (HTTP ' + said + ')'
                               : 'the server refused the question (HTTP ' + said + ')';
  const more = text && text !== r.statusText ? ': ' + (text.length > 300 ? text.slice(0, 300) + '…' : text) : '';
  return head + more + (r.status >= 500 ? '. The terminal running `earful serve` shows the details.' : '');}
$('new').onclick = () => {conv = null; $('log').innerHTML='';};
$('ask').onsubmit = async (e) => {e.preventDefault();
  const q = $('q').value.trim(); if(!q || $('q').disabled) return;
  const p = document.createElement('p'); p.className='earful-q'; p.textContent = q;
  $('log').appendChild(p); $('q').value=''; busy(true);
  let failed = null;
  try {
    let r;
    try {r = await fetch('/api/ask', {method:'POST', headers:{'Content-Type':'application/json'},
                                      body: JSON.stringify({question:q, conversation_id:conv})});}
    catch (x) {throw new Error('could not reach the Earful server (is `earful serve` still running?): ' + reason(x));}
    if(!r.ok) throw new Error(await problem(r));
    let j = null; try {j = await r.json();} catch (x) {}
    if(!j || !j.answer || typeof j.html !== 'string')
      throw new Error('the server sent a reply this page cannot read (HTTP ' + r.status + ')');
    conv = j.answer.conversation_id || conv; add(j.html);
  } catch (x) {failed = reason(x); err(failed);}
  finally {busy(false); if(failed && !$('q').value) $('q').value = q;}   // a failed question is kept to edit
};
</script></body></html>"""


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
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    from earful.errors import EarfulError

    class SafeJSON(JSONResponse):
        def render(self, content) -> bytes:
            return json_for_html(content).encode("utf-8")

    app = FastAPI(title="Earful", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  default_response_class=SafeJSON)
    js = {"body": None}

    @app.exception_handler(EarfulError)
    async def _earful_error(_request: Request, exc: EarfulError):
        return SafeJSON({"error": str(exc)}, status_code=400 if exc.exit_code == 2 else 500)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception):
        return SafeJSON({"error": f"unexpected error: {type(exc).__name__}: {exc} (please report it)"},
                        status_code=500)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return PAGE.replace("%STYLE%", STYLE)

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
    def ask(body: AskBody):
        from earful.qa_agent.ask import ask as run_ask
        from earful.qa_agent.base import AskContext

        # no output_dir: the page draws charts with plotly.js, so no PNG is rendered (matplotlib costs ~0.1-0.5 s
        # of CPU per chart, the largest part of a built-in answer, and every client would wait for it)
        ctx = AskContext(db_path=settings.db, settings=settings, conversation_id=body.conversation_id)
        answer = run_ask(body.question, ctx).to_json()
        return {"answer": answer, "html": answer_html(answer)}

    token = token if token is not None else settings.web.token
    return Guard(app, bind=host, token=token, extra_hosts=extra_hosts)
