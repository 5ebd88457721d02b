"""trialdesk.protocol — the protocol as code: model, loader, checks (pure core, never imports Django).

from trialdesk.protocol import load_default_protocol
protocol = load_default_protocol()
protocol.form("screening").field("ecog")
protocol.eligibility.criteria
list(protocol.schedule.expanded_visits())     # SCR, D1, M1..M12, C1..C4, EOT, FU1..FU8, EOS
protocol.concept("marrow_blasts")             # where a clinical concept is recorded, by precedence
"""

from trialdesk.protocol.errors import Problem, ProtocolError, ProtocolIncomplete
from trialdesk.protocol.loader import (
    DEFAULT_PROTOCOL,
    default_protocol_path,
    load_default_protocol,
    load_protocol,
    load_protocol_text,
)
from trialdesk.protocol.model import (
    Arm,
    CardiacHold,
    Choice,
    ChoicePlacement,
    ChoiceRef,
    Concepts,
    Criterion,
    Decision,
    DosePreparation,
    DoseRules,
    DoseTiming,
    EditCheck,
    Eligibility,
    Endpoint,
    Enrollment,
    Field,
    FieldRef,
    Form,
    Identification,
    Intervention,
    Protocol,
    Repeat,
    ResponseCriteria,
    Schedule,
    Site,
    Source,
    Sourced,
    StatisticalDesign,
    Visit,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "Arm",
    "CardiacHold",
    "Choice",
    "ChoicePlacement",
    "ChoiceRef",
    "Concepts",
    "Criterion",
    "Decision",
    "DosePreparation",
    "DoseRules",
    "DoseTiming",
    "EditCheck",
    "Eligibility",
    "Endpoint",
    "Enrollment",
    "Field",
    "FieldRef",
    "Form",
    "Identification",
    "Intervention",
    "Problem",
    "Protocol",
    "ProtocolError",
    "ProtocolIncomplete",
    "Repeat",
    "ResponseCriteria",
    "Schedule",
    "Site",
    "Source",
    "Sourced",
    "StatisticalDesign",
    "Visit",
    "default_protocol_path",
    "load_default_protocol",
    "load_protocol",
    "load_protocol_text",
]
