"""Importing a CDISC ODM 1.3.2 file into an empty database (``trialdesk import odm``).

    import_odm(path, protocol_path=None)  -> ImportResult   # or ImportRefused, nothing imported

One transaction (the outermost ``audited()``): any failure and nothing is imported.

1. The database must be empty (no study, no user, no audit event).
2. The file is read by ``trialdesk.exchange.odm_reader.read_odm`` against the official ODM
   1.3.2 schema and the protocol file (default: the protocol trialdesk installs,
   ``studies.protocols.configured_protocol_path``): not XML, not ODM, not valid, another
   study, metadata that differ from the protocol (the first difference), a value outside its
   item's range — one message naming the place.
3. The study and its sites are installed from the protocol file (``install_study``), the
   sites activated on the file's dates; the users the file names are created inactive, with
   no usable password, until someone invites them.
4. The data are replayed through the same audited services the sites use, by an import
   account (``IMPORT_ACCOUNT``: an investigator at every site for the import's duration,
   then ended and made inactive, all audited): the drug supply (``record_shipment``,
   ``record_disposal``), then each subject — screening (``register_screening``, the
   screening visit's forms), enrollment (``enroll``), its records in the order they
   happened (``save_form`` with the reason ``import``; an infusion's prescription validated
   by ``validate_prescription``, which computes the dose by the protocol's rules: the file's
   prescribed values must be those; a cardiac hold the rules open lifted or ended as the file
   records the investigator's decision, on its day), the visits' dates, voided records
   (``void_record``), its final status. Every rule runs as it does at a site: a record the rules refuse
   refuses the import, naming the subject and the record.
5. The file's own audit trail and signatures are kept as imported history
   (``audit_viewer.models``: ``OdmImport``, ``ImportedAuditRecord``, ``ImportedSignature``),
   shown as such on the audit pages, never appended to this database's hash chain: a
   signature cannot be made again without its signer's password.

Why the prescriptions are validated again rather than carried in the file: a prescription
is what ``trialdesk.clinical.dosing`` computes from the infusion's date, the weight of the
day and the earlier doses, all of which the file holds (its prescribed fields are in the
infusion record); the import computes it again by the one implementation of the rule and
checks it against the file. The drug supply is not derived from anything in a form: it
travels in the file (``ClinicalData/Annotations``, ``trialdesk.exchange.odm``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.utils import timezone

from trialdesk.audit import reasons
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, audited, record
from trialdesk.audit_viewer.models import ImportedAuditRecord, ImportedSignature, OdmImport
from trialdesk.cardiac.models import HoldStatus
from trialdesk.cardiac.services import HoldActionRefused, active_hold, lift_hold, stop_treatment_for_hold
from trialdesk.crf.models import FormRecord, ReasonForChange
from trialdesk.crf.services import FormSaveRefused, save_form, void_record
from trialdesk.exchange.odm import LOG_EVENT
from trialdesk.exchange.odm_reader import OdmError, official_schema, read_odm
from trialdesk.pharmacy.services import SupplyRefused, record_disposal, record_shipment
from trialdesk.protocol import ProtocolError, load_protocol_text
from trialdesk.snapshot.cut import record_date
from trialdesk.snapshot.model import RecordSnapshot, SubjectSnapshot
from trialdesk.studies.models import Membership, OperationalStatus, Role, Site, Study
from trialdesk.studies.protocols import configured_protocol_path
from trialdesk.studies.services import (
    StudyStatusRefused,
    activate_site,
    change_status,
    create_user,
    grant_role,
    install_study,
)
from trialdesk.subjects import services as subject_services
from trialdesk.subjects.models import SubjectStatus, Visit
from trialdesk.subjects.services import SubjectActionRefused
from trialdesk.treatment.services import (
    DOSE_DATE,
    PRESCRIBED,
    WEIGHT_TODAY,
    PrescriptionRefused,
    infusion_form,
    validate_prescription,
)

#: the account the import's writes are made by (an investigator at every site while it runs)
IMPORT_ACCOUNT = "odm-import"
FINAL_STATUSES = {
    "died": SubjectStatus.DIED,
    "completed": SubjectStatus.COMPLETED,
    "withdrawn": SubjectStatus.WITHDRAWN,
}
REFUSALS = (
    FormSaveRefused,
    PrescriptionRefused,
    SubjectActionRefused,
    SupplyRefused,
    StudyStatusRefused,
    HoldActionRefused,
)


class ImportRefused(Exception):
    """The file cannot be imported: one message naming the place; nothing was imported."""


@dataclass(frozen=True)
class ImportResult:
    nct_id: str
    file_sha256: str
    sites: int
    users: int
    subjects: int
    records: int
    supply: int
    audit_records: int
    signatures: int


# --------------------------------------------------------------------------- the checks first


def database_contents() -> dict[str, int]:
    """What the database holds that an import would mix with (all zero: empty)."""
    return {
        "studies": Study.objects.count(),
        "users": get_user_model().objects.count(),
        "audit events": AuditEvent.objects.count(),
    }


def _require_empty() -> None:
    held = {name: count for name, count in database_contents().items() if count}
    if held:
        what = ", ".join(f"{count} {name}" for name, count in held.items())
        raise ImportRefused(
            f"the database is not empty ({what}): an ODM file is imported into an empty database only."
        )


def _protocol(protocol_path: Path | None):
    path = Path(protocol_path) if protocol_path is not None else configured_protocol_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportRefused(f"--protocol {path}: cannot read it: {exc.strerror or exc}.") from None
    try:
        return path, load_protocol_text(text, str(path))
    except ProtocolError as exc:
        first = exc.problems[0] if exc.problems else exc
        raise ImportRefused(f"--protocol {path}: not a valid protocol file: {first}.") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the import


def import_odm(path: Path | str, protocol_path: Path | str | None = None) -> ImportResult:
    """Import the ODM file ``path`` into the empty database (ImportRefused: nothing imported)."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file.")
    protocol_file, protocol = _protocol(Path(protocol_path) if protocol_path is not None else None)
    _require_empty()
    try:
        odm = read_odm(path, protocol, schema=official_schema())
    except OdmError as exc:
        raise ImportRefused(str(exc)) from None
    snapshot = odm.snapshot
    if snapshot.pseudonymised:
        raise ImportRefused(
            f"{path.name}: a pseudonymised export (its root's Description says so): its identifiers and "
            "the sites' free text are masked, so it cannot become the study's data; import the operator's "
            "or a data manager's export."
        )
    known_sites = {site.code for site in protocol.sites}
    for site in snapshot.sites:
        if site.code not in known_sites:
            raise ImportRefused(
                f"{path.name}: the site {site.code} (Location LOC.{site.code}) is not in the protocol."
            )
    system = Actor.system("import")
    with audited():
        _require_empty()  # inside the transaction too: nobody filled it meanwhile
        study = install_study(protocol_file, actor=system)
        sites = {site.code: site for site in Site.objects.filter(study=study)}
        for kept in snapshot.sites:
            if kept.activated_on is not None:
                activate_site(sites[kept.code], kept.activated_on, system)
                sites[kept.code].activated_on = kept.activated_on
        users = _create_users(odm.people, system)
        importer = _import_account(study, sites.values(), system)
        replay = _Replay(study, importer, path.name)
        replay.open_recruitment(snapshot, system)
        supply = replay.supply(snapshot.supply, sites)
        subjects = records = 0
        signatures: list[tuple[Any, Any]] = []
        for subject in snapshot.subjects():
            made = replay.subject(subject, sites)
            subjects += 1
            records += len(subject.records)
            signatures.extend((made, signature) for signature in subject.signatures)
        origin = OdmImport.objects.create(
            study=study,
            file_name=path.name,
            file_sha256=_sha256(path),
            file_oid=odm.file_oid,
            source_system=odm.source_system,
            file_created_at=snapshot.created_at,
            imported_at=timezone.now(),
            subjects=subjects,
            records=records,
        )
        origin.signatures = _keep_signatures(origin, signatures)
        origin.audit_records = _keep_trail(origin, odm.audit_trail(), sites)
        origin.save(update_fields=["signatures", "audit_records"])
        _end_import_account(importer, study, system)
        record(
            system,
            "import",
            study_id=study.pk,
            object_type="import.odm",
            object_id=origin.pk,
            object_label=path.name,
            new_value={
                "sha256": origin.file_sha256,
                "file_oid": origin.file_oid,
                "protocol_sha256": study.protocol_sha256,
                "subjects": subjects,
                "records": records,
                "supply": supply,
                "users": len(users),
                "audit_records": origin.audit_records,
                "signatures": origin.signatures,
            },
            reason=ReasonForChange.IMPORT.label,
        )
    return ImportResult(
        study.nct_id,
        origin.file_sha256,
        len(sites),
        len(users),
        subjects,
        records,
        supply,
        origin.audit_records,
        origin.signatures,
    )


