"""The whole demo trial (screen failures, infusions and their reactions, a cardiac hold lifted,
drug supply, deaths) exported as ODM, imported into an empty database and exported again:
every subject's events, forms, item groups, items and values come back the same."""

from __future__ import annotations

import pytest
from lxml import etree
from tests.datacut.conftest import DEMO_SEED
from tests.exchange.conftest import NS

from trialdesk.exports.importing import import_odm

Q = "{http://www.cdisc.org/ns/odm/v1.3}"


@pytest.fixture(scope="module")
def demo_file(demo_builds, django_db_blocker, tmp_path_factory):
    """The demo's ODM file, the demo built in a transaction rolled back at once."""
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.exports.services import run_export
    from trialdesk.studies.models import Study

    path = tmp_path_factory.mktemp("odm-demo") / "demo.xml"
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with transaction.atomic():
            demo_builds.load(seed=DEMO_SEED)
            run_export(Study.objects.get(), "odm", path)
            transaction.set_rollback(True)
    return path


def _events(path) -> dict[str, bytes]:
    return {
        subject.get("SubjectKey"): b"".join(
            etree.tostring(event, method="c14n") for event in subject.iterfind(f"{Q}StudyEventData")
        )
        for subject in etree.parse(str(path)).iterfind(".//odm:ClinicalData/odm:SubjectData", NS)
    }


def _supply(path) -> list[str]:
    return [
        c.text for c in etree.parse(str(path)).iterfind(".//odm:Annotations/odm:Annotation/odm:Comment", NS)
    ]


def test_the_demo_comes_back_with_the_same_events_forms_items_and_values(demo_file, db, tmp_path):
    from trialdesk.cardiac.models import CardiacHold, HoldStatus
    from trialdesk.exports.services import run_export
    from trialdesk.studies.models import Study

    result = import_odm(demo_file)
    again = tmp_path / "again.xml"
    run_export(Study.objects.get(), "odm", again)
    before, after = _events(demo_file), _events(again)
    assert len(before) == result.subjects > 15 and after == before
    assert _supply(again) == _supply(demo_file) and result.supply > 0
    # the published trial's reversible cardiac event: its hold lifted here as the file records it
    assert CardiacHold.objects.system("test").filter(status=HoldStatus.LIFTED).exists()
    assert b"trialdesk:cardiac" in demo_file.read_bytes()
