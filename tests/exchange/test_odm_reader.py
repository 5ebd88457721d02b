"""Reading an ODM file back (pure): the round trip is lossless, and each kind of bad file is
refused with one message naming the place."""

from __future__ import annotations

import pytest
from tests.exchange.conftest import odm_bytes

from trialdesk.exchange.odm_reader import OdmError, read_odm


def _key(subject):
    records = sorted(
        (r.form, r.visit or "", r.repeat, r.voided, sorted(r.data.items())) for r in subject.records
    )
    return (
        subject.label,
        subject.screening_number,
        subject.site,
        subject.status,
        subject.sex,
        subject.year_of_birth,
        subject.screened_on,
        subject.enrolled_on,
        [(v.code, v.actual_date) for v in subject.visits],
        records,
    )


@pytest.fixture
def exported(snapshot, protocol, tmp_path):
    path = tmp_path / "study.xml"
    path.write_bytes(odm_bytes(snapshot, protocol))
    return path


def test_export_read_export_again_gives_the_same_file(snapshot, protocol, odm_schema, exported, tmp_path):
    read = read_odm(exported, protocol, schema=odm_schema)
    again = odm_bytes(read.snapshot, protocol)
    assert again == exported.read_bytes()


def test_the_subjects_events_forms_and_values_read_back_as_they_were(
    snapshot, protocol, odm_schema, exported
):
    read = read_odm(exported, protocol, schema=odm_schema)
    assert [_key(s) for s in read.snapshot.subjects()] == [_key(s) for s in snapshot.subjects()]
    values = [v for s in read.snapshot.subjects() for r in s.records for v in r.data.values()]
    assert {type(v) for v in values} <= {int, float, bool, str} and True in values


def _refused(path, protocol, odm_schema) -> str:
    with pytest.raises(OdmError) as refused:
        read_odm(path, protocol, schema=odm_schema)
    return str(refused.value)


def test_it_refuses_a_file_that_is_not_xml(protocol, odm_schema, tmp_path):
    path = tmp_path / "x.xml"
    path.write_text("subject,age\nNTE-001,62\n")
    assert "not XML: line 1" in _refused(path, protocol, odm_schema)


def test_it_refuses_xml_that_is_not_odm(protocol, odm_schema, tmp_path):
    path = tmp_path / "x.xml"
    path.write_text('<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"/>')
    message = _refused(path, protocol, odm_schema)
    assert "not a CDISC ODM 1.3 file" in message and "<Bundle>" in message


def test_it_refuses_a_file_not_valid_against_the_schema_naming_the_line(protocol, odm_schema, exported):
    text = exported.read_text(encoding="utf-8").replace(
        'TransactionType="Remove"', 'TransactionType="Erase"', 1
    )
    exported.write_text(text, encoding="utf-8")
    message = _refused(exported, protocol, odm_schema)
    assert "not valid against the ODM 1.3.2 schema: line" in message and "Erase" in message


def test_it_refuses_a_file_of_another_study(protocol, odm_schema, exported):
    text = exported.read_text(encoding="utf-8").replace(
        '<Study OID="NCT00724360"', '<Study OID="NCT01234567"'
    )
    exported.write_text(text, encoding="utf-8")
    assert "a file of the study NCT01234567, not of NCT00724360" in _refused(exported, protocol, odm_schema)


def test_it_refuses_metadata_that_differ_from_the_protocol_naming_the_first_difference(
    protocol, odm_schema, exported
):
    form = protocol.forms[0]
    field = next(f for f in form.fields if f.max is not None)
    fields = [f.model_copy(update={"max": f.max + 1}) if f is field else f for f in form.fields]
    forms = [form.model_copy(update={"fields": fields}), *protocol.forms[1:]]
    changed = protocol.model_copy(update={"forms": forms})
    message = _refused(exported, changed, odm_schema)
    assert (
        "metadata do not match the protocol" in message and f"ItemDef I.{form.code}.{field.code}" in message
    )


def test_it_refuses_a_value_outside_its_items_range_naming_the_subject_and_item(
    snapshot, protocol, odm_schema, exported
):
    form = protocol.forms[0]
    field = next(f for f in form.fields if f.type == "integer" and f.max is not None)
    subject = next(iter(snapshot.subjects()))
    value = subject.records_of(form.code)[0].data[field.code]
    oid = f'ItemOID="I.{form.code}.{field.code}" Value="{value}"'
    text = exported.read_text(encoding="utf-8")
    assert oid in text
    exported.write_text(
        text.replace(oid, f'ItemOID="I.{form.code}.{field.code}" Value="{int(field.max) + 1}"', 1),
        encoding="utf-8",
    )
    message = _refused(exported, protocol, odm_schema)
    assert f"subject {subject.label}" in message and f"I.{form.code}.{field.code}" in message
    assert "outside the item's range" in message


def test_it_refuses_an_item_that_is_not_a_field_of_its_form(snapshot, protocol, odm_schema, exported):
    form = protocol.forms[0]
    text = exported.read_text(encoding="utf-8")
    first = text.index(f'<ItemData ItemOID="I.{form.code}.')
    end = text.index('"', first + len('<ItemData ItemOID="'))
    exported.write_text(
        text[:first] + f'<ItemData ItemOID="I.{form.code}.no_such_field' + text[end:], encoding="utf-8"
    )
    assert "is not a field of the form" in _refused(exported, protocol, odm_schema)
