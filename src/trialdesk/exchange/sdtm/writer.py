"""Writing the SDTM datasets: Dataset-JSON 1.1, SAS XPORT version 5 and define.json (pure).

    write_sdtm(snapshot, protocol, folder, formats=("json", "xpt"))  -> SdtmResult

One pass over the subjects (they stream from the snapshot, one at a time) spools each
dataset's rows to a JSON-lines file beside the output, counting them and measuring each
character variable; then each dataset is written from its spool, row by row:

- ``<name>.json``: CDISC Dataset-JSON 1.1, its metadata (``records`` included) before its
  ``rows``, every row one JSON array written as it is read;
- ``<name>.xpt``: SAS XPORT version 5 through pyreadstat (``write_xport(...,
  file_format_version=5)``). pyreadstat writes a whole data frame, so the rows go to it in
  chunks, each behind a template row that fixes every character variable at its measured
  width: the header of the first chunk and the fixed-width observations of every chunk
  are copied into the file (version 5 records no row count; the last 80-byte record is
  padded with blanks, as SAS does);
- ``define.json``: the datasets, their variables, labels, types, lengths, cores, origins and
  keys, the files and their SHA-256.

Memory stays flat: one subject's rows, one chunk of one dataset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trialdesk.exchange.sdtm import design
from trialdesk.exchange.sdtm.domains import BUILDERS, Context, Row, Visits, dm, subject_rows
from trialdesk.exchange.sdtm.spec import DATASETS, DESIGN_DATASETS, SUBJECT_DATASETS, TEXT_MAX, DatasetSpec
from trialdesk.exchange.tidy import manifest_sha256
from trialdesk.snapshot.model import StudySnapshot

FORMATS = ("json", "xpt")
DATASET_JSON_VERSION = "1.1.0"
DEFINE = "define.json"
XPT_CHUNK = 5_000
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"


class SdtmError(ValueError):
    """The data cannot be written as SDTM (a program error: the rows are built by this package)."""


@dataclass(frozen=True)
class SdtmResult:
    files: tuple[tuple[str, str], ...]  # (name, sha256), sorted by name
    subjects: int
    rows: int
    records: dict[str, int] = field(default_factory=dict)  # dataset -> rows
    left_out: dict[str, int] = field(default_factory=dict)  # dataset -> rows without a Required value

    @property
    def sha256(self) -> str:
        return manifest_sha256(self.files)


class _Spool:
    """One dataset's rows as JSON lines, with their count and each character variable's width."""

    def __init__(self, spec: DatasetSpec, folder: Path) -> None:
        self.spec = spec
        self.path = folder / f"{spec.name.lower()}.jsonl"
        self._file = self.path.open("w", encoding="utf-8")
        self.count = 0
        self.left_out = 0
        self.widths = {v.name: 1 for v in spec.variables if not v.numeric}
        self._required = [i for i, v in enumerate(spec.variables) if v.core == "Req"]
        self._seq = f"{spec.name}SEQ" if f"{spec.name}SEQ" in spec.names else None

    def add_subject(self, rows: Iterable[Row]) -> None:
        for seq, row in enumerate(rows, start=1):
            if self._seq is not None:
                row[self._seq] = seq
            self.add(row)

    def add(self, row: Row) -> None:
        values = []
        for variable in self.spec.variables:
            value = row.get(variable.name)
            if value is not None and not variable.numeric:
                value = str(value)
                encoded = value.encode("utf-8")
                if len(encoded) > TEXT_MAX:
                    value = encoded[:TEXT_MAX].decode("utf-8", "ignore")
                    encoded = value.encode("utf-8")
                if len(encoded) > self.widths[variable.name]:
                    self.widths[variable.name] = len(encoded)
            elif value is not None and variable.kind == "integer":
                value = int(value)
            elif value is not None:
                value = float(value)
            values.append(value)
        if any(values[i] in (None, "") for i in self._required):
            self.left_out += 1  # an incomplete record (a Required value missing) is no SDTM row
            return
        self._file.write(json.dumps(values, ensure_ascii=False, allow_nan=False))
        self._file.write("\n")
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def lines(self) -> Iterable[str]:
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                yield line.rstrip("\n")


class _Hashing:
    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self._file.write(data)

    def close(self) -> None:
        self._file.close()


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _column(spec: DatasetSpec, spool: _Spool, name: str) -> dict[str, Any]:
    variable = spec.var(name)
    column: dict[str, Any] = {
        "itemOID": f"IT.{spec.name}.{name}",
        "name": name,
        "label": variable.label,
        "dataType": variable.kind,
    }
    if not variable.numeric:
        column["length"] = spool.widths[name]
    if name in spec.keys:
        column["keySequence"] = spec.keys.index(name) + 1
    return column


def _write_json(spool: _Spool, folder: Path, meta: dict[str, Any]) -> tuple[str, str]:
    spec = spool.spec
    name = f"{spec.name.lower()}.json"
    header = {
        **meta,
        "fileOID": f"{meta['studyOID']}.SDTM.{spec.name}",
        "itemGroupOID": f"IG.{spec.name}",
        "records": spool.count,
        "name": spec.name,
        "label": spec.label,
        "columns": [_column(spec, spool, v) for v in spec.names],
    }
    out = _Hashing(folder / name)
    try:
        out.write(json.dumps(header, ensure_ascii=False)[:-1].encode("utf-8") + b', "rows": [')
        first = True
        for line in spool.lines():
            out.write((b"\n" if first else b",\n") + line.encode("utf-8"))
            first = False
        out.write(b"\n]}\n")
    finally:
        out.close()
    return name, out.digest.hexdigest()


def _frame(spec: DatasetSpec, rows: list[list[Any]], template: list[Any]):
    import pandas as pd

    columns: dict[str, Any] = {}
    for index, variable in enumerate(spec.variables):
        values = [template[index], *(row[index] for row in rows)]
        if variable.numeric:
            columns[variable.name] = pd.array(
                [math.nan if v is None else float(v) for v in values], dtype="float64"
            )
        else:
            columns[variable.name] = pd.array(["" if v is None else v for v in values], dtype=object)
    return pd.DataFrame(columns)


def _xpt_chunk(
    spec: DatasetSpec, rows: list[list[Any]], template: list[Any], row_length: int
) -> tuple[bytes, bytes]:
    """The header and the observations of ``rows`` as pyreadstat writes them in version 5."""
    import pyreadstat

    frame = _frame(spec, rows, template)
    handle, name = tempfile.mkstemp(suffix=".xpt")
    os.close(handle)
    try:
        pyreadstat.write_xport(
            frame,
            name,
            file_label=spec.label,
            column_labels=[v.label for v in spec.variables],
            table_name=spec.name,
            file_format_version=5,
        )
        data = Path(name).read_bytes()
    finally:
        os.unlink(name)
    at = data.find(_OBS_HEADER)
    if at < 0:
        raise SdtmError(f"{spec.name}: pyreadstat wrote no observation header")
    start = at + 80
    expected = start + math.ceil((len(rows) + 1) * row_length / 80) * 80
    if len(data) != expected:
        raise SdtmError(f"{spec.name}: unexpected XPORT layout ({len(data)} bytes, {expected} expected)")
    observations = data[start + row_length : start + row_length * (len(rows) + 1)]
    return data[:start], observations


def _json_values(line: str) -> list[Any]:
    return json.loads(line)


def _write_xpt(spool: _Spool, folder: Path) -> tuple[str, str]:
    spec = spool.spec
    name = f"{spec.name.lower()}.xpt"
    template = [0.0 if v.numeric else "X" * spool.widths[v.name] for v in spec.variables]
    row_length = sum(8 if v.numeric else spool.widths[v.name] for v in spec.variables)
    out = _Hashing(folder / name)
    written = 0
    try:
        chunk: list[list[Any]] = []
        header_done = False

        def flush() -> None:
            nonlocal header_done, written
            header, observations = _xpt_chunk(spec, chunk, template, row_length)
            if not header_done:
                out.write(header)
                header_done = True
            out.write(observations)
            written += len(observations)
            chunk.clear()

        for line in spool.lines():
            chunk.append(_json_values(line))
            if len(chunk) >= XPT_CHUNK:
                flush()
        if chunk or not header_done:
            flush()
        if written % 80:
            out.write(b" " * (80 - written % 80))
    finally:
        out.close()
    return name, out.digest.hexdigest()


def _define(
    snapshot: StudySnapshot, protocol: Any, spools: dict[str, _Spool], files: dict[str, list[str]]
) -> dict:
    from trialdesk.exchange.sdtm import domains  # noqa: F401  (the derivations are documented there)

    studyid = snapshot.study.nct_id
    return {
        "studyOID": studyid,
        "studyName": studyid,
        "protocolName": protocol.identification.brief_title,
        "standard": {"name": "SDTMIG", "version": "3.4"},
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "pseudonymised": snapshot.pseudonymised,
        "cutoff": snapshot.cutoff.isoformat() if snapshot.cutoff else None,
        "created": _stamp(snapshot.created_at),
        "studyDays": "SDTM IG 3.4 section 4.4.4: RFSTDTC is the first dose (Day 1); a day on or after it is "
        "(day - RFSTDTC) + 1, a day before it day - RFSTDTC; there is no Day 0",
        "datasets": [
            {
                "name": spec.name,
                "label": spec.label,
                "class": spec.klass,
                "structure": spec.structure,
                "keys": list(spec.keys),
                "records": spools[spec.name].count,
                # records of the snapshot without a Required value (an incomplete form): not written
                "incompleteRecordsLeftOut": spools[spec.name].left_out,
                "files": files.get(spec.name, []),
                "variables": [
                    {
                        "name": v.name,
                        "label": v.label,
                        "dataType": v.kind,
                        "sasType": "Num" if v.numeric else "Char",
                        "length": 8 if v.numeric else spools[spec.name].widths[v.name],
                        "core": v.core,
                        "origin": v.origin,
                    }
                    for v in spec.variables
                ],
            }
            for spec in DATASETS.values()
        ],
    }


def write_sdtm(
    snapshot: StudySnapshot,
    protocol: Any,
    folder: Path | str,
    *,
    formats: Iterable[str] = FORMATS,
    progress: Callable[[int], None] | None = None,
) -> SdtmResult:
    """Write every SDTM dataset of ``snapshot`` into ``folder`` (it exists) as ``formats``."""
    formats = tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"SDTM formats are {', '.join(FORMATS)}, not {', '.join(unknown) or 'none'}")
    folder = Path(folder)
    studyid = snapshot.study.nct_id
    as_of = snapshot.cutoff or snapshot.created_at.date()
    ctx = Context(protocol, studyid, as_of, Visits(protocol), pseudonymised=snapshot.pseudonymised)
    sites = {site.code: site for site in snapshot.sites}
    spool_folder = Path(tempfile.mkdtemp(prefix=".sdtm-spool.", dir=folder))
    spools: dict[str, _Spool] = {}
    subjects = 0
    try:
        for spec in (*SUBJECT_DATASETS, *DESIGN_DATASETS):
            spools[spec.name] = _Spool(spec, spool_folder)
        for subject in snapshot.subjects():
            subjects += 1
            rows = subject_rows(ctx, subject)
            for row in dm(rows, sites):
                spools["DM"].add(row)
            for name, build in BUILDERS.items():
                if name == "SV":
                    for row in build(rows):
                        spools[name].add(row)
                else:
                    spools[name].add_subject(build(rows))
            if progress is not None:
                progress(subjects)
        version = snapshot.study.version
        for name, build in design.BUILDERS.items():
            rows_of = build(protocol, studyid, version) if name == "TI" else build(protocol, studyid)
            for row in rows_of:
                spools[name].add(row)
        for spool in spools.values():
            spool.close()
        meta = {
            "datasetJSONCreationDateTime": _stamp(dt.datetime.now(dt.UTC)),
            "datasetJSONVersion": DATASET_JSON_VERSION,
            "dbLastModifiedDateTime": _stamp(snapshot.created_at),
            "originator": protocol.identification.sponsor,
            "sourceSystem": {"name": "trialdesk", "version": _version()},
            "studyOID": studyid,
            "metaDataVersionOID": f"MDV.{studyid}.SDTMIG.3.4",
            "metaDataRef": DEFINE,
        }
        files: dict[str, list[str]] = {}
        hashes: list[tuple[str, str]] = []
        for spool in spools.values():
            for kind, write in (("json", _write_json), ("xpt", _write_xpt)):
                if kind not in formats:
                    continue
                name, sha = write(spool, folder, meta) if kind == "json" else write(spool, folder)
                files.setdefault(spool.spec.name, []).append(name)
                hashes.append((name, sha))
        define = json.dumps(_define(snapshot, protocol, spools, files), ensure_ascii=False, indent=1).encode(
            "utf-8"
        )
        (folder / DEFINE).write_bytes(define)
        hashes.append((DEFINE, hashlib.sha256(define).hexdigest()))
    finally:
        for spool in spools.values():
            spool.close()
            spool.path.unlink(missing_ok=True)
        spool_folder.rmdir()
    return SdtmResult(
        files=tuple(sorted(hashes)),
        subjects=subjects,
        rows=sum(s.count for s in spools.values()),
        records={name: s.count for name, s in spools.items()},
        left_out={name: s.left_out for name, s in spools.items() if s.left_out},
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("trialdesk")
    except Exception:  # not installed (a source tree)
        return "0"
