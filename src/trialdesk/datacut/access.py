"""Who may read the whole study's analysis (the report, the REST API's endpoints, the
registry-results export): one rule, below every layer that shows the analysis."""

from __future__ import annotations

ANALYSIS_ROLES = frozenset({"statistician", "sponsor_admin", "data_manager"})
SAFETY_ROLES = ANALYSIS_ROLES | {"safety_officer"}


def may_read_analysis(access, *, safety_only: bool = False) -> bool:
    """Whether a user (their ``StudyAccess``) may read the analysis — the safety part alone
    with ``safety_only``: one of its roles, for every site of the study (an analysis of a
    part of the sites would be another analysis)."""
    roles = SAFETY_ROLES if safety_only else ANALYSIS_ROLES
    return bool(access.roles_at(None) & roles) and access.site_ids == access.all_site_ids
