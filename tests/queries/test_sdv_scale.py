"""SDV progress at scale: counted in SQL (``FormRecord.filled_fields``, the marks aggregated),
in a constant number of queries, with exactly the figures of a record-by-record count."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.crf.models import FormRecord, FormStatus, filled_count
from trialdesk.crf.services import save_form
from trialdesk.queries import services
from trialdesk.queries.models import SourceVerification
from trialdesk.queries.services import SdvProgress
from trialdesk.subjects.models import Subject, SubjectStatus, Visit


def _populate(study, monitor, subjects: int, seed: int = 3) -> None:
    """Subjects at two sites with complete and incomplete records, some fields empty, and
    marks of every kind: whole form, fields (with a value or empty), reset, and a field the
    record's data does not hold. Written directly (not through the services): a test fixture."""
    rng = random.Random(seed)
    sites = [study.sites.get(code="NTE"), study.sites.get(code="RNS")]
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    codes = list(ELIGIBLE_SCREENING)
    for n in range(subjects):
        subject = Subject.objects.create(
            study=study, site=sites[n % 2], screening_number=f"T-S{n:03d}", status=SubjectStatus.SCREENING,
            screened_on=dt.date(2026, 11, 20),
        )
        for sequence in range(2):
            visit = Visit.objects.create(subject=subject, code=f"V{sequence}", title="visit", sequence=sequence)
            data = dict(ELIGIBLE_SCREENING)
            for code in rng.sample(codes, k=rng.randrange(4)):
                data[code] = rng.choice([None, ""])
            if rng.random() < 0.2:
                data.pop("ecog")
            if rng.random() < 0.1:
                data = {"ecog": None}  # complete with nothing filled
            status = FormStatus.COMPLETE if rng.random() < 0.85 else FormStatus.INCOMPLETE
            record = FormRecord.objects.create(
                subject=subject, visit=visit, form_code="screening", data=data, status=status,
                filled_fields=filled_count(data),
            )
            draw = rng.random()
            marked = []
            if draw < 0.3:
                marked = [""]
            elif draw < 0.8:
                marked = rng.sample(codes, k=rng.randrange(1, len(codes) + 1))
            for code in marked:
                SourceVerification.objects.create(
                    record=record, field_code=code, record_version=1, verified_by=monitor,
                    verified_role="monitor", verified_at=now,
                )
            if rng.random() < 0.3:  # a mark reset by a change: kept, no longer counted
                SourceVerification.objects.create(
                    record=record, field_code="" if "" not in marked else "ecog", record_version=1,
                    verified_by=monitor, verified_role="monitor", verified_at=now, reset_at=now, reset_version=2,
                )


def _reference(user, study, site_code=None):
    """The figures as they were counted before SQL: record by record, decoding each one's data."""
    records = FormRecord.objects.for_user(user, study).filter(subject__study=study, status=FormStatus.COMPLETE)
    marks = SourceVerification.objects.for_user(user, study).active()
    marked: dict[int, set[str]] = {}
    for record_id, field_code in marks.values_list("record_id", "field_code"):
        marked.setdefault(record_id, set()).add(field_code)
    by_site = {code: SdvProgress() for code in services._visible_site_codes(user, study)}
    by_subject = services._subject_table(user, study, site_code)
    for pk, code, subject_id, data in records.values_list("pk", "subject__site__code", "subject_id", "data"):
        filled = {key for key, value in (data or {}).items() if value not in (None, "")}
        done = marked.get(pk, set())
        verified = len(filled) if "" in done else len(filled & done)
        by_site[code].add(len(filled), verified)
        if not site_code or code == site_code:
            by_subject.setdefault(subject_id, SdvProgress()).add(len(filled), verified)
    return by_site, by_subject


@pytest.mark.parametrize("who", ["data_manager", "monitor", "investigator_rennes", "statistician"])
def test_the_sql_figures_are_those_of_a_record_by_record_count(cast, study, who):
    _populate(study, cast.monitor, 24)
    user = getattr(cast, who)
    for site_code in (None, "NTE", "RNS"):
        expected_sites, expected_subjects = _reference(user, study, site_code)
        by_site, by_subject = services.sdv_progress_by_site_and_subject(user, study, site_code)
        assert by_site == expected_sites
        assert by_subject == expected_subjects
        assert services.sdv_progress_by_site(user, study) == expected_sites
        assert services.sdv_progress_by_subject(user, study, site_code) == expected_subjects
    assert sum(p.records for p in expected_sites.values()) > 0
    if who == "investigator_rennes":
        assert set(by_site) == {"RNS"}


