"""Background jobs: long exports run by a database-backed queue, with progress (issue 12)."""

import signal

from django.apps import AppConfig


def ignore_interrupts(**kwargs) -> None:
    """In each process of a worker that runs jobs: Ctrl+C in the worker's terminal reaches every
    process of its group; the worker's main process stops the cluster, which lets the running
    jobs finish, so those processes must not die of it mid-job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class JobsConfig(AppConfig):
    name = "trialdesk.jobs"
    label = "jobs"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        post_spawn.connect(ignore_interrupts, dispatch_uid="trialdesk.jobs.ignore_interrupts")
