"""`trialdesk protocol validate FILE` and `trialdesk protocol show [FILE] [--json]`."""

from __future__ import annotations

import json

from tests.protocol.helpers import column_of, corrupt, line_of

from trialdesk.cli import main
from trialdesk.protocol import default_protocol_path, load_default_protocol


def test_validate_prints_ok_for_the_default_protocol(capsys):
    assert main(["protocol", "validate", str(default_protocol_path())]) == 0
    assert capsys.readouterr().out == "OK\n"


def test_validate_prints_every_problem_with_file_line_column(tmp_path, capsys):
    text = corrupt("  phase: Phase 2\n", "  phase: Phase 2\n  phaze: 2\n")
    text = corrupt("rule: diagnosis == 'b_all' and", "rule: diagnosis == 'b-all' and", text)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")

    assert main(["protocol", "validate", str(path)]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{path}:{line_of(text, 'phaze')}:3: ")
    assert "unknown key 'phaze'" in lines[0]
    assert lines[1].startswith(f"{path}:{line_of(text, 'b-all')}:{column_of(text, chr(39) + 'b-all')}: ")
    assert "not one of its choices" in lines[1]


def test_validate_reports_a_yaml_syntax_error_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text("identification:\n  nct_id: [unclosed\n", encoding="utf-8")
    assert main(["protocol", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}:") and "YAML syntax error" in out and "Traceback" not in out


def test_validate_says_in_one_line_that_a_file_is_missing(tmp_path, capsys):
    missing = tmp_path / "missing.yaml"
    assert main(["protocol", "validate", str(missing)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"trialdesk: {missing}: no such file\n"


def test_show_summarises_the_default_protocol(capsys):
    assert main(["protocol", "show"]) == 0
    out = capsys.readouterr().out
    protocol = load_default_protocol()
    assert out.startswith("NCT00724360  ")
    assert "Terminated (Difficulties of recruitment)" in out
    for site in protocol.sites:
        assert f"{site.code}  {site.name}, {site.city} {site.postcode}" in out
    for criterion in protocol.eligibility.criteria:
        assert f"rule: {criterion.rule}" in out
    assert "I1   inclusion [registry] age > 18 years" in out
    assert "SCR" in out and "every 28 days x 12" in out
    for form in protocol.forms:
        assert form.code in out
    for endpoint in protocol.endpoints:
        assert endpoint.title in out
    assert "[operational]" in out and "[registry]" in out


def test_show_prints_the_normalised_protocol_as_json(capsys):
    assert main(["protocol", "show", str(default_protocol_path()), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == load_default_protocol().model_dump(mode="json")
    assert data["identification"]["first_posted"] == "2008-07-29"
    assert data["identification"]["start_date"] == "2006-11"


def test_show_of_a_broken_file_prints_its_problems_and_fails(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(corrupt("  window_days: 14\n", "  window_days: fourteen\n"), encoding="utf-8")
    assert main(["protocol", "show", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "window_days" in captured.err and f"{path}:" in captured.err


def test_protocol_without_a_subcommand_prints_help(capsys):
    assert main(["protocol"]) == 2
    assert "validate" in capsys.readouterr().out
