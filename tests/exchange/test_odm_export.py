"""The ODM 1.3.2 writer (pure): valid against the official schema, the protocol's metadata,
the clinical data with repeat keys, voided records removed, the audit trail, streaming."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from lxml import etree
from tests.exchange.conftest import NS, odm_bytes

from trialdesk.exchange.odm import OdmAuditRecord, OdmUser, write_odm


def _doc(snapshot, protocol, **kwargs):
    return etree.fromstring(odm_bytes(snapshot, protocol, **kwargs))


def test_the_export_is_valid_against_the_official_odm_1_3_2_schema(snapshot, protocol, odm_schema):
    trail = [
        OdmAuditRecord(
            1,
            "inv.nantes",
            "NTE",
            dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC),
            "correction",
            "form.save screening age_years 61 -> 62",
        ),
        OdmAuditRecord(2, "", "", dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "", "study.status recruiting"),
    ]
    doc = _doc(snapshot, protocol, audit_records=lambda: trail, users=[OdmUser("inv.nantes")])
    assert odm_schema.validate(doc), odm_schema.error_log
    assert doc.get("ODMVersion") == "1.3.2" and doc.get("FileType") == "Snapshot"


def test_an_invalid_document_is_refused_by_the_schema_the_tests_validate_with(snapshot, protocol, odm_schema):
    doc = _doc(snapshot, protocol)
    doc.find(".//odm:ItemData", NS).attrib.pop("ItemOID")
    assert not odm_schema.validate(doc)


def test_every_visit_of_the_schedule_is_a_study_event_and_the_log_forms_are_one_log_event(snapshot, protocol):
    doc = _doc(snapshot, protocol)
    events = {e.get("OID"): e for e in doc.iterfind(".//odm:StudyEventDef", NS)}
    assert list(events) == [f"SE.{v.code}" for v in protocol.schedule.visits] + ["SE.LOG"]
    repeating = {v.code for v in protocol.schedule.visits if v.repeat}
    for visit in protocol.schedule.visits:
        assert events[f"SE.{visit.code}"].get("Repeating") == ("Yes" if visit.code in repeating else "No")
    log_forms = [ref.get("FormOID") for ref in events["SE.LOG"].iterfind("odm:FormRef", NS)]
    assert log_forms == [f"F.{code}" for code in protocol.schedule.log_forms]
    for code in protocol.schedule.log_forms:
        assert doc.find(f".//odm:FormDef[@OID='F.{code}']", NS).get("Repeating") == "Yes"


def test_each_field_is_an_item_with_its_type_unit_range_choices_and_condition(snapshot, protocol):
    doc = _doc(snapshot, protocol)
    form = next(
        f for f in protocol.forms if any(x.condition for x in f.fields) and any(x.unit for x in f.fields)
    )
    for field in form.fields:
        item = doc.find(f".//odm:ItemDef[@OID='I.{form.code}.{field.code}']", NS)
        assert item is not None
        question = {
            t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text
            for t in item.iterfind("odm:Question/odm:TranslatedText", NS)
        }
        assert question["en"] == field.label and question.get("fr") == field.label_fr
        if field.unit:
            oid = item.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID")
            assert doc.find(f".//odm:MeasurementUnit[@OID='{oid}']", NS).get("Name") == field.unit
        checks = {
            (c.get("Comparator"), c.get("SoftHard")): float(c.find("odm:CheckValue", NS).text)
            for c in item.iterfind("odm:RangeCheck", NS)
        }
        expected = {
            k: v
            for k, v in {
                ("GE", "Hard"): field.min,
                ("LE", "Hard"): field.max,
                ("GE", "Soft"): field.expected_min,
                ("LE", "Soft"): field.expected_max,
            }.items()
            if v is not None
        }
        assert checks == expected
        if field.choices:
            codelist = doc.find(f".//odm:CodeList[@OID='CL.{form.code}.{field.code}']", NS)
            assert [i.get("CodedValue") for i in codelist] == [c.value for c in field.choices]
        ref = doc.find(
            f".//odm:ItemGroupDef[@OID='IG.{form.code}']/odm:ItemRef[@ItemOID='I.{form.code}.{field.code}']",
            NS,
        )
        if field.condition:
            condition = doc.find(
                f".//odm:ConditionDef[@OID='{ref.get('CollectionExceptionConditionOID')}']", NS
            )
            assert condition.find("odm:Description/odm:TranslatedText", NS).text == field.condition
            assert condition.find("odm:FormalExpression", NS).text == f"not ({field.condition})"
        else:
            assert ref.get("CollectionExceptionConditionOID") is None


def test_the_clinical_data_hold_every_subject_record_and_value(snapshot, protocol):
    doc = _doc(snapshot, protocol)
    subjects = list(snapshot.subjects())
    found = doc.findall(".//odm:SubjectData", NS)
    assert [s.get("SubjectKey") for s in found] == [s.label for s in subjects]
    for subject, element in zip(subjects, found, strict=True):
        assert element.find("odm:SiteRef", NS).get("LocationOID") == f"LOC.{subject.site}"
        assert len(element.findall(".//odm:FormData", NS)) == len(subject.records)
    values = sum(1 for s in subjects for r in s.records for v in r.data.values() if v not in (None, ""))
    assert len(doc.findall(".//odm:ItemData", NS)) == values


def test_a_repeated_visit_has_its_number_as_repeat_key_and_a_log_entry_its_form_repeat_key(
    snapshot, protocol
):
    doc = _doc(snapshot, protocol)
    month = doc.findall(".//odm:StudyEventData[@StudyEventOID='SE.M']", NS)
    assert month and {e.get("StudyEventRepeatKey") for e in month} >= {"1", "2"}
    log = doc.find(".//odm:StudyEventData[@StudyEventOID='SE.LOG']", NS)
    assert log.get("StudyEventRepeatKey") is None
    assert all(f.get("FormRepeatKey") for f in log.iterfind("odm:FormData", NS))
    screening = doc.find(".//odm:FormData[@FormOID='F.screening']", NS)
    assert screening.get("FormRepeatKey") is None


def test_a_voided_record_is_a_remove_transaction(snapshot, protocol):
    doc = _doc(snapshot, protocol)
    first = doc.find(".//odm:SubjectData", NS)
    removed = first.findall(".//odm:FormData[@TransactionType='Remove']", NS)
    assert len(removed) == 1 and len(doc.findall(".//odm:FormData[@TransactionType='Remove']", NS)) == 1


def test_values_are_written_so_that_they_read_back_the_same(snapshot, protocol):
    doc = _doc(snapshot, protocol)
    texts = {i.get("Value") for i in doc.iterfind(".//odm:ItemData", NS)}
    assert "True" not in texts and "False" not in texts
    assert {"true", "false"} <= texts


def test_the_audit_trail_is_written_after_the_subjects_with_who_where_when_and_why(snapshot, protocol):
    at = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
    doc = _doc(
        snapshot,
        protocol,
        users=[OdmUser("inv.nantes")],
        audit_records=lambda: [OdmAuditRecord(7, "inv.nantes", "NTE", at, "typing error", "age 61 -> 62")],
    )
    (record,) = doc.findall(".//odm:ClinicalData/odm:AuditRecords/odm:AuditRecord", NS)
    assert record.get("ID") == "AR.7"
    assert record.find("odm:UserRef", NS).get("UserOID") == "USR.inv.nantes"
    assert doc.find(".//odm:AdminData/odm:User[@OID='USR.inv.nantes']", NS) is not None
    assert record.find("odm:LocationRef", NS).get("LocationOID") == "LOC.NTE"
    assert record.find("odm:DateTimeStamp", NS).text == "2026-11-20T09:30:00+00:00"
    assert record.find("odm:ReasonForChange", NS).text == "typing error"


def test_the_result_gives_the_sha256_and_size_of_exactly_what_was_written(snapshot, protocol):
    out = io.BytesIO()
    result = write_odm(snapshot, protocol, out)
    assert result.sha256 == hashlib.sha256(out.getvalue()).hexdigest() and result.bytes == len(out.getvalue())
    assert result.subjects == sum(1 for _ in snapshot.subjects())


def test_the_subjects_are_written_one_by_one_as_they_stream(snapshot, protocol):
    """Streaming: the file grows while the subjects are read (lxml buffers a little), it is not
    written in one go at the end."""
    out = io.BytesIO()
    written_before = []

    class Watching:
        def __init__(self):
            self.source = snapshot

        def __getattr__(self, name):
            return getattr(self.source, name)

        def subjects(self):
            for subject in self.source.subjects():
                written_before.append(out.tell())
                yield subject

    write_odm(Watching(), protocol, out)
    n = sum(1 for _ in snapshot.subjects())
    clinical = written_before[n:]  # the first pass reads the signers
    assert len(clinical) == n and clinical == sorted(clinical)
    assert len(set(clinical)) > n // 2 and clinical[-1] > clinical[0]
