"""Every page's breadcrumbs start at the user's home (issue 15): one mechanism, the built-in
``{% crumbs %}`` tag (trialdesk.web.crumbs); no template writes a trail of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from tests.conftest import PASSWORD

import trialdesk

SRC = Path(trialdesk.__file__).parent
STUDY = "/studies/NCT00724360"
HOME_CRUMB = re.compile(rf'<p class="crumbs[^"]*"><a href="{STUDY}/" class="crumb-home">(Home|Accueil)</a>')


def test_no_template_writes_its_own_breadcrumbs():
    own = [
        str(path.relative_to(SRC))
        for path in SRC.glob("*/templates/**/*.html")
        if 'class="crumbs' in path.read_text(encoding="utf-8")
    ]
    assert own == [], f"use {{% crumbs %}}…{{% endcrumbs %}} in {own}"


def test_the_trail_starts_at_home_and_drops_a_leading_separator(study):
    html = Template('{% crumbs "no-print" %} › <a href="/x">NTE</a> › Log{% endcrumbs %}').render(Context({}))
    assert re.fullmatch(
        r'<p class="crumbs no-print"><a href="[^"]*" class="crumb-home">Home</a> › <a href="/x">NTE</a> › Log</p>',
        html,
    ), html


@pytest.fixture
def nantes(client, cast):
    client.login(username="inv.nantes", password=PASSWORD)
    return client


@pytest.mark.parametrize(
    "page",
    [
        lambda s: f"{STUDY}/subjects/{s.pk}/",  # the casebook: it started at "Sites"
        lambda s: f"{STUDY}/sites/NTE/screening/",
        lambda s: f"{STUDY}/subjects/{s.pk}/visits/SCR/forms/screening/",  # started at the site
        lambda s: f"{STUDY}/audit/subjects/{s.pk}/",
        lambda s: f"{STUDY}/queries/",
        lambda s: f"{STUDY}/audit/to-sign/",
    ],
)
def test_a_pages_crumbs_start_at_the_users_home(nantes, screened_subject, page):
    response = nantes.get(page(screened_subject))
    assert response.status_code == 200
    html = response.content.decode()
    assert HOME_CRUMB.search(html), re.findall(r'<p class="crumbs.*?</p>', html, re.S)
    assert "› ›" not in html


def test_the_home_crumb_is_in_french_for_a_french_speaking_user(nantes, screened_subject):
    from django.conf import settings

    nantes.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = nantes.get(f"{STUDY}/subjects/{screened_subject.pk}/").content.decode()
    assert 'class="crumb-home">Accueil</a>' in html
