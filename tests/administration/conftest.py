"""The sponsor administrator signed in (the holder of MANAGE_USERS), and an invitation sent."""

from __future__ import annotations

import re

import pytest
from tests.conftest import PASSWORD

ADMIN = "/administration"


@pytest.fixture
def admin(client, cast):
    client.login(username=cast.sponsor.username, password=PASSWORD)
    return client


def invitation_link(outbox) -> str:
    """The link of the last invitation e-mail, as a path with its query."""
    found = re.search(r"https?://[^/\s]+(/\S+)", outbox[-1].body)
    assert found, outbox[-1].body
    return found.group(1)


@pytest.fixture
def invited(admin, mailoutbox, django_capture_on_commit_callbacks):
    """Camille Martin invited as a coordinator at Nantes; the link of her mail (sent once the
    invitation commits)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            f"{ADMIN}/users/invite/",
            {
                "email": "camille.martin@chu-nantes.example",
                "first_name": "Camille",
                "last_name": "Martin",
                "role": "coordinator",
                "site": "NTE",
            },
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    return invitation_link(mailoutbox)


@pytest.fixture
def client_factory():
    """Another browser: a client of its own session."""
    from django.test import Client

    return Client
