"""A small study built through the audited services, for the ODM import's tests: at Nantes an
enrolled patient with its baseline, a lot received and one vial destroyed, an infusion drawing
on the lot (its prescription validated by the investigator), an adverse event entered in error
then voided, a concomitant medication, and the casebook signed; at Rennes a screen failure.

Numbers: the trastuzumab label as the protocol states it — a 4 mg/kg loading dose (280 mg
for 70 kg), in 150 mg vials (two vials)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD, _member, recruiting

LOT = "T2001"


@pytest.fixture(scope="module")
def source_file(django_db_setup, django_db_blocker, tmp_path_factory):
    """The ODM file (``trialdesk export odm`` as the operator) of the small study, built in a
    transaction rolled back at once: the test database is empty again for the import."""
    from django.db import transaction
    from django.test import override_settings

    path = tmp_path_factory.mktemp("odm-import") / "NCT00724360_source.xml"
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with transaction.atomic():
            write_source(path)
            transaction.set_rollback(True)
    return path


def write_source(path):
    """Build the small study in the database and export it to ``path``."""
    from trialdesk.exports.services import run_export
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.models import Role
    from trialdesk.studies.services import install_study
    from trialdesk.subjects.services import enroll, register_screening

    study = recruiting(install_study(default_protocol_path()))

    class Cast:
        investigator_nantes = _member(study, "inv.nantes", Role.INVESTIGATOR, ["NTE"])
        investigator_rennes = _member(study, "inv.rennes", Role.INVESTIGATOR, ["RNS"])
        coordinator_nantes = _member(study, "coord.nantes", Role.COORDINATOR, ["NTE"])
        data_manager = _member(study, "datamanager", Role.DATA_MANAGER, None)

    from trialdesk.crf.services import save_form

    nantes = study.sites.get(code="NTE")
    subject = register_screening(
        Cast.investigator_nantes,
        nantes,
        screened_on=dt.date(2026, 11, 20),
        sex="M",
        year_of_birth=1964,
        today=dt.date(2026, 11, 25),
    )
    save_form(
        Cast.investigator_nantes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get()
    )
    subject = enroll(
        Cast.investigator_nantes,
        subject,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 25),
    )
    build(Cast, study, subject)
    run_export(study, "odm", path)
    return path


def build(cast, study, enrolled_subject):
    from trialdesk.crf.services import save_form, void_record
    from trialdesk.pharmacy.services import record_disposal, record_shipment
    from trialdesk.signatures.services import sign
    from trialdesk.subjects.services import record_screen_failure, register_screening
    from trialdesk.treatment.services import validate_prescription

    investigator = cast.investigator_nantes
    subject = enrolled_subject
    nantes = subject.site
    record_shipment(
        investigator,
        nantes,
        lot_number=LOT,
        vials=10,
        expires_on=dt.date(2027, 6, 30),
        received_on=dt.date(2026, 11, 20),
    )
    record_disposal(
        investigator,
        nantes,
        lot_number=LOT,
        kind="destroyed",
        vials=1,
        on=dt.date(2026, 11, 21),
        reason="vial broken",
    )
    baseline = subject.visits.get(code="D1")
    save_form(
        investigator,
        subject,
        "baseline",
        _baseline(study.protocol),
        visit=baseline,
    )
    prescription = validate_prescription(investigator, subject, on=dt.date(2026, 11, 26), weight_kg=70)
    infusion = prescription.record
    save_form(
        cast.coordinator_nantes,
        subject,
        "infusion",
        {
            **infusion.data,
            "administered_dose_mg": prescription.dose_mg,
            "lot_number": LOT,
            "vials_used": prescription.vials,
            "infusion_reaction": False,
        },
        repeat=infusion.repeat,
        expected_version=infusion.version,
    )
    wrong = save_form(
        investigator,
        subject,
        "concomitant_medication",
        _medication(study.protocol, "Paracetamol"),
    ).record
    void_record(investigator, wrong, "entered on the wrong patient")
    save_form(investigator, subject, "concomitant_medication", _medication(study.protocol, "Ondansetron"))
    sign(investigator, subject, password=PASSWORD)

    rennes = study.sites.get(code="RNS")
    failure = register_screening(
        cast.investigator_rennes,
        rennes,
        screened_on=dt.date(2026, 11, 22),
        sex="F",
        year_of_birth=1950,
        today=dt.date(2026, 11, 25),
    )
    save_form(
        cast.investigator_rennes,
        failure,
        "screening",
        {**ELIGIBLE_SCREENING, "screening_date": "2026-11-22", "ecog": 4},
        visit=failure.visits.get(),
    )
    record_screen_failure(cast.investigator_rennes, failure, as_of=dt.date(2026, 11, 22))
    return study


def _complete(protocol, form_code: str, values: dict) -> dict:
    """The form's required fields given a plain value, then ``values``."""
    form = protocol.form(form_code)
    data = {}
    for field in form.fields:
        if not field.required or field.condition:
            continue
        if field.type == "date":
            data[field.code] = "2026-11-24"
        elif field.type == "boolean":
            data[field.code] = False
        elif field.type in ("integer", "decimal"):
            data[field.code] = int(field.min) if field.min is not None else 1
        elif field.choices:
            data[field.code] = field.choices[0].value
        else:
            data[field.code] = "imported"
    data.update(values)
    return data


def _baseline(protocol) -> dict:
    return _complete(protocol, "baseline", {})


def _medication(protocol, name: str) -> dict:
    form = protocol.form("concomitant_medication")
    text_field = next(f.code for f in form.fields if f.type == "text")
    return _complete(protocol, "concomitant_medication", {text_field: name})
