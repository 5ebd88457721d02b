"""Facts that answer an edit check's query in advance (queries.answers, EditCheck.answered_by)."""

from __future__ import annotations

from trialdesk.queries import answers
from trialdesk.queries.apps import _answers_are_registered


def test_every_answered_by_of_the_shipped_protocols_is_registered_by_an_app():
    assert _answers_are_registered() == []
    assert "validated_prescription" in answers.registered()


def test_an_answered_by_no_app_registered_is_a_system_check_error(monkeypatch):
    monkeypatch.setattr(answers, "_answers", {})
    [error] = _answers_are_registered()
    assert error.id == "queries.E001" and "answered_by 'validated_prescription'" in error.msg
