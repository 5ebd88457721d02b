"""Issue 15, look: the main pages fit a 1366-pixel laptop without side-scrolling and stay
readable on a 768-pixel tablet (the menu wraps, a wide table scrolls inside its own frame,
never the page); the favicon is served where browsers ask for it; the language menu is compact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser._a11y_pages import main_pages, open_as  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/layout"))
WIDTH = "document.documentElement.scrollWidth"


def test_the_main_pages_fit_1366_pixels_without_side_scrolling(page, main_pages):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    too_wide = {}
    for what, user, path in main_pages:
        open_as(page, user, path)
        width = page.evaluate(WIDTH)
        if width > 1366:
            too_wide[what] = width
    assert not too_wide, f"wider than 1366 px: {too_wide}"


def test_on_a_tablet_the_menu_wraps_and_the_page_does_not_scroll_sideways(page, main_pages):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 768, "height": 1024})
    too_wide = {}
    for what, user, path in main_pages:
        open_as(page, user, path)
        width = page.evaluate(WIDTH)
        if width > 768:
            too_wide[what] = width
        if what == "coordinator home":
            menu = page.locator("nav.menu")
            links = menu.locator("a")
            tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
            assert len(tops) > 1, "the menu should wrap onto several lines at 768 px"
            assert menu.bounding_box()["width"] <= 768
            page.screenshot(path=str(SHOTS / "tablet-coordinator-home.png"))
    assert not too_wide, f"wider than 768 px: {too_wide}"


def test_the_favicon_is_linked_and_served_and_the_language_menu_is_compact(page, cast):
    response = page.goto("/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/")
    open_as(page, cast.coordinator_nantes, "/studies/NCT00724360/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.goto(icon).status == 200
    open_as(page, cast.coordinator_nantes, "/studies/NCT00724360/")
    language = page.locator("select[name=language]")
    assert language.locator("option").all_inner_texts() == ["EN", "FR"]
    assert language.bounding_box()["width"] < 90


# Chromium's own look of a button: its grey face, square corners.
_UNSTYLED_BUTTONS = """() => [...document.querySelectorAll('button')]
  .filter(b => b.offsetParent !== null && !b.classList.contains('link'))
  .filter(b => { const s = getComputedStyle(b);
                 return s.borderTopLeftRadius === '0px' || s.backgroundColor === 'rgb(239, 239, 239)'; })
  .map(b => b.textContent.trim())"""


def test_no_button_keeps_the_browsers_grey_box(page, cast, main_pages):  # noqa: F811
    pages = [*main_pages, ("exports", cast.statistician, "/studies/NCT00724360/exports/")]
    unstyled = {}
    for what, user, path in pages:
        open_as(page, user, path)
        if found := page.evaluate(_UNSTYLED_BUTTONS):
            unstyled[what] = found
    assert not unstyled, f"buttons with the browser's own look: {unstyled}"
