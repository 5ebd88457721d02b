"""CDISC ODM 1.3.2 from a StudySnapshot and its protocol (pure core, never imports Django).

    write_odm(snapshot, protocol, out, audit_records=..., users=...)   # streams, returns OdmResult

The document (one ``Study``, one ``MetaDataVersion``, ``AdminData``, one ``ClinicalData``):

- metadata from the protocol: ``Protocol`` with one ``StudyEventRef`` per visit of the
  schedule and one ``LOG`` event holding the log forms; ``StudyEventDef`` (a visit that
  repeats, ``M`` → ``M1``, ``M2``…, is one repeating event whose repeat key is the number);
  ``FormDef`` (repeating when a log form or collected more than once at a visit) with one
  ``ItemGroupDef`` each; ``ItemDef`` with its question in English and French, its unit
  (``MeasurementUnit`` in ``BasicDefinitions``), its range (``min``/``max`` hard,
  ``expected_min``/``expected_max`` soft ``RangeCheck``), its ``CodeList``; a field's
  condition is a ``ConditionDef`` (its expression text in the description, the item's
  collection exception as ``not (expression)``).
- ``AdminData``: the users named by signatures and audit records, one ``Location`` per site,
  one ``SignatureDef`` per signature meaning.
- ``ClinicalData``: ``SubjectData`` (key: the subject's code, else its screening number; the
  subject's own data — status, dates, visits — as JSON in an ``Annotation``, and the
  investigator's decisions on its cardiac holds in a second one), ``SiteRef``,
  the casebook's valid signature; ``StudyEventData`` with repeat keys; ``FormData`` with repeat
  keys for log entries and repeated forms (a voided record: ``TransactionType="Remove"``);
  ``ItemGroupData``; ``ItemData`` (booleans ``true``/``false``, numbers as Python writes them
  so they read back the same). Then the audit trail given (``AuditRecords``), then the study
  drug received and disposed of at the sites (``Annotations``: one ``Annotation`` per
  shipment or disposal, its JSON in the comment — ODM has no element for drug supply, and the
  official schema allows no vendor element there; an import needs the lots before the
  infusions that drew on them).

Written with lxml's incremental writer (``etree.xmlfile``): one subject in memory at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO

from lxml import etree

from trialdesk.snapshot.model import (
    RecordSnapshot,
    SignatureSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    SupplySnapshot,
)
from trialdesk.snapshot.plain import (
    cardiac_decisions_plain,
    cardiac_holds_plain,
    date_text,
    sae_reports_plain,
    subject_header_plain,
    supply_plain,
)

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LOG_EVENT = "LOG"
FORMAL_CONTEXT = "trialdesk-rules"
SUBJECT_ANNOTATION = "trialdesk:subject "
SUPPLY_ANNOTATION = "trialdesk:supply "
CARDIAC_ANNOTATION = "trialdesk:cardiac "
HOLDS_ANNOTATION = "trialdesk:cardiac-holds "
SAE_ANNOTATION = "trialdesk:sae-reports "
STUDY_LOCATION = "LOC.study"
#: the Organization of a User that is no person but the system acting on its own
SYSTEM_ORGANIZATION = "trialdesk (system)"

DATA_TYPES = {
    "integer": "integer",
    "decimal": "float",
    "text": "text",
    "boolean": "boolean",
    "date": "date",
    "choice": "text",
    "ctcae_term": "text",
}


# ------------------------------------------------------------------------------- the OIDs


def event_oid(code: str) -> str:
    return f"SE.{code}"


def form_oid(code: str) -> str:
    return f"F.{code}"


def group_oid(form: str) -> str:
    return f"IG.{form}"


def item_oid(form: str, field: str) -> str:
    return f"I.{form}.{field}"


def codelist_oid(form: str, field: str) -> str:
    return f"CL.{form}.{field}"


def condition_oid(form: str, field: str) -> str:
    return f"CD.{form}.{field}"


def location_oid(site: str) -> str:
    return f"LOC.{site}"


def user_oid(name: str) -> str:
    """A stable OID for a user named in signatures and audit records."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name.strip()) or "unknown"
    return f"USR.{slug}"


