"""The infusion save draws on the site's stock: a ``FormSaved`` subscriber.

A dosing record (the form recording ``dose_lot``) that names a lot is refused, and nothing is
saved, when the lot was never received at the subject's site, was received after the dose,
is expired on the day of the dose, or has fewer vials left than the dose used. The message
goes on the lot field. A record without a lot draws on nothing.
"""

from __future__ import annotations

from trialdesk.clinical.accountability import dispensing_problem
from trialdesk.crf.events import FormSaved, RecordVoided, SaveRefusedBy
from trialdesk.pharmacy.accountability import as_date, dose_fields, site_balances
from trialdesk.pharmacy.services import problem_message
from trialdesk.studies.models import Site


def check_dispensing(event: FormSaved) -> None:
    if isinstance(event, RecordVoided):
        return  # a voided dose gives its vials back: nothing to refuse
    record = event.record
    subject = record.subject
    fields = dose_fields(subject.study.protocol)
    if fields is None or record.form_code != fields[0]:
        return
    _form, date_field, lot_field, vials_field = fields
    if not event.created and not {date_field, lot_field, vials_field} & set(event.changes):
        return  # a correction elsewhere in the record moves no vial
    data = record.data
    lot = data.get(lot_field)
    lot = lot.strip() if isinstance(lot, str) else ""
    if not lot:
        return
    vials = data.get(vials_field)
    on = as_date(data.get(date_field))
    if on is None:
        return  # the form engine requires the date; a record without it is not a dose yet
    # Queue on the site's row: two doses never both take the last vials of a lot.
    site = Site.objects.select_for_update().select_related("study").get(pk=subject.site_id)
    balances = site_balances(site, exclude_record_id=record.pk)
    problem = dispensing_problem(lot, on, vials if isinstance(vials, int) else 0, balances)
    if problem is None:
        return
    field = vials_field if problem.kind == "no_vials" else lot_field
    raise SaveRefusedBy(field, problem_message(problem))
