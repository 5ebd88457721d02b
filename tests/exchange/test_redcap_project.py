"""A protocol seen as a REDCap project (trialdesk.exchange.redcap, pure): names, data
dictionary, events, flat rows, and the reading of imported rows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.exchange.redcap import (
    METADATA_COLUMNS,
    RECORD_ID,
    RedcapInputError,
    RedcapProject,
    StoredRecord,
    branching_logic,
    csv_line,
    read_csv,
)
from trialdesk.protocol import load_default_protocol


@pytest.fixture(scope="module")
def project():
    return RedcapProject(load_default_protocol())


def test_the_first_field_is_record_id_on_the_first_form(project):
    first = project.metadata()[0]
    assert (first["field_name"], first["form_name"]) == (RECORD_ID, project.forms[0].code)


def test_every_field_name_is_unique_and_shared_codes_carry_their_form(project):
    names = [field.name for field in project.fields]
    assert len(names) == len(set(names))
    shared = {}
    for form in project.forms:
        for definition in form.fields:
            shared.setdefault(definition.code, []).append(form.code)
    for code, forms in shared.items():
        for form_code in forms:
            expected = code if len(forms) == 1 else f"{form_code}_{code}"
            assert project.field_name(form_code, code) == expected


def test_the_data_dictionary_has_redcaps_18_columns_for_every_field(project):
    rows = project.metadata()
    assert len(METADATA_COLUMNS) == 18
    assert all(tuple(row) == METADATA_COLUMNS for row in rows)
    assert len(rows) == 1 + sum(len(form.fields) for form in project.forms)


def test_field_types_map_to_redcaps(project):
    by_name = {row["field_name"]: row for row in project.metadata()}
    assert by_name["ecog"]["text_validation_type_or_show_slider_number"] == "integer"
    assert (by_name["ecog"]["text_validation_min"], by_name["ecog"]["text_validation_max"]) == ("0", "4")
    assert by_name["screening_date"]["text_validation_type_or_show_slider_number"] == "date_ymd"
    assert by_name["prior_trastuzumab"]["field_type"] == "yesno"
    assert by_name["sex"]["field_type"] == "radio"
    assert by_name["sex"]["select_choices_or_calculations"] == "female, Female | male, Male"
    assert by_name["ast"]["text_validation_type_or_show_slider_number"] == "number"
    assert by_name["ecog"]["required_field"] == "y"


def test_a_condition_becomes_branching_logic(project):
    by_name = {row["field_name"]: row for row in project.metadata()}
    assert by_name["karyotype"]["branching_logic"] == "[karyotype_abnormal] = '1'"
    # a condition naming a field whose code several forms share names its REDCap name
    assert by_name["end_of_study_reason_other"]["branching_logic"] == "[end_of_study_reason] = 'other'"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("a == true and (b != 'x' or c >= 2)", "[a] = '1' and ([b] <> 'x' or [c] >= 2)"),
        ("not a == false", "not [a] = '0'"),
        ("previous.a == 1", None),  # more than the branching language: kept as an annotation
        ("unknown_field == 1", None),
    ],
)
def test_branching_logic_translation(condition, expected):
    assert branching_logic(condition, {"a": "a", "b": "b", "c": "c"}) == expected


def test_each_expanded_visit_is_an_event_and_the_log_forms_have_theirs(project):
    names = [event.unique_name for event in project.events]
    visits = [visit.code.lower() + "_arm_1" for visit in project.protocol.schedule.expanded_visits()]
    assert names == [*visits, "log_forms_arm_1"]
    repeating = {(row["event_name"], row["form_name"]) for row in project.repeating_forms_events()}
    assert repeating == {("log_forms_arm_1", code) for code in project.protocol.schedule.log_forms}


def test_the_columns_of_a_form_are_record_event_repeat_fields_and_status(project):
    assert project.record_columns(forms=["transfusion"]) == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "transfusion_date",
        "product",
        "units",
        "transfusion_complete",
    ]
    with pytest.raises(KeyError):
        project.record_columns(fields=["nope"])


def test_one_row_per_event_and_one_per_repeat_instance(project):
    columns = project.record_columns(fields=["ecog", "units", "sex"])
    stored = [
        StoredRecord("SCR", "screening", 1, {"ecog": 1, "sex": "male"}, True),
        StoredRecord(None, "transfusion", 2, {"units": 3}, True),
        StoredRecord(None, "transfusion", 1, {"units": 2}, False),
    ]
    rows = list(project.records_rows("NTE-001", stored, columns))
    assert [
        (r["redcap_event_name"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"]) for r in rows
    ] == [
        ("scr_arm_1", "", ""),
        ("log_forms_arm_1", "transfusion", "1"),
        ("log_forms_arm_1", "transfusion", "2"),
    ]
    assert rows[0]["ecog"] == "1" and rows[0]["units"] == "" and rows[1]["units"] == "2"
    labelled = list(project.records_rows("NTE-001", stored[:1], columns, label=True))
    assert labelled[0]["sex"] == "Male"


def test_booleans_are_1_and_0_and_whole_decimals_have_no_point(project):
    columns = project.record_columns(fields=["prior_trastuzumab", "ast"])
    rows = list(
        project.records_rows(
            "X",
            [StoredRecord("SCR", "screening", 1, {"prior_trastuzumab": True, "ast": 40.0}, True)],
            columns,
        )
    )
    assert (rows[0]["prior_trastuzumab"], rows[0]["ast"]) == ("1", "40")


def test_imported_rows_become_one_item_per_form_record(project):
    items = project.parse_import(
        [
            {"record_id": "NTE-001", "redcap_event_name": "scr_arm_1", "ecog": "2", "units": ""},
            {
                "record_id": "NTE-001",
                "redcap_event_name": "log_forms_arm_1",
                "redcap_repeat_instrument": "transfusion",
                "redcap_repeat_instance": "new",
                "units": "2",
                "ecog": "",
            },
        ]
    )
    assert [(i.form_code, i.visit_code, i.instance, i.values) for i in items] == [
        ("screening", "SCR", None, {"ecog": "2"}),
        ("transfusion", None, None, {"units": "2"}),
    ]


@pytest.mark.parametrize(
    ("row", "named"),
    [
        ({"record_id": "A", "redcap_event_name": "scr_arm_1", "ecog_score": "1"}, "ecog_score"),
        ({"record_id": "A", "redcap_event_name": "zz_arm_1", "ecog": "1"}, "zz_arm_1"),
        ({"record_id": "", "redcap_event_name": "scr_arm_1", "ecog": "1"}, "record_id"),
        (
            {
                "record_id": "A",
                "redcap_event_name": "scr_arm_1",
                "redcap_repeat_instrument": "screening",
                "ecog": "1",
            },
            "redcap_repeat_instrument",
        ),
        (
            {
                "record_id": "A",
                "redcap_event_name": "log_forms_arm_1",
                "redcap_repeat_instrument": "transfusion",
                "redcap_repeat_instance": "0",
                "units": "1",
            },
            "redcap_repeat_instance",
        ),
        ({"record_id": "A", "redcap_event_name": "d1_arm_1", "ecog": "1"}, "ecog"),  # not collected at D1
        (
            {"record_id": "A", "redcap_event_name": "log_forms_arm_1", "units": "1"},
            "units",
        ),  # no instrument named
    ],
)
def test_it_refuses_rows_it_cannot_place_naming_the_column(project, row, named):
    with pytest.raises(RedcapInputError) as refused:
        project.parse_import([row])
    assert any(named in (problem[1], problem[2]) for problem in refused.value.problems)


def test_a_csv_line_longer_than_its_header_is_refused():
    with pytest.raises(ValueError):
        read_csv("record_id,ecog\nA,1,2\n")
    assert read_csv("record_id,ecog\nA,1\n") == [{"record_id": "A", "ecog": "1"}]


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"), max_size=12
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_written_csv_line_reads_back_the_same(values):
    header = [f"c{number}" for number in range(len(values))]
    assert read_csv(csv_line(header) + csv_line(values)) == [dict(zip(header, values, strict=True))]


def _value_strategy(definition):
    if definition.type == "integer":
        return st.integers(int(definition.min or 0), int(definition.max or 1000))
    if definition.type == "decimal":
        return st.floats(definition.min or 0, definition.max or 1000, allow_nan=False).map(
            lambda x: round(x, 2)
        )
    if definition.type == "boolean":
        return st.booleans()
    if definition.type == "date":
        return st.dates().map(lambda day: day.isoformat())
    if definition.type == "choice":
        return st.sampled_from(definition.choice_values)
    return st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20).map(
        str.strip
    )


_PROTOCOL = load_default_protocol()
_LVEF = _PROTOCOL.form("lvef")


@given(st.fixed_dictionaries({d.code: st.one_of(st.none(), _value_strategy(d)) for d in _LVEF.fields}))
def test_an_exported_row_imports_back_to_the_same_values(data):
    project = RedcapProject(_PROTOCOL)
    columns = project.record_columns(forms=["lvef"])
    (row,) = project.records_rows("NTE-001", [StoredRecord("C1", "lvef", 1, data, False)], columns)
    (item,) = project.parse_import([row]) if any(row[c] for c in columns[4:-1]) else [None]
    if item is None:
        assert all(value in (None, "") for value in data.values())
        return
    assert (item.record_id, item.form_code, item.visit_code) == ("NTE-001", "lvef", "C1")
    for definition in _LVEF.fields:
        value = data[definition.code]
        assert item.values[definition.code] == project.value_text(definition, value, False)
