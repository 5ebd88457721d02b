"""Building the demonstration database: the protocol's study, its sites, the demo
users and a seeded simulated cohort, every write through the audited services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from trialdesk.audit.services import Actor, audited
from trialdesk.crf.services import save_form
from trialdesk.simulate import simulate_cohort
from trialdesk.studies.models import Role, Site, Study
from trialdesk.studies.services import activate_site, create_user, grant_role, install_study
from trialdesk.subjects import services as subject_services
from trialdesk.subjects.models import SubjectStatus


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    sites: str


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
    ]
    return users


def _login_name(city: str) -> str:
    """'Clermont-Ferrand' -> 'clermont-ferrand', 'Créteil' -> 'creteil', 'Paris' stays 'paris'."""
    import unicodedata

    ascii_city = unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode()
    return ascii_city.strip().lower().replace(" ", "-")


def build_demo(protocol_path: Path, *, password: str, seed: int) -> list[DemoLogin]:
    system = Actor.system("demo")
    study = install_study(protocol_path, actor=system)
    protocol = study.protocol
    cohort = simulate_cohort(protocol, seed=seed)
    sites = {site.code: site for site in study.sites.all()}
    for code, activated_on in cohort.site_activation.items():
        activate_site(sites[code], activated_on, system)

    logins = []
    users_by_site = {}
    for username, role, user_sites in _demo_users(study):
        user = create_user(username, password, first_name=username.split(".")[0].title(), actor=system)
        for site in user_sites or [None]:
            grant_role(user, study, role, site, system)
            if site is not None and role == Role.INVESTIGATOR:
                users_by_site[site.code] = user
        logins.append(DemoLogin(username, role, ", ".join(s.code for s in user_sites) if user_sites else "all"))

    for simulated in cohort.subjects:
        _load_subject(study, sites[simulated.site_code], users_by_site[simulated.site_code], simulated, system)
    return logins


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
            subject_services.record_screen_failure(
                investigator, subject, as_of=simulated.screened_on, reason="" if simulated.failed_criteria else "Not enrolled"
            )
            return
        subject_services.enroll(
            investigator,
            subject,
            consent_date=simulated.consent_date,
            enrolled_on=simulated.enrolled_on,
            today=simulated.enrolled_on,
        )
        visits = {v.code: v for v in subject.visits.all()}  # read in the scope of the subject created here
        for planned in simulated.visits:
            if planned.code in visits:
                subject_services.record_visit_dates(
                    investigator, visits[planned.code], planned_date=planned.planned_date, actual_date=planned.actual_date
                )
        for rec in records:
            if rec.visit_code == screening_visit.code:
                continue
            save_form(
                investigator,
                subject,
                rec.form_code,
                rec.data,
                visit=visits.get(rec.visit_code) if rec.visit_code else None,
                repeat=None,
            )
        final = {
            "died": SubjectStatus.DIED,
            "completed": SubjectStatus.COMPLETED,
            "withdrawn": SubjectStatus.WITHDRAWN,
        }.get(simulated.status)
        if final:
            subject.refresh_from_db()
            subject_services.set_status(subject, final, system)

