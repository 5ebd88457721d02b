"""The analysis pages of the demo show no raw code (DESIGN §8), in English and in French, to
each role that reads them: the crawl's own checker on the pages the crawl cannot know the data of."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.datacut.conftest import demo, user  # noqa: F401 - the demo, built once for the module
from tests.web.test_no_raw_codes import WORD, _VisibleText, choice_labels, forbidden_words

PAGES = {
    "datamanager": ("/reports/analysis/", "/reports/safety/"),
    "statistician": ("/reports/analysis/",),
    "sponsor": ("/reports/analysis/",),
    "safety": ("/reports/safety/",),
}


def _leaks(client, path: str, protocol, language: str) -> list[str]:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, path
    parser = _VisibleText()
    parser.feed(response.content.decode())
    forbidden = forbidden_words(protocol, language)
    labels = choice_labels(protocol, language)
    leaked = {word for part in parser.parts for word in WORD.findall(part) if word in forbidden}
    leaked |= {part.strip() for part in parser.parts if part.strip() in {"True", "False"}}
    if language == "en":
        leaked |= {"None" for part in parser.parts if part.strip() == "None" and "None" not in labels}
    else:
        leaked |= {"None" for part in parser.parts if "None" in WORD.findall(part)}
    return sorted(leaked)


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("username", list(PAGES))
def test_the_analysis_pages_show_no_raw_code(demo, db, username, language):  # noqa: F811
    client = Client()
    client.force_login(user(username))
    for path in PAGES[username]:
        assert _leaks(client, path, demo.protocol, language) == [], f"{username} {language} {path}"


def test_a_count_of_the_page_opens_on_the_subjects_it_counts(demo, db):  # noqa: F811
    import re

    client = Client()
    client.force_login(user("datamanager"))
    page = client.get("/reports/analysis/").content.decode()
    opened = re.findall(r'<details class="subjects"><summary>(\d+)</summary>([^<]*)</details>', page)
    assert opened
    for count, labels in opened:
        assert len(labels.split(", ")) == int(count)


def test_the_french_page_writes_decimals_with_a_comma_and_keeps_machine_values_plain(demo, db):  # noqa: F811
    client = Client()
    client.force_login(user("statistician"))
    page = client.get("/reports/analysis/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # 2 of 15 (Chevallier et al., Blood 2012): 13.3 %, exact 95 % CI 1.7 % to 40.5 % (R binom.test(2, 15))
    assert "2 sur 15, 13,3 % (IC à 95 % de 1,7 % à 40,5 %)" in page
    assert 'data-lower="0.01657591" data-upper="0.40460270"' in page
