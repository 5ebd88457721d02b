"""CTCAE v5.0 term list (NCI Common Terminology Criteria for Adverse Events).

The term list is packaged data (``clinical/data/ctcae_v5.csv``) derived from the
NCI spreadsheet by ``scripts/build_ctcae.py``. Each term carries its MedDRA code,
its MedDRA system organ class (SOC), the text of grades 1 to 5 and its
definition. A grade whose text is empty ("-" in the NCI file) does not exist for
that term: ``allowed_grades`` leaves it out and ``grade_text`` refuses it.

Lookups:

* ``term_by_code(10050528)`` / ``term_by_code("10050528")`` -> CtcaeTerm, KeyError if unknown
* ``term_by_name("heart failure")`` -> CtcaeTerm (case- and space-insensitive), KeyError if unknown
* ``find_term(code_or_name)`` -> CtcaeTerm or None, never raises
* ``search("ejection", limit=10)`` -> best matches first
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

VERSION = "5.0"
GRADES = (1, 2, 3, 4, 5)
_DATA_FILE = "ctcae_v5.csv"


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    meddra_code: int
    soc: str
    term: str
    grades: tuple[str, str, str, str, str]  # text of grades 1..5, "" when the grade does not exist
    definition: str = ""
    navigational_note: str = ""

    @property
    def allowed_grades(self) -> tuple[int, ...]:
        return tuple(g for g, text in zip(GRADES, self.grades, strict=True) if text)

    def grade_text(self, grade: int) -> str:
        return grade_text(self, grade)

    def __str__(self) -> str:
        return self.term


def _normalise(name: str) -> str:
    return " ".join(name.split()).casefold()


@cache
def _load() -> tuple[CtcaeTerm, ...]:
    text = resources.files("trialdesk.clinical").joinpath("data", _DATA_FILE).read_text(encoding="utf-8")
    terms = []
    for row in csv.DictReader(io.StringIO(text)):
        terms.append(
            CtcaeTerm(
                meddra_code=int(row["meddra_code"]),
                soc=row["soc"],
                term=row["term"],
                grades=tuple(row[f"grade_{g}"] for g in GRADES),  # type: ignore[arg-type]
                definition=row.get("definition") or "",
                navigational_note=row.get("navigational_note") or "",
            )
        )
    return tuple(terms)


@cache
def _by_code() -> dict[int, CtcaeTerm]:
    return {t.meddra_code: t for t in _load()}


@cache
def _by_name() -> dict[str, CtcaeTerm]:
    return {_normalise(t.term): t for t in _load()}


def load_terms() -> list[CtcaeTerm]:
    """All 837 terms, in the NCI file's order (by SOC, then term)."""
    return list(_load())


def term_by_code(code: int | str) -> CtcaeTerm:
    """The term with this MedDRA code; KeyError if CTCAE v5.0 has none."""
    try:
        key = int(str(code).strip())
    except ValueError:
        raise KeyError(f"not a MedDRA code: {code!r}") from None
    try:
        return _by_code()[key]
    except KeyError:
        raise KeyError(f"no CTCAE v{VERSION} term with MedDRA code {code}") from None


def term_by_name(name: str) -> CtcaeTerm:
    """The term with this name (case and spacing ignored); KeyError if unknown."""
    try:
        return _by_name()[_normalise(name)]
    except KeyError:
        raise KeyError(f"no CTCAE v{VERSION} term named {name!r}") from None


def find_term(code_or_name: int | str) -> CtcaeTerm | None:
    """The term for a MedDRA code or a term name, or None. Never raises."""
    if isinstance(code_or_name, int) or str(code_or_name).strip().isdigit():
        return _by_code().get(int(str(code_or_name).strip()))
    return _by_name().get(_normalise(str(code_or_name)))


def search(text: str, limit: int | None = 20, soc: str | None = None) -> list[CtcaeTerm]:
    """Terms matching ``text``: a MedDRA code, or words all found in the term name.

    Ranked: exact name, then names starting with the text, then names containing
    it, then names containing every word; ties in the file's order. Terms whose
    definition alone matches come last. ``soc`` restricts to one system organ class.
    """
    query = _normalise(text)
    if not query:
        return []
    if query.isdigit():
        found = _by_code().get(int(query))
        return [found] if found and (soc is None or found.soc == soc) else []
    words = query.split()
    ranked: list[tuple[int, int, CtcaeTerm]] = []
    for i, t in enumerate(_load()):
        if soc is not None and t.soc != soc:
            continue
        name = _normalise(t.term)
        if name == query:
            rank = 0
        elif name.startswith(query):
            rank = 1
        elif query in name:
            rank = 2
        elif all(w in name for w in words):
            rank = 3
        elif all(w in _normalise(t.definition) for w in words):
            rank = 4
        else:
            continue
        ranked.append((rank, i, t))
    ranked.sort(key=lambda x: (x[0], x[1]))
    result = [t for _, _, t in ranked]
    return result if limit is None else result[:limit]


def system_organ_classes() -> list[str]:
    """The 26 MedDRA system organ classes, in the NCI file's order."""
    return list(dict.fromkeys(t.soc for t in _load()))


def terms_in_soc(soc: str) -> list[CtcaeTerm]:
    return [t for t in _load() if t.soc == soc]


def _resolve(term: CtcaeTerm | int | str) -> CtcaeTerm:
    if isinstance(term, CtcaeTerm):
        return term
    found = find_term(term)
    if found is None:
        raise KeyError(f"no CTCAE v{VERSION} term {term!r}")
    return found


def allowed_grades(term: CtcaeTerm | int | str) -> tuple[int, ...]:
    """Grades that exist for the term (those marked "-" by the NCI do not)."""
    return _resolve(term).allowed_grades


def grade_text(term: CtcaeTerm | int | str, grade: int) -> str:
    """The NCI text of ``grade`` for ``term``; ValueError if the grade does not exist for it."""
    t = _resolve(term)
    if grade not in GRADES:
        raise ValueError(f"CTCAE grades are 1 to 5, not {grade!r}")
    text = t.grades[grade - 1]
    if not text:
        raise ValueError(f"grade {grade} does not exist for {t.term!r} (allowed: {list(t.allowed_grades)})")
    return text


# --------------------------------------------------------------------------- the picker's rules

#: how CTCAE names the term of each system organ class that takes a specified event
OTHER_SPECIFY_SUFFIX = " - Other, specify"


def is_other_specify(term: CtcaeTerm | int | str) -> bool:
    """Whether the term is its SOC's "Other, specify" term (the event is then named in words)."""
    return _resolve(term).term.endswith(OTHER_SPECIFY_SUFFIX)


def other_specify_of(soc: str) -> CtcaeTerm | None:
    """The "Other, specify" term of a system organ class (None if it has none)."""
    return next((t for t in terms_in_soc(soc) if t.term.endswith(OTHER_SPECIFY_SUFFIX)), None)


def grade_is_defined(term: CtcaeTerm | int | str, grade: int) -> bool:
    """Whether CTCAE v5.0 defines ``grade`` for the term (grade 5 alopecia: no)."""
    return grade in _resolve(term).allowed_grades


def pick(text: int | str) -> CtcaeTerm | None:
    """The term a user picked, typed as its name or its MedDRA code (spacing and case
    ignored); None when the list has no such term: nothing else is accepted."""
    if text is None:
        return None
    return find_term(text)
