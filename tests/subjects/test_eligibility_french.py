"""The eligibility explanations in the user's language: the core's English templates, translated
in the subjects catalogue, with the protocol's French labels; the trail and queries stay English."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.utils import translation
from tests.conftest import PASSWORD

import trialdesk.subjects
from trialdesk.clinical.eligibility import ENGLISH
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.subjects.services import assess, explanation_wording

CATALOGUE = Path(trialdesk.subjects.__file__).parent / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def _entries() -> dict[str, str]:
    text = CATALOGUE.read_text(encoding="utf-8")
    return dict(re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, flags=re.MULTILINE))


@pytest.mark.parametrize("name", sorted(ENGLISH.templates()))
def test_every_template_of_the_explanations_has_its_french_with_the_same_placeholders(name):
    template = ENGLISH.templates()[name]
    french = _entries().get(template)
    assert french, f"no French for {template!r} in {CATALOGUE}"
    assert set(re.findall(r"{(\w+)}", french)) == set(re.findall(r"{(\w+)}", template))


@pytest.mark.django_db
def test_a_french_user_reads_the_explanations_in_french_and_the_system_keeps_english(cast, enrolled_subject):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "ecog": None},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )
    with translation.override("fr"):
        french = assess(enrolled_subject, enrolled_subject.enrolled_on, in_users_language=True)
        wording = explanation_wording()
    english = assess(enrolled_subject, enrolled_subject.enrolled_on)
    [unknown_fr] = [c for c in french.criteria if c.status == "unknown"]
    [unknown_en] = [c for c in english.criteria if c.status == "unknown"]
    assert unknown_en.explanation.endswith(" missing") and "manquant" in unknown_fr.explanation
    assert wording.label_attribute == "label_fr"
    met_fr = " ".join(c.explanation for c in french.criteria if c.status == "met")
    assert "au moins" in met_fr or "au plus" in met_fr or "inférieur" in met_fr


@pytest.mark.django_db
def test_the_eligibility_page_in_french_explains_in_french(client, cast, enrolled_subject):
    client.login(username=cast.coordinator_nantes.username, password=PASSWORD)
    page = html.unescape(
        client.get(
            f"/subjects/{enrolled_subject.pk}/eligibility/", HTTP_ACCEPT_LANGUAGE="fr"
        ).content.decode()
    )
    assert " at least " not in page and " at most " not in page and " below " not in page
    assert "au moins" in page or "au plus" in page or "inférieur à" in page
