"""A subject's casebook: the visit × form status grid and the log forms."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from trialdesk.crf.display import display_value, field_label, summary_columns
from trialdesk.crf.models import FormRecord
from trialdesk.crf.rendering import localised
from trialdesk.studies.access import Permission, get_visible_or_404, study_access
from trialdesk.studies.services import request_study
from trialdesk.subjects.casebook_header import facts_for, timeline_for
from trialdesk.subjects.casebook_sections import CasebookContext, sections_for
from trialdesk.subjects.models import OFF_STUDY, Subject


@login_required
def casebook(request, subject_id: int):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    protocol = study.protocol
    planned_forms = {v.code: v.forms for v in protocol.schedule.expanded_visits()}
    visit_forms = _ordered_visit_forms(protocol)
    records = list(
        FormRecord.objects.for_user(request.user, study).filter(subject=subject).select_related("visit")
    )
    by_visit = {(r.visit.code, r.form_code): r for r in records if r.visit_id}
    rows = []
    for visit in subject.visits.all():
        cells = []
        for form_code in visit_forms:
            if form_code not in planned_forms.get(visit.code, ()):
                cells.append({"applies": False})
            else:
                cells.append(
                    {"applies": True, "form_code": form_code, "record": by_visit.get((visit.code, form_code))}
                )
        rows.append({"visit": visit, "cells": cells})
    logs = []
    for form_code in protocol.schedule.log_forms:
        form = protocol.form(form_code)
        entries = sorted(
            (r for r in records if not r.visit_id and r.form_code == form_code), key=lambda r: r.repeat
        )
        logs.append(_log_table(form, entries))
    casebook_context = CasebookContext(request, study, subject, access, records)
    facts, alerts = facts_for(casebook_context)
    context = {
        "subject": subject,
        "facts": facts,
        "alerts": alerts,
        "timeline": timeline_for(casebook_context),
        # the audit of each record one click away: the monitor's and data manager's, and the
        # site staff's of their own site (studies.access.Permission.VIEW_RECORD_AUDIT)
        "can_view_audit": access.can(Permission.VIEW_AUDIT, subject.site_id)
        or access.can(Permission.VIEW_RECORD_AUDIT, subject.site_id),
        "can_download_pdf": may_download_casebook(access, subject.site_id),
        "columns": [(code, localised(protocol.form(code), "title")) for code in visit_forms],
        "rows": rows,
        "logs": logs,
        "can_edit": access.can(Permission.ENTER_DATA, subject.site_id),
        "pseudonymised": access.pseudonymised,
        # After death, completion or withdrawal an empty form is "not done", no longer "to do".
        "off_study": subject.status in OFF_STUDY,
        "sections": sections_for(casebook_context),
    }
    return render(request, "subjects/casebook.html", context)


def may_download_casebook(access, site_id: int) -> bool:
    """The PDF casebook (``trialdesk.exports.casebook_pdf``): for the site's archive and for
    inspection — the site's investigators and coordinators, its monitors, the data manager.
    Not the statistician (pseudonymised: a casebook is the patient's identified record),
    the sponsor admin or the safety officer."""
    from trialdesk.studies.models import Role

    roles = access.roles_at(site_id) if site_id in access.site_ids else frozenset()
    return bool(roles & {Role.INVESTIGATOR, Role.COORDINATOR, Role.MONITOR, Role.DATA_MANAGER})


def _log_table(form, entries) -> dict:
    """A log form as a table: its first fields in order as columns, each entry's values as the
    user reads them (labels, Yes/No, units), voided entries marked."""
    columns = summary_columns(form)
    return {
        "form": form,
        "title": localised(form, "title"),
        "columns": [{"code": f.code, "label": field_label(form, f.code)} for f in columns],
        "entries": [
            {
                "record": entry,
                "voided": getattr(entry, "voided_at", None) is not None,
                # CTCAE has no official French: its terms stay English, marked as such
                "cells": [
                    {
                        "text": display_value(form, f.code, (entry.data or {}).get(f.code)),
                        "lang": "en" if f.type == "ctcae_term" else "",
                    }
                    for f in columns
                ],
            }
            for entry in entries
        ],
    }


def _ordered_visit_forms(protocol) -> list[str]:
    seen: list[str] = []
    for visit in protocol.schedule.expanded_visits():
        for code in visit.forms:
            if code not in seen:
                seen.append(code)
    return seen
