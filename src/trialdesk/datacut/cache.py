"""One viewer's analysis — or what a page derives from it — kept until the trial's data change.

Key: the study, the viewer's scope (their sites and whether they are pseudonymised: what
``build_snapshot(study, viewer=user)`` lets them see), the cut-off date, the audit chain's head
(its last sequence and the MAC of its last event), and what the page adds (``kind`` and
``extra``: the dashboards' site filter). Every write to the trial is audited and moves the
head, so an entry is never older than the data; a sequence number reused after a rolled-back
write has another MAC. The head is read *before* the data, so a write landing while they are
read can only make the entry newer than its key says, never older. Two viewers of the same
scope share an entry; viewers of different scopes never do, and a value that says it is (not)
pseudonymised (``.pseudonymised``) is only given to a viewer who is (not). The cache is
Django's (per process by default, any configured backend otherwise).

    value, key = cached_for_viewer("dashboards", study, user, cutoff=day, compute=lambda: ...)
    found, key = viewer_analysis(study, user, cutoff=day)   # found.analysis, found.sites: cached
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache

from trialdesk.audit.models import AuditChainHead
from trialdesk.studies.access import StudyAccess, study_access

T = TypeVar("T")

CACHE_SECONDS = 15 * 60
CACHE_VERSION = "viewer-1"


def audit_head() -> str:
    """The audit chain's head: its last sequence and the MAC of its last event."""
    head = AuditChainHead.objects.filter(pk=1).values_list("last_sequence", "last_mac").first()
    return "0" if head is None else f"{head[0]}:{head[1]}"


def scope_key(access: StudyAccess) -> str:
    """What decides what a viewer's snapshot holds: their sites and their pseudonymisation."""
    sites = ",".join(str(pk) for pk in sorted(access.site_ids))
    return f"{sites}|{int(access.pseudonymised)}"


def cache_key(
    kind: str, study, access: StudyAccess, cutoff: dt.date | None, head: str, extra: str = ""
) -> str:
    day = cutoff.isoformat() if cutoff is not None else "-"
    raw = f"{CACHE_VERSION}|{kind}|{study.pk}|{scope_key(access)}|{day}|{head}|{extra}"
    return f"datacut:{kind}:" + hashlib.sha256(raw.encode()).hexdigest()


def cached_for_viewer(
    kind: str,
    study,
    viewer,
    *,
    cutoff: dt.date | None,
    compute: Callable[[], T],
    extra: str = "",
    access: StudyAccess | None = None,
) -> tuple[T, str]:
    """``compute()`` for ``viewer`` of ``study`` at ``cutoff``, or the value kept from an earlier
    call of the same scope since the last write; with the key it is kept under (which pages use
    to name what derives from it: an image, its language)."""
    access = access or study_access(viewer, study)
    key = cache_key(kind, study, access, cutoff, audit_head(), extra)
    found = cache.get(key)
    if found is not None and getattr(found, "pseudonymised", access.pseudonymised) == access.pseudonymised:
        return found, key
    value = compute()
    if getattr(value, "pseudonymised", access.pseudonymised) != access.pseudonymised:
        raise RuntimeError(f"{kind}: computed for another pseudonymisation than the viewer's")
    cache.set(key, value, CACHE_SECONDS)
    return value, key


@dataclass(frozen=True)
class ViewerAnalysis:
    """The analysis of one viewer's snapshot, and the sites that snapshot holds."""

    analysis: Any  # trialdesk.analysis.endpoints.Analysis
    sites: tuple  # the snapshot's SiteSnapshot, the viewer's sites

    @property
    def pseudonymised(self) -> bool:
        return self.analysis.pseudonymised


def viewer_analysis(
    study, viewer, *, cutoff: dt.date | None, access: StudyAccess | None = None
) -> tuple[ViewerAnalysis, str]:
    """The analysis of every endpoint on ``viewer``'s snapshot at ``cutoff`` (with the snapshot's
    content SHA-256), cached as ``cached_for_viewer`` says — one entry for the analysis report,
    the safety report and the dashboards of the same scope —; and its key."""

    def compute() -> ViewerAnalysis:
        from trialdesk.analysis import analyse
        from trialdesk.datacut.builder import build_snapshot
        from trialdesk.snapshot.datacut import content_sha256

        snapshot = build_snapshot(study, viewer=viewer, cutoff=cutoff).materialise()
        analysis = analyse(snapshot, study.protocol, snapshot_sha256=content_sha256(snapshot))
        return ViewerAnalysis(analysis, tuple(snapshot.sites))

    return cached_for_viewer("analysis", study, viewer, cutoff=cutoff, compute=compute, access=access)