def signature_def_oid(meaning: str) -> str:
    return f"SD.{re.sub(r'[^A-Za-z0-9._-]+', '_', meaning.strip())[:60] or 'signature'}"


def metadata_oid(snapshot: StudySnapshot) -> str:
    return f"MDV.{snapshot.protocol_sha256[:16] or 'unversioned'}"


# ------------------------------------------------------------------------- what it carries


@dataclass(frozen=True)
class OdmUser:
    """A person the file names (a signer, the author of an audit record)."""

    name: str  # the login name, or the printed name of a signer
    full_name: str = ""
    system: bool = False  # not a person: the system acting on its own (``Actor.system``)

    @property
    def oid(self) -> str:
        return user_oid(self.name)


@dataclass(frozen=True)
class OdmAuditRecord:
    """One event of the audit trail: who, where, when, why, and what (``source``)."""

    sequence: int
    user: str
    site: str  # a site code, "" for a study-wide event
    at: dt.datetime
    reason: str
    source: str


@dataclass(frozen=True)
class OdmResult:
    sha256: str
    bytes: int
    subjects: int
    records: int
    audit_records: int


class _Hashing:
    """A binary file that hashes and counts what goes through it."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self._out.write(data)
        return len(data)


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _element(tag: str, attrib: dict[str, str] | None = None, **extra: str):
    """A free-standing element of the ODM namespace (its default namespace: no prefix)."""
    return etree.Element(_q(tag), attrib, nsmap={None: ODM_NS}, **extra)


def _odm_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def odm_value(value: Any) -> str | None:
    """A form value as ODM text: None for no value."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# -------------------------------------------------------------------- the schedule's events


@dataclass(frozen=True)
class EventDef:
    code: str
    title: str
    title_fr: str | None
    repeating: bool
    kind: str  # Scheduled / Unscheduled / Common
    forms: tuple[str, ...]


def event_defs(protocol: Any) -> list[EventDef]:
    """The study events: one per visit of the schedule (before expansion), then ``LOG``."""
    events = [
        EventDef(
            code=visit.code,
            title=visit.title,
            title_fr=visit.title_fr,
            repeating=visit.repeat is not None,
            kind="Scheduled" if visit.day is not None else "Unscheduled",
            forms=tuple(visit.forms),
        )
        for visit in protocol.schedule.visits
    ]
    if protocol.schedule.log_forms:
        events.append(
            EventDef(
                LOG_EVENT,
                "Log forms",
                "Formulaires de suivi continu",
                False,
                "Common",
                tuple(protocol.schedule.log_forms),
            )
        )
    return events


def repeating_forms(protocol: Any) -> set[str]:
    forms = set(protocol.schedule.log_forms)
    for visit in protocol.schedule.visits:
        forms.update(visit.max_per_visit)
    return forms


def event_of(protocol: Any, visit_code: str | None) -> tuple[str, str | None]:
    """The study event and its repeat key of a record's visit (None: a log form)."""
    if visit_code is None:
        return LOG_EVENT, None
    try:
        visit = protocol.schedule.visit(visit_code)
    except KeyError:
        return visit_code, None
    if visit.series is not None:
        return visit.series, str(visit.number)
    return visit.code, None


def visit_of(protocol: Any, event: str, repeat_key: str | None) -> str | None:
    """The inverse of ``event_of``."""
    if event == LOG_EVENT:
        return None
    return f"{event}{repeat_key}" if repeat_key else event


def units_of(protocol: Any) -> dict[str, str]:
    """Each unit the forms use -> its MeasurementUnit OID (in order of first use)."""
    units: dict[str, str] = {}
    for form in protocol.forms:
        for field in form.fields:
            if field.unit and field.unit not in units:
                units[field.unit] = f"MU.{len(units) + 1}"
    return units


# ------------------------------------------------------------------------------- the writer


def _translated(parent, tag: str, en: str, fr: str | None) -> None:
    holder = etree.SubElement(parent, _q(tag))
    english = etree.SubElement(holder, _q("TranslatedText"), {XML_LANG: "en"})
    english.text = en
    if fr:
        french = etree.SubElement(holder, _q("TranslatedText"), {XML_LANG: "fr"})
        french.text = fr


