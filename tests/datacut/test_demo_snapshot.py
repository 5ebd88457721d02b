"""The snapshot of the demo database: equal to the simulator's on their common projection, the
same read back from a data-cut file, scoped and pseudonymised for its viewer, cut at a date."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from tests.datacut.conftest import DEMO_SEED, user

from trialdesk.datacut import build_snapshot
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot import read_datacut, write_datacut
from trialdesk.snapshot.cut import ended_on, record_date
from trialdesk.snapshot.from_simulation import (
    common_projection,
    planned_dates_disagreeing,
    snapshot_from_simulation,
)
from trialdesk.studies.pseudonymisation import MASK, free_text_fields


def _by_number(snapshot):
    return {s.screening_number: s for s in snapshot.subjects()}


@pytest.fixture
def both(demo_study):
    database = _by_number(build_snapshot(demo_study))
    cohort = simulate_cohort(demo_study.protocol, seed=DEMO_SEED)
    simulated = _by_number(
        snapshot_from_simulation(cohort, demo_study.protocol, protocol_sha256=demo_study.protocol_sha256)
    )
    return database, simulated


def test_the_database_snapshot_holds_the_simulated_subjects(both):
    database, simulated = both
    assert sorted(database) == sorted(simulated)


def test_the_database_snapshot_equals_the_simulator_snapshot_record_for_record_for_the_treated(both):
    database, simulated = both
    treated = [number for number, s in simulated.items() if s.enrolled_on is not None]
    assert len(treated) == 15
    for number in treated:
        assert common_projection(database[number]) == common_projection(simulated[number]), number
        assert planned_dates_disagreeing(database[number], simulated[number]) == []
        db_records = sum(len(r.data) for r in database[number].records)
        assert db_records == sum(len(r.data) for r in simulated[number].records) > 0


def test_the_database_snapshot_equals_the_simulator_snapshot_for_the_screen_failures(both):
    database, simulated = both
    failures = [number for number, s in simulated.items() if s.status == "screen_failed"]
    assert failures
    for number in failures:
        assert common_projection(database[number]) == common_projection(simulated[number]), number


def test_the_snapshot_of_the_database_and_of_its_datacut_file_are_the_same(demo_study, tmp_path):
    cutoff = dt.date(2009, 6, 30)
    path = tmp_path / "cut.json"
    written = build_snapshot(demo_study, cutoff=cutoff, chunk_size=7)
    write_datacut(written, path)
    from_file = read_datacut(path)
    live = build_snapshot(demo_study, cutoff=cutoff)  # built again: the same data, later
    assert dataclasses.replace(from_file, created_at=live.created_at) == live
    assert from_file == written
    assert list(from_file.subjects()) == list(live.subjects())


def test_a_cutoff_leaves_out_later_subjects_visits_and_their_records(demo_study):
    cutoff = dt.date(2008, 6, 30)
    full = _by_number(build_snapshot(demo_study))
    cut = _by_number(build_snapshot(demo_study, cutoff=cutoff))
    assert set(cut) == {n for n, s in full.items() if s.screened_on <= cutoff}
    assert 0 < len(cut) < len(full)
    later_visits = 0
    for number, subject in cut.items():
        for visit in subject.visits:
            assert visit.actual_date is None or visit.actual_date <= cutoff
        done_later = {v.code for v in full[number].visits if v.actual_date and v.actual_date > cutoff}
        later_visits += len(done_later)
        assert not [r for r in subject.records if r.visit in done_later]
        assert subject.enrolled_on is None or subject.enrolled_on <= cutoff
        # a record counts from its clinical date (the infusion date…), not from its entry
        protocol = demo_study.protocol
        for r in subject.records:
            day = record_date(protocol, r.form, r.data)
            assert day is None or day <= cutoff, (number, r.form, day)
    assert later_visits > 0
    full_logs = sum(
        1
        for number in cut
        for r in full[number].records
        if r.visit is None and (record_date(demo_study.protocol, r.form, r.data) or cutoff) <= cutoff
    )
    cut_logs = sum(1 for subject in cut.values() for r in subject.records if r.visit is None)
    assert cut_logs == full_logs > 0  # the log entries dated before the cut-off are in it


def test_a_cutoff_rolls_a_subjects_status_back_to_what_it_was_then(demo_study):
    full = _by_number(build_snapshot(demo_study))
    left = {n: s for n, s in full.items() if s.status in ("died", "completed", "withdrawn") and s.enrolled_on}
    number, subject = next(iter(sorted(left.items())))
    ended = ended_on(demo_study.protocol, subject.status, [(r.form, r.data) for r in subject.records])
    assert ended is not None
    day_before_end = ended - dt.timedelta(days=1)
    then = _by_number(build_snapshot(demo_study, cutoff=day_before_end))[number]
    assert then.status == "enrolled", (number, subject.status, ended)
    before_enrollment = _by_number(
        build_snapshot(demo_study, cutoff=subject.enrolled_on - dt.timedelta(days=1))
    )
    if number in before_enrollment:
        assert before_enrollment[number].status == "screening"


def test_the_statistician_snapshot_is_pseudonymised_by_the_read_layer(demo_study):
    operator = _by_number(build_snapshot(demo_study))
    statistician = build_snapshot(demo_study, viewer=user("statistician"))
    assert statistician.pseudonymised and statistician.viewer == "statistician"
    free_text = free_text_fields(demo_study.protocol)
    masked = 0
    for subject in statistician.subjects():
        original = operator[subject.screening_number]
        assert subject.year_of_birth is None and original.year_of_birth is not None
        assert subject.age == original.age
        for record, plain in zip(subject.records, original.records, strict=True):
            for code, value in record.data.items():
                if code in free_text and plain.data[code] not in (None, ""):
                    assert value == str(MASK)
                    masked += 1
                else:
                    assert value == plain.data[code]
    assert masked > 0


def test_an_investigator_snapshot_holds_only_the_subjects_of_their_site(demo_study):
    snapshot = build_snapshot(demo_study, viewer=user("investigator.nantes"))
    subjects = list(snapshot.subjects())
    assert subjects and {s.site for s in subjects} == {"NTE"}
    assert [s.code for s in snapshot.sites] == ["NTE"]
    assert not snapshot.pseudonymised
