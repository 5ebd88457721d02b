"""The form engine's pages: any form of the protocol, rendered, validated and saved."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from trialdesk.crf.display import field_label
from trialdesk.crf.models import FORM_REASONS, FormRecord
from trialdesk.crf.panels import FormPanelContext, live_fields, render_panels, typed_input
from trialdesk.crf.rendering import field_views, localised, translated
from trialdesk.crf.services import (
    FormSaveRefused,
    StaleVersion,
    forms_allowed_at,
    save_form,
    void_record,
)
from trialdesk.protocol.formdata import FORM_LEVEL
from trialdesk.studies.access import Permission, get_visible_or_404, study_access
from trialdesk.studies.services import request_study
from trialdesk.subjects.models import Subject

RESERVED_POST_KEYS = {"csrfmiddlewaretoken", "_version", "_reason", "_reason_detail", "_preview", "_shown"}


def _context_objects(request, subject_id: int, visit_code: str | None):
    study = request_study(request)
    subject = get_visible_or_404(
        Subject.objects.select_related("site", "study"), request.user, study, pk=subject_id
    )
    visit = None
    if visit_code is not None:
        visit = subject.visits.filter(code=visit_code).first()
        if visit is None:
            raise Http404
    return study, subject, visit


@login_required
def form_page(
    request, subject_id: int, form_code: str, visit_code: str | None = None, repeat: int | None = None
):
    study, subject, visit = _context_objects(request, subject_id, visit_code)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    if form_code not in forms_allowed_at(subject, visit):
        raise Http404
    protocol = study.protocol
    form = protocol.form(form_code)
    record = None
    if visit is not None:
        record = (
            FormRecord.objects.for_user(request.user, study)
            .filter(subject=subject, visit=visit, form_code=form_code)
            .first()
        )
    elif repeat is not None:
        record = (
            FormRecord.objects.for_user(request.user, study)
            .filter(subject=subject, visit=None, form_code=form_code, repeat=repeat)
            .first()
        )
        if record is None:
            raise Http404
    if record is not None:  # the panels read record.subject (and its site and study): the one loaded above
        record.subject = subject
    can_edit = access.can(Permission.ENTER_DATA, subject.site_id)

    values = dict(record.data) if record else {}
    validation = None
    stale = None
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        submitted = {k: v for k, v in request.POST.items() if k not in RESERVED_POST_KEYS}
        # Unticked checkboxes and empty selects send nothing: every field of the form is posted as empty.
        raw = {f.code: submitted.get(f.code, "") for f in form.fields}
        unknown = set(submitted) - set(raw)
        raw.update({k: submitted[k] for k in unknown})
        if request.headers.get("HX-Request") and request.POST.get("_preview"):
            # htmx asks which fields apply now; nothing is saved. Only the conditional fields
            # whose applicability changed come back: the others keep what the user typed since.
            shown = set(request.POST.getlist("_shown"))
            changed = [f for f in field_views(form, raw) if f.condition and f.applies != (f.code in shown)]
            panels = render_panels(
                FormPanelContext(request, study, subject, visit, record, form, typed_input(form, raw), access)
            )
            return render(
                request,
                "crf/_field_swaps.html",
                {"fields": changed, "can_edit": can_edit, "record": record, "panels": panels},
            )
        try:
            expected = int(request.POST.get("_version", "0") or 0)
        except ValueError:
            expected = -1
        try:
            outcome = save_form(
                request.user,
                subject,
                form_code,
                raw,
                visit=visit,
                repeat=record.repeat if record else None,
                expected_version=expected if record else 0,
                reason=request.POST.get("_reason", "").strip(),
                reason_detail=request.POST.get("_reason_detail", ""),
            )
        except StaleVersion as refusal:
            stale = refusal
            messages.error(request, refusal.message)
            values, status = raw, 409
            record = refusal.current
        except FormSaveRefused as refusal:
            messages.error(request, refusal.message)
            values, validation, status = raw, refusal.validation, 400
        else:
            saved = outcome.record
            missing = _still_needed(form, outcome.validation)
            if outcome.changed_fields or outcome.created:
                said = _("Saved (version %(version)s).") % {"version": saved.version}
                # A save that leaves the form incomplete says so, with what is still needed.
                (messages.warning if missing else messages.success)(request, f"{said} {missing}".strip())
            else:
                messages.info(request, f"{_('Nothing changed.')} {missing}".strip())
            checks = {check.code: check for check in form.edit_checks}
            for failure in outcome.validation.check_failures:
                check = checks.get(failure.code)  # else a range or death rule: its own message
                messages.warning(
                    request, localised(check, "message") if check else translated(failure.message, form)
                )
            return redirect("subject-casebook", subject_id=subject.pk)

    context = {
        # "Needed to complete the form" waits for a save attempt (this one, or an earlier save
        # of the record); before that, the page's script shows it on leaving an empty field.
        "show_needed": request.method == "POST" or record is not None,
        "subject": subject,
        "visit": visit,
        "form": form,
        "form_title": localised(form, "title"),
        "record": record,
        "fields": field_views(form, values, validation, live_fields(protocol, form)),
        "panels": render_panels(
            FormPanelContext(request, study, subject, visit, record, form, typed_input(form, values), access)
        ),
        "form_errors": [
            translated(m, form) for m in (validation.errors.get(FORM_LEVEL, []) if validation else [])
        ],
        "can_edit": can_edit and not subject.locked_at and not (record and record.voided_at),
        "needs_reason": bool(record and record.first_completed_at),
        "reasons": FORM_REASONS,
        "stale": stale,
        "is_log": visit is None,
        "can_void": bool(
            record
            and visit is None
            and not record.voided_at
            and access.can(Permission.ENTER_DATA, subject.site_id)
        ),
    }
    return render(request, "crf/form.html", context, status=status)


def _still_needed(form, validation) -> str:
    """After a save that leaves the form incomplete: how many fields, and which, are still needed."""
    codes = list(dict.fromkeys(validation.missing_required))
    if not codes:
        return ""
    labels = ", ".join(field_label(form, code) for code in codes)
    return ngettext(
        "%(count)d field is still needed to complete the form: %(labels)s.",
        "%(count)d fields are still needed to complete the form: %(labels)s.",
        len(codes),
    ) % {"count": len(codes), "labels": labels}


@login_required
@require_POST
def void_log_entry(request, subject_id: int, form_code: str, repeat: int):
    """Void a log entry entered in error (with a reason): it stays, struck through."""
    study, subject, _visit = _context_objects(request, subject_id, None)
    access = study_access(request.user, study)
    if not access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        raise Http404
    record = (
        FormRecord.objects.for_user(request.user, study)
        .filter(subject=subject, visit=None, form_code=form_code, repeat=repeat)
        .first()
    )
    if record is None:
        raise Http404
    record.subject = subject
    try:
        void_record(request.user, record, request.POST.get("reason", ""))
    except FormSaveRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("The entry is voided: it stays in the casebook, struck through."))
    return redirect("log-form", subject_id=subject.pk, form_code=form_code, repeat=repeat)
