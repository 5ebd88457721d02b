"""Running an export as a user: scope, pseudonymisation, audit, nothing written half.

    run_export(study, kind, out, viewer=None, cutoff=None, snapshot=None)  -> ExportResult
    export_role(user, study)                                                 # or ExportRefused

Kinds: ``odm`` (one CDISC ODM 1.3.2 file, ``trialdesk.exchange.odm``) and ``csv`` (a folder
of tidy CSV files with ``data_dictionary.csv``, ``trialdesk.exchange.tidy``).

Who may export (DESIGN §1): the roles granted ``Permission.EXPORT`` — the data manager and
the statistician (pseudonymised) for every site, an investigator for their own sites (the
site's archive copy). The data are read as that user may see them
(``trialdesk.datacut.build_snapshot``: their sites, masked for a pseudonymised viewer); the
operator (``viewer`` None) sees every site. A data-cut file (``snapshot`` given) is written
as it is: it was made for its own viewer.

The file (or folder) is written beside its destination under a temporary name, then moved
into place inside the audited transaction that records the export (who, when, the kind,
the cut-off, the subjects, the content's SHA-256): if either fails, neither remains.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from trialdesk.audit.services import Actor, audited, record
from trialdesk.audit_viewer.viewer import Masker, events_for, present
from trialdesk.datacut import build_snapshot
from trialdesk.exchange import ctgov_results, fhir
from trialdesk.exchange.odm import OdmAuditRecord, OdmUser, write_odm
from trialdesk.exchange.sdtm import export as sdtm
from trialdesk.exchange.tidy import write_tidy_csv
from trialdesk.snapshot.model import StudySnapshot
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Study


class ExportRefused(Exception):
    """The user may not export this study's data."""


@dataclass(frozen=True)
class ExportResult:
    kind: str
    path: Path
    sha256: str
    subjects: int
    records: int
    files: tuple[str, ...]
    pseudonymised: bool


def export_role(user, study: Study) -> str:
    """The role under which ``user`` exports ``study`` (ExportRefused if none lets them)."""
    access = study_access(user, study)
    if access.can(Permission.EXPORT) and access.site_ids:
        return access.role_for(Permission.EXPORT)
    raise ExportRefused(f"{user.get_username()} may not export the data of {study.nct_id}.")


def may_export(user, study: Study) -> bool:
    try:
        export_role(user, study)
    except ExportRefused:
        return False
    return True


def default_name(study: Study, kind: str, cutoff: dt.date | None) -> str:
    day = (cutoff or dt.date.today()).isoformat()
    return f"{study.nct_id}_{day}{EXPORT_KINDS[kind].suffix}"


def _audit_trail(study: Study, viewer) -> tuple[list[OdmUser], Callable[[], Iterator[OdmAuditRecord]]]:
    """The trail the viewer may read (the operator: all of it), for the ODM file."""
    from trialdesk.audit.models import AuditEvent

    if viewer is None:
        events = AuditEvent.objects.filter(study_id=study.pk)
        pseudonymised = False
    else:
        events = events_for(viewer, study)
        pseudonymised = study_access(viewer, study).pseudonymised
    events = events.order_by("sequence")
    # the system's own actors (no user) marked as such: an import creates only the people
    users = [
        OdmUser(name, system=user_id is None)
        for name, user_id in events.order_by().values_list("username", "user_id").distinct()
        if name
    ]
    masker = Masker(study, pseudonymised)

    def trail() -> Iterator[OdmAuditRecord]:
        for event in events.iterator(chunk_size=2000):
            row = present(event, masker)
            what = " ".join(
                part
                for part in (
                    row.action,
                    row.object_type,
                    row.object_label,
                    row.field,
                    f"{row.old_value} -> {row.new_value}" if (row.old_value or row.new_value) else "",
                )
                if part
            )
            yield OdmAuditRecord(
                sequence=row.sequence,
                user=row.username or "system",
                site=row.site_code,
                at=row.occurred_at,
                reason=row.reason,
                source=what,
            )

    return users, trail


def _temporary_beside(out: Path, *, folder: bool) -> Path:
    parent = out.parent if str(out.parent) else Path(".")
    if folder:
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=parent)
    os.close(handle)
    return Path(name)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Written:
    """What a kind's writer wrote under the temporary name."""

    sha256: str
    subjects: int
    records: int
    files: tuple[str, ...]  # for a folder: its files; for a file: empty


