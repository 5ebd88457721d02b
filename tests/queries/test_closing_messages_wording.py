"""The system's closing messages in the reader's language (queries.wording, issue 15): the
re-run checks of other records, the dosing rules, the facts that answer a query and the
fatal-event rule keep their template and parameters beside the English they store."""

from __future__ import annotations

from django.utils import translation

from trialdesk.protocol.crossrecord import DEATH_MISMATCH
from trialdesk.queries import services, wording


def _closing(study, code, text, template, params, form_code="infusion"):
    return wording.SystemText(
        code=code,
        text=text,
        template=template,
        params=wording.jsonable(params),
        form_code=form_code,
        protocol=study.protocol,
        kind="close",
    )


def _french(text) -> str:
    with translation.override("fr"):
        return wording.render(text)


def _elsewhere(**record):
    return {**record, "user": "investigator.nantes", "version": 4}


def test_a_check_closed_by_a_change_of_an_earlier_log_entry_names_it_by_its_french_title(study):
    params = _elsewhere(
        record="NTE-S01 log #2 infusion", subject="NTE-S01", visit="", form="infusion", repeat=2
    )
    params["check"] = "INF-WEIGHT"
    stored = (
        "Closed automatically: NTE-S01 log #2 infusion changed by investigator.nantes (version 4) "
        "resolves the edit check INF-WEIGHT."
    )
    assert wording.english(services.T_CLOSED_BY_CHANGE_ELSEWHERE, params) == stored
    text = _closing(study, "INF-WEIGHT", stored, services.T_CLOSED_BY_CHANGE_ELSEWHERE, params)
    title_fr = study.protocol.form("infusion").title_fr
    assert _french(text) == (
        f"Clôturée automatiquement : la modification de NTE-S01 {title_fr} nº 2 par investigator.nantes "
        "(version 4) résout le contrôle de cohérence INF-WEIGHT."
    )
    with translation.override("en"):  # the form by its title, not its code
        assert f"NTE-S01 {study.protocol.form('infusion').title} #2 changed by" in wording.render(text)


def test_a_record_at_a_visit_is_named_by_its_visit_and_its_forms_title(study):
    visit = next(v for v in study.protocol.schedule.expanded_visits() if "marrow_assessment" in v.forms)
    params = _elsewhere(
        record=f"NTE-S01 {visit.code} marrow_assessment",
        subject="NTE-S01",
        visit=visit.code,
        form="marrow_assessment",
        repeat=1,
        check="MAR-X",
    )
    text = _closing(study, "MAR-X", "…", services.T_CLOSED_BY_CHANGE_ELSEWHERE, params, "marrow_assessment")
    french = _french(text)
    assert f"NTE-S01 {visit.code} {study.protocol.form('marrow_assessment').title_fr} par" in french
    assert "marrow_assessment" not in french and " log " not in french


def test_a_death_rule_closed_by_a_change_elsewhere_is_named_by_its_french_name(study):
    params = _elsewhere(
        record="NTE-S01 log #1 adverse_event", subject="NTE-S01", visit="", form="adverse_event", repeat=1
    )
    params["check"] = services._rule_name(DEATH_MISMATCH)
    text = _closing(
        study, DEATH_MISMATCH, "…", services.T_CLOSED_BY_CHANGE_ELSEWHERE_RULE, params, "end_of_study"
    )
    with translation.override("en"):
        assert "resolves the rule Same date of death on every form." in wording.render(text)
    french = _french(text)
    assert french.startswith("Clôturée automatiquement : la modification de NTE-S01 ")
    assert "règle « " in french and "Same date" not in french and DEATH_MISMATCH not in french


def test_a_fact_that_answers_a_query_closes_it_with_a_reason_in_the_readers_language(study):
    from trialdesk.treatment.services import T_VALIDATED_FROM_WEIGHT_ON

    because = wording.part(T_VALIDATED_FROM_WEIGHT_ON, who="Dr Anne Martin", weight="77.1", on="2026-11-30")
    text, template, params = services.closed_because(because)
    assert text == (
        "Closed automatically: Dr Anne Martin validated the dose computed from this weight (77.1 kg) on 2026-11-30."
    )
    assert _french(_closing(study, "INF-WEIGHT", text, template, params)) == (
        "Clôturée automatiquement : Dr Anne Martin a validé la dose calculée à partir de ce poids (77.1 kg) "
        "le 2026-11-30."
    )


def test_an_unknown_validator_is_an_investigator_in_the_readers_language(study):
    from trialdesk.treatment.services import T_VALIDATED_FROM_WEIGHT, _who

    text, template, params = services.closed_because(
        wording.part(T_VALIDATED_FROM_WEIGHT, who=_who(None), weight="70")
    )
    assert text.endswith("an investigator validated the dose computed from this weight (70 kg).")
    assert "un investigateur a validé" in _french(_closing(study, "INF-WEIGHT", text, template, params))


def test_an_english_reason_without_a_template_is_stored_and_shown_as_before(study):
    text, template, params = services.closed_because("the weight was confirmed.")
    assert (text, template, params) == ("Closed automatically: the weight was confirmed.", None, None)
    shown = wording.shown(_closing(study, "INF-WEIGHT", text, "", None))
    assert shown == wording.Shown(text, "en")


def test_a_dosing_rule_that_holds_again_closes_its_query_naming_the_rule_in_french(study):
    from trialdesk.treatment.services import Q_LATE, RULE_NAMES, T_DOSING_RULE_HOLDS

    because = wording.part(
        T_DOSING_RULE_HOLDS, rule=wording.part(RULE_NAMES[Q_LATE]), user="coordinator.nantes", version=3
    )
    _text, template, params = services.closed_because(because)
    french = _french(_closing(study, Q_LATE, "…", template, params))
    assert french == (
        "Clôturée automatiquement : la règle de dosage « Dose en retard » est respectée après la "
        "modification par coordinator.nantes (version 3)."
    )


def test_a_fatal_event_that_agrees_with_the_death_closes_its_query_in_french(study):
    from trialdesk.safety.services import FATAL_CHECK, T_FATAL_AGREES

    text, template, params = services.closed_because(T_FATAL_AGREES, T_FATAL_AGREES)
    assert text == "Closed automatically: the event and the recorded death now agree."
    assert _french(_closing(study, FATAL_CHECK, text, template, params, "adverse_event")) == (
        "Clôturée automatiquement : l'événement et le décès enregistré concordent désormais."
    )


def test_a_discordance_that_is_gone_closes_its_query_with_the_derived_response_in_french(study):
    from trialdesk.assessments.services import DISCORDANCE_QUERY, T_AGREES

    params = {
        "derived": "No response: Marrow blasts 40 %, no decrease from 40 % at baseline",
        "headline": ["head_NR", {}],
        "reasons": [["pr_no_decrease", {"blasts": "40 %", "baseline": "40 %"}]],
    }
    text, template, closing = services.closed_because("", T_AGREES, params)
    assert text == (
        "Closed automatically: the investigator's assessment agrees with the derived response "
        "(No response: Marrow blasts 40 %, no decrease from 40 % at baseline)."
    )
    french = _french(_closing(study, DISCORDANCE_QUERY, text, template, closing, "marrow_assessment"))
    assert french.startswith(
        "Clôturée automatiquement : l'évaluation de l'investigateur concorde avec la réponse"
    )
    assert "No response" not in french and "Marrow" not in french
