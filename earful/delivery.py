"""Delivery: a written report (or a monitor alert) sent to a folder, by email over SMTP, or to a chat webhook.

Design decision: delivery comes after the report is on disk and never replaces it. Each target is tried with
retries and exponential backoff; every attempt is logged (to the workspace's `deliveries` table and the caller's
log) with secrets redacted, and a target that still fails is reported, not raised, so the other targets go on and
the report stays where it was written. Secrets (the SMTP password, the webhook URL, which is itself the credential)
come only from ``[delivery]`` in earful.toml or ``EARFUL_DELIVERY_*`` variables, never from a command line that
`ps` or a crontab would show.
"""
from __future__ import annotations

import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from earful.errors import ConfigError, InputError
from earful.llm.redact import redact, remember_secret


def parse_target(spec: str) -> tuple[str, str | None]:
    """'folder:PATH' | 'email:ADDR[,ADDR]' | 'webhook' -> (kind, value)."""
    kind, _, value = (spec or "").partition(":")
    kind = kind.strip().lower()
    if kind == "webhook":
        if value:
            raise InputError("the webhook URL is a secret and cannot be given on the command line",
                             hint="set EARFUL_DELIVERY_WEBHOOK_URL, or webhook_url under [delivery] in earful.toml, "
                                  "and pass --deliver webhook")
        return "webhook", None
    if kind in ("folder", "email") and value.strip():
        return kind, value.strip()
    raise InputError(f"unknown delivery target '{spec}'",
                     hint="use folder:PATH, email:ADDR[,ADDR...] or webhook")


def _remember(settings) -> None:
    d = settings.delivery
    for secret in (d.smtp_password, d.webhook_url):
        remember_secret(secret)


class Rejected(RuntimeError):
    """The target answered and refused (HTTP 4xx other than 408/429): sending the same thing again cannot help."""


def permanent(exc: BaseException) -> bool:
    """A failure that a retry cannot mend: the file system refused (exists, not a folder, no permission), the
    configuration is missing, the SMTP server refused the login or every recipient, or the webhook rejected it."""
    import smtplib

    from earful.errors import EarfulError

    return isinstance(exc, (FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError, EarfulError,
                            smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused,
                            smtplib.SMTPSenderRefused, Rejected))


def with_retries(send, *, retries: int, backoff_s: float, log=None, what: str = "delivery",
                 sleep=time.sleep) -> dict:
    """Call ``send()`` until it returns, at most 1 + `retries` times, waiting backoff_s, 2*backoff_s, ... between;
    a failure that cannot be mended by retrying (see `permanent`) stops at once.

    Returns {ok, attempts, error, log: [(attempt, status, error)]}; never raises for the send's own failure."""
    attempts = []
    for i in range(retries + 1):
        try:
            send()
        except Exception as exc:  # noqa: BLE001 - any failure of the target is retried and logged
            err = redact(f"{type(exc).__name__}: {exc}")
            attempts.append((i + 1, "failed", err))
            if permanent(exc):
                if log:
                    log(f"{what}: attempt {i + 1} failed ({err}); not retrying, this cannot succeed as it is")
                break
            if i < retries:
                wait = backoff_s * (2 ** i)
                if log:
                    log(f"{what}: attempt {i + 1} failed ({err}); retrying in {wait:g} s")
                sleep(wait)
            elif log:
                log(f"{what}: attempt {i + 1} failed ({err}); giving up")
            continue
        attempts.append((i + 1, "ok", None))
        if log:
            log(f"{what}: delivered (attempt {i + 1})")
        return {"ok": True, "attempts": i + 1, "error": None, "log": attempts}
    return {"ok": False, "attempts": len(attempts), "error": attempts[-1][2], "log": attempts}


# -- what is sent ---------------------------------------------------------------------------------------------------
def _link(settings, html_path: str) -> str:
    base = settings.delivery.report_url
    return f"{base.rstrip('/')}/{Path(html_path).name}" if base else str(Path(html_path).resolve())


def slack_payload(title: str, period: str, headlines: list[str], link: str) -> dict:
    """A Slack-compatible incoming-webhook body (text for any client, blocks for Slack); headlines as bullets."""
    bullets = "\n".join(f"• {h}" for h in headlines) or "• No significant change between the two periods."
    text = f"*{title}* ({period})\n{bullets}\nReport: {link}"
    return {"text": text, "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"_{period}_\n{bullets}"[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: {link}"[:3000]}]}]}


def email_message(settings, to: list[str], subject: str, markdown: str, html_body: str,
                  attachment: tuple[str, str] | None = None):
    """An email with the HTML as body, the Markdown as its text alternative, and the full HTML attached."""
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.delivery.email_from
    msg["To"] = ", ".join(to)
    msg.set_content(markdown)
    msg.add_alternative(html_body, subtype="html")
    if attachment:
        name, page = attachment
        msg.add_attachment(page, subtype="html", charset="utf-8", filename=name)   # charset: clients read it right
    return msg


def _smtp_send(settings, msg) -> None:
    import smtplib

    d = settings.delivery
    cls = smtplib.SMTP_SSL if d.smtp_ssl else smtplib.SMTP
    with cls(d.smtp_host, d.smtp_port, timeout=d.timeout_s) as smtp:
        if d.smtp_starttls:
            smtp.starttls()
        if d.smtp_user:
            smtp.login(d.smtp_user, d.smtp_password or "")
        smtp.send_message(msg)


