"""Form panels: another app's computed box on a form page, re-rendered from the values as typed."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.crf import panels
from trialdesk.crf.panels import FormPanel


@pytest.fixture
def bmi_panel(tmp_path, settings):
    template_dir = tmp_path / "templates"
    (template_dir / "tests").mkdir(parents=True)
    (template_dir / "tests" / "bmi_panel.html").write_text(
        '<p class="bmi">weight read: {{ panel.weight }}</p>'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0].get("DIRS", []), str(template_dir)]}
    ]
    panel = FormPanel(
        key="test-weight",
        order=1,
        template="tests/bmi_panel.html",
        reads=lambda protocol, form: {"weight_kg"} if form.code == "baseline" else set(),
        context=lambda ctx: {"weight": ctx.values.get("weight_kg")} if ctx.values.get("weight_kg") else None,
    )
    panels.register(panel)
    yield panel
    panels._panels.pop(panel.key, None)


@pytest.mark.django_db
def test_a_panel_with_nothing_to_show_keeps_an_empty_place_and_other_forms_have_none(
    enrolled_subject, nurse_client, bmi_panel
):
    html = nurse_client.get(_baseline_url(enrolled_subject)).content.decode()
    assert 'id="panel-test-weight"' in html and "weight read" not in html
    other = nurse_client.get(f"/subjects/{enrolled_subject.pk}/logs/transfusion/new/").content.decode()
    assert "panel-test-weight" not in other


@pytest.fixture
def nurse_client(client, cast):
    client.login(username=cast.coordinator_nantes.username, password=PASSWORD)
    return client


def _baseline_url(subject) -> str:
    return f"/subjects/{subject.pk}/visits/D1/forms/baseline/"


@pytest.mark.django_db
def test_a_panel_shows_on_its_form_and_its_field_asks_for_a_refresh(
    enrolled_subject, nurse_client, bmi_panel
):
    page = nurse_client.get(_baseline_url(enrolled_subject))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="panel-test-weight"' in html
    weight_input = html[html.index('name="weight_kg"') - 20 : html.index('name="weight_kg"') + 400]
    assert "hx-post" in weight_input


@pytest.mark.django_db
def test_the_preview_re_renders_the_panel_from_the_values_as_typed(enrolled_subject, nurse_client, bmi_panel):
    response = nurse_client.post(
        _baseline_url(enrolled_subject),
        {"weight_kg": "71.5", "_preview": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="panel-test-weight"' in html and 'hx-swap-oob="true"' in html
    assert "weight read: 71.5" in html