def _metadata(xf, snapshot: StudySnapshot, protocol: Any) -> None:
    ident = protocol.identification
    globals_ = _element("GlobalVariables")
    etree.SubElement(globals_, _q("StudyName")).text = ident.brief_title
    etree.SubElement(globals_, _q("StudyDescription")).text = ident.official_title
    etree.SubElement(globals_, _q("ProtocolName")).text = ident.nct_id
    xf.write(globals_)
    units = units_of(protocol)
    if units:
        basic = _element("BasicDefinitions")
        for unit, oid in units.items():
            mu = etree.SubElement(basic, _q("MeasurementUnit"), OID=oid, Name=unit)
            _translated(mu, "Symbol", unit, None)
        xf.write(basic)
    with xf.element(
        _q("MetaDataVersion"),
        OID=metadata_oid(snapshot),
        Name=f"{ident.nct_id} protocol",
        Description=f"protocol file sha256 {snapshot.protocol_sha256}",
    ):
        events = event_defs(protocol)
        repeating = repeating_forms(protocol)
        proto = _element("Protocol")
        for order, event in enumerate(events, start=1):
            etree.SubElement(
                proto,
                _q("StudyEventRef"),
                StudyEventOID=event_oid(event.code),
                OrderNumber=str(order),
                Mandatory="No",
            )
        xf.write(proto)
        for event in events:
            sed = _element(
                "StudyEventDef",
                OID=event_oid(event.code),
                Name=event.title,
                Repeating="Yes" if event.repeating else "No",
                Type=event.kind,
            )
            for order, form in enumerate(event.forms, start=1):
                etree.SubElement(
                    sed, _q("FormRef"), FormOID=form_oid(form), OrderNumber=str(order), Mandatory="No"
                )
            xf.write(sed)
        for form in protocol.forms:
            fd = _element(
                "FormDef",
                OID=form_oid(form.code),
                Name=form.title,
                Repeating="Yes" if form.code in repeating else "No",
            )
            _translated(fd, "Description", form.title, form.title_fr)
            etree.SubElement(fd, _q("ItemGroupRef"), ItemGroupOID=group_oid(form.code), Mandatory="Yes")
            xf.write(fd)
        for form in protocol.forms:
            ig = _element("ItemGroupDef", OID=group_oid(form.code), Name=form.title, Repeating="No")
            for order, field in enumerate(form.fields, start=1):
                attrs = {
                    "ItemOID": item_oid(form.code, field.code),
                    "OrderNumber": str(order),
                    "Mandatory": "Yes" if field.required else "No",
                }
                if field.condition:
                    attrs["CollectionExceptionConditionOID"] = condition_oid(form.code, field.code)
                etree.SubElement(ig, _q("ItemRef"), attrs)
            xf.write(ig)
        for form in protocol.forms:
            for field in form.fields:
                xf.write(_item_def(form.code, field, units))
        for form in protocol.forms:
            for field in form.fields:
                if field.choices:
                    cl = _element(
                        "CodeList", OID=codelist_oid(form.code, field.code), Name=field.label, DataType="text"
                    )
                    for order, choice in enumerate(field.choices, start=1):
                        item = etree.SubElement(
                            cl, _q("CodeListItem"), CodedValue=choice.value, OrderNumber=str(order)
                        )
                        _translated(item, "Decode", choice.label, choice.label_fr)
                    xf.write(cl)
        for form in protocol.forms:
            for field in form.fields:
                if field.condition:
                    cd = _element(
                        "ConditionDef",
                        OID=condition_oid(form.code, field.code),
                        Name=f"{form.code}.{field.code} collected when",
                    )
                    _translated(cd, "Description", field.condition, None)
                    expression = etree.SubElement(cd, _q("FormalExpression"), Context=FORMAL_CONTEXT)
                    expression.text = f"not ({field.condition})"
                    xf.write(cd)


