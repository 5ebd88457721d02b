"""`import_odm` refuses a bad file or a database that is not empty with one message naming
the place, and imports nothing: the import is one transaction."""

from __future__ import annotations

import re

import pytest
from tests.exports.odm_import_study import source_file  # noqa: F401 (a fixture)

from trialdesk.exports.importing import ImportRefused, database_contents, import_odm


def _nothing_imported() -> None:
    from trialdesk.audit_viewer.models import ImportedAuditRecord, OdmImport
    from trialdesk.crf.models import FormRecord
    from trialdesk.pharmacy.models import Shipment
    from trialdesk.subjects.models import Subject

    assert database_contents() == {"studies": 0, "users": 0, "audit events": 0}
    assert not Subject.objects.system("test").exists()
    assert not FormRecord.objects.system("test").exists()
    assert not Shipment.objects.system("test").exists()
    assert not OdmImport.objects.exists() and not ImportedAuditRecord.objects.system("test").exists()


def _refused(path, **kwargs) -> str:
    with pytest.raises(ImportRefused) as refused:
        import_odm(path, **kwargs)
    _nothing_imported()
    return str(refused.value)


@pytest.fixture
def copy(source_file, tmp_path):  # noqa: F811
    """The source file's text, and a function writing a changed copy of it."""
    text = source_file.read_text(encoding="utf-8")

    def write(changed: str):
        path = tmp_path / "changed.xml"
        path.write_text(changed, encoding="utf-8")
        return path

    return text, write


def test_it_refuses_a_file_that_is_not_odm(db, tmp_path):
    path = tmp_path / "bundle.xml"
    path.write_text('<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"/>', encoding="utf-8")
    message = _refused(path)
    assert (
        message
        == "bundle.xml: not a CDISC ODM 1.3 file: its root element is <Bundle> in http://hl7.org/fhir."
    )


def test_it_refuses_a_file_that_is_not_xml(db, tmp_path):
    path = tmp_path / "data.xml"
    path.write_text("subject,age\nNTE-001,62\n", encoding="utf-8")
    assert _refused(path).startswith("data.xml: not XML: line 1")


def test_it_refuses_a_file_not_valid_against_the_schema_naming_the_line(db, copy):
    text, write = copy
    path = write(text.replace('TransactionType="Remove"', 'TransactionType="Erase"', 1))
    message = _refused(path)
    assert "not valid against the ODM 1.3.2 schema: line" in message and "Erase" in message


def test_it_refuses_a_file_of_another_study(db, copy):
    text, write = copy
    path = write(text.replace('<Study OID="NCT00724360"', '<Study OID="NCT01234567"', 1))
    assert "a file of the study NCT01234567, not of NCT00724360" in _refused(path)


def test_it_refuses_a_value_outside_its_items_range_naming_the_subject_and_the_item(db, copy):
    from trialdesk.protocol import load_default_protocol

    field = load_default_protocol().form("screening").field("ecog")
    beyond = int(field.max) + 1  # one grade above the highest the protocol's form allows
    text, write = copy
    path = write(
        text.replace(
            'ItemOID="I.screening.ecog" Value="1"', f'ItemOID="I.screening.ecog" Value="{beyond}"', 1
        )
    )
    message = _refused(path)
    assert "subject NTE-001" in message and "I.screening.ecog" in message
    assert f"{beyond} is outside the item's range ({field.min:g} to {field.max:g})" in message
    assert re.search(r"line \d+", message)


def test_it_refuses_metadata_unlike_the_protocol_given_naming_the_first_difference(db, source_file, tmp_path):  # noqa: F811
    from trialdesk.protocol import default_protocol_path

    text = default_protocol_path().read_text(encoding="utf-8")
    changed = tmp_path / "other.yaml"
    # the same trial with the screening visit's title changed: its StudyEventDef differs from the file's
    changed.write_text(text.replace("title: Screening\n", "title: Pre-screening\n", 1), encoding="utf-8")
    assert "title: Pre-screening" in changed.read_text(encoding="utf-8")
    message = _refused(source_file, protocol_path=changed)
    assert "its metadata do not match the protocol" in message and "StudyEventDef SE.SCR" in message
    assert 'the protocol gives \'<StudyEventDef Name="Pre-screening"' in message


def test_it_refuses_an_import_into_a_database_that_is_not_empty(db, source_file):  # noqa: F811
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("already.here")
    with pytest.raises(ImportRefused) as refused:
        import_odm(source_file)
    assert str(refused.value) == (
        "the database is not empty (1 users): an ODM file is imported into an empty database only."
    )
    assert database_contents() == {"studies": 0, "users": 1, "audit events": 0}


def test_a_record_the_rules_refuse_midway_leaves_nothing_imported(db, copy):
    text, write = copy
    # without the drug supply, the infusion names a lot never received at the site
    start, end = text.index("<Annotations"), text.index("</Annotations>") + len("</Annotations>")
    path = write(text[:start] + text[end:])
    message = _refused(path)
    assert message == (
        "changed.xml: subject NTE-001, form infusion at LOG (entry 1): item lot_number: "
        "Lot T2001 was never received at this site: check the number on the vial."
    )


def test_it_refuses_a_pseudonymised_export(db, copy):
    text, write = copy
    path = write(
        text.replace('SourceSystem="trialdesk"', 'SourceSystem="trialdesk" Description="pseudonymised"', 1)
    )
    assert "a pseudonymised export" in _refused(path)
