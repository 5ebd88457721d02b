"""The demo trial built once per test module (the data-cut tests' fixtures)."""

from tests.datacut.conftest import demo, demo_study  # noqa: F401 - fixtures used by this folder's tests
