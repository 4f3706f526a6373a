"""Delivery of a written report: a folder, email to a local SMTP server (aiosmtpd), a webhook on a local HTTP server.

Real CLI and real servers on 127.0.0.1 started by the tests. The webhook server answers 500 to its first requests
to prove retries with backoff; secrets (the webhook URL, the SMTP password) come from EARFUL_DELIVERY_* variables
and must never show in the logs or the workspace.
"""
from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port, run_cli, sql_rows, workspace_from_rows

SECRET_PATH = "/services/T0000/B0000/s3cretW3bh00kT0kenXYZ"


@pytest.fixture
def db(tmp_path):
    rows = [{"id": str(i), "text": f"review {i}", "rating": str(1 + i % 5), "date": f"2024-03-{1 + i % 14:02d}"}
            for i in range(60)]
    return workspace_from_rows(tmp_path, rows)


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("EARFUL_DELIVERY_BACKOFF_S", "0.05")
    monkeypatch.setenv("EARFUL_DELIVERY_RETRIES", "3")


class Hook:
    """A webhook receiver: answers `fail_first` requests with HTTP 500, then 200; keeps every JSON body."""

    def __init__(self, fail_first: int, code: int = 500):
        self.fail_first, self.bodies, self.paths, self.code = fail_first, [], [], code
        hook = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(n)))
                hook.paths.append(self.path)
                code = hook.code if len(hook.bodies) <= hook.fail_first else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"boom" if code != 200 else b"ok")

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhook_is_retried_with_backoff_then_delivered(db, tmp_path, monkeypatch, fast_retries):
    hook = Hook(fail_first=2)
    monkeypatch.setenv("EARFUL_DELIVERY_WEBHOOK_URL", hook.url)
    try:
        r = run_cli("report", "--out", tmp_path / "out", "--deliver", "webhook", "--json", db=db)
    finally:
        hook.close()
    assert r.returncode == 0, r.stderr + r.stdout
    assert len(hook.bodies) == 3 and hook.paths == [SECRET_PATH] * 3
    body = hook.bodies[-1]
    summary = json.loads(r.stdout)
    assert body["text"].startswith("*Earful insight report* (2024-03-08 to 2024-03-14 vs 2024-03-01 to 2024-03-07)")
    for h in summary["headlines"]:
        assert f"• {h['text']}" in body["text"]
    assert f"Report: {(tmp_path / 'out' / 'report.html').resolve()}" in body["text"]
    assert body["blocks"][0]["type"] == "header"
    assert summary["deliveries"] == [{"target": "webhook", "ok": True, "attempts": 3, "error": None}]
    assert "attempt 1 failed (RuntimeError: the webhook answered HTTP 500: boom); retrying in 0.05 s" in r.stderr
    assert "retrying in 0.1 s" in r.stderr and "delivered (attempt 3)" in r.stderr
    assert sql_rows(db, "SELECT attempt, status FROM deliveries ORDER BY attempt") == [(1, "failed"), (2, "failed"),
                                                                                      (3, "ok")]
    assert "s3cretW3bh00k" not in r.stderr + r.stdout


def test_failing_webhook_keeps_the_report_logs_and_exits_nonzero(db, tmp_path, monkeypatch, fast_retries):
    hook = Hook(fail_first=99)
    monkeypatch.setenv("EARFUL_DELIVERY_WEBHOOK_URL", hook.url)
    try:
        r = run_cli("report", "--out", tmp_path / "out", "--deliver", "webhook",
                    "--deliver", f"folder:{tmp_path / 'archive'}", "--json", db=db)
    finally:
        hook.close()
    assert r.returncode == 1
    assert len(hook.bodies) == 4                                           # 1 + 3 retries
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "report.md").exists()
    assert "delivery to webhook failed after 4 attempt(s)" in r.stderr and "giving up" in r.stderr
    assert len(list((tmp_path / "archive").glob("*.html"))) == 1          # the other target still got it
    rows = sql_rows(db, "SELECT target, status, error FROM deliveries ORDER BY target, attempt")
    assert [(t, s) for t, s, _ in rows] == [("folder:" + str(tmp_path / "archive"), "ok")] + [("webhook", "failed")] * 4
    logged = r.stderr + r.stdout + json.dumps(rows)
    assert "s3cretW3bh00k" not in logged


def test_webhook_url_is_never_a_flag(db, tmp_path):
    r = run_cli("report", "--out", tmp_path / "out", "--deliver", "webhook:http://127.0.0.1:9/x", db=db)
    assert r.returncode == 2 and "cannot be given on the command line" in r.stderr
    assert not (tmp_path / "out").exists()
    r = run_cli("report", "--out", tmp_path / "out", "--deliver", "webhook", db=db)
    assert r.returncode == 2 and "needs a webhook URL" in r.stderr


