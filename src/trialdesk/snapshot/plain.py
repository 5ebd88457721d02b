"""A snapshot's values as JSON values and back: the vocabulary of the data-cut file.

Dates are ISO dates (``2012-03-01``), times ISO 8601 in UTC with their offset
(``2012-03-01T09:30:00+00:00``), a record reference is ``{"form", "visit", "repeat"}``;
every field of the dataclasses is written, under its own name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from trialdesk.snapshot.model import (
    ConfirmationSnapshot,
    HoldDecisionSnapshot,
    HoldSnapshot,
    LockSnapshot,
    ProtocolIdentity,
    QuerySnapshot,
    RecordRef,
    RecordSnapshot,
    SaeReportSnapshot,
    SignatureSnapshot,
    SiteSnapshot,
    SubjectSnapshot,
    SupplySnapshot,
    VisitSnapshot,
)


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def time_text(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"a snapshot's times are aware (UTC), not {value!r}")
    return value.astimezone(dt.UTC).isoformat()


def parse_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value is not None else None


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC) if value is not None else None


# ---------------------------------------------------------------------------------- to JSON


def identity_plain(study: ProtocolIdentity) -> dict[str, Any]:
    return {
        "nct_id": study.nct_id,
        "protocol_sha256": study.protocol_sha256,
        "title": study.title,
        "version": study.version,
    }


def site_plain(site: SiteSnapshot) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "city": site.city,
        "country": site.country,
        "activated_on": date_text(site.activated_on),
        "locked_at": time_text(site.locked_at),
    }


def lock_plain(lock: LockSnapshot) -> dict[str, Any]:
    return {"level": lock.level, "target": lock.target, "locked_at": time_text(lock.locked_at)}


def ref_plain(ref: RecordRef) -> dict[str, Any]:
    return {"form": ref.form, "visit": ref.visit, "repeat": ref.repeat}


def subject_header_plain(subject: SubjectSnapshot) -> dict[str, Any]:
    """The subject's own data, not in its forms: who, where, their status, dates and visits
    (the data-cut file's subject without its records; the ODM export's subject annotation)."""
    return {
        "screening_number": subject.screening_number,
        "subject_code": subject.subject_code,
        "site": subject.site,
        "status": subject.status,
        "sex": subject.sex,
        "age": subject.age,
        "year_of_birth": subject.year_of_birth,
        "initials": subject.initials,
        "screened_on": date_text(subject.screened_on),
        "consent_date": date_text(subject.consent_date),
        "enrolled_on": date_text(subject.enrolled_on),
        "first_dose_on": date_text(subject.first_dose_on),
        "screen_failure_criteria": list(subject.screen_failure_criteria),
        "visits": [
            {
                "code": v.code,
                "planned_date": date_text(v.planned_date),
                "window_start": date_text(v.window_start),
                "window_end": date_text(v.window_end),
                "actual_date": date_text(v.actual_date),
            }
            for v in subject.visits
        ],
    }


def subject_plain(subject: SubjectSnapshot) -> dict[str, Any]:
    return {
        **subject_header_plain(subject),
        "records": [
            {
                "form": r.form,
                "visit": r.visit,
                "repeat": r.repeat,
                "status": r.status,
                "version": r.version,
                "voided": r.voided,
                "locked_at": time_text(r.locked_at),
                "data": r.data,
            }
            for r in subject.records
        ],
        "queries": [
            {
                "number": q.number,
                "record": ref_plain(q.record),
                "field": q.field,
                "status": q.status,
                "origin": q.origin,
                "check_code": q.check_code,
                "raised_at": time_text(q.raised_at),
                "answered_at": time_text(q.answered_at),
                "closed_at": time_text(q.closed_at),
            }
            for q in subject.queries
        ],
        "signatures": [
            {
                "scope": s.scope,
                "visit": s.visit,
                "printed_name": s.printed_name,
                "meaning": s.meaning,
                "signed_at": time_text(s.signed_at),
                "status": s.status,
                "content_sha256": s.content_sha256,
            }
            for s in subject.signatures
        ],
        "locks": [lock_plain(lock) for lock in subject.locks],
        "confirmations": [
            {"record": ref_plain(c.record), "category": c.category, "derived_category": c.derived_category}
            for c in subject.confirmations
        ],
        # absent when none: a data cut without it keeps the hash it had before the file carried it
        **(
            {"cardiac_decisions": cardiac_decisions_plain(subject.cardiac_decisions)}
            if subject.cardiac_decisions
            else {}
        ),
        **({"cardiac_holds": cardiac_holds_plain(subject.cardiac_holds)} if subject.cardiac_holds else {}),
        **({"sae_reports": sae_reports_plain(subject.sae_reports)} if subject.sae_reports else {}),
    }


def sae_reports_plain(reports) -> list[dict[str, Any]]:
    return [
        {
            "record": ref_plain(r.record),
            "reported_at": time_text(r.reported_at),
            "acknowledged_at": time_text(r.acknowledged_at),
            "acknowledged_by": r.acknowledged_by,
            "aware_on": date_text(r.aware_on),
            "expectedness": r.expectedness,
            "expectedness_comment": r.expectedness_comment,
            "assessed_at": time_text(r.assessed_at),
        }
        for r in reports
    ]


def sae_reports_from(plain) -> tuple[SaeReportSnapshot, ...]:
    """The inverse of ``sae_reports_plain`` (absent: none; KeyError, TypeError or ValueError for
    a bad value)."""
    return tuple(
        SaeReportSnapshot(
            record=ref_from(r["record"]),
            reported_at=parse_time(r["reported_at"]),
            acknowledged_at=parse_time(r["acknowledged_at"]) if r.get("acknowledged_at") else None,
            acknowledged_by=str(r.get("acknowledged_by", "")),
            aware_on=_optional_date(r.get("aware_on")),
            expectedness=str(r.get("expectedness", "")),
            expectedness_comment=str(r.get("expectedness_comment", "")),
            assessed_at=parse_time(r["assessed_at"]) if r.get("assessed_at") else None,
        )
        for r in plain or ()
    )


def cardiac_holds_plain(holds) -> list[dict[str, Any]]:
    return [
        {
            "record": ref_plain(h.record),
            "started_on": date_text(h.started_on),
            "criterion": h.criterion,
            "explanation": h.explanation,
            "baseline_pct": h.baseline_pct,
            "value_pct": h.value_pct,
            "drop_points": h.drop_points,
            "repeat_lvef_due_on": date_text(h.repeat_lvef_due_on),
            "status": h.status,
            "ended_on": date_text(h.ended_on),
            "reason": h.reason,
        }
        for h in holds
    ]


def _optional_date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if value is not None else None


def cardiac_holds_from(plain) -> tuple[HoldSnapshot, ...]:
    """The inverse of ``cardiac_holds_plain`` (absent: none; KeyError, TypeError or ValueError
    for a bad value)."""
    return tuple(
        HoldSnapshot(
            record=ref_from(h["record"]),
            started_on=dt.date.fromisoformat(h["started_on"]),
            criterion=str(h["criterion"]),
            explanation=str(h.get("explanation", "")),
            baseline_pct=float(h["baseline_pct"]),
            value_pct=float(h["value_pct"]),
            drop_points=float(h["drop_points"]),
            repeat_lvef_due_on=_optional_date(h.get("repeat_lvef_due_on")),
            status=str(h.get("status", "active")),
            ended_on=_optional_date(h.get("ended_on")),
            reason=str(h.get("reason", "")),
        )
        for h in plain or ()
    )


def cardiac_decisions_plain(decisions) -> list[dict[str, Any]]:
    return [
        {
            "record": ref_plain(d.record),
            "started_on": date_text(d.started_on),
            "status": d.status,
            "ended_on": date_text(d.ended_on),
            "reason": d.reason,
        }
        for d in decisions
    ]


def cardiac_decisions_from(plain) -> tuple[HoldDecisionSnapshot, ...]:
    """The inverse of ``cardiac_decisions_plain`` (KeyError, TypeError or ValueError for a bad value)."""
    return tuple(
        HoldDecisionSnapshot(
            record=ref_from(d["record"]),
            started_on=dt.date.fromisoformat(d["started_on"]),
            status=str(d["status"]),
            ended_on=dt.date.fromisoformat(d["ended_on"]),
            reason=str(d.get("reason", "")),
        )
        for d in plain or ()
    )


# -------------------------------------------------------------------------------- from JSON


def identity_from(plain: dict[str, Any]) -> ProtocolIdentity:
    return ProtocolIdentity(
        nct_id=plain["nct_id"],
        protocol_sha256=plain["protocol_sha256"],
        title=plain.get("title", ""),
        version=plain.get("version", ""),
    )


def site_from(plain: dict[str, Any]) -> SiteSnapshot:
    return SiteSnapshot(
        code=plain["code"],
        name=plain.get("name", ""),
        city=plain.get("city", ""),
        country=plain.get("country", ""),
        activated_on=parse_date(plain.get("activated_on")),
        locked_at=parse_time(plain.get("locked_at")),
    )


def lock_from(plain: dict[str, Any]) -> LockSnapshot:
    return LockSnapshot(
        level=plain["level"], target=plain["target"], locked_at=parse_time(plain["locked_at"])
    )


def ref_from(plain: dict[str, Any]) -> RecordRef:
    return RecordRef(form=plain["form"], visit=plain.get("visit"), repeat=plain["repeat"])


def subject_from(plain: dict[str, Any]) -> SubjectSnapshot:
    return SubjectSnapshot(
        screening_number=plain["screening_number"],
        subject_code=plain.get("subject_code"),
        site=plain["site"],
        status=plain["status"],
        sex=plain.get("sex", "U"),
        age=plain.get("age"),
        year_of_birth=plain.get("year_of_birth"),
        initials=plain.get("initials", ""),
        screened_on=parse_date(plain.get("screened_on")),
        consent_date=parse_date(plain.get("consent_date")),
        enrolled_on=parse_date(plain.get("enrolled_on")),
        first_dose_on=parse_date(plain.get("first_dose_on")),
        screen_failure_criteria=tuple(plain.get("screen_failure_criteria") or ()),
        visits=tuple(
            VisitSnapshot(
                code=v["code"],
                planned_date=parse_date(v.get("planned_date")),
                window_start=parse_date(v.get("window_start")),
                window_end=parse_date(v.get("window_end")),
                actual_date=parse_date(v.get("actual_date")),
            )
            for v in plain.get("visits", ())
        ),
        records=tuple(
            RecordSnapshot(
                form=r["form"],
                visit=r.get("visit"),
                repeat=r["repeat"],
                data=r.get("data") or {},
                status=r.get("status"),
                version=r.get("version"),
                voided=bool(r.get("voided", False)),
                locked_at=parse_time(r.get("locked_at")),
            )
            for r in plain.get("records", ())
        ),
        queries=tuple(
            QuerySnapshot(
                number=q["number"],
                record=ref_from(q["record"]),
                field=q["field"],
                status=q["status"],
                origin=q["origin"],
                check_code=q.get("check_code", ""),
                raised_at=parse_time(q.get("raised_at")),
                answered_at=parse_time(q.get("answered_at")),
                closed_at=parse_time(q.get("closed_at")),
            )
            for q in plain.get("queries", ())
        ),
        signatures=tuple(
            SignatureSnapshot(
                scope=s["scope"],
                visit=s.get("visit"),
                printed_name=s["printed_name"],
                meaning=s["meaning"],
                signed_at=parse_time(s["signed_at"]),
                status=s["status"],
                content_sha256=s["content_sha256"],
            )
            for s in plain.get("signatures", ())
        ),
        locks=tuple(lock_from(lock) for lock in plain.get("locks", ())),
        confirmations=tuple(
            ConfirmationSnapshot(ref_from(c["record"]), c["category"], c["derived_category"])
            for c in plain.get("confirmations", ())
        ),
        cardiac_decisions=cardiac_decisions_from(plain.get("cardiac_decisions")),
        cardiac_holds=cardiac_holds_from(plain.get("cardiac_holds")),
        sae_reports=sae_reports_from(plain.get("sae_reports")),
    )


def supply_plain(move: SupplySnapshot) -> dict[str, Any]:
    """A movement of the study drug as plain JSON values (the data-cut file, the ODM annotation)."""
    plain: dict[str, Any] = {
        "site": move.site,
        "kind": move.kind,
        "lot": move.lot,
        "vials": move.vials,
        "on": date_text(move.on),
    }
    if move.expires_on is not None:
        plain["expires_on"] = date_text(move.expires_on)
    if move.reason:
        plain["reason"] = move.reason
    return plain


def supply_from(plain: dict[str, Any]) -> SupplySnapshot:
    """The inverse of ``supply_plain`` (KeyError, TypeError or ValueError for a bad value)."""
    on = parse_date(plain["on"])
    if on is None:
        raise ValueError("no date")
    return SupplySnapshot(
        site=str(plain["site"]),
        kind=str(plain["kind"]),
        lot=str(plain["lot"]),
        vials=int(plain["vials"]),
        on=on,
        expires_on=parse_date(plain.get("expires_on")),
        reason=str(plain.get("reason", "")),
    )
