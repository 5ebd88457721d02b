"""The investigator's "casebooks to sign" count of one site opens the list of that site (issue
15): the list honours the filter, shows it and lets it be removed."""

from __future__ import annotations

import re

from tests.workspace.conftest import home, link

from trialdesk.studies.models import Membership, Role


def test_a_sites_count_of_casebooks_to_sign_opens_that_sites_list(as_user, cast, study, enrolled_subject):
    # the Nantes investigator signs at Rennes too: two sites, two counts
    Membership.objects.create(
        user=cast.investigator_nantes, study=study, role=Role.INVESTIGATOR, site=study.sites.get(code="RNS")
    )
    client = as_user("investigator_nantes")
    page = home(client)
    nantes, rennes = link(page, "to-sign", "NTE"), link(page, "to-sign", "RNS")
    assert nantes.endswith("/to-sign/?site=NTE") and rennes.endswith("/to-sign/?site=RNS")

    listing = client.get(nantes).content.decode()
    assert f'data-subject="{enrolled_subject.pk}"' in listing
    # the filter is shown (its site selected) and can be removed
    assert re.search(r'<option value="NTE" selected>', listing)
    assert "Clear the filters" in listing

    listing = client.get(rennes).content.decode()
    assert f'data-subject="{enrolled_subject.pk}"' not in listing
    assert "No casebook to sign matches these filters." in listing
    cleared = client.get(link(page, "to-sign", "*")).content.decode()
    assert f'data-subject="{enrolled_subject.pk}"' in cleared and "Clear the filters" not in cleared
