"""trialdesk.simulate — a seeded virtual cohort that follows the protocol (pure core, never imports Django).

    from trialdesk.protocol import load_default_protocol
    from trialdesk.simulate import simulate_cohort

    cohort = simulate_cohort(load_default_protocol(), seed=2012)
    cohort.treated                      # the 15 treated patients
    cohort.subject("NTE-001").records   # SimulatedRecord(form_code, visit_code, repeat, data)

Used by the demo, the tests and the load benchmarks.
"""

from trialdesk.simulate.cohort import course_plan, simulate_cohort
from trialdesk.simulate.model import SimulatedCohort, SimulatedRecord, SimulatedSubject, SimulatedVisit

__all__ = [
    "SimulatedCohort",
    "SimulatedRecord",
    "SimulatedSubject",
    "SimulatedVisit",
    "course_plan",
    "simulate_cohort",
]
