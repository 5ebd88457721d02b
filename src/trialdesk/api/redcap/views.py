"""``/redcap/api/``: REDCap's API (POST, form-encoded) for the study of a trialdesk token.

The view parses REDCap's parameters, calls the services and answers as REDCap does: JSON
or CSV (``format``; errors in ``returnFormat``, else ``format``), an ``error`` key in JSON
or ``ERROR: …`` in CSV, 403 for a missing or bad token, 400 for a bad request.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from trialdesk.api.redcap.services import RedcapRefused, export_records, import_records, project_of
from trialdesk.api.tokens import authenticate
from trialdesk.audit.services import acting_with_token
from trialdesk.exchange.redcap import METADATA_COLUMNS, RedcapInputError, csv_line, read_csv
from trialdesk.studies.access import study_access

#: the REDCap API level this endpoint speaks (PyCap reads it with ``export_version``)
REDCAP_VERSION = "14.0.0"
FORMATS = ("json", "csv")
SUPPORTED_CONTENT = (
    "version",
    "project",
    "metadata",
    "formEventMapping",
    "event",
    "instrument",
    "arm",
    "repeatingFormsEvents",
    "exportFieldNames",
    "record",
)
_TRUE = ("1", "true", "yes")


def _list(params, key: str) -> list[str]:
    """A REDCap array parameter: ``key[0]``, ``key[1]``… or ``key=a,b``."""
    indexed = []
    pattern = re.compile(rf"^{re.escape(key)}\[(\d*)\]$")
    for name in params:
        match = pattern.match(name)
        if match:
            indexed.extend((int(match[1] or 0), value) for value in params.getlist(name))
    values = [value for _index, value in sorted(indexed, key=lambda pair: pair[0])]
    for value in params.getlist(key):
        values.extend(part for part in value.split(","))
    return [value.strip() for value in values if value.strip()]


def _error(message: str, fmt: str, status: int = 400) -> HttpResponse:
    if fmt == "csv":
        return HttpResponse(f"ERROR: {message}", status=status, content_type="text/csv; charset=utf-8")
    return HttpResponse(
        json.dumps({"error": message}, ensure_ascii=False), status=status, content_type="application/json"
    )


def _rows(rows: list[dict], fmt: str, columns: Iterable[str] | None = None) -> HttpResponse:
    if fmt == "csv":
        columns = list(columns if columns is not None else (rows[0].keys() if rows else ()))
        body = csv_line(columns) + "".join(
            csv_line(row.get(column, "") for column in columns) for row in rows
        )
        return HttpResponse(body, content_type="text/csv; charset=utf-8")
    return HttpResponse(json.dumps(rows, ensure_ascii=False), content_type="application/json")


def _streamed(columns: list[str], rows: Iterator[dict], fmt: str) -> StreamingHttpResponse:
    def as_json():
        yield "["
        for number, row in enumerate(rows):
            yield ("," if number else "") + json.dumps(row, ensure_ascii=False)
        yield "]"

    def as_csv():
        yield csv_line(columns)
        for row in rows:
            yield csv_line(row[column] for column in columns)

    if fmt == "csv":
        return StreamingHttpResponse(as_csv(), content_type="text/csv; charset=utf-8")
    return StreamingHttpResponse(as_json(), content_type="application/json")


@csrf_exempt
def api(request):
    params = request.POST
    fmt = params.get("format", "json") or "json"
    error_format = params.get("returnFormat") or fmt
    if error_format not in FORMATS:
        error_format = "json"
    if request.method != "POST":
        return _error(_("The REDCap API is called with POST."), error_format, status=405)
    found = authenticate(params.get("token"))
    if found is None or not study_access(found[0], found[1].study).roles:
        return _error(_("You do not have permissions to use the API."), error_format, status=403)
    user, token = found
    content = params.get("content", "")
    if content not in SUPPORTED_CONTENT:
        return _error(
            _("The content “%(content)s” is not supported by this API; it supports: %(supported)s.")
            % {"content": content, "supported": ", ".join(SUPPORTED_CONTENT)},
            error_format,
        )
    if content == "version":
        return HttpResponse(REDCAP_VERSION, content_type="text/plain; charset=utf-8")
    if fmt not in FORMATS:
        return _error(
            _("The format “%(format)s” is not supported; use json or csv.") % {"format": fmt}, error_format
        )
    try:
        with acting_with_token(user.pk, token.pk):  # the token's id in every audit event
            return _answer(request, params, content, fmt, error_format, user, token)
    except RedcapRefused as refusal:
        return _error(refusal.message, error_format, status=refusal.status)
    except RedcapInputError as problems:
        return _error(problems.text(_), error_format)


def _answer(request, params, content, fmt, error_format, user, token):
    study = token.study
    project = project_of(study)
    arms = []
    for arm in _list(params, "arms"):
        if not arm.isdigit() or int(arm) not in {number for number, _title in project.arms}:
            raise RedcapRefused(_("The following values are not valid arm numbers: %(arms)s") % {"arms": arm})
        arms.append(int(arm))
    if content == "project":
        info = project.project_info(
            project_id=study.pk, created=study.created_at.strftime("%Y-%m-%d %H:%M:%S"), production=True
        )
        if fmt == "csv":
            return _rows([info], fmt)
        return HttpResponse(json.dumps(info, ensure_ascii=False), content_type="application/json")
    if content == "metadata":
        try:
            rows = project.metadata(_list(params, "fields"), _list(params, "forms"))
        except KeyError as unknown:
            raise RedcapRefused(
                _("The following values are not valid field or instrument names: %(names)s")
                % {"names": unknown.args[0]}
            ) from None
        return _rows(rows, fmt, METADATA_COLUMNS)
    if content == "formEventMapping":
        return _rows(project.form_event_mapping(arms), fmt, ("arm_num", "unique_event_name", "form"))
    if content == "event":
        return _rows(project.events_rows(arms), fmt)
    if content == "instrument":
        return _rows(project.instruments(), fmt, ("instrument_name", "instrument_label"))
    if content == "arm":
        return _rows(project.arms_rows(arms), fmt, ("arm_num", "name"))
    if content == "repeatingFormsEvents":
        return _rows(project.repeating_forms_events(), fmt, ("event_name", "form_name", "custom_form_label"))
    if content == "exportFieldNames":
        try:
            rows = project.export_field_names(params.get("field") or None)
        except KeyError as unknown:
            raise RedcapRefused(
                _("The following values are not valid field names: %(names)s") % {"names": unknown.args[0]}
            ) from None
        return _rows(rows, fmt, ("original_field_name", "choice_value", "export_field_name"))
    # content == "record"
    action = params.get("action", "")
    if action not in ("", "export", "import"):
        raise RedcapRefused(
            _("The action “%(action)s” is not supported on records (only export and import).")
            % {"action": action}
        )
    if (params.get("type") or "flat") != "flat":
        raise RedcapRefused(_("Only the flat type of record is supported (type=flat)."))
    if "data" in params or action == "import":
        return _import(params, fmt, error_format, user, token)
    return _export(params, fmt, user, token)


def _export(params, fmt, user, token):
    for unsupported in ("filterLogic", "dateRangeBegin", "dateRangeEnd"):
        if params.get(unsupported):
            raise RedcapRefused(_("The parameter %(name)s is not supported.") % {"name": unsupported})
    raw_or_label = params.get("rawOrLabel") or "raw"
    if raw_or_label not in ("raw", "label"):
        raise RedcapRefused(_("rawOrLabel must be raw or label."))
    exported = export_records(
        user,
        token,
        records=_list(params, "records"),
        fields=_list(params, "fields"),
        forms=_list(params, "forms"),
        events=_list(params, "events"),
        label=raw_or_label == "label",
        access_groups=(params.get("exportDataAccessGroups") or "").strip().lower() in _TRUE,
        file_format=fmt,
    )
    return _streamed(exported.columns, exported.rows, fmt)


def _import(params, fmt, error_format, user, token):
    overwrite = params.get("overwriteBehavior") or "normal"
    if overwrite not in ("normal", "overwrite"):
        raise RedcapRefused(_("overwriteBehavior must be normal or overwrite."))
    return_content = params.get("returnContent") or "count"
    if return_content not in ("count", "ids", "nothing"):
        raise RedcapRefused(_("returnContent must be count, ids or nothing."))
    if (params.get("dateFormat") or "YMD") != "YMD":
        raise RedcapRefused(_("Only dates as YYYY-MM-DD are supported (dateFormat=YMD)."))
    if (params.get("forceAutoNumber") or "").strip().lower() in _TRUE:
        raise RedcapRefused(_("forceAutoNumber is not supported: records are created by screening."))
    text = params.get("data", "")
    if fmt == "json":
        try:
            rows = json.loads(text)
        except ValueError as problem:
            raise RedcapRefused(_("The data is not valid JSON: %(problem)s") % {"problem": problem}) from None
        if isinstance(rows, dict):
            rows = [rows]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise RedcapRefused(
                _("The JSON data must be a list of records (objects of field names and values).")
            )
    else:
        try:
            rows = read_csv(text)
        except (ValueError, csv.Error) as problem:
            raise RedcapRefused(
                _("The CSV data cannot be read: %(problem)s") % {"problem": problem}
            ) from None
    if not rows:
        raise RedcapRefused(_("No records were given in data."))
    record_ids = import_records(user, token, rows, overwrite=overwrite == "overwrite")
    if return_content == "nothing":
        return HttpResponse("", content_type="text/plain")
    if error_format == "csv":
        if return_content == "ids":
            return HttpResponse(
                csv_line(["id"]) + "".join(csv_line([rid]) for rid in record_ids), content_type="text/csv"
            )
        return HttpResponse(csv_line(["count"]) + csv_line([len(record_ids)]), content_type="text/csv")
    if return_content == "ids":
        return HttpResponse(json.dumps(record_ids), content_type="application/json")
    return HttpResponse(json.dumps({"count": len(record_ids)}), content_type="application/json")
