from __future__ import annotations

import csv
from importlib import resources

import pytest

from trialdesk.clinical import ctcae


def test_it_ships_the_837_terms_of_ctcae_v5():
    terms = ctcae.load_terms()
    assert len(terms) == 837
    assert len({t.meddra_code for t in terms}) == 837
    assert len({t.term.casefold() for t in terms}) == 837


def test_it_ships_26_system_organ_classes():
    socs = ctcae.system_organ_classes()
    assert len(socs) == 26
    assert "Cardiac disorders" in socs
    assert "Blood and lymphatic system disorders" in socs


def test_the_term_list_is_loaded_once():
    assert ctcae.load_terms()[0] is ctcae.load_terms()[0]


def test_the_packaged_data_is_plain_utf8_csv():
    text = resources.files("trialdesk.clinical").joinpath("data", "ctcae_v5.csv").read_text(encoding="utf-8")
    header = next(csv.reader(text.splitlines()))
    assert header[:9] == [
        "meddra_code",
        "soc",
        "term",
        "grade_1",
        "grade_2",
        "grade_3",
        "grade_4",
        "grade_5",
        "definition",
    ]
    assert "\xa0" not in text


@pytest.mark.parametrize(
    ("code", "name", "soc"),
    [
        (10050528, "Ejection fraction decreased", "Investigations"),
        (10051792, "Infusion related reaction", "Injury, poisoning and procedural complications"),
        (10019279, "Heart failure", "Cardiac disorders"),
    ],
)
def test_known_terms_match_the_nci_file(code, name, soc):
    by_code = ctcae.term_by_code(code)
    assert by_code.term == name
    assert by_code.soc == soc
    assert ctcae.term_by_code(str(code)) is by_code
    assert ctcae.term_by_name(name.upper()) is by_code
    assert ctcae.term_by_name(f"  {name.lower()} ") is by_code


def test_grade_texts_match_the_nci_file():
    assert ctcae.grade_text("Ejection fraction decreased", 3) == (
        "Resting ejection fraction (EF) 39 - 20%; >=20% drop from baseline"
    )
    assert ctcae.grade_text(10019279, 3).startswith("Symptoms at rest or with minimal activity or exertion")
    assert ctcae.grade_text(ctcae.term_by_name("Infusion related reaction"), 1) == (
        "Mild transient reaction; infusion interruption not indicated; intervention not indicated"
    )
    assert ctcae.term_by_name("Heart failure").grade_text(5) == "Death"


def test_grades_marked_with_a_dash_are_not_allowed():
    ef = ctcae.term_by_name("Ejection fraction decreased")
    assert ctcae.allowed_grades(ef) == (2, 3, 4)
    assert ctcae.allowed_grades("Heart failure") == (1, 2, 3, 4, 5)
    assert ctcae.allowed_grades("Eosinophilia") == (1, 3)
    with pytest.raises(ValueError, match="grade 1 does not exist"):
        ctcae.grade_text(ef, 1)
    with pytest.raises(ValueError):
        ctcae.grade_text(ef, 6)


def test_every_term_allows_at_least_one_grade():
    assert all(t.allowed_grades for t in ctcae.load_terms())


def test_an_unknown_term_is_a_key_error_or_none():
    with pytest.raises(KeyError):
        ctcae.term_by_name("Spontaneous combustion")
    with pytest.raises(KeyError):
        ctcae.term_by_code(99999999)
    with pytest.raises(KeyError):
        ctcae.term_by_code("not-a-code")
    with pytest.raises(KeyError):
        ctcae.grade_text("Spontaneous combustion", 1)
    assert ctcae.find_term("Spontaneous combustion") is None
    assert ctcae.find_term(99999999) is None
    assert ctcae.find_term("heart failure").meddra_code == 10019279
    assert ctcae.find_term("10050528").term == "Ejection fraction decreased"


def test_search_ranks_exact_and_prefix_matches_first():
    assert ctcae.search("heart failure")[0].term == "Heart failure"
    results = ctcae.search("ejection", limit=5)
    assert results[0].term == "Ejection fraction decreased"
    assert len(ctcae.search("disorders", limit=3)) == 3
    assert ctcae.search("10051792") == [ctcae.term_by_code(10051792)]
    assert ctcae.search("") == []
    assert ctcae.search("zzzzqqq") == []


def test_search_matches_all_words_in_any_order():
    names = [t.term for t in ctcae.search("decreased count platelet")]
    assert "Platelet count decreased" in names


def test_search_can_be_restricted_to_one_system_organ_class():
    results = ctcae.search("failure", limit=None, soc="Cardiac disorders")
    assert results and all(t.soc == "Cardiac disorders" for t in results)
