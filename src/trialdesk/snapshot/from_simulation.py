"""A StudySnapshot made by the simulator directly, with no database in between.

The simulator knows the clinical course, not the bookkeeping of a database, so its snapshot
carries only what both sides share (``COMMON`` below); the fields it cannot know keep their
"unknown" value: a record's ``status`` and ``version`` (None), the visits' windows (None),
queries, signatures and locks (none), initials (""). Form data are converted to JSON values
as the form engine stores them (dates as ISO strings).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trialdesk.snapshot.model import (
    ConfirmationSnapshot,
    ProtocolIdentity,
    RecordRef,
    RecordSnapshot,
    SiteSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    SupplySnapshot,
    VisitSnapshot,
)

# The projection on which a database snapshot and a simulator snapshot compare equal
# (``common_projection``): per subject, these fields, its visits done (code, planned and
# actual dates) and its records not voided (form, visit, repeat, data). Left out: what only
# the database keeps (record status and version, visit windows, the visits planned but not
# reached, initials, queries, signatures, locks, the trail).
COMMON_SUBJECT_FIELDS = (
    "screening_number",
    "subject_code",
    "site",
    "status",
    "sex",
    "age",
    "year_of_birth",
    "screened_on",
    "consent_date",
    "enrolled_on",
)


def json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def identity_of(protocol: Any, protocol_sha256: str) -> ProtocolIdentity:
    ident = protocol.identification
    version = ident.last_update_posted.isoformat() if getattr(ident, "last_update_posted", None) else ""
    return ProtocolIdentity(
        nct_id=ident.nct_id, protocol_sha256=protocol_sha256, title=ident.brief_title, version=version
    )


def subject_from_simulation(simulated: Any) -> SubjectSnapshot:
    age = simulated.screened_on.year - simulated.year_of_birth if simulated.year_of_birth else None
    return SubjectSnapshot(
        screening_number=simulated.screening_number,
        subject_code=simulated.subject_code,
        site=simulated.site_code,
        status=simulated.status,
        sex=simulated.sex,
        age=age,
        year_of_birth=simulated.year_of_birth,
        screened_on=simulated.screened_on,
        consent_date=simulated.consent_date,
        enrolled_on=simulated.enrolled_on,
        screen_failure_criteria=tuple(simulated.failed_criteria),
        visits=tuple(
            VisitSnapshot(code=v.code, planned_date=v.planned_date, actual_date=v.actual_date)
            for v in simulated.visits
        ),
        records=tuple(
            RecordSnapshot(
                form=r.form_code,
                visit=r.visit_code,
                repeat=r.repeat,
                data={k: json_value(v) for k, v in r.data.items()},
            )
            for r in simulated.records
        ),
    )


def snapshot_from_simulation(
    cohort: Any,
    protocol: Any,
    *,
    protocol_sha256: str = "",
    created_at: dt.datetime | None = None,
) -> StudySnapshot:
    """The snapshot of a ``SimulatedCohort`` (no cut-off: the whole simulated course)."""
    sites = tuple(
        SiteSnapshot(
            code=site.code,
            name=site.name,
            city=site.city,
            country=site.country or "",
            activated_on=cohort.site_activation.get(site.code),
        )
        for site in protocol.sites
    )
    subjects = tuple(
        _with_confirmations(protocol, subject_from_simulation(s), s.confirmed_responses)
        for s in cohort.subjects
    )
    return StudySnapshot(
        study=identity_of(protocol, protocol_sha256),
        cutoff=None,
        created_at=created_at or dt.datetime.now(dt.UTC),
        pseudonymised=False,
        sites=sites,
        subject_source=lambda: subjects,
        supply=supply_from_simulation(cohort),
    )


def supply_from_simulation(cohort: Any) -> tuple[SupplySnapshot, ...]:
    """The cohort's shipments and disposals, in the order of ``supply_order``."""
    moves = [
        SupplySnapshot(s.site_code, "shipment", s.lot, s.vials, s.received_on, expires_on=s.expires_on)
        for s in getattr(cohort, "shipments", ())
    ] + [
        SupplySnapshot(d.site_code, d.kind, d.lot, d.vials, d.on, reason=d.reason)
        for d in getattr(cohort, "disposals", ())
    ]
    return tuple(sorted(moves, key=supply_order))


def supply_order(move: SupplySnapshot) -> tuple:
    """Site, day, receipts before disposals: the order a site's stock moved."""
    return (move.site, move.on, move.kind != "shipment", move.lot)


def _with_confirmations(
    protocol: Any, subject: SubjectSnapshot, confirmed: tuple[tuple[str, str], ...]
) -> SubjectSnapshot:
    """The investigator's confirmations of the simulated marrows they confirmed (by visit):
    their assessment against the derived response of the marrow, as the shell records it."""
    if not confirmed:
        return subject
    from dataclasses import replace

    from trialdesk.analysis.subject import derive_course, forms_of

    records = [r for r in subject.records if not r.voided]
    doses = forms_of(protocol, "dose_date")
    days = sorted(
        day
        for r in records
        if r.form in doses and isinstance(day := r.data.get(protocol.concept_field("dose_date", r.form)), str)
    )
    first_dose = dt.date.fromisoformat(days[0]) if days else None
    course, _ = derive_course(protocol, subject, records, first_dose, apply_confirmations=False)
    visits = {visit for visit, _ in confirmed}
    made = []
    for assessed in course.discordances:
        form, visit, repeat = assessed.record.key
        if visit in visits and assessed.record.investigator is not None:
            made.append(
                ConfirmationSnapshot(
                    RecordRef(form, visit, repeat),
                    assessed.record.investigator.value,
                    assessed.derived.category.value,
                )
            )
    return replace(subject, confirmations=tuple(made))


def common_projection(subject: SubjectSnapshot) -> dict[str, Any]:
    """What a database snapshot and a simulator snapshot of the same subject share."""
    return {
        **{name: getattr(subject, name) for name in COMMON_SUBJECT_FIELDS},
        # The visits done: the database plans every visit of the schedule at enrollment, the
        # simulator lists only those the course reached (``planned_dates_agree`` checks those).
        "visits": sorted(
            ((v.code, v.planned_date, v.actual_date) for v in subject.visits if v.actual_date is not None),
            key=lambda v: v[0],
        ),
        "records": sorted(
            ((r.form, r.visit or "", r.repeat, r.data) for r in subject.records if not r.voided),
            key=lambda r: (r[0], r[1], r[2]),
        ),
        "confirmations": sorted(
            (c.record.form, c.record.visit or "", c.record.repeat, c.category, c.derived_category)
            for c in subject.confirmations
        ),
    }


def planned_dates_disagreeing(database: SubjectSnapshot, simulated: SubjectSnapshot) -> list[str]:
    """The simulated visits whose planned date the database does not hold (missing visits included)."""
    planned = {v.code: v.planned_date for v in database.visits}
    return [
        f"{simulated.label} {v.code}: planned {v.planned_date}, database {planned.get(v.code, 'no such visit')}"
        for v in simulated.visits
        if planned.get(v.code, "missing") != v.planned_date
    ]
