"""``trialdesk eligibility``: output, JSON shape, exit codes, one-line errors naming the field."""

from __future__ import annotations

import io
import json

import pytest

from trialdesk.cli import main
from trialdesk.protocol import default_protocol_path

ELIGIBLE = {
    "age_years": 45,
    "diagnosis": "b_all",
    "disease_status": "refractory",
    "ecog": 1,
    "ast": 80.0,
    "ast_uln": 40.0,
    "alt": 60.0,
    "alt_uln": 40.0,
    "creatinine": 80.0,
    "creatinine_uln": 100.0,
    "marrow_blasts_pct": 65.0,
    "her2_positive_blasts_pct": 45.0,
    "prior_trastuzumab": False,
    "lvef_pct": 60.0,
}


@pytest.fixture
def write(tmp_path):
    def _write(data, name="input.json") -> str:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return str(path)

    return _write


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["eligibility", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_eligible_subject_exits_0_and_lists_every_criterion(capsys, write):
    code, out, err = run(capsys, write(ELIGIBLE))
    assert code == 0
    assert err == ""
    lines = out.strip().splitlines()
    assert lines[-1] == "Verdict: eligible"
    assert any(
        "met" in line and "I1" in line and "Age at screening 45 years, at least 18 years" in line
        for line in lines
    )
    assert sum(1 for line in lines if line.strip().startswith("met")) == 9


def test_a_subject_not_eligible_exits_1_and_names_the_failed_criteria(capsys, write):
    code, out, _ = run(capsys, write({**ELIGIBLE, "alt": 310.0, "lvef_pct": 45.0}))
    assert code == 1
    assert "ALT 310 U/L = 7.8 × ULN, above 5 × ULN (200 U/L)" in out
    assert out.strip().splitlines()[-1] == "Verdict: NOT ELIGIBLE (not met: I4, E2)"


def test_a_subject_with_a_missing_value_exits_2(capsys, write):
    values = dict(ELIGIBLE)
    del values["her2_positive_blasts_pct"]
    code, out, _ = run(capsys, write(values))
    assert code == 2
    assert "HER2-positive marrow blasts missing" in out
    assert (
        out.strip().splitlines()[-1]
        == "Verdict: not assessable (unknown: I7; missing: her2_positive_blasts_pct)"
    )


def test_json_output_has_the_verdict_and_each_criterion(capsys, write):
    code, out, _ = run(capsys, write({**ELIGIBLE, "ecog": 3}), "--json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"verdict", "criteria"}
    assert data["verdict"] == "not_eligible"
    assert len(data["criteria"]) == 9
    for criterion in data["criteria"]:
        assert set(criterion) == {"code", "text", "status", "explanation"}
        assert criterion["status"] in ("met", "not_met", "unknown")
    ecog = next(c for c in data["criteria"] if c["code"] == "I3")
    assert ecog == {
        "code": "I3",
        "text": "performance status of 0-2 on the Eastern Cooperative Oncology Group scale",
        "status": "not_met",
        "explanation": "ECOG performance status 3, above 2",
    }


def test_json_output_of_eligible_and_not_assessable_subjects(capsys, write):
    assert json.loads(run(capsys, write(ELIGIBLE), "--json")[1])["verdict"] == "eligible"
    code, out, _ = run(capsys, write({**ELIGIBLE, "ast": None}), "--json")
    assert (code, json.loads(out)["verdict"]) == (2, "not_assessable")


def test_an_explicit_protocol_file_is_used(capsys, write):
    code, _, _ = run(capsys, "--protocol", str(default_protocol_path()), write(ELIGIBLE))
    assert code == 0


def test_the_screening_window_applies_to_dated_values(capsys, write):
    document = {"values": ELIGIBLE, "value_dates": {"lvef_pct": "2024-01-01"}, "as_of": "2024-01-20"}
    code, out, _ = run(capsys, write(document))
    assert code == 2
    assert "LVEF) measured 2024-01-01, older than the 14-day screening window" in out
    code, _, _ = run(capsys, write(document), "--as-of", "2024-01-10")
    assert code == 0


def test_input_can_come_from_standard_input(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ELIGIBLE)))
    assert run(capsys, "-")[0] == 0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({**ELIGIBLE, "ecgo": 1}, "field 'ecgo': unknown field code 'ecgo'"),
        ({**ELIGIBLE, "age_years": "45"}, "field 'age_years': expected a whole number, got the text '45'"),
        ({**ELIGIBLE, "prior_trastuzumab": "no"}, "field 'prior_trastuzumab': expected true or false"),
        ({**ELIGIBLE, "marrow_blasts_pct": 140}, "field 'marrow_blasts_pct': 140 % is impossible"),
        ({**ELIGIBLE, "diagnosis": "ALL"}, "field 'diagnosis': 'ALL' is not one of b_all, t_all, other"),
        ({"values": ELIGIBLE, "as_of": "tomorrow"}, "field 'as_of': 'tomorrow' is not a date"),
        ([1, 2, 3], "expected an object of field codes and values"),
    ],
)
def test_bad_input_exits_3_with_one_line_naming_the_field(capsys, write, data, words):
    code, out, err = run(capsys, write(data))
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert words in err


def test_unreadable_json_exits_3_with_one_line(capsys, write):
    code, out, err = run(capsys, write('{"ecog": '))
    assert code == 3
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "not valid JSON" in err


def test_nan_in_json_is_refused(capsys, write):
    code, _, err = run(capsys, write('{"ast": NaN}'))
    assert code == 3
    assert "NaN" in err


def test_a_missing_input_file_exits_3(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path / "nope.json"))
    assert code == 3
    assert "no such file" in err


def test_a_broken_protocol_file_exits_3(capsys, write, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("identification: [", encoding="utf-8")
    code, _, err = run(capsys, "--protocol", str(broken), write(ELIGIBLE))
    assert code == 3
    assert "broken.yaml" in err


def test_a_bad_as_of_option_exits_3(capsys, write):
    code, _, err = run(capsys, write(ELIGIBLE), "--as-of", "2024-13-01")
    assert code == 3
    assert "--as-of" in err
