"""The user's API tokens page: every member of the study reaches their own tokens only; a
token is shown once; revoking works on one's own tokens only."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import authenticate, create_token
from trialdesk.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/studies/NCT00724360/account/api-tokens/"
REVOKE = URL + "revoke/"

# role of the cast -> reaches the page (every role of the study: a token carries the user's own rights)
MATRIX = {
    "investigator_nantes": 200,
    "investigator_rennes": 200,
    "coordinator_nantes": 200,
    "monitor": 200,
    "data_manager": 200,
    "statistician": 200,
    "sponsor": 200,
    "safety_officer": 200,
}


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_access_matrix_of_the_token_page(client, cast, study, role):
    user = getattr(cast, role)
    other = cast.sponsor if role != "sponsor" else cast.monitor
    theirs = create_token(other, study)
    page = _login(client, user).get(URL)
    assert page.status_code == MATRIX[role]
    assert theirs.token.prefix not in page.content.decode()
    assert 'id="api-tokens-link"' in page.content.decode()
    # another user's token cannot be revoked from here, and says nothing about it
    assert client.post(REVOKE, {"token": theirs.token.pk}).status_code == 404
    assert authenticate(theirs.raw) is not None


def test_a_user_without_a_role_in_the_study_does_not_find_the_page(client, study, cast):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="outsider", password=PASSWORD)
    assert client.login(username="outsider", password=PASSWORD)
    assert client.get(URL).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, study):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_token_made_on_the_page_is_shown_once_and_works(client, cast, study):
    c = _login(client, cast.data_manager)
    posted = c.post(URL, {"name": "nightly export", "expires_days": "30"})
    assert posted.status_code == 302  # to the page, where a reload makes no second token
    made = c.get(URL)
    assert "no-store" in made.get("Cache-Control", "") or "max-age=0" in made.get("Cache-Control", "")
    token = ApiToken.objects.get(user=cast.data_manager)
    html = made.content.decode()
    start = html.index('id="new-token-value">') + len('id="new-token-value">')
    raw = html[start : start + 32]
    assert authenticate(raw)[1] == token
    assert token.name == "nightly export"
    again = c.get(URL).content.decode()
    assert raw not in again and token.prefix in again
    event = AuditEvent.objects.get(action="api_token_created")
    assert event.username == "datamanager" and raw not in str(event.new_value)


@pytest.mark.parametrize("days", ["0", "3651", "abc"])
def test_it_refuses_an_expiry_outside_its_range_and_makes_nothing(client, cast, study, days):
    response = _login(client, cast.data_manager).post(URL, {"expires_days": days})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_from_the_page_stops_the_token_and_is_audited(client, cast, study):
    made = create_token(cast.monitor, study)
    c = _login(client, cast.monitor)
    response = c.post(REVOKE, {"token": made.token.pk}, follow=True)
    assert response.status_code == 200
    assert authenticate(made.raw) is None
    assert AuditEvent.objects.filter(action="api_token_revoked", username="monitor").exists()
    assert c.post(REVOKE, {"token": "x"}).status_code == 404


def test_the_page_is_in_french(client, cast, study):
    page = _login(client, cast.monitor).get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Jetons d’API" in page and "Créer un jeton" in page
