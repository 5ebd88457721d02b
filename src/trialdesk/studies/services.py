"""Setting up a study from its protocol file, and managing who works on it (audited)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model

from trialdesk.audit.services import Actor, audited, record
from trialdesk.protocol import load_protocol_text
from trialdesk.studies.models import Membership, Site, Study


def install_study(protocol_path: Path, actor: Actor | None = None) -> Study:
    """Create the study and its sites from a protocol file (validated first)."""
    text = Path(protocol_path).read_text(encoding="utf-8")
    protocol = load_protocol_text(text, str(protocol_path))
    actor = actor or Actor.system()
    ident = protocol.identification
    with audited():
        study = Study.objects.create(
            nct_id=ident.nct_id,
            title=ident.brief_title,
            protocol_yaml=text,
            protocol_sha256=Study.hash_protocol(text),
        )
        record(
            actor,
            "create",
            study_id=study.pk,
            object_type="study",
            object_id=study.pk,
            object_label=study.nct_id,
            new_value={"protocol_sha256": study.protocol_sha256},
        )
        for planned in protocol.sites:
            site = Site.objects.create(
                study=study,
                code=planned.code,
                name=planned.name,
                city=planned.city,
                postcode=planned.postcode or "",
                country=planned.country or "",
            )
            record(
                actor,
                "create",
                study_id=study.pk,
                site=site,
                object_type="site",
                object_id=site.pk,
                object_label=f"{site.code} {site.name}",
            )
    return study


def activate_site(site: Site, activated_on, actor: Actor) -> None:
    with audited():
        old = site.activated_on
        site.activated_on = activated_on
        site.save(update_fields=["activated_on"])
        record(
            actor,
            "change",
            study_id=site.study_id,
            site=site,
            object_type="site",
            object_id=site.pk,
            object_label=site.code,
            field="activated_on",
            old_value=old.isoformat() if old else None,
            new_value=activated_on.isoformat() if activated_on else None,
        )


def create_user(username: str, password: str, *, first_name: str = "", last_name: str = "", email: str = "", actor: Actor):
    User = get_user_model()
    with audited():
        user = User.objects.create_user(
            username=username, password=password, first_name=first_name, last_name=last_name, email=email
        )
        record(actor, "user_create", object_type="user", object_id=user.pk, object_label=username)
    return user


def grant_role(user, study: Study, role: str, site: Site | None, actor: Actor) -> Membership:
    with audited():
        membership = Membership.objects.create(user=user, study=study, role=role, site=site)
        record(
            actor,
            "role_grant",
            study_id=study.pk,
            site=site,
            object_type="membership",
            object_id=membership.pk,
            object_label=f"{user.get_username()} {role} @ {site.code if site else 'all sites'}",
            new_value=role,
        )
    return membership


def studies_of(user):
    """The studies in which the user holds an active role, oldest first."""
    return Study.objects.filter(memberships__user=user, memberships__active=True).distinct().order_by("pk")


def request_study(request) -> Study:
    """The study of a request to one of its pages (``trialdesk.web.study_path``), or 404."""
    study = getattr(request, "study", None)
    if study is None:
        from django.http import Http404

        raise Http404
    return study
