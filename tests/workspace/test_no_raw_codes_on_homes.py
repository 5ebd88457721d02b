"""The homes and the /work/ lists never show a raw code (DESIGN §8), in English and French, for
every role of the cast, with data on them (an SAE, a failing edit check, a query, a log entry)."""

from __future__ import annotations

import pytest
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD
from tests.safety.conftest import SERIOUS_AE
from tests.web.test_no_raw_codes import WORD, forbidden_words, visible_text
from tests.workspace.conftest import HOME

from trialdesk.crf.services import save_form

ROLES = [
    "investigator_nantes",
    "coordinator_nantes",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor",
    "safety_officer",
]
LISTS = [
    "/work/queries/",
    "/work/queries/?rule=discordance",
    "/work/queries/?age=0-7",
    "/work/incomplete-forms/",
    "/work/changed-forms/",
    "/work/saes/",
    "/work/saes/?show=unacknowledged",
    "/work/adverse-events/",
]


@pytest.fixture
def busy_nantes(cast, enrolled_subject, screened_subject):
    from trialdesk.queries.services import raise_query

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    save_form(cast.coordinator_nantes, enrolled_subject, "transfusion", {"transfusion_date": "2026-11-24"})
    record = enrolled_subject.form_records.get(form_code="screening")
    raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    # a second patient whose screening fails a rule (AST > 5 × ULN, the registry's criterion)
    screening = screened_subject.form_records.get(form_code="screening")
    save_form(
        cast.investigator_nantes,
        screened_subject,
        "screening",
        dict(ELIGIBLE_SCREENING, ast=400),
        visit=screening.visit,
        expected_version=screening.version,
        reason="source_updated",
    )
    return enrolled_subject


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("role", ROLES)
def test_no_home_or_work_list_shows_a_raw_code(client, cast, study, busy_nantes, role, language):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    forbidden = forbidden_words(study.protocol, language)
    failures = []
    for path in [HOME, *LISTS]:
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        if response.status_code != 200:
            continue
        leaked = sorted({w for w in WORD.findall(visible_text(response.content.decode())) if w in forbidden})
        if leaked:
            failures.append(f"{path}: {', '.join(leaked)}")
    assert not failures, f"{role} ({language}) sees raw codes:\n" + "\n".join(failures)
