"""Property: for any simulated cohort, each ResearchSubject's progress is a path the R5 states
allow, in the order of its dates, and the Bundle still parses as R5."""

from __future__ import annotations

from fhir.resources.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialdesk.exchange.fhir import build_bundle
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation

#: the state each state may be followed by (the enrollment states of the subject's journey)
NEXT = {
    None: {"screening"},
    "screening": {"ineligible", "pending-on-study", "on-study"},
    "on-study": {"on-study-intervention", "off-study", "withdrawn"},
    "on-study-intervention": {"follow-up", "off-study", "withdrawn"},
    "follow-up": {"off-study", "withdrawn"},
}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10**6), treated=st.integers(min_value=1, max_value=4))
def test_each_subject_progress_is_an_allowed_path_in_date_order(protocol, seed, treated):
    cohort = simulate_cohort(protocol, seed=seed, n_treated=treated)
    snapshot = snapshot_from_simulation(cohort, protocol, protocol_sha256="cd" * 32).materialise()
    bundle = build_bundle(snapshot, protocol)
    Bundle.model_validate(bundle)
    on_study = 0
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] != "ResearchSubject":
            continue
        states = [p for p in resource["progress"] if "subjectState" in p]
        previous = None
        starts = []
        for state in states:
            code = state["subjectState"]["coding"][0]["code"]
            assert code in NEXT[previous], (resource["id"], previous, code)
            previous = code
            if "startDate" in state:
                starts.append(state["startDate"])
            if "endDate" in state and "startDate" in state:
                assert state["startDate"] <= state["endDate"]
        assert starts == sorted(starts), resource["id"]
        on_study += any(s["subjectState"]["coding"][0]["code"] == "on-study" for s in states)
    (study,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert study["recruitment"]["actualNumber"] == on_study
