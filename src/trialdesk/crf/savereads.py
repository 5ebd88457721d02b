"""What one save reads of its subject's other records: read once, shared by the save's own
cross-record checks (the death rules) and by its subscribers (the course of disease).

Each reader declares, at start-up, the forms it reads when a form is saved
(``declare(reads)``, ``reads(protocol, form_code) -> form codes``). The save hands every
subscriber the same ``SaveReads`` (``FormSaved.reads``): the first ``records(forms)``
reads, in one query inside the save's transaction (the subject's row locked), the records
of every form declared for the saved form; later calls are answered from it.

It lives for one save only and cannot go stale within it: the record the save writes
replaces its old state (``wrote``); any other write of a form record in this thread (a
subscriber's nested save) makes the next ``records`` read again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from django.db import connection
from django.db.models.signals import post_save

from trialdesk.crf.models import FormRecord
from trialdesk.studies.scoping import prepared_rows

WHY = "what a save reads of its subject's records, after the save's permission check"

#: (protocol, saved form code) -> the form codes a reader reads at that save
Reads = Callable[[object, str], Iterable[str]]
_declared: list[Reads] = []


def declare(reads: Reads) -> None:
    """Declare the forms a reader reads when a form is saved (called in ``AppConfig.ready``)."""
    if reads not in _declared:
        _declared.append(reads)


class _Writes(threading.local):
    """Per thread (a connection, so a transaction): form records written so far."""

    count = 0


_writes = _Writes()


def _written(sender, **kwargs) -> None:
    _writes.count += 1


post_save.connect(_written, sender=FormRecord, dispatch_uid="trialdesk.crf.savereads.written", weak=False)


class SaveReads:
    """The records one save of ``form_code`` reads of ``subject``'s casebook (voided ones
    included: each reader leaves them out as its rule says), in the casebook's order (visit,
    form, repeat). ``subject`` is the row the save locked: the records get it as theirs."""

    def __init__(self, subject, form_code: str):
        self.subject = subject
        self.form_code = form_code
        self._records: dict[int, FormRecord] | None = None
        self._forms: frozenset[str] = frozenset()
        self._seen = -1

    def declared(self) -> set[str]:
        protocol = self.subject.study.protocol
        forms: set[str] = set()
        for reads in _declared:
            forms.update(reads(protocol, self.form_code))
        return forms

    def records(self, forms: Iterable[str]) -> list[FormRecord]:
        wanted = set(forms)
        if self._records is None or self._seen != _writes.count or not wanted <= self._forms:
            self._load(wanted | self.declared() | (self._forms if self._records is not None else set()))
        return [r for r in self._records.values() if r.form_code in wanted]

    def _load(self, forms: set[str]) -> None:
        rows = prepared_rows("crf.save_reads", _records_of, self.subject.pk, sorted(forms))
        self._records = {}
        for row in rows:
            row.subject = self.subject
            self._records[row.pk] = row
        self._forms = frozenset(forms)
        self._seen = _writes.count

    def wrote(self, record: FormRecord) -> None:
        """The save wrote ``record``: it stands as written (its other writes read again)."""
        if self._records is None:
            return
        if self._seen != _writes.count - 1:  # another record was written since the read
            self._records = None
            return
        self._seen = _writes.count
        if record.form_code not in self._forms:
            return
        new = record.pk not in self._records
        self._records[record.pk] = record
        if new:
            self._records = dict(sorted(self._records.items(), key=lambda item: _order(item[1])))


def _records_of(subject_id: int, forms: list[str]):
    return (
        FormRecord.objects.system(WHY)
        .filter(subject_id=subject_id, form_code__in=forms)
        .order_by("visit__sequence", "form_code", "repeat")
    )


def _order(record: FormRecord) -> tuple:
    """The casebook's order as the database gives it (a log entry has no visit: NULL, which
    sorts first on SQLite and last on PostgreSQL)."""
    if record.visit_id is None:
        place = (1, 0) if connection.features.nulls_order_largest else (-1, 0)
    else:
        place = (0, record.visit.sequence)
    return (place, record.form_code, record.repeat)
