"""The CTCAE v5.0 term picker of the adverse-event form: a term is picked by its name or its
MedDRA code, nothing else; its MedDRA code and system organ class come from the list; an
"Other, specify" term needs the event's own words; a grade the term lacks is refused.

The terms, codes and grades are those of the NCI file (CTCAE v5.0, 27 November 2017,
packaged in clinical/data): Alopecia 10001760 has grades 1-2 only; Ejection fraction
decreased 10050528 has grades 2-4; "Cardiac disorders - Other, specify" is 10007541."""

from __future__ import annotations

import pytest

from trialdesk.clinical import ctcae
from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.formdata import validate_form_data


@pytest.fixture(scope="module")
def form():
    protocol = load_default_protocol()
    return protocol.form(protocol.concept_form("adverse_event_term"))


@pytest.fixture(scope="module")
def links(form):
    term_field = next(f for f in form.fields if f.type == "ctcae_term")
    return term_field.code, term_field.ctcae


def _entry(form, links, **values):
    term_code, link = links
    raw = {
        term_code: values.pop("term"),
        link.grade_field: values.pop("grade", 1),
    }
    if "specify" in values:
        raw[link.specify_field] = values.pop("specify")
    if "meddra" in values:
        raw[link.meddra_field] = values.pop("meddra")
    return validate_form_data(form, raw)


def test_it_finds_a_term_by_its_name_whatever_the_case_and_spacing():
    assert ctcae.pick("  alopecia ").meddra_code == 10001760
    assert ctcae.pick("Ejection   fraction decreased").term == "Ejection fraction decreased"


def test_it_finds_a_term_by_its_meddra_code():
    assert ctcae.pick("10050528").term == "Ejection fraction decreased"
    assert ctcae.pick(10001760).term == "Alopecia"


def test_it_finds_nothing_for_free_text_or_an_unknown_code():
    assert ctcae.pick("hair falling out") is None
    assert ctcae.pick("99999999") is None


def test_each_system_organ_class_has_its_other_specify_term():
    for soc in ctcae.system_organ_classes():
        other = ctcae.other_specify_of(soc)
        assert other is not None, soc
        assert other.soc == soc and ctcae.is_other_specify(other)
    assert ctcae.other_specify_of("Cardiac disorders").meddra_code == 10007541
    assert not ctcae.is_other_specify("Heart failure")


def test_a_grade_is_defined_only_where_the_nci_file_gives_its_text():
    assert ctcae.grade_is_defined("Alopecia", 2)
    assert not ctcae.grade_is_defined("Alopecia", 3)
    assert not ctcae.grade_is_defined("Alopecia", 5)
    assert not ctcae.grade_is_defined("Ejection fraction decreased", 1)
    assert ctcae.grade_is_defined("Ejection fraction decreased", 4)


def test_the_form_stores_the_term_typed_as_a_meddra_code_under_its_name_code_and_soc(form, links):
    term_code, link = links
    result = _entry(form, links, term="10001760")
    assert result.ok, result.errors
    assert result.cleaned[term_code] == "Alopecia"
    assert result.cleaned[link.meddra_field] == "10001760"
    assert result.cleaned[link.soc_field] == "Skin and subcutaneous tissue disorders"


def test_it_refuses_a_term_that_is_not_on_the_list(form, links):
    term_code, _ = links
    result = _entry(form, links, term="Hair falling out")
    assert "Pick a CTCAE v5.0 term" in result.errors[term_code][0]


def test_it_refuses_grade_5_alopecia(form, links):
    _, link = links
    result = _entry(form, links, term="Alopecia", grade=5)
    assert not result.ok
    assert result.errors[link.grade_field] == [
        "CTCAE v5.0 defines no grade 5 for Alopecia (its grades: 1, 2)."
    ]


def test_it_accepts_the_highest_grade_the_term_defines(form, links):
    _, link = links
    assert link.grade_field not in _entry(form, links, term="Alopecia", grade=2).errors
    assert link.grade_field not in _entry(form, links, term="Ejection fraction decreased", grade=4).errors


def test_it_refuses_grade_1_of_a_term_that_starts_at_grade_2(form, links):
    _, link = links
    assert link.grade_field in _entry(form, links, term="Ejection fraction decreased", grade=1).errors


def test_it_refuses_a_meddra_code_that_is_not_the_terms(form, links):
    _, link = links
    result = _entry(form, links, term="Alopecia", meddra="10050528")
    assert result.errors[link.meddra_field] == ["The MedDRA code of Alopecia is 10001760."]


def test_an_other_specify_term_needs_the_events_own_words(form, links):
    _, link = links
    result = _entry(form, links, term="Cardiac disorders - Other, specify")
    assert link.specify_field in result.missing_required
    described = _entry(form, links, term="Cardiac disorders - Other, specify", specify="Pericardial rub")
    assert link.specify_field not in described.missing_required
    assert described.cleaned[link.specify_field] == "Pericardial rub"
    assert described.cleaned[link.soc_field] == "Cardiac disorders"


def test_it_refuses_own_words_under_a_named_term(form, links):
    _, link = links
    result = _entry(form, links, term="Alopecia", specify="Patchy")
    assert link.specify_field in result.errors
