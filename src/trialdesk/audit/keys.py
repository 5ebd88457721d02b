"""The audit key ring: the HMAC keys of the trail, kept outside the database (DESIGN §5).

Where the keys come from, first found wins:
- ``TRIALDESK_AUDIT_KEY``: one key (at least 32 characters);
- ``TRIALDESK_AUDIT_KEY_FILE``: a key file;
- ``audit.key`` in the folder of the SQLite database (``TRIALDESK_DB``), where
  ``trialdesk demo`` writes it, or in the current folder.

A key file holds one key per line (``#`` comments allowed). The last line signs new
events; the lines before it are former keys, kept so that the events they signed still
verify: rotating the key is appending a line (``trialdesk audit rotate-key``).
Each event records the id of its key (a fingerprint, not the key), so that a
verification with the wrong key says so instead of reporting tampering.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_FILE_NAME = "audit.key"
MIN_KEY_LENGTH = 32


class AuditKeyError(Exception):
    """No usable key: the message says where one was looked for."""


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"trialdesk audit key id\x00" + key).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]  # key id -> key, in the order they were added
    current_id: str
    source: str

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]

    @classmethod
    def of(cls, keys: list[bytes], source: str) -> KeyRing:
        if not keys:
            raise AuditKeyError(f"{source} holds no key")
        for key in keys:
            if len(key) < MIN_KEY_LENGTH:
                raise AuditKeyError(f"an audit key in {source} is shorter than {MIN_KEY_LENGTH} characters")
        ring = {key_id(key): key for key in keys}
        return cls(keys=ring, current_id=key_id(keys[-1]), source=source)


def parse_key_file(text: str) -> list[bytes]:
    lines = (line.strip() for line in text.splitlines())
    return [line.encode() for line in lines if line and not line.startswith("#")]


def read_key_file(path: Path) -> KeyRing:
    try:
        text = path.read_text()
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key file {path}: {exc.strerror or exc}") from None
    return KeyRing.of(parse_key_file(text), str(path))


def default_key_file() -> Path | None:
    """The audit.key beside the SQLite database, or in the current folder, if there is one."""
    candidates = []
    if os.environ.get("TRIALDESK_DB") and not os.environ.get("DATABASE_URL"):
        candidates.append(Path(os.environ["TRIALDESK_DB"]).resolve().parent / KEY_FILE_NAME)
    candidates.append(Path.cwd() / KEY_FILE_NAME)
    return next((path for path in candidates if path.is_file()), None)


def load_key_ring() -> KeyRing:
    if value := os.environ.get("TRIALDESK_AUDIT_KEY"):
        return KeyRing.of([value.strip().encode()], "TRIALDESK_AUDIT_KEY")
    if path := os.environ.get("TRIALDESK_AUDIT_KEY_FILE"):
        return read_key_file(Path(path))
    if (found := default_key_file()) is not None:
        return read_key_file(found)
    raise AuditKeyError(
        "no audit key: set TRIALDESK_AUDIT_KEY or TRIALDESK_AUDIT_KEY_FILE, or put an audit.key file "
        "beside the database (`trialdesk audit new-key --out audit.key` makes one)"
    )


_cached: tuple[tuple, KeyRing] | None = None


def key_ring() -> KeyRing:
    """The key ring of this process, read again when the variables that locate it change."""
    global _cached
    where = (
        os.environ.get("TRIALDESK_AUDIT_KEY"),
        os.environ.get("TRIALDESK_AUDIT_KEY_FILE"),
        os.environ.get("TRIALDESK_DB"),
        os.environ.get("DATABASE_URL"),
        str(Path.cwd()),
    )
    if _cached is None or _cached[0] != where:
        _cached = (where, load_key_ring())
    return _cached[1]


def new_key() -> str:
    return secrets.token_urlsafe(48)


def write_new_key(path: Path, *, append: bool) -> str:
    """A new random key written to ``path`` (readable by its owner only); returns its id.
    ``append`` keeps the keys already there as former keys (rotation)."""
    key = new_key()
    existing = path.read_text() if append and path.exists() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        if not existing:
            handle.write("# trialdesk audit keys: the last line signs new events; keep every line.\n")
        handle.write(existing + key + "\n")
    global _cached
    _cached = None
    return key_id(key.encode())