def test_folder_delivery_copies_both_files(db, tmp_path):
    r = run_cli("report", "--out", tmp_path / "out", "--deliver", f"folder:{tmp_path / 'share'}", db=db)
    assert r.returncode == 0, r.stderr
    [html] = (tmp_path / "share").glob("report-2024-03-14-*.html")
    assert html.read_bytes() == (tmp_path / "out" / "report.html").read_bytes()
    assert html.with_suffix(".md").read_text() == (tmp_path / "out" / "report.md").read_text()


def test_email_has_html_body_markdown_text_and_the_report_attached(db, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_PORT", str(port))
    monkeypatch.setenv("EARFUL_DELIVERY_EMAIL_FROM", "earful@example.org")
    try:
        r = run_cli("report", "--out", tmp_path / "out", "--deliver", "email:team@example.org,lead@example.org",
                    db=db)
    finally:
        ctl.stop()
    assert r.returncode == 0, r.stderr + r.stdout
    [env] = received
    assert env.rcpt_tos == ["team@example.org", "lead@example.org"] and env.mail_from == "earful@example.org"
    msg = message_from_bytes(env.content, policy=default)
    assert msg["Subject"].strip() == "Earful insight report: 2024-03-08 to 2024-03-14 vs 2024-03-01 to 2024-03-07"
    md = (tmp_path / "out" / "report.md").read_text()
    page = (tmp_path / "out" / "report.html").read_text()
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == md
    body = msg.get_body(("html",)).get_content()
    assert "Headline findings" in body and "<script>" not in body       # no JavaScript in a mail body
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "report.html" and att.get_content_type() == "text/html"
    assert att.get_content().replace("\r\n", "\n").rstrip("\n") == page.replace("\r\n", "\n")   # MIME ends a line


def test_smtp_password_is_redacted_from_logs(db, tmp_path, monkeypatch, fast_retries):
    port = free_port()                                  # nothing listens: every attempt fails
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_PORT", str(port))
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_USER", "bot")
    monkeypatch.setenv("EARFUL_DELIVERY_SMTP_PASSWORD", "hunter2-very-secret")
    r = run_cli("report", "--out", tmp_path / "out", "--deliver", "email:a@example.org", db=db)
    assert r.returncode == 1 and "ConnectionRefusedError" in r.stderr
    assert "hunter2" not in r.stderr + r.stdout
    assert (tmp_path / "out" / "report.html").exists()


def test_monitor_alerts_go_through_the_same_delivery(db, tmp_path):
    assert run_cli("ask", "How many reviews are there?", "--save", "volume", db=db).returncode == 0
    assert run_cli("monitors", "set", "volume", "--threshold", "50", db=db).returncode == 0
    r = run_cli("monitors", "run", "--deliver", f"folder:{tmp_path / 'alerts'}", "--json", db=db)
    assert r.returncode == 0, r.stderr + r.stdout
    out = json.loads(r.stdout)
    assert out["alerts"] == 1 and out["deliveries"][0]["ok"]
    [alert] = (tmp_path / "alerts").glob("alerts-*.md")
    assert "Monitor 'volume' (How many reviews are there?) is at 60: above its threshold 50" in alert.read_text()


@pytest.mark.parametrize("code, tries", [(404, 1), (403, 1), (429, 4), (503, 4)])
def test_a_webhook_that_refuses_is_not_retried(db, tmp_path, monkeypatch, fast_retries, code, tries):
    """4xx (other than 408/429) means the request itself is refused: retrying it cannot help; 429 and 5xx can."""
    hook = Hook(fail_first=99, code=code)
    monkeypatch.setenv("EARFUL_DELIVERY_WEBHOOK_URL", hook.url)
    try:
        r = run_cli("report", "--out", tmp_path / "out", "--deliver", "webhook", db=db)
    finally:
        hook.close()
    assert r.returncode == 1 and len(hook.bodies) == tries, r.stderr
    assert f"failed after {tries} attempt(s)" in r.stderr
    assert ("not retrying" in r.stderr) == (tries == 1)


def test_folder_delivery_onto_a_file_fails_once_without_retries(db, tmp_path, fast_retries):
    """A folder target that is a file cannot become a folder by waiting: one attempt, a clear error, report kept."""
    blocker = tmp_path / "archive"
    blocker.write_text("not a folder")
    r = run_cli("report", "--out", tmp_path / "out", "--deliver", f"folder:{blocker}", db=db)
    assert r.returncode == 1
    assert "failed after 1 attempt(s)" in r.stderr and "FileExistsError" in r.stderr, r.stderr
    assert (tmp_path / "out" / "report.html").exists() and blocker.read_text() == "not a folder"