def _item_def(form: str, field: Any, units: dict[str, str]):
    attrs = {"OID": item_oid(form, field.code), "Name": field.code, "DataType": DATA_TYPES[field.type]}
    if field.max_length:
        attrs["Length"] = str(field.max_length)
    item = _element("ItemDef", attrs)
    if field.help:
        _translated(item, "Description", field.help, field.help_fr)
    _translated(item, "Question", field.label, field.label_fr)
    if field.unit:
        etree.SubElement(item, _q("MeasurementUnitRef"), MeasurementUnitOID=units[field.unit])
    for bound, comparator, soft_hard in (
        (field.min, "GE", "Hard"),
        (field.max, "LE", "Hard"),
        (field.expected_min, "GE", "Soft"),
        (field.expected_max, "LE", "Soft"),
    ):
        if bound is not None:
            check = etree.SubElement(item, _q("RangeCheck"), Comparator=comparator, SoftHard=soft_hard)
            etree.SubElement(check, _q("CheckValue")).text = _number(bound)
    if field.choices:
        etree.SubElement(item, _q("CodeListRef"), CodeListOID=codelist_oid(form, field.code))
    return item


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _admin(
    xf, snapshot: StudySnapshot, protocol: Any, users: Iterable[OdmUser], meanings: Iterable[str]
) -> None:
    admin = _element("AdminData", StudyOID=protocol.identification.nct_id)
    seen: set[str] = set()
    for user in users:
        if user.oid in seen:
            continue
        seen.add(user.oid)
        element = etree.SubElement(admin, _q("User"), OID=user.oid)
        etree.SubElement(element, _q("LoginName")).text = user.name
        if user.full_name:
            etree.SubElement(element, _q("FullName")).text = user.full_name
        if user.system:
            etree.SubElement(element, _q("Organization")).text = SYSTEM_ORGANIZATION
    if "USR.system" not in seen:
        element = etree.SubElement(admin, _q("User"), OID="USR.system")
        etree.SubElement(element, _q("LoginName")).text = "system"
        etree.SubElement(element, _q("Organization")).text = SYSTEM_ORGANIZATION
    effective = snapshot.created_at.date().isoformat()
    sponsor = etree.SubElement(
        admin,
        _q("Location"),
        OID=STUDY_LOCATION,
        Name=protocol.identification.sponsor,
        LocationType="Sponsor",
    )
    etree.SubElement(
        sponsor,
        _q("MetaDataVersionRef"),
        StudyOID=protocol.identification.nct_id,
        MetaDataVersionOID=metadata_oid(snapshot),
        EffectiveDate=effective,
    )
    for site in snapshot.sites:
        location = etree.SubElement(
            admin,
            _q("Location"),
            OID=location_oid(site.code),
            Name=site.name or site.code,
            LocationType="Site",
        )
        etree.SubElement(
            location,
            _q("MetaDataVersionRef"),
            StudyOID=protocol.identification.nct_id,
            MetaDataVersionOID=metadata_oid(snapshot),
            EffectiveDate=date_text(site.activated_on) or effective,
        )
    for meaning in sorted(set(meanings)):
        sd = etree.SubElement(
            admin, _q("SignatureDef"), OID=signature_def_oid(meaning), Methodology="Electronic"
        )
        etree.SubElement(sd, _q("Meaning")).text = meaning
        etree.SubElement(
            sd, _q("LegalReason")
        ).text = "21 CFR Part 11 electronic signature (11.50, 11.70, 11.200)"
    xf.write(admin)


def subject_header(subject: SubjectSnapshot) -> dict[str, Any]:
    """The subject's own data (not in its forms) carried in its annotation: the data-cut
    file's header of the subject, one definition for both."""
    return subject_header_plain(subject)


def _signature(parent, signature: SignatureSnapshot, site: str) -> None:
    element = etree.SubElement(parent, _q("Signature"))
    etree.SubElement(element, _q("UserRef"), UserOID=user_oid(signature.printed_name))
    etree.SubElement(element, _q("LocationRef"), LocationOID=location_oid(site))
    etree.SubElement(element, _q("SignatureRef"), SignatureOID=signature_def_oid(signature.meaning))
    etree.SubElement(element, _q("DateTimeStamp")).text = _odm_time(signature.signed_at)


