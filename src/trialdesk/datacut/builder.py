"""The StudySnapshot of the database, for one viewer, at one cut-off.

Read through the scoped read layer (``studies.scoping``): for a user,
``Model.objects.for_user(user, study)`` (the user's sites; masked values for a
pseudonymised viewer: the layer decides, not this module); for the operator (no user),
``Model.objects.system("data cut by the operator")``.

Queries: a fixed number up front (the study's access for the viewer, the sites, the
drug shipments and disposals of those sites) and, per
chunk of ``chunk_size`` subjects, eight (subjects, visits, records, queries, signatures, the
investigator's response confirmations, the decisions on cardiac holds),
plus one that finds the last chunk empty when the subjects fill their chunks exactly.
Subjects are read by primary key, chunk after chunk (keyset pagination): the snapshot's
``subjects()`` holds one chunk in memory at a time, and reads the database again each
time it is called.

The cut-off (a date of the trial's calendar, Europe/Paris), kept simple:
- subjects screened after it are left out;
- a consent or enrollment date after it reads None;
- a visit's actual date after it reads None, and the records and visit signatures of
  that visit are left out;
- a record dated after it (its form's date concept: the infusion date, the onset of an
  event) is left out; a log record without a date, when created after it (its creation
  time, as a date in Europe/Paris);
- a subject's status is the one it had then (``snapshot.cut.status_on``): enrolled after
  the cut-off reads screening, off study after it reads enrolled;
- queries follow their record (left out with it); their times are system times, as are
  the signatures' and the locks': they stay as the database holds them.
``cutoff`` None: no cut-off.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.utils import timezone

from trialdesk.assessments.models import ResponseConfirmation
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.crf.models import FormRecord
from trialdesk.pharmacy.models import Disposal, Shipment
from trialdesk.queries.models import Query
from trialdesk.safety.models import SaeReport
from trialdesk.signatures.models import Signature
from trialdesk.snapshot.cut import ended_on, record_date, status_on
from trialdesk.snapshot.from_simulation import identity_of, supply_order
from trialdesk.snapshot.model import (
    ConfirmationSnapshot,
    HoldDecisionSnapshot,
    HoldSnapshot,
    LockSnapshot,
    QuerySnapshot,
    RecordRef,
    RecordSnapshot,
    SaeReportSnapshot,
    SignatureSnapshot,
    SiteSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    SupplySnapshot,
    VisitSnapshot,
)
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Site, Study
from trialdesk.subjects.models import Subject, Visit

TRIAL_ZONE = ZoneInfo("Europe/Paris")
#: the cardiac holds an investigator decided (the snapshot's ``cardiac_decisions``)
DECIDED = (HoldStatus.LIFTED, HoldStatus.TREATMENT_STOPPED)
OPERATOR_WHY = "data cut by the operator"


def trial_today() -> dt.date:
    return timezone.localdate(timezone.now(), TRIAL_ZONE)


def _reader(viewer, study: Study):
    """How each model is read: for the viewer, or for the operator."""
    if viewer is None:
        return lambda model: model.objects.system(OPERATOR_WHY)
    return lambda model: model.objects.for_user(viewer, study)


def _after(day: dt.date | None, cutoff: dt.date | None) -> bool:
    return cutoff is not None and day is not None and day > cutoff


def _cut(day: dt.date | None, cutoff: dt.date | None) -> dt.date | None:
    return None if _after(day, cutoff) else day


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def build_snapshot(
    study: Study, viewer=None, cutoff: dt.date | None = None, chunk_size: int = 500
) -> StudySnapshot:
    """The snapshot of ``study`` as ``viewer`` may see it (None: the operator), up to ``cutoff``."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    read = _reader(viewer, study)
    protocol = study.protocol
    if viewer is None:
        pseudonymised = False
        site_ids = None
    else:
        access = study_access(viewer, study)
        pseudonymised = access.pseudonymised
        site_ids = access.site_ids
    sites_qs = Site.objects.filter(study=study).order_by("code")
    if site_ids is not None:
        sites_qs = sites_qs.filter(pk__in=site_ids)
    sites = list(sites_qs)
    site_codes = {site.pk: site.code for site in sites}
    locks = []
    if study.locked_at:
        locks.append(LockSnapshot("study", study.nct_id, _utc(study.locked_at)))
    locks += [LockSnapshot("site", s.code, _utc(s.locked_at)) for s in sites if s.locked_at]

    def subjects() -> Iterator[SubjectSnapshot]:
        last_pk = 0
        while True:
            chunk = read(Subject).filter(study=study)
            if cutoff is not None:
                chunk = chunk.filter(screened_on__lte=cutoff)
            chunk = list(chunk.filter(pk__gt=last_pk).order_by("pk")[:chunk_size])
            if not chunk:
                return
            yield from _chunk(read, protocol, chunk, site_codes, cutoff, pseudonymised)
            if len(chunk) < chunk_size:
                return
            last_pk = chunk[-1].pk

    supply = _supply(read, study, site_codes, cutoff)
    return StudySnapshot(
        study=identity_of(study.protocol, study.protocol_sha256),
        cutoff=cutoff,
        created_at=timezone.now().astimezone(dt.UTC),
        pseudonymised=pseudonymised,
        sites=tuple(
            SiteSnapshot(
                code=s.code,
                name=s.name,
                city=s.city,
                country=s.country,
                activated_on=s.activated_on,
                locked_at=_utc(s.locked_at),
            )
            for s in sites
        ),
        subject_source=subjects,
        locks=tuple(locks),
        viewer=viewer.get_username() if viewer is not None else "",
        supply=supply,
    )


