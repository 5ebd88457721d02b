"""The live server of the browser tests takes its requests one at a time and says when it has
finished them (tests/browser/conftest.py): on SQLite its threads share the test's connection."""

from __future__ import annotations

import threading
import time

import pytest
from tests.browser.conftest import _RequestsInFlight


class _SlowApp:
    def __init__(self):
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(0.05)
        with self.lock:
            self.running -= 1
        start_response("200 OK", [])
        return [b"done"]


def _request(server) -> bytes:
    response = server({}, lambda status, headers: None)
    try:
        return b"".join(response)
    finally:
        response.close()


def test_two_requests_at_once_take_turns():
    app = _SlowApp()
    server = _RequestsInFlight(app)
    threads = [threading.Thread(target=_request, args=(server,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert app.most_at_once == 1
    assert server.count == 0


def test_the_test_waits_for_a_response_not_yet_closed():
    server = _RequestsInFlight(_SlowApp())
    response = server({}, lambda status, headers: None)
    with pytest.raises(AssertionError, match="still has 1 request"):
        server.wait_until_idle(0.1)
    closer = threading.Timer(0.05, response.close)
    closer.start()
    server.wait_until_idle(5)  # returns once the response is closed
    assert server.count == 0
    response.close()  # wsgiref may close twice: counted once
    assert server.count == 0


def test_a_request_that_fails_is_finished_too():
    def failing(environ, start_response):
        raise RuntimeError("boom")

    server = _RequestsInFlight(failing)
    with pytest.raises(RuntimeError):
        server({}, lambda status, headers: None)
    server.wait_until_idle(0.1)
    assert _request(_RequestsInFlight(_SlowApp())) == b"done"
