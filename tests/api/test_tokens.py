"""API tokens: shown once, stored hashed, refused when expired or revoked, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import TokenError, authenticate, create_token, revoke_token
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, acting_with_token, audited, record, verify

pytestmark = pytest.mark.django_db


def test_a_new_token_is_32_characters_shown_once_and_stored_only_hashed(cast, study):
    made = create_token(cast.data_manager, study)
    assert len(made.raw) == 32
    stored = ApiToken.objects.get(pk=made.token.pk)
    assert made.raw not in (stored.digest, stored.prefix, stored.name)
    assert stored.prefix == made.raw[:6]
    assert stored.study == study


def test_it_authenticates_a_valid_token_as_its_user_for_its_study(cast, study):
    made = create_token(cast.data_manager, study)
    user, token = authenticate(made.raw)
    assert user == cast.data_manager
    assert token.pk == made.token.pk and token.study_id == study.pk
    assert token.last_used_at is not None


@pytest.mark.parametrize("raw", [None, "", "not-a-token", "0" * 31, "0" * 33, "G" * 32, "0" * 32])
def test_it_refuses_a_missing_malformed_or_unknown_token(cast, study, raw):
    create_token(cast.data_manager, study)
    assert authenticate(raw) is None


def test_it_refuses_a_revoked_token(cast, study):
    made = create_token(cast.data_manager, study)
    revoke_token(made.token)
    assert authenticate(made.raw) is None


def test_it_refuses_an_expired_token_from_the_moment_it_expires(cast, study):
    made = create_token(cast.data_manager, study, expires_days=1)
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now() + dt.timedelta(seconds=30))
    assert authenticate(made.raw) is not None
    ApiToken.objects.filter(pk=made.token.pk).update(expires_at=timezone.now())
    assert authenticate(made.raw) is None


def test_it_refuses_the_token_of_a_deactivated_user(cast, study):
    made = create_token(cast.data_manager, study)
    cast.data_manager.is_active = False
    cast.data_manager.save()
    assert authenticate(made.raw) is None


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_it_refuses_an_expiry_outside_one_day_to_ten_years(cast, study, days):
    with pytest.raises(TokenError):
        create_token(cast.data_manager, study, expires_days=days)
    assert not ApiToken.objects.exists()


def test_revoking_twice_is_refused(cast, study):
    made = create_token(cast.data_manager, study)
    revoke_token(made.token)
    with pytest.raises(TokenError, match="already revoked"):
        revoke_token(made.token)


def test_creation_and_revocation_are_in_the_audit_trail(cast, study):
    made = create_token(cast.data_manager, study)
    revoke_token(made.token, reason="laptop lost")
    events = list(AuditEvent.objects.filter(object_type="api_token", object_id=str(made.token.pk)))
    assert [e.action for e in events] == ["api_token_created", "api_token_revoked"]
    assert events[1].reason == "laptop lost"
    assert made.raw not in str([e.new_value for e in events])
    assert verify().intact


def test_a_write_through_a_token_records_the_token_id_and_the_chain_stays_intact(cast, study):
    made = create_token(cast.data_manager, study)
    with acting_with_token(cast.data_manager.pk, made.token.pk):
        actor = Actor.for_user(cast.data_manager, "data_manager")
        other = Actor.for_user(cast.statistician, "statistician")
        with audited():
            record(actor, "test_write", study_id=study.pk, object_type="x", object_id=1)
    assert actor.token_id == made.token.pk
    assert other.token_id is None  # the token is its own user's only
    assert Actor.for_user(cast.data_manager, "data_manager").token_id is None  # outside the block
    event = AuditEvent.objects.get(action="test_write")
    assert event.api_token_id == made.token.pk
    assert verify().intact


def test_the_token_id_is_covered_by_the_mac_and_an_event_without_one_keeps_its_old_mac():
    from trialdesk.audit.chain import MAC_FIELDS, event_mac

    key = b"k" * 32
    old_format = {name: "x" for name in MAC_FIELDS}
    assert event_mac({**old_format, "api_token_id": None}, key) == event_mac(old_format, key)
    assert event_mac({**old_format, "api_token_id": 7}, key) != event_mac(old_format, key)
    assert event_mac({**old_format, "api_token_id": 7}, key) != event_mac(
        {**old_format, "api_token_id": 8}, key
    )