def _supply(read, study: Study, site_codes: dict[int, str], cutoff) -> tuple[SupplySnapshot, ...]:
    """The study drug received and disposed of at the sites read (two queries), up to the
    cut-off; a disposal's reason as the viewer may read it (masked when pseudonymised)."""
    moves = []
    for shipment in read(Shipment).filter(site_id__in=list(site_codes)).order_by("pk"):
        if not _after(shipment.received_on, cutoff):
            moves.append(
                SupplySnapshot(
                    site_codes[shipment.site_id],
                    "shipment",
                    shipment.lot_number,
                    shipment.vials,
                    shipment.received_on,
                    expires_on=shipment.expires_on,
                )
            )
    for disposal in read(Disposal).filter(site_id__in=list(site_codes)).order_by("pk"):
        if not _after(disposal.on, cutoff):
            moves.append(
                SupplySnapshot(
                    site_codes[disposal.site_id],
                    disposal.kind,
                    disposal.lot_number,
                    disposal.vials,
                    disposal.on,
                    reason=disposal.reason or "",
                )
            )
    return tuple(sorted(moves, key=supply_order))


def _hold(ref: RecordRef, hold: CardiacHold, cutoff) -> HoldSnapshot:
    """A hold as it stood at the cut-off: one ended after it was still in force then."""
    ended = hold.status in DECIDED and hold.ended_on is not None and not _after(hold.ended_on, cutoff)
    return HoldSnapshot(
        record=ref,
        started_on=hold.started_on,
        criterion=hold.criterion,
        explanation=hold.explanation,
        baseline_pct=hold.baseline_pct,
        value_pct=hold.value_pct,
        drop_points=hold.drop_points,
        repeat_lvef_due_on=hold.repeat_lvef_due_on,
        status=hold.status if ended else HoldStatus.ACTIVE.value,
        ended_on=hold.ended_on if ended else None,
        reason=(hold.end_reason or "") if ended else "",
    )


