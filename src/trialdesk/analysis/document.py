"""The analysis as plain JSON data (pure core): the endpoints of ``analyse`` for the REST
API's ``/endpoints`` resource and any other machine reader.

    endpoints_document(analysis)  -> dict   # JSON-ready: numbers, text, ISO dates, lists

One reading of the endpoint dataclasses, field by field, with their computed properties
(a population's ``n``, a survival endpoint's ``events`` and ``censored``): a new field of
an endpoint appears here without a second description of it. The per-subject facts
(``Analysis.subjects``, each holding its whole snapshot) are left out; subjects appear by
their labels in the populations, as the viewer may see them (pseudonymised or not).
Numbers that are not numbers (NaN, an infinite bound) become null.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from typing import Any

from trialdesk.analysis.endpoints import Analysis

ENDPOINTS = (
    "flow",
    "baseline",
    "exposure",
    "response",
    "os",
    "lfs",
    "transfusions",
    "cytogenetics",
    "tolerance",
)


def _properties(cls) -> list[str]:
    names = []
    for klass in reversed(cls.__mro__):
        for name, member in vars(klass).items():
            if isinstance(member, property) and not name.startswith("_") and name not in names:
                names.append(name)
    return names


def plain(value: Any) -> Any:
    """``value`` as JSON data."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _properties(type(value)):
            out.setdefault(name, plain(getattr(value, name)))
        return out
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if hasattr(value, "item"):  # a numpy scalar
        return plain(value.item())
    raise TypeError(f"no plain form for {type(value).__name__}")


def endpoints_document(analysis: Analysis) -> dict[str, Any]:
    """Every endpoint of ``analysis`` with what it was computed from."""
    return {
        "nct_id": analysis.nct_id,
        "cutoff": plain(analysis.cutoff),
        "as_of": plain(analysis.as_of),
        "created_at": plain(analysis.created_at),
        "pseudonymised": analysis.pseudonymised,
        "protocol_sha256": analysis.protocol_sha256,
        "snapshot_sha256": analysis.snapshot_sha256,
        "counts": plain(analysis.counts),
        **{name: plain(getattr(analysis, name)) for name in ENDPOINTS},
    }
