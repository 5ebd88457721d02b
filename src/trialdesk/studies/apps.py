from django.apps import AppConfig
from django.db.models.signals import post_migrate


def use_write_ahead_log(using: str = "default", **kwargs) -> None:
    """SQLite in WAL mode: readers never block the writer (several server workers), and a
    commit is one fsync of the log instead of the rollback journal's several. The mode is
    stored in the database file: set once, after migrating (an in-memory database keeps its own)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")


class StudiesConfig(AppConfig):
    name = "trialdesk.studies"
    label = "studies"

    def ready(self) -> None:
        post_migrate.connect(use_write_ahead_log, sender=self, dispatch_uid="trialdesk-sqlite-wal")
