"""A data cut written to a file and audited as an export, in one go."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trialdesk.audit.services import Actor, audited, record
from trialdesk.datacut.builder import build_snapshot
from trialdesk.snapshot.datacut import WriteResult, write_datacut
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Study


def export_datacut(
    study: Study, path: Path | str, *, viewer=None, cutoff: dt.date | None = None, chunk_size: int = 500
) -> WriteResult:
    """Write the data cut of ``study`` for ``viewer`` (None: the operator) to ``path`` and
    record the export in the audit trail (the cut-off, the subjects written, the file's hash).
    The file appears at ``path`` only complete; if the trail cannot be written, it is removed."""
    path = Path(path)
    if viewer is None:
        actor = Actor.system("datacut")
    else:
        actor = Actor.for_user(viewer, study_access(viewer, study).role_for(Permission.EXPORT))
    snapshot = build_snapshot(study, viewer=viewer, cutoff=cutoff, chunk_size=chunk_size)
    written = False
    try:
        with audited():
            result = write_datacut(snapshot, path)
            written = True
            record(
                actor,
                "export",
                study_id=study.pk,
                object_type="datacut",
                object_label=path.name,
                new_value={
                    "cutoff": cutoff.isoformat() if cutoff else None,
                    "subjects": result.subjects,
                    "sha256": result.sha256,
                    "pseudonymised": snapshot.pseudonymised,
                    "file": path.name,
                },
            )
    except BaseException:
        if written:
            path.unlink(missing_ok=True)
        raise
    return result
