"""A scripted OpenAI-compatible chat server on 127.0.0.1 that logs every request body (a fake LLM *text* source).

Tests use it to assert what reaches a model: point ``[llm] model = "openai-compatible:fake"`` and
``[llm] base_url = server.url`` at it, run Earful for real, then search ``server.bodies`` (every JSON request
body, in order) for a canary string. Replies are scripted: ``reply`` is a list of strings (used in turn, the last
one repeated) or a callable ``(body: dict) -> str``. When a request offers tools (langchain's function-calling
structured output), the reply text is returned as the arguments of a call to the first tool; otherwise as the
message content. Named as a fake: it stands in for a model's text only, never for an Earful part.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAIServer:
    def __init__(self, reply=None):
        self.reply = reply if reply is not None else ["{}"]
        self.bodies: list[dict] = []
        self.raw: list[str] = []
        self._turn = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # /v1/models, for clients that probe
                self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n).decode("utf-8", "replace")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                with server._lock:
                    server.raw.append(raw)
                    server.bodies.append(body)
                    text = server._next(body)
                self._send(server._completion(body, text))

            def _send(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _next(self, body: dict) -> str:
        if callable(self.reply):
            return self.reply(body)
        text = self.reply[min(self._turn, len(self.reply) - 1)]
        self._turn += 1
        return text

    @staticmethod
    def _completion(body: dict, text: str) -> dict:
        message: dict = {"role": "assistant", "content": text}
        tools = body.get("tools") or []
        if tools:
            name = tools[0].get("function", {}).get("name", "tool")
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": name, "arguments": text}}]}
        return {"id": "fake-1", "object": "chat.completion", "created": 0, "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if tools else "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    def all_text(self) -> str:
        """Every request body as one string (to search for canaries)."""
        return "\n".join(self.raw)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
