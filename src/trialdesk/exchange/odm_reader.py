"""Reading back a CDISC ODM 1.3.2 file written by ``trialdesk.exchange.odm`` (pure core).

    read_odm(path, protocol, schema=...)   # an OdmFile: its StudySnapshot (drug supply included),
                                           # signatures, users and audit trail (streamed)

Checked in this order, each failure one ``OdmError`` naming the place (line, element):
the file is XML, its root is ODM 1.3.2, it is valid against the official schema (validated
while parsing, streamed), it is of the protocol's study, its metadata are those the protocol
gives (the first difference named), every item belongs to its form and every number lies
in its item's hard range. The subjects are then read one at a time, each time
``snapshot.subjects()`` is called (the file is parsed again: flat memory).

Values come back as the form engine stores them: integers as int, decimals as float (or
int when written without a decimal point, so that writing them again gives the same text),
booleans, dates and text as str.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from trialdesk.exchange.odm import (
    CARDIAC_ANNOTATION,
    HOLDS_ANNOTATION,
    LOG_EVENT,
    ODM_NS,
    SAE_ANNOTATION,
    STUDY_LOCATION,
    SUBJECT_ANNOTATION,
    SUPPLY_ANNOTATION,
    SYSTEM_ORGANIZATION,
    OdmAuditRecord,
    OdmUser,
    visit_of,
    write_odm,
)
from trialdesk.snapshot.model import (
    ProtocolIdentity,
    RecordSnapshot,
    SignatureSnapshot,
    SiteSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    SupplySnapshot,
    VisitSnapshot,
)
from trialdesk.snapshot.plain import (
    cardiac_decisions_from,
    cardiac_holds_from,
    parse_date,
    sae_reports_from,
    supply_from,
)

Q = f"{{{ODM_NS}}}"


#: the official CDISC ODM 1.3.2 schema (ODM1-3-2.xsd and the files it includes), shipped with trialdesk
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "odm132" / "ODM1-3-2.xsd"


@functools.cache
def official_schema() -> etree.XMLSchema:
    """The official ODM 1.3.2 schema, parsed once (no network: its imports are local files)."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))


class OdmError(ValueError):
    """An ODM file that cannot be read or imported: the message names the place."""


@dataclass(frozen=True)
class OdmFile:
    snapshot: StudySnapshot
    users: tuple[tuple[str, str], ...]  # (user OID, full name or else login name) of AdminData
    audit_records: int
    people: tuple[OdmUser, ...] = ()  # the users of AdminData: login name and full name
    file_oid: str = ""  # the ODM root's FileOID
    source_system: str = ""  # and its SourceSystem
    #: the file's audit trail (``AuditRecords``), parsed again at each call (streamed)
    audit_trail: Callable[[], Iterator[OdmAuditRecord]] = field(default=lambda: iter(()), repr=False)


def _local(tag: Any) -> str:
    return tag[len(Q) :] if isinstance(tag, str) and tag.startswith(Q) else str(tag)


def _where(element) -> str:
    oid = (
        element.get("OID")
        or element.get("ItemOID")
        or element.get("FormOID")
        or element.get("SubjectKey")
        or ""
    )
    return f"{_local(element.tag)}{' ' + oid if oid else ''} (line {element.sourceline})"


def _check_xml_and_schema(path: Path, schema: etree.XMLSchema | None) -> None:
    try:
        for _, element in etree.iterparse(str(path), events=("start",)):
            if _local(element.tag) != "ODM" or not str(element.tag).startswith(Q):
                raise OdmError(
                    f"{path.name}: not a CDISC ODM 1.3 file: its root element is <{etree.QName(element).localname}>"
                    f"{' in ' + etree.QName(element).namespace if etree.QName(element).namespace else ''}."
                )
            version = element.get("ODMVersion")
            if version != "1.3.2":
                raise OdmError(f"{path.name}: ODM version {version or '(none)'}, not 1.3.2.")
            break
        else:
            raise OdmError(f"{path.name}: an empty file.")
    except etree.XMLSyntaxError as exc:
        raise OdmError(f"{path.name}: not XML: line {exc.lineno}: {exc.msg}.") from None
    if schema is None:
        return
    try:
        for _, element in etree.iterparse(str(path), events=("end",), schema=schema):
            if element.getparent() is not None and _local(element.tag) in ("SubjectData", "AuditRecord"):
                element.clear()
    except etree.XMLSyntaxError as exc:
        raise OdmError(
            f"{path.name}: not valid against the ODM 1.3.2 schema: line {exc.lineno}: {exc.msg}."
        ) from None


