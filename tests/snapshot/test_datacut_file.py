"""The data-cut file (pure): written streaming, its hash exactly the canonical JSON's, read back equal,
refused when changed."""

from __future__ import annotations

import datetime as dt
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
    read_datacut,
    verify_datacut,
    write_datacut,
)
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
            VisitSnapshot("SCR", dt.date(2012, 1, 2), dt.date(2011, 12, 20), dt.date(2012, 1, 9), dt.date(2012, 1, 2)),
            VisitSnapshot("M1", dt.date(2012, 2, 6)),
        ),
        records=(
            RecordSnapshot("screening", "SCR", 1, {"ecog": 1, "lvef_pct": 61.5, "weight": 0.1, "comment": "défaut ≥ 2"},
                           "complete", 3),
            RecordSnapshot("concomitant_medication", None, 2, {"medication": "paracétamol", "ongoing": True},
                           "incomplete", 1, voided=True, locked_at=dt.datetime(2012, 3, 1, 8, 0, tzinfo=UTC)),
        ),
        queries=(
            QuerySnapshot(7, RecordRef("screening", "SCR", 1), "ecog", "answered", "manual", "",
                          dt.datetime(2012, 1, 3, 9, 30, 1, 250, tzinfo=UTC), dt.datetime(2012, 1, 4, tzinfo=UTC)),
        ),
        signatures=(
            SignatureSnapshot("visit", "SCR", "Dr Anne Éloi", "approve_visit", dt.datetime(2012, 1, 5, tzinfo=UTC),
                              "valid", "ab" * 32),
        ),
        locks=(LockSnapshot("record", "concomitant_medication@log#2", dt.datetime(2012, 3, 1, 8, 0, tzinfo=UTC)),),
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
    assert {"study", "cutoff", "created_at", "pseudonymised", "protocol_sha256", "subjects", "sha256"} <= set(content)
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
