"""No code names a field or a choice value of NCT00724360 (DESIGN §2: everything
trial-specific lives in the protocol file; the code reads clinical concepts).

Every string literal of every Python file under src/trialdesk (outside protocols/) is
compared, whole, with the seed protocol's field codes and choice values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import trialdesk
from trialdesk.protocol import load_default_protocol

SOURCE = Path(trialdesk.__file__).parent

#: words that are both a code of the seed protocol and, in these files, something else;
#: word -> (files where it is allowed, relative to src/trialdesk, and why)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    **{
        word: (
            frozenset({"protocol/model.py", "clinical/response.py"}),
            "an ASH response category of DESIGN §4, the core's own vocabulary; the protocol maps "
            "its choice values onto the categories through concepts (assessed_cr, …)",
        )
        for word in ("CR", "CRp", "PR")
    },
    **{
        word: (
            frozenset({"clinical/response.py"}),
            "an ASH response category of DESIGN §4 (ResponseCategory)",
        )
        for word in ("relapse", "NR", "PD")
    },
    **{
        word: (
            frozenset({"cli/response.py"}),
            "a key of `trialdesk response`'s INPUT.json (issue 10 names them: the command's own keys, "
            "not form field codes)",
        )
        for word in ("marrow_blasts_pct", "extramedullary_disease", "anc", "platelets")
    },
    "unknown": (
        frozenset({"rules/tri.py", "clinical/eligibility.py", "cli/eligibility.py"}),
        "the third value of the three-valued logic and of a criterion's status, not an adverse event outcome",
    ),
    "method": (frozenset({"stats/forecast.py"}), "the key naming the forecasting method in its result"),
    "meddra_code": (frozenset({"clinical/ctcae.py"}), "a column of the NCI CTCAE v5.0 file in clinical/data"),
    **{
        word: (
            frozenset({"protocol/model.py"}),
            "the registry's vocabulary of the eligible sexes (Identification.sexes, ClinicalTrials.gov)",
        )
        for word in ("female", "male")
    },
    **{
        word: (
            frozenset({"clinical/dosing.py", "cli/dose.py", "treatment/models.py"}),
            "the kind of a dose and the keys of its JSON (issue 9: kind loading|maintenance, weight_kg, "
            "reason), the core's dosing vocabulary, not the infusion form's fields",
        )
        for word in ("loading", "weight_kg", "reason")
    },
    "consent_date": (
        frozenset({"protocol/crossrecord.py", "crf/crossrecord.py"}),
        "the subject's own date that edit checks read as subject.consent_date (a name of the rule "
        "language, Subject.consent_date), not the screening form's field",
    ),
    "completed": (
        frozenset({"simulate/model.py", "simulate/course.py"}),
        "a subject status of the simulator's output (SubjectStatus, as trialdesk.subjects holds it)",
    ),
}

#: Django-side files that still hold such literals, for the lead to finish (some may be
#: the apps' own words that happen to be codes of the seed protocol: an audit event's
#: "reason", a query's "comment", a subject's status "completed")
DJANGO_SIDE_PENDING: list[str] = [
    "accounts/failures.py",  # 'reason'
    "audit/chain.py",  # 'reason'
    "audit_viewer/viewer.py",  # 'reason'
    "crf/models.py",  # 'other'
    "crf/views.py",  # 'reason' (the POST key of the void form)
    "demo/builder.py",  # 'completed'
    "locks/views.py",  # 'reason'
    "queries/models.py",  # 'comment'
    "queries/views.py",  # 'comment'
    "reports/charts.py",  # 'none'
    "reports/recruitment.py",  # 'other'
    # the snapshot (pure, another engineer's, in flight): the subject's own attributes
    # 'sex' and 'consent_date' as keys of the data-cut file, which are also screening fields
    "snapshot/from_simulation.py",  # 'sex', 'consent_date'
    "snapshot/plain.py",  # 'sex', 'consent_date'
    "studies/pseudonymisation.py",  # 'none'
    "studies/views.py",  # 'reason' (the POST key of the status form)
    "subjects/models.py",  # 'completed'
    "subjects/screening.py",  # 'consent_date'
    "subjects/screening_views.py",  # 'consent_date', 'reason', 'sex'
    "subjects/services.py",  # 'consent_date', 'screen_failure'
]


def _codes() -> set[str]:
    protocol = load_default_protocol()
    fields = {field.code for form in protocol.forms for field in form.fields}
    values = {choice.value for form in protocol.forms for field in form.fields for choice in field.choices}
    return fields | values


def _python_files() -> list[Path]:
    files = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] == "protocols":
            continue
        if "migrations" in relative.parts:
            continue  # generated database schema: the columns of the apps' own tables
        files.append(path)
    return files


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def _offending(path: Path, codes: set[str]) -> list[str]:
    relative = path.relative_to(SOURCE).as_posix()
    found = []
    for line, value in _literals(path):
        if value not in codes:
            continue
        allowed = ALLOWED.get(value)
        if allowed is not None and relative in allowed[0]:
            continue
        found.append(f"src/trialdesk/{relative}:{line}: {value!r}")
    return found


def test_no_python_file_names_a_field_or_a_choice_value_of_the_seed_protocol():
    codes = _codes()
    pending = set(DJANGO_SIDE_PENDING)
    offending = []
    for path in _python_files():
        if path.relative_to(SOURCE).as_posix() in pending:
            continue
        offending += _offending(path, codes)
    assert not offending, "literals of NCT00724360 in the code:\n" + "\n".join(offending)


def test_the_check_would_catch_a_field_code_and_a_choice_value(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('data = {"marrow_blasts_pct": 12}\nif x == "red_cells":\n    """a docstring: anc"""\n')
    codes = _codes()
    assert [value for _, value in _literals(sample) if value in codes] == ["marrow_blasts_pct", "red_cells"]


def test_the_allowed_words_are_still_needed():
    """An allow-list entry no file needs any more goes."""
    codes = _codes()
    used: set[tuple[str, str]] = set()
    for path in _python_files():
        relative = path.relative_to(SOURCE).as_posix()
        used |= {(value, relative) for _, value in _literals(path) if value in ALLOWED}
    for word, (files, _) in ALLOWED.items():
        assert word in codes, f"{word!r} is no code of the protocol any more: drop it from ALLOWED"
        assert any((word, f) in used for f in files), f"no file uses {word!r} any more: drop it from ALLOWED"


@pytest.mark.parametrize("relative", DJANGO_SIDE_PENDING)
def test_a_pending_django_side_file_is_dropped_from_the_list_once_clean(relative):
    path = SOURCE / relative
    if not path.exists():
        pytest.skip(f"{relative} moved or went: update DJANGO_SIDE_PENDING")
    if not _offending(path, _codes()):
        pytest.fail(f"{relative} names no code of the protocol any more: drop it from DJANGO_SIDE_PENDING")
