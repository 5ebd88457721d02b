"""What a pseudonymised reader (the statistician) must not see, decided in one place.

Used by the read layer (``studies.scoping``: instances read through ``for_user`` by a
pseudonymised viewer) and by the audit viewer (old and new values of the trail):
- subject identifiers: the fields ``initials``, ``year_of_birth``, ``birth_date``,
  ``date_of_birth``, ``name``, ``first_name``, ``last_name`` — as a field or as a key
  anywhere inside a value;
- free text typed into a form: every field whose type is ``text`` in a form of the
  protocol (comments, karyotype, medication, "other reason"…), wherever it appears;
- other free text of the sites (query messages, a screen failure's reason);
- the free-text part of a reason: a standard reason for change stays readable, the
  details after it (or a reason that is not a standard one) are masked.
Codes, numbers, dates of events, usernames of staff, actions and hashes stay readable.
The mask is shown in the reader's language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

IDENTIFYING_FIELDS = frozenset(
    {"initials", "year_of_birth", "birth_date", "date_of_birth", "name", "first_name", "last_name"}
)
MASK = gettext_lazy("[pseudonymised]")


def free_text_fields(protocol) -> frozenset[str]:
    """The codes of every field of type ``text`` in the protocol's forms, less those a CTCAE
    term fills from its list (the MedDRA code, the system organ class): reference text, not
    the site's words (masked, the form would find them unlike the term's)."""
    filled = {
        code
        for form in protocol.forms
        for f in form.fields
        if f.ctcae is not None
        for code in (f.ctcae.meddra_field, f.ctcae.soc_field)
        if code
    }
    return frozenset(
        f.code for form in protocol.forms for f in form.fields if f.type == "text" and f.code not in filled
    )


class Masker:
    """Masks what could identify a patient, for pseudonymised readers (``active``).

    ``standard_reasons``: the readable labels of the standard reasons for change (the
    layer that defines them passes them; without them every reason is free text).
    """

    def __init__(self, study, pseudonymised: bool, standard_reasons=()):
        self.active = pseudonymised
        self.free_text: frozenset[str] = free_text_fields(study.protocol) if pseudonymised else frozenset()
        self.standard_reasons = frozenset(standard_reasons)

    @staticmethod
    def mask() -> str:
        return str(MASK)

    def _sensitive(self, key: str) -> bool:
        return key in IDENTIFYING_FIELDS or key in self.free_text

    def value(self, field: str, value: Any) -> Any:
        """A value of ``field`` (a form field or a model field), masked if sensitive."""
        if not self.active or value is None:
            return value
        if field and self._sensitive(field):
            return self.mask()
        return self._inside(value)

    def _inside(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (self.mask() if self._sensitive(k) and v is not None and v != "" else self._inside(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._inside(v) for v in value]
        return value

    def text(self, value: Any) -> Any:
        """Free text of the sites: masked whole (empty stays empty)."""
        if not self.active or value in (None, ""):
            return value
        return self.mask()

    def masked(self, kind: str, value: Any) -> Any:
        """By kind: ``text``/``identity`` (masked whole), ``form_data`` (a form's data),
        ``none`` (dropped)."""
        if not self.active:
            return value
        if kind == "form_data":
            return self._inside(value)
        if kind == "none":
            return None
        return self.text(value)

    def reason(self, reason: str) -> str:
        if not self.active or not reason:
            return reason
        if reason in self.standard_reasons:
            return reason
        label, sep, _detail = reason.partition(": ")
        if sep and label in self.standard_reasons:
            return f"{label}: {self.mask()}"
        return self.mask()
