"""The accountability as plain data for the exports: one dict per site and lot, read in a
constant number of queries whatever the number of sites, lots and infusions."""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.pharmacy.conftest import EXPIRES_ON, LOT, RECEIVED_ON, VIALS, give, infusion

from trialdesk.pharmacy.accountability import EXPORT_COLUMNS, accountability_data, export_rows
from trialdesk.pharmacy.services import record_shipment, verify_accountability


def queries(study, site_ids) -> int:
    with CaptureQueriesContext(connection) as captured:
        accountability_data(study, site_ids)
    return len(captured.captured_queries)


def test_export_rows_are_plain_dicts_per_site_and_lot(cast, study, site, stock, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))
    rennes = study.sites.get(code="RNS")
    record_shipment(
        cast.investigator_rennes,
        rennes,
        lot_number="R7",
        vials=9,
        expires_on=EXPIRES_ON,
        received_on=RECEIVED_ON,
    )
    verify_accountability(cast.monitor, site, verified_on=dt.date(2026, 11, 27), seen_balance=VIALS - 2)
    rows = export_rows(accountability_data(study))
    json.dumps(rows)  # plain values only
    assert [(r["site"], r["lot"], r["balance"]) for r in rows] == [("NTE", LOT, VIALS - 2), ("RNS", "R7", 9)]
    nantes = rows[0]
    assert set(nantes) == set(EXPORT_COLUMNS)
    assert (nantes["received"], nantes["dispensed"], nantes["last_verified_balance"]) == (VIALS, 2, VIALS - 2)
    assert nantes["moved_since_verification"] is False and rows[1]["moved_since_verification"] is None


def test_it_reads_every_site_in_as_many_queries_as_one(cast, study, site, stock, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))
    one = queries(study, [site.pk])
    record_shipment(
        cast.investigator_rennes,
        study.sites.get(code="RNS"),
        lot_number="R1",
        vials=4,
        expires_on=EXPIRES_ON,
        received_on=RECEIVED_ON,
    )
    assert queries(study, None) == one
