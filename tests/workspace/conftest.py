"""Fixtures of the role homes: a signed-in client per role, the home's counts read from the page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.conftest import PASSWORD

#: the day the enrolled subject's first infusion is planned (tests.conftest: enrolled 2026-11-24,
#: day 0 planned on the enrollment day), 10:00 UTC = 11:00 at Nantes (Europe/Paris)
FIRST_DOSE_DAY = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def as_user(client, cast):
    def sign_in(role: str):
        client.login(username=getattr(cast, role).username, password=PASSWORD)
        return client

    return sign_in


@pytest.fixture
def at(monkeypatch):
    """The homes' clock set to a moment (the site's date follows from it)."""

    def set_now(moment: dt.datetime):
        monkeypatch.setattr("trialdesk.workspace.services.now", lambda: moment)

    return set_now


HOME = "/studies/NCT00724360/"


def home(client, **params) -> str:
    response = client.get(HOME, params)
    assert response.status_code == 200
    return response.content.decode()


def count(page: str, line: str, site: str = "NTE") -> str | None:
    """The count a home shows on one line for one site (``*``: all the user's sites), None if absent."""
    match = re.search(rf'data-count="{re.escape(line)}" data-site="{re.escape(site)}">(.*?)</td>', page, re.S)
    if match is None:
        return None
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def link(page: str, line: str, site: str = "NTE") -> str | None:
    match = re.search(
        rf'data-count="{re.escape(line)}" data-site="{re.escape(site)}"><a href="([^"]+)"', page
    )
    return match.group(1).replace("&amp;", "&") if match else None
