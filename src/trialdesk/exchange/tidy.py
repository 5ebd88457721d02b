"""Tidy CSV from a StudySnapshot and its protocol (pure core, never imports Django).

    write_tidy_csv(snapshot, protocol, folder)   # one <form>.csv per form + data_dictionary.csv

One row per record, one column per field (a choice field's label, in English, in the
column beside its code: ``<field>_label``), voided rows kept and flagged. Plain CSV that
pandas (``pd.read_csv``) and R (``read.csv``) read without options: UTF-8, a header row,
commas, ``TRUE``/``FALSE`` for booleans, an empty cell for no value, ISO dates.

The files are written row by row while the subjects stream (one file per form open at a
time); the result names each file with its SHA-256 and the SHA-256 of the whole export
(of its manifest: one ``<sha256>  <name>`` line per file, sorted by name).
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialdesk.snapshot.model import StudySnapshot

DICTIONARY = "data_dictionary.csv"
RECORD_COLUMNS = ("subject", "screening_number", "site", "visit", "repeat", "status", "voided")
DICTIONARY_COLUMNS = (
    "form",
    "form_title",
    "field",
    "label",
    "label_fr",
    "type",
    "unit",
    "min",
    "max",
    "expected_min",
    "expected_max",
    "required",
    "choices",
    "condition",
    "columns",
)


@dataclass(frozen=True)
class CsvResult:
    files: tuple[tuple[str, str], ...]  # (name, sha256), sorted by name
    subjects: int
    rows: int

    @property
    def sha256(self) -> str:
        return manifest_sha256(self.files)


def manifest_sha256(files: tuple[tuple[str, str], ...]) -> str:
    manifest = "".join(f"{sha}  {name}\n" for name, sha in sorted(files))
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def cell(value: Any) -> str:
    """A form value as a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return str(value)


def columns_of(form: Any) -> list[str]:
    columns = list(RECORD_COLUMNS)
    for field in form.fields:
        columns.append(field.code)
        if field.choices:
            columns.append(f"{field.code}_label")
    return columns


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def dictionary_rows(protocol: Any):
    yield DICTIONARY_COLUMNS
    for form in protocol.forms:
        for field in form.fields:
            columns = [field.code, f"{field.code}_label"] if field.choices else [field.code]
            yield (
                form.code,
                form.title,
                field.code,
                field.label,
                field.label_fr or "",
                field.type,
                field.unit or "",
                _number(field.min),
                _number(field.max),
                _number(field.expected_min),
                _number(field.expected_max),
                "TRUE" if field.required else "FALSE",
                "; ".join(f"{c.value}={c.label}" for c in field.choices),
                field.condition or "",
                " ".join(columns),
            )


class _HashingText:
    """A text file that hashes its UTF-8 bytes as they are written."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self.digest = hashlib.sha256()

    def write(self, text: str) -> int:
        self.digest.update(text.encode("utf-8"))
        return self._file.write(text)

    def close(self) -> None:
        self._file.close()


def write_tidy_csv(
    snapshot: StudySnapshot,
    protocol: Any,
    folder: Path | str,
    *,
    progress: Callable[[int], None] | None = None,
) -> CsvResult:
    """Write ``<form>.csv`` for every form of the protocol and ``data_dictionary.csv`` into ``folder``."""
    folder = Path(folder)
    forms = {form.code: form for form in protocol.forms}
    outputs: dict[str, _HashingText] = {}
    writers: dict[str, Any] = {}
    subjects = rows = 0
    try:
        for code, form in forms.items():
            outputs[code] = _HashingText(folder / f"{code}.csv")
            writers[code] = csv.writer(outputs[code], lineterminator="\n")
            writers[code].writerow(columns_of(form))
        for subject in snapshot.subjects():
            subjects += 1
            for record in subject.records:
                form = forms.get(record.form)
                if form is None:
                    continue
                row = [
                    subject.label,
                    subject.screening_number,
                    subject.site,
                    record.visit or "",
                    str(record.repeat),
                    record.status or "",
                    "TRUE" if record.voided else "FALSE",
                ]
                for field in form.fields:
                    value = record.data.get(field.code)
                    row.append(cell(value))
                    if field.choices:
                        label = next((c.label for c in field.choices if c.value == value), "")
                        row.append(label)
                writers[record.form].writerow(row)
                rows += 1
            if progress is not None:
                progress(subjects)
        dictionary = _HashingText(folder / DICTIONARY)
        outputs[DICTIONARY] = dictionary
        csv.writer(dictionary, lineterminator="\n").writerows(dictionary_rows(protocol))
    finally:
        for output in outputs.values():
            output.close()
    files = tuple(
        sorted(
            ((DICTIONARY if key == DICTIONARY else f"{key}.csv"), out.digest.hexdigest())
            for key, out in outputs.items()
        )
    )
    return CsvResult(files=files, subjects=subjects, rows=rows)
