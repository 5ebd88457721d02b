"""``trialdesk dose``: the dose as text and JSON, and one line naming the argument on bad input.

Numbers: the trastuzumab label as the protocol states it (4 mg/kg loading, 2 mg/kg
weekly, a new loading dose more than 14 days after the last, the dose recomputed on a
weight change over 10 %), 150 mg vials; the weight range 25-250 kg is the protocol's
infusion form.
"""

from __future__ import annotations

import json

import pytest

from trialdesk.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["dose", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def dose_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert (code, err) == (0, "")
    return json.loads(out)


def test_without_a_last_dose_it_gives_the_loading_dose(capsys):
    assert dose_json(capsys, "--weight", "70") == {
        "kind": "loading",
        "mg_per_kg": 4.0,
        "weight_kg": 70.0,
        "dose_mg": 280.0,
        "vials": 2,
        "reason": "loading: first dose; 4 mg/kg x 70 kg = 280 mg, 2 vial(s) of 150 mg",
    }


def test_a_week_after_the_last_dose_it_gives_the_maintenance_dose_on_the_weight_used(capsys):
    result = dose_json(
        capsys, "--weight", "75", "--weight-used", "70", "--last-dose", "2026-03-02", "--on", "2026-03-09"
    )
    assert (result["kind"], result["mg_per_kg"], result["weight_kg"], result["dose_mg"], result["vials"]) == (
        "maintenance",
        2.0,
        70.0,
        140.0,
        1,
    )


@pytest.mark.parametrize(("on", "kind"), [("2026-03-16", "maintenance"), ("2026-03-17", "loading")])
def test_14_days_after_the_last_dose_is_maintenance_and_15_a_reload(capsys, on, kind):
    result = dose_json(capsys, "--weight", "70", "--last-dose", "2026-03-02", "--on", on)
    assert result["kind"] == kind


def test_a_reload_says_why(capsys):
    result = dose_json(capsys, "--weight", "70", "--last-dose", "2026-03-02", "--on", "2026-03-18")
    assert result["reason"].startswith("loading: 16 days since the last dose, more than 14")


def test_a_weight_change_over_10_percent_recomputes_on_the_new_weight(capsys):
    result = dose_json(
        capsys, "--weight", "77.1", "--weight-used", "70", "--last-dose", "2026-03-02", "--on", "2026-03-09"
    )
    assert (result["weight_kg"], result["dose_mg"]) == (77.1, 154.0)
    assert "the dose is recomputed" in result["reason"]


def test_the_text_output_gives_the_dose_and_each_rule(capsys):
    code, out, _ = run(capsys, "--weight", "70", "--last-dose", "2026-03-02", "--on", "2026-03-12")
    assert code == 0
    assert out.splitlines()[0] == "maintenance dose: 2 mg/kg x 70 kg = 140 mg (1 vial(s))"
    assert "10 days since the last dose, a late dose (more than 9)" in out


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--weight", "0"], "--weight"),
        (["--weight", "-3"], "--weight"),
        (["--weight", "abc"], "--weight"),
        (["--weight", "nan"], "--weight"),
        (["--weight", "24.9"], "--weight"),
        (["--weight", "250.1"], "--weight"),
        (["--weight", "70", "--weight-used", "0"], "--weight-used"),
        (["--weight", "70", "--last-dose", "2026-02-30", "--on", "2026-03-09"], "--last-dose"),
        (["--weight", "70", "--last-dose", "2026-03-02", "--on", "09/03/2026"], "--on"),
        (["--weight", "70", "--last-dose", "2026-03-09", "--on", "2026-03-08"], "--on"),
        (["--weight", "70", "--on", "2026-03-08"], "--on"),
        (["--weight", "70", "--protocol", "/nonexistent/protocol.yaml"], "--protocol"),
    ],
)
def test_it_refuses_bad_input_with_exit_3_and_one_line_naming_the_argument(capsys, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 3
    assert out == ""
    assert err.startswith(f"trialdesk: {named}: ")
    assert len(err.strip().splitlines()) == 1


def test_the_weight_range_is_the_protocols(capsys):
    code, _, err = run(capsys, "--weight", "251")
    assert code == 3
    assert "outside the protocol's weight range (25 to 250 kg)" in err
