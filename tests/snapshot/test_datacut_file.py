"""The data-cut file (pure): written streaming, its hash exactly the canonical JSON's, read back equal,
refused when changed."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json

import pytest

from trialdesk.snapshot import (
    DataCutError,
    LockSnapshot,
    ProtocolIdentity,
    QuerySnapshot,
    RecordRef,
    RecordSnapshot,
    SignatureSnapshot,
    SiteSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    VisitSnapshot,
    datacut,
    load_datacut,
    read_datacut,
    verify_datacut,
    write_datacut,
)
from trialdesk.snapshot.collection import paused_collection
from trialdesk.snapshot.datacut import canonical

UTC = dt.UTC


def _subject(n: int) -> SubjectSnapshot:
    return SubjectSnapshot(
        screening_number=f"NTE-S{n:02d}",
        subject_code=f"NTE-{n:03d}",
        site="NTE",
        status="enrolled",
        sex="F",
        age=61,
        year_of_birth=1950,
        initials="AÉ",
        screened_on=dt.date(2012, 1, 2),
        consent_date=dt.date(2012, 1, 1),
        enrolled_on=dt.date(2012, 1, 9),
        visits=(
            VisitSnapshot(
                "SCR", dt.date(2012, 1, 2), dt.date(2011, 12, 20), dt.date(2012, 1, 9), dt.date(2012, 1, 2)
            ),
            VisitSnapshot("M1", dt.date(2012, 2, 6)),
        ),
        records=(
            RecordSnapshot(
                "screening",
                "SCR",
                1,
                {"ecog": 1, "lvef_pct": 61.5, "weight": 0.1, "comment": "défaut ≥ 2"},
                "complete",
                3,
            ),
            RecordSnapshot(
                "concomitant_medication",
                None,
                2,
                {"medication": "paracétamol", "ongoing": True},
                "incomplete",
                1,
                voided=True,
                locked_at=dt.datetime(2012, 3, 1, 8, 0, tzinfo=UTC),
            ),
        ),
        queries=(
            QuerySnapshot(
                7,
                RecordRef("screening", "SCR", 1),
                "ecog",
                "answered",
                "manual",
                "",
                dt.datetime(2012, 1, 3, 9, 30, 1, 250, tzinfo=UTC),
                dt.datetime(2012, 1, 4, tzinfo=UTC),
            ),
        ),
        signatures=(
            SignatureSnapshot(
                "visit",
                "SCR",
                "Dr Anne Éloi",
                "approve_visit",
                dt.datetime(2012, 1, 5, tzinfo=UTC),
                "valid",
                "ab" * 32,
            ),
        ),
        locks=(
            LockSnapshot("record", "concomitant_medication@log#2", dt.datetime(2012, 3, 1, 8, 0, tzinfo=UTC)),
        ),
    )


def _snapshot(subjects, *, calls=None) -> StudySnapshot:
    held = tuple(subjects)

    def source():
        if calls is not None:
            calls.append(1)
        yield from held

    return StudySnapshot(
        study=ProtocolIdentity("NCT00724360", "cd" * 32, "Trastuzumab in B-ALL", "2012-05-01"),
        cutoff=dt.date(2012, 6, 30),
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        pseudonymised=False,
        sites=(SiteSnapshot("NTE", "CHU de Nantes", "Nantes", "France", dt.date(2011, 5, 1)),),
        subject_source=source,
        locks=(LockSnapshot("site", "NTE", dt.datetime(2013, 1, 1, tzinfo=UTC)),),
    )


def test_a_datacut_file_read_back_holds_the_same_snapshot(tmp_path):
    snapshot = _snapshot([_subject(1), _subject(2)])
    path = tmp_path / "cut.json"
    result = write_datacut(snapshot, path)
    back = read_datacut(path)
    assert result.subjects == 2
    assert back == snapshot  # every field but the subject source
    assert tuple(back.subjects()) == tuple(snapshot.subjects())
    assert tuple(back.subjects()) == tuple(snapshot.subjects())  # re-read from the file each time


def test_the_hash_is_the_sha256_of_the_canonical_json_of_the_file_without_its_sha256_key(tmp_path):
    path = tmp_path / "cut.json"
    result = write_datacut(_snapshot([_subject(1)]), path)
    content = json.loads(path.read_text(encoding="utf-8"))
    stated = content.pop("sha256")
    expected = hashlib.sha256(
        json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    ).hexdigest()
    assert stated == expected == result.sha256
    raw = path.read_bytes()
    assert raw.rstrip(b"\n").endswith(f',"sha256":"{stated}"}}'.encode())  # written last
    assert hashlib.sha256(raw[: raw.rindex(b',"sha256":')] + b"}").hexdigest() == stated


def test_the_file_has_the_keys_the_issue_names(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    content = json.loads(path.read_text(encoding="utf-8"))
    assert {"study", "cutoff", "created_at", "pseudonymised", "protocol_sha256", "subjects", "sha256"} <= set(
        content
    )
    subject = content["subjects"][0]
    assert {"subject_code", "site", "status", "visits", "records", "signatures"} <= set(subject)
    assert {"code", "planned_date", "actual_date"} <= set(subject["visits"][0])
    assert {"form", "visit", "repeat", "status", "voided", "data"} <= set(subject["records"][0])
    assert content["cutoff"] == "2012-06-30" and content["protocol_sha256"] == "cd" * 32


def test_a_reindented_file_still_verifies(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    content = json.loads(path.read_text(encoding="utf-8"))
    # the sha256 first, everything indented: the same content, so the same hash
    path.write_text(json.dumps({"sha256": content.pop("sha256"), **content}, indent=2), encoding="utf-8")
    assert verify_datacut(path)["subject_count"] == 1


def test_it_refuses_a_file_whose_hash_does_not_match(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1), _subject(2)]), path)
    path.write_text(path.read_text(encoding="utf-8").replace('"ecog":1', '"ecog":2', 1), encoding="utf-8")
    with pytest.raises(DataCutError, match="sha256 does not match its content") as refused:
        read_datacut(path)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("not json at all", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"study": {}}', "no "),
    ],
)
def test_it_refuses_a_file_that_is_not_a_datacut(tmp_path, text, why):
    path = tmp_path / "cut.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataCutError, match=why):
        read_datacut(path)


def test_a_file_without_its_sha256_is_refused(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    content = json.loads(path.read_text(encoding="utf-8"))
    del content["sha256"]
    path.write_text(canonical(content), encoding="utf-8")
    with pytest.raises(DataCutError, match="no sha256"):
        read_datacut(path)


def test_the_subjects_stream_from_their_source_and_are_read_again_at_each_call(tmp_path):
    calls = []
    snapshot = _snapshot([_subject(1)], calls=calls)
    assert list(snapshot.subjects()) == list(snapshot.subjects())
    assert len(calls) == 2
    write_datacut(snapshot, tmp_path / "cut.json")
    assert len(calls) == 3  # the writer reads them once, as they come


def test_a_write_that_fails_midway_leaves_nothing_behind(tmp_path):
    def failing():
        yield _subject(1)
        raise RuntimeError("the database went away")

    snapshot = _snapshot([])
    from dataclasses import replace

    path = tmp_path / "cut.json"
    with pytest.raises(RuntimeError):
        write_datacut(replace(snapshot, subject_source=failing), path)
    assert list(tmp_path.iterdir()) == []


def test_loading_a_datacut_in_one_reading_gives_what_verify_and_read_give(tmp_path):
    snapshot = _snapshot([_subject(1), _subject(2), _subject(3)])
    path = tmp_path / "cut.json"
    result = write_datacut(snapshot, path)
    loaded = load_datacut(path)
    assert loaded.sha256 == result.sha256 == verify_datacut(path)["sha256"]
    assert loaded.header == verify_datacut(path)
    assert loaded.header["subject_count"] == 3
    assert loaded.snapshot == read_datacut(path) == snapshot
    assert (
        tuple(loaded.snapshot.subjects())
        == tuple(read_datacut(path).subjects())
        == tuple(snapshot.subjects())
    )


def test_a_file_read_a_few_bytes_at_a_time_reads_the_same(tmp_path, monkeypatch):
    # values cut anywhere by the end of a chunk: in a number, a string, a multi-byte character (É, ≥)
    snapshot = _snapshot([_subject(1), _subject(2)])
    path = tmp_path / "cut.json"
    result = write_datacut(snapshot, path)
    for size in (1, 2, 3, 7, 64):
        monkeypatch.setattr(datacut, "CHUNK_BYTES", size)
        loaded = load_datacut(path)
        assert loaded.sha256 == result.sha256
        assert tuple(loaded.snapshot.subjects()) == tuple(snapshot.subjects())


def test_a_file_with_its_values_after_the_subjects_still_verifies(tmp_path):
    path = tmp_path / "cut.json"
    result = write_datacut(_snapshot([_subject(1), _subject(2)]), path)
    content = json.loads(path.read_text(encoding="utf-8"))
    subjects = content.pop("subjects")
    # the subjects first, then every other value: the hash needs a second reading, and matches
    path.write_text(json.dumps({"subjects": subjects, **content}, indent=1), encoding="utf-8")
    assert load_datacut(path).sha256 == result.sha256
    assert verify_datacut(path)["subject_count"] == 2
    path.write_text(
        path.read_text(encoding="utf-8").replace('"NCT00724360"', '"NCT00000000"'), encoding="utf-8"
    )
    with pytest.raises(DataCutError, match="sha256 does not match its content"):
        load_datacut(path)


def test_loading_refuses_a_changed_file(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1), _subject(2)]), path)
    path.write_text(path.read_text(encoding="utf-8").replace('"ecog":1', '"ecog":2', 1), encoding="utf-8")
    with pytest.raises(DataCutError, match="sha256 does not match its content"):
        load_datacut(path)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda text: text.replace('"ecog":1', '"ecog":NaN', 1), "not valid JSON"),
        (lambda text: text.replace('"ecog":1', '"ecog":1e999', 1), "not a data-cut file"),
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: text + "[]", "more after the object"),
        (
            lambda text: text.replace('"subjects":[', '"subjects":[{"screening_number":1},', 1),
            "a bad subject",
        ),
    ],
)
def test_loading_refuses_a_file_that_is_not_json_or_not_a_datacut(tmp_path, change, why):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(DataCutError, match=why) as refused:
        load_datacut(path)
    assert "\n" not in str(refused.value)


def test_loading_refuses_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    path.write_bytes(path.read_bytes().replace("AÉ".encode(), b"A\xc9", 1))
    with pytest.raises(DataCutError, match="not UTF-8 text"):
        load_datacut(path)


def test_loading_names_a_missing_file(tmp_path):
    with pytest.raises(DataCutError, match="no data-cut file at"):
        load_datacut(tmp_path / "absent.json")
    with pytest.raises(DataCutError, match="is a folder"):
        load_datacut(tmp_path)


def test_the_collector_runs_again_after_a_load_as_it_did_before(tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(_snapshot([_subject(1)]), path)
    assert gc.isenabled()
    load_datacut(path)
    assert gc.isenabled()
    with paused_collection():
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it
    assert gc.isenabled()
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(DataCutError):
        load_datacut(path)
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_collection():
            pass
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
