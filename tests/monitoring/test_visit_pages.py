"""The pages of the monitoring visit reports: who sees which report (site scope, 404 outside it),
the draft's editing and signing through the page, the PDF, the CSV and the JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.conftest import PASSWORD, _member

from trialdesk.audit.models import AuditEvent
from trialdesk.monitoring import services
from trialdesk.monitoring.models import MonitoringVisit, ReportStatus

BASE = "/studies/NCT00724360/monitoring/"


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def clermont_visit(study):
    """A signed report of Clermont-Ferrand, by the monitor of that site only."""
    site = study.sites.get(code="CFD")
    monitor = _member(study, "monitor.cfd", "monitor", ["CFD"])
    visit = services.create_visit(monitor, site, visit_date=site.today(), kind="on_site")
    return services.sign_visit(monitor, visit, password=PASSWORD)


def test_a_monitor_of_nantes_and_rennes_cannot_open_a_clermont_report(client, cast, clermont_visit):
    _login(client, cast.monitor)
    for suffix in ("", "report.pdf", "findings.csv", "report.json"):
        assert client.get(f"{BASE}{clermont_visit.pk}/{suffix}").status_code == 404
    assert client.post(f"{BASE}{clermont_visit.pk}/addendum/", {"reason": "x"}).status_code == 404
    assert client.get(f"{BASE}?site=CFD").status_code == 404
    assert f'data-visit="{clermont_visit.pk}"' not in client.get(BASE).content.decode()


def test_a_rennes_investigator_cannot_see_a_nantes_report(client, cast, signed):
    _login(client, cast.investigator_rennes)
    assert client.get(f"{BASE}{signed.pk}/").status_code == 404
    assert client.get(f"{BASE}{signed.pk}/report.pdf").status_code == 404
    assert f'data-visit="{signed.pk}"' not in client.get(BASE).content.decode()
    assert client.get(f"{BASE}?site=NTE").status_code == 404


def test_the_nantes_investigator_reads_the_signed_report_and_its_follow_ups(client, cast, signed):
    _login(client, cast.investigator_nantes)
    body = client.get(f"{BASE}{signed.pk}/").content.decode()
    assert "File the re-consent in the ISF." in body and "Informed consent" in body and "Major" in body
    assert 'id="add-finding"' not in body and 'id="sign-report"' not in body  # read-only
    assert 'id="report-pdf"' in body and 'id="report-csv"' not in body
    assert client.get(f"{BASE}{signed.pk}/findings.csv").status_code == 403
    assert f'data-visit="{signed.pk}"' in client.get(BASE).content.decode()


def test_the_site_does_not_see_the_monitors_draft(client, cast, draft):
    _login(client, cast.investigator_nantes)
    assert client.get(f"{BASE}{draft.pk}/").status_code == 404
    assert f'data-visit="{draft.pk}"' not in client.get(BASE).content.decode()
    _login(client, cast.data_manager)
    assert client.get(f"{BASE}{draft.pk}/").status_code == 404


def test_the_statistician_and_the_safety_officer_read_no_report(client, cast, signed):
    """Pseudonymised roles: a report is the site's free text about named subjects (DESIGN §5)."""
    for user in (cast.statistician, cast.safety_officer):
        _login(client, user)
        assert client.get(BASE).status_code == 403
        for suffix in ("", "report.pdf", "report.json"):
            response = client.get(f"{BASE}{signed.pk}/{suffix}")
            assert response.status_code == 403 and b"Consent form" not in response.content
    page = client.get("/studies/NCT00724360/safety/")  # the safety officer's own page: no menu link
    assert page.status_code == 200 and "monitoring-menu-link" not in page.content.decode()
    _login(client, cast.investigator_nantes)
    assert "monitoring-menu-link" in client.get(BASE).content.decode()


def test_the_monitor_creates_edits_and_signs_a_draft_through_the_pages(
    client, cast, nantes, screening_record
):
    from tests.monitoring.conftest import mark

    mark(cast.monitor, screening_record, "ecog")
    _login(client, cast.monitor)
    response = client.post(
        f"{BASE}new/",
        {
            "site": "NTE",
            "visit_date": nantes.today().isoformat(),
            "kind": "remote",
            "attendees": "Dr Inv Nantes\nNurse Coord",
        },
    )
    visit = MonitoringVisit.objects.system("tests").get()
    assert response.status_code == 302 and response["Location"].endswith(f"/monitoring/{visit.pk}/")
    page = client.get(f"{BASE}{visit.pk}/").content.decode()
    assert "ECOG performance status" in page and screening_record.subject.label in page
    client.post(
        f"{BASE}{visit.pk}/findings/",
        {"category": "eligibility", "severity": "minor", "text": "Marrow report filed late."},
    )
    client.post(
        f"{BASE}{visit.pk}/follow-ups/",
        {"text": "Chase the C1 marrow.", "responsible": "Nurse Coord", "due_on": ""},
    )
    wrong = client.post(f"{BASE}{visit.pk}/sign/", {"password": "nope"}, follow=True).content.decode()
    assert "The password is not correct" in wrong
    assert MonitoringVisit.objects.system("tests").get().status == ReportStatus.DRAFT
    client.post(f"{BASE}{visit.pk}/sign/", {"password": PASSWORD})
    visit = MonitoringVisit.objects.system("tests").get()
    assert visit.status == ReportStatus.SIGNED
    page = client.get(f"{BASE}{visit.pk}/").content.decode()
    assert "Marrow report filed late." in page and 'id="add-finding"' not in page and "Signed by" in page
    # a post to the signed report is refused with a message, nothing written
    before = AuditEvent.objects.count()
    refused = client.post(
        f"{BASE}{visit.pk}/findings/", {"category": "other", "severity": "minor", "text": "x"}, follow=True
    ).content.decode()
    assert "Write an addendum" in refused and AuditEvent.objects.count() == before


