"""A conditional field's re-render never loses what the user typed meanwhile (issue 8): on the
adverse-event form, "Serious" picked while the re-render of "Ongoing" is in flight stays picked."""

from __future__ import annotations

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _answer_all(held) -> None:
    """Let every held preview through, oldest first (Serious asks for its own preview too: the
    page may wait for the first answer before it sends or applies the next)."""
    while held:
        held.pop(0).continue_()


def test_an_answer_picked_while_the_conditions_are_re_rendered_is_kept(page, cast, enrolled_subject):
    sign_in(page, "inv.nantes", PASSWORD)
    held = []

    def hold_the_preview(route):
        if route.request.method == "POST" and "_preview" in (route.request.post_data or ""):
            held.append(route)  # answered later: the user keeps working meanwhile
        else:
            route.continue_()

    page.route("**/logs/adverse_event/**", hold_the_preview)
    page.goto(f"/subjects/{enrolled_subject.pk}/logs/adverse_event/new/")
    page.select_option("#id_ongoing", "false")
    page.wait_for_timeout(200)
    assert held, "choosing Ongoing asks the server which fields apply"
    page.select_option("#id_serious", "true")  # while the first answer is still on its way
    _answer_all(held)
    page.wait_for_selector("#id_resolution_date")  # the resolution date now applies...
    assert page.locator("#id_serious").input_value() == "true"  # ...and Serious is still picked
    assert page.locator("#id_ongoing").input_value() == "false"
    page.select_option("#id_ongoing", "true")
    page.wait_for_timeout(200)
    _answer_all(held)
    page.wait_for_selector("#id_resolution_date", state="detached")
    assert page.locator("#id_serious").input_value() == "true"