def _sae(ref: RecordRef, report: SaeReport, pseudonymised: bool) -> SaeReportSnapshot:
    """An SAE's reporting state; who acknowledged it is not told a pseudonymised viewer (the
    comment is masked by the read layer)."""
    who = report.acknowledged_by
    return SaeReportSnapshot(
        record=ref,
        reported_at=_utc(report.reported_at),
        acknowledged_at=_utc(report.acknowledged_at),
        acknowledged_by="" if pseudonymised or who is None else (who.get_full_name() or who.get_username()),
        aware_on=report.aware_on,
        expectedness=report.expectedness or "",
        expectedness_comment=report.expectedness_comment or "",
        assessed_at=_utc(report.assessed_at),
    )


def _chunk(
    read, protocol, subjects: list[Subject], site_codes: dict[int, str], cutoff, pseudonymised: bool = False
) -> Iterator[SubjectSnapshot]:
    ids = [s.pk for s in subjects]
    visits_of: dict[int, list[Visit]] = defaultdict(list)
    for visit in read(Visit).filter(subject_id__in=ids).order_by("subject_id", "sequence"):
        visits_of[visit.subject_id].append(visit)
    records_of: dict[int, list[FormRecord]] = defaultdict(list)
    for rec in (
        read(FormRecord).filter(subject_id__in=ids).order_by("subject_id", "form_code", "repeat", "pk")
    ):
        records_of[rec.subject_id].append(rec)
    queries_of: dict[int, list[Query]] = defaultdict(list)
    for query in read(Query).filter(record__subject_id__in=ids).order_by("raised_at", "pk"):
        queries_of[query.record_id].append(query)
    signatures_of: dict[int, list[Signature]] = defaultdict(list)
    for signature in read(Signature).filter(subject_id__in=ids).order_by("signed_at", "pk"):
        signatures_of[signature.subject_id].append(signature)
    confirmations_of: dict[int, list[ResponseConfirmation]] = defaultdict(list)
    for confirmation in (
        read(ResponseConfirmation).filter(record__subject_id__in=ids).order_by("confirmed_at", "pk")
    ):
        confirmations_of[confirmation.record_id].append(confirmation)

    # the holds in force or ended (one query): their decisions too, in the order they were taken
    holds_of: dict[int, list[CardiacHold]] = defaultdict(list)
    for hold in (
        read(CardiacHold)
        .filter(subject_id__in=ids)
        .exclude(status=HoldStatus.ENTERED_IN_ERROR)
        .order_by("started_on", "pk")
    ):
        holds_of[hold.subject_id].append(hold)

    # the serious events' reporting state (one query, the acknowledging user joined)
    sae_of: dict[int, SaeReport] = {}
    for report in (
        read(SaeReport).filter(record__subject_id__in=ids).select_related("acknowledged_by").order_by("pk")
    ):
        sae_of[report.record_id] = report

    for subject in subjects:
        visits = visits_of.get(subject.pk, [])
        visit_by_id = {v.pk: v for v in visits}
        sequence = {v.pk: v.sequence for v in visits}
        dropped_visits = {v.pk for v in visits if _after(v.actual_date, cutoff)}
        kept_records: list[FormRecord] = []
        for rec in records_of.get(subject.pk, []):
            if rec.visit_id is not None and rec.visit_id in dropped_visits:
                continue
            clinical_date = record_date(protocol, rec.form_code, rec.data or {})
            if clinical_date is None and rec.visit_id is None:
                clinical_date = timezone.localdate(rec.created_at, TRIAL_ZONE)
            if _after(clinical_date, cutoff):
                continue
            kept_records.append(rec)
        status = subject.status
        if cutoff is not None:
            status = status_on(
                subject.status,
                enrolled_on=subject.enrolled_on,
                # from every record: the one that states the end may itself fall after the cut-off
                left_on=ended_on(
                    protocol,
                    subject.status,
                    ((r.form_code, r.data or {}) for r in records_of.get(subject.pk, []) if not r.voided_at),
                ),
                cutoff=cutoff,
            )
        # Visits in calendar order, then log forms; within them by form code and repeat.
        kept_records.sort(
            key=lambda r: (r.visit_id is None, sequence.get(r.visit_id, 0), r.form_code, r.repeat)
        )
        refs = {
            r.pk: RecordRef(r.form_code, visit_by_id[r.visit_id].code if r.visit_id else None, r.repeat)
            for r in kept_records
        }
        subject_locks = []
        if subject.locked_at:
            subject_locks.append(LockSnapshot("subject", subject.label, _utc(subject.locked_at)))
        for r in kept_records:
            if r.locked_at:
                ref = refs[r.pk]
                target = f"{ref.form}@{ref.visit or 'log'}#{ref.repeat}"
                subject_locks.append(LockSnapshot("record", target, _utc(r.locked_at)))
        queries = sorted(
            (q for pk in refs for q in queries_of.get(pk, [])), key=lambda q: (q.raised_at, q.pk)
        )
        yield SubjectSnapshot(
            screening_number=subject.screening_number,
            subject_code=subject.subject_code,
            site=site_codes.get(subject.site_id, ""),
            status=status,
            sex=subject.sex,
            age=subject.age,
            year_of_birth=subject.year_of_birth,
            initials=subject.initials or "",
            screened_on=subject.screened_on,
            consent_date=_cut(subject.consent_date, cutoff),
            enrolled_on=_cut(subject.enrolled_on, cutoff),
            first_dose_on=_cut(getattr(subject, "first_dose_on", None), cutoff),
            screen_failure_criteria=tuple(subject.screen_failure_criteria or ()),
            visits=tuple(
                VisitSnapshot(
                    code=v.code,
                    planned_date=v.planned_date,
                    window_start=v.window_start,
                    window_end=v.window_end,
                    actual_date=_cut(v.actual_date, cutoff),
                )
                for v in visits
            ),
            records=tuple(
                RecordSnapshot(
                    form=r.form_code,
                    visit=refs[r.pk].visit,
                    repeat=r.repeat,
                    data=dict(r.data or {}),
                    status=r.status,
                    version=r.version,
                    voided=bool(getattr(r, "voided", False)),
                    locked_at=_utc(r.locked_at),
                )
                for r in kept_records
            ),
            queries=tuple(
                QuerySnapshot(
                    number=q.pk,
                    record=refs[q.record_id],
                    field=q.field_code,
                    status=q.status,
                    origin=q.origin,
                    check_code=q.check_code,
                    raised_at=_utc(q.raised_at),
                    answered_at=_utc(q.answered_at),
                    closed_at=_utc(q.closed_at),
                )
                for q in queries
            ),
            signatures=tuple(
                SignatureSnapshot(
                    scope=s.scope,
                    visit=visit_by_id[s.visit_id].code if s.visit_id in visit_by_id else None,
                    printed_name=s.printed_name,
                    meaning=s.meaning,
                    signed_at=_utc(s.signed_at),
                    status=s.status,
                    content_sha256=s.content_sha256,
                )
                for s in signatures_of.get(subject.pk, [])
                if s.visit_id is None or s.visit_id not in dropped_visits
            ),
            locks=tuple(subject_locks),
            confirmations=tuple(
                ConfirmationSnapshot(refs[pk], c.category, c.derived_category)
                for pk in refs
                for c in confirmations_of.get(pk, [])
            ),
            cardiac_decisions=tuple(
                HoldDecisionSnapshot(
                    refs[h.record_id], h.started_on, h.status, h.ended_on, h.end_reason or ""
                )
                for h in sorted(holds_of.get(subject.pk, []), key=lambda h: (h.ended_on or dt.date.max, h.pk))
                if h.record_id in refs
                and h.status in DECIDED
                and h.ended_on is not None
                and not _after(h.ended_on, cutoff)
            ),
            sae_reports=tuple(
                sorted(
                    (_sae(refs[pk], sae_of[pk], pseudonymised) for pk in refs if pk in sae_of),
                    key=lambda r: r.reported_at,
                )
            ),
            cardiac_holds=tuple(
                _hold(refs[h.record_id], h, cutoff)
                for h in holds_of.get(subject.pk, [])
                if h.record_id in refs
            ),
        )
