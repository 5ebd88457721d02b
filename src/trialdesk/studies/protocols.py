"""The bridge from stored protocol text to the pure protocol model, parsed once per version."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from trialdesk.protocol import Protocol, default_protocol_path, load_protocol_text


@lru_cache(maxsize=8)
def protocol_from_text(text: str, sha256: str) -> Protocol:  # sha256 keys the cache cheaply
    return load_protocol_text(text, "<study protocol>")


def configured_protocol_path() -> Path:
    configured = settings.TRIALDESK_PROTOCOL or os.environ.get("TRIALDESK_PROTOCOL")
    return Path(configured) if configured else default_protocol_path()