def _post(settings, payload: dict) -> None:
    import httpx

    url = settings.delivery.webhook_url
    if not url:
        raise ConfigError("no webhook URL is set", hint="set EARFUL_DELIVERY_WEBHOOK_URL or [delivery] webhook_url")
    r = httpx.post(url, json=payload, timeout=settings.delivery.timeout_s)
    if r.status_code >= 300:
        cls = Rejected if 400 <= r.status_code < 500 and r.status_code not in (408, 429) else RuntimeError
        raise cls(f"the webhook answered HTTP {r.status_code}: {r.text[:200]}")


def _without_scripts(page: str) -> str:
    """The page for an email body: mail clients run no JavaScript, so the plotly bundle and charts are left out."""
    return re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)


# -- targets --------------------------------------------------------------------------------------------------------
def _record(settings, report: str, results: list[dict]) -> None:
    """Every attempt of every target into `deliveries` (best effort: a busy workspace must not fail delivery)."""
    from earful.store import Store

    try:
        with Store(settings.db) as store, store.transaction() as con:
            for r in results:
                for attempt, status, error in r["log"]:
                    con.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?)",
                                [report, r["target"], attempt, status, error, datetime.now(UTC)])
    except Exception:  # noqa: BLE001 - the attempts were logged to the caller already
        pass


def _send_all(settings, targets: list[str], report: str, senders: dict, log=None, sleep=time.sleep) -> list[dict]:
    _remember(settings)
    parsed = [(t, *parse_target(t)) for t in targets]          # all targets checked before anything is sent
    if any(kind == "webhook" for _, kind, _ in parsed) and not settings.delivery.webhook_url:
        raise ConfigError("--deliver webhook needs a webhook URL",
                          hint="set EARFUL_DELIVERY_WEBHOOK_URL, or webhook_url under [delivery] in earful.toml")
    results = []
    d = settings.delivery
    for spec, kind, value in parsed:
        r = with_retries(lambda k=kind, v=value: senders[k](v), retries=d.retries, backoff_s=d.backoff_s, log=log,
                         what=f"delivery to {spec}", sleep=sleep)
        results.append({"target": spec, **r})
    _record(settings, report, results)
    return [{k: v for k, v in r.items() if k != "log"} for r in results]


def deliver_report(settings, summary: dict, targets: list[str], log=None, sleep=time.sleep) -> list[dict]:
    """Send a written report (the summary of `earful.reports.build_report`) to each target."""
    html_path, md_path = Path(summary["out"]), Path(summary["markdown"])
    page, markdown = html_path.read_text(encoding="utf-8"), md_path.read_text(encoding="utf-8")
    title = markdown.splitlines()[0].lstrip("# ").strip() if markdown else "Earful report"
    p = summary.get("period")
    period = f"{p['label']} vs {p['previous_label']}" if p else "no dated items"
    heads = [h["text"] for h in summary.get("headlines", [])]

    def folder(path):
        dest = Path(path)
        dest.mkdir(parents=True, exist_ok=True)
        stem = f"report-{p['current'][1] + '-' if p else ''}{datetime.now(UTC):%Y%m%dT%H%M%S}"
        shutil.copyfile(html_path, dest / f"{stem}.html")
        shutil.copyfile(md_path, dest / f"{stem}.md")

    def email(addrs):
        to = [a.strip() for a in addrs.split(",") if a.strip()]
        _smtp_send(settings, email_message(settings, to, f"{title}: {period}", markdown, _without_scripts(page),
                                           (html_path.name, page)))

    def webhook(_):
        _post(settings, slack_payload(title, period, heads, _link(settings, str(html_path))))

    return _send_all(settings, targets, str(html_path), {"folder": folder, "email": email, "webhook": webhook},
                     log, sleep)


def deliver_alerts(settings, fired: list[dict], targets: list[str], log=None, sleep=time.sleep) -> list[dict]:
    """Send monitor alerts (from `earful.monitors.run_all`) to each target, as a short message."""
    from earful.monitors import show_value

    lines = [f"Monitor '{r['name']}' ({r['question']}) is at {show_value(r)}: {'; '.join(r['alerts'])}"
             for r in fired]
    title = f"Earful: {len(fired)} monitor alert{'s' if len(fired) != 1 else ''}"
    text = "\n".join(f"- {x}" for x in lines)

    def folder(path):
        dest = Path(path)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / f"alerts-{datetime.now(UTC):%Y%m%dT%H%M%S}.md").write_text(f"# {title}\n\n{text}\n", encoding="utf-8")

    def email(addrs):
        import html

        body = "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"
        _smtp_send(settings, email_message(settings, [a.strip() for a in addrs.split(",") if a.strip()], title,
                                           text, f"<h1>{html.escape(title)}</h1>{body}"))

    def webhook(_):
        _post(settings, {"text": f"*{title}*\n" + "\n".join(f"• {x}" for x in lines)})

    return _send_all(settings, targets, "monitor alerts", {"folder": folder, "email": email, "webhook": webhook},
                     log, sleep)
