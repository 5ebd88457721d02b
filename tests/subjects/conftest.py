from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_language_left_active():
    """A page asked in French leaves French active in the thread (LocaleMiddleware): every
    test of the package starts and ends in the default language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()
