"""Electronic signatures (21 CFR 11.50/11.70/11.200): password re-entry, manifestation,
content hash, voiding by a later change, the investigator's worklist, who may sign."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from tests.conftest import PASSWORD

from trialdesk.audit.models import AppendOnlyError, AuditEvent
from trialdesk.audit.services import verify
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.signatures.models import Signature, SignatureStatus
from trialdesk.signatures.services import (
    SignatureRefused,
    casebooks_to_sign,
    content_hash,
    sign,
    verify_signature,
)


def _screening(subject) -> FormRecord:
    return FormRecord.objects.system("test").get(subject=subject, form_code="screening")


def _correct_ecog(user, subject, ecog=2):
    record = _screening(subject)
    return save_form(
        user,
        subject,
        "screening",
        dict(record.data, ecog=ecog),
        visit=record.visit,
        expected_version=record.version,
        reason="transcription_error",
    )


def _subjects_to_sign(user, study):
    return [item.subject.pk for item in casebooks_to_sign(user, study)]


# --------------------------------------------------------------------------- signing


def test_an_investigator_signs_the_casebook_with_name_time_meaning_and_content_hash(cast, enrolled_subject):
    before = dt.datetime.now(dt.UTC)
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.VALID
    assert signature.printed_name == "Inv.Nantes"
    assert signature.signer == cast.investigator_nantes
    assert signature.meaning_text == "I approve the data of this casebook"
    assert signature.signed_at >= before and signature.signed_at.utcoffset() == dt.timedelta(0)
    assert len(signature.content_sha256) == 64
    record = _screening(enrolled_subject)
    assert signature.record_versions == {str(record.pk): record.version}
    event = AuditEvent.objects.filter(action="sign").get()
    assert (
        event.object_id == str(signature.pk) and event.username == "inv.nantes" and event.site_code == "NTE"
    )
    assert event.new_value["content_sha256"] == signature.content_sha256
    assert event.new_value["printed_name"] == "Inv.Nantes"


def test_a_wrong_password_signs_nothing_and_is_audited_as_a_failed_signature(cast, enrolled_subject):
    with pytest.raises(SignatureRefused):
        sign(cast.investigator_nantes, enrolled_subject, password="not-my-password")
    with pytest.raises(SignatureRefused):
        sign(cast.investigator_nantes, enrolled_subject, password="")
    assert not Signature.objects.system("test").exists()
    failures = AuditEvent.objects.filter(action="sign_failed")
    assert failures.count() == 2
    assert {e.username for e in failures} == {"inv.nantes"}
    assert all(e.object_type == "subject" and e.object_id == str(enrolled_subject.pk) for e in failures)
    assert not AuditEvent.objects.filter(action="sign").exists()


def test_repeated_wrong_passwords_block_signing_for_a_while(cast, enrolled_subject):
    from trialdesk.signatures.services import SIGN_FAILURE_LIMIT

    for _ in range(SIGN_FAILURE_LIMIT):
        with pytest.raises(SignatureRefused):
            sign(cast.investigator_nantes, enrolled_subject, password="guess")
    with pytest.raises(SignatureRefused, match="Too many failed signature attempts"):
        sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert not Signature.objects.system("test").exists()
    assert AuditEvent.objects.filter(action="sign_failed", reason="too many failed attempts").count() == 1
    # Another investigator is not blocked by someone else's failures.
    from trialdesk.studies.models import Membership, Role

    Membership.objects.create(
        user=cast.investigator_rennes,
        study=enrolled_subject.study,
        role=Role.INVESTIGATOR,
        site=enrolled_subject.site,
    )
    assert sign(cast.investigator_rennes, enrolled_subject, password=PASSWORD).is_valid


def test_the_content_hash_is_the_sha256_of_a_canonical_json_of_records_in_scope(cast, enrolled_subject):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    record = _screening(enrolled_subject)
    expected = {
        "records": [
            {
                "data": record.data,
                "form": "screening",
                "id": record.pk,
                "repeat": 1,
                "version": record.version,
                "visit": "SCR",
            }
        ],
        "scope": "subject",
        "subject": enrolled_subject.pk,
        "visit": None,
    }
    canonical = json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert signature.content_sha256 == hashlib.sha256(canonical.encode()).hexdigest()


def test_the_content_hash_does_not_depend_on_the_order_records_are_read_in():
    a = {"id": 1, "visit": "SCR", "form": "screening", "repeat": 1, "version": 3, "data": {"x": 1}}
    b = {"id": 2, "visit": None, "form": "infusion", "repeat": 2, "version": 1, "data": {"y": "z"}}
    assert content_hash(7, "subject", None, [a, b]) == content_hash(7, "subject", None, [b, a])
    assert content_hash(7, "subject", None, [a, b]) != content_hash(
        7, "subject", None, [a, dict(b, version=2)]
    )


def test_verify_shows_whether_the_signed_content_is_unchanged(cast, enrolled_subject):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert verify_signature(signature).unchanged
    # A change made behind the application's back (no service, no version bump) is still seen.
    record = _screening(enrolled_subject)
    FormRecord.objects.system("test").filter(pk=record.pk).update(data=dict(record.data, ecog=3))
    check = verify_signature(signature)
    assert not check.unchanged and check.current_sha256 != check.signed_sha256


def test_a_casebook_without_any_data_cannot_be_signed(cast, site):
    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    with pytest.raises(SignatureRefused):
        sign(cast.investigator_nantes, subject, password=PASSWORD)
    assert not Signature.objects.system("test").exists()


def test_signing_again_data_one_already_signed_unchanged_is_refused(cast, enrolled_subject):
    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    with pytest.raises(SignatureRefused):
        sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert Signature.objects.system("test").count() == 1


def test_a_signature_is_never_edited_nor_deleted(cast, enrolled_subject):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    signature.printed_name = "Someone Else"
    with pytest.raises(AppendOnlyError):
        signature.save()
    with pytest.raises(AppendOnlyError):
        signature.delete()


# --------------------------------------------------------------------------- who may sign


def test_a_coordinator_cannot_sign_and_nothing_is_written(cast, enrolled_subject):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        sign(cast.coordinator_nantes, enrolled_subject, password=PASSWORD)
    assert not Signature.objects.system("test").exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize("who", ["monitor", "data_manager", "statistician", "sponsor", "safety_officer"])
def test_roles_other_than_investigator_cannot_sign(cast, enrolled_subject, who):
    with pytest.raises(PermissionDenied):
        sign(getattr(cast, who), enrolled_subject, password=PASSWORD)
    assert not Signature.objects.system("test").exists()


def test_an_investigator_of_another_site_gets_not_found(cast, enrolled_subject):
    before = AuditEvent.objects.count()
    with pytest.raises(Http404):
        sign(cast.investigator_rennes, enrolled_subject, password=PASSWORD)
    assert not Signature.objects.system("test").exists() and AuditEvent.objects.count() == before


# --------------------------------------------------------------------------- voiding


def test_a_later_change_voids_the_signature_and_puts_the_casebook_back_on_the_worklist(
    cast, study, enrolled_subject
):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert enrolled_subject.pk not in _subjects_to_sign(cast.investigator_nantes, study)

    outcome = _correct_ecog(cast.coordinator_nantes, enrolled_subject)

    signature.refresh_from_db()
    assert signature.status == SignatureStatus.VOIDED
    assert signature.voided_at is not None and signature.voided_at >= signature.signed_at
    assert signature.voided_by == cast.coordinator_nantes
    assert signature.voided_by_record_id == outcome.record.pk
    assert "ecog" in signature.void_reason and f"v{outcome.record.version}" in signature.void_reason
    event = AuditEvent.objects.get(action="signature_void")
    assert event.object_id == str(signature.pk) and (event.old_value, event.new_value) == ("valid", "voided")
    assert event.username == "coord.nantes" and "ecog" in event.reason
    # The void is written with the change, after it, in the same transaction.
    change = AuditEvent.objects.filter(action="change", field="ecog").latest("sequence")
    assert event.sequence > change.sequence

    items = casebooks_to_sign(cast.investigator_nantes, study)
    assert [item.subject.pk for item in items] == [enrolled_subject.pk]
    assert items[0].reason == "voided" and items[0].voided == [signature]


def test_signing_again_after_a_void_takes_the_casebook_off_the_worklist(cast, study, enrolled_subject):
    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    _correct_ecog(cast.investigator_nantes, enrolled_subject)
    second = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert second.is_valid and verify_signature(second).unchanged
    assert enrolled_subject.pk not in _subjects_to_sign(cast.investigator_nantes, study)


def test_a_save_that_changes_nothing_leaves_the_signature_valid(cast, enrolled_subject):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    record = _screening(enrolled_subject)
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        dict(record.data),
        visit=record.visit,
        expected_version=record.version,
    )
    signature.refresh_from_db()
    assert signature.is_valid and not AuditEvent.objects.filter(action="signature_void").exists()


def test_a_new_log_entry_voids_the_casebook_signature(cast, enrolled_subject):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "concomitant_medication",
        {"medication": "paracetamol", "indication": "fever"},
    )
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.VOIDED and "concomitant_medication" in signature.void_reason


def test_a_visit_signature_is_voided_only_by_a_change_within_that_visit(cast, enrolled_subject):
    scr = enrolled_subject.visits.get(code="SCR")
    visit_signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD, visit=scr)
    assert visit_signature.meaning_text == "I approve the data of this visit"
    casebook_signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)

    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        {},
        visit=enrolled_subject.visits.get(code="M1"),
    )
    visit_signature.refresh_from_db()
    casebook_signature.refresh_from_db()
    assert visit_signature.is_valid
    assert casebook_signature.status == SignatureStatus.VOIDED

    _correct_ecog(cast.investigator_nantes, enrolled_subject)
    visit_signature.refresh_from_db()
    assert visit_signature.status == SignatureStatus.VOIDED


def test_the_worklist_holds_casebooks_with_data_at_the_investigators_own_sites_only(
    cast, study, enrolled_subject
):
    from trialdesk.subjects.services import register_screening

    empty = register_screening(
        cast.investigator_nantes,
        enrolled_subject.site,
        screened_on=dt.date(2026, 11, 21),
        today=dt.date(2026, 11, 25),
    )
    items = casebooks_to_sign(cast.investigator_nantes, study)
    assert [item.subject.pk for item in items] == [enrolled_subject.pk]
    assert items[0].reason == "never_signed"
    assert empty.pk not in _subjects_to_sign(cast.investigator_nantes, study)
    assert _subjects_to_sign(cast.investigator_rennes, study) == []
    assert _subjects_to_sign(cast.coordinator_nantes, study) == []


# --------------------------------------------------------------------------- pages


@pytest.fixture
def investigator(client, cast):
    client.force_login(cast.investigator_nantes)
    return client


def test_the_casebook_shows_each_signature_with_name_time_meaning_and_status(
    investigator, cast, enrolled_subject
):
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    page = investigator.get(f"/subjects/{enrolled_subject.pk}/").content.decode()
    assert f'data-signature="{signature.pk}" data-status="valid"' in page
    assert "Inv.Nantes" in page and "I approve the data of this casebook" in page
    assert "signed content unchanged" in page
    assert "signed by Inv.Nantes on" in _status_line(page)
    _correct_ecog(cast.investigator_nantes, enrolled_subject)
    page = investigator.get(f"/subjects/{enrolled_subject.pk}/").content.decode()
    assert f'data-signature="{signature.pk}" data-status="voided"' in page and "Voided" in page
    assert "voided by a later change" in _status_line(page)


def _status_line(page: str) -> str:
    start = page.index('id="fact-signature"')  # the casebook header's signature state
    return page[start : page.index("</dd>", start)]


def test_signing_through_the_page_with_the_right_password(investigator, cast, enrolled_subject):
    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    page = investigator.get(url).content.decode()
    assert "I approve the data of this casebook" in page and 'type="password"' in page
    response = investigator.post(url, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == f"/subjects/{enrolled_subject.pk}/"
    assert Signature.objects.system("test").get().is_valid


def test_signing_through_the_page_with_a_wrong_password_shows_a_message_and_signs_nothing(
    investigator, enrolled_subject
):
    response = investigator.post(
        f"/audit/subjects/{enrolled_subject.pk}/sign/", {"password": "wrong-one-123"}
    )
    assert response.status_code == 400
    assert "The password is not correct" in response.content.decode()
    assert not Signature.objects.system("test").exists()


def test_a_visit_is_signed_through_the_page(investigator, enrolled_subject):
    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    assert "I approve the data of this visit" in investigator.get(url, {"visit": "SCR"}).content.decode()
    investigator.post(url, {"password": PASSWORD, "visit": "SCR"})
    assert Signature.objects.system("test").get().visit.code == "SCR"
    assert investigator.get(url, {"visit": "NOPE"}).status_code == 404


def test_the_sign_page_is_forbidden_to_a_coordinator_and_not_found_for_a_foreign_investigator(
    client, cast, enrolled_subject
):
    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    client.force_login(cast.coordinator_nantes)
    assert client.get(url).status_code == 403
    assert client.post(url, {"password": PASSWORD}).status_code == 403
    client.force_login(cast.investigator_rennes)
    assert client.get(url).status_code == 404
    assert client.post(url, {"password": PASSWORD}).status_code == 404
    assert not Signature.objects.system("test").exists()


def test_the_worklist_page_lists_a_voided_casebook(investigator, cast, enrolled_subject):
    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    assert f'data-subject="{enrolled_subject.pk}"' not in investigator.get("/audit/to-sign/").content.decode()
    _correct_ecog(cast.investigator_nantes, enrolled_subject)
    page = investigator.get("/audit/to-sign/").content.decode()
    assert f'data-subject="{enrolled_subject.pk}" data-reason="voided"' in page


def test_the_chain_stays_intact_through_signing_failing_and_voiding(cast, enrolled_subject):
    with pytest.raises(SignatureRefused):
        sign(cast.investigator_nantes, enrolled_subject, password="nope")
    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    _correct_ecog(cast.investigator_nantes, enrolled_subject)
    sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    verdict = verify()
    assert verdict.intact and verdict.count == AuditEvent.objects.count()


def test_the_sign_page_and_its_refusal_speak_french(investigator, enrolled_subject):
    import html

    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    page = html.unescape(investigator.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode())
    assert "J'approuve les données de ce cahier d'observation" in page
    response = investigator.post(url, {"password": "faux-mot-de-passe"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Le mot de passe est incorrect : rien n'a été signé." in html.unescape(response.content.decode())