@dataclass(frozen=True)
class ExportKind:
    """One kind of export: ``folder`` (a folder of files) or one file, and its writer
    ``write(snapshot, protocol, temporary, source, progress) -> Written``, where ``source``
    is ``(study, viewer)`` for an export of the live database, None for a data-cut file."""

    name: str
    folder: bool
    write: Callable[..., Written]
    #: the end of its default name, after ``<NCT id>_<cut-off>``
    suffix: str = ""


def _write_odm(snapshot, protocol, temporary: Path, source, progress) -> Written:
    users, trail = _audit_trail(*source) if source is not None else ([], None)
    with temporary.open("wb") as handle:
        written = write_odm(snapshot, protocol, handle, audit_records=trail, users=users, progress=progress)
    return Written(written.sha256, written.subjects, written.records, ())


def _write_csv(snapshot, protocol, temporary: Path, source, progress) -> Written:
    tidy = write_tidy_csv(snapshot, protocol, temporary, progress=progress)
    return Written(tidy.sha256, tidy.subjects, tidy.rows, tuple(name for name, _ in tidy.files))


#: the kinds of ``trialdesk export KIND`` and of the exports page; a later export adds its
#: ExportKind here (and its name to ``trialdesk.cli.export.KINDS``)
EXPORT_KINDS: dict[str, ExportKind] = {
    "odm": ExportKind("odm", folder=False, write=_write_odm, suffix=".xml"),
    "csv": ExportKind("csv", folder=True, write=_write_csv, suffix="_csv"),
    "fhir": ExportKind("fhir", folder=False, write=fhir.export_file, suffix="_fhir.json"),
    "ctgov-results": ExportKind(
        "ctgov-results", folder=False, write=ctgov_results.export_file, suffix="_ctgov_results.json"
    ),
    "sdtm": ExportKind("sdtm", folder=True, write=sdtm.export_folder, suffix="_sdtm"),
}
KINDS = tuple(EXPORT_KINDS)


def run_export(
    study: Study,
    kind: str,
    out: Path | str,
    *,
    viewer=None,
    cutoff: dt.date | None = None,
    snapshot: StudySnapshot | None = None,
    datacut_sha256: str = "",
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the ``kind`` export of ``study`` as ``viewer`` may see it (None: the operator)
    to ``out`` (a file, or a folder — made, or an empty one — for a folder kind) and audit it."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    exporter = EXPORT_KINDS[kind]
    out = Path(out)
    if viewer is None:
        actor = Actor.system("export")
    else:
        actor = Actor.for_user(viewer, export_role(viewer, study))
    source = (study, viewer) if snapshot is None else None
    if snapshot is None:
        snapshot = build_snapshot(study, viewer=viewer, cutoff=cutoff)
    temporary = _temporary_beside(out, folder=exporter.folder)
    made_folder = exporter.folder and not out.exists()
    placed = False
    files: tuple[str, ...] = ()
    try:
        # written outside the transaction (it may take minutes; a job reports its progress
        # meanwhile); moved into place and recorded in one audited transaction
        written = exporter.write(snapshot, study.protocol, temporary, source, progress)
        with audited():
            files = written.files if exporter.folder else (out.name,)
            if exporter.folder and out.exists():
                for name in files:
                    os.replace(temporary / name, out / name)
                temporary.rmdir()
            else:
                os.replace(temporary, out)
            placed = True
            record(
                actor,
                "export",
                study_id=study.pk,
                object_type=f"export.{kind}",
                object_label=out.name,
                new_value={
                    "kind": kind,
                    "cutoff": snapshot.cutoff.isoformat() if snapshot.cutoff else None,
                    "datacut_sha256": datacut_sha256 or None,
                    "subjects": written.subjects,
                    "sha256": written.sha256,
                    "pseudonymised": snapshot.pseudonymised,
                    "sites": [site.code for site in snapshot.sites],
                    "files": list(files),
                },
            )
    except BaseException:
        _remove(temporary)
        if placed:
            if not exporter.folder:
                out.unlink(missing_ok=True)
            elif made_folder:
                shutil.rmtree(out, ignore_errors=True)
            else:
                for name in files:
                    (out / name).unlink(missing_ok=True)
        raise
    return ExportResult(
        kind, out, written.sha256, written.subjects, written.records, files, snapshot.pseudonymised
    )
