"""`trialdesk token create | list | revoke`: a token printed once, listed without its value, revoked."""

from __future__ import annotations

import json

import pytest

from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import authenticate
from trialdesk.audit.models import AuditEvent
from trialdesk.cli import main

pytestmark = pytest.mark.django_db


def test_create_prints_a_32_character_token_once_that_authenticates(cast, capsys):
    assert main(["token", "create", "datamanager", "--expires", "30"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    raw = out[-1]
    assert len(raw) == 32
    user, token = authenticate(raw)
    assert user == cast.data_manager
    assert (token.expires_at - token.created_at).days == 30
    assert AuditEvent.objects.get(action="api_token_created").username == "cli"


def test_list_never_shows_the_token_and_revoke_stops_it(cast, capsys):
    main(["token", "create", "datamanager", "--json"])
    made = json.loads(capsys.readouterr().out)
    assert main(["token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in listed] == [made["id"]]
    assert made["token"] not in json.dumps(listed)
    assert main(["token", "revoke", str(made["id"]), "--reason", "left the team"]) == 0
    assert authenticate(made["token"]) is None
    assert AuditEvent.objects.get(action="api_token_revoked").reason == "left the team"
    main(["token", "list", "datamanager"])
    assert "revoked" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, names",
    [
        (["token", "create", "nobody"], "USERNAME"),
        (["token", "create", "datamanager", "--expires", "0"], "--expires"),
        (["token", "create", "datamanager", "--expires", "3651"], "--expires"),
        (["token", "create", "datamanager", "--study", "NCT99999999"], "--study"),
        (["token", "revoke", "abc"], "TOKEN_ID"),
        (["token", "revoke", "999"], "TOKEN_ID"),
    ],
)
def test_bad_input_is_one_line_naming_the_argument_and_exit_3(cast, capsys, argv, names):
    assert main(argv) == 3
    err = capsys.readouterr().err.strip()
    assert names in err and len(err.splitlines()) == 1
    assert not ApiToken.objects.exists()


def test_it_refuses_a_token_for_a_user_who_is_not_a_member_of_the_study(cast, capsys):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(username="outsider", password="x")
    assert main(["token", "create", "outsider"]) == 3
    assert "not a member" in capsys.readouterr().err


def test_revoking_a_revoked_token_is_refused(cast, capsys):
    main(["token", "create", "datamanager", "--json"])
    made = json.loads(capsys.readouterr().out)
    main(["token", "revoke", str(made["id"])])
    assert main(["token", "revoke", str(made["id"])]) == 3
    assert "already revoked" in capsys.readouterr().err


def test_a_database_without_trialdesk_tables_is_one_line_and_exit_3():
    from django.db import OperationalError

    from trialdesk.cli.errors import UserError
    from trialdesk.cli.token import _on_a_trialdesk_database

    def reads_a_missing_table(args):
        raise OperationalError("no such table: api_apitoken")

    with pytest.raises(UserError) as refused:
        _on_a_trialdesk_database(reads_a_missing_table)(None)
    assert refused.value.exit_code == 3 and "not a trialdesk database" in str(refused.value)
