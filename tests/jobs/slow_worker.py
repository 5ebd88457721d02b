"""`trialdesk worker` whose exports take their time: each subject written waits SECONDS first.

    python -m tests.jobs.slow_worker SECONDS [worker options]

For the tests that must catch a job mid-way (a worker killed during an export, the progress
seen in Chromium): the demo's two dozen subjects are written in a fraction of a second
otherwise. Everything else is the real command: the queue, the runner, the export.
"""

from __future__ import annotations

import sys
import time

import trialdesk.exchange.odm as odm
import trialdesk.exchange.tidy as tidy


def _slowed(write, seconds: float):
    def slowed(*args, progress=None, **kwargs):
        def report(subjects: int) -> None:
            time.sleep(seconds)
            if progress is not None:
                progress(subjects)

        return write(*args, progress=report, **kwargs)

    return slowed


if __name__ == "__main__":
    delay = float(sys.argv[1])
    # before trialdesk.exports.services imports them, so that it holds the slowed writers
    odm.write_odm = _slowed(odm.write_odm, delay)
    tidy.write_tidy_csv = _slowed(tidy.write_tidy_csv, delay)
    from trialdesk.cli import main

    sys.exit(main(["worker", *sys.argv[2:]]))
