"""`trialdesk stats binomial | simon | km`: JSON shapes, human output, exit codes (DESIGN §6:
0 done, 1 a negative verdict, 2 usage, 3 bad input naming the argument or column)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trialdesk.cli import main

AML = Path(__file__).resolve().parents[1] / "stats" / "data" / "aml.csv"


def run(capsys, *argv):
    code = main(["stats", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err, *fragments):
    assert err.count("\n") == 1 and err.startswith("trialdesk: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_binomial_json_has_the_exact_interval_of_r_binom_test(capsys):
    """R: binom.test(682, 925) 95 % CI 0.7076683 0.7654066 (wch/r-source stats-Ex.Rout.save)."""
    code, out, err = run(capsys, "binomial", "--x", 682, "--n", 925, "--json")
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert set(payload) == {"x", "n", "estimate", "lower", "upper", "level", "method"}
    assert (payload["x"], payload["n"], payload["level"], payload["method"]) == (682, 925, 0.95, "exact")
    assert round(payload["lower"], 7) == 0.7076683 and round(payload["upper"], 7) == 0.7654066


def test_binomial_prints_one_readable_line_and_takes_wilson_and_a_level(capsys):
    code, out, _ = run(capsys, "binomial", "--x", 2, "--n", 15)
    assert code == 0 and out == "2 of 15: 13.3 % (95 % CI 1.7 to 40.5 %, exact (Clopper-Pearson))\n"
    code, out, _ = run(
        capsys, "binomial", "--x", 2, "--n", 15, "--level", 0.9, "--method", "wilson", "--json"
    )
    assert code == 0 and json.loads(out)["method"] == "wilson" and json.loads(out)["level"] == 0.9


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--x", 16, "--n", 15], "--x (16) must not exceed --n (15)"),
        (["--x", -1, "--n", 15], "--x must not be negative"),
        (["--x", 0, "--n", 0], "--n must be at least 1"),
        (["--x", 2, "--n", 15, "--level", 1], "--level must be strictly between 0 and 1"),
        (["--x", 2, "--n", 15, "--level", 0], "--level must be strictly between 0 and 1"),
    ],
)
def test_binomial_bad_input_exits_3_naming_the_option(capsys, options, fragment):
    code, out, err = run(capsys, "binomial", *options)
    assert code == 3 and out == ""
    assert_one_line_error(err, fragment)


def test_binomial_an_option_that_is_not_a_number_is_a_usage_error(capsys):
    code, _, err = run(capsys, "binomial", "--x", "two", "--n", 15)
    assert code == 2
    assert_one_line_error(err, "--x must be a whole number, not 'two'")


def test_simon_json_has_both_designs_with_their_characteristics(capsys):
    """Simon (1989) Table 1, p0 0.10, p1 0.30, α 0.05, β 0.20: optimal 1/10, 5/29; minimax 1/15, 5/25."""
    code, out, err = run(capsys, "simon", "--p0", 0.1, "--p1", 0.3, "--alpha", 0.05, "--beta", 0.2, "--json")
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert set(payload) == {"optimal", "minimax"}
    keys = {"r1", "n1", "r", "n", "en0", "pet0", "alpha", "power"}
    assert set(payload["optimal"]) == keys and set(payload["minimax"]) == keys
    assert [payload["optimal"][k] for k in ("r1", "n1", "r", "n")] == [1, 10, 5, 29]
    assert [payload["minimax"][k] for k in ("r1", "n1", "r", "n")] == [1, 15, 5, 25]


def test_simon_prints_a_small_table_with_the_rule(capsys):
    code, out, _ = run(capsys, "simon", "--p0", 0.1, "--p1", 0.3, "--alpha", 0.05, "--beta", 0.2)
    assert code == 0
    assert "optimal     1/10    5/29    15.0" in out and "minimax     1/15    5/25    19.5" in out
    assert "stop after stage 1 if responses <= r1" in out


def test_simon_without_a_design_within_nmax_is_a_negative_verdict(capsys):
    code, _, err = run(
        capsys, "simon", "--p0", 0.1, "--p1", 0.3, "--alpha", 0.05, "--beta", 0.2, "--nmax", 20
    )
    assert code == 1
    assert_one_line_error(err, "no two-stage design with n <= 20", "raise --nmax")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (
            ["--p0", 0.3, "--p1", 0.3, "--alpha", 0.05, "--beta", 0.2],
            "--p1 (0.3) must be greater than --p0 (0.3)",
        ),
        (
            ["--p0", 0.3, "--p1", 0.2, "--alpha", 0.05, "--beta", 0.2],
            "--p1 (0.2) must be greater than --p0 (0.3)",
        ),
        (
            ["--p0", 0.1, "--p1", 0.3, "--alpha", 1.2, "--beta", 0.2],
            "--alpha must be strictly between 0 and 1",
        ),
        (["--p0", 0.1, "--p1", 0.3, "--alpha", 0.05, "--beta", 0], "--beta must be strictly between 0 and 1"),
        (
            ["--p0", 0.1, "--p1", 0.3, "--alpha", 0.05, "--beta", 0.2, "--nmax", 1],
            "--nmax must be a whole number",
        ),
    ],
)
def test_simon_bad_input_exits_3_naming_the_option(capsys, options, fragment):
    code, out, err = run(capsys, "simon", *options)
    assert code == 3 and out == ""
    assert_one_line_error(err, fragment)


def test_km_json_has_groups_tables_and_the_log_rank_test(capsys):
    """aml (therneau/survival tests/doaml.Rout.save): survdiff Chisq= 3.4 on 1 df, p= 0.07;
    Nonmaintained median 23. The log-log band's limits are checked in tests/stats/test_survival.py."""
    code, out, err = run(capsys, "km", AML, "--time", "time", "--event", "status", "--group", "x", "--json")
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert set(payload) == {"groups", "logrank"}
    assert set(payload["groups"]) == {"Maintained", "Nonmaintained"}
    group = payload["groups"]["Nonmaintained"]
    assert set(group) == {"n", "events", "median", "median_lower", "median_upper", "table"}
    assert (group["n"], group["events"], group["median"]) == (12, 11, 23)
    assert set(group["table"][0]) == {"time", "n_risk", "n_event", "survival", "lower", "upper"}
    assert group["table"][-1]["lower"] is None and group["table"][-1]["upper"] is None  # R: NA
    assert payload["groups"]["Maintained"]["median_upper"] is None
    assert round(payload["logrank"]["chisq"], 1) == 3.4 and payload["logrank"]["df"] == 1


