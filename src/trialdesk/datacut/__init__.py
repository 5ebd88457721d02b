"""trialdesk.datacut — the StudySnapshot of the database (Django side) and data-cut files.

    build_snapshot(study, viewer=None, cutoff=None, chunk_size=500)   # see builder
    export_datacut(study, path, viewer=None, cutoff=None)              # the file, audited as an export
"""

from trialdesk.datacut.builder import build_snapshot, trial_today
from trialdesk.datacut.export import export_datacut

__all__ = ["build_snapshot", "export_datacut", "trial_today"]
