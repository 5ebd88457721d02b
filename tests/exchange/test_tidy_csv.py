"""The tidy CSV (pure): one file per form, one row per record, one column per field with the
choice labels beside the codes, voided rows flagged, and the data dictionary."""

from __future__ import annotations

import csv
import hashlib

from trialdesk.exchange.tidy import (
    DICTIONARY,
    DICTIONARY_COLUMNS,
    RECORD_COLUMNS,
    manifest_sha256,
    write_tidy_csv,
)


def _rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_there_is_one_csv_per_form_and_the_data_dictionary(snapshot, protocol, tmp_path):
    result = write_tidy_csv(snapshot, protocol, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"{f.code}.csv" for f in protocol.forms] + [DICTIONARY])
    assert [name for name, _ in result.files] == names


def test_each_record_is_one_row_and_each_field_one_column_with_labels_beside_codes(
    snapshot, protocol, tmp_path
):
    write_tidy_csv(snapshot, protocol, tmp_path)
    subjects = list(snapshot.subjects())
    for form in protocol.forms:
        rows = _rows(tmp_path / f"{form.code}.csv")
        assert len(rows) == sum(len(s.records_of(form.code, include_voided=True)) for s in subjects)
        with (tmp_path / f"{form.code}.csv").open(encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert header[: len(RECORD_COLUMNS)] == list(RECORD_COLUMNS)
        for field in form.fields:
            assert field.code in header
            if field.choices:
                assert header[header.index(field.code) + 1] == f"{field.code}_label"
    screening = _rows(tmp_path / "screening.csv")
    first = next(s for s in subjects if s.records_of("screening"))
    row = next(r for r in screening if r["subject"] == first.label)
    sex = protocol.forms[0].field("sex")
    value = first.records_of("screening")[0].data["sex"]
    assert row["sex"] == value and row["sex_label"] == next(c.label for c in sex.choices if c.value == value)


def test_booleans_are_true_false_and_no_value_is_an_empty_cell(snapshot, protocol, tmp_path):
    write_tidy_csv(snapshot, protocol, tmp_path)
    rows = _rows(tmp_path / "screening.csv")
    assert {r["prior_trastuzumab"] for r in rows} <= {"TRUE", "FALSE"}
    assert "" in {r["karyotype"] for r in rows}  # asked only when the karyotype is abnormal
    assert all("None" not in r.values() for r in rows)


def test_a_voided_record_is_kept_and_flagged(snapshot, protocol, tmp_path):
    write_tidy_csv(snapshot, protocol, tmp_path)
    first = next(iter(snapshot.subjects()))
    voided = next(r for r in first.records if r.voided)
    rows = _rows(tmp_path / f"{voided.form}.csv")
    flagged = [r for r in rows if r["voided"] == "TRUE"]
    assert [(r["subject"], r["repeat"]) for r in flagged] == [(first.label, str(voided.repeat))]


def test_the_data_dictionary_names_every_field_with_labels_type_unit_range_choices_condition(
    snapshot, protocol, tmp_path
):
    write_tidy_csv(snapshot, protocol, tmp_path)
    with (tmp_path / DICTIONARY).open(encoding="utf-8") as handle:
        assert next(csv.reader(handle)) == list(DICTIONARY_COLUMNS)
    rows = _rows(tmp_path / DICTIONARY)
    assert len(rows) == sum(len(f.fields) for f in protocol.forms)
    by_key = {(r["form"], r["field"]): r for r in rows}
    age = by_key[("screening", "age_years")]
    field = protocol.forms[0].field("age_years")
    assert (age["label"], age["label_fr"], age["type"], age["unit"]) == (
        field.label,
        field.label_fr,
        "integer",
        field.unit,
    )
    assert (age["min"], age["max"]) == ("0", "120")
    assert by_key[("screening", "sex")]["choices"].startswith("female=Female; male=Male")
    assert by_key[("screening", "karyotype")]["condition"] == "karyotype_abnormal == true"


def test_the_export_hash_is_the_hash_of_its_manifest_of_file_hashes(snapshot, protocol, tmp_path):
    result = write_tidy_csv(snapshot, protocol, tmp_path)
    for name, sha in result.files:
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == sha
    assert result.sha256 == manifest_sha256(result.files)
    changed = ((result.files[0][0], "0" * 64),) + result.files[1:]
    assert manifest_sha256(changed) != result.sha256
