"""The README's screenshots, taken from the demo so that they can be refreshed.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--port 8765]

Builds the demo trial into a temporary folder (`trialdesk demo --no-serve`: its own SQLite
database, audit and secret keys), serves it there with `trialdesk serve`, signs in as each
role in Debian's Chromium at 1366 px and saves each role's home, a casebook, the infusion form
with its computed dose and the analysis report as optimised PNGs (under 300 KB each) in --out.
The temporary folder and the server are removed at the end, whatever happens."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "screenshots-demo-2026"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STUDY = "/studies/NCT00724360"
HOMES = [
    ("home-coordinator", "coordinator.nantes"),
    ("home-investigator", "investigator.nantes"),
    ("home-monitor", "monitor"),
    ("home-datamanager", "datamanager"),
    ("home-sponsor", "sponsor"),
    ("home-safety-officer", "safety"),
    ("home-statistician", "statistician"),
]
MAX_BYTES = 300_000


def _save(page, out: Path, name: str, *, full_page: bool = False) -> Path:
    """A PNG reduced to a palette (and, if still too big, to the top of the page) under 300 KB."""
    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot(full_page=full_page)))
    if image.height > 2400:
        image = image.crop((0, 0, image.width, 2400))
    path = out / f"{name}.png"
    for colours in (256, 128, 64):
        image.convert("RGB").quantize(colors=colours).save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    print(
        f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KB"
    )
    return path


def _wait_until_up(url: str, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"trialdesk serve stopped (exit {server.returncode}) before answering")
        try:
            with urllib.request.urlopen(url + "/accounts/login/", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"trialdesk serve did not answer at {url} within {seconds:.0f} s")


def _sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    if "/accounts/login/" in page.url:
        raise SystemExit(f"could not sign in as {username}")


def _propose_the_due_dose(page) -> None:
    """Types a weight (the one the dose was last computed on) and, when today is too early for
    the weekly infusion, the day it is due, so that the panel shows the dose of a normal day."""
    weight = page.locator("#id_weight_measured_kg")
    if not weight.count() or weight.input_value():
        return
    panel = page.locator("#panel-treatment-dose")

    def typed(kg: str) -> str:
        with page.expect_response(lambda response: response.request.method == "POST"):
            weight.fill(kg)
            weight.dispatch_event("change")
        page.wait_for_selector("#panel-treatment-dose [data-dose-proposal]")
        page.wait_for_timeout(300)  # htmx swaps the panel after the response
        return panel.inner_text()

    text = typed("70")
    used = re.search(r"from the ([0-9.]+) kg used", text)
    if used:
        text = typed(used.group(1))
    early = re.search(r"(\d+) days since the last dose, too early", text)
    if early:
        due = dt.date.today() + dt.timedelta(days=7 - int(early.group(1)))
        page.fill("#id_infusion_date", due.isoformat())
        typed(weight.input_value())


def take(base_url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            base_url=base_url, locale="en-GB", viewport={"width": 1366, "height": 900}
        )
        context.set_default_timeout(60_000)
        page = context.new_page()
        for name, username in HOMES:
            _sign_in(page, username)
            page.goto(f"{STUDY}/")
            _save(page, out, name)

        _sign_in(page, "coordinator.nantes")
        page.goto(f"{STUDY}/")
        infusion = page.locator("a", has_text="Infusion form, with the computed dose").first
        if infusion.count():
            infusion.click()
        else:  # no infusion due today at Nantes: the next infusion of its last patient on treatment
            page.goto("/sites/NTE/")
            rows = page.locator("#subjects tbody tr", has_text="treatment")
            row = rows.last if rows.count() else page.locator("#subjects tbody tr").last
            href = row.locator("a[href*='/subjects/']").first.get_attribute("href")
            page.goto(href.rstrip("/") + "/logs/infusion/new/")
        page.wait_for_load_state("networkidle")
        subject_path = "/subjects/" + page.url.split("/subjects/")[1].split("/")[0] + "/"
        _propose_the_due_dose(page)
        _save(page, out, "infusion-dose")

        page.goto(subject_path)
        _save(page, out, "casebook")

        _sign_in(page, "statistician")
        page.goto(f"{STUDY}/reports/analysis/")
        page.wait_for_load_state("networkidle")
        _save(page, out, "report")
        browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="trialdesk-screenshots-"))
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TRIALDESK_DB"}}
    env.update(TRIALDESK_REQUIRE_2FA="0", DJANGO_ALLOW_ASYNC_UNSAFE="true")
    server = None
    try:
        subprocess.run(
            [str(BIN / "trialdesk"), "demo", "--no-serve", "--password", PASSWORD],
            cwd=folder,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        server = subprocess.Popen(
            [str(BIN / "trialdesk"), "serve", "--port", str(args.port), "--workers", "1", "--no-worker"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base_url = f"http://127.0.0.1:{args.port}"
        _wait_until_up(base_url, server)
        take(base_url, args.out)
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
