"""The protocol model: the default protocol, its helpers, its invariants."""

from __future__ import annotations

import pydantic
import pytest

from trialdesk.protocol import (
    EditCheck,
    Field,
    Protocol,
    Site,
    Visit,
    default_protocol_path,
    load_default_protocol,
    load_protocol,
)
from trialdesk.rules import Tri, parse

SCREENING_CODES = {
    "age_years",
    "sex",
    "diagnosis",
    "disease_status",
    "ecog",
    "ast",
    "ast_uln",
    "alt",
    "alt_uln",
    "creatinine",
    "creatinine_uln",
    "marrow_blasts_pct",
    "her2_positive_blasts_pct",
    "prior_trastuzumab",
    "lvef_pct",
}

ELIGIBLE = {
    "age_years": 62,
    "sex": "male",
    "diagnosis": "b_all",
    "disease_status": "relapsed",
    "ecog": 1,
    "ast": 40,
    "ast_uln": 40,
    "alt": 35,
    "alt_uln": 45,
    "creatinine": 80,
    "creatinine_uln": 110,
    "marrow_blasts_pct": 60,
    "her2_positive_blasts_pct": 45,
    "prior_trastuzumab": False,
    "lvef_pct": 62,
}


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_default_protocol()


def _eligible(protocol: Protocol, **changes) -> dict[str, Tri]:
    values = {**ELIGIBLE, **changes}
    return {c.code: parse(c.rule).evaluate(values) for c in protocol.eligibility.criteria}


def test_the_default_protocol_loads_and_is_cached(protocol):
    assert default_protocol_path().name == "NCT00724360.yaml"
    assert load_default_protocol() is protocol
    assert load_protocol(default_protocol_path()) == protocol
    assert protocol.nct_id == "NCT00724360"


def test_the_screening_form_has_the_field_codes_other_issues_rely_on(protocol):
    screening = protocol.form(protocol.eligibility.form)
    assert screening.code == "screening"
    assert SCREENING_CODES <= set(screening.field_codes)
    assert screening.field("diagnosis").choice_values == ["b_all", "t_all", "other"]
    assert screening.field("disease_status").choice_values == ["relapsed", "refractory", "first_line"]
    assert (screening.field("ecog").min, screening.field("ecog").max) == (0, 4)
    for code in ("ast", "ast_uln", "alt", "alt_uln"):
        assert screening.field(code).unit == "U/L"
    assert screening.field("creatinine").unit == screening.field("creatinine_uln").unit == "µmol/L"
    assert screening.field("prior_trastuzumab").type == "boolean"


def test_a_typical_patient_meets_every_criterion(protocol):
    assert set(_eligible(protocol).values()) == {Tri.TRUE}


@pytest.mark.parametrize(
    "changes, criterion, expected",
    [
        ({"age_years": 18}, "I1", Tri.TRUE),  # D-AGE: 18 Years and older wins over "> 18"
        ({"age_years": 17}, "I1", Tri.FALSE),
        ({"disease_status": "refractory"}, "I2", Tri.TRUE),  # D-RELAPSE: relapsed OR refractory
        ({"disease_status": "first_line"}, "I2", Tri.FALSE),
        ({"diagnosis": "t_all"}, "I2", Tri.FALSE),
        ({"ecog": 2}, "I3", Tri.TRUE),
        ({"ecog": 3}, "I3", Tri.FALSE),
        ({"ast": 200, "alt": 225}, "I4", Tri.TRUE),  # exactly 5 x ULN each
        ({"ast": 201}, "I4", Tri.FALSE),  # D-LIVER: AST AND ALT, each
        ({"alt": 226}, "I4", Tri.FALSE),
        ({"creatinine": 219}, "I5", Tri.TRUE),
        ({"creatinine": 220}, "I5", Tri.FALSE),  # strictly below 2 x ULN
        ({"marrow_blasts_pct": 20}, "I6", Tri.FALSE),  # strictly above 20 %
        ({"her2_positive_blasts_pct": 30}, "I7", Tri.FALSE),  # strictly above 30 %
        ({"prior_trastuzumab": True}, "E1", Tri.FALSE),
        ({"lvef_pct": 50}, "E2", Tri.TRUE),  # D-LVEF: below 50 % excludes
        ({"lvef_pct": 49}, "E2", Tri.FALSE),
        ({"lvef_pct": None}, "E2", Tri.UNKNOWN),  # missing data: not yet assessable
    ],
)
def test_the_criteria_read_the_registry_as_the_decisions_say(protocol, changes, criterion, expected):
    assert _eligible(protocol, **changes)[criterion] is expected


def test_every_form_can_be_filled(protocol):
    reachable = {code for visit in protocol.schedule.visits for code in visit.forms} | set(
        protocol.schedule.log_forms
    )
    for form in protocol.forms:
        assert form.code in reachable, form.code
        assert form.fields and any(f.required for f in form.fields), form.code
        assert form.title_fr, form.code
        for field in form.fields:
            assert field.label_fr, f"{form.code}.{field.code}"
            if field.type == "choice":
                assert field.choices and all(c.label_fr for c in field.choices)
            if field.type in ("integer", "decimal") and field.min is not None and field.max is not None:
                assert field.min < field.max
            if field.condition:
                assert parse(field.condition).fields <= set(form.field_codes)
        for check in form.edit_checks:
            own = {name for name in parse(check.rule).fields if "." not in name}
            assert own <= set(form.field_codes)
            assert check.message_fr


