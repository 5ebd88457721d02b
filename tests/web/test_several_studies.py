"""One deployment, several studies: the study is in every URL and in the request (DESIGN §1)."""

from __future__ import annotations

import re

import pytest
from tests.conftest import PASSWORD

from trialdesk.protocol import default_protocol_path
from trialdesk.studies.models import Membership, Role
from trialdesk.studies.services import install_study

pytestmark = pytest.mark.django_db
OTHER_NCT = "NCT09999999"


@pytest.fixture
def other_study(tmp_path):
    text = default_protocol_path().read_text(encoding="utf-8").replace("NCT00724360", OTHER_NCT)
    path = tmp_path / f"{OTHER_NCT}.yaml"
    path.write_text(text, encoding="utf-8")
    return install_study(path)


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_a_user_of_two_studies_chooses_one_from_the_list(client, cast, study, other_study):
    Membership.objects.create(user=cast.data_manager, study=other_study, role=Role.DATA_MANAGER)
    _login(client, cast.data_manager)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].endswith("/studies/")
    page = client.get("/studies/").content.decode()
    assert f'data-study="{study.nct_id}"' in page and f'data-study="{OTHER_NCT}"' in page


def test_a_user_of_one_study_goes_straight_to_it(client, cast, study, other_study):
    _login(client, cast.data_manager)
    response = client.get("/studies/")
    assert response.status_code == 302 and response["Location"] == f"/studies/{study.nct_id}/"


def test_each_study_has_its_pages_under_its_own_prefix_and_its_links_keep_it(client, cast, study, other_study):
    Membership.objects.create(user=cast.data_manager, study=other_study, role=Role.DATA_MANAGER)
    _login(client, cast.data_manager)
    page = client.get(f"/studies/{OTHER_NCT}/").content.decode()
    assert OTHER_NCT in page
    links = re.findall(r'href="(/[^"]*)"', page)
    study_links = [link for link in links if not link.startswith(("/static/", "/studies/?", "/studies/\""))]
    assert study_links and all(link.startswith(f"/studies/{OTHER_NCT}/") for link in study_links), study_links
    assert client.get(f"/studies/{OTHER_NCT}/queries/").status_code == 200


def test_a_study_the_user_has_no_role_in_is_not_found(client, cast, study, other_study):
    _login(client, cast.investigator_nantes)
    assert client.get(f"/studies/{study.nct_id}/").status_code == 200
    for path in (f"/studies/{OTHER_NCT}/", f"/studies/{OTHER_NCT}/queries/", "/studies/NCT00000000/"):
        assert client.get(path).status_code == 404, path


def test_a_subject_of_one_study_is_not_found_under_the_other(client, cast, screened_subject, other_study):
    Membership.objects.create(user=cast.investigator_nantes, study=other_study, role=Role.INVESTIGATOR,
                              site=other_study.sites.get(code="NTE"))
    _login(client, cast.investigator_nantes)
    own = f"/studies/{screened_subject.study.nct_id}/subjects/{screened_subject.pk}/"
    assert client.get(own).status_code == 200
    assert client.get(f"/studies/{OTHER_NCT}/subjects/{screened_subject.pk}/").status_code == 404


def test_protocol_install_adds_a_study_once(tmp_path, capsys, study):
    from trialdesk.cli import main
    from trialdesk.studies.models import Study

    text = default_protocol_path().read_text(encoding="utf-8").replace("NCT00724360", OTHER_NCT)
    path = tmp_path / "second.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["protocol", "install", str(path)]) == 0
    assert Study.objects.filter(nct_id=OTHER_NCT).exists()
    assert f"/studies/{OTHER_NCT}/" in capsys.readouterr().out
    assert main(["protocol", "install", str(path)]) == 3
    assert "already installed" in capsys.readouterr().err


def test_an_anonymous_visitor_is_sent_to_sign_in_whether_the_study_exists_or_not(client, study):
    for path in (f"/studies/{study.nct_id}/queries/", "/studies/NCT00000000/queries/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path
