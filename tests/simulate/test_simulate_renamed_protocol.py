"""The simulator knows no trial: on a copy of NCT00724360's file whose every field code
and choice value is renamed (consistently, in the forms, the expressions and the
concept map), it simulates the same cohort, record for record, under the new names."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from trialdesk.protocol import default_protocol_path, load_protocol_text
from trialdesk.simulate import simulate_cohort

FIELD, VALUE = "fld_", "val_"
# Quoted values, ``subject.<attribute>`` (the subject's own dates, not form fields: never
# renamed), and names.
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|\bsubject\.[a-z_][a-z0-9_]*\b|\b[a-z_][a-z0-9_]*\b")


def _renamed_document() -> tuple[dict[str, Any], set[str], set[str]]:
    doc = yaml.safe_load(default_protocol_path().read_text(encoding="utf-8"))
    fields = {f["code"] for form in doc["forms"] for f in form["fields"]}
    values = {c["value"] for form in doc["forms"] for f in form["fields"] for c in f.get("choices", [])}

    def expression(text: str | None) -> str | None:
        if text is None:
            return None

        def rename(match: re.Match[str]) -> str:
            token = match.group(0)
            if token[0] in "'\"":
                inner = token[1:-1]
                return f"{token[0]}{VALUE}{inner}{token[0]}" if inner in values else token
            if token.startswith("subject."):
                return token
            return FIELD + token if token in fields else token

        return _TOKEN.sub(rename, text)

    for form in doc["forms"]:
        for f in form["fields"]:
            f["code"] = FIELD + f["code"]
            f["condition"] = expression(f.get("condition"))
            if f["condition"] is None:
                del f["condition"]
            for choice in f.get("choices", []):
                choice["value"] = VALUE + choice["value"]
            for link, code in (f.get("ctcae") or {}).items():  # the fields a CTCAE term fills
                f["ctcae"][link] = FIELD + code
        for check in form.get("edit_checks", []):
            check["rule"] = expression(check["rule"])
    for criterion in doc["eligibility"]["criteria"]:
        criterion["rule"] = expression(criterion["rule"])
    concepts = doc["concepts"]
    for name, places in concepts["fields"].items():
        concepts["fields"][name] = [f"{p.split('.')[0]}.{FIELD}{p.split('.')[1]}" for p in places]
    for choice in concepts["choices"].values():
        form, field = choice["field"].split(".")
        choice["field"] = f"{form}.{FIELD}{field}"
        choice["value"] = VALUE + choice["value"]
    return doc, fields, values


@pytest.fixture(scope="module")
def renamed():
    doc, _, _ = _renamed_document()
    return load_protocol_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "renamed.yaml")


def _original_names(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        assert key.startswith(FIELD), key
        if isinstance(value, str) and value.startswith(VALUE):
            value = value[len(VALUE) :]
        out[key[len(FIELD) :]] = value
    return out


def test_the_renamed_copy_is_a_valid_protocol(renamed):
    assert renamed.form("screening").field_codes[0] == f"{FIELD}screening_date"
    assert renamed.choice_value("red_cell_transfusion") == f"{VALUE}red_cells"


def test_the_simulator_gives_the_same_cohort_under_the_new_names(protocol, cohort, renamed):
    again = simulate_cohort(renamed, seed=2012)
    assert len(again.subjects) == len(cohort.subjects)
    for original, copy in zip(cohort.subjects, again.subjects, strict=True):
        assert (copy.label, copy.status, copy.death_date, copy.failed_criteria) == (
            original.label,
            original.status,
            original.death_date,
            original.failed_criteria,
        )
        assert copy.visits == original.visits
        assert len(copy.records) == len(original.records)
        for record, renamed_record in zip(original.records, copy.records, strict=True):
            assert (renamed_record.form_code, renamed_record.visit_code, renamed_record.repeat) == (
                record.form_code,
                record.visit_code,
                record.repeat,
            )
            assert _original_names(renamed_record.data) == record.data, (original.label, record.form_code)
