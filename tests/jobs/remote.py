"""Ask for a job in the database of a demo folder (the one the worker subprocesses use), as
the exports page does: ``python -m tests.jobs.remote ask USERNAME KIND`` prints the job's id."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    from trialdesk.cli.app import setup_django

    setup_django()
    from django.contrib.auth import get_user_model

    from trialdesk.exports.tasks import EXPORT_TASK, kind_title
    from trialdesk.jobs.services import submit
    from trialdesk.studies.models import Study

    if argv[0] == "ask":
        username, kind = argv[1:3]
        user = get_user_model().objects.get(username=username)
        job = submit(
            user, Study.objects.get(), kind, {}, task=EXPORT_TASK, title=kind_title(kind), permission="export"
        )
        print(job.pk)
        return 0
    raise SystemExit(f"unknown command {argv[0]!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
