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

The reader does not trust the layout: it parses the file (streaming, a chunk at a time, each
value by the standard library's JSON scanner), serialises each value again canonically, and
compares the hashes; a file re-indented or with its keys reordered still verifies, a file
whose content changed is refused (``DataCutError``). It reads the file once: the top-level
values and, as they come, the subjects, hashed on the way (a file whose top-level values
sorting before ``subjects`` come after them, rewritten by hand, is hashed by a second
reading). ``load_datacut`` builds the snapshot in that same reading, its subjects held in
memory (the report's path); ``read_datacut`` verifies the file, and its snapshot's
``subjects()`` then parses the subjects again from the file, one at a time, each time it is
called (the exports' path, in flat memory).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from trialdesk.snapshot.collection import paused_collection
from trialdesk.snapshot.model import StudySnapshot, held
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


#: how much of the file is read at a time (the text held is this, plus one subject)
CHUNK_BYTES = 1 << 20
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number of JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


class _Text:
    """A data-cut file's text, read and decoded (UTF-8) a chunk at a time, its values parsed by
    the standard library's JSON scanner (C) one at a time: the subjects never all held as text."""

    def __init__(self, handle, path: Path):
        self.handle = handle
        self.path = path
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False

    def bad(self, why: str) -> DataCutError:
        return DataCutError(f"{self.path} is not a data-cut file: {why}")

    def _more(self) -> bool:
        """Read the next chunk (False at the end of the file)."""
        if self.eof:
            return False
        data = self.handle.read(CHUNK_BYTES)
        try:
            decoded = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise self.bad("it is not UTF-8 text") from None
        if not data:
            self.eof = True
        self.text = self.text[self.pos :] + decoded
        self.pos = 0
        return bool(data) or bool(decoded)

    def peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            self.pos = _WHITESPACE.match(self.text, self.pos).end()
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos : self.pos + 1]

    def take(self, expected: str) -> None:
        if self.peek() != expected:
            raise self.bad("it is not valid JSON (a data cut is one JSON object)")
        self.pos += 1

    def value(self) -> Any:
        """The next JSON value (reading on while it is cut off by the end of a chunk)."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise self.bad(f"it is not valid JSON ({exc})") from None
            except ValueError as exc:  # NaN or Infinity
                raise self.bad(f"it is not valid JSON ({exc})") from None
            except RecursionError:
                raise self.bad("it is not valid JSON (nested too deep)") from None
            if end == len(self.text) and self._more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value


class _Pass:
    """One reading of a data-cut file: its top-level values (``header``), its subjects as JSON
    values (``subjects()``, as they come) and, once they are all read, the hash it states and
    the hash of its content (computed on the way: each subject serialised again canonically)."""

    def __init__(self, path: Path, *, hashing: bool = True):
        self.path = path
        self.hashing = hashing
        self.header: dict[str, Any] = {}
        self.count = 0
        self.stated: str | None = None
        self.actual: str | None = None

    def subjects(self) -> Iterator[dict[str, Any]]:
        path = self.path
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise DataCutError(f"no data-cut file at {path}") from None
        except IsADirectoryError:
            raise DataCutError(f"{path} is a folder, not a data-cut file") from None
        except PermissionError:
            raise DataCutError(f"cannot read {path}: permission denied") from None
        with handle:
            yield from self._read(_Text(handle, path))

    def _read(self, text: _Text) -> Iterator[dict[str, Any]]:
        header = self.header
        hasher = hashlib.sha256() if self.hashing else None
        if text.peek() != "{":
            if text.peek() in ("[", '"') or text.peek().isdigit():
                raise text.bad("not a JSON object")
            text.value()  # names what is wrong with it
            raise text.bad("not a JSON object")
        text.take("{")
        seen_subjects = False
        # the hash is the canonical JSON's, keys sorted: the values sorting before "subjects"
        # must be known when the subjects come (they are, in a file this module wrote); one
        # that comes after them is hashed by a second reading of the file
        in_order = True
        first = True
        while True:
            if text.peek() == "}":
                text.pos += 1
                break
            if not first:
                text.take(",")
            first = False
            key = text.value()
            if not isinstance(key, str):
                raise text.bad("it is not valid JSON (a key that is not a string)")
            text.take(":")
            if key != SUBJECTS:
                header[key] = text.value()
                if seen_subjects and key != HASH_KEY and key < SUBJECTS:
                    in_order = False
                continue
            if seen_subjects:
                raise text.bad("two lists of subjects")
            seen_subjects = True
            if hasher is not None:
                hasher.update(self._before_subjects().encode("utf-8"))
            text.take("[")
            if text.peek() == "]":
                text.pos += 1
                continue
            while True:
                subject = text.value()
                try:
                    if hasher is not None:
                        hasher.update((b"," if self.count else b"") + canonical(subject).encode("utf-8"))
                except ValueError as exc:  # not canonical JSON
                    raise text.bad(str(exc)) from None
                self.count += 1
                yield subject
                if text.peek() == "]":
                    text.pos += 1
                    break
                text.take(",")
        if text.peek() != "":
            raise text.bad("it is not valid JSON (more after the object)")
        missing = [k for k in REQUIRED_KEYS if k != SUBJECTS and k not in header]
        if not seen_subjects:
            missing.append(SUBJECTS)
        if missing:
            raise text.bad(f"no {', '.join(missing)}")
        self.stated = str(header[HASH_KEY])
        if hasher is None:
            return
        if in_order:
            hasher.update(self._after_subjects().encode("utf-8"))
            self.actual = hasher.hexdigest()
        else:
            self.actual = _content_sha256(self.path, header)[1]

    def _values(self, keys) -> str:
        return ",".join(canonical(key) + ":" + canonical(self.header[key]) for key in keys)

    def _before_subjects(self) -> str:
        try:
            before = self._values(sorted(k for k in self.header if k != HASH_KEY and k < SUBJECTS))
        except ValueError as exc:
            raise DataCutError(f"{self.path} is not a data-cut file: {exc}") from None
        return "{" + before + ("," if before else "") + canonical(SUBJECTS) + ":["

    def _after_subjects(self) -> str:
        try:
            after = self._values(sorted(k for k in self.header if k != HASH_KEY and k > SUBJECTS))
        except ValueError as exc:
            raise DataCutError(f"{self.path} is not a data-cut file: {exc}") from None
        return "]" + ("," + after if after else "") + "}"

    def check(self) -> dict[str, Any]:
        """The header (and ``subject_count``) once every subject was read, if the hashes match."""
        if self.stated != self.actual:
            raise DataCutError(
                f"{self.path}: the data-cut file's sha256 does not match its content (states "
                f"{str(self.stated)[:12]}…, content hashes to {str(self.actual)[:12]}…): it was changed "
                "after it was written; refused"
            )
        return {**self.header, "subject_count": self.count}


def _subjects_plain(path: Path) -> Iterator[dict[str, Any]]:
    """The subjects of a data-cut file as JSON values, parsed as they come (not verified)."""
    return _Pass(path, hashing=False).subjects()


def _ijson():
    import ijson

    return ijson


def _ijson_subjects(path: Path) -> Iterator[dict[str, Any]]:
    ijson = _ijson()
    with path.open("rb") as handle:
        try:
            yield from ijson.items(handle, f"{SUBJECTS}.item", use_float=True)
        except ijson.JSONError as exc:
            raise DataCutError(f"{path} is not a data-cut file: it is not valid JSON ({exc})") from None


def _content_sha256(path: Path, header: dict[str, Any]) -> tuple[str, str, int]:
    """(the hash the file states, the hash of its content, its subjects), computed streaming by
    a reading of its own: for a file whose top-level keys are out of order (rewritten by hand)."""
    header = dict(header)
    stated = header.pop(HASH_KEY)
    hasher = hashlib.sha256()
    count = 0

    def counted():
        nonlocal count
        for subject in _ijson_subjects(path):
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
    DataCutError otherwise. One reading of the file."""
    reading = _Pass(Path(path))
    for _subject in reading.subjects():
        pass
    return reading.check()


def _study_snapshot(path: Path, header: dict[str, Any], source) -> StudySnapshot:
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
    return StudySnapshot(
        study=study,
        cutoff=cutoff,
        created_at=created_at or dt.datetime.now(dt.UTC),
        pseudonymised=bool(header["pseudonymised"]),
        sites=sites,
        subject_source=source,
        locks=locks,
        viewer=header.get("viewer", ""),
        supply=supply,
    )


def _subject(path: Path, plain: Any):
    try:
        return subject_from(plain)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataCutError(f"{path} is not a data-cut file: a bad subject ({exc!r})") from None


def read_datacut(path: Path | str) -> StudySnapshot:
    """The snapshot a data-cut file holds, once its hash is verified; its subjects stream from the file."""
    path = Path(path)
    header = verify_datacut(path)

    def subjects():
        for plain in _subjects_plain(path):
            yield _subject(path, plain)

    return _study_snapshot(path, header, subjects)


class DataCut(NamedTuple):
    """A data-cut file read into memory: its snapshot (subjects held), its verified top-level
    values (``header["sha256"]``, ``header["subject_count"]``)."""

    snapshot: StudySnapshot
    header: dict[str, Any]

    @property
    def sha256(self) -> str:
        return str(self.header.get(HASH_KEY, ""))


def load_datacut(path: Path | str) -> DataCut:
    """The data-cut file read, verified and held in memory in one reading (its hash computed
    while its subjects are parsed): what ``read_datacut(path).materialise()`` gives after
    ``verify_datacut(path)``, in a third of the reading. DataCutError (nothing returned) if
    the file is not a data cut or its hash does not match its content.

    The garbage collector waits while the subjects are built (``paused_collection``): a large
    study is millions of small objects, none in a cycle, that it would scan again and again."""
    path = Path(path)
    reading = _Pass(path)
    with paused_collection():
        subjects = tuple(_subject(path, plain) for plain in reading.subjects())
    header = reading.check()
    return DataCut(_study_snapshot(path, header, held(subjects)), header)
