"""trialdesk.snapshot — the StudySnapshot and the data-cut file (pure core, never imports Django).

    snapshot.subjects()            # an iterator of SubjectSnapshot (streams: call again to re-read)
    write_datacut(snapshot, path)  # the JSON file with its sha256, written streaming
    read_datacut(path)             # a StudySnapshot read back (hash verified), subjects streamed

Built from the database by ``trialdesk.datacut.build_snapshot``, from the simulator by
``trialdesk.snapshot.from_simulation.snapshot_from_simulation``.
"""

from trialdesk.snapshot.datacut import DataCutError, read_datacut, verify_datacut, write_datacut
from trialdesk.snapshot.model import (
    ConfirmationSnapshot,
    LockSnapshot,
    ProtocolIdentity,
    QuerySnapshot,
    RecordRef,
    RecordSnapshot,
    SignatureSnapshot,
    SiteSnapshot,
    StudySnapshot,
    SubjectSnapshot,
    SupplySnapshot,
    VisitSnapshot,
)

__all__ = [
    "ConfirmationSnapshot",
    "DataCutError",
    "LockSnapshot",
    "ProtocolIdentity",
    "QuerySnapshot",
    "RecordRef",
    "RecordSnapshot",
    "SignatureSnapshot",
    "SiteSnapshot",
    "StudySnapshot",
    "SubjectSnapshot",
    "SupplySnapshot",
    "VisitSnapshot",
    "read_datacut",
    "verify_datacut",
    "write_datacut",
]