def test_the_log_forms_repeat_and_the_visit_forms_do_not(protocol):
    logs = {form.code for form in protocol.log_forms}
    assert logs == {"infusion", "transfusion", "adverse_event", "concomitant_medication", "medical_history"}
    assert all(protocol.is_log_form(code) for code in logs)
    assert not any(protocol.is_log_form(form.code) for form in protocol.forms if form.code not in logs)
    assert not any(visit.max_per_visit for visit in protocol.schedule.visits)


def test_the_schedule_expands_monthly_and_cardiac_visits(protocol):
    visits = list(protocol.schedule.expanded_visits())
    codes = [v.code for v in visits]
    assert codes[:3] == ["SCR", "D1", "M1"]
    assert [f"M{n}" for n in range(1, 13)] == [c for c in codes if c.startswith("M")]
    assert len(codes) == len(set(codes))
    m3 = protocol.visit("M3")
    assert (m3.day, m3.series, m3.number, m3.repeat) == (28 * 3, "M", 3, None)
    assert protocol.visit("M12").day == 336  # twelve months
    assert [protocol.visit(f"C{n}").day for n in (1, 2, 3, 4)] == [84, 168, 252, 336]  # every 3 months
    assert "lvef" in protocol.visit("SCR").forms  # baseline LVEF
    screening = protocol.visit("SCR")
    assert (screening.earliest, screening.latest) == (-protocol.eligibility.window_days, 0)
    assert protocol.visit("EOS").day is None
    assert protocol.visit("M").repeat.count == 12  # the definition, by its own code
    with pytest.raises(KeyError):
        protocol.visit("M13")


def test_the_helpers_find_by_code_or_raise_key_error(protocol):
    assert protocol.is_log_form("infusion")
    assert protocol.site("MRS").name == "Institut Paoli Calmettes"
    assert protocol.dose_rules.loading_mg_per_kg == 4
    assert protocol.endpoint("response_rate").kind == "primary"
    for lookup, code in ((protocol.form, "nope"), (protocol.site, "XXX"), (protocol.visit, "Z9")):
        with pytest.raises(KeyError):
            lookup(code)


def test_every_element_says_where_it_comes_from(protocol):
    registry = dict(protocol.registry_elements())
    operational = dict(protocol.operational_elements())
    assert "identification" in registry
    assert {f"sites[{s.code}]" for s in protocol.sites} <= set(registry)
    assert {f"eligibility.criteria[{c.code}]" for c in protocol.eligibility.criteria} <= set(registry)
    assert {f"endpoints[{e.code}]" for e in protocol.endpoints} <= set(registry)
    assert "schedule.visits[M]" in operational and "response_criteria" in operational
    assert all(element.rationale and element.rationale.strip() for element in operational.values())
    assert "1187" in protocol.response_criteria.rationale  # BBMT 2010;16:1187 Table 4a


def test_the_response_thresholds_are_those_of_the_design(protocol):
    criteria = protocol.response_criteria
    assert criteria.cr_marrow_blasts_below_pct == 5
    assert (criteria.anc_min, criteria.platelets_min) == (1.0, 100)
    assert (criteria.pr_marrow_blasts_max_pct, criteria.pr_min_decrease_pct) == (25, 50)
    assert criteria.progression_increase_pct == 25


def test_the_registry_states_no_statistical_design(protocol):
    assert protocol.statistical_design is None


def test_the_models_are_frozen_and_refuse_unknown_keys(protocol):
    with pytest.raises(pydantic.ValidationError):
        protocol.identification.nct_id = "NCT00000000"
    with pytest.raises(pydantic.ValidationError, match="Extra inputs"):
        Site(code="NTE", name="x", city="x", postcode="1", country="F", source="registry", colour="blue")


def test_an_operational_element_needs_a_rationale():
    with pytest.raises(pydantic.ValidationError, match="rationale"):
        EditCheck(code="X", rule="a > 0", message="m", severity="error", source="operational")
    check = EditCheck(
        code="X", rule="a > 0", message="m", severity="query", source="operational", rationale="why"
    )
    assert not check.from_registry


def test_a_field_is_coherent_with_its_type():
    with pytest.raises(pydantic.ValidationError, match="lists no choices"):
        Field(code="x", label="X", type="choice")
    with pytest.raises(pydantic.ValidationError, match="min/max"):
        Field(code="x", label="X", type="text", min=1)
    with pytest.raises(pydantic.ValidationError, match="above max"):
        Field(code="x", label="X", type="integer", min=5, max=1)


def test_a_repeating_visit_needs_a_day():
    with pytest.raises(pydantic.ValidationError, match="no day"):
        Visit(
            code="M",
            title="M",
            forms=["x"],
            repeat={"every_days": 28, "count": 2},
            source="operational",
            rationale="r",
        )


def test_the_normalised_protocol_round_trips_through_json(protocol):
    assert Protocol.model_validate_json(protocol.model_dump_json()) == protocol
