"""The analysis report's charts are drawn once per content of the viewer's snapshot and language:
a second request draws none, another reader's data (the pseudonymised statistician's) or a
change draws them again."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.reports import analysis_charts

ANALYSIS = "/reports/analysis/"


@pytest.fixture
def drawn(monkeypatch):
    calls = []
    real = analysis_charts._swimmer_chart

    def counting(analysis):
        calls.append(analysis.pseudonymised)
        return real(analysis)

    monkeypatch.setattr(analysis_charts, "_swimmer_chart", counting)
    return calls


def _login(client, user):
    client.logout()
    client.login(username=user.username, password=PASSWORD)  # a sign-in is audited: the head moves
    return client


def _read(client, **headers):
    assert client.get(ANALYSIS, **headers).status_code == 200


def test_a_second_request_draws_no_chart_again(client, cast, enrolled_subject, drawn):
    _login(client, cast.sponsor)
    _read(client)
    _read(client)
    assert drawn == [False]


def test_the_statistician_gets_charts_drawn_from_their_pseudonymised_data(
    client, cast, enrolled_subject, drawn
):
    _read(_login(client, cast.sponsor))
    _read(_login(client, cast.statistician))
    _read(client)
    assert drawn == [False, True]


def test_a_write_or_another_language_draws_them_again(client, cast, enrolled_subject, drawn):
    from trialdesk.audit.services import Actor, audited, record

    _login(client, cast.sponsor)
    _read(client)
    _read(client, HTTP_ACCEPT_LANGUAGE="fr")
    _read(client, HTTP_ACCEPT_LANGUAGE="fr")
    with audited():
        record(Actor.system("tests"), "test.any_write", study_id=enrolled_subject.study_id)
    _read(client)  # a new snapshot of the data (its own time and SHA-256): drawn from it
    assert drawn == [False, False, False]


def test_a_kaplan_meier_curve_is_drawn_once_per_estimate_and_language(monkeypatch):
    import uuid
    from types import SimpleNamespace

    from django.utils import translation

    from trialdesk.stats.survival import kaplan_meier

    calls = []
    real = analysis_charts._km_chart
    monkeypatch.setattr(analysis_charts, "_km_chart", lambda *args: calls.append(1) or real(*args))
    times, events = [2.0, 3.5, 5.0, 7.25], [1, 0, 1, 0]
    label = f"Overall survival {uuid.uuid4()}"  # nothing another test drew (the cache outlives a test)

    def endpoint(times, events):
        subjects = [SimpleNamespace(months=t, event=bool(e)) for t, e in zip(times, events, strict=True)]
        return SimpleNamespace(km=kaplan_meier(times, events), subjects=subjects)

    with translation.override("en"):
        first = analysis_charts.km_chart(endpoint(times, events), label)
        again = analysis_charts.km_chart(endpoint(times, events), label)
        other = analysis_charts.km_chart(endpoint([*times, 9.0], [*events, 1]), label)
    with translation.override("fr"):
        analysis_charts.km_chart(endpoint(times, events), label)
    assert first.svg == again.svg and other.svg != first.svg
    assert len(calls) == 3  # the first, another estimate, another language
