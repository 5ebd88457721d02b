"""The ``sdtm`` kind of ``trialdesk export`` (``trialdesk.exports.services.EXPORT_KINDS``).

    with chosen_formats(("xpt",)):          # --format xpt; default: both
        run_export(study, "sdtm", out)      # calls export_folder(...) below

``export_folder`` has the signature of every kind's writer; the formats it writes are the
ones chosen around the call (a context variable: the export service's signature is shared
by every kind and knows no options), Dataset-JSON and XPT when none is chosen.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trialdesk.exchange.sdtm.writer import FORMATS, write_sdtm

#: ``--format`` of ``trialdesk export sdtm``: json, xpt or both
FORMAT_CHOICES: dict[str, tuple[str, ...]] = {"json": ("json",), "xpt": ("xpt",), "both": FORMATS}

_formats: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("sdtm_formats", default=FORMATS)


@contextlib.contextmanager
def chosen_formats(formats: tuple[str, ...]) -> Iterator[None]:
    token = _formats.set(tuple(formats))
    try:
        yield
    finally:
        _formats.reset(token)


@dataclass(frozen=True)
class Exported:
    sha256: str
    subjects: int
    records: int
    files: tuple[str, ...]


def export_folder(snapshot: Any, protocol: Any, temporary: Path, source: Any, progress) -> Exported:
    """Write the SDTM datasets into the (temporary) folder; ``source`` is not needed."""
    result = write_sdtm(snapshot, protocol, temporary, formats=_formats.get(), progress=progress)
    return Exported(result.sha256, result.subjects, result.rows, tuple(name for name, _ in result.files))
