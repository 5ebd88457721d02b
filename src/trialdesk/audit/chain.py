"""The MAC of an audit event and the verification of the chain (no database here).

Each event stores ``mac = HMAC-SHA-256(key, canonical content)``, where the content
includes the MAC of the event before it and the id of the key. The key lives outside
the database (``trialdesk.audit.keys``): someone who can write to the database but
does not hold the key cannot recompute the chain after changing a row.
"""

from __future__ import annotations

import decimal
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS_MAC = "0" * 64

# The fields an event's MAC covers. Adding one is a format change.
MAC_FIELDS = (
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
    "previous_mac",
    "key_id",
)

# Fields an event's MAC covers only when they are set (not None): added after the format
# was fixed, so an event without them has the same content, and the same MAC, as before.
# ``api_token_id``: the API token a write was made with (trialdesk.api.tokens).
OPTIONAL_MAC_FIELDS = ("api_token_id",)

# Wide enough for every IEEE double written out in full (1.8e308 has 309 digits).
_EXACT = decimal.Context(prec=400)


def _number(value: int | float) -> str:
    """One text per number, whatever the database hands back.

    PostgreSQL's jsonb returns ``1e16`` as the integer 10000000000000000 and ``5.0`` as
    ``5.0`` or 5 depending on the path; SQLite returns what Python wrote. The value is
    written as its shortest exact decimal: 1e16, 10000000000000000 and 1.0e16 all give
    ``1E+16``; -0.0 gives ``0`` (PostgreSQL's numeric has no negative zero).
    """
    exact = _EXACT.create_decimal(repr(value) if isinstance(value, float) else value)
    if exact.is_zero():
        return "0"
    return str(exact.normalize(_EXACT))


def _canonical(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        return (
            "{"
            + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{_canonical(item)}" for key, item in items)
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def canonical_content(event: Mapping[str, Any]) -> bytes:
    """The bytes the MAC covers: the MAC_FIELDS of the event (and those of the
    OPTIONAL_MAC_FIELDS that are set) as canonical JSON."""
    content = {name: event.get(name) for name in MAC_FIELDS}
    for name in OPTIONAL_MAC_FIELDS:
        if event.get(name) is not None:
            content[name] = event[name]
    return _canonical(content).encode()


def event_mac(event: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, canonical_content(event), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainVerdict:
    intact: bool
    count: int
    first_broken_sequence: int | None = None
    problem: str = ""
    # True when the trail may well be intact but was signed with a key we were not given.
    wrong_key: bool = False
    last_sequence: int = 0
    last_mac: str = GENESIS_MAC


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    keys: Mapping[str, bytes],
    head_sequence: int | None,
    head_mac: str | None,
    anchor: Mapping[str, Any] | None = None,
    *,
    mac_of: Callable[[Mapping[str, Any], bytes], str] = event_mac,
    item: str = "event",
) -> ChainVerdict:
    """Walk events in sequence order; name the first that does not follow from the one before.

    ``keys`` maps key ids to keys (the key ring). ``anchor`` is a receipt written earlier
    by ``trialdesk audit anchor``: the event it names must still be there, unchanged.
    ``mac_of`` and ``item`` let another chain (the failed sign-ins) be walked by the same
    rules: its own MAC and the name of its rows in the messages.
    """
    previous_mac = GENESIS_MAC
    expected_sequence = 1
    count = 0
    anchored_found = anchor is None or anchor["sequence"] == 0
    for event in events:
        sequence = event["sequence"]
        if sequence != expected_sequence:
            if sequence > expected_sequence:
                problem = f"{item} {expected_sequence} is missing (next is {sequence})"
            else:
                problem = f"{item} {sequence} appears out of order after {expected_sequence - 1}"
            return ChainVerdict(False, count, expected_sequence, problem)
        key = keys.get(event["key_id"])
        if key is None:
            problem = (
                f"it was signed with key {event['key_id']}, which is not in the key ring: wrong key "
                "(give the key ring this trail was written with)"
            )
            return ChainVerdict(False, count, sequence, problem, wrong_key=True)
        if event["previous_mac"] != previous_mac:
            return ChainVerdict(False, count, sequence, f"it does not link to the {item} before it")
        if not hmac.compare_digest(mac_of(event, key), event["mac"]):
            return ChainVerdict(False, count, sequence, "its content does not match its MAC")
        if anchor is not None and sequence == anchor["sequence"]:
            if event["mac"] != anchor["mac"]:
                problem = "it differs from the event the anchor receipt recorded"
                return ChainVerdict(False, count, sequence, problem)
            anchored_found = True
        previous_mac = event["mac"]
        expected_sequence += 1
        count += 1
    last_sequence = expected_sequence - 1
    if not anchored_found:
        problem = (
            f"the anchor receipt records event {anchor['sequence']} (written {anchor.get('created_at', '?')}), "
            f"but the trail ends at {last_sequence}: events {last_sequence + 1} to {anchor['sequence']} are missing"
        )
        return ChainVerdict(False, count, last_sequence + 1, problem)
    if head_sequence is not None and head_sequence != last_sequence:
        problem = f"the chain ends at {item} {last_sequence} but its head records {head_sequence}"
        return ChainVerdict(False, count, last_sequence + 1, problem)
    if head_mac is not None and count and head_mac != previous_mac:
        return ChainVerdict(
            False, count, last_sequence, f"the last {item} differs from the one the head records"
        )
    return ChainVerdict(True, count, last_sequence=last_sequence, last_mac=previous_mac)