def _create_users(people, system: Actor) -> list:
    """The users the file names, inactive and with no usable password until invited. Not
    the system's own actors (``Organization`` "trialdesk (system)"), nor a signer's printed
    name (a ``User`` whose login name is its full name, as the ODM writer names signers: it
    stays the name on its signatures), nor a name that is not a login."""
    valid = UnicodeUsernameValidator()
    made = []
    seen = set()
    for person in people:
        name = person.name
        if name in seen or name in ("system", IMPORT_ACCOUNT) or person.system or name == person.full_name:
            continue
        try:
            valid(name)
        except ValidationError:
            continue
        seen.add(name)
        first, _, last = (person.full_name or "").partition(" ")
        user = create_user(name, None, first_name=first, last_name=last, actor=system)
        user.is_active = False
        user.save(update_fields=["is_active"])
        record(
            system,
            "change",
            object_type="user",
            object_id=user.pk,
            object_label=name,
            field="is_active",
            old_value=True,
            new_value=False,
            reason=reasons.NAMED_BY_THE_IMPORT(),
        )
        made.append(user)
    return made


def _import_account(study: Study, sites: Iterable[Site], system: Actor):
    user = create_user(IMPORT_ACCOUNT, None, first_name="ODM", last_name="import", actor=system)
    for site in sorted(sites, key=lambda s: s.code):
        grant_role(user, study, Role.INVESTIGATOR, site, system)
    return user


