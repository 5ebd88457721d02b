"""Issue 12 in Chromium, with a real worker: the data manager asks for the ODM export of the
demo trial, sees its progress move (the page polls every 2 s), leaves for another page, comes
back to the exports page, finds the job finished and downloads the file: the one the worker
wrote, whole. The server (`trialdesk serve --no-worker`) and the worker (`trialdesk worker`,
its exports slowed to a subject every 0.4 s so that the progress can be seen) are processes of
their own on the demo's database; the French page says the same."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
from lxml import etree
from tests.browser.conftest import sign_in
from tests.cli.processes import DEMO_PASSWORD, free_port, wait_until_served
from tests.exchange.conftest import NS
from tests.jobs.processes import demo_folder, kill

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/jobs"))
DEMO_SUBJECTS = 24
PROGRESS = re.compile(r"(\d+) of (\d+) subjects written")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with demo_folder(tmp_path_factory.mktemp("journey-demo")) as demo:
        log = demo.folder / "processes.log"
        port = free_port()
        server = demo.start(
            "-m", "trialdesk.cli", "serve", "--port", str(port), "--workers", "1", "--no-worker", log=log
        )
        worker = demo.start("-m", "tests.jobs.slow_worker", "0.4", "--workers", "1", log=log)
        try:
            wait_until_served(server, f"http://127.0.0.1:{port}/accounts/login/")
            yield demo, f"http://127.0.0.1:{port}"
        finally:
            for process in (server, worker):
                process.send_signal(signal.SIGTERM)
            for process in (server, worker):
                try:
                    process.wait(timeout=30)
                finally:
                    kill(process)


def _progress_of(page) -> tuple[int, int] | None:
    found = PROGRESS.search(page.inner_text("#jobs"))
    return (int(found[1]), int(found[2])) if found else None


def test_the_data_manager_follows_a_background_export_leaves_comes_back_and_downloads_it(
    browser, served, tmp_path
):
    demo, base = served
    context = browser.new_context(
        base_url=base, locale="en-GB", viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in(page, "datamanager", DEMO_PASSWORD)
    page.click("#exports-menu-link")
    page.click("button[data-export=odm]")
    page.wait_for_selector("tr[data-job]")
    assert "Your export is being written" in page.inner_text("main")
    job_id = page.get_attribute("tr[data-job]", "data-job")

    # the progress moves while the worker writes (the list is polled every 2 s)
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        progress = _progress_of(page)
        if progress and 0 < progress[0] < progress[1]:
            seen.append(progress)
            if len(seen) >= 2 and seen[-1][0] > seen[0][0]:
                break
        time.sleep(0.3)
    assert len(seen) >= 2 and seen[-1][0] > seen[0][0], f"no progress seen moving: {seen}"
    assert {total for _, total in seen} == {DEMO_SUBJECTS}
    assert page.get_attribute("#jobs", "hx-trigger") == "every 2s"
    _shot(page, "background_export_running")

    # the user leaves, and comes back through the menu
    page.click("a.brand")
    page.wait_for_load_state("networkidle")
    assert "/exports/" not in page.url
    page.click("#exports-menu-link")
    row = f'tr[data-job="{job_id}"]'
    page.wait_for_selector(row)
    page.wait_for_selector(f'{row}[data-job-state="done"]', timeout=90_000)
    assert "24 of 24 subjects written" in page.inner_text(row) and "Ready" in page.inner_text(row)
    assert page.get_attribute("#jobs", "hx-trigger") is None  # polling stopped
    _shot(page, "background_export_ready")

    with page.expect_download() as download:
        page.click(f"{row} button[data-download-job]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    job = demo.job(job_id)
    body = saved.read_bytes()
    assert job["state"] == "done" and hashlib.sha256(body).hexdigest() == job["sha256"]
    assert saved.name == Path(job["path"]).name and saved.suffix == ".xml"
    assert len(etree.fromstring(body).findall(".//odm:SubjectData", NS)) == DEMO_SUBJECTS
    context.close()

    french = browser.new_context(base_url=base, locale="fr-FR", viewport={"width": 1366, "height": 900})
    page = french.new_page()
    sign_in(page, "datamanager", DEMO_PASSWORD)
    page.goto("/exports/")
    text = page.inner_text("#jobs")
    assert "Vos tâches de fond" in text and "Prêt" in text and "24 patients écrits sur 24" in text
    assert page.inner_text(f'tr[data-job="{job_id}"] button') == "Télécharger"
    _shot(page, "background_export_ready_fr")
    french.close()
