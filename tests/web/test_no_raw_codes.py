"""Users never see a raw code (DESIGN §8) nor, in French, English (issue 15): the demo's
pages crawled as each of its roles.

The demo is built once for the module. As each role, in French, every page the URL resolver
knows is fetched with real parameters (every visit form, log entry, query and record of a
subject of the role's site), its visible text read once (tags, scripts, styles and attribute
values such as ``title="…"`` left out: codes may stay in tooltips) and searched for the
protocol's field codes, its choice values and Python's ``True``/``False``/``None``, and for
English outside what the page marks ``lang="en"`` (tests/web/test_french_pages.py). One
crawl in English, as the data manager (every page), looks for what only English shows: a
Python ``None`` printed alone, a code that is a word of no English label.
Exports (CSV) keep codes and are not pages.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation
from tests.studies.test_access_matrix import all_patterns
from tests.web.test_french_pages import PageText, english_snippets, page_text

# a crawl of every page: run once, on SQLite (dev.py leaves it out of the PostgreSQL pass)
pytestmark = pytest.mark.crawl

DEMO_SEED = 2012
ROLES = [
    "investigator.nantes",
    "coordinator.nantes",
    "monitor",
    "datamanager",
    "statistician",
    "sponsor",
    "safety",
]

# Choice values or field codes that are also ordinary words of English running text, where
# they are not a leaked code. Each one is justified; keep it short.
ORDINARY_WORDS_EN = {
    "units",  # transfusion.units: its unit is "units" ("2 units")
    "other",  # a choice value "other", but also "other" in sentences ("other reason", "each other")
    "death",  # end-of-treatment reason "death", and "date of death", "death cause" in labels
    "relapse",  # a value, and in registry wording "B-ALL in relapse" and "Relapse after CR/CRp"
    "refractory",  # a value, and in registry wording "refractory B-ALL"
    "progression",  # a value, and in running text of criteria and labels
    "reason",  # the field end_of_study.reason, and "with a reason" in hints
    "grade",  # the adverse-event field, and "grade" in "worst grade" labels
    "platelets",  # a value and a field, and "platelets" in "CR without platelet recovery" texts
    "infection",  # a cause of death, and a word of CTCAE terms typed as free text ("Lung infection")
    "outcome",  # the adverse-event field, and the registry's "outcome measures" (exports page)
}
ORDINARY_WORDS_FR = {
    "grade",  # the adverse-event field, and the French word "grade"
    "indication",  # the medication field, and the French word "indication"
    "infection",  # a value, and the French word "infection"
    "possible",  # a value, and the French word "possible"
    "probable",  # a value, and the French word "probable"
    "progression",  # a value, and the French word "progression"
    "transfusion",  # a form code, and the French word "transfusion"
    "units",  # transfusion.units: its unit is "units"
}
PYTHON_LITERALS = {"True", "False", "None"}
# "None" is also an English word ("Locked forms: None.") and the English label of a choice
# (adverse events' action taken): in English it is a leak only as a text node of its own that
# is no label of the protocol (what ``{{ value }}`` of a Python None prints). French has no
# such word: there it is a leak anywhere.


#: the page's visible text, read once for both checks (tests/web/test_french_pages.py)
_VisibleText = PageText


def visible_text(html: str) -> str:
    return " ".join(page_text(html).parts)


WORD = re.compile(r"[A-Za-z0-9_]+")


def forbidden_words(protocol, language: str) -> set[str]:
    """Field codes, form codes and choice values of the protocol, less those that are words of
    a label of the protocol in that language ("CR" of "Complete response (CR)", "infusion" of
    "Date of infusion") or ordinary words of the language."""
    from trialdesk.crf.rendering import localised

    with translation.override(language):
        codes: set[str] = set()
        label_words: set[str] = set()
        # The registry's wording is quoted as it is (English), visits are named by their titles.
        for criterion in protocol.eligibility.criteria:
            label_words.update(WORD.findall(criterion.text))
        for visit in protocol.schedule.expanded_visits():
            label_words.update(WORD.findall(localised(visit, "title")))
        for form in protocol.forms:
            codes.add(form.code)
            label_words.update(WORD.findall(localised(form, "title")))
            for field in form.fields:
                codes.add(field.code)
                label_words.update(WORD.findall(localised(field, "label")))
                for choice in field.choices:
                    codes.add(choice.value)
                    label_words.update(WORD.findall(localised(choice, "label")))
    if language != "en":
        # English words of the protocol's own labels on a French page ("Infusion related
        # reaction" typed as a CTCAE term, a message stored in English) are a translation
        # matter, not a leaked code: a code with an underscore or of no label is still caught.
        label_words |= english_label_words(protocol)
    ordinary = ORDINARY_WORDS_FR if language == "fr" else ORDINARY_WORDS_EN
    literals = PYTHON_LITERALS if language == "fr" else PYTHON_LITERALS - {"None"}
    return (codes - label_words - ordinary) | literals


def english_label_words(protocol) -> set[str]:
    """The words of the protocol's English labels and visit titles."""
    words: set[str] = set()
    for form in protocol.forms:
        words.update(WORD.findall(form.title))
        for field in form.fields:
            words.update(WORD.findall(field.label))
            for choice in field.choices:
                words.update(WORD.findall(choice.label))
    for visit in protocol.schedule.expanded_visits():
        words.update(WORD.findall(visit.title))
    return words


