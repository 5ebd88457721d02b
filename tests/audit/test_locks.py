"""Locks at record, subject, site and study level: a locked item cannot change, lock and
unlock are audited, an unlock needs a reason, and only the data manager may do either."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import Locked, save_form
from trialdesk.locks.services import LockRefused, effective_lock, lock, lock_info, unlock

LEVELS = ["record", "subject", "site", "study"]


def _screening(subject) -> FormRecord:
    return FormRecord.objects.system("test").get(subject=subject, form_code="screening")


def _target(level, subject):
    return {
        "record": lambda: _screening(subject),
        "subject": lambda: subject,
        "site": lambda: subject.site,
        "study": lambda: subject.study,
    }[level]()


def _correct(user, subject, ecog):
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


@pytest.mark.parametrize("level", LEVELS)
def test_a_lock_at_each_level_refuses_a_save_and_writes_nothing(cast, enrolled_subject, level):
    lock(cast.data_manager, _target(level, enrolled_subject), reason="database lock for the interim analysis")
    before_record = _screening(enrolled_subject)
    before_events = AuditEvent.objects.count()

    with pytest.raises(Locked):
        _correct(cast.investigator_nantes, enrolled_subject, ecog=2)

    after = _screening(enrolled_subject)
    assert (after.data, after.version) == (before_record.data, before_record.version)
    assert AuditEvent.objects.count() == before_events


@pytest.mark.parametrize("level", ["subject", "site", "study"])
def test_a_lock_above_the_record_also_refuses_a_new_record(cast, enrolled_subject, level):
    lock(cast.data_manager, _target(level, enrolled_subject))
    before_events = AuditEvent.objects.count()
    with pytest.raises(Locked):
        save_form(
            cast.investigator_nantes, enrolled_subject, "concomitant_medication", {"medication": "aspirin"}
        )
    assert not FormRecord.objects.system("test").filter(
        subject=enrolled_subject, form_code="concomitant_medication"
    ).exists()
    assert AuditEvent.objects.count() == before_events


@pytest.mark.parametrize("level", LEVELS)
def test_an_unlock_with_a_reason_lets_data_change_again(cast, enrolled_subject, level):
    target = _target(level, enrolled_subject)
    lock(cast.data_manager, target)
    unlock(cast.data_manager, target, reason="Query on ECOG to resolve before the lock")
    outcome = _correct(cast.investigator_nantes, enrolled_subject, ecog=2)
    assert outcome.record.data["ecog"] == 2


@pytest.mark.parametrize("level", LEVELS)
def test_lock_and_unlock_are_audited_with_who_when_and_why(cast, enrolled_subject, level):
    target = _target(level, enrolled_subject)
    lock(cast.data_manager, target, reason="clean")
    unlock(cast.data_manager, target, reason="late lab result")
    events = list(AuditEvent.objects.filter(action__in=["lock", "unlock"]).order_by("sequence"))
    assert [e.action for e in events] == ["lock", "unlock"]
    locked, unlocked = events
    object_type = {"record": "form_record"}.get(level, level)
    assert all(e.object_type == object_type and e.object_id == str(target.pk) for e in events)
    assert all(
        e.username == "datamanager" and e.role == "data_manager" and e.field == "locked_at" for e in events
    )
    assert locked.old_value is None and locked.new_value is not None and locked.reason == "clean"
    assert unlocked.old_value == locked.new_value and unlocked.new_value is None
    assert unlocked.reason == "late lab result"
    assert (locked.site_code or None) == (None if level == "study" else "NTE")


@pytest.mark.parametrize("level", LEVELS)
def test_an_unlock_without_a_reason_is_refused_and_the_lock_stays(cast, enrolled_subject, level):
    target = _target(level, enrolled_subject)
    lock(cast.data_manager, target)
    before_events = AuditEvent.objects.count()
    for reason in ("", "   "):
        with pytest.raises(LockRefused):
            unlock(cast.data_manager, target, reason=reason)
    target.refresh_from_db()
    assert target.locked_at is not None
    assert AuditEvent.objects.count() == before_events
    with pytest.raises(Locked):
        _correct(cast.investigator_nantes, enrolled_subject, ecog=2)


def test_locking_what_is_locked_or_unlocking_what_is_not_is_refused(cast, enrolled_subject):
    with pytest.raises(LockRefused):
        unlock(cast.data_manager, enrolled_subject, reason="nothing to unlock")
    lock(cast.data_manager, enrolled_subject)
    with pytest.raises(LockRefused):
        lock(cast.data_manager, enrolled_subject)
    assert AuditEvent.objects.filter(action="lock").count() == 1
    assert not AuditEvent.objects.filter(action="unlock").exists()


@pytest.mark.parametrize(
    "who", ["investigator_nantes", "coordinator_nantes", "monitor", "statistician", "sponsor"]
)
@pytest.mark.parametrize("level", LEVELS)
def test_only_the_data_manager_locks(cast, enrolled_subject, who, level):
    target = _target(level, enrolled_subject)
    with pytest.raises(PermissionDenied):
        lock(getattr(cast, who), target)
    target.refresh_from_db()
    assert target.locked_at is None and not AuditEvent.objects.filter(action="lock").exists()


def test_a_user_of_another_site_gets_not_found(cast, enrolled_subject):
    with pytest.raises(Http404):
        lock(cast.investigator_rennes, enrolled_subject)
    with pytest.raises(Http404):
        lock(cast.investigator_rennes, enrolled_subject.site)


def test_lock_info_tells_who_locked_when_and_why_and_which_level_holds(cast, enrolled_subject):
    assert effective_lock(_screening(enrolled_subject)) is None
    lock(cast.data_manager, enrolled_subject.site, reason="site closed")
    info = effective_lock(_screening(enrolled_subject))
    assert (info.level, info.by, info.reason) == ("site", "datamanager", "site closed")
    assert lock_info(enrolled_subject) is None


# --------------------------------------------------------------------------- pages


@pytest.fixture
def data_manager(client, cast):
    client.force_login(cast.data_manager)
    return client


def test_the_data_manager_locks_and_unlocks_a_casebook_from_the_page(data_manager, enrolled_subject):
    url = f"/audit/locks/subject/{enrolled_subject.pk}/"
    casebook = f"/subjects/{enrolled_subject.pk}/"
    response = data_manager.post(url, {"action": "lock", "reason": "clean", "next": casebook})
    assert response.status_code == 302 and response["Location"] == casebook
    enrolled_subject.refresh_from_db()
    assert enrolled_subject.locked_at is not None
    assert "This casebook is locked" in data_manager.get(casebook).content.decode()

    response = data_manager.post(url, {"action": "unlock", "reason": "", "next": casebook}, follow=True)
    assert "Give a reason to unlock" in response.content.decode()
    enrolled_subject.refresh_from_db()
    assert enrolled_subject.locked_at is not None

    data_manager.post(url, {"action": "unlock", "reason": "late result", "next": casebook})
    enrolled_subject.refresh_from_db()
    assert enrolled_subject.locked_at is None


def test_the_form_page_shows_a_record_lock(data_manager, client, cast, enrolled_subject):
    record = _screening(enrolled_subject)
    data_manager.post(f"/audit/locks/record/{record.pk}/", {"action": "lock", "reason": "verified"})
    client.force_login(cast.investigator_nantes)
    page = client.get(f"/subjects/{enrolled_subject.pk}/visits/SCR/forms/screening/").content.decode()
    assert "This form is locked" in page and "verified" in page


def test_the_locks_page_lists_sites_and_locked_casebooks(data_manager, cast, enrolled_subject):
    lock(cast.data_manager, enrolled_subject, reason="clean")
    page = data_manager.get("/audit/locks/").content.decode()
    assert 'data-site="NTE"' in page and 'data-site="RNS"' in page
    assert enrolled_subject.label in page


def test_lock_pages_are_closed_to_other_roles_and_foreign_sites(client, cast, enrolled_subject):
    client.force_login(cast.investigator_nantes)
    assert client.get("/audit/locks/").status_code == 403
    assert client.post(f"/audit/locks/subject/{enrolled_subject.pk}/", {"action": "lock"}).status_code == 403
    client.force_login(cast.investigator_rennes)
    assert client.post(f"/audit/locks/subject/{enrolled_subject.pk}/", {"action": "lock"}).status_code == 404
    assert (
        client.post(f"/audit/locks/site/{enrolled_subject.site_id}/", {"action": "lock"}).status_code == 404
    )
    enrolled_subject.refresh_from_db()
    assert enrolled_subject.locked_at is None


def test_the_chain_stays_intact_through_locks_refusals_and_unlocks(cast, enrolled_subject):
    for level in LEVELS:
        target = _target(level, enrolled_subject)
        lock(cast.data_manager, target, reason="lock")
        with pytest.raises(Locked):
            _correct(cast.investigator_nantes, enrolled_subject, ecog=3)
        unlock(cast.data_manager, target, reason="reopen")
    _correct(cast.investigator_nantes, enrolled_subject, ecog=3)
    verdict = verify()
    assert verdict.intact and verdict.count == AuditEvent.objects.count()
