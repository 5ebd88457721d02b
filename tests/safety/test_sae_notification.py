"""A serious adverse event, once saved, e-mails the site's investigators and the study's
safety officers after the save commits: once, and never for a save that rolled back."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import transaction
from tests.safety.conftest import NON_SERIOUS_AE, SERIOUS_AE, report_of

from trialdesk.audit.models import AuditEvent


def test_a_serious_event_emails_the_sites_investigators_and_the_safety_officers_after_commit(
    mailboxes, save_ae, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = save_ae()
        assert mail.outbox == []  # nothing leaves before the save commits
    assert len(callbacks) == 1
    for callback in callbacks:
        callback()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["inv.nantes@hospital.example", "vigilance@sponsor.example"]
    assert "Febrile neutropenia" in message.subject
    assert outcome.record.subject.label in message.body
    assert report_of(outcome).notified_at is not None


def test_the_email_names_no_initials_nor_birth_year(
    mailboxes, save_ae, enrolled_subject, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        save_ae()
    body = mail.outbox[0].body
    assert "1964" not in body
    assert "Événement" in body or "événement" in body  # the French text follows the English


def test_a_second_save_of_the_same_serious_event_sends_nothing_more(
    mailboxes, save_ae, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = save_ae()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_ae(repeat=outcome.record.repeat, grade=4)
    assert callbacks == []
    assert len(mail.outbox) == 1


def test_a_non_serious_event_sends_nothing(mailboxes, save_ae, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = save_ae(NON_SERIOUS_AE)
    assert callbacks == [] and mail.outbox == []
    assert report_of(outcome) is None


def test_an_event_that_becomes_serious_is_notified_then(
    mailboxes, save_ae, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = save_ae(NON_SERIOUS_AE)
    serious = dict(SERIOUS_AE, event_term="Headache", grade=3)
    with django_capture_on_commit_callbacks(execute=True):
        save_ae(serious, repeat=outcome.record.repeat)
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_save_that_rolls_back_sends_nothing_and_leaves_no_report(committed_db, mailboxes, save_ae):
    from trialdesk.safety.models import SaeReport

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with transaction.atomic():
            save_ae()
            raise Undo
    assert mail.outbox == []
    assert not SaeReport.objects.system("tests").exists()


def test_the_report_and_the_notification_are_audited(mailboxes, save_ae, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        save_ae()
    actions = list(AuditEvent.objects.filter(object_type="sae").values_list("action", flat=True))
    assert actions == ["serious_event_reported", "serious_event_notified"]
