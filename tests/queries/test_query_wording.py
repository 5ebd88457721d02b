"""System query texts in the reader's language (queries.wording): the stored English and the
audit trail stay as written; the pages say each kind of system text in the reader's language;
a text stored without its template keeps its English, marked lang="en"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation
from tests.conftest import ELIGIBLE_SCREENING
from tests.queries.conftest import save

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.protocol.crossrecord import _AFTER, AFTER_DEATH
from trialdesk.protocol.formdata import range_code
from trialdesk.queries import wording
from trialdesk.queries.models import MessageKind, Query, QueryMessage
from trialdesk.subjects.consistency import AGE_QUERY, ELIGIBILITY_QUERY_PREFIX, SEX_QUERY
from trialdesk.subjects.services import register_screening


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    settings.TRIALDESK_REQUIRE_2FA = False


def _in(language: str, shown):
    with translation.override(language):
        return shown()


def _summary(query, language):
    query = Query.objects.system("test").select_related("record__subject__study").get(pk=query.pk)
    return _in(language, lambda: wording.of_summary(query, query.record.subject.study.protocol))


def _first_message(query, language):
    query = Query.objects.system("test").select_related("record__subject__study").get(pk=query.pk)
    message = query.messages.get(kind=MessageKind.RAISE)
    return _in(language, lambda: wording.of_message(message, query, query.record.subject.study.protocol))


def _audit_reason(query):
    return AuditEvent.objects.get(action="query_open", object_id=str(query.pk)).reason


def _text(study, code, template, params, form_code="screening", kind=wording.RAISE):
    return wording.SystemText(
        code=code,
        text=wording.english(template, params),
        template=template,
        params=wording.jsonable(params),
        form_code=form_code,
        protocol=study.protocol,
        kind=kind,
    )


# --------------------------------------------------------------------------- edit checks and ranges


def test_a_french_reader_sees_an_edit_check_query_in_the_protocols_french(cast, screening, study):
    check = next(c for c in study.protocol.form("screening").edit_checks if c.code == "SCR-AGE")
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    assert _summary(query, "fr") == wording.Shown(check.message_fr)
    assert _first_message(query, "fr") == wording.Shown(check.message_fr)
    assert _summary(query, "en") == wording.Shown(check.message)
    # the record stays English, as written
    assert query.summary == check.message and query.messages.get().text == check.message


def test_a_french_reader_sees_a_range_query_in_french_and_the_stored_text_stays_english(
    cast, enrolled_subject
):
    marrow = {
        "assessment_date": "2026-12-20",
        "marrow_blasts_pct": 40,
        "circulating_blasts_present": "no",
        "anc": 0.8,
        "platelets": 1500,  # expected 2-1000 x10^9/L (the protocol file's operational range)
        "extramedullary_disease": "no",
    }
    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        marrow,
        visit=enrolled_subject.visits.get(code="M1"),
    )
    query = Query.objects.system("test").get(record=outcome.record, check_code=range_code("platelets"))
    english = "1500 10^9/L is outside the expected range (2–1000 10^9/L): please check it."
    reason = _audit_reason(query)
    assert query.summary == english and query.messages.get().text == english
    assert _summary(query, "fr") == wording.Shown(
        "1500 10^9/L est hors de l'intervalle attendu (2–1000 10^9/L) : vérifiez-le."
    )
    assert _summary(query, "en") == wording.Shown(english)
    assert _audit_reason(query) == reason and "RANGE.platelets" in reason


def test_the_query_page_shows_the_french_text_without_marking_it_english(cast, enrolled_subject, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    client = Client()
    client.force_login(cast.monitor)
    html = client.get(f"/queries/{query.pk}/", headers={"accept-language": "fr"}).content.decode()
    assert "<p>Âge inférieur à 15 ans dans un essai adulte ; merci de vérifier.</p>" in html
    listing = client.get("/queries/?view=all", headers={"accept-language": "fr"}).content.decode()
    assert "<span>Âge inférieur à 15 ans dans un essai adulte ; merci de vérifier.</span>" in listing


# --------------------------------------------------------------------------- the fallback


def test_a_system_query_stored_without_its_template_keeps_its_english_marked_lang_en(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    # a query of another rule, stored before templates were kept: English text, no template
    Query.objects.system("test").filter(pk=query.pk).update(
        check_code="screening-window", summary="The first dose was given outside the window."
    )
    QueryMessage.objects.system("test").filter(query=query).update(
        text="The first dose was given outside the window."
    )
    assert _summary(query, "fr") == wording.Shown("The first dose was given outside the window.", "en")
    assert _first_message(query, "fr").lang == "en"
    client = Client()
    client.force_login(cast.monitor)
    html = client.get(f"/queries/{query.pk}/", headers={"accept-language": "fr"}).content.decode()
    assert '<p lang="en">The first dose was given outside the window.</p>' in html


def test_an_edit_check_text_that_is_no_longer_the_protocols_is_shown_as_stored(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    Query.objects.system("test").filter(pk=query.pk).update(summary="Age under 16 in an adult trial.")
    assert _summary(query, "fr") == wording.Shown("Age under 16 in an adult trial.", "en")


def test_a_persons_words_are_shown_as_typed(cast, screening):
    from trialdesk.queries import services

    query = services.raise_query(cast.monitor, screening, "ecog", "The clinic letter says ECOG 2.")
    assert _summary(query, "fr") == wording.Shown("The clinic letter says ECOG 2.")
    assert _first_message(query, "fr") == wording.Shown("The clinic letter says ECOG 2.")


# --------------------------------------------------------------------------- death rules, templates


def test_a_death_rule_text_is_shown_in_french(study):
    text = _text(study, AFTER_DEATH, _AFTER, {"date": "2026-12-20", "died_on": "2026-12-01"}, "adverse_event")
    assert text.text == "This record is dated 2026-12-20, after the death of the patient on 2026-12-01."
    with translation.override("fr"):
        assert (
            wording.render(text)
            == "Cette fiche est datée du 2026-12-20, après le décès du patient le 2026-12-01."
        )


def test_a_part_of_a_text_is_translated_with_it(study):
    from trialdesk.subjects.consistency import T_BORN

    born = wording.part(T_BORN, year=1975, younger=50, older=51)
    assert wording.english("%(episode)s", {"episode": born}) == "born in 1975: 50 or 51 years"
    with translation.override("fr"):
        assert wording.fill("%(episode)s", {"episode": born}) == "né(e) en 1975 : 50 ou 51 ans"


def test_a_renderer_is_found_by_its_code_or_the_longest_prefix():
    wording.register("test-prefix:", lambda text: "short")
    wording.register("test-prefix:long:", lambda text: "long")
    try:
        assert wording.renderer("test-prefix:long:X")(None) == "long"
        assert wording.renderer("test-prefix:other")(None) == "short"
        assert wording.renderer("test-other") is None
    finally:
        wording._renderers.pop("test-prefix:")
        wording._renderers.pop("test-prefix:long:")


# --------------------------------------------------------------------------- the apps' rules


def test_a_late_dose_query_is_shown_in_french(study):
    from trialdesk.clinical.dosing import classify_interval
    from trialdesk.treatment.services import Q_LATE, T_LATE, dose_rules

    rules = dose_rules(study.protocol)
    late_on = dt.date(2026, 12, 1) + dt.timedelta(days=rules.timing.late_after_days + 1)
    interval = classify_interval(dt.date(2026, 12, 1), late_on, rules)
    assert interval.status == "late"
    text = _text(
        study, Q_LATE, T_LATE, {"explanation": wording.from_message(interval.explanation)}, "infusion"
    )
    assert text.text == f"Late dose: {interval.explanation}."  # the English as stored before
    with translation.override("fr"):
        french = wording.render(text)
    assert french.startswith("Dose en retard : ") and "days" not in french and "jours" in french


def test_a_dose_deviation_query_is_shown_in_french(study):
    from trialdesk.treatment.services import Q_DEVIATION, T_DEVIATION

    params = {"given": "300", "prescribed": "260", "difference": "+15.4", "threshold": "10"}
    text = _text(study, Q_DEVIATION, T_DEVIATION, params, "infusion")
    assert text.text == (
        "Dose deviation: 300 mg given for 260 mg prescribed (+15.4 %): more than 10 % away, a dose deviation."
    )
    with translation.override("fr"):
        assert wording.render(text) == (
            "Écart de dose : 300 mg administrés pour 260 mg prescrits (+15.4 %) : plus de 10 % d’écart, "
            "un écart de dose."
        )


def test_a_dose_given_on_a_cardiac_hold_is_said_again_from_the_holds_numbers(study):
    from trialdesk.treatment.services import Q_HOLD, T_HOLD

    # LVEF 60 % at baseline, 42 % now: a drop of 18 points, at least 16 (DESIGN §4)
    params = {
        "since": "2026-11-30",
        "hold": "LVEF 42 %: an absolute drop of 18 points from 60 % (16 points or more)",
        "criterion": "drop",
        "baseline": 60.0,
        "value": 42.0,
        "drop": 18.0,
    }
    text = _text(study, Q_HOLD, T_HOLD, params, "infusion")
    assert text.text.startswith("Dose given during a cardiac hold (since 2026-11-30): LVEF 42 %")
    with translation.override("fr"):
        french = wording.render(text)
    assert french.startswith(
        "Dose administrée pendant une suspension pour toxicité cardiaque (depuis le 30/11/2026)"
    )
    assert "18" in french and "60" in french and "drop" not in french


def test_a_discordance_query_is_shown_in_french(study):
    from trialdesk.assessments.services import DISCORDANCE_QUERY, T_DISCORDANCE

    params = {
        "investigator": "Partial response (PR)",
        "derived": "No response: Marrow blasts 40 %, no decrease from 40 % at baseline",
        "category": "PR",
        "headline": ["head_NR", {}],
        "reasons": [["pr_no_decrease", {"blasts": "40 %", "baseline": "40 %"}]],
    }
    text = _text(study, DISCORDANCE_QUERY, T_DISCORDANCE, params, "marrow_assessment")
    assert text.text.startswith("The investigator's assessment (Partial response (PR)) differs")
    with translation.override("fr"):
        french = wording.render(text)
    assert french.startswith("L’évaluation de l’investigateur (Réponse partielle")
    assert "marrow" not in french and "Please" not in french


def test_a_criterion_no_longer_met_after_enrollment_is_shown_in_french(cast, enrolled_subject, study):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "ecog": 3},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )
    query = Query.objects.system("test").get(record=record, check_code__startswith=ELIGIBILITY_QUERY_PREFIX)
    code = query.check_code[len(ELIGIBILITY_QUERY_PREFIX) :]
    criterion = next(c for c in study.protocol.eligibility.criteria if c.code == code)
    english = query.summary
    assert english.startswith(f"After enrollment, criterion {code} ({criterion.text}) is no longer met: ")
    french = _summary(query, "fr")
    assert french.lang == "" and french.text.startswith(
        f"Après l’inclusion, le critère {code} ({criterion.applied_as_fr})"
    )
    stored = query.messages.get().text
    assert stored.startswith(english) and _first_message(query, "en") == wording.Shown(stored)
    assert _first_message(query, "fr").text.startswith("Après l’inclusion")


def _episode(cast, site, **identity):
    return register_screening(
        cast.investigator_nantes,
        site,
        screened_on=dt.date(2026, 11, 20),
        today=dt.date(2026, 11, 25),
        **identity,
    )


def test_a_sex_or_age_unlike_the_episodes_is_shown_in_french(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1975)
    save_form(
        cast.investigator_nantes,
        subject,
        "screening",
        dict(ELIGIBLE_SCREENING, sex="female", age_years=30),
        visit=subject.visits.get(),
    )
    sex = Query.objects.system("test").get(record__subject=subject, check_code=SEX_QUERY)
    age = Query.objects.system("test").get(record__subject=subject, check_code=AGE_QUERY)
    assert "(Female) differs from the screening episode (Male)" in sex.summary
    assert "(30 years) differs from the screening episode (born in 1975: 50 or 51 years)" in age.summary
    french_sex, french_age = _summary(sex, "fr"), _summary(age, "fr")
    assert "diffère de l’épisode de sélection" in french_sex.text and french_sex.lang == ""
    assert "Female" not in french_sex.text and "Male" not in french_sex.text
    assert "(30 ans) diffère de l’épisode de sélection (né(e) en 1975 : 50 ou 51 ans)" in french_age.text


# --------------------------------------------------------------------------- the system's closing messages


def test_a_query_the_correction_resolves_closes_with_a_message_in_the_readers_language(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    save(cast.investigator_nantes, record, age_years=62)
    closing = query.messages.get(kind=MessageKind.CLOSE)
    username = cast.investigator_nantes.username
    assert closing.text == (
        f"Closed automatically: the change by {username} (version 3) resolves the edit check SCR-AGE."
    )
    query.refresh_from_db()
    with translation.override("fr"):
        shown = wording.of_message(closing, query, record.subject.study.protocol)
    assert shown == wording.Shown(
        f"Clôturée automatiquement : la modification par {username} (version 3) résout le contrôle "
        "de cohérence SCR-AGE."
    )


def test_a_closing_message_of_an_apps_rule_says_its_reason_in_the_readers_language(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1964)
    first = save_form(
        cast.investigator_nantes,
        subject,
        "screening",
        dict(ELIGIBLE_SCREENING, sex="female"),
        visit=subject.visits.get(),
    ).record
    save(cast.investigator_nantes, first, sex="male")
    query = Query.objects.system("test").get(record__subject=subject, check_code=SEX_QUERY)
    closing = query.messages.get(kind=MessageKind.CLOSE)
    assert closing.text.startswith("Closed automatically: the sex on this form now agrees")
    with translation.override("fr"):
        shown = wording.of_message(closing, query, subject.study.protocol)
    assert shown.lang == "" and shown.text.startswith("Clôturée automatiquement : le sexe sur ce formulaire")


def test_an_apps_rule_is_named_in_the_readers_language_and_an_edit_check_by_its_code():
    from trialdesk.queries.templatetags.trialdesk_queries import check_name

    with translation.override("fr"):
        assert wording.rule_name("DOSE-LATE") == "Dose en retard"
        assert wording.rule_name(f"{ELIGIBILITY_QUERY_PREFIX}I3") == "Éligibilité modifiée après l'inclusion"
        assert check_name("response-discordance") == "Évaluation de l’investigateur et réponse dérivée"
        assert check_name(range_code("platelets")) == "Intervalle physiologique"
        assert wording.rule_name("SCR-AGE") is None and check_name("SCR-AGE") == "SCR-AGE"
    assert wording.rule_name("DOSE-LATE") == "Late dose"


def _answered_by_a_change(cast, screening):
    from trialdesk.queries import services

    query = services.raise_query(cast.monitor, screening, "ecog", "ECOG is 2 in the clinic letter.")
    save(cast.investigator_nantes, screening, reason=("query_response", query.label), ecog=2)
    return query


def test_a_change_made_in_response_reads_with_labels_in_the_readers_language(cast, screening):
    query = _answered_by_a_change(cast, screening)
    record = screening
    answer = query.messages.get(kind=MessageKind.ANSWER)
    assert answer.author_id == cast.investigator_nantes.pk
    assert answer.text == "Data changed in response (version 2): ecog: 1 → 2"  # as stored, codes and all
    query.refresh_from_db()
    with translation.override("fr"):
        shown = wording.of_message(answer, query, record.subject.study.protocol)
    assert shown.lang == "" and shown.text.startswith("Données modifiées en réponse (version 2) : ")
    assert "ecog" not in shown.text and "→" in shown.text


def test_a_pseudonymised_reader_gets_no_template_nor_parameters_of_a_masked_text(cast, screening, study):
    query = _answered_by_a_change(cast, screening)
    seen = QueryMessage.objects.for_user(cast.statistician, study).get(query=query, kind=MessageKind.ANSWER)
    assert seen.template is None and seen.params is None
    assert QueryMessage.objects.system("test").get(pk=seen.pk).params is not None
