"""Helpers of the query and SDV tests: the screening record, saves with a reason, the real protocol's checks."""

from __future__ import annotations

import pytest

from trialdesk.crf.models import FormRecord
from trialdesk.protocol.formdata import typed_values
from trialdesk.rules import Tri, parse

REASON = ("transcription_error", "checked against the source")


@pytest.fixture(autouse=True)
def _language_reset():
    """A request in French leaves French active in the thread: back to the default after each test."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture
def screening(screened_subject):
    """The complete, eligible screening form of a Nantes patient (version 1, no check failing)."""
    return FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")


def protocol_check(study, form_code: str, check_code: str):
    form = study.protocol.form(form_code)
    return next(check for check in form.edit_checks if check.code == check_code)


def check_result(study, form_code: str, check_code: str, data: dict) -> Tri:
    """What the protocol's own rule says of ``data`` (so a test notices when the protocol changes)."""
    form = study.protocol.form(form_code)
    return parse(protocol_check(study, form_code, check_code).rule).evaluate(typed_values(form, data))


def save(user, record: FormRecord, reason: tuple[str, str] | str = REASON, **changes) -> FormRecord:
    """Save ``record`` with ``changes`` on top of its data (None empties a field), as ``user``."""
    from trialdesk.crf.services import save_form

    record.refresh_from_db()
    data = {k: v for k, v in {**record.data, **changes}.items() if v is not None}
    outcome = save_form(
        user,
        record.subject,
        record.form_code,
        data,
        visit=record.visit,
        repeat=record.repeat,
        expected_version=record.version,
        reason=reason[0] if isinstance(reason, tuple) else reason,
        reason_detail=reason[1] if isinstance(reason, tuple) else "",
    )
    return outcome.record


@pytest.fixture
def age_check(study):
    """SCR-AGE: a query (not an error) on an implausible age; 14 fails it, 62 passes."""
    check = protocol_check(study, "screening", "SCR-AGE")
    assert check.severity == "query"
    return check
