"""Source data verification: marks by monitors, reset by a later change, progress per site and subject."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from tests.conftest import ELIGIBLE_SCREENING
from tests.queries.conftest import save

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify
from trialdesk.crf.services import save_form
from trialdesk.queries import services
from trialdesk.queries.models import SourceVerification

SCREENING_FIELDS = len(ELIGIBLE_SCREENING)  # every value of the eligible screening form is filled


def _active(record):
    return {m.field_code: m for m in SourceVerification.objects.system("test").filter(record=record, reset_at__isnull=True)}


def test_a_monitor_marks_a_field_verified_and_it_is_audited(cast, screening):
    mark = services.verify_source(cast.monitor, screening, "ecog", expected_version=1)
    assert (mark.field_code, mark.record_version, mark.verified_by) == ("ecog", 1, cast.monitor)
    event = AuditEvent.objects.get(action="sdv_mark")
    assert (event.username, event.role, event.field, event.site_code) == ("monitor", "monitor", "ecog", "NTE")
    assert event.new_value == {"verified_version": 1, "value": 1}


def test_a_whole_form_verified_is_audited_with_its_version_alone(cast, screening):
    services.verify_source(cast.monitor, screening, "", expected_version=1)
    event = AuditEvent.objects.get(action="sdv_mark")
    assert event.field == "" and event.new_value == {"verified_version": 1}  # no empty "value"


def test_changing_the_field_resets_its_mark_and_the_reset_is_audited(cast, screening):
    services.verify_source(cast.monitor, screening, "ecog")
    record = save(cast.investigator_nantes, screening, ecog=2)
    assert _active(record) == {}
    mark = SourceVerification.objects.system("test").get(record=record, field_code="ecog")
    assert (mark.reset_version, mark.reset_at is not None) == (2, True)
    event = AuditEvent.objects.get(action="sdv_reset")
    assert event.field == "ecog" and "inv.nantes" in event.reason and event.username == "system"
    assert verify().intact


def test_changing_another_field_keeps_a_field_mark(cast, screening):
    services.verify_source(cast.monitor, screening, "ecog")
    record = save(cast.investigator_nantes, screening, lvef_pct=55)
    assert set(_active(record)) == {"ecog"}
    assert not AuditEvent.objects.filter(action="sdv_reset").exists()


def test_a_whole_form_mark_is_reset_by_a_change_of_any_field(cast, screening):
    services.verify_source(cast.monitor, screening, "")
    record = save(cast.investigator_nantes, screening, lvef_pct=55)
    assert _active(record) == {}
    assert AuditEvent.objects.get(action="sdv_reset").field == ""


def test_the_field_can_be_verified_again_after_a_reset(cast, screening):
    services.verify_source(cast.monitor, screening, "ecog")
    record = save(cast.investigator_nantes, screening, ecog=2)
    mark = services.verify_source(cast.monitor, record, "ecog", expected_version=2)
    assert mark.record_version == 2 and set(_active(record)) == {"ecog"}


def test_a_second_mark_of_the_same_field_is_refused(cast, screening):
    services.verify_source(cast.monitor, screening, "ecog")
    with pytest.raises(services.SdvRefused):
        services.verify_source(cast.monitor, screening, "ecog")
    assert AuditEvent.objects.filter(action="sdv_mark").count() == 1


def test_verifying_a_version_that_changed_meanwhile_is_refused(cast, screening):
    save(cast.investigator_nantes, screening, ecog=2)
    with pytest.raises(services.SdvRefused):
        services.verify_source(cast.monitor, screening, "ecog", expected_version=1)
    assert not SourceVerification.objects.system("test").exists()


def test_an_unknown_field_is_refused(cast, screening):
    with pytest.raises(services.SdvRefused):
        services.verify_source(cast.monitor, screening, "no_such_field")


@pytest.mark.parametrize(
    "who", ["investigator_nantes", "coordinator_nantes", "data_manager", "statistician", "sponsor"]
)
def test_only_a_monitor_verifies_source(cast, screening, who):
    with pytest.raises(PermissionDenied):
        services.verify_source(getattr(cast, who), screening, "ecog")
    assert not SourceVerification.objects.system("test").exists()


def test_a_rennes_user_cannot_verify_a_nantes_form(cast, screening):
    with pytest.raises(Http404):
        services.verify_source(cast.investigator_rennes, screening, "ecog")


def _second_subject(cast, study):
    from trialdesk.subjects.services import register_screening

    site = study.sites.get(code="NTE")
    subject = register_screening(
        cast.coordinator_nantes, site, screened_on=dt.date(2026, 11, 21), today=dt.date(2026, 11, 25)
    )
    visit = subject.visits.get()
    complete = save_form(cast.coordinator_nantes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=visit)
    incomplete = save_form(cast.coordinator_nantes, subject, "lvef", {"lvef_pct": 60}, visit=visit)
    return subject, complete.record, incomplete.record


def test_sdv_progress_counts_complete_forms_and_their_filled_fields(cast, study, screening):
    subject, complete, incomplete = _second_subject(cast, study)
    assert incomplete.status == "incomplete"
    services.verify_source(cast.monitor, screening, "")  # first subject: whole form
    services.verify_source(cast.monitor, complete, "ecog")  # second subject: two fields
    services.verify_source(cast.monitor, complete, "age_years")
    services.verify_source(cast.monitor, incomplete, "")  # incomplete forms do not count

    by_site = services.sdv_progress_by_site(cast.monitor, study)
    nantes = by_site["NTE"]
    assert (nantes.records, nantes.verified_records) == (2, 1)
    assert (nantes.fields, nantes.verified_fields) == (2 * SCREENING_FIELDS, SCREENING_FIELDS + 2)
    assert nantes.record_percent == 50
    assert by_site["RNS"].records == 0 and by_site["RNS"].record_share is None

    by_subject = services.sdv_progress_by_subject(cast.monitor, study, "NTE")
    first, second = by_subject[screening.subject_id], by_subject[subject.pk]
    assert (first.verified_records, first.verified_fields, first.field_share) == (1, SCREENING_FIELDS, 1.0)
    assert (second.records, second.verified_records, second.verified_fields) == (1, 0, 2)


def test_the_sdv_page_reads_both_tables_in_one_pass_with_the_same_figures(cast, study, screening):
    services.verify_source(cast.monitor, screening, "ecog")
    for site_code in (None, "NTE", "RNS"):
        by_site, by_subject = services.sdv_progress_by_site_and_subject(cast.monitor, study, site_code)
        assert by_site == services.sdv_progress_by_site(cast.monitor, study)
        assert by_subject == services.sdv_progress_by_subject(cast.monitor, study, site_code)
    _by_site, nantes = services.sdv_progress_by_site_and_subject(cast.monitor, study, "NTE")
    assert nantes[screening.subject_id].verified_fields == 1


def test_a_form_whose_fields_are_all_verified_one_by_one_counts_as_verified(cast, study, screening):
    for code in screening.data:
        services.verify_source(cast.monitor, screening, code)
    progress = services.sdv_progress_by_site(cast.monitor, study)["NTE"]
    assert (progress.verified_records, progress.verified_fields) == (1, SCREENING_FIELDS)


def test_a_reset_lowers_the_progress(cast, study, screening):
    services.verify_source(cast.monitor, screening, "")
    save(cast.investigator_nantes, screening, ecog=2)
    progress = services.sdv_progress_by_site(cast.monitor, study)["NTE"]
    assert (progress.verified_records, progress.verified_fields) == (0, 0)


def test_sdv_progress_shows_only_the_users_sites(cast, study, screening):
    services.verify_source(cast.monitor, screening, "")
    assert set(services.sdv_progress_by_site(cast.investigator_rennes, study)) == {"RNS"}
    assert services.sdv_progress_by_subject(cast.investigator_rennes, study) == {}
