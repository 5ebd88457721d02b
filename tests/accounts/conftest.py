"""Login hardening is on in these tests (tests/conftest.py turns it off elsewhere)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _login_hardening_on(_login_hardening_off, settings):
    settings.AXES_ENABLED = True
    settings.TRIALDESK_REQUIRE_2FA = True
