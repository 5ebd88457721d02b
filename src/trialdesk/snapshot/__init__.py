"""trialdesk.snapshot — the StudySnapshot and the data-cut file (pure core, never imports Django).

    snapshot.subjects()            # an iterator of SubjectSnapshot (streams: call again to re-read)
    write_datacut(snapshot, path)  # the JSON file with its sha256, written streaming
    read_datacut(path)             # a StudySnapshot read back (hash verified), subjects streamed
    load_datacut(path)             # the same, verified and held in memory in one reading (.snapshot, .sha256)

Built from the database by ``trialdesk.datacut.build_snapshot``, from the simulator by
``trialdesk.snapshot.from_simulation.snapshot_from_simulation``.
"""

from trialdesk.snapshot.datacut import (
    DataCut,
    DataCutError,
    load_datacut,
    read_datacut,
    verify_datacut,
    write_datacut,
)
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
    "DataCut",
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
    "load_datacut",
    "read_datacut",
    "verify_datacut",
    "write_datacut",
]
