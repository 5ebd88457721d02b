"""trialdesk.analysis — every endpoint of a protocol from one StudySnapshot (pure core, never imports Django).

    analysis = analyse(snapshot, protocol)   # Analysis: flow, baseline, exposure, each endpoint
    analysis.response.estimate               # the primary endpoint with its exact CI
    analysis.response.responders             # the subjects it counts

Per-subject facts come from ``trialdesk.clinical`` (``analysis.subject``); the statistics
from ``trialdesk.stats``.
"""

from trialdesk.analysis.endpoints import Analysis, Population, analyse

__all__ = ["Analysis", "Population", "analyse"]