def _expected_metadata(protocol: Any, sha256: str) -> etree._Element:
    empty = StudySnapshot(
        study=ProtocolIdentity(protocol.identification.nct_id, sha256),
        cutoff=None,
        created_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        pseudonymised=False,
        sites=(),
        subject_source=lambda: (),
    )
    out = io.BytesIO()
    write_odm(empty, protocol, out)
    return etree.fromstring(out.getvalue()).find(f"{Q}Study")


def _signature(element) -> str:
    attrs = " ".join(f'{_local(k)}="{v}"' for k, v in sorted(element.attrib.items()))
    return f"<{_local(element.tag)}{' ' + attrs if attrs else ''}>{(element.text or '').strip()}"


def _first_difference(found, expected, path: str) -> str | None:
    if _signature(found) != _signature(expected):
        return f"{path}: the file has {_signature(found)!r}, the protocol gives {_signature(expected)!r}"
    found_children, expected_children = list(found), list(expected)
    for index, (f, e) in enumerate(zip(found_children, expected_children, strict=False)):
        where = f"{path} › {_local(e.tag)}{' ' + (e.get('OID') or '') if e.get('OID') else ''}"
        if _local(f.tag) != _local(e.tag):
            return f"{path}: element {index + 1} is <{_local(f.tag)}> in the file, <{_local(e.tag)}> in the protocol"
        difference = _first_difference(f, e, where)
        if difference:
            return difference
    if len(found_children) != len(expected_children):
        if len(found_children) > len(expected_children):
            extra = found_children[len(expected_children)]
            return f"{path}: the file has {_where(extra)} that the protocol does not give"
        missing = expected_children[len(found_children)]
        return f"{path}: the file lacks <{_local(missing.tag)} {missing.get('OID') or ''}> that the protocol gives"
    return None


