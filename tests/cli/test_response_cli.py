"""``trialdesk response``: the derived response of one marrow, its JSON, and bad input
exiting 3 with one line naming the field. Criteria: ASH for ALL, BBMT 2010;16:1187,
Table 4a (the packaged protocol's response_criteria)."""

from __future__ import annotations

import json

import pytest

from trialdesk.cli import main

PR_INPUT = {
    "baseline_marrow_blasts_pct": 80,
    "marrow_blasts_pct": 20,
    "circulating_blasts": False,
    "extramedullary_disease": False,
    "anc": 1.5,
    "platelets": 120,
}


@pytest.fixture
def write(tmp_path):
    def _write(data) -> str:
        path = tmp_path / "input.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return str(path)

    return _write


def run(capsys, *args):
    code = main(["response", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_it_prints_the_response_and_why(capsys, write):
    code, out, err = run(capsys, write(PR_INPUT))
    assert code == 0 and err == ""
    assert out.splitlines()[0] == "PR"
    assert "marrow blasts 20 %, a 75 % decrease from 80 % at baseline" in out


def test_json_output_has_the_response_and_its_explanation(capsys, write):
    code, out, _ = run(capsys, write(PR_INPUT), "--json")
    assert code == 0
    assert json.loads(out) == {
        "response": "PR",
        "explanation": "PR: marrow blasts 20 %, a 75 % decrease from 80 % at baseline; ANC 1.5 (at least 1); "
        "platelets 120 (at least 100)",
    }


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"marrow_blasts_pct": 4.9}, "CR"),
        ({"marrow_blasts_pct": 4.9, "platelets": 99}, "CRp"),
        ({"marrow_blasts_pct": 4.9, "anc": 0.99}, "NR"),
        ({"circulating_blasts": True}, "NR"),
        ({"marrow_blasts_pct": 90}, "NR"),  # +12.5 % over the baseline nadir: not a progression
        ({"marrow_blasts_pct": 90, "nadir_marrow_blasts_pct": 72}, "PD"),  # exactly +25 %
        ({"marrow_blasts_pct": 89.9, "nadir_marrow_blasts_pct": 72}, "NR"),
        ({"marrow_blasts_pct": 5, "previous_best_response": "CR"}, "relapse"),
        ({"marrow_blasts_pct": 4.9, "circulating_blasts": True, "previous_best_response": "CRp"}, "relapse"),
        (
            {"marrow_blasts_pct": 4.9, "extramedullary_disease": True, "new_extramedullary_disease": True},
            "PD",
        ),
        ({"marrow_blasts_pct": 4.9, "extramedullary_disease": True}, "NR"),
    ],
)
def test_each_category_at_its_boundary(capsys, write, change, expected):
    code, out, _ = run(capsys, write({**PR_INPUT, **change}), "--json")
    assert code == 0 and json.loads(out)["response"] == expected


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({k: v for k, v in PR_INPUT.items() if k != "anc"}, "field 'anc': is missing"),
        ({**PR_INPUT, "anc": None}, "field 'anc': is missing"),
        ({**PR_INPUT, "anc": "1.5"}, "field 'anc': must be a number"),
        ({**PR_INPUT, "anc": -1}, "field 'anc': -1 is impossible"),
        ({**PR_INPUT, "marrow_blasts_pct": 101}, "field 'marrow_blasts_pct': 101 is impossible"),
        ({**PR_INPUT, "circulating_blasts": "no"}, "field 'circulating_blasts': must be true or false"),
        ({**PR_INPUT, "circulating_blasts": 0}, "field 'circulating_blasts': must be true or false"),
        ({**PR_INPUT, "platelets": True}, "field 'platelets': must be a number"),
        ({**PR_INPUT, "previous_best_response": "PD"}, "field 'previous_best_response': must be one of"),
        ({**PR_INPUT, "marrow_blast": 3}, "field 'marrow_blast': is not a key"),
        ({**PR_INPUT, "nadir_marrow_blasts_pct": 90}, "field 'nadir_marrow_blasts_pct': cannot be above"),
        ({**PR_INPUT, "new_extramedullary_disease": True}, "field 'new_extramedullary_disease'"),
        ([1, 2], "must be a JSON object"),
        ("{not json", "not valid JSON"),
        ('{"anc": NaN}', "NaN is not a number JSON allows"),
    ],
)
def test_bad_input_exits_3_naming_the_field(capsys, write, document, named):
    code, out, err = run(capsys, write(document))
    assert code == 3 and out == ""
    assert named in err and len(err.strip().splitlines()) == 1


def test_a_missing_file_exits_3(capsys, tmp_path):
    code, _, err = run(capsys, str(tmp_path / "nowhere.json"))
    assert code == 3 and "no such file" in err
