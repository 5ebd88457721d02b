"""The report's files (HTML and PDF) from the report page: a background job of the reader,
downloaded from the page's job list, audited as an export of the report."""

from __future__ import annotations

import io
import zipfile

import pytest
from tests.conftest import PASSWORD
from tests.jobs.conftest import run_queued_jobs

from trialdesk.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _job_files(settings, tmp_path):
    settings.TRIALDESK_JOB_FILES = tmp_path / "job-files"


def _login(client, cast, role: str):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    return client


def test_the_statistician_downloads_the_report_files_written_in_the_background(client, cast, enrolled_subject):
    c = _login(client, cast, "statistician")
    page = c.get("/reports/analysis/").content.decode()
    assert 'data-report-download="analysis-report"' in page
    asked = c.post("/reports/analysis/download/")
    assert asked.status_code == 302
    (job,) = run_queued_jobs()
    assert job.state == "done", job.error
    assert f'data-download-job="{job.pk}"' in c.get("/reports/analysis/").content.decode()
    response = c.post(f"/jobs/{job.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = {name.rsplit("/", 1)[-1] for name in archive.namelist()}
    assert {"report.html", "report.pdf"} <= names
    assert archive.read(next(n for n in archive.namelist() if n.endswith("report.pdf"))).startswith(b"%PDF")
    (event,) = AuditEvent.objects.filter(action="export", object_type="report.analysis")
    assert event.username == cast.statistician.username and event.new_value["pseudonymised"] is True


def test_the_safety_officer_writes_the_safety_report_only(client, cast, enrolled_subject):
    c = _login(client, cast, "safety_officer")
    assert c.post("/reports/analysis/download/").status_code == 404
    assert c.post("/reports/safety/download/").status_code == 302
    (job,) = run_queued_jobs()
    assert job.state == "done" and job.kind == "safety-report"


@pytest.mark.parametrize("role", ["investigator_nantes", "coordinator_nantes", "monitor"])
def test_a_role_bound_to_some_sites_cannot_ask_for_the_report(client, cast, enrolled_subject, role):
    c = _login(client, cast, role)
    assert c.post("/reports/analysis/download/").status_code == 404
    assert c.post("/reports/safety/download/").status_code == 404
    assert run_queued_jobs() == []
