"""The statistician sees no free text of the sites anywhere (issue 7, finding 4; DESIGN §1, §2).

A recognisable name is typed into every free-text field of every form of the protocol, into
query messages, into a reason for change with details and into a screen failure's reason;
then every page the URL resolver knows is read as the statistician: the name is nowhere.
The same pages read by the data manager do show it, which proves the crawl can fail.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING
from tests.safety.conftest import SERIOUS_AE
from tests.studies.test_access_matrix import _path, all_patterns

# a crawl of every page: run once, on SQLite (dev.py leaves it out of the PostgreSQL pass)
pytestmark = [pytest.mark.django_db, pytest.mark.crawl]

NAME = "Mme DURAND Jeanne"
INITIALS = "QXZW"


def _text_fields(form) -> list[str]:
    """Where a site types its own words: every text field but those a CTCAE term fills from its
    list (the MedDRA code, the system organ class), which a save fills and refuses any other
    value in (protocol.formdata, tests/crf/test_verbatim_values.py): reference text the
    statistician reads unmasked."""
    filled = {
        code for f in form.fields if f.ctcae is not None for code in (f.ctcae.meddra_field, f.ctcae.soc_field)
    }
    return [f.code for f in form.fields if f.type == "text" and f.code not in filled]


@pytest.fixture
def named_world(cast, study, site, enrolled_subject):
    """The name typed everywhere a site can type free text, at Nantes."""
    from trialdesk.crf.models import FormRecord, ReasonForChange
    from trialdesk.crf.services import save_form
    from trialdesk.queries.services import answer_query, comment_query, raise_query
    from trialdesk.subjects.services import record_screen_failure, register_screening

    investigator = cast.investigator_nantes
    protocol = study.protocol
    subject = enrolled_subject
    visits = {v.code: v for v in subject.visits.system("test").all()}
    records = {}  # form code -> (record, visit code or None)

    # The screening form, corrected with a free-text reason, its karyotype typed in.
    screening = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
    save_form(
        investigator,
        subject,
        "screening",
        dict(ELIGIBLE_SCREENING, karyotype_abnormal=True, karyotype=NAME),
        visit=screening.visit,
        expected_version=screening.version,
        reason=ReasonForChange.OTHER,
        reason_detail=NAME,
    )
    records["screening"] = (screening, screening.visit.code)
    # Every other form: its text fields saved through the form engine (the trail holds the
    # name), then written into the record whatever the conditions (the pages show them).
    planned = {}
    for visit in protocol.schedule.expanded_visits():
        for code in visit.forms:
            planned.setdefault(code, visit.code)
    for form in protocol.forms:
        if form.code == "screening":
            continue
        typed = {code: NAME for code in _text_fields(form)}
        visit_code = planned.get(form.code) if form.code not in protocol.schedule.log_forms else None
        visit = visits.get(visit_code) if visit_code else None
        if visit_code and visit is None:
            continue
        try:
            outcome = save_form(investigator, subject, form.code, dict(typed), visit=visit)
            record = outcome.record
        except Exception:  # a form whose other fields the engine insists on: written directly
            record = FormRecord.objects.create(subject=subject, visit=visit, form_code=form.code, data={})
        FormRecord.objects.system("test").filter(pk=record.pk).update(data={**record.data, **typed})
        records[form.code] = (record, visit_code)

    # A serious event under an "Other, specify" term: the site's own words name the patient.
    sae = save_form(
        investigator,
        subject,
        "adverse_event",
        dict(SERIOUS_AE, event_term="Cardiac disorders - Other, specify", specified_term=NAME),
    ).record.sae_report
    monitor = cast.monitor
    query = raise_query(monitor, screening, "ecog", f"Is {NAME} the patient? Please check.")
    answer_query(investigator, query, f"Yes, {NAME} confirmed.")
    comment_query(cast.data_manager, query, f"Noted for {NAME}.")

    failed = register_screening(
        investigator,
        site,
        screened_on=dt.date(2026, 11, 22),
        sex="F",
        initials=INITIALS,
        age_at_screening=70,
        today=dt.date(2026, 11, 25),
    )
    record_screen_failure(investigator, failed, reason=f"{NAME} withdrew consent")
    membership = investigator.memberships.filter(study=subject.study).first()
    return {
        "site": site,
        "subject": subject,
        "failed": failed,
        "records": records,
        "query": query,
        "screening": screening,
        "sae": sae,
        "user_id": investigator.pk,
        "membership_id": membership.pk,
    }


def _urls(world) -> list[str]:
    """Every GET-able URL of the resolver, filled with the objects of the named world."""
    subject, query, screening = world["subject"], world["query"], world["screening"]
    urls = []
    for route, pattern in all_patterns():
        names = list(pattern.pattern.regex.groupindex)
        if route.startswith(("accounts/", "i18n/")) or pattern.name in {"logout", "set_language"}:
            continue
        if {"monitoring_visit_id", "job_id"} & set(names):
            # monitoring reports are refused to the statistician (403, tests/monitoring); a job's
            # file is its owner's alone, by POST (tests/jobs): no page of theirs to read here
            continue
        variants = [{}]
        if "form_code" in names:
            variants = [
                {"form_code": code, "visit_code": visit_code, "repeat": record.repeat}
                for code, (record, visit_code) in world["records"].items()
                if ("visit_code" in names) == (visit_code is not None)
            ]
        filled = []
        for variant in variants:
            for subject_id in (subject.pk, world["failed"].pk):
                values = {
                    "site_code": world["site"].code,
                    "subject_id": subject_id,
                    "record_id": screening.pk,
                    "query_id": query.pk,
                    "visit_code": screening.visit.code,
                    "report_id": world["sae"].pk,
                    "user_id": world["user_id"],
                    "membership_id": world["membership_id"],
                    **variant,
                }
                for prefix, value in (
                    ("sites/<str:key>", world["site"].code),
                    ("subjects/<int:key>", subject_id),
                    ("records/<int:key>", screening.pk),
                ):
                    if prefix in route:
                        values["key"] = value
                if "level" in names:
                    for level, pk in (
                        ("record", screening.pk),
                        ("subject", subject_id),
                        ("site", world["site"].pk),
                    ):
                        filled.append({**values, "level": level, "pk": pk})
                else:
                    filled.append(values)
        for values in filled:
            missing = [name for name in names if name not in values]
            assert not missing, f"the crawl cannot fill {missing} of {route}: teach it"
            urls.append(_path(route, {name: values[name] for name in names}))
    urls += [f"/audit/records/{record.pk}/" for record, _ in world["records"].values()]
    urls += [f"/audit/records/{record.pk}/csv/" for record, _ in world["records"].values()]
    return sorted(set(urls))


def _read_everything(client, user, urls) -> dict[str, str]:
    client.force_login(user)
    pages = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        if response.get("Content-Type") == "application/pdf":
            continue  # the CIOMS I form: its HTML is read for the same name (tests/safety/test_sae_pages.py)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        pages[url] = body.decode()
    return pages


def test_the_statistician_sees_no_name_typed_by_the_sites_on_any_page(client, cast, named_world):
    urls = _urls(named_world)
    statistician_pages = _read_everything(client, cast.statistician, urls)
    client.logout()
    data_manager_pages = _read_everything(client, cast.data_manager, urls)

    # The crawl can fail: the data manager reads the name on the form pages, the casebook,
    # the query thread, the screening log and the trail.
    shown_to_dm = {url for url, body in data_manager_pages.items() if NAME in body}
    subject = named_world["subject"]
    for expected in (
        f"/subjects/{subject.pk}/",
        f"/queries/{named_world['query'].pk}/",
        "/audit/",
        "/audit/csv/",
        f"/subjects/{subject.pk}/logs/infusion/1/",
    ):
        assert expected in shown_to_dm, f"the data manager should read the name on {expected}"
    assert any(INITIALS in body for body in data_manager_pages.values())
    assert len(statistician_pages) >= len(shown_to_dm) // 2, "the statistician reads the pages too"

    leaks = sorted(url for url, body in statistician_pages.items() if NAME in body or "DURAND" in body)
    assert not leaks, f"the statistician reads the name on {leaks}"
    assert not [url for url, body in statistician_pages.items() if INITIALS in body]
    # And the pages they read are the ones the data manager reads the name on.
    assert shown_to_dm & set(statistician_pages) >= {f"/subjects/{subject.pk}/", "/audit/"}
    assert "[pseudonymised]" in statistician_pages[f"/subjects/{subject.pk}/logs/infusion/1/"]


def test_the_mask_is_shown_in_the_statisticians_language(client, cast, named_world):
    client.force_login(cast.statistician)
    subject = named_world["subject"]
    response = client.get(f"/subjects/{subject.pk}/logs/infusion/1/", HTTP_ACCEPT_LANGUAGE="fr")
    body = response.content.decode()
    assert NAME not in body
    assert "[pseudonymisé]" in body


def test_a_site_cannot_type_its_own_words_where_a_ctcae_term_fills_the_reference_text(cast, enrolled_subject):
    """Why the crawl above types nothing into the MedDRA code and system organ class: a save
    refuses any value there but the picked term's, so what the statistician reads unmasked
    there is the CTCAE list's text, never a site's."""
    from trialdesk.crf.services import FormInvalid, save_form

    form = enrolled_subject.study.protocol.form("adverse_event")
    filled = [
        code
        for f in form.fields
        if f.ctcae is not None
        for code in (f.ctcae.meddra_field, f.ctcae.soc_field)
        if code
    ]
    assert filled, "the adverse-event form links its term to a MedDRA code and an organ class"
    for code in filled:
        with pytest.raises(FormInvalid) as refused:
            save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", {**SERIOUS_AE, code: NAME})
        assert code in refused.value.validation.errors
