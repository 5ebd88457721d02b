"""The casebook's visit grid fits a 1366 × 768 laptop screen (issue 8): no sideways scrolling
of the page, nor of the grid inside its frame. Forms use the width."""

from __future__ import annotations

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def laptop(page):
    page.set_viewport_size({"width": 1366, "height": 768})
    return page


def test_the_casebook_fits_a_1366_pixel_screen(laptop, cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    save_form(cast.investigator_nantes, enrolled_subject, "transfusion",
              {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2})
    sign_in(laptop, cast.data_manager.username, PASSWORD)
    laptop.goto(f"/subjects/{enrolled_subject.pk}/")
    assert laptop.locator("table.casebook tbody tr").count() > 10  # the planned visits are rows
    page_width = laptop.evaluate("document.documentElement.scrollWidth")
    grid, frame = laptop.evaluate(
        "(() => { const t = document.querySelector('table.casebook');"
        " return [t.scrollWidth, t.parentElement.clientWidth]; })()"
    )
    assert page_width <= 1366
    assert grid <= frame, f"the visit grid is {grid} px wide in a frame of {frame} px"
    assert laptop.locator("table.log-entries th", has_text="Product").count() == 1
    assert laptop.locator("table.log-entries td", has_text="Red blood cells").count() == 1


def test_a_form_lays_its_fields_out_across_the_width(laptop, cast, enrolled_subject):
    sign_in(laptop, cast.investigator_nantes.username, PASSWORD)
    laptop.goto(f"/subjects/{enrolled_subject.pk}/visits/SCR/forms/screening/")
    boxes = [laptop.locator(f'[data-field="{code}"]').bounding_box() for code in ("screening_date", "consent_date")]
    assert boxes[0]["y"] == boxes[1]["y"], "two fields side by side on a laptop screen"
    assert laptop.evaluate("document.documentElement.scrollWidth") <= 1366
