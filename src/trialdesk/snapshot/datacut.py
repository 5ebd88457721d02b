"""The data-cut file: a StudySnapshot as JSON with its SHA-256, written and read streaming.

The file is one JSON object. Its top-level keys: ``created_at``, ``cutoff``, ``format``
(``trialdesk-datacut/1``), ``locks``, ``protocol_sha256``, ``pseudonymised``, ``sites``,
``study``, ``subjects``, ``supply`` (the study drug received and disposed of at the sites;
absent when there is none), ``viewer`` and, last, ``sha256``.

The hash, exactly: ``sha256`` is the lowercase hex SHA-256 of the UTF-8 bytes of the
*canonical JSON* of the file's object without its ``sha256`` key, where canonical JSON is
Python's ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)``: keys sorted (by code point) at every level, no whitespace, non-ASCII
characters as themselves, integers as integers, other numbers by the shortest repr that
reads back the same float (``0.1``, ``5.0``), no NaN or infinity.

The writer writes exactly those canonical bytes, except that it slips ``,"sha256":"<hex>"``
in before the final ``}`` (out of sorted order, so that the hash can be computed while the
subjects stream out, one by one, and written last). So for a file the writer made,
``sha256`` is the SHA-256 of the file's bytes up to ``,"sha256":`` followed by ``}``.

The reader does not trust the layout: it parses the file (ijson, streaming), serialises each
value again canonically, and compares the hashes; a file re-indented or with its keys
reordered still verifies, a file whose content changed is refused (``DataCutError``). It
reads the file twice: once for the small top-level values, once for the subjects (the
hash); the snapshot's ``subjects()`` then parses the subjects again from the file, one at a
time, each time it is called.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trialdesk.snapshot.model import StudySnapshot
from trialdesk.snapshot.plain import (
    date_text,
    identity_from,
    identity_plain,
    lock_from,
    lock_plain,
    parse_date,
    parse_time,
    site_from,
    site_plain,
    subject_from,
    subject_plain,
    supply_from,
    supply_plain,
    time_text,
)

FORMAT = "trialdesk-datacut/1"
SUBJECTS = "subjects"
HASH_KEY = "sha256"
REQUIRED_KEYS = ("study", "cutoff", "created_at", "pseudonymised", "protocol_sha256", SUBJECTS, HASH_KEY)


class DataCutError(Exception):
    """A file that is not a data cut, or whose hash does not match its content: one line."""


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def header_plain(snapshot: StudySnapshot) -> dict[str, Any]:
    """Every top-level value but the subjects and the hash."""
    return {
        "created_at": time_text(snapshot.created_at),
        "cutoff": date_text(snapshot.cutoff),
        "format": FORMAT,
        "locks": [lock_plain(lock) for lock in snapshot.locks],
        "protocol_sha256": snapshot.protocol_sha256,
        "pseudonymised": snapshot.pseudonymised,
        "sites": [site_plain(site) for site in snapshot.sites],
        "study": identity_plain(snapshot.study),
        "viewer": snapshot.viewer,
        # the study drug received and disposed of (absent when none: a data cut without it
        # keeps the hash it had before the file carried it)
        **({"supply": [supply_plain(move) for move in snapshot.supply]} if snapshot.supply else {}),
    }


def _canonical_chunks(header: dict[str, Any], subjects: Iterator[Any]) -> Iterator[str]:
    """The canonical JSON of ``header`` plus ``"subjects": [...]``, in pieces (subjects streamed)."""
    yield "{"
    keys = sorted([*header, SUBJECTS])
    for i, key in enumerate(keys):
        if i:
            yield ","
        yield canonical(key) + ":"
        if key == SUBJECTS:
            yield "["
            for j, subject in enumerate(subjects):
                if j:
                    yield ","
                yield canonical(subject)
            yield "]"
        else:
            yield canonical(header[key])
    yield "}"


def content_sha256(snapshot: StudySnapshot) -> str:
    """The SHA-256 a data-cut file of ``snapshot`` would carry (its canonical content, streamed)."""
    digest = hashlib.sha256()
    for chunk in _canonical_chunks(header_plain(snapshot), (subject_plain(s) for s in snapshot.subjects())):
        digest.update(chunk.encode("utf-8"))
    return digest.hexdigest()


class WriteResult:
    def __init__(self, sha256: str, subjects: int):
        self.sha256 = sha256
        self.subjects = subjects


def write_datacut(snapshot: StudySnapshot, path: Path | str) -> WriteResult:
    """Write ``snapshot`` to ``path`` streaming, subject by subject, through a temporary file
    in the same folder renamed at the end: nothing is left at ``path`` if anything fails."""
    path = Path(path)
    hasher = hashlib.sha256()
    count = 0

    def subjects():
        nonlocal count
        for subject in snapshot.subjects():
            count += 1
            yield subject_plain(subject)

    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pending = b""
            for chunk in _canonical_chunks(header_plain(snapshot), subjects()):
                data = chunk.encode("utf-8")
                hasher.update(data)
                if pending:
                    handle.write(pending)
                pending = data
            # ``pending`` is the final "}": the hash goes in before it.
            digest = hasher.hexdigest()
            handle.write(f',"{HASH_KEY}":"{digest}"}}\n'.encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, path)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    return WriteResult(digest, count)


# ------------------------------------------------------------------------------------ reading


def _ijson():
    import ijson

    return ijson


def _read_header(path: Path) -> dict[str, Any]:
    """The top-level values, the subjects skipped (parsed as a stream, never held)."""
    ijson = _ijson()
    header: dict[str, Any] = {}
    seen_subjects = False
    builder = None
    key = None
    with path.open("rb") as handle:
        events = ijson.parse(handle, use_float=True)
        try:
            first = next(events, None)
            if first is None or first[1] != "start_map":
                raise DataCutError(f"{path} is not a data-cut file: not a JSON object")
            for prefix, event, value in events:
                if prefix == "" and event == "map_key":
                    key = value
                    if key == SUBJECTS:
                        seen_subjects = True
                        builder = None
                    else:
                        builder = ijson.ObjectBuilder()
                    continue
                if prefix == "" and event == "end_map":
                    break
                if builder is not None:
                    builder.event(event, value)
                    if prefix == key and event not in ("start_map", "start_array", "map_key"):
                        header[key] = builder.value
                        builder = None
        except ijson.JSONError as exc:
            raise DataCutError(f"{path} is not a data-cut file: it is not valid JSON ({exc})") from None
        except UnicodeDecodeError:
            raise DataCutError(f"{path} is not a data-cut file: it is not UTF-8 text") from None
    missing = [k for k in REQUIRED_KEYS if k != SUBJECTS and k not in header]
    if not seen_subjects:
        missing.append(SUBJECTS)
    if missing:
        raise DataCutError(f"{path} is not a data-cut file: no {', '.join(missing)}")
    return header


def _subjects_plain(path: Path) -> Iterator[dict[str, Any]]:
    ijson = _ijson()
    with path.open("rb") as handle:
        try:
            yield from ijson.items(handle, f"{SUBJECTS}.item", use_float=True)
        except ijson.JSONError as exc:
            raise DataCutError(f"{path} is not a data-cut file: it is not valid JSON ({exc})") from None


def _content_sha256(path: Path, header: dict[str, Any]) -> tuple[str, str, int]:
    """(the hash the file states, the hash of its content, its subjects), computed streaming."""
    header = dict(header)
    stated = header.pop(HASH_KEY)
    hasher = hashlib.sha256()
    count = 0

    def counted():
        nonlocal count
        for subject in _subjects_plain(path):
            count += 1
            yield subject

    try:
        for chunk in _canonical_chunks(header, counted()):
            hasher.update(chunk.encode("utf-8"))
    except ValueError as exc:  # NaN or the like: not canonical JSON
        raise DataCutError(f"{path} is not a data-cut file: {exc}") from None
    return str(stated), hasher.hexdigest(), count


def verify_datacut(path: Path | str) -> dict[str, Any]:
    """The file's top-level values (and ``subject_count``) if its hash matches its content;
    DataCutError otherwise."""
    path = Path(path)
    try:
        header = _read_header(path)
        stated, actual, count = _content_sha256(path, header)
    except FileNotFoundError:
        raise DataCutError(f"no data-cut file at {path}") from None
    except IsADirectoryError:
        raise DataCutError(f"{path} is a folder, not a data-cut file") from None
    except PermissionError:
        raise DataCutError(f"cannot read {path}: permission denied") from None
    if stated != actual:
        raise DataCutError(
            f"{path}: the data-cut file's sha256 does not match its content (states {str(stated)[:12]}…, "
            f"content hashes to {actual[:12]}…): it was changed after it was written; refused"
        )
    return {**header, "subject_count": count}


def read_datacut(path: Path | str) -> StudySnapshot:
    """The snapshot a data-cut file holds, once its hash is verified; its subjects stream from the file."""
    path = Path(path)
    header = verify_datacut(path)
    if header.get("format", FORMAT) != FORMAT:
        raise DataCutError(f"{path}: format {header.get('format')!r} is not {FORMAT}")
    try:
        study = identity_from(header["study"])
        cutoff = parse_date(header["cutoff"])
        created_at = parse_time(header["created_at"])
        sites = tuple(site_from(s) for s in header.get("sites", ()))
        locks = tuple(lock_from(lock) for lock in header.get("locks", ()))
        supply = tuple(supply_from(move) for move in header.get("supply", ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataCutError(f"{path} is not a data-cut file: bad header ({exc})") from None

    def subjects():
        for plain in _subjects_plain(path):
            yield subject_from(plain)

    return StudySnapshot(
        study=study,
        cutoff=cutoff,
        created_at=created_at or dt.datetime.now(dt.UTC),
        pseudonymised=bool(header["pseudonymised"]),
        sites=sites,
        subject_source=subjects,
        locks=locks,
        viewer=header.get("viewer", ""),
        supply=supply,
    )
