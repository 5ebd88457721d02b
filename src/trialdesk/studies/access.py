"""Who may see and do what, at which sites: the one place where site scope is decided.

Every view, API route, export and search asks this module for the sites a user
sees (``visible_site_ids``) and filters through the ``for_user`` querysets built
on it; an object outside that scope is reported as not found (404), never as
forbidden, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.http import Http404

from trialdesk.studies.models import ALL_SITES_ROLES, Membership, Role, Site, Study


class Permission(StrEnum):
    VIEW_CLINICAL_DATA = "view_clinical_data"
    SCREEN = "screen"
    ENROLL = "enroll"
    ENTER_DATA = "enter_data"
    SIGN = "sign"
    ANSWER_QUERY = "answer_query"
    RAISE_QUERY = "raise_query"
    CLOSE_QUERY = "close_query"
    VERIFY_SOURCE = "verify_source"
    LOCK = "lock"
    VIEW_AUDIT = "view_audit"
    # the audit trail of one subject or one form record of the user's own sites (issue 15: site
    # staff read the history of their own data); the site-wide and study-wide trails need VIEW_AUDIT
    VIEW_RECORD_AUDIT = "view_record_audit"
    EXPORT = "export"
    MANAGE_USERS = "manage_users"
    # the study's operational status (recruiting, recruitment closed…)
    MANAGE_STUDY = "manage_study"
    # enrolling a patient past the enrollment target, after the site asked
    CONFIRM_ENROLLMENT = "confirm_enrollment"
    # treatment (issue 9): the computed dose validated as the prescription; a cardiac hold lifted
    VALIDATE_PRESCRIPTION = "validate_prescription"
    LIFT_CARDIAC_HOLD = "lift_cardiac_hold"
    # drug accountability at a site: shipments received, vials returned or destroyed; its verification
    MANAGE_DRUG_SUPPLY = "manage_drug_supply"
    VERIFY_DRUG_ACCOUNTABILITY = "verify_drug_accountability"
    # a computed protocol deviation acknowledged with a comment
    ACKNOWLEDGE_DEVIATION = "acknowledge_deviation"
    # the investigator's response kept against the derived one, with a justification (issue 10)
    CONFIRM_RESPONSE = "confirm_response"
    # safety data (adverse events, SAEs) of the sites in scope; SAE acknowledgement and expectedness
    VIEW_SAFETY_DATA = "view_safety_data"
    # the whole study's analysis (report, REST endpoints), for every site (may_read_analysis)
    READ_ANALYSIS = "read_analysis"
    ASSESS_SAE = "assess_sae"


R = Role
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    R.INVESTIGATOR: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.SCREEN,
            Permission.ENROLL,
            Permission.ENTER_DATA,
            Permission.SIGN,
            Permission.ANSWER_QUERY,
            Permission.VALIDATE_PRESCRIPTION,
            Permission.LIFT_CARDIAC_HOLD,
            Permission.MANAGE_DRUG_SUPPLY,
            Permission.CONFIRM_RESPONSE,
            Permission.VIEW_SAFETY_DATA,
            Permission.VIEW_RECORD_AUDIT,
            # DESIGN §1: an investigator exports their own sites (the REDCap API's records)
            Permission.EXPORT,
        }
    ),
    R.COORDINATOR: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.SCREEN,
            Permission.ENROLL,
            Permission.ENTER_DATA,
            Permission.ANSWER_QUERY,
            Permission.MANAGE_DRUG_SUPPLY,
            Permission.VIEW_SAFETY_DATA,
            Permission.VIEW_RECORD_AUDIT,
        }
    ),
    R.MONITOR: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.RAISE_QUERY,
            Permission.CLOSE_QUERY,
            Permission.VERIFY_SOURCE,
            Permission.VIEW_AUDIT,
            Permission.VERIFY_DRUG_ACCOUNTABILITY,
            Permission.ACKNOWLEDGE_DEVIATION,
            Permission.VIEW_SAFETY_DATA,
        }
    ),
    R.DATA_MANAGER: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.RAISE_QUERY,
            Permission.CLOSE_QUERY,
            Permission.LOCK,
            Permission.VIEW_AUDIT,
            Permission.EXPORT,
            Permission.CONFIRM_ENROLLMENT,
            Permission.ACKNOWLEDGE_DEVIATION,
            Permission.VIEW_SAFETY_DATA,
            Permission.READ_ANALYSIS,
        }
    ),
    # Read-only and pseudonymised: sees data and the trail, never identities.
    R.STATISTICIAN: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.VIEW_AUDIT,
            Permission.EXPORT,
            Permission.VIEW_SAFETY_DATA,
            Permission.READ_ANALYSIS,
        }
    ),
    R.SPONSOR_ADMIN: frozenset(
        {
            Permission.VIEW_CLINICAL_DATA,
            Permission.MANAGE_USERS,
            Permission.MANAGE_STUDY,
            Permission.VIEW_SAFETY_DATA,
            Permission.READ_ANALYSIS,
        }
    ),
    # Sponsor vigilance: every site's safety data, pseudonymised; acknowledges and assesses SAEs.
    R.SAFETY_OFFICER: frozenset({Permission.VIEW_SAFETY_DATA, Permission.ASSESS_SAE}),
}


@dataclass(frozen=True)
class StudyAccess:
    """What one user may do in one study, resolved once per request."""

    study_id: int
    roles_by_site: dict[int | None, frozenset[str]]  # None: every site
    all_site_ids: frozenset[int]

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for roles in self.roles_by_site.values() for role in roles)

    @property
    def site_ids(self) -> frozenset[int]:
        if None in self.roles_by_site:
            return self.all_site_ids
        return frozenset(site_id for site_id in self.roles_by_site if site_id in self.all_site_ids)

    def roles_at(self, site_id: int | None) -> frozenset[str]:
        roles = set(self.roles_by_site.get(None, frozenset()))
        if site_id is not None:
            roles |= self.roles_by_site.get(site_id, frozenset())
        return frozenset(roles)

    def can(self, permission: Permission, site_id: int | None = None) -> bool:
        """At a site (site_id given), or anywhere in the study (site_id None)."""
        if site_id is None:
            roles = self.roles
        else:
            if site_id not in self.site_ids:
                return False
            roles = self.roles_at(site_id)
        return any(permission in ROLE_PERMISSIONS.get(role, frozenset()) for role in roles)

    def role_for(self, permission: Permission, site_id: int | None = None) -> str:
        """The role an audit event records: the one that grants ``permission`` at this site.

        Where two roles grant it, the role held at the site wins over a study-wide one (an
        investigator at NTE who is also data manager enters NTE's data as investigator).
        "" if no role grants it (the caller has already refused the action then).
        """

        def granting(roles) -> list[str]:
            return sorted(role for role in roles if permission in ROLE_PERMISSIONS.get(role, frozenset()))

        if site_id is not None:
            at_site = granting(self.roles_by_site.get(site_id, frozenset()))
            if at_site:
                return at_site[0]
            study_wide = granting(self.roles_by_site.get(None, frozenset()))
            return study_wide[0] if study_wide and site_id in self.site_ids else ""
        candidates = granting(self.roles_by_site.get(None, frozenset())) or granting(self.roles)
        return candidates[0] if candidates else ""

    @property
    def pseudonymised(self) -> bool:
        """Statisticians and safety officers (who hold no other role) never see initials or
        birth years."""
        return bool(self.roles) and self.roles <= {Role.STATISTICIAN, Role.SAFETY_OFFICER}


NO_ACCESS = StudyAccess(study_id=0, roles_by_site={}, all_site_ids=frozenset())


def study_access(user, study: Study) -> StudyAccess:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_ACCESS
    cache = getattr(user, "_trialdesk_access", None)
    if cache is not None and cache.study_id == study.pk:
        return cache
    all_site_ids = frozenset(Site.objects.filter(study=study).values_list("pk", flat=True))
    roles_by_site: dict[int | None, set[str]] = {}
    for role, site_id in Membership.objects.filter(user=user, study=study, active=True).values_list(
        "role", "site_id"
    ):
        key = None if role in ALL_SITES_ROLES else site_id
        roles_by_site.setdefault(key, set()).add(role)
    access = StudyAccess(
        study_id=study.pk,
        roles_by_site={key: frozenset(roles) for key, roles in roles_by_site.items()},
        all_site_ids=all_site_ids,
    )
    user._trialdesk_access = access
    return access


def visible_site_ids(user, study: Study) -> frozenset[int]:
    return study_access(user, study).site_ids


def get_visible_or_404(queryset, user, study: Study, **lookup):
    """One object of a site-scoped model, or 404 if absent or outside the user's sites."""
    obj = queryset.for_user(user, study).filter(**lookup).first()
    if obj is None:
        raise Http404
    return obj


def require(access: StudyAccess, permission: Permission, site_id: int | None = None) -> None:
    """Refuse an action. Outside the user's sites it is 404 (no leak); inside, 403 without details."""
    from django.core.exceptions import PermissionDenied

    if site_id is not None and site_id not in access.site_ids:
        raise Http404
    if not access.can(permission, site_id):
        raise PermissionDenied


#: the roles that read the whole study's analysis (report, REST endpoints): those granted
#: READ_ANALYSIS; the safety officer reads its safety part
ANALYSIS_ROLES = frozenset(
    role.value for role, granted in ROLE_PERMISSIONS.items() if Permission.READ_ANALYSIS in granted
)
SAFETY_ROLES = ANALYSIS_ROLES | {Role.SAFETY_OFFICER.value}


def may_read_analysis(access: StudyAccess, *, safety_only: bool = False) -> bool:
    """Whether a user (their ``StudyAccess``) may read the analysis — its safety part alone with
    ``safety_only``: one of its roles, study-wide and for every site of the study (an analysis of
    a part of the sites would be another analysis)."""
    roles = SAFETY_ROLES if safety_only else ANALYSIS_ROLES
    return bool(access.roles_at(None) & roles) and access.site_ids == access.all_site_ids
