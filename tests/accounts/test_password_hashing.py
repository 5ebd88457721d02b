"""Passwords: Argon2 hashes, Django's validators, and the demo's --password refused when weak."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from tests.accounts.helpers import post_login, settings_module
from tests.conftest import PASSWORD


def test_a_created_users_password_is_hashed_with_argon2(db, settings, monkeypatch):
    # The autouse fixture switched to MD5 for speed: put the production hashers back.
    settings.PASSWORD_HASHERS = settings_module(monkeypatch)["PASSWORD_HASHERS"]
    user = get_user_model().objects.create_user("new.investigator", password=PASSWORD)
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password(PASSWORD)


def test_an_older_pbkdf2_hash_is_rehashed_with_argon2_at_sign_in(db, settings, monkeypatch, client):
    settings.PASSWORD_HASHERS = settings_module(monkeypatch)["PASSWORD_HASHERS"]
    user = get_user_model().objects.create(
        username="old.account", password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    assert user.password.startswith("pbkdf2_sha256$")
    response = post_login(client, "old.account")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


@pytest.mark.parametrize(
    "weak",
    ["short1", "1234567890123", "password1234", "inv.nantes.2024"],
    ids=["too-short", "numeric", "common", "like-the-username"],
)
def test_a_weak_password_is_refused_by_the_validators(db, weak):
    from django.contrib.auth.password_validation import validate_password

    user = get_user_model()(username="inv.nantes.2024", first_name="Nantes")
    with pytest.raises(ValidationError):
        validate_password(weak, user=user)


def test_a_strong_password_passes_the_validators(db):
    from django.contrib.auth.password_validation import validate_password

    validate_password(PASSWORD, user=get_user_model()(username="inv.nantes"))


def test_the_demo_refuses_a_weak_password_before_building_anything(db, monkeypatch, tmp_path):
    from trialdesk.cli import app
    from trialdesk.cli.errors import UserError
    from trialdesk.demo import builder as demo
    from trialdesk.protocol import default_protocol_path

    monkeypatch.setattr(demo, "build_demo", lambda *a, **k: pytest.fail("built with a weak password"))
    with pytest.raises(UserError, match="too weak"):
        app._build(default_protocol_path(), "12345", seed=1)
