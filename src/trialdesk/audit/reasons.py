"""The reasons the services write on the events they record, each defined once here.

A reason is written in English, the trail's language like all stored text
(``SystemReason(**values)``), and read back in the reader's language by the audit viewer
(``read``), from the same template. What a person typed (a reason for change's details, a
screen failure's reason) is no system reason: the viewer shows it as typed.

In a template, ``%(label)s`` is a record's label and ``%(because)s`` another reason: the
viewer reads both in turn. The order below is the order of reading: a template that another
one also matches comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils.translation import gettext_lazy

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
#: what the value of each kind of placeholder holds (any other: any text)
_VALUE = {"user": r"\S+", "day": r"\S+", "code": r"\S+", "n": r"\d+", "version": r"\d+"}

ALL: list[SystemReason] = []


class SystemReason:
    """One reason a service writes: ``reason(day="2022-06-30")`` is its English text."""

    def __init__(self, template: str) -> None:
        self.template = template
        # the catalogues (audit/locale) hold each template as a msgid: one text, two languages
        self.translated = gettext_lazy(template)
        pattern, end = [], 0
        for found in _PLACEHOLDER.finditer(template):
            pattern.append(re.escape(template[end : found.start()]))
            pattern.append(f"(?P<{found.group(1)}>{_VALUE.get(found.group(1), '.+')})")
            end = found.end()
        pattern.append(re.escape(template[end:]))
        self.pattern = re.compile("".join(pattern))
        ALL.append(self)

    def __call__(self, **values) -> str:
        return self.template % values


def read(stored: str, label: Callable[[str], str] = str) -> str | None:
    """A reason a service wrote, in the active language (None: it is not one of theirs);
    ``label`` reads a record's label."""
    for reason in ALL:
        found = reason.pattern.fullmatch(stored)
        if found is None:
            continue
        values = found.groupdict()
        if "label" in values:
            values["label"] = label(values["label"])
        if "because" in values:
            values["because"] = read(values["because"], label) or values["because"]
        return str(reason.translated) % values
    return None


# subjects.services: the calendar's anchors (the source of the date) and their replanning
FIRST_DOSE_ON = SystemReason("first dose on %(day)s")
NO_INFUSION_ANY_MORE = SystemReason("no infusion recorded any more")
THE_FIRST_INFUSION = SystemReason("the first infusion")
END_OF_TREATMENT_ON = SystemReason("end of treatment on %(day)s")
END_OF_TREATMENT_CLEARED = SystemReason("end of treatment cleared")
THE_END_OF_TREATMENT_FORM = SystemReason("the end-of-treatment form")
ENROLLMENT_TARGET_REACHED = SystemReason("the enrollment target (%(n)s) is reached: a data manager confirms")

# subjects.calendar, subjects.consistency, assessments, deviations: what a save checks
SCREENING_WINDOW_CHECKED = SystemReason("screening window checked at the first infusion (save by %(user)s)")
SEX_CHECKED = SystemReason("sex checked against the screening episode (save by %(user)s)")
AGE_CHECKED = SystemReason("age checked against the screening episode (save by %(user)s)")
ELIGIBILITY_REASSESSED = SystemReason("eligibility re-assessed after enrollment (save by %(user)s)")
RESPONSE_COMPARED = SystemReason("derived response compared at the save by %(user)s")
ASSESSMENT_WINDOW_CHECKED = SystemReason("assessment window checked at save (by %(user)s)")

# treatment, cardiac
PRESCRIPTION_VALIDATED = SystemReason("a new prescription was validated")
DOSING_RULE = SystemReason("dosing rule %(code)s on the save by %(user)s (version %(version)s)")
HOLD_LVEF_GONE = SystemReason("the LVEF that started it has no value any more")
HOLD_LVEF_VOIDED = SystemReason("the LVEF that started it was voided: %(why)s")  # why: as the person typed it
NO_BASELINE_LVEF = SystemReason("no baseline LVEF any more")
HOLD_LVEF_CORRECTED = SystemReason("the LVEF that started the hold, or the baseline, was corrected")
CORRECTED_LVEF = SystemReason("corrected LVEF: %(because)s")
CORRECTED_BASELINE_LVEF = SystemReason("corrected baseline LVEF: %(because)s")

# queries: the edit checks at a save and their re-runs, a source verification undone
EDIT_CHECK_FAILED_ON_SAVE = SystemReason("edit check %(code)s failed on the save by %(user)s (version %(version)s)")
EDIT_CHECK_FAILED_AFTER = SystemReason("edit check %(code)s failed after %(because)s")
RULE_FAILED_AFTER = SystemReason("rule %(code)s failed after %(because)s")
CHANGED_BY = SystemReason("%(label)s changed by %(user)s (version %(version)s)")

# signatures: the record and version that changed, and its fields if known
SIGNED_DATA_CHANGED_FIELDS = SystemReason("signed data changed: %(label)s v%(version)s: %(fields)s")
SIGNED_DATA_CHANGED = SystemReason("signed data changed: %(label)s v%(version)s")

# exports.importing
NAMED_BY_THE_IMPORT = SystemReason("named by the imported file: inactive until invited")
IMPORT_DONE = SystemReason("the import is done")
IMPORTED_RECRUITING = SystemReason("imported from %(file)s: recruiting from its first screening")
IMPORTED_FROM = SystemReason("imported from %(file)s")

# demo.builder: the study's status
FIRST_SITE_OPEN = SystemReason("first site open")
LAST_PATIENT_ENROLLED = SystemReason("the last patient is enrolled")
