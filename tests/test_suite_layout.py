"""Test modules outside packages are imported by their file name: two of one name in two
folders collide and one of them is never collected (pytest's "import file mismatch")."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_two_test_modules_share_a_file_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if not (path.parent / "__init__.py").exists():
            by_name[path.name].append(str(path.relative_to(TESTS)))
    shared = {name: places for name, places in by_name.items() if len(places) > 1}
    assert not shared, f"rename one of each: {shared}"


def test_only_the_browser_journeys_import_the_browser_fixtures():
    """Chromium is started once per test process (tests/browser/conftest.py). A module elsewhere
    that imports that conftest gets a second, session-wide copy of its fixtures: the second
    Playwright started in the process fails every journey after it ("Sync API inside the asyncio loop")."""
    browser_dir = TESTS / "browser"
    importers = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if browser_dir not in path.parents
        and "tests.browser" in path.read_text(encoding="utf-8")
        and path.name != Path(__file__).name
    ]
    assert not importers, f"move these journeys into tests/browser/: {importers}"
