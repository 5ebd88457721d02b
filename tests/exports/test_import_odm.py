"""`import_odm`: a study exported as ODM comes back into an empty database through the audited
services, and exported again gives the same subjects, events, forms, item groups, items and
values; the file's audit trail and signatures are kept as imported history."""

from __future__ import annotations

import pytest
from lxml import etree
from tests.exchange.conftest import NS
from tests.exports.odm_import_study import LOT, source_file  # noqa: F401 (a fixture)

from trialdesk.exports.importing import IMPORT_ACCOUNT, import_odm


@pytest.fixture
def imported(source_file, db):  # noqa: F811
    return import_odm(source_file)


def _subjects_without_signatures(path) -> list[bytes]:
    """Each SubjectData of the file, canonical, its signatures left out (those of an import
    are imported history, not signatures made here)."""
    found = []
    for subject in etree.parse(str(path)).iterfind(".//odm:ClinicalData/odm:SubjectData", NS):
        for signature in subject.iter("{http://www.cdisc.org/ns/odm/v1.3}Signature"):
            signature.getparent().remove(signature)
        found.append(etree.tostring(subject, method="c14n"))
    return found


def test_export_import_export_gives_the_same_subjects_events_forms_items_and_values(
    source_file,  # noqa: F811
    imported,
    tmp_path,
):
    from trialdesk.exports.services import run_export
    from trialdesk.studies.models import Study

    again = tmp_path / "again.xml"
    run_export(Study.objects.get(), "odm", again)
    before, after = _subjects_without_signatures(source_file), _subjects_without_signatures(again)
    assert len(before) == 2 and after == before
    items = etree.parse(str(again)).findall(".//odm:ItemData", NS)
    assert len(items) > 40
    removed = etree.parse(str(again)).findall(".//odm:FormData[@TransactionType='Remove']", NS)
    assert [f.get("FormOID") for f in removed] == ["F.concomitant_medication"]


def test_the_data_are_written_by_the_audited_services_with_the_reason_import(imported):
    from trialdesk.audit.models import AuditEvent
    from trialdesk.audit.services import verify

    changes = AuditEvent.objects.filter(object_type="form_record", action="change")
    assert {e.username for e in changes} == {IMPORT_ACCOUNT}
    imported = [e for e in changes if e.reason == "Imported from an ODM file: from NCT00724360_source.xml"]
    # the rest: the prescribed values the validated prescription itself wrote on the infusion
    others = {(e.object_label, e.field) for e in changes if e not in imported}
    assert len(imported) > 40 and others and {label for label, _ in others} == {"NTE-S01 log #1 infusion"}
    assert "administered_dose_mg" not in {field for _, field in others}
    assert (
        AuditEvent.objects.filter(
            object_type="prescription", action="create", username=IMPORT_ACCOUNT
        ).count()
        == 1
    )
    assert AuditEvent.objects.filter(action="import", object_type="import.odm").count() == 1
    assert verify().intact


def test_the_users_the_file_names_are_inactive_and_cannot_sign_in_until_invited(imported):
    from django.contrib.auth import get_user_model

    users = {u.username: u for u in get_user_model().objects.all()}
    for name in ("inv.nantes", "inv.rennes", "coord.nantes"):
        assert not users[name].is_active and not users[name].has_usable_password(), name
    # a signer's printed name is the name on the signature, not a login
    assert "Inv.Nantes" not in users and "system" not in users
    assert "tests" not in users  # the system's own actor in the file (Organization "trialdesk (system)")
    importer = users[IMPORT_ACCOUNT]
    assert not importer.is_active and not importer.has_usable_password()
    assert not importer.memberships.filter(active=True).exists()
    assert importer.memberships.filter(active=False, ended_on__isnull=False).count() == 8


def test_the_files_trail_and_signatures_are_imported_history_outside_the_hash_chain(source_file, imported):  # noqa: F811
    from trialdesk.audit.models import AuditEvent
    from trialdesk.audit_viewer.models import ImportedAuditRecord, ImportedSignature, OdmImport
    from trialdesk.signatures.models import Signature

    in_file = etree.parse(str(source_file)).findall(".//odm:AuditRecord", NS)
    (origin,) = OdmImport.objects.all()
    assert origin.file_name == source_file.name and origin.audit_records == len(in_file) > 50
    kept = ImportedAuditRecord.objects.system("test").order_by("sequence")
    assert [f"AR.{r.sequence}" for r in kept] == [e.get("ID") for e in in_file]
    assert kept.filter(username="inv.nantes", site__code="NTE").exists()
    (signature,) = ImportedSignature.objects.system("test")
    assert (signature.subject.label, signature.printed_name, signature.visit_code) == (
        "NTE-001",
        "Inv.Nantes",
        "",
    )
    assert not Signature.objects.system("test").exists()  # never re-made without its signer's password
    # the live chain holds what the import did here, by the import's actors only: none of the
    # file's people, none of its records appended as if made here
    live_actors = set(AuditEvent.objects.values_list("username", flat=True))
    assert {IMPORT_ACCOUNT, "import"} <= live_actors
    assert not live_actors & {"inv.nantes", "inv.rennes", "coord.nantes", "tests"}
    assert not AuditEvent.objects.filter(occurred_at__lte=kept.last().occurred_at).exists()


def test_the_drug_supply_is_received_before_the_infusion_and_its_prescription_is_validated_again(imported):
    from trialdesk.pharmacy.models import Disposal, Shipment
    from trialdesk.treatment.models import Prescription

    (shipment,) = Shipment.objects.system("test")
    (disposal,) = Disposal.objects.system("test")
    assert (shipment.lot_number, shipment.vials, disposal.vials, disposal.reason) == (
        LOT,
        10,
        1,
        "vial broken",
    )
    (prescription,) = Prescription.objects.system("test").select_related("validated_by")
    # the trastuzumab label's 4 mg/kg loading dose for 70 kg: 280 mg (protocol dose rules)
    assert (prescription.dose_mg, prescription.validated_by.username) == (280, IMPORT_ACCOUNT)
