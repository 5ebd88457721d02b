"""Playwright driving Debian's Chromium against the live Django server."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test
# itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: `python3 dev.py test` installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class _RequestsInFlight:
    """The live server's requests, one at a time, and those not yet finished (the response
    closed, request_finished sent).

    On SQLite the server's request threads share the test's one in-memory connection. Two
    requests at once on it collide (a form's save beside the preview its last keystroke
    fired: "cannot start a transaction within a transaction"), so they take turns here, as
    they would queue for SQLite's one writer anyway. And a request still running when the
    next test sets up meets that test's reads and writes ("database table is locked"): a
    browser test ends only when the server has finished what its pages asked."""

    TURN_SECONDS = 60  # a request that never closed its response does not stop the run

    def __init__(self, app):
        self.app = app
        self.count = 0
        self.idle = threading.Condition()
        self.turn = threading.Lock()

    def _change(self, by: int) -> None:
        with self.idle:
            self.count += by
            self.idle.notify_all()

    def __call__(self, environ, start_response):
        self._change(+1)
        has_turn = self.turn.acquire(timeout=self.TURN_SECONDS)

        def finished():
            if has_turn:
                self.turn.release()
            self._change(-1)

        try:
            response = self.app(environ, start_response)
        except BaseException:
            finished()
            raise
        return _Closing(response, finished)

    def wait_until_idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self.idle:
            while self.count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the live server still has {self.count} request(s) running {seconds:g} s after the page closed"
                    )
                self.idle.wait(left)


class _Closing:
    """A WSGI response that reports its close (wsgiref closes it on every path, failures included)."""

    def __init__(self, response, closed):
        self.response, self.closed = response, closed

    def __iter__(self):
        return iter(self.response)

    def close(self):
        closed, self.closed = self.closed, None
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            if closed is not None:
                closed()


@pytest.fixture(scope="session")
def _requests_in_flight(live_server):
    httpd = live_server.thread.httpd
    counted = _RequestsInFlight(httpd.get_app())
    httpd.set_app(counted)
    return counted


@pytest.fixture(autouse=True)
def _server_finished_at_the_end(request):
    """After a test that used the live server, and before its database is emptied: every
    browser context it opened is closed (no timer of a page fires a request later) and the
    server has finished each request."""
    if "live_server" not in request.fixturenames:
        yield
        return
    in_flight = request.getfixturevalue("_requests_in_flight")
    yield
    if "browser" in request.fixturenames:
        for context in list(request.getfixturevalue("browser").contexts):
            context.close()
    in_flight.wait_until_idle(30)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