def _end_import_account(user, study: Study, system: Actor) -> None:
    today = timezone.localdate()
    for membership in Membership.objects.filter(user=user, study=study, active=True).select_related("site"):
        membership.active = False
        membership.ended_on = today
        membership.save(update_fields=["active", "ended_on"])
        record(
            system,
            "role_end",
            study_id=study.pk,
            site=membership.site,
            object_type="membership",
            object_id=membership.pk,
            object_label=f"{user.get_username()} {membership.role} @ {membership.site.code}",
            old_value=membership.role,
            reason=reasons.IMPORT_DONE(),
        )
    user.is_active = False
    user.save(update_fields=["is_active"])
    record(
        system,
        "change",
        object_type="user",
        object_id=user.pk,
        object_label=user.get_username(),
        field="is_active",
        old_value=True,
        new_value=False,
        reason=reasons.IMPORT_DONE(),
    )


def _keep_signatures(origin: OdmImport, signatures) -> int:
    rows = [
        ImportedSignature(
            origin=origin,
            subject=subject,
            visit_code=signature.visit or "",
            printed_name=signature.printed_name,
            meaning=signature.meaning,
            signed_at=signature.signed_at,
        )
        for subject, signature in signatures
    ]
    ImportedSignature.objects.bulk_create(rows)
    return len(rows)


def _keep_trail(origin: OdmImport, trail, sites: dict[str, Site], batch: int = 2000) -> int:
    count = 0
    rows: list[ImportedAuditRecord] = []
    for entry in trail:
        rows.append(
            ImportedAuditRecord(
                origin=origin,
                sequence=entry.sequence,
                username=entry.user[:150],
                site=sites.get(entry.site),
                occurred_at=entry.at,
                reason=entry.reason,
                source=entry.source,
            )
        )
        if len(rows) >= batch:
            ImportedAuditRecord.objects.bulk_create(rows)
            count += len(rows)
            rows = []
    ImportedAuditRecord.objects.bulk_create(rows)
    return count + len(rows)


# --------------------------------------------------------------------------- the replay


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value not in (None, "") else None
    except ValueError:
        return None