def _read_study(path: Path, protocol: Any) -> tuple[etree._Element, etree._Element | None, dict[str, str]]:
    """The Study element (metadata), AdminData, and the ODM root's attributes; the
    subjects are skipped (cleared as they end)."""
    study = admin = None
    root_attrs: dict[str, str] = {}
    for event, element in etree.iterparse(str(path), events=("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name == "ODM":
                root_attrs = dict(element.attrib)
            elif name == "ClinicalData":
                break
            continue
        if name == "Study":
            study = element
        elif name == "AdminData":
            admin = element
    if study is None:
        raise OdmError(f"{path.name}: no <Study>.")
    return study, admin, root_attrs


def parse_value(field: Any, text: str, where: str) -> Any:
    try:
        if field.type == "integer":
            value: Any = int(text)
        elif field.type == "decimal":
            value = int(text) if text.lstrip("-").isdigit() else float(text)
        elif field.type == "boolean":
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        else:
            return text
    except ValueError:
        raise OdmError(f"{where}: {text!r} is not a {field.type} value.") from None
    if (field.min is not None and value < field.min) or (field.max is not None and value > field.max):
        bounds = " to ".join("…" if b is None else f"{b:g}" for b in (field.min, field.max))
        raise OdmError(f"{where}: {text} is outside the item's range ({bounds}).")
    return value


def read_odm(path: Path | str, protocol: Any, *, schema: etree.XMLSchema | None = None) -> OdmFile:
    """Check ``path`` against ``schema`` and ``protocol`` and return what it holds (subjects streamed)."""
    path = Path(path)
    if not path.is_file():
        raise OdmError(f"{path}: no such file.")
    _check_xml_and_schema(path, schema)
    study, admin, root = _read_study(path, protocol)
    nct = protocol.identification.nct_id
    if study.get("OID") != nct:
        raise OdmError(
            f"{path.name}: a file of the study {study.get('OID')}, not of {nct} (line {study.sourceline})."
        )
    metadata = study.find(f"{Q}MetaDataVersion")
    description = metadata.get("Description", "") if metadata is not None else ""
    sha256 = description.rsplit(" ", 1)[-1] if description.startswith("protocol file sha256 ") else ""
    expected = _expected_metadata(protocol, sha256)
    for element in (study, expected):
        mdv = element.find(f"{Q}MetaDataVersion")
        if mdv is not None:
            for attribute in ("OID", "Description"):
                mdv.attrib.pop(attribute, None)
    difference = _first_difference(study, expected, f"Study {nct}")
    if difference:
        raise OdmError(f"{path.name}: its metadata do not match the protocol: {difference}.")
    users: dict[str, str] = {}
    logins: dict[str, str] = {}
    people: list[OdmUser] = []
    meanings: dict[str, str] = {}
    sites: list[SiteSnapshot] = []
    if admin is not None:
        for user in admin.iterfind(f"{Q}User"):
            login = user.findtext(f"{Q}LoginName") or user.get("OID")
            users[user.get("OID")] = user.findtext(f"{Q}FullName") or login
            logins[user.get("OID")] = login
            people.append(
                OdmUser(
                    login,
                    user.findtext(f"{Q}FullName") or "",
                    system=user.findtext(f"{Q}Organization") == SYSTEM_ORGANIZATION,
                )
            )
        written_on = root["CreationDateTime"][:10]
        for location in admin.iterfind(f"{Q}Location"):
            if location.get("LocationType") == "Site":
                # the writer gives a site without an activation date the file's date
                effective = location.find(f"{Q}MetaDataVersionRef").get("EffectiveDate")
                sites.append(
                    SiteSnapshot(
                        code=location.get("OID")[4:],
                        name=location.get("Name"),
                        activated_on=parse_date(effective) if effective != written_on else None,
                    )
                )
        for definition in admin.iterfind(f"{Q}SignatureDef"):
            meanings[definition.get("OID")] = definition.findtext(f"{Q}Meaning") or ""
    forms = {form.code: form for form in protocol.forms}
    created = dt.datetime.fromisoformat(root["CreationDateTime"])
    audit_count = _count_audit_records(path)

    def subjects() -> Iterator[SubjectSnapshot]:
        for _, element in etree.iterparse(str(path), events=("end",), tag=f"{Q}SubjectData"):
            yield _subject(element, forms, users, meanings, path.name)
            element.clear()

    # every subject is read once here, so that a value out of range is refused before anything is imported
    for _ in subjects():
        pass
    root_description = root.get("Description", "")
    cutoff_text = (
        root_description.removeprefix("data up to ")[:10] if root_description.startswith("data up to") else ""
    )
    snapshot = StudySnapshot(
        study=ProtocolIdentity(nct, sha256, protocol.identification.brief_title),
        cutoff=parse_date(cutoff_text) if cutoff_text else None,
        created_at=created,
        pseudonymised="pseudonymised" in root_description,
        sites=tuple(sites),
        subject_source=subjects,
        viewer=root.get("Originator", ""),
        supply=_read_supply(path, {site.code for site in sites}),
    )
    return OdmFile(
        snapshot,
        tuple(sorted(users.items())),
        audit_count,
        people=tuple(people),
        file_oid=root.get("FileOID", ""),
        source_system=root.get("SourceSystem", ""),
        audit_trail=lambda: _audit_trail(path, logins),
    )


def _read_supply(path: Path, sites: set[str]) -> tuple[SupplySnapshot, ...]:
    """The study drug movements of ``ClinicalData``'s ``Annotations`` (``odm._supply``)."""
    moves: list[SupplySnapshot] = []
    for _, element in etree.iterparse(str(path), events=("end",), tag=f"{Q}Annotations"):
        for comment in element.iterfind(f"{Q}Annotation/{Q}Comment"):
            text = comment.text or ""
            if not text.startswith(SUPPLY_ANNOTATION):
                continue
            where = f"{path.name}: the drug supply annotation (line {comment.sourceline})"
            try:
                move = supply_from(json.loads(text[len(SUPPLY_ANNOTATION) :]))
            except (ValueError, KeyError, TypeError) as exc:
                raise OdmError(f"{where}: not a movement of the study drug ({exc}).") from None
            if move.site not in sites:
                raise OdmError(f"{where}: the site {move.site} has no Location in the file.")
            if move.kind not in ("shipment", "returned", "destroyed"):
                raise OdmError(f"{where}: {move.kind!r} is not a shipment, a return or a destruction.")
            moves.append(move)
        element.clear()
    return tuple(moves)


def _audit_trail(path: Path, logins: dict[str, str]) -> Iterator[OdmAuditRecord]:
    """The file's ``AuditRecord`` elements, one at a time, as the writer's ``OdmAuditRecord``."""
    for _, element in etree.iterparse(str(path), events=("end",), tag=f"{Q}AuditRecord"):
        identifier = element.get("ID") or ""
        user = element.find(f"{Q}UserRef").get("UserOID")
        location = element.find(f"{Q}LocationRef").get("LocationOID")
        sequence = identifier.removeprefix("AR.")
        yield OdmAuditRecord(
            sequence=int(sequence) if sequence.isdigit() else 0,
            user=logins.get(user, user.removeprefix("USR.")),
            site="" if location == STUDY_LOCATION else location.removeprefix("LOC."),
            at=dt.datetime.fromisoformat(element.findtext(f"{Q}DateTimeStamp")).astimezone(dt.UTC),
            reason=element.findtext(f"{Q}ReasonForChange") or "",
            source=element.findtext(f"{Q}SourceID") or "",
        )
        element.clear()


def _count_audit_records(path: Path) -> int:
    count = 0
    for _, element in etree.iterparse(str(path), events=("end",), tag=f"{Q}AuditRecord"):
        count += 1
        element.clear()
    return count


def _signature_of(element, scope: str, visit: str | None, users, meanings) -> SignatureSnapshot:
    return SignatureSnapshot(
        scope=scope,
        visit=visit,
        printed_name=users.get(element.find(f"{Q}UserRef").get("UserOID"), ""),
        meaning=meanings.get(element.find(f"{Q}SignatureRef").get("SignatureOID"), ""),
        signed_at=dt.datetime.fromisoformat(element.findtext(f"{Q}DateTimeStamp")).astimezone(dt.UTC),
        status="valid",
        content_sha256="",  # not carried by ODM: the signature is imported history
    )


def _subject(element, forms: dict[str, Any], users, meanings, name: str) -> SubjectSnapshot:
    key = element.get("SubjectKey")
    header: dict[str, Any] = {}
    decisions: tuple = ()
    holds: tuple = ()
    sae_reports: tuple = ()
    for comment in element.iterfind(f"{Q}Annotation/{Q}Comment"):
        if (comment.text or "").startswith(SUBJECT_ANNOTATION):
            header = json.loads(comment.text[len(SUBJECT_ANNOTATION) :])
        elif (comment.text or "").startswith(CARDIAC_ANNOTATION):
            try:
                decisions = cardiac_decisions_from(json.loads(comment.text[len(CARDIAC_ANNOTATION) :]))
            except (ValueError, KeyError, TypeError) as exc:
                raise OdmError(
                    f"{name}: subject {key}, the cardiac hold annotation (line {comment.sourceline}): "
                    f"not a decision on a cardiac hold ({exc})."
                ) from None
        elif (comment.text or "").startswith(HOLDS_ANNOTATION):
            try:
                holds = cardiac_holds_from(json.loads(comment.text[len(HOLDS_ANNOTATION) :]))
            except (ValueError, KeyError, TypeError) as exc:
                raise OdmError(
                    f"{name}: subject {key}, the cardiac holds annotation (line {comment.sourceline}): "
                    f"not a cardiac hold ({exc})."
                ) from None
        elif (comment.text or "").startswith(SAE_ANNOTATION):
            try:
                sae_reports = sae_reports_from(json.loads(comment.text[len(SAE_ANNOTATION) :]))
            except (ValueError, KeyError, TypeError) as exc:
                raise OdmError(
                    f"{name}: subject {key}, the SAE reports annotation (line {comment.sourceline}): "
                    f"not an SAE's reporting state ({exc})."
                ) from None
    site_ref = element.find(f"{Q}SiteRef")
    signatures = []
    signed = element.find(f"{Q}Signature")
    if signed is not None:
        signatures.append(_signature_of(signed, "subject", None, users, meanings))
    records = []
    for event in element.iterfind(f"{Q}StudyEventData"):
        event_code = event.get("StudyEventOID")[3:]
        visit = visit_of(None, event_code, event.get("StudyEventRepeatKey"))
        visit_signature = event.find(f"{Q}Signature")
        if visit_signature is not None and event_code != LOG_EVENT:
            signatures.append(_signature_of(visit_signature, "visit", visit, users, meanings))
        for form_data in event.iterfind(f"{Q}FormData"):
            code = form_data.get("FormOID")[2:]
            form = forms.get(code)
            where = f"{name}: subject {key}, {_where(form_data)}"
            if form is None:
                raise OdmError(f"{where}: no such form in the protocol.")
            data: dict[str, Any] = {}
            for item in form_data.iter(f"{Q}ItemData"):
                oid = item.get("ItemOID")
                prefix = f"I.{code}."
                field_code = oid[len(prefix) :] if oid.startswith(prefix) else None
                try:
                    field = form.field(field_code) if field_code else None
                except KeyError:
                    field = None
                if field is None:
                    raise OdmError(
                        f"{where}: item {oid} (line {item.sourceline}) is not a field of the form {code}."
                    )
                value = item.get("Value")
                if value is not None:
                    data[field.code] = parse_value(
                        field, value, f"{where}, item {oid} (line {item.sourceline})"
                    )
            records.append(
                RecordSnapshot(
                    form=code,
                    visit=visit,
                    repeat=int(form_data.get("FormRepeatKey") or 1),
                    data=data,
                    voided=form_data.get("TransactionType") == "Remove",
                )
            )
    visits = tuple(
        VisitSnapshot(
            code=v["code"],
            planned_date=parse_date(v.get("planned_date")),
            window_start=parse_date(v.get("window_start")),
            window_end=parse_date(v.get("window_end")),
            actual_date=parse_date(v.get("actual_date")),
        )
        for v in header.get("visits", [])
    )
    return SubjectSnapshot(
        screening_number=header.get("screening_number", key),
        subject_code=header.get("subject_code"),
        site=header.get("site") or (site_ref.get("LocationOID")[4:] if site_ref is not None else ""),
        status=header.get("status", ""),
        sex=header.get("sex", "U"),
        age=header.get("age"),
        year_of_birth=header.get("year_of_birth"),
        initials=header.get("initials", ""),
        screened_on=parse_date(header.get("screened_on")),
        consent_date=parse_date(header.get("consent_date")),
        enrolled_on=parse_date(header.get("enrolled_on")),
        first_dose_on=parse_date(header.get("first_dose_on")),
        screen_failure_criteria=tuple(header.get("screen_failure_criteria", ())),
        visits=visits,
        records=tuple(records),
        signatures=tuple(signatures),
        cardiac_decisions=decisions,
        cardiac_holds=holds,
        sae_reports=sae_reports,
    )
