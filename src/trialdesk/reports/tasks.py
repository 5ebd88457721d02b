"""The analysis report as a background job (a DSMB or a journal gets the files): the task the
report pages hand to ``trialdesk.jobs`` by its dotted path (``REPORT_TASK``). It runs in a
worker, as the user who asked (their scope and pseudonymisation), through the same
``analyse`` and ``write_report`` as ``trialdesk report``: report.html and report.pdf (and the
appendix of a large study) zipped under a temporary name in the job's folder, and recorded in
the audit trail as an export of the report with the SHA-256 of the zip."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.jobs.runner import JobFailed, JobOutput, Progress
from trialdesk.studies.access import Permission, may_read_analysis, study_access

REPORT_TASK = "trialdesk.reports.tasks.run_report_job"
REPORT_KIND, SAFETY_REPORT_KIND = "analysis-report", "safety-report"


def permission_for(safety_only: bool) -> Permission:
    """What the job's owner must still hold to download it."""
    return Permission.VIEW_SAFETY_DATA if safety_only else Permission.READ_ANALYSIS


def run_report_job(job, progress: Progress) -> JobOutput:
    from trialdesk.analysis import analyse
    from trialdesk.datacut import build_snapshot, trial_today
    from trialdesk.reports.analysis_report import write_report
    from trialdesk.snapshot.datacut import content_sha256

    study, viewer = job.study, job.user
    safety_only = job.kind == SAFETY_REPORT_KIND
    access = study_access(viewer, study)
    if not may_read_analysis(access, safety_only=safety_only):
        raise JobFailed(_("You may no longer read the analysis of this study."))
    raw_cutoff = job.parameters.get("cutoff")
    cutoff = dt.date.fromisoformat(raw_cutoff) if raw_cutoff else trial_today()
    snapshot = build_snapshot(study, viewer=viewer, cutoff=cutoff).materialise()
    subjects = sum(1 for _subject in snapshot.subjects())  # materialised: held in memory
    progress.total(subjects)
    analysis = analyse(snapshot, study.protocol, snapshot_sha256=content_sha256(snapshot))
    progress(subjects)
    name = f"{study.nct_id}_{cutoff.isoformat()}_{'safety_report' if safety_only else 'report'}"
    folder = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=progress.folder))
    try:
        written = write_report(analysis, study.protocol, folder, safety_only=safety_only)
        target = progress.folder / f"{name}.zip"
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=progress.folder
        )
        os.close(handle)
        try:
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                for file in written:
                    archive.write(file, f"{name}/{file.name}")
            digest = hashlib.sha256(Path(temporary).read_bytes()).hexdigest()
            with audited():
                os.replace(temporary, target)
                record(
                    Actor.for_user(viewer, access.role_for(permission_for(safety_only))),
                    "export",
                    study_id=study.pk,
                    object_type=f"report.{'safety' if safety_only else 'analysis'}",
                    object_label=target.name,
                    new_value={
                        "kind": job.kind,
                        "cutoff": cutoff.isoformat(),
                        "subjects": subjects,
                        "sha256": digest,
                        "snapshot_sha256": analysis.snapshot_sha256,
                        "pseudonymised": snapshot.pseudonymised,
                        "files": [file.name for file in written],
                    },
                )
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return JobOutput(path=target, name=target.name, content_type="application/zip")
