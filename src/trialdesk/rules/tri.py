"""Three-valued (Kleene) truth: TRUE, FALSE, UNKNOWN."""

from __future__ import annotations

from enum import Enum


class Tri(Enum):
    """The result of a condition: true, false or unknown (missing or unusable data).

    ``&``, ``|`` and ``~`` follow Kleene's strong three-valued logic. A ``Tri`` is
    deliberately not usable as a Python bool: ``if result:`` would silently treat
    UNKNOWN as true (or false), so it raises ``TypeError``; compare with
    ``Tri.TRUE`` instead.
    """

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: bool | None) -> Tri:
        """``True`` → TRUE, ``False`` → FALSE, ``None`` → UNKNOWN."""
        if value is None:
            return cls.UNKNOWN
        return cls.TRUE if value else cls.FALSE

    def __and__(self, other: Tri) -> Tri:
        if not isinstance(other, Tri):
            return NotImplemented
        if self is Tri.FALSE or other is Tri.FALSE:
            return Tri.FALSE
        if self is Tri.TRUE and other is Tri.TRUE:
            return Tri.TRUE
        return Tri.UNKNOWN

    def __or__(self, other: Tri) -> Tri:
        if not isinstance(other, Tri):
            return NotImplemented
        if self is Tri.TRUE or other is Tri.TRUE:
            return Tri.TRUE
        if self is Tri.FALSE and other is Tri.FALSE:
            return Tri.FALSE
        return Tri.UNKNOWN

    def __invert__(self) -> Tri:
        if self is Tri.TRUE:
            return Tri.FALSE
        if self is Tri.FALSE:
            return Tri.TRUE
        return Tri.UNKNOWN

    def __bool__(self) -> bool:
        raise TypeError("a Tri is not a bool (it may be UNKNOWN); compare it with Tri.TRUE / Tri.FALSE")

    @property
    def is_true(self) -> bool:
        return self is Tri.TRUE

    @property
    def is_false(self) -> bool:
        return self is Tri.FALSE

    @property
    def is_unknown(self) -> bool:
        return self is Tri.UNKNOWN