def choice_labels(protocol, language: str) -> set[str]:
    from trialdesk.crf.rendering import localised

    with translation.override(language):
        return {localised(c, "label") for form in protocol.forms for f in form.fields for c in f.choices}


@pytest.fixture(scope="module")
def demo(demo_builds, django_db_setup, django_db_blocker):
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.studies.models import Study

    with (
        django_db_blocker.unblock(),
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            AXES_ENABLED=False,
            TRIALDESK_REQUIRE_2FA=False,
        ),
    ):
        with transaction.atomic():
            demo_builds.load(seed=DEMO_SEED)
            yield Study.objects.get()
            transaction.set_rollback(True)


def _objects(study, user):
    """Real parameters for one role: its first site holding an enrolled subject with data, and
    that subject's visits, forms, log entries, records and queries."""
    from trialdesk.crf.models import FormRecord
    from trialdesk.monitoring.models import MonitoringVisit
    from trialdesk.queries.models import Query
    from trialdesk.safety.models import SaeReport
    from trialdesk.studies.access import study_access
    from trialdesk.subjects.models import Subject

    access = study_access(user, study)
    subjects = (
        Subject.objects.system("the crawl picks its subjects")
        .filter(study=study, site_id__in=access.site_ids)
        .select_related("site")
    )
    richest = max(subjects, key=lambda s: (s.form_records.count(), -s.pk))
    site = richest.site
    records = list(
        FormRecord.objects.system("the crawl's records").filter(subject=richest).select_related("visit")
    )
    queries = list(
        Query.objects.system("the crawl's queries").filter(record__subject__site=site).order_by("pk")[:8]
    )
    one_record_per_form = list({r.form_code: r for r in records}.values())
    # Two entries of each log form and one visit of each form: every template, not every datum.
    logs: dict[str, list[int]] = {}
    for record in sorted((r for r in records if not r.visit_id), key=lambda r: r.repeat):
        logs.setdefault(record.form_code, []).append(record.repeat)
    visit_forms = {
        r.form_code: r.visit.code for r in sorted(records, key=lambda r: r.pk, reverse=True) if r.visit_id
    }
    return {
        "site": site,
        "subjects": [richest]
        + [s for s in subjects.filter(site=site).order_by("pk") if s.pk != richest.pk][:2],
        "richest": richest,
        "visit_forms": sorted((visit, form) for form, visit in visit_forms.items()),
        "logs": sorted((form, repeat) for form, repeats in logs.items() for repeat in repeats[:2]),
        "log_forms": list(study.protocol.schedule.log_forms),
        "records": one_record_per_form,
        "queries": queries,
        "reports": list(
            SaeReport.objects.system("the crawl's SAEs").filter(record__subject__site=site).order_by("pk")[:3]
        ),
        "monitoring_visits": list(
            MonitoringVisit.objects.system("the crawl's reports")
            .filter(site=site)
            .order_by("pk")
            .values_list("pk", flat=True)[:2]
        ),
        # administration (issue 15): a role held at the site, and its holder
        "membership": site.memberships.order_by("pk").first(),
    }


