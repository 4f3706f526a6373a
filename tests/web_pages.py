"""Helpers for the chat's Chromium tests (Debian's chromium driven by Playwright's Python package).

`Chat` records everything a page should never produce: uncaught exceptions, console errors, dialogs and failed
requests other than the ones a test makes fail on purpose. Screenshots go to $EARFUL_SCREENSHOTS when it is set.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tests.conftest import run_cli


def tiny_workspace(d: Path) -> Path:
    """12 reviews of 3 apps over 3 months, ingested through the real CLI."""
    src = d / "tiny.csv"
    src.write_text("id,app,date,rating,text\n" + "".join(
        f"{i},{['Maps', 'Chess', 'Notes'][i % 3]},2024-0{1 + i % 3}-10,{1 + i % 5},review {i} about the battery "
        f"and the price\n" for i in range(12)), encoding="utf-8")
    db = d / "w.duckdb"
    r = run_cli("ingest", src, "--source", "reviews", db=db)
    assert r.returncode == 0, r.stderr
    return db


@contextlib.contextmanager
def browser_for(**launch):
    from tests.test_web_trust import _browser_parts

    exe, api = _browser_parts()
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"], **launch)
        try:
            yield browser
        finally:
            browser.close()


class Chat:
    """One chat page at `url` + `path`, with its problems recorded."""

    def __init__(self, browser, url: str, path: str = "/", width: int = 1100, height: int = 900, wait: bool = True):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.exceptions: list[str] = []
        self.console: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda e: self.exceptions.append(str(e)))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.response = self.page.goto(url + path)
        if wait:
            self.page.wait_for_function("document.getElementById('ws').textContent.length > 0")

    def ask(self, question: str) -> None:
        self.page.fill("#q", question)
        self.page.press("#q", "Enter")

    def settled(self, selector: str, timeout: int = 60_000) -> str:
        """Wait for `selector` and for the input to be usable again; the text of the last match."""
        self.page.wait_for_selector(selector, timeout=timeout)
        self.page.wait_for_function("!document.getElementById('q').disabled", timeout=timeout)
        return self.page.locator(selector).last.inner_text()

    def problems(self, expected: tuple[str, ...] = ()) -> list[str]:
        """Exceptions, console errors and dialogs, less the console lines a test caused on purpose (`expected`
        substrings, e.g. the browser's own 'status of 400' line for a refused query)."""
        console = [m for m in self.console if not any(e in m for e in expected)]
        return self.exceptions + console + self.dialogs

    def screenshot(self, name: str, full_page: bool = False) -> None:
        where = os.environ.get("EARFUL_SCREENSHOTS")
        if where:
            Path(where).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(where) / name), full_page=full_page)
