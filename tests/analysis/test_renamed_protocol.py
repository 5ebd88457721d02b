"""The analysis reads concepts, never a trial's field codes: under a copy of the protocol whose
every field code and choice value is renamed, the simulated cohort gives the same endpoints."""

from __future__ import annotations

import yaml
from tests.simulate.test_simulate_renamed_protocol import _renamed_document

from trialdesk.analysis import analyse
from trialdesk.protocol import load_default_protocol, load_protocol_text
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


def _analysis(protocol):
    return analyse(snapshot_from_simulation(simulate_cohort(protocol, seed=2012), protocol), protocol)


def test_the_renamed_protocol_gives_the_same_endpoints():
    doc, _fields, _values = _renamed_document()
    renamed = load_protocol_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "renamed.yaml")
    original, copy = _analysis(load_default_protocol()), _analysis(renamed)
    assert (copy.response.estimate.x, copy.response.estimate.n) == (2, 15)
    assert copy.response.estimate == original.response.estimate
    assert copy.response.responders == original.response.responders
    assert copy.os.km == original.os.km and copy.lfs.km == original.lfs.km
    assert copy.cytogenetics.estimate == original.cytogenetics.estimate
    assert copy.transfusions.tests == original.transfusions.tests
    assert copy.tolerance.events == original.tolerance.events and copy.tolerance.events > 0
    assert copy.tolerance.highlight_subjects == original.tolerance.highlight_subjects
    assert copy.exposure.summary == original.exposure.summary
    assert copy.flow.stopped_by_reason.keys() != original.flow.stopped_by_reason.keys()  # renamed values
    assert sorted(map(len, copy.flow.stopped_by_reason.values())) == sorted(
        map(len, original.flow.stopped_by_reason.values())
    )
