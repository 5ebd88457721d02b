"""Issue 15, look and accessibility: axe-core (shipped by axe-playwright-python, no network)
finds no serious or critical violation on the main pages, each opened by its role — labels on
every field, contrast AA (WCAG 2 AA rules), names on links and buttons, a language on the page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser._a11y_pages import main_pages, open_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/accessibility"))
SERIOUS = {"serious", "critical"}


def _violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
    )
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [" ".join(map(str, n["target"])) for n in violation["nodes"][:5]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def test_the_main_pages_have_no_serious_or_critical_accessibility_violation(page, main_pages):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for what, user, path in main_pages:
        open_as(page, user, path)
        found = _violations(page)
        if found:
            problems[what] = found
        page.screenshot(path=str(SHOTS / f"{what.replace(' ', '-')}.png"))
    assert not problems, "\n".join(f"{what}: {line}" for what, lines in problems.items() for line in lines)


def test_axe_finds_an_unlabelled_field_so_the_check_can_fail(page, live_server):
    page.goto("/accounts/login/")
    page.evaluate(
        "(() => { const i = document.createElement('input'); i.type = 'text';"
        " document.querySelector('main').appendChild(i); })()"
    )
    assert any(line.startswith("label ") for line in _violations(page))
