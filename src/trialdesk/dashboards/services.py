"""The dashboard of one viewer: the StudySnapshot they may see, its analysis, the charts' data.

Read with the viewer's scope and pseudonymisation (``datacut.build_snapshot(study,
viewer=user, cutoff=as_of)``), analysed by ``trialdesk.analysis``, gathered per chart by
``dashboards.data``. Cached per (study, the viewer's scope — their sites and whether they
are pseudonymised —, the audit chain's head (its last sequence and MAC), the date, the site
filter): every write to the trial moves the head, so a cached dashboard is never older than
the data (and a sequence number reused after a rolled-back write has another MAC);
two viewers of the same scope share it. The cache is Django's (per process by default).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from django.core.cache import cache

from trialdesk.analysis import analyse
from trialdesk.audit.models import AuditChainHead
from trialdesk.dashboards.data import Dashboard, dashboard_data
from trialdesk.datacut import build_snapshot, trial_today
from trialdesk.snapshot.model import held
from trialdesk.studies.access import Permission, StudyAccess, study_access

CACHE_SECONDS = 15 * 60
CACHE_VERSION = "dashboards-1"


class NotVisible(LookupError):
    """Nothing the viewer may see (the view answers 404)."""


def may_view(access: StudyAccess) -> bool:
    """The roles that see the study's clinical data: each sees their own sites."""
    return bool(access.site_ids) and access.can(Permission.VIEW_CLINICAL_DATA)


def audit_head() -> str:
    """The audit chain's head: its last sequence and the MAC of its last event."""
    head = AuditChainHead.objects.filter(pk=1).values_list("last_sequence", "last_mac").first()
    return "0" if head is None else f"{head[0]}:{head[1]}"


def scope_key(access: StudyAccess, site_code: str | None) -> str:
    sites = ",".join(str(pk) for pk in sorted(access.site_ids))
    return f"{sites}|{int(access.pseudonymised)}|{site_code or ''}"


def cache_key(study, access: StudyAccess, site_code: str | None, as_of: dt.date, head: str) -> str:
    raw = f"{CACHE_VERSION}|{study.pk}|{scope_key(access, site_code)}|{as_of.isoformat()}|{head}"
    return "dashboards:" + hashlib.sha256(raw.encode()).hexdigest()


def default_as_of() -> dt.date:
    return trial_today()


def dashboard(
    user, study, *, site_code: str | None = None, as_of: dt.date | None = None
) -> tuple[Dashboard, str]:
    """The dashboard of ``user`` (their sites, or one of them), with the cache key it is kept under.

    Raises ``NotVisible`` when the user may not see a dashboard of the study, or ``site_code``
    is not one of their sites."""
    access = study_access(user, study)
    if not may_view(access):
        raise NotVisible
    site_codes = dict(study.sites.filter(pk__in=access.site_ids).values_list("code", "pk"))
    if site_code is not None and site_code not in site_codes:
        raise NotVisible(site_code)
    as_of = as_of or default_as_of()
    key = cache_key(study, access, site_code, as_of, audit_head())
    found = cache.get(key)
    if found is not None:
        return found, key
    snapshot = build_snapshot(study, viewer=user, cutoff=as_of).materialise()
    whole_study = site_code is None and set(access.site_ids) == set(access.all_site_ids)
    if site_code is not None:
        subjects = [s for s in snapshot.subjects() if s.site == site_code]
        snapshot = replace(
            snapshot,
            sites=tuple(s for s in snapshot.sites if s.code == site_code),
            subject_source=held(subjects),
        )
    analysis = analyse(snapshot, study.protocol)
    result = dashboard_data(analysis, snapshot.sites, study.protocol, whole_study=whole_study)
    cache.set(key, result, CACHE_SECONDS)
    return result, key
