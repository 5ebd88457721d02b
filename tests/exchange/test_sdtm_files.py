"""SDTM as files: every dataset is CDISC Dataset-JSON 1.1 valid against the schema, reads back
from SAS XPORT version 5 with pyreadstat holding the same rows, and define.json describes
them (SDTM IG 3.4, Dataset-JSON 1.1)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pyreadstat
import pytest

from trialdesk.exchange.sdtm import DATASETS, DEFINE, write_sdtm
from trialdesk.exchange.sdtm.spec import LABEL_MAX, NAME_MAX, TEXT_MAX

SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "standards" / "dataset-json" / "dataset.schema.json"
EXPECTED = {
    "DM",
    "DS",
    "EX",
    "AE",
    "MH",
    "CM",
    "LB",
    "VS",
    "CV",
    "PR",
    "RS",
    "IE",
    "DV",
    "SV",
    "TS",
    "TA",
    "TE",
    "TV",
    "TI",
}


@pytest.fixture(scope="module")
def folder(snapshot, protocol, tmp_path_factory):
    out = tmp_path_factory.mktemp("sdtm")
    result = write_sdtm(snapshot, protocol, out)
    return out, result


@pytest.fixture(scope="module")
def validator():
    if not SCHEMA.is_file():
        pytest.fail(f"the Dataset-JSON 1.1 schema is missing: {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    return jsonschema.Draft201909Validator(schema)


def _dataset(out: Path, name: str) -> dict:
    return json.loads((out / f"{name.lower()}.json").read_text(encoding="utf-8"))


def test_it_writes_every_dataset_the_issue_names_in_both_formats_and_a_define_file(folder):
    out, result = folder
    assert set(DATASETS) == EXPECTED
    names = {p.name for p in out.iterdir()}
    assert names == {f"{n.lower()}.{ext}" for n in EXPECTED for ext in ("json", "xpt")} | {DEFINE}
    assert {name for name, _ in result.files} == names
    assert result.subjects == 24 and result.records["DM"] == 24


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_dataset_json_file_is_valid_against_the_dataset_json_schema(folder, validator, name):
    out, _ = folder
    document = _dataset(out, name)
    errors = sorted(validator.iter_errors(document), key=lambda e: e.path)
    assert errors == [], errors[0].message if errors else ""
    assert document["datasetJSONVersion"].startswith("1.1")
    assert document["records"] == len(document["rows"]) and document["name"] == name
    assert all(len(row) == len(document["columns"]) for row in document["rows"])


def test_the_records_count_comes_before_the_rows_so_a_streaming_reader_knows_it_first(folder):
    out, _ = folder
    text = (out / "lb.json").read_text(encoding="utf-8")
    assert text.index('"records"') < text.index('"columns"') < text.index('"rows"')


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_xpt_file_is_sas_xport_version_5_and_reads_back_with_the_same_rows(folder, name):
    out, _ = folder
    path = out / f"{name.lower()}.xpt"
    assert path.read_bytes()[:80].startswith(
        b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
    )  # v5, not LIBV8
    frame, meta = pyreadstat.read_xport(str(path))
    document = _dataset(out, name)
    columns = [c["name"] for c in document["columns"]]
    assert meta.table_name == name and list(frame.columns) == columns
    assert meta.column_names_to_labels == {c["name"]: c["label"] for c in document["columns"]}
    assert len(frame) == document["records"]
    for index, row in enumerate(document["rows"]):
        for column, value in zip(columns, row, strict=True):
            read = frame.iloc[index][column]
            if value is None:
                assert read == "" or read != read, (name, index, column)  # blank text or missing number
            elif isinstance(value, str):
                assert read == value, (name, index, column)
            else:
                assert float(read) == pytest.approx(float(value)), (name, index, column)


def test_names_labels_and_values_keep_within_the_limits_of_xport_version_5(folder):
    out, _ = folder
    for name in EXPECTED:
        document = _dataset(out, name)
        assert len(name) <= NAME_MAX and len(document["label"]) <= LABEL_MAX
        for column in document["columns"]:
            assert len(column["name"]) <= NAME_MAX and len(column["label"]) <= LABEL_MAX
        for row in document["rows"]:
            assert all(len(v.encode("utf-8")) <= TEXT_MAX for v in row if isinstance(v, str))


def test_define_json_lists_every_dataset_with_its_variables_labels_types_and_origins(folder):
    out, _ = folder
    define = json.loads((out / DEFINE).read_text(encoding="utf-8"))
    assert define["standard"] == {"name": "SDTMIG", "version": "3.4"}
    by_name = {d["name"]: d for d in define["datasets"]}
    assert set(by_name) == EXPECTED
    for name, described in by_name.items():
        spec = DATASETS[name]
        assert described["label"] == spec.label and described["records"] == _dataset(out, name)["records"]
        assert described["files"] == [f"{name.lower()}.json", f"{name.lower()}.xpt"]
        assert [v["name"] for v in described["variables"]] == list(spec.names)
        for variable in described["variables"]:
            assert variable["label"] and variable["origin"] in {
                "Collected",
                "Derived",
                "Assigned",
                "Protocol",
            }
            assert variable["core"] in {"Req", "Exp", "Perm"} and variable["sasType"] in {"Char", "Num"}
            assert variable["length"] >= 1


def test_only_the_formats_asked_for_are_written(snapshot, protocol, tmp_path):
    result = write_sdtm(snapshot, protocol, tmp_path, formats=("xpt",))
    names = {name for name, _ in result.files}
    assert names == {f"{n.lower()}.xpt" for n in EXPECTED} | {DEFINE}
    assert {p.name for p in tmp_path.iterdir()} == names  # no spool left behind


def test_it_refuses_a_format_it_does_not_know(snapshot, protocol, tmp_path):
    with pytest.raises(ValueError, match="xml"):
        write_sdtm(snapshot, protocol, tmp_path, formats=("xml",))
    assert list(tmp_path.iterdir()) == []


def test_the_subjects_are_read_once_one_at_a_time(snapshot, protocol, tmp_path):
    from dataclasses import replace

    calls = []

    def source():
        calls.append(1)
        yield from snapshot.subjects()

    result = write_sdtm(replace(snapshot, subject_source=source), protocol, tmp_path, formats=("json",))
    assert calls == [1] and result.subjects == 24


def test_the_same_snapshot_gives_the_same_rows(snapshot, protocol, tmp_path, folder):
    out, _ = folder
    write_sdtm(snapshot, protocol, tmp_path, formats=("json",))
    for name in EXPECTED:
        assert _dataset(tmp_path, name)["rows"] == _dataset(out, name)["rows"]


def test_an_empty_dataset_and_text_beyond_ascii_read_back_from_xport(snapshot, protocol, tmp_path):
    from dataclasses import replace

    from trialdesk.snapshot.model import held

    enrolled = next(
        s for s in snapshot.subjects() if s.enrolled_on is not None and not s.screen_failure_criteria
    )
    medication = protocol.concept_form("medication_name")
    field = protocol.concept_field("medication_name", medication)
    records = tuple(
        replace(r, data={**r.data, field: "Paracétamol — 1 g"}) if r.form == medication else r
        for r in enrolled.records
    )
    one = replace(snapshot, subject_source=held([replace(enrolled, records=records)]))
    result = write_sdtm(one, protocol, tmp_path, formats=("xpt",))
    assert result.records["IE"] == 0  # an enrolled subject met every criterion
    frame, meta = pyreadstat.read_xport(str(tmp_path / "ie.xpt"))
    assert len(frame) == 0 and list(frame.columns) == list(DATASETS["IE"].names)
    frame, _ = pyreadstat.read_xport(str(tmp_path / "cm.xpt"))
    assert "Paracétamol — 1 g" in set(frame["CMTRT"])
