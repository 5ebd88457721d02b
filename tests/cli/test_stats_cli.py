"""`trialdesk stats forecast`: JSON shape, human output, exit codes, one-line messages."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trialdesk.cli import main

NCT_CSV = Path(__file__).resolve().parents[1] / "stats" / "data" / "nct00724360_recruitment.csv"


def run(capsys, *argv):
    code = main(["stats", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, text, name="recruitment.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_error(err, *fragments):
    assert err.count("\n") == 1 and err.startswith("trialdesk: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_json_has_the_forecast_with_iso_dates_and_two_element_intervals(capsys):
    code, out, err = run(
        capsys,
        "forecast",
        NCT_CSV,
        "--target",
        30,
        "--as-of",
        "2011-07-01",
        "--planned-end",
        "2012-12-31",
        "--json",
    )
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert {
        "enrolled",
        "target",
        "alpha",
        "beta",
        "median_date",
        "interval_80",
        "interval_95",
    } <= payload.keys()
    assert payload["enrolled"] == 15 and payload["target"] == 30
    assert isinstance(payload["alpha"], float) and isinstance(payload["beta"], float)
    assert payload["time_unit"] == "day"
    for key in ("interval_80", "interval_95"):
        assert len(payload[key]) == 2 and all(len(d) == 10 and d[4] == "-" for d in payload[key])
    assert payload["interval_95"][0] <= payload["interval_80"][0] <= payload["median_date"]
    assert payload["median_date"] <= payload["interval_80"][1] <= payload["interval_95"][1]
    assert 0 <= payload["probability_by_planned_end"] < 0.02


def test_without_a_planned_end_the_probability_is_null(capsys):
    code, out, _ = run(capsys, "forecast", NCT_CSV, "--target", 30, "--as-of", "2011-07-01", "--json")
    assert code == 0 and json.loads(out)["probability_by_planned_end"] is None


def test_human_output_is_a_few_readable_lines(capsys):
    code, out, _ = run(
        capsys, "forecast", NCT_CSV, "--target", 30, "--as-of", "2011-07-01", "--planned-end", "2012-12-31"
    )
    assert code == 0
    assert "enrolled      15 of 30 at 8 sites, 15 to go" in out
    assert "median 20" in out and "80 % interval" in out and "95 % interval" in out
    assert "of reaching 30 by the planned end 2012-12-31" in out
    assert "Anisimov & Fedorov (2007)" in out
    assert len(out.splitlines()) < 15


def test_a_simulated_forecast_reports_its_draws_and_seed(capsys, tmp_path):
    path = write(
        tmp_path,
        "site,activation_date,enrollment_date\n"
        + "".join(f"A,2024-01-01,2024-{m:02d}-10\n" for m in range(1, 7))
        + "".join(f"A,2024-01-01,2024-{m:02d}-20\n" for m in range(1, 7))
        + "B,2024-02-01,2024-05-01\nC,2024-03-01,\n",
    )
    code, out, _ = run(
        capsys, "forecast", path, "--target", 40, "--as-of", "2024-06-30", "--seed", 3, "--json"
    )
    payload = json.loads(out)
    assert code == 0 and payload["method"] == "simulation" and payload["seed"] == 3
    again = run(capsys, "forecast", path, "--target", 40, "--as-of", "2024-06-30", "--seed", 3, "--json")[1]
    assert json.loads(again) == payload


def test_a_target_already_reached_says_so_and_exits_0_with_probability_one(capsys):
    code, out, err = run(
        capsys, "forecast", NCT_CSV, "--target", 15, "--as-of", "2011-07-01", "--planned-end", "2012-12-31"
    )
    assert code == 0 and err == ""
    assert "already reached on 2011-02-14" in out
    code, out, _ = run(
        capsys,
        "forecast",
        NCT_CSV,
        "--target",
        15,
        "--as-of",
        "2011-07-01",
        "--planned-end",
        "2012-12-31",
        "--json",
    )
    payload = json.loads(out)
    assert payload["probability_by_planned_end"] == 1.0 and payload["median_date"] == "2011-02-14"


def test_the_as_of_date_defaults_to_today(capsys, tmp_path):
    today = datetime.now(UTC).date()
    past = write(
        tmp_path, f"site,activation_date,enrollment_date\nA,2020-01-01,2020-03-01\nB,2020-01-01,{today}\n"
    )
    code, out, _ = run(capsys, "forecast", past, "--target", 10, "--json")
    assert code == 0 and json.loads(out)["as_of"] == today.isoformat()
    future = write(
        tmp_path,
        f"site,activation_date,enrollment_date\nA,2020-01-01,{today + timedelta(days=1)}\n",
        "future.csv",
    )
    code, _, err = run(capsys, "forecast", future, "--target", 10)
    assert code == 3
    assert_one_line_error(err, "line 2", "is after the as-of date")


HEADER = "site,activation_date,enrollment_date\n"


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("", ["the file is empty"]),
        (HEADER, ["no site in the file"]),
        ("site,activation_date\nA,2024-01-01\n", ["missing column enrollment_date"]),
        ("site,enrolled\nA,2024-01-01\n", ["missing columns activation_date, enrollment_date"]),
        (
            HEADER + "A,2024-01-01,2024-02-01\nA,2024-01-01,2024-02-30\n",
            ["line 3", "enrollment_date '2024-02-30' is not a date"],
        ),
        (
            HEADER + "A,2024-01-01,2024-02-01\n\nB,01/02/2024,\n",
            ["line 4", "activation_date '01/02/2024' is not a date"],
        ),
        (
            HEADER + "A,2024-01-10,2024-01-09\n",
            ["line 2", "enrollment 2024-01-09 is before the site's activation 2024-01-10"],
        ),
        (
            HEADER + "A,2024-01-10,2024-08-01\n",
            ["line 2", "enrollment 2024-08-01 is after the as-of date 2024-06-30"],
        ),
        (
            HEADER + "A,2024-01-10,\nA,2024-01-11,2024-02-01\n",
            ["line 3", "activation_date 2024-01-11 differs from 2024-01-10 on line 2"],
        ),
        (HEADER + "A,2024-01-10,\nB,2024-02-01,\n", ["cannot forecast without any enrolled patient"]),
    ],
)
def test_bad_data_gets_one_line_and_exit_3(capsys, tmp_path, content, fragments):
    path = write(tmp_path, content)
    code, out, err = run(capsys, "forecast", path, "--target", 30, "--as-of", "2024-06-30")
    assert code == 3 and out == ""
    assert_one_line_error(err, *fragments)


def test_a_missing_file_gets_one_line_and_exit_3(capsys, tmp_path):
    code, _, err = run(capsys, "forecast", tmp_path / "nowhere.csv", "--target", 30)
    assert code == 3
    assert_one_line_error(err, "nowhere.csv: no such file")


def test_a_file_that_is_not_text_gets_one_line_and_exit_3(capsys, tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x00site\x80")
    code, _, err = run(capsys, "forecast", path, "--target", 30)
    assert code == 3
    assert_one_line_error(err, "not UTF-8 text")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--target", "0"], "--target must be a positive whole number, not '0'"),
        (["--target", "-3"], "--target must be a positive whole number"),
        (["--target", "thirty"], "--target must be a positive whole number, not 'thirty'"),
        (
            ["--target", "30", "--as-of", "2024-02-30"],
            "--as-of '2024-02-30' is not a date (expected YYYY-MM-DD)",
        ),
        (["--target", "30", "--planned-end", "soon"], "--planned-end 'soon' is not a date"),
        (["--target", "30", "--seed", "x"], "--seed must be a whole number of at least 0"),
        (["--target", "30", "--draws", "10"], "--draws must be a whole number of at least 1000"),
    ],
)
def test_bad_options_get_one_line_and_exit_2(capsys, tmp_path, options, fragment):
    path = tmp_path / "nct.csv"
    shutil.copy(NCT_CSV, path)
    code, _, err = run(capsys, "forecast", path, *options)
    assert code == 2
    assert_one_line_error(err, fragment)


def test_a_missing_target_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", "forecast", str(NCT_CSV)])
    assert exit_info.value.code == 2
    assert "--target" in capsys.readouterr().err


def test_stats_without_an_analysis_lists_them_and_exits_2(capsys):
    code, out, _ = run(capsys)
    assert code == 2
    assert all(name in out for name in ("forecast", "binomial", "simon", "km"))
