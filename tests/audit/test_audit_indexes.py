"""The audit trail has the indexes its viewer filters on (study, site, user, field, action,
dates; newest first by sequence), and the viewer's reads use them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from trialdesk.audit.models import AuditEvent
from trialdesk.audit_viewer import viewer

VIEWER_INDEXES = {
    "audit_study_seq": ["study_id", "sequence"],
    "audit_study_site_seq": ["study_id", "site_id", "sequence"],
    "audit_study_user_seq": ["study_id", "username", "sequence"],
    "audit_study_field_seq": ["study_id", "field", "sequence"],
    "audit_study_action_seq": ["study_id", "action", "sequence"],
    "audit_study_occurred": ["study_id", "occurred_at"],
}


def test_the_trail_table_has_the_viewer_indexes(db):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AuditEvent._meta.db_table)
    for name, columns in VIEWER_INDEXES.items():
        assert constraints[name]["index"] and constraints[name]["columns"] == columns


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's plans are stable on a small table")
@pytest.mark.parametrize(
    ("who", "filters", "index"),
    [
        ("data_manager", {}, "audit_study_seq"),
        ("investigator_nantes", {}, "audit_study_site_seq"),
        ("data_manager", {"user": "monitor"}, "audit_study_user_seq"),
        ("data_manager", {"field": "ecog"}, "audit_study_field_seq"),
        ("data_manager", {"action": "change"}, "audit_study_action_seq"),
    ],
)
def test_the_viewers_reads_use_them(cast, study, who, filters, index):
    events = viewer.apply_filters(viewer.events_for(getattr(cast, who), study), filters).order_by("-sequence")
    plan = events[: viewer.PAGE_SIZE].explain()
    assert index in plan, plan


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="SQLite's plans are stable on a small table")
def test_a_date_range_reads_by_an_index(cast, study):
    filters = {"date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 1, 31)}
    plan = viewer.apply_filters(viewer.events_for(cast.data_manager, study), filters).explain()
    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
