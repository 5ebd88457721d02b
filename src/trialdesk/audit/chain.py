"""The hash of an audit event and the verification of the chain (no database here)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

# The fields an event's hash covers, in this order. Adding one is a format change.
HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "study_id",
    "site_id",
    "site_code",
    "user_id",
    "username",
    "role",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "field",
    "old_value",
    "new_value",
    "reason",
    "previous_hash",
)


def _normalised(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical_content(event: Mapping[str, Any]) -> bytes:
    content = {name: _normalised(event.get(name)) for name in HASHED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_content(event)).hexdigest()


@dataclass(frozen=True)
class ChainVerdict:
    intact: bool
    count: int
    first_broken_sequence: int | None = None
    problem: str = ""


def verify_chain(
    events: Iterable[Mapping[str, Any]], head_sequence: int | None, head_hash: str | None
) -> ChainVerdict:
    """Walk events in sequence order; name the first that does not follow from the one before."""
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    count = 0
    for event in events:
        sequence = event["sequence"]
        if sequence != expected_sequence:
            problem = f"sequence {expected_sequence} is missing (next is {sequence})"
            return ChainVerdict(False, count, expected_sequence, problem)
        if event["previous_hash"] != previous_hash:
            return ChainVerdict(False, count, sequence, "it does not link to the event before it")
        if event_hash(event) != event["hash"]:
            return ChainVerdict(False, count, sequence, "its content does not match its hash")
        previous_hash = event["hash"]
        expected_sequence += 1
        count += 1
    last_sequence = expected_sequence - 1
    if head_sequence is not None and head_sequence != last_sequence:
        problem = f"the chain ends at {last_sequence} but its head records {head_sequence}"
        return ChainVerdict(False, count, last_sequence + 1, problem)
    if head_hash is not None and count and head_hash != previous_hash:
        return ChainVerdict(False, count, last_sequence, "the last event differs from the one the head records")
    return ChainVerdict(True, count)