def test_bad_input_on_the_pages_gets_a_message_not_a_traceback(client, cast, draft):
    _login(client, cast.monitor)
    response = client.post(
        f"{BASE}{draft.pk}/edit/", {"visit_date": "02/12/2026", "kind": "on_site"}, follow=True
    )
    assert response.status_code == 200 and "is not a date" in response.content.decode()
    assert client.post(f"{BASE}{draft.pk}/findings/remove/", {"item": "abc"}).status_code == 404
    assert client.get(f"{BASE}?from=yesterday").status_code == 200


def test_the_list_filters_by_site_status_and_date(client, cast, study, signed, rennes):
    other = services.create_visit(cast.monitor, rennes, visit_date=rennes.today(), kind="remote")
    _login(client, cast.monitor)
    body = client.get(f"{BASE}?site=RNS").content.decode()
    assert f'data-visit="{other.pk}"' in body and f'data-visit="{signed.pk}"' not in body
    body = client.get(f"{BASE}?status=signed").content.decode()
    assert f'data-visit="{signed.pk}"' in body and f'data-visit="{other.pk}"' not in body
    day = signed.visit_date.isoformat()
    after = (signed.visit_date.replace(year=signed.visit_date.year + 1)).isoformat()
    assert f'data-visit="{signed.pk}"' in client.get(f"{BASE}?from={day}&to={day}").content.decode()
    assert f'data-visit="{signed.pk}"' not in client.get(f"{BASE}?from={after}").content.decode()


def _pdf_text(html: str) -> str:
    """The text WeasyPrint laid out on the pages of the PDF."""
    from weasyprint import HTML

    document = HTML(string=html).render()
    texts = []

    def walk(box):
        if getattr(box, "text", None):
            texts.append(box.text)
        for child in getattr(box, "children", []) or []:
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return " ".join(texts)


def test_the_pdf_renders_with_the_site_findings_and_signature(client, cast, signed, rf):
    from trialdesk.monitoring.views import document_html

    for user in (cast.monitor, cast.data_manager, cast.sponsor, cast.investigator_nantes):
        _login(client, user)
        response = client.get(f"{BASE}{signed.pk}/report.pdf")
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    request = rf.get("/")
    request.user = cast.monitor
    text = _pdf_text(document_html(request, signed.study, signed))
    assert "NTE" in text and "Nantes" in text
    assert "Consent form version 2 signed after the screening marrow." in text
    assert "File the re-consent in the ISF." in text and "Signed by Monitor" in text
    assert signed.content_sha256 in text


def test_a_draft_has_no_pdf(client, cast, draft):
    _login(client, cast.monitor)
    assert client.get(f"{BASE}{draft.pk}/report.pdf").status_code == 404
    assert client.get(f"{BASE}{draft.pk}/findings.csv").status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_csv_and_json_hold_the_findings_and_follow_ups(client, cast, signed):
    for user in (cast.monitor, cast.data_manager, cast.sponsor):
        _login(client, user)
        rows = list(
            csv.DictReader(io.StringIO(client.get(f"{BASE}{signed.pk}/findings.csv").content.decode()))
        )
        assert [(r["item"], r["site"]) for r in rows] == [("finding", "NTE"), ("follow_up", "NTE")]
        assert rows[0]["category"] == "consent" and rows[1]["responsible"] == "Dr Inv Nantes"
        content = json.loads(client.get(f"{BASE}{signed.pk}/report.json").content)
        assert content["signature"]["content_sha256"] == signed.content_sha256
        assert content["findings"][0]["severity"] == "major" and content["follow_ups"][0]["state"] == "open"


def test_the_report_reads_in_french(client, cast, signed):
    _login(client, cast.investigator_nantes)
    client.cookies["django_language"] = "fr"
    body = client.get(f"{BASE}{signed.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Rapport de visite de monitoring" in body and "Constats" in body and "Consentement éclairé" in body
    assert "Majeure" in body and "Actions de suivi" in body and "Ouverte" in body
    assert "Findings" not in body and "Follow-up actions" not in body


def test_each_download_of_a_signed_report_is_audited_as_an_export(client, cast, signed):
    import hashlib

    _login(client, cast.data_manager)
    response = client.get(f"{BASE}{signed.pk}/findings.csv")
    event = AuditEvent.objects.filter(action="export", object_type="monitoring_visit").get()
    assert event.new_value == {
        "kind": "monitoring_visit.csv",
        "sha256": hashlib.sha256(response.content).hexdigest(),
    }
    assert event.role == "data_manager" and event.site_id == signed.site_id