def test_km_without_group_has_one_group_all_and_no_log_rank(capsys):
    code, out, _ = run(capsys, "km", AML, "--time", "time", "--event", "status", "--json")
    payload = json.loads(out)
    assert code == 0 and list(payload["groups"]) == ["all"] and "logrank" not in payload
    assert payload["groups"]["all"]["n"] == 23


def test_km_prints_the_medians_the_tables_and_the_test(capsys):
    code, out, _ = run(capsys, "km", AML, "--time", "time", "--event", "status", "--group", "x")
    assert code == 0
    assert "Nonmaintained    12     11      23        5       33" in out
    assert "log-rank test: chisq = 3.40 on 1 degree of freedom, p = 0.0653" in out
    assert "       45      1       1   0.0000      NA      NA" in out


@pytest.mark.parametrize(
    ("content", "options", "fragments"),
    [
        ("t,e\n1,1\n", ["--time", "time", "--event", "e"], ["no column 'time' (named by --time)", "t, e"]),
        ("t,e\n1,1\n", ["--time", "t", "--event", "status"], ["no column 'status' (named by --event)"]),
        (
            "t,e\n1,1\n",
            ["--time", "t", "--event", "e", "--group", "arm"],
            ["no column 'arm' (named by --group)"],
        ),
        (
            "t,e\n1,1\n2,2\n",
            ["--time", "t", "--event", "e"],
            ["line 3", "column 'e'", "'2' is not 0 (censored) or 1"],
        ),
        ("t,e\n1,yes\n", ["--time", "t", "--event", "e"], ["line 2", "'yes' is not 0 (censored) or 1"]),
        ("t,e\n-1,1\n", ["--time", "t", "--event", "e"], ["line 2", "column 't'", "the time -1 is negative"]),
        ("t,e\nsoon,1\n", ["--time", "t", "--event", "e"], ["line 2", "'soon' is not a number"]),
        ("t,e,g\n1,1,\n", ["--time", "t", "--event", "e", "--group", "g"], ["line 2", "column 'g' is empty"]),
        ("", ["--time", "t", "--event", "e"], ["the file is empty"]),
        ("t,e\n", ["--time", "t", "--event", "e"], ["no subject in the file"]),
        (
            "t,e\n1,1\n",
            ["--time", "t", "--event", "e", "--level", "95"],
            ["--level must be strictly between 0 and 1"],
        ),
    ],
)
def test_km_bad_input_exits_3_naming_the_column_or_option(capsys, tmp_path, content, options, fragments):
    path = tmp_path / "survival.csv"
    path.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "km", path, *options)
    assert code == 3 and out == ""
    assert_one_line_error(err, *fragments)


def test_km_a_missing_file_exits_3(capsys, tmp_path):
    code, _, err = run(capsys, "km", tmp_path / "nowhere.csv", "--time", "t", "--event", "e")
    assert code == 3
    assert_one_line_error(err, "nowhere.csv: no such file")


def test_km_without_time_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", "km", str(AML), "--event", "status"])
    assert exit_info.value.code == 2
    assert "--time" in capsys.readouterr().err
