"""The protocol's consent form versions: each with the day it takes effect, in order, validated."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.protocol import default_protocol_path, load_protocol
from trialdesk.protocol.errors import ProtocolError
from trialdesk.protocol.loader import load_protocol_text
from trialdesk.protocol.model import consent_version_on

SECTION = "consent_versions:\n"


def _text() -> str:
    return default_protocol_path().read_text(encoding="utf-8")


def _with_versions(block: str) -> str:
    text = _text()
    start = text.index(SECTION)
    end = text.index("\nsites:\n")
    return text[:start] + SECTION + block + text[end:]


V1 = '  - {version: "1.0", effective_from: 2006-11-01, source: operational, rationale: first}\n'
V2 = '  - {version: "2.0", effective_from: 2009-03-01, source: operational, rationale: amendment}\n'


def test_the_seed_protocol_declares_its_consent_form_version():
    protocol = load_protocol(default_protocol_path())
    assert [v.version for v in protocol.consent_versions] == ["1.0"]
    assert protocol.consent_versions[0].effective_from == dt.date(2006, 11, 1)


def test_the_version_in_force_is_the_latest_effective_on_the_day():
    protocol = load_protocol_text(_with_versions(V1 + V2))
    assert consent_version_on(protocol, dt.date(2006, 10, 31)) is None
    assert consent_version_on(protocol, dt.date(2006, 11, 1)).version == "1.0"
    assert consent_version_on(protocol, dt.date(2009, 2, 28)).version == "1.0"
    assert consent_version_on(protocol, dt.date(2009, 3, 1)).version == "2.0"


def test_it_refuses_versions_out_of_order_with_the_line():
    with pytest.raises(ProtocolError) as error:
        load_protocol_text(_with_versions(V2 + V1), "p.yaml")
    assert "list the versions in the order they took effect" in str(error.value)
    assert "p.yaml:" in str(error.value)


def test_it_refuses_a_duplicate_version():
    with pytest.raises(ProtocolError, match="duplicate consent version"):
        load_protocol_text(_with_versions(V1 + V2.replace('"2.0"', '"1.0"')))


def test_an_operational_version_needs_a_rationale():
    with pytest.raises(ProtocolError, match="rationale"):
        load_protocol_text(
            _with_versions('  - {version: "1.0", effective_from: 2006-11-01, source: operational}\n')
        )