class _Replay:
    """Replays a snapshot through the services, as the import account."""

    def __init__(self, study: Study, user, file_name: str) -> None:
        self.study = study
        self.protocol = study.protocol
        self.user = user
        self.file_name = file_name
        self.infusion_form = infusion_form(self.protocol)
        self.schedule = list(self.protocol.schedule.expanded_visits())
        self.sequence = {visit.code: position for position, visit in enumerate(self.schedule)}

    def refused(self, where: str, message: str) -> ImportRefused:
        return ImportRefused(f"{self.file_name}: {where}: {message}")

    def open_recruitment(self, snapshot, system: Actor) -> None:
        """The file carries no status history: the study recruits from its first screening."""
        days = [s.screened_on for s in snapshot.subjects() if s.screened_on is not None]
        if not days:
            return
        try:
            change_status(
                self.study,
                OperationalStatus.RECRUITING,
                effective_on=min(days),
                reason=reasons.IMPORTED_RECRUITING(file=self.file_name),
                actor=system,
            )
        except StudyStatusRefused as exc:
            raise self.refused("the study's status", str(exc)) from None

    def supply(self, moves, sites: dict[str, Site]) -> int:
        count = 0
        for number, move in enumerate(moves, start=1):
            where = f"drug supply {number} (lot {move.lot} at {move.site})"
            try:
                if move.kind == "shipment":
                    record_shipment(
                        self.user,
                        sites[move.site],
                        lot_number=move.lot,
                        vials=move.vials,
                        expires_on=move.expires_on,
                        received_on=move.on,
                    )
                else:
                    record_disposal(
                        self.user,
                        sites[move.site],
                        lot_number=move.lot,
                        kind=move.kind,
                        vials=move.vials,
                        on=move.on,
                        reason=move.reason or reasons.IMPORTED_FROM(file=self.file_name),
                    )
            except SupplyRefused as exc:
                raise self.refused(where, _message(exc)) from None
            count += 1
        return count

    # ---- one subject

    def subject(self, snapshot: SubjectSnapshot, sites: dict[str, Site]):
        where = f"subject {snapshot.label}"
        site = sites.get(snapshot.site)
        if site is None:
            raise self.refused(where, f"the site {snapshot.site!r} is not a site of the file.")
        if snapshot.screened_on is None:
            raise self.refused(where, "no screening date.")
        try:
            return self._subject(snapshot, site, where)
        except REFUSALS as exc:
            raise self.refused(self._where or where, _message(exc)) from None

    _where = ""

    def _subject(self, snapshot: SubjectSnapshot, site: Site, where: str):
        self._where = where
        subject = subject_services.register_screening(
            self.user,
            site,
            screened_on=snapshot.screened_on,
            sex=snapshot.sex,
            year_of_birth=snapshot.year_of_birth,
            initials=snapshot.initials,
            age_at_screening=snapshot.age if snapshot.year_of_birth is None else None,
        )
        if subject.screening_number != snapshot.screening_number:
            raise self.refused(
                where,
                f"screened as {subject.screening_number} here: the file's screening numbers at "
                f"{site.code} do not follow each other.",
            )
        screening_visit = subject.visits.get()
        records = list(snapshot.records)
        eligibility_form = self.protocol.eligibility.form
        at_screening = sorted(
            (r for r in records if r.visit == screening_visit.code), key=lambda r: r.form != eligibility_form
        )
        later = [r for r in records if r.visit != screening_visit.code]
        for rec in at_screening:
            self._save(subject, rec, screening_visit)
        if snapshot.status == SubjectStatus.SCREEN_FAILED:
            self._screen_failure(subject, snapshot, later)
            self._void(subject, records)
            return subject
        if snapshot.enrolled_on is None or snapshot.consent_date is None:
            self._void(subject, records)
            return subject  # still screening (or waiting for enrollment) in the file
        self._where = f"{where}, enrollment"
        subject = subject_services.enroll(
            self.user,
            subject,
            consent_date=snapshot.consent_date,
            enrolled_on=snapshot.enrolled_on,
            planned_first_dose_on=self._planned_first_dose(snapshot),
        )
        if snapshot.subject_code and subject.subject_code != snapshot.subject_code:
            raise self.refused(
                where,
                f"enrolled as {subject.subject_code} here: the file's subject codes at {site.code} "
                "do not follow each other.",
            )
        visits = {v.code: v for v in subject.visits.all()}
        dated: set[str] = {screening_visit.code}
        actual = {v.code: v for v in snapshot.visits if v.actual_date is not None}
        decisions = sorted(snapshot.cardiac_decisions, key=lambda d: d.ended_on)
        visit_days = {v.code: v.actual_date or v.planned_date for v in snapshot.visits}
        for rec in self._in_order(later, visit_days):
            decisions = self._decide_holds(subject, decisions, record_date(self.protocol, rec.form, rec.data))
            visit = None
            if rec.visit is not None:
                visit = visits.get(rec.visit)
                if visit is None:
                    visit = self._open(subject, rec.visit, actual.get(rec.visit))
                    visits[rec.visit] = visit
            if visit is not None and visit.code not in dated:
                # the visit took place, then its forms are entered: a calendar re-planned by one of
                # them (the end of treatment) keeps the visits that have happened
                self._visit_dates(visit, actual.get(visit.code))
                dated.add(visit.code)
            self._save(subject, rec, visit)
        for code, kept in actual.items():
            if code not in dated and code in visits:
                self._visit_dates(visits[code], kept)
        self._decide_holds(subject, decisions, None)
        self._void(subject, records)
        final = FINAL_STATUSES.get(snapshot.status)
        if final:
            subject.refresh_from_db()
            subject_services.set_status(
                subject,
                final,
                Actor.for_user(self.user, Role.INVESTIGATOR),
                f"imported from {self.file_name}",
            )
        return subject

    def _decide_holds(self, subject, decisions: list, before: dt.date | None) -> list:
        """The investigator's decisions on the subject's cardiac holds that the file dates on or
        before ``before`` (None: all those left), taken on the hold the rules opened here, as
        the investigator took them (lifted, or treatment stopped). Returns those left."""
        left = []
        for decision in decisions:
            if before is not None and decision.ended_on > before:
                left.append(decision)
                continue
            self._where = f"subject {subject.label}, the cardiac hold from {decision.started_on.isoformat()}"
            hold = active_hold(subject)
            if hold is None:
                raise self.refused(
                    self._where,
                    f"the file records it {decision.status.replace('_', ' ')} on {decision.ended_on.isoformat()}, "
                    "but the protocol's rule opened no hold here.",
                )
            hold.subject = subject
            reason = decision.reason or reasons.IMPORTED_FROM(file=self.file_name)
            if decision.status == HoldStatus.TREATMENT_STOPPED:
                stop_treatment_for_hold(self.user, hold, reason, on=decision.ended_on)
            else:
                lift_hold(self.user, hold, reason, on=decision.ended_on)
        return left

    def _planned_first_dose(self, snapshot: SubjectSnapshot) -> dt.date | None:
        """Day 0 as the file planned it at enrollment (its first visit from day 0 on: the
        planned date less its day; the first infusion re-plans the later visits itself)."""
        planned = {v.code: v.planned_date for v in snapshot.visits}
        for visit in self.schedule:
            if visit.day is not None and visit.day >= 0 and planned.get(visit.code) is not None:
                return planned[visit.code] - dt.timedelta(days=visit.day)
        return snapshot.first_dose_on or snapshot.enrolled_on

    def _in_order(self, records: list[RecordSnapshot], visit_days=None) -> Iterator[RecordSnapshot]:
        """The records as they happened: each visit's records together, each log form's
        entries in their order (their repeat numbers), and the next to go the earliest by its
        clinical date (else its visit's date); on the same day an infusion goes after the other
        entries (its reaction's adverse event, entered first, is then linked rather than doubled)."""
        visit_days = visit_days or {}
        queues: dict[str, list[RecordSnapshot]] = {}
        for rec in sorted(
            records,
            key=lambda r: (r.visit is None, self.sequence.get(r.visit or "", 0), r.form, r.repeat),
        ):
            queues.setdefault(f" visit {rec.visit}" if rec.visit is not None else rec.form, []).append(rec)
        last = dt.date.min

        def day_of(rec: RecordSnapshot, last: dt.date) -> dt.date:
            return record_date(self.protocol, rec.form, rec.data) or visit_days.get(rec.visit) or last

        def key(name: str, last: dt.date) -> tuple:
            head = queues[name][0]
            return (
                day_of(head, last),
                head.form == self.infusion_form,
                self.sequence.get(head.visit or "", 0),
                name,
            )

        while queues:
            name = min(queues, key=lambda queue: key(queue, last))
            head = queues[name].pop(0)
            last = max(last, day_of(head, last))
            if not queues[name]:
                del queues[name]
            yield head

    def _save(self, subject, rec: RecordSnapshot, visit: Visit | None) -> None:
        self._where = f"subject {subject.label}, {_record_place(rec)}"
        if rec.form == self.infusion_form and self._prescribed(rec):
            prescription = validate_prescription(
                self.user,
                subject,
                on=_date(self.protocol.read_concept(DOSE_DATE, rec.form, rec.data)),
                weight_kg=self.protocol.read_concept(WEIGHT_TODAY, rec.form, rec.data),
            )
            infusion = prescription.record
            self._same_place(rec, infusion)
            save_form(
                self.user,
                subject,
                rec.form,
                dict(rec.data),
                repeat=infusion.repeat,
                expected_version=infusion.version,
                reason=ReasonForChange.IMPORT,
                reason_detail=f"from {self.file_name}",
            )
            return
        outcome = save_form(
            self.user,
            subject,
            rec.form,
            dict(rec.data),
            visit=visit,
            repeat=rec.repeat if visit is not None else None,
            reason=ReasonForChange.IMPORT,
            reason_detail=f"from {self.file_name}",
        )
        self._same_place(rec, outcome.record)
        if outcome.record.data != rec.data:
            changed = sorted(
                k
                for k in set(rec.data) | set(outcome.record.data)
                if rec.data.get(k) != outcome.record.data.get(k)
            )
            raise self.refused(self._where, f"the form engine stores other values for {', '.join(changed)}.")

    def _prescribed(self, rec: RecordSnapshot) -> bool:
        return self.protocol.read_concept(PRESCRIBED, rec.form, rec.data) not in (None, "")

    def _same_place(self, rec: RecordSnapshot, made: FormRecord) -> None:
        if made.repeat != rec.repeat:
            raise self.refused(
                self._where,
                f"it became entry {made.repeat} here (an entry the rules made on their own, such as "
                "an infusion reaction's adverse event, came before it).",
            )

    def _open(self, subject, code: str, kept) -> Visit:
        self._where = f"subject {subject.label}, visit {code}"
        on = kept.actual_date if kept is not None else None
        if on is None:
            raise self.refused(self._where, "a visit the calendar does not plan, without a date.")
        return subject_services.open_visit(self.user, subject, code, on=on)

    def _visit_dates(self, visit: Visit, kept) -> None:
        if kept is None:
            return
        self._where = f"visit {visit.code} dates"
        visit.refresh_from_db(fields=["planned_date", "actual_date"])
        if visit.planned_date is None:
            subject_services.record_visit_dates(
                self.user, visit, planned_date=kept.planned_date, actual_date=kept.actual_date
            )
        elif visit.actual_date != kept.actual_date:
            subject_services.record_visit_dates(self.user, visit, actual_date=kept.actual_date)

    def _screen_failure(self, subject, snapshot: SubjectSnapshot, later: list[RecordSnapshot]) -> None:
        for kept in snapshot.visits:
            if kept.actual_date is None or kept.code == subject.visits.get(sequence=0).code:
                continue
            visit = self._open(subject, kept.code, kept)
            for rec in later:
                if rec.visit == kept.code:
                    self._save(subject, rec, visit)
        self._where = f"subject {subject.label}, screen failure"
        subject_services.record_screen_failure(
            self.user,
            subject,
            as_of=snapshot.screened_on,
            reason="" if snapshot.screen_failure_criteria else reasons.IMPORTED_FROM(file=self.file_name),
            consent_date=snapshot.consent_date,
        )

    def _void(self, subject, records: list[RecordSnapshot]) -> None:
        """The entries the file marks removed (entered in error), voided last."""
        for rec in records:
            if not rec.voided:
                continue
            self._where = f"subject {subject.label}, {_record_place(rec)}"
            made = FormRecord.objects.system("the import voids the entries its file removed").filter(
                subject=subject, form_code=rec.form, repeat=rec.repeat
            )
            if rec.visit is None:
                made = made.filter(visit__isnull=True)
            else:
                made = made.filter(visit__code=rec.visit)
            made = made.get()
            made.subject = subject
            void_record(self.user, made, f"removed in {self.file_name} (TransactionType Remove)")


def _record_place(rec: RecordSnapshot) -> str:
    event = rec.visit or LOG_EVENT
    return f"form {rec.form} at {event} (entry {rec.repeat})"


def _message(exc: Exception) -> str:
    """What a service said, with the fields the form engine refused (the item and why)."""
    message = getattr(exc, "message", None) or str(exc)
    validation = getattr(exc, "validation", None)
    if validation is not None and getattr(validation, "errors", None):
        return "; ".join(
            f"item {code}: {' '.join(str(m) for m in messages)}"
            for code, messages in validation.errors.items()
        )
    return str(message)
