#!/usr/bin/env python3
"""The two set-up commands of trialdesk, for a fresh machine with Python 3.11+ and nothing else.

    python3 dev.py demo [DEMO OPTIONS]   install into .venv, build the demo trial in ./demo and serve it
    python3 dev.py test [PYTEST ARGS]    install into .venv (and the Debian packages the tests need),
                                         then run the whole suite on SQLite and on a private PostgreSQL

Only the standard library is used here: this script is what installs everything else.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
DEBIAN_PACKAGES_FOR_TESTS = {
    "chromium": "/usr/bin/chromium",  # browser tests (Playwright drives Debian's Chromium)
    "postgresql": None,  # the PostgreSQL half of the suite
}


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml did not change."""
    if sys.version_info < (3, 11):  # noqa: UP036  (this script may be started by an older python3)
        sys.exit(f"trialdesk needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and (BIN / "trialdesk").exists():
        return
    if (BIN / "python").exists() and subprocess.call([str(BIN / "python"), "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
        say("the virtual environment .venv has no pip (an interrupted creation?): creating it again")
        shutil.rmtree(VENV)
    if not (BIN / "python").exists():
        ensure_ensurepip()
        say("creating the virtual environment .venv")
        run([sys.executable, "-m", "venv", str(VENV)])
    say("installing trialdesk and its dependencies into .venv")
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    run([*pip, "install", "--upgrade", "pip"], stdout=subprocess.DEVNULL)
    target = f".[{extras}]" if extras else "."
    run([*pip, "install", "-e", target], cwd=ROOT)
    stamp.write_text(digest)


def ensure_ensurepip() -> None:
    """Debian's python3 leaves out ensurepip (package python3.X-venv): without it `venv` makes a
    .venv with no pip. Install it first, as the Debian packages of the tests are installed."""
    if subprocess.call([sys.executable, "-c", "import ensurepip"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
        return
    apt_install([f"python3.{sys.version_info.minor}-venv"], why="creating .venv")


def command_demo(arguments: list[str]) -> int:
    ensure_venv("")
    folder = ROOT / "demo"
    folder.mkdir(exist_ok=True)
    say(f"the demo database lives in {folder}")
    return subprocess.call([str(BIN / "trialdesk"), "demo", *arguments], cwd=folder)


# --- tests -------------------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).resolve().parent
    # /usr/lib/postgresql/<major>/bin/initdb: the newest major version (a non-numeric folder sorts first).
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else -1)
    return Path(candidates[-1]).parent if candidates else None


def ensure_debian_packages() -> None:
    missing = []
    if not Path(DEBIAN_PACKAGES_FOR_TESTS["chromium"]).exists():
        missing.append("chromium")
    if postgres_bin_dir() is None:
        missing.append("postgresql")
    if missing:
        apt_install([*missing, "fonts-dejavu-core"], why="the tests")


def apt_install(packages: list[str], *, why: str) -> None:
    """apt-get install, as root or through sudo, never waiting for an answer: no standard input,
    no debconf question (sudo resets the environment, so the frontend is passed through `env`),
    and sudo fails at once (-n) instead of asking for a password nobody can type."""
    if not shutil.which("apt-get"):
        sys.exit(f"{why} needs the Debian packages {' '.join(packages)}: install them with your system's package manager.")
    if os.geteuid() == 0:
        sudo = []
    elif shutil.which("sudo"):
        sudo = ["sudo"] if sys.stdin.isatty() and not os.environ.get("CI") else ["sudo", "-n"]
    else:
        sys.exit(f"{why} needs the Debian packages {' '.join(packages)}: install them (apt-get install {' '.join(packages)}).")
    apt = [*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-q", "-y"]
    say(f"installing Debian packages for {why}: {' '.join(packages)}")
    # Always refresh the lists first: a fresh machine (or a slim image) may have none at all.
    run([*apt, "update"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    run([*apt, "install", "--no-install-recommends", *packages], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temporary folder, on a free port, on loopback only."""

    def __init__(self) -> None:
        self.bin = postgres_bin_dir()
        if self.bin is None:
            sys.exit("PostgreSQL's initdb was not found even after installing the postgresql package.")
        # As root the server runs as 'postgres', which must reach the folder: /tmp, not a $TMPDIR under /root.
        self.folder = Path(tempfile.mkdtemp(prefix="trialdesk-pg-", dir="/tmp" if os.geteuid() == 0 else None))
        self.data = self.folder / "data"
        self.port = free_port()
        # initdb refuses to run as root: as root, run the server as the 'postgres' system user.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            user = "postgres"
            if subprocess.call(["id", "-u", user], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) != 0:
                run(["useradd", "--system", "--no-create-home", user])
            shutil.chown(self.folder, user)
            self.as_user = ["runuser", "-u", user, "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/trialdesk"

    def start(self) -> None:
        say(f"starting a private PostgreSQL on port {self.port} in {self.folder}")
        # cwd: the 'postgres' user may not be allowed into the folder dev.py was started from.
        run([*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], cwd=self.folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = self.folder / "server.log"
        try:
            run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"], cwd=self.folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except subprocess.CalledProcessError:
            if log.exists():  # the folder is removed on stop: show why the server did not start first
                print(log.read_text(errors="replace")[-2000:], file=sys.stderr)
            raise

    def stop(self) -> None:
        subprocess.call([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"], cwd=self.folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.folder, ignore_errors=True)


def command_test(arguments: list[str]) -> int:
    ensure_venv("test")
    ensure_debian_packages()
    python = str(BIN / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRIALDESK_DB")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    results: list[tuple[str, int]] = []

    started = time.monotonic()
    say("import contracts (import-linter): the pure core never imports Django; the apps are layered")
    results.append(("import contract", subprocess.call([str(BIN / "lint-imports")], cwd=ROOT, env=env)))
    say("ruff")
    results.append(("ruff", subprocess.call([str(BIN / "ruff"), "check", "src", "tests", "bench", "dev.py"], cwd=ROOT, env=env)))

    say("the whole suite on SQLite")
    results.append(("pytest on SQLite", subprocess.call([python, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", *arguments], cwd=ROOT, env=env)))

    server = PrivatePostgres()
    try:
        server.start()
        # The browser journeys and the schemathesis run over the REST API (api_fuzz) ran once, on
        # SQLite: what they check does not depend on the database.
        say("every database test again on PostgreSQL (the browser journeys and the API fuzz ran once, above)")
        pg_env = {**env, "DATABASE_URL": server.url}
        code = subprocess.call([python, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "-m", "db and not browser and not api_fuzz and not crawl", *arguments], cwd=ROOT, env=pg_env)
        results.append(("pytest on PostgreSQL", code))
    finally:
        server.stop()

    say(f"done in {time.monotonic() - started:.0f} s")
    for name, code in results:
        say(f"  {name}: {'ok' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if all(code == 0 for _, code in results) else 1


def main() -> int:
    commands = {"demo": command_demo, "test": command_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    try:
        return commands[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as exc:
        print(f"[dev] a set-up step failed: {' '.join(map(str, exc.cmd))} (exit {exc.returncode})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
