"""Anchor receipts: the head of the trail written to a small JSON file kept outside the database.

Someone who can write to the database can delete the last events and rewrite the head to
match: the trail then verifies, shorter. A receipt kept elsewhere (printed, mailed to the
sponsor, in another system) names an event that must still be there, unchanged:
``trialdesk audit verify --anchor FILE`` fails when it is gone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.utils import timezone

RECEIPT_FORMAT = "trialdesk-audit-anchor/1"


class ReceiptError(Exception):
    """The file is not a receipt of ours: the message says why."""


def make_receipt(using: str = "default") -> dict[str, Any]:
    # Imported here: `audit verify` reads a receipt before Django is set up.
    from trialdesk.audit.models import AuditChainHead, AuditEvent

    head = AuditChainHead.objects.using(using).get(pk=1)
    key_id = (
        AuditEvent.objects.using(using).filter(sequence=head.last_sequence).values_list("key_id", flat=True).first()
    )
    return {
        "format": RECEIPT_FORMAT,
        "sequence": head.last_sequence,
        "mac": head.last_mac,
        "key_id": key_id or "",
        "created_at": timezone.now().isoformat(timespec="seconds"),
    }


def read_receipt(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ReceiptError(f"cannot read the anchor receipt {path}: {exc.strerror or exc}") from None
    try:
        receipt = json.loads(text)
    except ValueError:
        raise ReceiptError(f"{path} is not an anchor receipt (not JSON)") from None
    if not isinstance(receipt, dict) or receipt.get("format") != RECEIPT_FORMAT:
        raise ReceiptError(f"{path} is not an anchor receipt (no \"format\": \"{RECEIPT_FORMAT}\")")
    sequence, mac = receipt.get("sequence"), receipt.get("mac")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 0:
        raise ReceiptError(f"{path}: \"sequence\" must be a whole number")
    if not isinstance(mac, str) or len(mac) != 64:
        raise ReceiptError(f"{path}: \"mac\" must be 64 hexadecimal characters")
    return receipt
