"""The study home at scale: its counts come from SQL aggregation in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.queries.models import Query, QueryOrigin, QueryStatus, SourceVerification
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

STATUSES = [SubjectStatus.SCREENING, SubjectStatus.ENROLLED, SubjectStatus.SCREEN_FAILED, SubjectStatus.ENROLLED]


def _subjects(study, monitor, upto: int) -> None:
    """Subjects up to ``upto`` at Nantes and Rennes, each with a complete record, every other
    one source-verified and every third one with an open query. Written directly (a fixture)."""
    sites = [study.sites.get(code="NTE"), study.sites.get(code="RNS")]
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    for n in range(Subject.objects.system("test").filter(study=study).count(), upto):
        subject = Subject.objects.create(
            study=study, site=sites[n % 2], screening_number=f"H-S{n:03d}", status=STATUSES[n % 4],
            screened_on=dt.date(2026, 11, 20),
        )
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        record = FormRecord.objects.create(subject=subject, visit=visit, form_code="screening",
                                           data=dict(ELIGIBLE_SCREENING), status=FormStatus.COMPLETE,
                                           filled_fields=len(ELIGIBLE_SCREENING))
        if n % 2:
            SourceVerification.objects.create(record=record, field_code="", record_version=1, verified_by=monitor,
                                              verified_role="monitor", verified_at=now)
        if n % 3 == 0:
            Query.objects.create(record=record, field_code="ecog", origin=QueryOrigin.MANUAL,
                                 status=QueryStatus.OPEN, summary="check", record_version=1, raised_role="monitor",
                                 raised_at=now, raised_by=monitor)


def _row(page: str, code: str) -> list[str]:
    row = re.search(rf'<tr><td><a href="[^"]*">{code}</a></td>(.*?)</tr>', page, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)]


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/", follow=True).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("username", ["datamanager", "inv.nantes", "statistician"])
def test_the_home_page_takes_the_same_number_of_queries_for_3_and_30_subjects(client, cast, study, username):
    client.login(username=username, password=PASSWORD)
    _subjects(study, cast.monitor, 3)
    client.get("/", follow=True)
    few = _queries(client)
    _subjects(study, cast.monitor, 30)
    assert _queries(client) == few


def test_the_home_page_counts_per_site_for_the_users_sites(client, cast, study):
    _subjects(study, cast.monitor, 30)
    client.login(username="datamanager", password=PASSWORD)
    page = client.get("/", follow=True).content.decode()
    # Nantes holds the even subjects: 15, of which 8 screening (0, 4, …), 7 screen failures
    # (2, 6, …), none enrolled; none verified; queries on 0, 6, 12, 18, 24.
    assert _row(page, "NTE") == ["15", "0", "7", "5", "0 %"]
    # Rennes: the odd ones, all enrolled, all verified; queries on 3, 9, 15, 21, 27.
    assert _row(page, "RNS") == ["15", "15", "0", "5", "100 %"]
    other = study.sites.exclude(code__in=["NTE", "RNS"]).order_by("code").first().code
    assert _row(page, other) == ["0", "0", "0", "0", "—"]

    client.login(username="inv.nantes", password=PASSWORD)
    page = client.get("/", follow=True).content.decode()
    assert _row(page, "NTE") == ["15", "0", "7", "5", "0 %"]
    assert 'data-sdv="RNS"' not in page


def test_counting_through_the_read_layer_keeps_the_site_scope(cast, study):
    """``.values().annotate()`` through ``for_user``: the aggregation is of the user's sites only."""
    from django.db.models import Count

    _subjects(study, cast.monitor, 10)
    rows = dict(
        Subject.objects.for_user(cast.investigator_nantes, study).order_by().values_list("site__code")
        .annotate(n=Count("pk"))
    )
    assert rows == {"NTE": 5}
    every = dict(
        Subject.objects.for_user(cast.data_manager, study).order_by().values_list("site__code").annotate(n=Count("pk"))
    )
    assert every == {"NTE": 5, "RNS": 5}
