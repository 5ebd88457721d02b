"""The query and SDV pages, and their blocks on the form page and the casebook, through the test client."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.queries.conftest import save

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.queries import services
from trialdesk.queries.models import Query, QueryMessage, QueryStatus, SourceVerification


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    settings.TRIALDESK_REQUIRE_2FA = False


@pytest.fixture
def as_user(db):
    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def query(cast, screening):
    return services.raise_query(cast.monitor, screening, "ecog", "The clinic letter says ECOG 2.")


def _form_url(record):
    return f"/subjects/{record.subject_id}/visits/{record.visit.code}/forms/{record.form_code}/"


def _post_data(record, **changes):
    data = {**record.data, **changes}
    return {k: ("true" if v is True else "false" if v is False else v) for k, v in data.items()}


# --------------------------------------------------------------------------- list and worklist


def test_the_worklist_of_an_investigator_lists_the_open_queries_of_their_site(as_user, cast, query):
    page = as_user(cast.investigator_nantes).get("/queries/")
    html = page.content.decode()
    assert page.status_code == 200 and "My open queries" in html
    assert f'data-query="{query.pk}"' in html and "The clinic letter says ECOG 2." in html


def test_the_list_filters_by_status(as_user, cast, query):
    client = as_user(cast.monitor)
    assert f'data-query="{query.pk}"' not in client.get("/queries/").content.decode()  # not answered yet
    assert f'data-query="{query.pk}"' in client.get("/queries/?view=all&status=open").content.decode()
    assert f'data-query="{query.pk}"' not in client.get("/queries/?view=all&status=closed").content.decode()


def test_the_list_shows_open_counts_per_site(as_user, cast, query):
    html = as_user(cast.monitor).get("/queries/?view=all").content.decode()
    assert 'data-open="NTE">1<' in html and 'data-open="RNS">0<' in html


def test_a_rennes_investigator_sees_no_nantes_query_and_gets_404_for_it(as_user, cast, query):
    client = as_user(cast.investigator_rennes)
    html = client.get("/queries/?view=all&status=all").content.decode()
    assert f'data-query="{query.pk}"' not in html and "NTE" not in html
    assert client.get(f"/queries/{query.pk}/").status_code == 404
    assert client.post(f"/queries/{query.pk}/", {"action": "answer", "text": "x"}).status_code == 404
    assert client.get("/queries/?site=NTE").status_code == 404
    assert client.get(f"/queries/records/{query.record_id}/new/").status_code == 404
    assert client.post(f"/queries/sdv/records/{query.record_id}/", {"_sdv_field": ""}).status_code == 404
    assert query.messages.count() == 1 and not SourceVerification.objects.system("test").exists()


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, query):
    for url in ("/queries/", f"/queries/{query.pk}/", "/queries/sdv/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --------------------------------------------------------------------------- detail and actions


def test_the_detail_shows_the_thread_and_the_actions_of_the_role(as_user, cast, query):
    html = as_user(cast.investigator_nantes).get(f"/queries/{query.pk}/").content.decode()
    assert "The clinic letter says ECOG 2." in html and 'data-kind="raise"' in html
    assert 'value="answer"' in html and 'value="close"' not in html
    assert f"?query={query.pk}" in html  # correct the data in response
    html = as_user(cast.monitor).get(f"/queries/{query.pk}/").content.decode()
    assert 'value="close"' in html and 'value="answer"' not in html
    html = as_user(cast.statistician).get(f"/queries/{query.pk}/").content.decode()
    assert 'id="query-action"' not in html


def test_answer_then_close_through_the_pages(as_user, cast, query):
    response = as_user(cast.investigator_nantes).post(
        f"/queries/{query.pk}/", {"action": "answer", "text": "Fixed."}
    )
    assert response.status_code == 302
    response = as_user(cast.monitor).post(f"/queries/{query.pk}/", {"action": "close", "text": ""})
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert list(AuditEvent.objects.filter(object_type="query").values_list("action", flat=True)) == [
        "query_open",
        "query_answer",
        "query_close",
    ]


def test_answering_a_closed_query_shows_a_message_and_writes_nothing(as_user, cast, query):
    services.close_query(cast.monitor, query)
    client = as_user(cast.investigator_nantes)  # signing in is audited too
    before = QueryMessage.objects.system("test").count(), AuditEvent.objects.count()
    response = client.post(f"/queries/{query.pk}/", {"action": "answer", "text": "Late"})
    html = response.content.decode()
    assert response.status_code == 400 and "This query is closed" in html and "Late" in html
    assert (QueryMessage.objects.system("test").count(), AuditEvent.objects.count()) == before


def test_a_refusal_is_in_french_for_a_french_user(as_user, cast, query):
    services.close_query(cast.monitor, query)
    client = as_user(cast.investigator_nantes)
    response = client.post(
        f"/queries/{query.pk}/", {"action": "answer", "text": "x"}, headers={"accept-language": "fr"}
    )
    html = response.content.decode()
    assert "Cette requête est clôturée" in html and "Fil de discussion" in html


def test_script_in_a_message_is_shown_escaped(as_user, cast, query):
    as_user(cast.investigator_nantes).post(
        f"/queries/{query.pk}/", {"action": "answer", "text": "<script>alert(1)</script>"}
    )
    html = as_user(cast.monitor).get(f"/queries/{query.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --------------------------------------------------------------------------- raising from the form page


def test_the_form_page_offers_a_monitor_to_raise_a_query_and_verify_each_field(as_user, cast, screening):
    html = as_user(cast.monitor).get(_form_url(screening)).content.decode()
    assert f'href="/queries/records/{screening.pk}/new/?field=ecog"' in html
    assert 'data-verify="ecog"' in html and 'data-verify="__form__"' in html
    # The karyotype does not apply to a normal karyotype: nothing to ask or verify there.
    assert 'data-raise="karyotype"' not in html and 'data-verify="karyotype"' not in html
    html = as_user(cast.investigator_nantes).get(_form_url(screening)).content.decode()
    assert "data-raise=" not in html and "data-verify=" not in html


def test_the_form_page_shows_a_fields_open_query(as_user, cast, query, screening):
    html = as_user(cast.investigator_nantes).get(_form_url(screening)).content.decode()
    assert f'data-query="{query.pk}"' in html and "The clinic letter says ECOG 2." in html


def test_raising_a_query_through_the_page(as_user, cast, screening):
    client = as_user(cast.monitor)
    page = client.get(f"/queries/records/{screening.pk}/new/?field=lvef_pct")
    assert page.status_code == 200 and 'value="lvef_pct" selected' in page.content.decode()
    response = client.post(
        f"/queries/records/{screening.pk}/new/", {"field": "lvef_pct", "text": "Echo report?"}
    )
    assert response.status_code == 302 and response["Location"] == _form_url(screening)
    query = Query.objects.system("test").get()
    assert (query.field_code, query.raised_by) == ("lvef_pct", cast.monitor)


def test_an_empty_question_is_refused_with_a_message(as_user, cast, screening):
    response = as_user(cast.monitor).post(
        f"/queries/records/{screening.pk}/new/", {"field": "ecog", "text": ""}
    )
    assert response.status_code == 400 and "Write a message." in response.content.decode()
    assert not Query.objects.system("test").exists()


@pytest.mark.parametrize("who", ["investigator_nantes", "statistician", "sponsor"])
def test_roles_that_cannot_raise_get_forbidden(as_user, cast, screening, who):
    client = as_user(getattr(cast, who))
    assert client.get(f"/queries/records/{screening.pk}/new/").status_code == 403
    assert (
        client.post(f"/queries/records/{screening.pk}/new/", {"field": "ecog", "text": "?"}).status_code
        == 403
    )


def test_correcting_the_data_from_a_query_links_the_query_in_the_audit_reason(
    as_user, cast, query, screening
):
    client = as_user(cast.investigator_nantes)
    url = f"{_form_url(screening)}?query={query.pk}"
    html = client.get(url).content.decode()
    assert '<option value="query_response" selected>' in html and f'value="query #{query.pk}"' in html
    post = {
        **_post_data(screening, ecog=2),
        "_version": "1",
        "_reason": "query_response",
        "_reason_detail": f"query #{query.pk}",
    }
    assert client.post(url, post).status_code == 302
    change = AuditEvent.objects.filter(action="change", field="ecog").order_by("-sequence").first()
    assert f"query #{query.pk}" in change.reason
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED


# --------------------------------------------------------------------------- SDV


def test_a_monitor_verifies_a_field_from_the_form_page(as_user, cast, screening):
    client = as_user(cast.monitor)
    response = client.post(f"/queries/sdv/records/{screening.pk}/", {"_sdv_field": "ecog", "_version": "1"})
    assert response.status_code == 302 and response["Location"] == _form_url(screening)
    html = client.get(_form_url(screening)).content.decode()
    assert 'data-sdv="ecog"' in html and 'data-verify="ecog"' not in html


def test_verifying_a_stale_version_shows_a_message_and_marks_nothing(as_user, cast, screening):
    save(cast.investigator_nantes, screening, ecog=2)
    client = as_user(cast.monitor)
    response = client.post(
        f"/queries/sdv/records/{screening.pk}/", {"_sdv_field": "", "_version": "1"}, follow=True
    )
    assert "The form changed since you opened it" in response.content.decode()
    assert not SourceVerification.objects.system("test").exists()


def test_an_investigator_cannot_verify_source(as_user, cast, screening):
    response = as_user(cast.investigator_nantes).post(
        f"/queries/sdv/records/{screening.pk}/", {"_sdv_field": ""}
    )
    assert response.status_code == 403 and not SourceVerification.objects.system("test").exists()


def test_a_get_on_the_verify_url_is_not_allowed(as_user, cast, screening):
    assert as_user(cast.monitor).get(f"/queries/sdv/records/{screening.pk}/").status_code == 405


def test_the_casebook_shows_open_queries_and_sdv_and_the_verify_action(as_user, cast, query, screening):
    client = as_user(cast.monitor)
    casebook = f"/subjects/{screening.subject_id}/"
    html = client.get(casebook).content.decode()
    assert 'data-open-queries="1"' in html and f'data-verify-record="{screening.pk}"' in html
    response = client.post(
        f"/queries/sdv/records/{screening.pk}/", {"_sdv_field": "", "_version": "1", "next": casebook}
    )
    assert response["Location"] == casebook
    html = client.get(casebook).content.decode()
    assert 'data-sdv-state="verified"' in html and f'data-verify-record="{screening.pk}"' not in html


def test_the_next_address_of_a_verify_post_stays_on_this_site(as_user, cast, screening):
    response = as_user(cast.monitor).post(
        f"/queries/sdv/records/{screening.pk}/", {"_sdv_field": "", "next": "https://evil.example/"}
    )
    assert response["Location"] == _form_url(screening)


def test_the_sdv_progress_page_shows_sites_and_subjects(as_user, cast, screening):
    services.verify_source(cast.monitor, screening, "")
    html = as_user(cast.monitor).get("/queries/sdv/").content.decode()
    assert (
        '<tr data-site="NTE"><td><a href="?site=NTE">NTE</a></td><td class="num">1</td><td class="num">1</td><td class="num">100</td>'
        in html
    )
    assert f'data-subject="{screening.subject_id}"' in html
    rennes = as_user(cast.investigator_rennes)
    html = rennes.get("/queries/sdv/").content.decode()
    assert 'data-site="NTE"' not in html and f'data-subject="{screening.subject_id}"' not in html
    assert rennes.get("/queries/sdv/?site=NTE").status_code == 404


def test_the_pages_render_in_french(as_user, cast, query):
    client = as_user(cast.monitor)
    html = client.get("/queries/?view=all", headers={"accept-language": "fr"}).content.decode()
    assert "Requêtes" in html
    html = client.get("/queries/sdv/", headers={"accept-language": "fr"}).content.decode()
    assert "Vérification des données source" in html
    record = FormRecord.objects.system("test").get(pk=query.record_id)
    html = client.get(_form_url(record), headers={"accept-language": "fr"}).content.decode()
    assert "Soulever une requête" in html
