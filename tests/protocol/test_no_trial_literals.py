"""No code names a field or a choice value of NCT00724360 (DESIGN §2: everything
trial-specific lives in the protocol file; the code reads clinical concepts).

Every string literal of every Python file under src/trialdesk (outside protocols/) is
compared, whole, with the seed protocol's field codes and choice values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import trialdesk
from trialdesk.protocol import load_default_protocol

SOURCE = Path(trialdesk.__file__).parent

#: words that are both a code of the seed protocol and, in these files, something else;
#: word -> (files where it is allowed, relative to src/trialdesk, and why)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    **{
        word: (
            frozenset({"protocol/model.py", "dashboards/charts.py", "charts/response.py"}),
            "an ASH response category of DESIGN §4, the core's own vocabulary; the protocol maps "
            "its choice values onto the categories through concepts (assessed_cr, …); the dashboards "
            "print its abbreviation on a bar (a msgid keyed by ResponseCategory)",
        )
        for word in ("CR", "CRp", "PR")
    },
    **{
        word: (
            frozenset({"dashboards/charts.py", "charts/response.py"}),
            "the printed abbreviation of a response category on a dashboard bar (a msgid keyed by "
            "ResponseCategory, not a choice value read from a record)",
        )
        for word in ("NR", "PD")
    },
    **{
        word: (
            frozenset({"dashboards/charts.py", "charts/response.py"}),
            "a kind of marker of the dashboards' swimmer plot (its own keys: response, failure, sae, "
            "death, ongoing), not a value read from a record",
        )
        for word in ("death", "ongoing")
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
        frozenset({"clinical/eligibility.py"}),
        "the third value of the three-valued logic and of a criterion's status, not an adverse event outcome",
    ),
    "method": (frozenset({"stats/binomial.py"}), "the argument a bad-input error names (`--method`)"),
    "none": (
        frozenset({"stats/paired.py", "stats/survival.py", "studies/pseudonymisation.py"}),
        "the method of a test that could not run, and a kind of value the pseudonymiser masks entirely",
    ),
    "meddra_code": (frozenset({"clinical/ctcae.py"}), "a column of the NCI CTCAE v5.0 file in clinical/data"),
    **{
        word: (
            frozenset({"protocol/model.py"}),
            "the registry's vocabulary of the eligible sexes (Identification.sexes, ClinicalTrials.gov)",
        )
        for word in ("female", "male")
    },
    "loading": (
        frozenset({"clinical/dosing.py"}),
        "the kind of a dose (issue 9: kind loading|maintenance), the core's dosing vocabulary",
    ),
    **{
        word: (
            frozenset(
                {
                    "exchange/odm_reader.py",
                    "snapshot/plain.py",
                    "subjects/screening_views.py",
                    "subjects/services.py",
                }
            ),
            "the subject's own attributes (Subject.sex, Subject.consent_date: the screening episode and "
            "the enrollment), as the data-cut and ODM files name them and the enrollment page posts them",
        )
        for word in ("sex", "consent_date")
    },
    "screen_failure": (frozenset({"subjects/services.py"}), "an audit action of the screening service"),
    "completed": (
        frozenset({"simulate/model.py", "snapshot/cut.py"}),
        "a subject status (SubjectStatus, as trialdesk.subjects holds it and the snapshot carries it)",
    ),
    "reason": (
        frozenset(
            {
                "administration/services.py",
                "administration/views.py",
                "crf/views.py",
                "locks/views.py",
                "monitoring/views.py",
                "pharmacy/services.py",
                "snapshot/plain.py",
                "studies/views.py",
                "subjects/screening_views.py",
            }
        ),
        "the apps' own word: the POST key of a reason typed on a page (void, lock, status, screen "
        "failure, ending a role, a monitoring report's addendum), the audit event's reason column, and the reason of a drug return or destruction, audited with it (and carried so by "
        "the data-cut and ODM files, with the reason of a cardiac hold's lift)",
    ),
    "comment": (
        frozenset({"deviations/views.py", "pharmacy/services.py"}),
        "the comment of a deviation's acknowledgement or of an accountability verification (POST key, model field)",
    ),
    "lot_number": (
        frozenset({"pharmacy/accountability.py", "pharmacy/services.py", "pharmacy/views.py"}),
        "the pharmacy's own ledger column (a shipment's lot), which infusions reach through the dose_lot concept",
    ),
    "other": (
        frozenset({"reports/recruitment.py"}),
        "the group of free-text screen-failure reasons in the recruitment report",
    ),
}


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


def _reading_literals(tree: ast.AST) -> list[ast.Constant]:
    """String literals in the places where code reads a form's data or names a form or a
    choice: a subscript (``data["anc"]``), a call's positional argument (``data.get("anc")``,
    ``protocol.form("infusion")``), an operand of a comparison (``value == "red_cells"``,
    ``x in ("cr", "pr")``). A literal that only names the code's own structures (a dict
    display's key, a constant's value, a keyword's default) is not a read of the trial's data."""
    found: list[ast.Constant] = []

    def strings(node: ast.AST) -> list[ast.Constant]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node]
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return [c for element in node.elts for c in strings(element)]
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            found += strings(node.slice)
        elif isinstance(node, ast.Call):
            for argument in node.args:
                found += strings(argument)
        elif isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found += strings(operand)
    return found


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sorted({(node.lineno, node.value) for node in _reading_literals(tree)})


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
    offending = []
    for path in _python_files():
        offending += _offending(path, codes)
    assert not offending, "literals of NCT00724360 in the code:\n" + "\n".join(offending)


def test_the_check_would_catch_a_field_code_and_a_choice_value(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'blasts = data["marrow_blasts_pct"]\nif x == "red_cells":\n    """a docstring: anc"""\n'
        'anc = values.get("anc")\nfield = form.field("ecog")\nrow = {"platelets": 1}\nPRODUCT = "product"\n'
    )
    codes = _codes()
    found = [value for _, value in _literals(sample) if value in codes]
    assert found == ["marrow_blasts_pct", "red_cells", "anc", "ecog"]  # not the row's key, not a constant


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
