"""The bridge from stored protocol text to the pure protocol model, parsed once per version."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from trialdesk.protocol import Protocol, default_protocol_path, load_protocol_text

_PARSED: dict[str, Protocol] = {}  # by sha256 of the text, oldest first
_PARSED_MAX = 8
_PARSED_LOCK = threading.Lock()


def protocol_from_text(text: str | Callable[[], str], sha256: str) -> Protocol:
    """The parsed protocol of a stored text whose hash is ``sha256``, parsed once per hash
    (``text`` may be a function giving it, called only to parse it).

    Keyed by the hash alone: an ``lru_cache`` keyed by the text too would hash and compare
    the whole file at every ``study.protocol`` of every freshly loaded Study.
    """
    protocol = _PARSED.get(sha256)
    if protocol is None:
        protocol = load_protocol_text(text() if callable(text) else text, "<study protocol>")
        with _PARSED_LOCK:
            while len(_PARSED) >= _PARSED_MAX:
                del _PARSED[next(iter(_PARSED))]
            _PARSED[sha256] = protocol
    return protocol


def configured_protocol_path() -> Path:
    configured = settings.TRIALDESK_PROTOCOL or os.environ.get("TRIALDESK_PROTOCOL")
    return Path(configured) if configured else default_protocol_path()
