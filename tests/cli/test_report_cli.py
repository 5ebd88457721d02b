"""`trialdesk report`: report.html (self-contained) and report.pdf from the database or a data-cut
file; bad input as one line naming the argument, exit 3, nothing written."""

from __future__ import annotations

import os
import re

import pytest

from trialdesk.cli import main


@pytest.fixture(autouse=True)
def _environment_kept(monkeypatch):
    """setup_django() sets defaults in os.environ: none of them outlives a test."""
    for name in ("TRIALDESK_DB", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)


def _figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1)


def test_it_writes_a_self_contained_html_and_a_pdf(enrolled_subject, tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path), "--cutoff", "2026-11-30"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    # nothing fetched: no external link, stylesheet or script, images only as data URIs
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<script" not in html
    assert all(src.startswith("data:") for src in re.findall(r'<img src="([^"]+)"', html))
    assert _figure(html, "enrolled") == "1" and "2026-11-30" in html
    captured = capsys.readouterr()
    assert "report.html" in captured.out and "report.pdf" in captured.out
    assert "reading the data" in captured.err  # the progress on the terminal


def test_the_safety_only_report_has_no_efficacy_section(enrolled_subject, tmp_path):
    assert main(["report", "--out", str(tmp_path), "--safety-only", "--no-pdf"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="safety"' in html and 'id="primary-endpoint"' not in html
    assert not (tmp_path / "report.pdf").exists()


def test_a_report_from_a_datacut_file_has_the_numbers_of_the_database_at_that_cutoff(
    enrolled_subject, tmp_path
):
    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(cut)]) == 0
    live, frozen = tmp_path / "live", tmp_path / "frozen"
    live.mkdir()
    frozen.mkdir()
    assert main(["report", "--out", str(live), "--cutoff", "2026-11-30", "--no-pdf"]) == 0
    assert main(["report", "--out", str(frozen), "--datacut", str(cut), "--no-pdf"]) == 0
    a = (live / "report.html").read_text(encoding="utf-8")
    b = (frozen / "report.html").read_text(encoding="utf-8")
    for name in ("subjects", "enrolled", "treated"):
        assert _figure(a, name) == _figure(b, name)
    strip = re.compile(r'<td class="hash">[^<]*</td>|<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>')
    assert strip.sub("", a) == strip.sub("", b)  # the same report, but for the hash and the time made


def test_as_the_statistician_the_report_is_pseudonymised(enrolled_subject, tmp_path):
    enrolled_subject.initials = "JDU"
    enrolled_subject.save(update_fields=["initials"])
    assert main(["report", "--out", str(tmp_path), "--as", "statistician", "--no-pdf"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "JDU" not in html


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cutoff", "2026-13-01"], "--cutoff '2026-13-01' is not a date"),
        (["--as", "nobody"], "no active user 'nobody'"),
        (["--as", "inv.nantes"], "--as inv.nantes: may not read the analysis of NCT00724360"),
        (["--as", "monitor"], "--as monitor: may not read the analysis of NCT00724360"),
        (["--study", "NCT99999999"], "no study NCT99999999"),
        (["--datacut", "no-such-file.json"], "--datacut no-such-file.json: no such file"),
    ],
)
def test_it_refuses_bad_input_with_one_line_exit_3_and_writes_nothing(
    enrolled_subject, tmp_path, capsys, arguments, message
):
    assert main(["report", "--out", str(tmp_path), *arguments]) == 3
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_it_refuses_a_folder_that_does_not_exist(enrolled_subject, tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["report", "--out", str(missing)]) == 3
    assert f"--out {missing}: no such folder" in capsys.readouterr().err
    assert not missing.exists()


def test_it_refuses_a_datacut_file_changed_after_it_was_written(enrolled_subject, tmp_path, capsys):
    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(cut)]) == 0
    cut.write_text(cut.read_text().replace('"NTE"', '"RNS"', 1))
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    assert main(["report", "--out", str(out), "--datacut", str(cut)]) == 3
    assert "does not match its content" in capsys.readouterr().err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--as", "datamanager", "--safety-only"], None),
        (["--as", "safety.officer", "--safety-only"], None),
        (["--as", "safety.officer"], "--as safety.officer: may not read the analysis of NCT00724360"),
    ],
)
def test_the_safety_officer_reads_the_safety_report_only(
    cast, enrolled_subject, tmp_path, capsys, arguments, message
):
    code = main(["report", "--out", str(tmp_path), "--no-pdf", *arguments])
    if message is None:
        assert code == 0 and (tmp_path / "report.html").exists()
    else:
        assert code == 3 and message in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_a_cutoff_and_a_datacut_together_are_a_usage_error(enrolled_subject, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--out", str(tmp_path), "--cutoff", "2026-11-30", "--datacut", "cut.json"])
    assert exit_.value.code == 2


def test_the_report_names_the_sha256_of_the_datacut_it_was_made_from(enrolled_subject, tmp_path):
    import json

    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(cut)]) == 0
    sha256 = json.loads(cut.read_text())["sha256"]
    out = tmp_path / "out"
    out.mkdir()
    assert main(["report", "--out", str(out), "--datacut", str(cut), "--no-pdf"]) == 0
    assert sha256 in (out / "report.html").read_text(encoding="utf-8")


def test_the_report_is_written_in_french_when_asked(enrolled_subject, tmp_path):
    assert main(["report", "--out", str(tmp_path), "--no-pdf", "--language", "fr"]) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in html and "Rapport d’analyse" in html and "Flux des participants" in html
