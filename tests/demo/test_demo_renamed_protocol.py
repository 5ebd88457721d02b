"""The code knows no trial (issue 8): on a copy of NCT00724360's file whose every field code and
choice value is renamed, consistently, everywhere in the file, the demo builds the same cohort,
eligibility gives the same verdicts, the snapshot equals the simulator's, and the pages work."""

from __future__ import annotations

import pytest
import yaml
from tests.simulate.test_simulate_renamed_protocol import FIELD, _original_names, _renamed_document

from trialdesk.protocol import default_protocol_path, load_protocol
from trialdesk.simulate import simulate_cohort

SEED = 2012
PASSWORD = "demo-password-of-the-tests-42"


@pytest.fixture(scope="module")
def renamed_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo built from the renamed copy, once for the module, rolled back after it."""
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.demo.builder import build_demo
    from trialdesk.studies.models import Study

    doc, _fields, _values = _renamed_document()
    path = tmp_path_factory.mktemp("renamed") / "renamed.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with django_db_blocker.unblock(), override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        with transaction.atomic():
            build_demo(path, password=PASSWORD, seed=SEED)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def study(renamed_demo, db):
    return renamed_demo


def _subjects(study):
    from trialdesk.subjects.models import Subject

    return list(Subject.objects.system("test").filter(study=study).order_by("screening_number"))


def test_the_demo_of_the_renamed_copy_holds_the_same_cohort(study):
    original = simulate_cohort(load_protocol(default_protocol_path()), seed=SEED)
    subjects = _subjects(study)
    assert [s.screening_number for s in subjects] == sorted(s.screening_number for s in original.subjects)
    expected = {s.screening_number: (s.enrolled_on, s.eligible) for s in original.subjects}
    for subject in subjects:
        enrolled_on, eligible = expected[subject.screening_number]
        assert subject.enrolled_on == enrolled_on, subject.screening_number
    assert study.protocol.form("screening").field_codes[0].startswith(FIELD)


def test_its_records_hold_the_original_values_under_the_new_names(study):
    from trialdesk.crf.models import FormRecord
    from trialdesk.snapshot.from_simulation import json_value

    original = simulate_cohort(load_protocol(default_protocol_path()), seed=SEED)
    by_number = {s.screening_number: s for s in original.subjects}
    records = FormRecord.objects.system("test").filter(subject__study=study).select_related("subject", "visit")
    checked = 0
    for record in records:
        simulated = by_number[record.subject.screening_number]
        visit = record.visit.code if record.visit_id else None
        same = [r for r in simulated.records if r.form_code == record.form_code and r.visit_code == visit]
        assert same, (record.subject.screening_number, record.form_code, visit)
        assert _original_names(record.data) in [json_value(r.data) for r in same]
        checked += 1
    assert checked > 100


def test_eligibility_gives_the_same_verdicts_on_the_renamed_copy(study):
    from trialdesk.subjects.services import assess

    original = {s.screening_number: s for s in simulate_cohort(load_protocol(default_protocol_path()), seed=SEED).subjects}
    for subject in _subjects(study):
        verdict = assess(subject, subject.screened_on).verdict
        assert (verdict == "eligible") == original[subject.screening_number].eligible, subject.screening_number


def test_the_snapshot_of_the_renamed_demo_equals_the_simulators(study):
    from trialdesk.datacut import build_snapshot
    from trialdesk.snapshot.from_simulation import common_projection, snapshot_from_simulation

    cohort = simulate_cohort(study.protocol, seed=SEED)
    simulated = {s.screening_number: s for s in snapshot_from_simulation(
        cohort, study.protocol, protocol_sha256=study.protocol_sha256).subjects()}
    database = {s.screening_number: s for s in build_snapshot(study).subjects()}
    treated = [n for n, s in simulated.items() if s.enrolled_on is not None]
    assert len(treated) == 15
    for number in treated:
        assert common_projection(database[number]) == common_projection(simulated[number]), number


def test_the_pages_work_on_the_renamed_copy(client, study):
    from trialdesk.crf.models import FormRecord

    assert client.login(username="datamanager", password=PASSWORD)
    prefix = f"/studies/{study.nct_id}"
    pages = [f"{prefix}/", f"{prefix}/queries/", f"{prefix}/reports/recruitment/", f"{prefix}/audit/"]
    for subject in _subjects(study)[:6]:
        pages.append(f"{prefix}/subjects/{subject.pk}/")
    for record in FormRecord.objects.system("test").filter(subject__study=study, visit__isnull=False)[:20]:
        pages.append(f"{prefix}/subjects/{record.subject_id}/visits/{record.visit.code}/forms/{record.form_code}/")
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
