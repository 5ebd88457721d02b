"""Derive trialdesk's packaged CTCAE v5.0 term list from the NCI spreadsheet.

One-off build step: the program reads ``src/trialdesk/clinical/data/ctcae_v5.csv``
at run time, never the xlsx.

    .venv/bin/python scripts/build_ctcae.py [XLSX] [OUT_CSV]

Normalisation: non-breaking spaces become spaces, surrounding whitespace is
stripped, and the NCI placeholder "-" (a grade that does not exist for the
term) becomes an empty cell.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_XLSX = Path("/work/shared/data/ctcae/CTCAE_v5.0_2017-11-27.xlsx")
DEFAULT_OUT = ROOT / "src" / "trialdesk" / "clinical" / "data" / "ctcae_v5.csv"

COLUMNS = [
    "meddra_code",
    "soc",
    "term",
    "grade_1",
    "grade_2",
    "grade_3",
    "grade_4",
    "grade_5",
    "definition",
    "navigational_note",
]

# Expected spreadsheet header (after normalisation) -> our column name.
HEADER = {
    "MedDRA Code": "meddra_code",
    "MedDRA SOC": "soc",
    "CTCAE Term": "term",
    "Grade 1": "grade_1",
    "Grade 2": "grade_2",
    "Grade 3": "grade_3",
    "Grade 4": "grade_4",
    "Grade 5": "grade_5",
    "Definition": "definition",
    "Navigational Note": "navigational_note",
}


def clean(value: object) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).replace("\xa0", " ").split())
    return "" if text == "-" else text


def read_rows(xlsx: Path) -> list[dict[str, str]]:
    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [clean(h) for h in next(rows)]
    index = {}
    for name, column in HEADER.items():
        if name not in header:
            raise SystemExit(f"{xlsx}: column {name!r} not found in the header {header!r}")
        index[column] = header.index(name)
    out = []
    for raw in rows:
        if raw is None or all(v is None for v in raw):
            continue
        row = {column: clean(raw[i]) for column, i in index.items()}
        code = raw[index["meddra_code"]]
        row["meddra_code"] = str(int(code))
        out.append(row)
    wb.close()
    return out


def check(rows: list[dict[str, str]]) -> None:
    codes = [r["meddra_code"] for r in rows]
    if len(set(codes)) != len(codes):
        raise SystemExit("duplicate MedDRA codes in the spreadsheet")
    names = [r["term"].casefold() for r in rows]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate CTCAE terms in the spreadsheet")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    xlsx = Path(argv[0]) if argv else DEFAULT_XLSX
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    rows = read_rows(xlsx)
    check(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    socs = {r["soc"] for r in rows}
    print(f"{out}: {len(rows)} terms in {len(socs)} system organ classes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
