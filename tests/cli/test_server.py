"""The gunicorn set-up of `trialdesk serve`: threaded workers whose timeout never cuts a long
streamed response (the CSV of a whole audit trail)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import urllib.request

from tests.cli.processes import free_port, wait_until_served

SLOW_STREAM = textwrap.dedent(
    """
    import sys, time
    from trialdesk.cli.server import TrialdeskServer, options

    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        def rows():
            if environ["PATH_INFO"] == "/ready":
                return
            for n in range(5):
                yield f"{n}\\n".encode()
                time.sleep(0.8)
        return rows()

    settings = options("127.0.0.1", int(sys.argv[1]), 1)
    settings["timeout"] = 2  # the worker beats every second; the stream lasts 4 s
    sys.exit(TrialdeskServer(application, settings).run())
    """
)


def test_a_stream_longer_than_the_worker_timeout_is_served_whole_and_sigterm_exits_0(tmp_path):
    port = free_port()
    log = tmp_path / "log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_STREAM, str(port)], stdout=output, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            wait_until_served(process, f"http://127.0.0.1:{port}/ready", seconds=30)
            started = time.monotonic()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/audit.csv", timeout=10) as response:
                body = response.read()
            took = time.monotonic() - started
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert body == b"0\n1\n2\n3\n4\n" and took > 3.5, log.read_text()
    assert code == 0
    assert "WORKER TIMEOUT" not in log.read_text()


def test_the_options_are_threaded_workers_logging_to_stdout_and_stderr():
    from trialdesk.cli.server import options

    chosen = options("::1", 8000, 3)
    assert chosen["bind"] == ["[::1]:8000"] and chosen["workers"] == 3
    assert chosen["worker_class"] == "gthread" and chosen["threads"] > 1
    assert (chosen["accesslog"], chosen["errorlog"]) == ("-", "-")
    assert chosen["graceful_timeout"] >= 10
