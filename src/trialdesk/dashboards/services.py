"""The dashboard of one viewer: the StudySnapshot they may see, its analysis, the charts' data.

Read with the viewer's scope and pseudonymisation (``datacut.build_snapshot(study,
viewer=user, cutoff=as_of)``), analysed by ``trialdesk.analysis``, gathered per chart by
``dashboards.data``. Cached by ``datacut.cache.cached_for_viewer`` (the analysis report's
cache too): per study, the viewer's scope — their sites and whether they are pseudonymised —,
the date, the audit chain's head and the site filter; every write to the trial moves the head,
so a cached dashboard is never older than the data; two viewers of the same scope share it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from trialdesk.analysis import analyse
from trialdesk.dashboards.data import Dashboard, dashboard_data
from trialdesk.datacut import build_snapshot, trial_today
from trialdesk.datacut.cache import CACHE_SECONDS, cached_for_viewer, viewer_analysis
from trialdesk.snapshot.model import held
from trialdesk.studies.access import Permission, StudyAccess, study_access

__all__ = ["CACHE_SECONDS", "NotVisible", "dashboard", "default_as_of", "may_view"]


class NotVisible(LookupError):
    """Nothing the viewer may see (the view answers 404)."""


def may_view(access: StudyAccess) -> bool:
    """The roles that see the study's clinical data: each sees their own sites."""
    return bool(access.site_ids) and access.can(Permission.VIEW_CLINICAL_DATA)


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

    def compute() -> Dashboard:
        whole_study = site_code is None and set(access.site_ids) == set(access.all_site_ids)
        if site_code is None:
            # the viewer's analysis, shared with the report pages (one cache entry of the same key)
            found, _key = viewer_analysis(study, user, cutoff=as_of, access=access)
            return dashboard_data(found.analysis, found.sites, study.protocol, whole_study=whole_study)
        snapshot = build_snapshot(study, viewer=user, cutoff=as_of).materialise()
        subjects = [s for s in snapshot.subjects() if s.site == site_code]
        snapshot = replace(
            snapshot,
            sites=tuple(s for s in snapshot.sites if s.code == site_code),
            subject_source=held(subjects),
        )
        analysis = analyse(snapshot, study.protocol)
        return dashboard_data(analysis, snapshot.sites, study.protocol, whole_study=whole_study)

    return cached_for_viewer(
        "dashboards", study, user, cutoff=as_of, compute=compute, extra=site_code or "", access=access
    )
