"""The exports page and its downloads: who reaches them (every role), what they hold. An export
asked for on the page is a background job (tests/jobs); here the job runs in the test process."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree
from tests.conftest import PASSWORD
from tests.exchange.conftest import NS
from tests.exports.conftest import export_events
from tests.jobs.conftest import run_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _job_files(settings, tmp_path):
    settings.TRIALDESK_JOB_FILES = tmp_path / "job-files"


def _downloaded(client, kind: str):
    """Ask for the export on the page, let the job run, download its file from the page."""
    asked = client.post(f"/exports/{kind}/", {"cutoff": "2026-11-30"})
    assert asked.status_code == 302 and asked["Location"].endswith("/exports/")
    (job,) = run_queued_jobs()
    assert f'data-download-job="{job.pk}"' in client.get("/exports/").content.decode()
    return client.post(f"/jobs/{job.pk}/download/")


# role -> (page and downloads reachable, sites the download holds)
MATRIX = {
    "investigator_nantes": (True, {"NTE"}),
    "investigator_rennes": (True, {"RNS"}),
    "coordinator_nantes": (False, set()),
    "monitor": (False, set()),
    "data_manager": (True, {"NTE", "RNS"}),
    "statistician": (True, {"NTE", "RNS"}),
    "sponsor": (False, set()),
    "safety_officer": (False, set()),
}


def _login(client, cast, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    return client


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_access_matrix_of_the_exports_page_and_downloads(client, cast, trial, role):
    allowed, sites = MATRIX[role]
    c = _login(client, cast, role)
    assert c.get("/exports/").status_code == (200 if allowed else 404)
    if not allowed:
        assert c.post("/exports/odm/", {"cutoff": "2026-11-30"}).status_code == 404
        assert run_queued_jobs() == [] and export_events() == []
        return
    response = _downloaded(c, "odm")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    doc = etree.fromstring(body)
    held = {s.find("odm:SiteRef", NS).get("LocationOID")[4:] for s in doc.iterfind(".//odm:SubjectData", NS)}
    assert held == sites
    (event,) = export_events()
    assert (
        event.username == getattr(cast, role).username
        and event.new_value["sha256"] == response["X-Content-SHA256"]
    )


def test_a_download_page_is_not_reached_by_get(client, cast, trial):
    assert _login(client, cast, "data_manager").get("/exports/odm/").status_code == 405


def test_the_csv_download_is_a_zip_of_the_forms_and_the_data_dictionary(client, cast, trial):
    response = _downloaded(_login(client, cast, "statistician"), "csv")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert "data_dictionary.csv" in names and "screening.csv" in names


def test_the_page_offers_every_export_kind_and_each_downloads_under_its_own_name(client, cast, trial):
    import json

    c = _login(client, cast, "data_manager")
    page = c.get("/exports/").content.decode()
    for kind in ("odm", "csv", "sdtm", "fhir", "ctgov-results"):
        assert f'data-export="{kind}"' in page
    sdtm = _downloaded(c, "sdtm")
    assert sdtm["Content-Type"] == "application/zip"
    assert "NCT00724360_2026-11-30_sdtm.zip" in sdtm["Content-Disposition"]
    names = {
        n.rsplit("/", 1)[-1] for n in zipfile.ZipFile(io.BytesIO(b"".join(sdtm.streaming_content))).namelist()
    }
    assert {"dm.json", "dm.xpt", "define.json"} <= names
    fhir = _downloaded(c, "fhir")
    assert "NCT00724360_2026-11-30_fhir.json" in fhir["Content-Disposition"]
    assert json.loads(b"".join(fhir.streaming_content))["resourceType"] == "Bundle"
    results = _downloaded(c, "ctgov-results")
    assert "resultsSection" in json.loads(b"".join(results.streaming_content))


def test_a_bad_cutoff_is_refused_with_a_message_and_nothing_exported(client, cast, trial):
    c = _login(client, cast, "data_manager")
    for bad in ("30/11/2026", "2999-01-01"):
        response = c.post("/exports/odm/", {"cutoff": bad}, follow=True)
        assert response.redirect_chain[-1][0].endswith("/exports/")
        assert b'class="messages' in response.content or b"messages" in response.content
    assert run_queued_jobs() == [] and export_events() == []


def test_the_page_says_which_sites_the_export_holds_in_french(client, cast, trial):
    c = _login(client, cast, "investigator_nantes")
    page = c.get("/exports/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "NTE" in page and "RNS" not in page
    c.cookies["django_language"] = "fr"
    page = c.get("/exports/").content.decode()
    assert "Exports de données" in page


def test_an_anonymous_visitor_is_sent_to_sign_in(client, trial):
    for path in ("/exports/",):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
