"""The dashboards of the demo trial: each viewer's scope, the SVG documents, French, the cache."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import formats, translation
from lxml import etree

from trialdesk.dashboards import charts, services
from trialdesk.datacut import trial_today

PAGE = "/studies/NCT00724360/dashboards/"
SVG = "{http://www.w3.org/2000/svg}"


def user(username: str):
    return get_user_model().objects.get(username=username)


def _labels(data) -> set[tuple[str, str]]:
    rows = [*data.waterfall, *data.swimmer, *data.her2, *data.lvef]
    return {(r.label, r.site) for r in rows}


def _chart_urls(content: bytes) -> list[str]:
    return [
        PAGE + src.replace("&amp;", "&") for src in re.findall(r'src="(chart\.svg\?[^"]+)"', content.decode())
    ]


def test_a_nantes_investigators_dashboard_holds_only_nantes_subjects(demo_study):
    data, _key = services.dashboard(user("investigator.nantes"), demo_study)
    assert data.site_codes == ("NTE",)
    labels = _labels(data)
    assert labels and {site for _label, site in labels} == {"NTE"}
    assert [s.code for s in data.enrollment.sites] == ["NTE"]
    # one site's view: no trial-wide plan or forecast
    assert not data.enrollment.whole_study and data.enrollment.forecast is None


def test_the_sponsor_sees_every_site_and_the_target_reached(demo_study):
    data, _key = services.dashboard(user("sponsor"), demo_study)
    assert len(data.site_codes) == demo_study.sites.count()
    assert data.enrollment.whole_study and data.enrollment.enrolled == data.enrollment.target.count
    assert data.enrollment.target_reached_on is not None
    assert len(data.swimmer) == data.treated


def test_no_page_or_chart_of_a_nantes_investigator_names_a_subject_of_another_site(client, demo_study):
    everyone, _key = services.dashboard(user("sponsor"), demo_study)
    foreign = {label for label, site in _labels(everyone) if site != "NTE"}
    own = {label for label, site in _labels(everyone) if site == "NTE"}
    assert foreign and own
    client.force_login(user("investigator.nantes"))
    page = client.get(PAGE)
    bodies = [page.content.decode()] + [client.get(url).content.decode() for url in _chart_urls(page.content)]
    assert not [label for label in foreign for body in bodies if label in body]
    assert all(label in bodies[0] for label in own)  # the tables behind the charts name them


def test_every_chart_is_a_well_formed_svg_with_its_title_and_description(client, demo_study):
    client.force_login(user("sponsor"))
    page = client.get(PAGE)
    urls = _chart_urls(page.content)
    assert len(urls) == len(charts.CHART_NAMES)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("image/svg+xml")
        root = etree.fromstring(response.content)
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        title, desc = root.find(f"{SVG}title").text, root.find(f"{SVG}desc").text
        name = re.search(r"name=(\w+)", url).group(1)
        with translation.override("en"):
            data, _key = services.dashboard(user("sponsor"), demo_study)
            assert title == charts.chart_title(name, data)
        assert desc and f'<h2 id="title-{name}">{title}</h2>' in page.content.decode()
        assert root.findall(f".//{SVG}text"), "the chart's words stay text"


def test_each_chart_has_a_caption_and_the_table_of_its_numbers(client, demo_study):
    client.force_login(user("sponsor"))
    body = client.get(PAGE).content.decode()
    for name in charts.CHART_NAMES:
        section = body.split(f'id="chart-{name}"')[1].split("</section>")[0]
        assert "<figcaption>" in section and "<img" in section and ' alt="' in section
        assert f'<table class="grid" data-chart="{name}">' in section


def test_the_waterfall_table_gives_each_best_change_as_the_chart_draws_it(client, demo_study):
    data, _key = services.dashboard(user("sponsor"), demo_study)
    client.force_login(user("sponsor"))
    body = client.get(PAGE).content.decode()
    table = body.split('data-chart="waterfall"')[1].split("</table>")[0]
    for bar in data.waterfall:
        row = table.split(f"<td>{bar.label}</td>")[1].split("</tr>")[0]
        shown = f"{bar.change_pct:+.1f} %" if bar.change_pct > 0 else f"{bar.change_pct:.1f} %"
        assert shown in row


def test_the_french_dashboard_has_french_titles_captions_axes_and_dates(client, demo_study):
    from django.utils.html import escape

    data, _key = services.dashboard(user("sponsor"), demo_study)
    client.force_login(user("sponsor"))
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="fr")
    body = page.content.decode()
    with translation.override("fr"):
        french = {name: charts.chart_title(name, data) for name in charts.CHART_NAMES}
        today = formats.date_format(trial_today(), "DATE_FORMAT")  # "2 décembre 2026"
    with translation.override("en"):
        english = {name: charts.chart_title(name, data) for name in charts.CHART_NAMES}
    for name in charts.CHART_NAMES:
        assert french[name] != english[name]
        assert f'<h2 id="title-{name}">{escape(french[name])}</h2>' in body
    assert "Les chiffres de « " in body and today in body and "patients inclus au" in body
    swimmer = next(u for u in _chart_urls(page.content) if "name=swimmer" in u)
    svg = client.get(swimmer, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Mois depuis la première dose" in svg and "Months from the first dose" not in svg
    assert etree.fromstring(svg.encode()).find(f"{SVG}title").text == french["swimmer"]


def test_the_statistician_reads_a_pseudonymised_dashboard(client, demo_study):
    data, _key = services.dashboard(user("statistician"), demo_study)
    assert data.pseudonymised
    client.force_login(user("statistician"))
    assert b'id="pseudonymised"' in client.get(PAGE).content


def test_a_second_look_comes_from_the_cache_and_a_write_refreshes_it(
    demo_study, django_assert_max_num_queries
):
    sponsor = user("sponsor")
    _data, key = services.dashboard(sponsor, demo_study)
    with django_assert_max_num_queries(6):  # the access, the sites, the audit head: no snapshot rebuilt
        _again, same = services.dashboard(sponsor, demo_study)
    assert same == key
    from trialdesk.audit.services import Actor
    from trialdesk.studies.models import OperationalStatus
    from trialdesk.studies.services import change_status

    change_status(
        demo_study,
        OperationalStatus.RECRUITING,
        effective_on=trial_today(),
        reason="reopened",
        actor=Actor.system("t"),
    )
    _fresh, newer = services.dashboard(sponsor, demo_study)
    assert newer != key


def test_two_viewers_of_the_same_scope_share_one_cached_dashboard(demo_study):
    from trialdesk.studies.models import Membership, Role

    other = get_user_model().objects.create_user("sponsor.two", password="x-long-password-42")
    Membership.objects.create(user=other, study=demo_study, role=Role.SPONSOR_ADMIN, site=None)
    assert services.dashboard(other, demo_study)[1] == services.dashboard(user("sponsor"), demo_study)[1]
    assert (
        services.dashboard(user("investigator.nantes"), demo_study)[1]
        != services.dashboard(user("investigator.rennes"), demo_study)[1]
    )


@pytest.mark.parametrize("username", ["investigator.nantes", "monitor", "statistician"])
def test_every_reader_gets_every_chart_without_error(client, demo_study, username):
    client.force_login(user(username))
    page = client.get(PAGE)
    assert page.status_code == 200
    for url in _chart_urls(page.content):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_dashboard_shows_no_raw_code(client, demo_study, language):
    from tests.web.test_no_raw_codes import WORD, _VisibleText, forbidden_words

    client.force_login(user("sponsor"))
    parser = _VisibleText()
    parser.feed(client.get(PAGE, HTTP_ACCEPT_LANGUAGE=language).content.decode())
    text = " ".join(parser.parts)
    assert not {word for word in WORD.findall(text) if word in forbidden_words(demo_study.protocol, language)}
    assert not {"True", "False", "None"} & set(WORD.findall(text))
