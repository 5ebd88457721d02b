"""The REST API (issue 14): django-ninja, OpenAPI 3.1, per-user Bearer tokens.

Addressing: the study is in the route, as for the pages. A study's resources live under
``/studies/<NCT id>/api/…`` (``/studies/NCT00724360/api/subjects``); the OpenAPI
document describes them with that prefix as its server (``servers: /studies/{nct_id}``),
and is served at ``/api/openapi.json``, with its interactive documentation at
``/api/docs`` (Swagger UI from ninja's own static files, no CDN). The study middleware
(``web.study_path``) takes the prefix off before Django resolves ``/api/…``; the token
check below reads it back from ``request.path`` and refuses a token of another study
(or a path without a study) as 404: the study does not exist for that token.

Every route needs ``Authorization: Bearer <token>`` (``trialdesk token create``): a
missing, expired or revoked token is 401 and nothing else is said. Permissions and site
scope are the UI's (``studies.access``); reads go through ``for_user(user, study)``, so a
foreign object is 404 and never in a list. Errors are ``application/problem+json``
(RFC 9457): ``type``, ``title``, ``status``, ``detail``, and, where they apply,
``errors`` (field → messages) or ``changes`` (a stale version: field → yours, theirs).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from trialdesk.api.tokens import authenticate
from trialdesk.studies.access import study_access

STUDY_IN_PATH = re.compile(r"/studies/(?P<key>[A-Za-z0-9_-]+)/api/")
PROBLEM = "application/problem+json"


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str = "", **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``: the token's user, in the token's study."""

    def authenticate(self, request: HttpRequest, token: str):
        found = authenticate(token)
        if found is None:
            return None
        user, api_token = found
        match = STUDY_IN_PATH.search(request.path)
        if match is None or match["key"] != api_token.study.nct_id:
            raise Problem(
                404, _("Not found"), _("This token is for another study, or the address names none.")
            )
        access = study_access(user, api_token.study)
        if not access.roles:
            raise Problem(404, _("Not found"), _("This token's user no longer has a role in this study."))
        request.api_token = api_token
        request.api_user = user
        request.api_study = api_token.study
        request.api_access = access
        return user


api = NinjaAPI(
    title="trialdesk REST API",
    version="1",
    description=(
        "A study's resources are under `/studies/<NCT id>/api/…` (the server below), e.g. "
        "`/studies/NCT00724360/api/subjects`. Every route needs `Authorization: Bearer <token>`: "
        "make a token on your account's *API tokens* page or with `trialdesk token create USERNAME`. "
        "A token is yours and for one study: it sees and does what your role does at your sites, "
        "nothing more; an object of another site is 404 and never listed. Lists are paginated "
        "(`limit`, `offset`, with `count`). Errors are `application/problem+json` (`title`, `status`, "
        "`detail`; `errors`: field → messages; a stale version is 409 with `changes`: field → yours, stored, "
        "and `current_version`). Every change made with a token is in the audit trail with the token's id."
    ),
    auth=BearerToken(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    servers=[
        {
            "url": "/studies/{nct_id}",
            "description": "the study, by its registry id",
            "variables": {"nct_id": {"default": "NCT00724360", "description": "the study's NCT id"}},
        }
    ],
)


def problem_response(request, status: int, title: str, detail: str = "", **extra: Any) -> HttpResponse:
    body = {"type": "about:blank", "title": str(title), "status": status, "detail": str(detail), **extra}
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM
    return response


@api.exception_handler(Problem)
def _problem(request, exc: Problem):
    return problem_response(request, exc.status, exc.title, exc.detail, **exc.extra)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    response = problem_response(request, 401, _("Unauthorized"), _("A valid API token is needed."))
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(request, 404, _("Not found"), _("Nothing here, or nothing you may see."))


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return problem_response(request, 403, _("Forbidden"), _("Your role does not allow this."))


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "payload"))
        errors.setdefault(where or "request", []).append(str(error.get("msg", "")))
    return problem_response(
        request, 422, _("Invalid request"), _("Some parameters are not valid."), errors=errors
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    return problem_response(request, exc.status_code, _("Error"), str(exc))


def _refuse_unknown_parameters(operation):
    """A query parameter the route does not take is refused (422), never ignored: a filter
    with a typo (``?sit=NTE``) would otherwise answer with everything."""

    @functools.wraps(operation)
    def checked(request, *args, **kwargs):
        known = {
            name
            for value in kwargs.values()
            if isinstance(value, Schema)
            for name in type(value).model_fields
        }
        unknown = sorted(set(request.GET) - known)
        if unknown:
            message = _("This route takes no such parameter.")
            raise Problem(422, _("Invalid request"), message, errors={name: [message] for name in unknown})
        return operation(request, *args, **kwargs)

    return checked


api.add_decorator(_refuse_unknown_parameters, mode="operation")

_original_schema = api.get_openapi_schema


def _schema_with_problem_types(*args, **kwargs):
    """Error responses are documented with the media type they are sent with."""
    schema = _original_schema(*args, **kwargs)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") or {}
                if str(status)[:1] in "45" and "application/json" in content:
                    content[PROBLEM] = content.pop("application/json")
    return schema


api.get_openapi_schema = _schema_with_problem_types

from trialdesk.api import endpoints  # noqa: E402,F401  (the routes register on ``api``)
