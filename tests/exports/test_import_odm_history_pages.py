"""The audit pages show an imported file's trail and signatures as imported history, apart
from the live trail, to those who may read that scope: their sites only, masked for a
pseudonymised reader, in French too."""

from __future__ import annotations

import re

import pytest
from tests.conftest import _member
from tests.exports.odm_import_study import source_file  # noqa: F401 (a fixture)

from trialdesk.exports.importing import import_odm


@pytest.fixture
def study(source_file, db):  # noqa: F811
    from trialdesk.studies.models import Study

    import_odm(source_file)
    return Study.objects.get()


@pytest.fixture
def readers(study):
    """Staff invited after the import (the file's own users are inactive until invited)."""
    from trialdesk.studies.models import Role

    class Readers:
        data_manager = _member(study, "dm.after", Role.DATA_MANAGER, None)
        statistician = _member(study, "stat.after", Role.STATISTICIAN, None)
        monitor_nantes = _member(study, "monitor.nte.after", Role.MONITOR, ["NTE"])

    return Readers


def _page(client, user, url: str, **headers) -> str:
    client.force_login(user)
    response = client.get(url, **headers)
    assert response.status_code == 200, url
    return response.content.decode()


def _imported_sites(page: str) -> set[str]:
    table = page[page.index('id="imported-records"') :]
    return set(re.findall(r"</time></td><td>([A-Z]*)</td>", table))


def test_the_study_trail_shows_the_imported_history_apart_with_its_file_and_date(client, study, readers):
    from trialdesk.audit_viewer.models import OdmImport

    origin = OdmImport.objects.get()
    page = _page(client, readers.data_manager, "/audit/")
    assert f"Imported from {origin.file_name} on {origin.imported_at:%Y-%m-%d}" in page
    assert "It is not part of this database" in page and "hash chain" in page
    assert len(re.findall(r'data-imported-sequence="\d+"', page)) == 50  # a page of the history
    signatures = page[
        page.index('id="imported-signatures"') : page.index(
            "</table>", page.index('id="imported-signatures"')
        )
    ]
    assert "Inv.Nantes" in signatures and "I approve the data of this casebook" in signatures
    assert "approve_casebook" not in signatures and "The casebook" in signatures
    assert {"NTE", "RNS"} <= _imported_sites(page)
    # what the file records read with labels, the file's own text kept in the tooltip
    assert "Changed · RNS-S01 SCR Screening and eligibility · ECOG performance status: 4" in page
    assert 'title="change form_record RNS-S01 SCR screening ecog  -&gt; 4"' in page
    assert "Created · RNS-S01: Screening" in page


def test_a_monitor_of_one_site_reads_the_imported_history_of_that_site_only(client, study, readers):
    page = _page(client, readers.monitor_nantes, "/audit/sites/NTE/")
    assert _imported_sites(page) == {"NTE"}
    client.force_login(readers.monitor_nantes)
    assert client.get("/audit/sites/RNS/").status_code == 404


def test_a_subjects_trail_shows_its_imported_signature_and_the_records_naming_it(client, study, readers):
    from trialdesk.subjects.models import Subject

    subject = Subject.objects.system("test").get(subject_code="NTE-001")
    page = _page(client, readers.monitor_nantes, f"/audit/subjects/{subject.pk}/")
    assert "Inv.Nantes" in page[page.index('id="imported-signatures"') :]
    records = page[page.index('id="imported-records"') :]
    assert "NTE-S01" in records and "RNS-S01" not in records


def test_a_pseudonymised_reader_sees_what_the_file_records_masked(client, study, readers):
    page = _page(client, readers.statistician, "/audit/")
    records = page[page.index('id="imported-records"') :]
    assert "[pseudonymised]" in records and "Ondansetron" not in records and "inv.nantes" in records


def test_the_imported_history_reads_in_french(client, study, readers):
    page = _page(client, readers.data_manager, "/audit/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Historique importé" in page and "Importé de NCT00724360_source.xml le" in page
    assert "Signatures importées" in page and "J&#x27;approuve" in page or "J’approuve" in page
