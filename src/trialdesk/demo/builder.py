"""Building the demonstration database: the protocol's study, its sites, the demo
users and a seeded simulated cohort, every write through the audited services."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.utils import timezone

from trialdesk.assessments.services import confirm_response, marrow_forms
from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited
from trialdesk.cardiac.services import active_hold, lift_hold
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.pharmacy.services import record_disposal, record_shipment
from trialdesk.simulate import simulate_cohort
from trialdesk.studies.models import OperationalStatus, Role, Site, Study
from trialdesk.studies.services import activate_site, change_status, create_user, grant_role, install_study
from trialdesk.subjects import services as subject_services
from trialdesk.subjects.models import SubjectStatus
from trialdesk.treatment.services import (
    DOSE_DATE,
    INFUSION_REACTION_TERM,
    WEIGHT_TODAY,
    infusion_form,
    validate_prescription,
)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    sites: str


# Realistic French names for the demo users (signatures print a name), one per login in order.
DEMO_NAMES = (
    ("Claire", "Moreau"),
    ("Julien", "Lefèvre"),
    ("Sophie", "Garnier"),
    ("Thomas", "Rousseau"),
    ("Isabelle", "Fontaine"),
    ("Nicolas", "Chevalier"),
    ("Camille", "Girard"),
    ("Antoine", "Mercier"),
    ("Élodie", "Bertrand"),
    ("Mathieu", "Lambert"),
    ("Nathalie", "Dubois"),
    ("Pierre", "Marchand"),
    ("Aurélie", "Robin"),
    ("François", "Perrin"),
    ("Hélène", "Caron"),
    ("Guillaume", "Noël"),
)


def demo_name(position: int) -> tuple[str, str]:
    first, last = DEMO_NAMES[position % len(DEMO_NAMES)]
    return first, last


def demo_password() -> str:
    return secrets.token_urlsafe(9)


def _demo_users(study: Study) -> list[tuple[str, str, list[Site] | None]]:
    sites = list(study.sites.order_by("code"))
    users: list[tuple[str, str, list[Site] | None]] = []
    for site in sites:
        users.append((f"investigator.{_login_name(site.city)}", Role.INVESTIGATOR, [site]))
    nantes = next((s for s in sites if s.code == "NTE"), sites[0])
    users += [
        (f"coordinator.{_login_name(nantes.city)}", Role.COORDINATOR, [nantes]),
        ("monitor", Role.MONITOR, None),
        ("datamanager", Role.DATA_MANAGER, None),
        ("statistician", Role.STATISTICIAN, None),
        ("sponsor", Role.SPONSOR_ADMIN, None),
        ("safety", Role.SAFETY_OFFICER, None),
    ]
    return users


def _login_name(city: str) -> str:
    """'Clermont-Ferrand' -> 'clermont-ferrand', 'Créteil' -> 'creteil', 'Paris' stays 'paris'."""
    import unicodedata

    ascii_city = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode()
    return ascii_city.strip().lower().replace(" ", "-")


def build_demo(protocol_path: Path, *, password: str, seed: int, today: dt.date | None = None) -> list[DemoLogin]:
    """The demo trial. ``today``: a trial in progress on that day (the simulated calendar
    shifted so that today falls in its last months; the protocol's dates unchanged);
    without it, the whole trial on the registry's calendar. Either way every write goes
    through the audited services at the true time of the build (nothing is backdated)."""
    system = Actor.system("demo")
    study = install_study(protocol_path, actor=system)
    protocol = study.protocol
    cohort = simulate_cohort(protocol, seed=seed, today=today)
    sites = {site.code: site for site in study.sites.all()}
    for code, activated_on in cohort.site_activation.items():
        activate_site(sites[code], activated_on, system)
    _open_recruitment(study, cohort, system)

    logins = []
    users_by_site = {}
    users_by_role: dict[str, list] = {}
    for position, (username, role, user_sites) in enumerate(_demo_users(study)):
        first_name, last_name = demo_name(position)
        # an address of the reserved .invalid domain: the demo prints its mail (SAE notifications) on the console
        email = f"{username}@demo.invalid"
        user = create_user(username, password, first_name=first_name, last_name=last_name, email=email, actor=system)
        users_by_role.setdefault(role, []).append(user)
        for site in user_sites or [None]:
            grant_role(user, study, role, site, system)
            if site is not None and role == Role.INVESTIGATOR:
                users_by_site[site.code] = user
        logins.append(DemoLogin(username, role, ", ".join(s.code for s in user_sites) if user_sites else "all"))

    _load_supply(sites, cohort, users_by_site)
    for simulated in cohort.subjects:
        _load_subject(study, sites[simulated.site_code], users_by_site[simulated.site_code], simulated, system)
    _close_recruitment(study, cohort, system)
    _acknowledge_first_sae(study)
    _write_monitoring_reports(study, cohort, sites, users_by_site, users_by_role, password)
    return logins


#: the demo monitor's signed reports: (days before the cohort's last visit, kind, summary, findings
#: as (category, severity, text), follow-ups as (text, days after the visit it is due)); the first
#: is the sponsor's site's, the second the site of the cohort's longest course. Typed in French, as
#: the French monitor of these French hospitals writes them (a report's free text is not translated).
MONITORING_REPORTS = (
    (
        28,
        "on_site",
        "Visite sur site de routine : classeur investigateur et registre des consentements revus ; "
        "comptabilité du médicament revue à la pharmacie.",
        (
            (
                "data_quality",
                "minor",
                "Deux traitements concomitants notés dans le dossier médical ne sont pas encore saisis "
                "dans le cahier d'observation.",
            ),
            (
                "drug_accountability",
                "minor",
                "Le relevé de température du réfrigérateur du médicament à l'étude n'a aucune lecture "
                "pendant deux jours ; aucune excursion de température n'a été signalée.",
            ),
        ),
        (
            (
                "Saisir les traitements concomitants manquants et classer la note de la pharmacie sur "
                "l'interruption du relevé de température.",
                30,
            ),
        ),
    ),
    (
        49,
        "remote",
        "Visite à distance : cahiers d'observation des patients du centre revus sur les dossiers "
        "médicaux numérisés.",
        (
            (
                "safety_reporting",
                "minor",
                "Un événement indésirable de grade 3 a été saisi onze jours après que le centre en a eu "
                "connaissance.",
            ),
        ),
        (
            (
                "Rappeler à l'équipe du centre de saisir sous une semaine les événements indésirables "
                "de grade 3 ou plus.",
                21,
            ),
        ),
    ),
)


def _write_monitoring_reports(study, cohort, sites, investigators, users_by_role, password: str) -> None:
    """The demo monitor's signed visit reports of the sponsor's site and of the site of the
    cohort's longest course, written through the monitoring services. Each visit is dated in
    the past of the simulated calendar (a clinical date, never after today at the site); the
    trail records the true time of the build."""
    from trialdesk.monitoring import services as monitoring

    monitors = users_by_role.get(Role.MONITOR) or []
    done = [v.actual_date for s in cohort.subjects for v in s.visits if v.actual_date is not None]
    if not monitors or not done or not cohort.subjects:
        return
    monitor, last = monitors[0], max(done)
    lead = study.protocol.sites[0].code
    longest = max(
        (s for s in cohort.subjects if s.site_code != lead), key=lambda s: len(s.records), default=None
    )
    staff = {code: [user] for code, user in investigators.items()}
    for user in users_by_role.get(Role.COORDINATOR) or []:
        for membership in user.memberships.filter(study=study, role=Role.COORDINATOR, site__isnull=False):
            staff.setdefault(membership.site.code, []).append(user)
    codes = [code for code in (lead, longest.site_code if longest else None) if code in sites]
    for code, (days_before, kind, summary, findings, follow_ups) in zip(
        codes, MONITORING_REPORTS, strict=False
    ):
        site = sites[code]
        visit_date = min(last - dt.timedelta(days=days_before), site.today() - dt.timedelta(days=1))
        people = staff.get(code) or []
        visit = monitoring.create_visit(
            monitor,
            site,
            visit_date=visit_date,
            kind=kind,
            summary=summary,
            attendees="\n".join(u.get_full_name() for u in [monitor, *people]),
        )
        for category, severity, text in findings:
            monitoring.add_finding(monitor, visit, category=category, severity=severity, text=text)
        responsible = people[-1].get_full_name() if people else monitor.get_full_name()
        for text, due_in in follow_ups:
            monitoring.add_follow_up(
                monitor,
                visit,
                text=text,
                responsible=responsible,
                due_on=visit_date + dt.timedelta(days=due_in),
            )
        monitoring.sign_visit(monitor, visit, password=password)
    if lead in sites:
        _visit_under_way(study, sites[lead], monitor, staff.get(lead) or [])


#: the summary of the visit the demo monitor is making today (typed in French, as above)
TODAYS_VISIT = (
    "Visite sur site en cours : consentement et éligibilité de chaque patient du centre, puis "
    "les perfusions, vérifiés sur le dossier médical."
)


def _visit_under_way(study, site, monitor, people) -> None:
    """Today's on-site visit of the sponsor's site, its report still a draft: the monitor has
    verified against source each patient's eligibility form and infusions (through the SDV
    service, at the true time of the build: within today's visit), so that their SDV progress,
    the SDV list and the draft's "what was verified" show work done."""
    from trialdesk.monitoring import services as monitoring
    from trialdesk.queries.services import verify_source

    protocol = study.protocol
    forms = {protocol.eligibility.form} | {ref.form for ref in protocol.concept("dose_date")}
    monitoring.create_visit(
        monitor,
        site,
        visit_date=site.today(),
        kind="on_site",
        summary=TODAYS_VISIT,
        attendees="\n".join(u.get_full_name() for u in [monitor, *people]),
    )
    records = (
        FormRecord.objects.system("the demo monitor's source verification")
        .filter(subject__site=site, form_code__in=sorted(forms), voided_at__isnull=True)
        .select_related("subject__study", "subject__site")
        .order_by("subject__screening_number", "pk")
    )
    for record in records:
        verify_source(monitor, record)


def _acknowledge_first_sae(study) -> None:
    """The safety officer has acknowledged the first SAE and assessed its expectedness as the
    reference safety information reads it (the others wait in the officer's list)."""
    from django.contrib.auth import get_user_model

    from trialdesk.safety import services as safety
    from trialdesk.safety.models import Expectedness

    officer = get_user_model().objects.filter(
        memberships__study=study, memberships__role=Role.SAFETY_OFFICER
    ).first()
    first = safety.first_unacknowledged(study)
    if officer is None or first is None:
        return
    report = safety.acknowledge(officer, first)
    suggested = safety.suggestion(report)
    if suggested is not None:
        verdict = Expectedness.EXPECTED if suggested.expected else Expectedness.UNEXPECTED
        safety.assess_expectedness(officer, report, verdict)


def _load_supply(sites, cohort, investigators) -> None:
    """The study drug each site received and destroyed, recorded by its investigator before
    its patients' infusions draw on it (the infusion save refuses an unknown lot)."""
    for shipment in cohort.shipments:
        record_shipment(
            investigators[shipment.site_code], sites[shipment.site_code], lot_number=shipment.lot,
            vials=shipment.vials, expires_on=shipment.expires_on, received_on=shipment.received_on,
        )
    for disposal in cohort.disposals:
        record_disposal(
            investigators[disposal.site_code], sites[disposal.site_code], lot_number=disposal.lot,
            kind=disposal.kind, vials=disposal.vials, on=disposal.on, reason=disposal.reason,
        )


def _open_recruitment(study, cohort, system: Actor) -> None:
    """The study recruits from its first site activation (or first screening)."""
    days = [*cohort.site_activation.values(), *(s.screened_on for s in cohort.subjects)]
    if days:
        change_status(study, OperationalStatus.RECRUITING, effective_on=min(days), reason=reasons.FIRST_SITE_OPEN(),
                      actor=system)


def _close_recruitment(study, cohort, system: Actor) -> None:
    """Recruitment closes the day after the last enrollment, when that day has come."""
    enrolled = [s.enrolled_on for s in cohort.subjects if s.eligible and s.enrolled_on is not None]
    if enrolled and (closed_on := max(enrolled) + dt.timedelta(days=1)) <= timezone.localdate():
        change_status(study, OperationalStatus.RECRUITMENT_CLOSED, effective_on=closed_on,
                      reason=reasons.LAST_PATIENT_ENROLLED(), actor=system)


def _load_subject(study, site, investigator, simulated, system: Actor) -> None:
    protocol = study.protocol
    with audited():
        subject = subject_services.register_screening(
            investigator,
            site,
            screened_on=simulated.screened_on,
            sex=simulated.sex,
            year_of_birth=simulated.year_of_birth,
            today=simulated.screened_on,
        )
        screening_visit = subject.visits.get()
        records = list(simulated.records)
        # Everything of the screening visit (screening form, baseline marrow, LVEF) comes first;
        # the verdict on the screening form then decides enrollment or screen failure.
        at_screening = [r for r in records if r.visit_code == screening_visit.code]
        at_screening.sort(key=lambda r: r.form_code != protocol.eligibility.form)
        for rec in at_screening:
            save_form(investigator, subject, rec.form_code, rec.data, visit=screening_visit)
        if not simulated.eligible or simulated.enrolled_on is None:
            _close_screen_failure(subject, investigator, simulated, records, screening_visit.code)
            return
        subject_services.enroll(
            investigator,
            subject,
            consent_date=simulated.consent_date,
            enrolled_on=simulated.enrolled_on,
            planned_first_dose_on=simulated.planned_first_dose_on or simulated.enrolled_on,
            today=simulated.enrolled_on,
        )
        # The course in the order it happened: each record, then its visit's actual date. The
        # first infusion re-plans the visits from its date, the end of treatment plans the
        # end-of-treatment and follow-up visits (the calendar's subscriber does both).
        done = {v.code: v for v in simulated.visits if v.actual_date is not None}
        dated: set[str] = {screening_visit.code}
        visits = {v.code: v for v in subject.visits.all()}  # read in the scope of the subject created here
        lifts = sorted(simulated.cardiac_lifts, key=lambda lift: lift[1])
        saved_early: set[int] = set()
        for rec in records:
            if rec.visit_code == screening_visit.code:
                continue
            lifts = _lift_cardiac_holds(investigator, subject, lifts, _record_day(protocol, rec))
            visit = visits.get(rec.visit_code) if rec.visit_code else None
            if id(rec) in saved_early:
                continue
            if rec.form_code == infusion_form(protocol):
                # the event of its infusion reaction first: the infusion's save links it, not doubles it
                for event in _reaction_events(protocol, records, rec):
                    save_form(investigator, subject, event.form_code, event.data, visit=None, repeat=None)
                    saved_early.add(id(event))
                _give_dose(investigator, subject, rec)
            else:
                save_form(investigator, subject, rec.form_code, rec.data, visit=visit, repeat=None)
            if visit is not None and visit.code not in dated:
                _record_actual_date(investigator, visit, done.get(visit.code))
                dated.add(visit.code)
        for code, happened in done.items():
            if code not in dated and code in visits:
                _record_actual_date(investigator, visits[code], happened)
        _lift_cardiac_holds(investigator, subject, lifts, None)
        for visit_code, justification in simulated.confirmed_responses:
            _confirm_response(investigator, subject, visits.get(visit_code), justification)
        final = {
            "died": SubjectStatus.DIED,
            "completed": SubjectStatus.COMPLETED,
            "withdrawn": SubjectStatus.WITHDRAWN,
        }.get(simulated.status)
        if final:
            subject.refresh_from_db()
            subject_services.set_status(subject, final, system)


def _confirm_response(investigator, subject, visit, justification: str) -> None:
    """The investigator stands by their assessment of a marrow against the derived response
    (the simulated "partial remission cytolytic response"), as they would on its page."""
    if visit is None:
        return
    forms = marrow_forms(subject.study.protocol)
    record = (
        FormRecord.objects.system("demo: the marrow its investigator confirms")
        .filter(subject=subject, visit=visit, form_code__in=sorted(forms))
        .first()
    )
    if record is not None:
        confirm_response(investigator, record, justification)


def _record_day(protocol, rec) -> dt.date | None:
    """The day a simulated record happened, by the date concept of its form."""
    field = protocol.date_concept_field(rec.form_code)
    value = rec.data.get(field) if field else None
    if isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value if isinstance(value, dt.date) else None


def _lift_cardiac_holds(investigator, subject, lifts: list, before: dt.date | None) -> list:
    """The investigator lifts, on its day, each simulated cardiac hold decided by ``before``
    (None: every one left), before what happened after it (the resumed infusion) is recorded.
    The hold itself was opened by the LVEF's save (trialdesk.cardiac). Returns those left."""
    left = []
    for visit_code, day, reason in lifts:
        if before is not None and day > before:
            left.append((visit_code, day, reason))
            continue
        hold = active_hold(subject)
        if hold is not None:
            hold.subject = subject
            lift_hold(investigator, hold, reason, on=day)
    return left


def _reaction_events(protocol, records, infusion) -> list:
    """The simulated adverse events that are this infusion's reaction (its CTCAE term, its day)."""
    on = protocol.read_concept(DOSE_DATE, infusion.form_code, infusion.data)
    if not protocol.has_concept("adverse_event_term"):
        return []
    form = protocol.concept_form("adverse_event_term")
    return [
        r
        for r in records
        if r.form_code == form
        and protocol.read_concept("adverse_event_term", form, r.data) == INFUSION_REACTION_TERM
        and str(protocol.read_concept("adverse_event_onset", form, r.data)) == str(on)
    ]


def _give_dose(investigator, subject, rec) -> None:
    """A simulated dose as the site records it: the investigator validates the dose the
    system computes (the simulator's came from the same function), then what was given is
    entered on the infusion it filled."""
    protocol = subject.study.protocol
    on = protocol.read_concept(DOSE_DATE, rec.form_code, rec.data)
    weight = protocol.read_concept(WEIGHT_TODAY, rec.form_code, rec.data)
    prescription = validate_prescription(investigator, subject, on=on, weight_kg=weight)
    infusion = prescription.record
    save_form(
        investigator, subject, rec.form_code, rec.data, repeat=infusion.repeat, expected_version=infusion.version
    )


def _record_actual_date(investigator, visit, simulated) -> None:
    """The day a visit took place; an event-driven visit (no plan) is planned on it too."""
    if simulated is None:
        return
    visit.refresh_from_db(fields=["planned_date", "actual_date"])
    if visit.planned_date is None:
        subject_services.record_visit_dates(
            investigator, visit, planned_date=simulated.planned_date, actual_date=simulated.actual_date
        )
    else:
        subject_services.record_visit_dates(investigator, visit, actual_date=simulated.actual_date)


def _close_screen_failure(subject, investigator, simulated, records, screening_code: str) -> None:
    """A screen failure's end of study (its visit and form), then the failure with the consent date."""
    for planned in simulated.visits:
        if planned.code == screening_code or planned.actual_date is None:
            continue
        visit = subject_services.open_visit(investigator, subject, planned.code, on=planned.actual_date)
        for rec in records:
            if rec.visit_code == planned.code:
                save_form(investigator, subject, rec.form_code, rec.data, visit=visit)
    subject_services.record_screen_failure(
        investigator,
        subject,
        as_of=simulated.screened_on,
        reason="" if simulated.failed_criteria else "Not enrolled",
        consent_date=simulated.consent_date,
    )
