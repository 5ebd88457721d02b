"""The study drug received and disposed of at the sites travels in the ODM file (one
``Annotation`` of ``ClinicalData`` per movement), valid against the official schema, and
reads back as it was: an import needs the lots before the infusions that drew on them."""

from __future__ import annotations

import pytest
from lxml import etree
from tests.exchange.conftest import NS, odm_bytes

from trialdesk.exchange.odm_reader import OdmError, read_odm


@pytest.fixture
def exported(snapshot, protocol, tmp_path):
    path = tmp_path / "study.xml"
    path.write_bytes(odm_bytes(snapshot, protocol))
    return path


def test_the_shipments_and_disposals_are_in_the_file_and_valid_against_the_schema(
    snapshot, protocol, odm_schema, exported
):
    document = etree.parse(str(exported))
    odm_schema.assertValid(document)
    comments = document.findall(".//odm:ClinicalData/odm:Annotations/odm:Annotation/odm:Comment", NS)
    kinds = {move.kind for move in snapshot.supply}
    assert len(comments) == len(snapshot.supply) and {"shipment", "destroyed"} <= kinds


def test_the_drug_supply_reads_back_as_it_was(snapshot, protocol, odm_schema, exported):
    assert read_odm(exported, protocol, schema=odm_schema).snapshot.supply == snapshot.supply


def test_it_refuses_a_movement_at_a_site_the_file_does_not_locate(protocol, odm_schema, exported):
    text = exported.read_text(encoding="utf-8")
    start = text.index("trialdesk:supply ")
    site = text.index('"site": "', start) + len('"site": "')
    exported.write_text(text[:site] + "XXX" + text[site + 3 :], encoding="utf-8")
    with pytest.raises(OdmError) as refused:
        read_odm(exported, protocol, schema=odm_schema)
    assert "drug supply annotation (line" in str(refused.value) and "XXX" in str(refused.value)