def _subject(protocol: Any, subject: SubjectSnapshot, repeating: set[str], forms: dict[str, Any]):
    element = _element("SubjectData", SubjectKey=subject.label, TransactionType="Insert")
    valid = [s for s in subject.signatures if s.status == "valid"]
    casebook = [s for s in valid if s.scope == "subject"]
    if casebook:
        _signature(element, casebook[-1], subject.site)
    etree.SubElement(element, _q("SiteRef"), LocationOID=location_oid(subject.site))
    note = etree.SubElement(element, _q("Annotation"), SeqNum="1")
    comment = etree.SubElement(note, _q("Comment"), SponsorOrSite="Sponsor")
    comment.text = SUBJECT_ANNOTATION + json.dumps(
        subject_header(subject), sort_keys=True, ensure_ascii=False
    )
    if subject.cardiac_decisions:
        # the investigator's decisions on the subject's cardiac holds (ODM has no element for them)
        note = etree.SubElement(element, _q("Annotation"), SeqNum="2")
        comment = etree.SubElement(note, _q("Comment"), SponsorOrSite="Site")
        comment.text = CARDIAC_ANNOTATION + json.dumps(
            cardiac_decisions_plain(subject.cardiac_decisions), sort_keys=True, ensure_ascii=False
        )
    if subject.cardiac_holds:
        # the subject's cardiac holds as the rule opened them (ODM has no element for them either)
        note = etree.SubElement(element, _q("Annotation"), SeqNum=str(2 + bool(subject.cardiac_decisions)))
        comment = etree.SubElement(note, _q("Comment"), SponsorOrSite="Site")
        comment.text = HOLDS_ANNOTATION + json.dumps(
            cardiac_holds_plain(subject.cardiac_holds), sort_keys=True, ensure_ascii=False
        )
    if subject.sae_reports:
        # the serious events' acknowledgement and expectedness (the sponsor's, ODM has no element)
        seq = 2 + bool(subject.cardiac_decisions) + bool(subject.cardiac_holds)
        note = etree.SubElement(element, _q("Annotation"), SeqNum=str(seq))
        comment = etree.SubElement(note, _q("Comment"), SponsorOrSite="Sponsor")
        comment.text = SAE_ANNOTATION + json.dumps(
            sae_reports_plain(subject.sae_reports), sort_keys=True, ensure_ascii=False
        )
    events: dict[tuple[str, str | None], list[RecordSnapshot]] = {}
    order = {e.code: i for i, e in enumerate(event_defs(protocol))}
    for record in subject.records:
        events.setdefault(event_of(protocol, record.visit), []).append(record)
    visit_signatures = {s.visit: s for s in valid if s.scope == "visit"}
    for (event, key), records in sorted(
        events.items(), key=lambda item: (order.get(item[0][0], len(order)), int(item[0][1] or 0))
    ):
        attrs = {"StudyEventOID": event_oid(event)}
        if key is not None:
            attrs["StudyEventRepeatKey"] = key
        sed = etree.SubElement(element, _q("StudyEventData"), attrs)
        signed = visit_signatures.get(visit_of(protocol, event, key)) if event != LOG_EVENT else None
        if signed is not None:
            _signature(sed, signed, subject.site)
        for record in records:
            fattrs = {"FormOID": form_oid(record.form)}
            if record.form in repeating:
                fattrs["FormRepeatKey"] = str(record.repeat)
            fattrs["TransactionType"] = "Remove" if record.voided else "Insert"
            fd = etree.SubElement(sed, _q("FormData"), fattrs)
            ig = etree.SubElement(fd, _q("ItemGroupData"), ItemGroupOID=group_oid(record.form))
            form = forms.get(record.form)
            codes = form.field_codes if form is not None else sorted(record.data)
            for code in codes:
                text = odm_value(record.data.get(code))
                if text is not None:
                    etree.SubElement(ig, _q("ItemData"), ItemOID=item_oid(record.form, code), Value=text)
    return element


