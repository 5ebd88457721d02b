"""The viewer's cached analysis (datacut.cache): the analysis and safety report pages and the
dashboards read it; a second request rebuilds nothing, an audited write makes the next one
recompute, viewers of different scopes never share an entry, and a pseudonymised reader never
receives a non-pseudonymised analysis."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.datacut import cache as viewer_cache
from trialdesk.datacut import trial_today

ANALYSIS = "/reports/analysis/"
SAFETY = "/reports/safety/"
DASHBOARDS = "/studies/NCT00724360/dashboards/"
#: the tables the snapshot reads; a page served from the cache reads none of them
SNAPSHOT_TABLES = ("crf_formrecord", "subjects_visit", "signatures_signature", "queries_query")


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def _get(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def _screen(cast, site, today=dt.date(2026, 11, 25)):
    """A second patient screened at Nantes: audited writes (the screening and its form)."""
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_nantes,
        site,
        screened_on=dt.date(2026, 11, 21),
        sex="F",
        year_of_birth=1960,
        today=today,
    )
    save_form(
        cast.investigator_nantes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get()
    )
    return subject


def _screened_figure(page: str) -> int:
    return int(re.search(r'data-figure="subjects">(\d+)<', page).group(1))


@pytest.mark.parametrize("url", [ANALYSIS, SAFETY])
def test_a_second_request_of_a_report_page_rebuilds_no_snapshot(client, cast, enrolled_subject, url):
    _login(client, cast.sponsor)
    _first, built = _get(client, url)
    _second, again = _get(client, url)
    _third, still = _get(client, url)
    assert any(table in sql for sql in built for table in SNAPSHOT_TABLES)
    assert not [sql for sql in again if any(table in sql for table in SNAPSHOT_TABLES)]
    # small and constant: the session, the user, the access, the audit head, the page's job list
    assert len(again) == len(still) < len(built)
    assert len(again) <= 20, again


def test_the_second_request_costs_the_same_whatever_the_number_of_subjects(
    client, cast, enrolled_subject, site
):
    _login(client, cast.data_manager)
    _get(client, ANALYSIS)
    _page, with_one = _get(client, ANALYSIS)
    _screen(cast, site)
    _get(client, ANALYSIS)
    _page, with_two = _get(client, ANALYSIS)
    assert len(with_two) == len(with_one)


def test_an_audited_save_makes_the_next_request_recompute(client, cast, enrolled_subject, site):
    _login(client, cast.sponsor)
    before, _queries = _get(client, ANALYSIS)
    assert _screened_figure(before) == 1
    _screen(cast, site)
    after, queries = _get(client, ANALYSIS)
    assert _screened_figure(after) == 2
    assert any("crf_formrecord" in sql for sql in queries)  # rebuilt from the database


def test_the_dashboard_and_the_reports_share_the_viewers_analysis(cast, enrolled_subject, study):
    from trialdesk.dashboards import services

    calls = []
    found, key = viewer_cache.viewer_analysis(study, cast.sponsor, cutoff=trial_today())
    services.dashboard(cast.sponsor, study)  # the same scope and day: the analysis is not redone

    def compute():
        calls.append(1)
        return found

    again, same = viewer_cache.cached_for_viewer(
        "analysis", study, cast.sponsor, cutoff=trial_today(), compute=compute
    )
    assert same == key and again.analysis.as_of == found.analysis.as_of and calls == []


def test_a_write_moves_the_key_and_recomputes(cast, study):
    from trialdesk.audit.services import Actor, audited, record

    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    first, key = viewer_cache.cached_for_viewer("test", study, cast.sponsor, cutoff=None, compute=compute)
    again, same = viewer_cache.cached_for_viewer("test", study, cast.sponsor, cutoff=None, compute=compute)
    assert (first, again, same) == (1, 1, key)
    with audited():  # any audited write: here one event and nothing else
        record(Actor.system("tests"), "test.any_write", study_id=study.pk)
    fresh, newer = viewer_cache.cached_for_viewer("test", study, cast.sponsor, cutoff=None, compute=compute)
    assert fresh == 2 and newer != key


def test_a_later_cut_off_is_another_entry(cast, study):
    keys = {
        viewer_cache.cached_for_viewer("test", study, cast.sponsor, cutoff=day, compute=lambda: 1)[1]
        for day in (dt.date(2026, 11, 1), dt.date(2026, 11, 2), None)
    }
    assert len(keys) == 3


def test_viewers_of_different_scopes_never_share_an_entry(cast, study):
    readers = ("investigator_nantes", "investigator_rennes", "monitor", "sponsor", "statistician")
    keys = {}
    for role in readers:
        value, key = viewer_cache.cached_for_viewer(
            "test", study, getattr(cast, role), cutoff=None, compute=lambda role=role: role
        )
        assert value == role  # computed for them, not another's
        keys[role] = key
    assert len(set(keys.values())) == len(readers)
    # the data manager sees what the sponsor sees (every site, identified): they share
    shared, key = viewer_cache.cached_for_viewer(
        "test", study, cast.data_manager, cutoff=None, compute=lambda: "dm"
    )
    assert (shared, key) == ("sponsor", keys["sponsor"])


def test_a_nantes_investigator_never_gets_the_rennes_dashboard(cast, enrolled_subject, study):
    from trialdesk.dashboards import services

    rennes, _key = services.dashboard(cast.investigator_rennes, study)
    nantes, _key = services.dashboard(cast.investigator_nantes, study)
    assert rennes.site_codes == ("RNS",) and nantes.site_codes == ("NTE",)
    assert [s.code for s in nantes.enrollment.sites] == ["NTE"] and nantes.enrollment.enrolled == 1
    assert rennes.enrollment.enrolled == 0


def test_the_statistician_gets_a_pseudonymised_analysis_after_the_sponsors(cast, enrolled_subject, study):
    sponsors, _key = viewer_cache.viewer_analysis(study, cast.sponsor, cutoff=trial_today())
    statisticians, _key = viewer_cache.viewer_analysis(study, cast.statistician, cutoff=trial_today())
    assert not sponsors.analysis.pseudonymised and statisticians.analysis.pseudonymised
    assert sponsors is not statisticians


def test_even_a_colliding_key_never_gives_the_statistician_an_identified_analysis(
    cast, enrolled_subject, study, monkeypatch
):
    monkeypatch.setattr(viewer_cache, "cache_key", lambda *args, **kwargs: "datacut:one-key-for-all")
    sponsors, key = viewer_cache.viewer_analysis(study, cast.sponsor, cutoff=trial_today())
    statisticians, same = viewer_cache.viewer_analysis(study, cast.statistician, cutoff=trial_today())
    assert key == same  # the same entry asked for...
    assert not sponsors.pseudonymised and statisticians.pseudonymised  # ...yet recomputed for them


def test_a_value_computed_for_another_pseudonymisation_is_refused(cast, study):
    from types import SimpleNamespace

    with pytest.raises(RuntimeError):
        viewer_cache.cached_for_viewer(
            "test",
            study,
            cast.statistician,
            cutoff=None,
            compute=lambda: SimpleNamespace(pseudonymised=False),
        )