def _paths(route: str, pattern, objects) -> list[str]:
    names = set(pattern.pattern.regex.groupindex)
    if not names:
        return ["/" + route]
    fill = []
    subject = objects["richest"]
    if names == {"site_code"}:
        fill = [{"site_code": objects["site"].code}]
    elif names == {"subject_id"}:
        fill = [{"subject_id": s.pk} for s in objects["subjects"]]
    elif names == {"subject_id", "visit_code", "form_code"}:
        fill = [
            {"subject_id": subject.pk, "visit_code": v, "form_code": f} for v, f in objects["visit_forms"]
        ]
    elif names == {"subject_id", "form_code"}:
        fill = [{"subject_id": subject.pk, "form_code": f} for f in objects["log_forms"]]
    elif names == {"subject_id", "form_code", "repeat"}:
        fill = [{"subject_id": subject.pk, "form_code": f, "repeat": r} for f, r in objects["logs"]]
    elif names == {"record_id"}:
        fill = [{"record_id": r.pk} for r in objects["records"]]
    elif names == {"query_id"}:
        fill = [{"query_id": q.pk} for q in objects["queries"]]
    elif names == {"report_id"}:
        fill = [{"report_id": r.pk} for r in objects["reports"]]
    elif names == {"key"}:
        if "sites/" in route:
            fill = [{"key": objects["site"].code}]
        elif "subjects/" in route:
            fill = [{"key": s.pk} for s in objects["subjects"][:3]]
        else:
            fill = [{"key": r.pk} for r in objects["records"]]
    elif names == {"level", "pk"}:
        fill = [
            {"level": "record", "pk": objects["records"][0].pk},
            {"level": "subject", "pk": subject.pk},
            {"level": "site", "pk": objects["site"].pk},
        ]
    elif names == {"user_id"}:
        fill = [{"user_id": objects["membership"].user_id}]
    elif names == {"membership_id"}:
        fill = [{"membership_id": objects["membership"].pk}]
    elif names == {"monitoring_visit_id"}:  # monitoring visit reports (issue 15), if the demo holds any
        fill = [{"monitoring_visit_id": pk} for pk in objects["monitoring_visits"]]
    # a background job's download (issue 12) is POST only, of a file, not a page: the demo holds no job
    assert fill or names <= {"query_id", "report_id", "monitoring_visit_id", "job_id"}, (
        f"the crawl cannot fill {sorted(names)} of {route}"
    )
    paths = []
    for kwargs in fill:
        path = "/" + route
        for name, value in kwargs.items():
            path = re.sub(rf"<\w+:{name}>", str(value), path)
        paths.append(path)
    return paths


def _crawl(client: Client, objects, language: str, protocol) -> tuple[list[str], list[str], int]:
    """Every page with ``objects`` as its parameters, each fetched and read once: (the pages
    showing raw codes, the runs of English text of a French page (tests/web/test_french_pages.py),
    the number of pages read)."""
    forbidden = forbidden_words(protocol, language)
    labels = choice_labels(protocol, language)
    codes, english, pages = [], [], 0
    # every page of the richest subject's audit trail, not its first alone: what the services
    # record of each kind of event (a monitor's SDV marks, a replanning) reads as it will
    trail = f"/audit/subjects/{objects['richest'].pk}/"
    for route, pattern in all_patterns():
        if route.endswith("csv/") or pattern.name in {"logout", "set_language"}:
            continue
        for path in _paths(route, pattern, objects):
            if path == trail:
                first = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
                last = max((int(n) for n in re.findall(r"[?;]page=(\d+)", first)), default=1)
                paths = [path] + [f"{path}?page={n}" for n in range(2, last + 1)]
            else:
                paths = [path]
            for one in paths:
                pages += _read(client, one, language, forbidden, labels, codes, english)
    return codes, english, pages