def write_odm(
    snapshot: StudySnapshot,
    protocol: Any,
    out: BinaryIO,
    *,
    audit_records: Callable[[], Iterable[OdmAuditRecord]] | None = None,
    users: Iterable[OdmUser] = (),
    file_oid: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> OdmResult:
    """Write the ODM document of ``snapshot`` to the binary file ``out`` (streamed).

    ``users``: the people the audit records name (the signers are added from the snapshot,
    read once before the clinical data); ``audit_records``: called once, after the subjects,
    for the trail to write (``AuditRecords``); ``progress(subjects written)`` after each subject."""
    hashing = _Hashing(out)
    nct = protocol.identification.nct_id
    created = snapshot.created_at
    signers: dict[str, OdmUser] = {}
    meanings: set[str] = set()
    for subject in snapshot.subjects():
        for signature in subject.signatures:
            signers.setdefault(
                signature.printed_name, OdmUser(signature.printed_name, signature.printed_name)
            )
            meanings.add(signature.meaning)
    repeating = repeating_forms(protocol)
    forms = {form.code: form for form in protocol.forms}
    subjects = records = audits = 0
    attrs = {
        "FileType": "Snapshot",
        "Granularity": "All",
        "FileOID": file_oid or f"trialdesk.{nct}.{created.strftime('%Y%m%dT%H%M%SZ')}",
        "CreationDateTime": _odm_time(created),
        "ODMVersion": "1.3.2",
        "Originator": snapshot.viewer or "operator",
        "SourceSystem": "trialdesk",
    }
    if snapshot.cutoff is not None:
        attrs["Description"] = f"data up to {snapshot.cutoff.isoformat()}" + (
            ", pseudonymised" if snapshot.pseudonymised else ""
        )
    elif snapshot.pseudonymised:
        attrs["Description"] = "pseudonymised"
    with etree.xmlfile(hashing, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_q("ODM"), attrs, nsmap={None: ODM_NS}):
            with xf.element(_q("Study"), OID=nct):
                _metadata(xf, snapshot, protocol)
            _admin(xf, snapshot, protocol, [*users, *signers.values()], meanings)
            with xf.element(_q("ClinicalData"), StudyOID=nct, MetaDataVersionOID=metadata_oid(snapshot)):
                for subject in snapshot.subjects():
                    xf.write(_subject(protocol, subject, repeating, forms))
                    subjects += 1
                    records += len(subject.records)
                    if progress is not None:
                        progress(subjects)
                if audit_records is not None:
                    trail = iter(audit_records())
                    first = next(trail, None)
                    if first is not None:
                        with xf.element(_q("AuditRecords")):
                            for entry in _chain(first, trail):
                                xf.write(_audit(entry))
                                audits += 1
                if snapshot.supply:
                    xf.write(_supply(snapshot.supply))
    return OdmResult(hashing.digest.hexdigest(), hashing.size, subjects, records, audits)


def _chain(first, rest):
    yield first
    yield from rest


def _audit(entry: OdmAuditRecord):
    element = _element("AuditRecord", ID=f"AR.{entry.sequence}")
    etree.SubElement(element, _q("UserRef"), UserOID=user_oid(entry.user or "system"))
    etree.SubElement(
        element, _q("LocationRef"), LocationOID=location_oid(entry.site) if entry.site else STUDY_LOCATION
    )
    etree.SubElement(element, _q("DateTimeStamp")).text = _odm_time(entry.at)
    if entry.reason:
        etree.SubElement(element, _q("ReasonForChange")).text = entry.reason
    if entry.source:
        etree.SubElement(element, _q("SourceID")).text = entry.source
    return element


def _supply(moves: Iterable[SupplySnapshot]):
    """The study drug received and disposed of at the sites (drug accountability, which ODM
    has no element for): one ``Annotation`` of ``ClinicalData`` per movement, its JSON in
    the comment, at the site's location."""
    element = _element("Annotations")
    for number, move in enumerate(moves, start=1):
        note = etree.SubElement(element, _q("Annotation"), SeqNum=str(number))
        comment = etree.SubElement(note, _q("Comment"), SponsorOrSite="Site")
        comment.text = SUPPLY_ANNOTATION + json.dumps(supply_plain(move), sort_keys=True, ensure_ascii=False)
    return element
