"""The web chat: a FastAPI app over the same `ask` path as the CLI (``earful serve``).

It binds 127.0.0.1 by default and serves everything itself (page, plotly.js from the installed package), so it
works offline and sends nothing anywhere. Errors from Earful become JSON ``{"error": ...}`` responses here, the
only place besides the CLI that turns them into a protocol.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from earful.web.render import STYLE, answer_html, plotly_js


class AskBody(BaseModel):
    question: str = Field(..., min_length=1, max_length=2000)
    conversation_id: str | None = None

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Earful</title>
<style>%STYLE% #ask{display:flex;gap:.5em;position:sticky;bottom:0;background:#fff;padding:1em 0}
#q{flex:1;font-size:1em;padding:.5em}</style><script src="/static/plotly.min.js"></script></head>
<body><h2>Earful</h2><p id="ws"></p><div id="log"></div>
<form id="ask"><input id="q" autofocus placeholder="Ask anything, e.g. how many reviews mention battery?">
<button>Ask</button><button type="button" id="new">New conversation</button></form>
<script>
let conv = null;
fetch('/api/status').then(r => r.json()).then(s => {document.getElementById('ws').textContent =
  'workspace ' + s.db + ': ' + s.sources.map(x => x.source + ' (' + x.items + ')').join(', ');});
function add(html){const d=document.createElement('div');d.innerHTML=html;document.getElementById('log').appendChild(d);
  d.querySelectorAll('script').forEach(s=>{const n=document.createElement('script');n.text=s.text;s.replaceWith(n);});
  window.scrollTo(0, document.body.scrollHeight);}
document.getElementById('new').onclick = () => {conv = null; document.getElementById('log').innerHTML='';};
document.getElementById('ask').onsubmit = async (e) => {e.preventDefault();
  const q = document.getElementById('q').value.trim(); if(!q) return;
  const p = document.createElement('p'); p.className='earful-q'; p.textContent = q;
  document.getElementById('log').appendChild(p); document.getElementById('q').value='';
  const r = await fetch('/api/ask', {method:'POST', headers:{'Content-Type':'application/json'},
    body: JSON.stringify({question:q, conversation_id:conv})});
  const j = await r.json();
  if(!r.ok){add('<p class="earful-err">'+(j.error||'error')+'</p>');return;}
  conv = j.answer.conversation_id || conv; add(j.html);};
</script></body></html>"""


def create_app(settings):
    """Build the FastAPI app for one workspace (`settings.db`)."""
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from earful.errors import EarfulError

    app = FastAPI(title="Earful", docs_url="/api/docs", openapi_url="/api/openapi.json")
    js = {"body": None}

    @app.exception_handler(EarfulError)
    async def _earful_error(request: Request, exc: EarfulError):
        return JSONResponse({"error": str(exc)}, status_code=400 if exc.exit_code == 2 else 500)

    @app.get("/", response_class=HTMLResponse)
    def index():
        return PAGE.replace("%STYLE%", STYLE)

    @app.get("/static/plotly.min.js")
    def plotly():
        js["body"] = js["body"] or plotly_js()
        return Response(js["body"], media_type="application/javascript")

    @app.get("/api/status")
    def status():
        from earful.status import workspace_status
        from earful.store import Store

        with Store(settings.db) as store:
            return workspace_status(store)

    @app.post("/api/ask")
    def ask(body: AskBody):
        from qa_agent.ask import ask as run_ask
        from qa_agent.base import AskContext

        ctx = AskContext(db_path=settings.db, settings=settings, conversation_id=body.conversation_id,
                         output_dir=str(Path(settings.db).resolve().parent / "earful-output"))
        answer = run_ask(body.question, ctx).to_json()
        return {"answer": answer, "html": answer_html(answer)}

    return app