def _queries(work) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured.captured_queries)


def test_the_sdv_figures_take_the_same_number_of_queries_for_3_and_30_subjects(cast, study):
    def count():
        return (
            _queries(lambda: services.sdv_progress_by_site(cast.data_manager, study)),
            _queries(lambda: services.sdv_progress_by_site_and_subject(cast.data_manager, study)),
            _queries(lambda: services.sdv_progress_by_site_and_subject(cast.data_manager, study, "NTE")),
        )

    _populate(study, cast.monitor, 3, seed=1)
    count()  # the user's access, read once and cached
    few = count()
    _more(study, cast.monitor)
    assert Subject.objects.system("test").filter(study=study).count() == 30
    assert count() == few
    assert few[0] <= 3 and few[1] <= 4, few


def _more(study, monitor):
    """Up to 30 subjects, each with a complete record and a mark."""
    rng_subjects = Subject.objects.system("test").filter(study=study).count()
    sites = [study.sites.get(code="NTE"), study.sites.get(code="RNS")]
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    for n in range(rng_subjects, 30):
        subject = Subject.objects.create(study=study, site=sites[n % 2], screening_number=f"M-S{n:03d}",
                                         screened_on=dt.date(2026, 11, 20))
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        record = FormRecord.objects.create(subject=subject, visit=visit, form_code="screening",
                                           data=dict(ELIGIBLE_SCREENING), status=FormStatus.COMPLETE,
                                           filled_fields=len(ELIGIBLE_SCREENING))
        SourceVerification.objects.create(record=record, field_code="ecog" if n % 2 else "", record_version=1,
                                          verified_by=monitor, verified_role="monitor", verified_at=now)


def test_the_sdv_page_takes_the_same_number_of_queries_for_3_and_30_subjects(client, cast, study):
    from tests.conftest import PASSWORD

    client.login(username="datamanager", password=PASSWORD)
    _populate(study, cast.monitor, 3, seed=1)
    client.get("/queries/sdv/")
    few = _queries(lambda: client.get("/queries/sdv/"))
    _more(study, cast.monitor)
    page = client.get("/queries/sdv/")
    assert page.status_code == 200 and page.content.decode().count("data-subject=") == 30
    assert _queries(lambda: client.get("/queries/sdv/")) == few


def test_the_form_engine_keeps_the_count_of_filled_fields(cast, screened_subject):
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    assert record.filled_fields == len(ELIGIBLE_SCREENING)
    visit = screened_subject.visits.get(code="SCR")
    data = {k: v for k, v in ELIGIBLE_SCREENING.items() if k != "ecog"}
    outcome = save_form(cast.coordinator_nantes, screened_subject, "screening", data, visit=visit,
                        expected_version=record.version, reason="transcription_error", reason_detail="test")
    outcome.record.refresh_from_db()
    assert outcome.record.filled_fields == filled_count(outcome.record.data) == len(ELIGIBLE_SCREENING) - 1


def test_the_migration_fills_the_count_of_existing_records(cast, screened_subject):
    from importlib import import_module

    from django.db.migrations.loader import MigrationLoader

    FormRecord.objects.system("test").update(filled_fields=0)
    migration = import_module("trialdesk.crf.migrations.0004_filled_fields")
    state = MigrationLoader(connection).project_state(("crf", "0004_filled_fields"))
    migration.fill(state.apps, None)
    for record in FormRecord.objects.system("test").all():
        assert record.filled_fields == filled_count(record.data)
        assert record.filled_fields > 0


def test_the_sdv_page_lists_its_subjects_a_page_at_a_time(client, cast, study, monkeypatch):
    from tests.conftest import PASSWORD

    from trialdesk.queries import views

    monkeypatch.setattr(views, "SDV_PAGE_SIZE", 4)
    _more(study, cast.monitor)
    client.login(username="datamanager", password=PASSWORD)
    first = client.get("/queries/sdv/").content.decode()
    assert first.count("data-subject=") == 4 and 'id="sdv-pager"' in first and "page 1 of 8" in first
    last = client.get("/queries/sdv/?site=RNS&page=4").content.decode()
    assert last.count("data-subject=") == 3 and 'href="?site=RNS&amp;page=3"' in last
    expected = services.sdv_progress_by_subject(cast.data_manager, study, "RNS")
    shown = set(re.findall(r'data-subject="(\d+)"', last))
    assert shown <= {str(pk) for pk in expected}