def _read(client, path, language, forbidden, labels, codes, english) -> int:
    """One page read into ``codes`` and ``english``: 1 if it is an HTML page, else 0."""
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code < 500, f"GET {path} -> {response.status_code}"
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return 0
    page = page_text(response.content.decode())
    leaked = {word for word in WORD.findall(" ".join(page.parts)) if word in forbidden}
    if language == "en":
        leaked |= {"None" for part in page.parts if part.strip() == "None" and "None" not in labels}
    else:
        english.extend(f"{path}: {snippet}" for snippet in english_snippets(page))
    if leaked:
        codes.append(f"{path}: {', '.join(sorted(leaked))}")
    return 1


def _client(username: str) -> tuple[Client, object]:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.mark.parametrize("username", ROLES)
def test_no_french_page_shows_a_raw_code_or_english_to_any_role(demo, db, username):
    """Every page each role may open, in French, read once: no raw code (a choice value,
    True/False/None, a field code shows in French as in English) and no English outside what
    the page marks lang="en" (tests/web/test_french_pages.py)."""
    client, user = _client(username)
    codes, english, pages = _crawl(client, _objects(demo, user), "fr", demo.protocol)
    assert pages > (4 if username == "safety" else 10)  # the safety officer: the safety pages only
    assert not codes, f"{username} sees raw codes in French:\n" + "\n".join(codes)
    assert not english, f"{username} sees English on French pages:\n" + "\n".join(english)


def test_no_english_page_shows_a_raw_code(demo, db):
    """What only English can show, on every page (the data manager's: every site, every page of
    the data): a Python None printed as a text of its own ("None" is a French page's leak
    anywhere), a code that is no word of the English labels."""
    client, user = _client("datamanager")
    codes, _english, pages = _crawl(client, _objects(demo, user), "en", demo.protocol)
    assert pages > 10
    assert not codes, "the data manager sees raw codes:\n" + "\n".join(codes)


def test_the_visible_text_leaves_out_tooltips_and_scripts():
    html = '<p title="ecog">ECOG <script>var x = "b_all";</script><b>2</b></p>'
    assert visible_text(html).split() == ["ECOG", "2"]


def test_the_visible_text_leaves_out_quoted_reference_text():
    html = '<p>Grade <span lang="en" translate="no">Hemoglobin <b>symptoms</b><br></span> 3</p>'
    assert visible_text(html).split() == ["Grade", "3"]


def test_a_datum_reads_as_its_label_yes_no_and_unit_in_the_users_language():
    from trialdesk.crf.display import display_value, field_label
    from trialdesk.protocol import load_default_protocol

    protocol = load_default_protocol()
    transfusion, screening = protocol.form("transfusion"), protocol.form("screening")
    assert display_value(transfusion, "product", "red_cells", "en") == "Red blood cells"
    assert display_value(transfusion, "product", "red_cells", "fr") == "Concentré de globules rouges"
    assert display_value(transfusion, "units", 2, "en") == "2 units"
    assert display_value(screening, "prior_trastuzumab", False, "en") == "No"
    assert display_value(screening, "prior_trastuzumab", True, "fr") == "Oui"
    assert display_value(screening, "ecog", None, "en") == "—"
    assert display_value(screening, "screening_date", "2026-11-20", "fr") == "2026-11-20"
    assert field_label(screening, "lvef_pct", "en") == "Left ventricular ejection fraction (LVEF)"
    assert field_label(screening, "lvef_pct", "fr") == "Fraction d'éjection ventriculaire gauche (FEVG)"
