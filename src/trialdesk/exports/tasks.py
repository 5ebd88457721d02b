"""An export as a background job: the task the exports page hands to ``trialdesk.jobs`` by its
dotted path (``EXPORT_TASK``). It runs in a worker, as the user who asked (their sites, masked
as they see the data), through the same ``run_export`` as the command and the page: written
under a temporary name in the job's folder, audited, moved into place; a folder kind (the tidy
CSV) is then zipped, under a temporary name too. The job's progress is the subjects written
over the subjects the user may see up to the cut-off."""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.exports.services import EXPORT_KINDS, ExportRefused, default_name, export_role, run_export
from trialdesk.jobs.runner import JobFailed, JobOutput, Progress
from trialdesk.subjects.models import Subject

EXPORT_TASK = "trialdesk.exports.tasks.run_export_job"
#: the name of each kind's job, as the user reads it (translated when shown); a kind not named
#: here is shown by its name in capitals (SDTM, FHIR)
KIND_TITLES = {
    "odm": gettext_noop("CDISC ODM 1.3.2 (XML)"),
    "csv": gettext_noop("Tidy CSV with its data dictionary (zip)"),
    "sdtm": gettext_noop("CDISC SDTM as Dataset-JSON and SAS XPORT (zip)"),
    "fhir": gettext_noop("HL7 FHIR R5 bundle (JSON)"),
    "ctgov-results": gettext_noop("ClinicalTrials.gov results section (JSON)"),
}
CONTENT_TYPES = {".xml": "application/xml", ".zip": "application/zip", ".json": "application/json"}


def kind_title(kind: str) -> str:
    return KIND_TITLES.get(kind, kind.upper())


def subjects_to_write(study, viewer, cutoff: dt.date | None) -> int:
    """How many subjects the export will hold: the viewer's, screened by the cut-off."""
    subjects = Subject.objects.for_user(viewer, study).filter(study=study)
    if cutoff is not None:
        subjects = subjects.filter(screened_on__lte=cutoff)
    return subjects.count()


def _zip(folder: Path, name: str, into: Path) -> Path:
    """The folder's files as ``into/name.zip`` (under ``name/``), written under a temporary name."""
    target = into / f"{name}.zip"
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=into)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.iterdir()):
                archive.write(file, f"{name}/{file.name}")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def run_export_job(job, progress: Progress) -> JobOutput:
    study, viewer, kind = job.study, job.user, job.kind
    if kind not in EXPORT_KINDS:
        raise JobFailed(_("This kind of export no longer exists: %(kind)s.") % {"kind": kind_title(kind)})
    try:
        export_role(viewer, study)
    except ExportRefused:
        raise JobFailed(_("You may no longer export the data of this study.")) from None
    raw_cutoff = job.parameters.get("cutoff")
    cutoff = dt.date.fromisoformat(raw_cutoff) if raw_cutoff else None
    progress.total(subjects_to_write(study, viewer, cutoff))
    name = default_name(study, kind, cutoff)
    result = run_export(study, kind, progress.folder / name, viewer=viewer, cutoff=cutoff, progress=progress)
    if EXPORT_KINDS[kind].folder:
        path = _zip(result.path, name, progress.folder)
        shutil.rmtree(result.path, ignore_errors=True)
    else:
        path = result.path
    content_type = (
        CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    )
    return JobOutput(path=path, name=path.name, content_type=content_type)
