"""The PDF casebook (issue 15): every form with its values as labels, the audit trail, the
signatures and the queries, a cover with the content's SHA-256; for the site's staff, its
monitor and the data manager; audited as an export; a foreign site's subject is not found."""

from __future__ import annotations

import io

import pytest
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _url(subject) -> str:
    return f"/exports/casebook/{subject.pk}/pdf/"


def _download(client, user, subject):
    client.login(username=user.username, password=PASSWORD)
    return client.get(_url(subject))


def _text(pdf: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    # a table cell wraps where its column happens to end (a date's width moves it): one space
    return " ".join(text.split())


@pytest.fixture
def signed_subject(cast, enrolled_subject):
    from trialdesk.signatures.services import sign

    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    return enrolled_subject


def test_the_investigator_downloads_a_pdf_with_forms_values_and_signature(client, cast, signed_subject):
    response = _download(client, cast.investigator_nantes, signed_subject)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _text(response.content)
    assert signed_subject.subject_code in text and "Nantes University Hospital" in text
    assert "Performance status" in text or "ECOG" in text  # a field's label, not its code
    assert "Relapsed" in text  # a choice's label (disease_status "relapsed")
    assert "Inv.Nantes" in text and "I approve the data of this casebook" in text
    assert response["X-Content-SHA256"] in text.replace(" ", "")


def test_the_download_is_audited_as_an_export_with_the_contents_sha256(client, cast, signed_subject):
    response = _download(client, cast.coordinator_nantes, signed_subject)
    event = AuditEvent.objects.get(action="export", object_type="export.casebook_pdf")
    assert event.new_value["sha256"] == response["X-Content-SHA256"]
    assert event.username == cast.coordinator_nantes.username and event.role == "coordinator"
    assert event.site_id == signed_subject.site_id


def test_an_unchanged_casebook_has_the_same_content_hash_and_a_change_another(client, cast, signed_subject):
    from tests.conftest import ELIGIBLE_SCREENING

    from trialdesk.crf.services import save_form

    first = _download(client, cast.data_manager, signed_subject)["X-Content-SHA256"]
    # the download's own audit event belongs to no subject: the subject's trail is unchanged
    assert _download(client, cast.data_manager, signed_subject)["X-Content-SHA256"] == first
    record = signed_subject.form_records.get(form_code="screening")
    save_form(
        cast.investigator_nantes,
        signed_subject,
        "screening",
        dict(ELIGIBLE_SCREENING, ecog=2),
        visit=record.visit,
        expected_version=record.version,
        reason="transcription_error",
    )
    assert _download(client, cast.data_manager, signed_subject)["X-Content-SHA256"] != first


def test_the_pdf_holds_the_subjects_audit_trail(client, cast, signed_subject):
    text = _text(_download(client, cast.monitor, signed_subject).content)
    assert "Audit trail" in text and "Signed" in text and "Enrolled" in text


@pytest.mark.parametrize("who", ["investigator_rennes"])
def test_a_foreign_sites_subject_is_not_found(client, cast, signed_subject, who):
    assert _download(client, getattr(cast, who), signed_subject).status_code == 404
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.parametrize("who", ["statistician", "sponsor", "safety_officer"])
def test_roles_outside_the_site_archive_and_inspection_cannot_download(client, cast, signed_subject, who):
    """The statistician is pseudonymised: a casebook is the identified record of the patient.
    Refused without details (403): the subject is within their sites."""
    assert _download(client, getattr(cast, who), signed_subject).status_code == 403
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_casebook_page_offers_the_pdf_to_those_who_may_download_it(client, cast, enrolled_subject):
    client.login(username=cast.monitor.username, password=PASSWORD)
    assert _url(enrolled_subject) in client.get(f"/subjects/{enrolled_subject.pk}/").content.decode()
    client.login(username=cast.statistician.username, password=PASSWORD)
    assert _url(enrolled_subject) not in client.get(f"/subjects/{enrolled_subject.pk}/").content.decode()


def test_a_french_reader_gets_the_casebook_in_french(client, cast, signed_subject):
    client.login(username=cast.investigator_nantes.username, password=PASSWORD)
    response = client.get(_url(signed_subject), HTTP_ACCEPT_LANGUAGE="fr")
    text = _text(response.content)
    assert "Cahier d’observation" in text and "Piste d’audit" in text


# --------------------------------------------------------------------------- trialdesk casebook pdf


def test_the_command_writes_the_pdf_as_the_named_user_and_audits_it(cast, signed_subject, tmp_path, capsys):
    from trialdesk.cli import main

    out = tmp_path / "casebook.pdf"
    assert (
        main(["casebook", "pdf", signed_subject.subject_code, "--out", str(out), "--as", "inv.nantes"]) == 0
    )
    assert out.read_bytes().startswith(b"%PDF")
    event = AuditEvent.objects.get(action="export", object_type="export.casebook_pdf")
    assert event.new_value["sha256"] in capsys.readouterr().out
    assert "Inv.Nantes" in _text(out.read_bytes())


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["NTE-999", "--as", "inv.nantes"], "SUBJECT NTE-999"),
        (["{code}", "--as", "inv.rennes"], "SUBJECT"),  # another site's subject: not found
        (["{code}", "--as", "nobody"], "--as"),
        (["{code}", "--as", "statistician"], "--as statistician"),
    ],
)
def test_the_command_refuses_bad_input_naming_it_and_writes_nothing(
    cast, signed_subject, tmp_path, capsys, arguments, named
):
    from trialdesk.cli import main

    out = tmp_path / "casebook.pdf"
    arguments = [a.replace("{code}", signed_subject.subject_code) for a in arguments]
    assert main(["casebook", "pdf", *arguments, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_command_refuses_a_folder_that_does_not_exist(cast, signed_subject, tmp_path, capsys):
    from trialdesk.cli import main

    out = tmp_path / "missing" / "casebook.pdf"
    assert (
        main(["casebook", "pdf", signed_subject.subject_code, "--out", str(out), "--as", "inv.nantes"]) == 3
    )
    assert "--out" in capsys.readouterr().err
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_export_reads_with_labels_in_the_sites_audit_trail(client, cast, signed_subject):
    sha = _download(client, cast.monitor, signed_subject)["X-Content-SHA256"]
    page = client.get("/audit/sites/NTE/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert f"SHA-256 du contenu\u00a0: {sha}" in page
    assert "casebook_pdf;" not in page and "Sha256" not in page


def test_the_queries_of_the_pdf_are_in_the_readers_language_and_stored_english_is_marked(
    cast, signed_subject
):
    from django.utils import translation

    from trialdesk.crf.models import FormRecord
    from trialdesk.exports.casebook_pdf import casebook_content
    from trialdesk.protocol.crossrecord import _AFTER, AFTER_DEATH
    from trialdesk.queries import wording
    from trialdesk.queries.services import raise_system_query

    record = FormRecord.objects.system("test").filter(subject=signed_subject).order_by("pk").first()
    params = {"date": "2026-12-20", "died_on": "2026-12-01"}
    raise_system_query(
        record,
        "",
        wording.english(_AFTER, params),
        code=AFTER_DEATH,
        reason="test",
        template=_AFTER,
        params=params,
    )
    # a system text stored before templates were kept: its English, marked lang="en"
    raise_system_query(record, "", "An old system text.", code="OLD-RULE", reason="test")
    study = signed_subject.study
    with translation.override("fr"):
        queries = casebook_content(cast.investigator_nantes, study, signed_subject)["queries"]
    shown = {q["summary"]: q["lang"] for q in queries}
    assert shown["Cette fiche est datée du 2026-12-20, après le décès du patient le 2026-12-01."] == ""
    assert shown["An old system text."] == "en"
    # raised by a check, said in the reader's language, not a role's code
    assert {q["raised_by"] for q in queries} == {"Contrôle de cohérence"}
    with translation.override("en"):
        queries = casebook_content(cast.investigator_nantes, study, signed_subject)["queries"]
    assert "This record is dated 2026-12-20, after the death of the patient on 2026-12-01." in {
        q["summary"] for q in queries
    }
