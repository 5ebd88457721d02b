"""The study is part of every URL of a study's pages: ``/studies/<NCT id>/…`` (DESIGN §1).

This middleware reads the study from the path, checks that the signed-in user holds a
role in it (404 otherwise: another study's existence does not leak), sets
``request.study``, and mounts the study's pages under that prefix the way Django mounts
an application under a SCRIPT_NAME: the rest of the path is resolved against the same
URLconf, and every ``reverse()`` / ``{% url %}`` made while the request runs carries the
prefix. Views never guess the study: they read ``request.study``.

Signing in leads to ``/``, which sends a user of one study to that study's address (and a
user of several to the list of their studies): from there every link carries the study. A
study page asked for without the prefix (an old bookmark) is served for the user's one study.
"""

from __future__ import annotations

import re

from django.http import Http404
from django.shortcuts import redirect
from django.urls import get_script_prefix, set_script_prefix

from trialdesk.studies.models import Study
from trialdesk.studies.services import studies_of

STUDY_PATH = re.compile(r"^/studies/(?P<key>[A-Za-z0-9_-]+)(?P<rest>/.*)$")
# Pages that belong to no study: sign-in, language, the list of studies, static files.
STUDYLESS_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/studies/", "/api/")  # /api/: the REST API's document and docs


class StudyInPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.study = None
        request.root_prefix = get_script_prefix()  # where the pages of no study live
        match = STUDY_PATH.match(request.path_info)
        if match is None:
            return self._without_prefix(request)
        user = request.user
        if not user.is_authenticated:
            # Sent to sign in whatever the study, existing or not: nothing leaks before it.
            request.path_info = match["rest"]
            return self.get_response(request)
        study = Study.objects.filter(nct_id=match["key"]).first()
        if study is None or not studies_of(user).filter(pk=study.pk).exists():
            raise Http404
        request.study = study
        request.path_info = match["rest"]
        outer = get_script_prefix()
        set_script_prefix(f"{outer}studies/{study.nct_id}/")
        try:
            return self.get_response(request)
        finally:
            set_script_prefix(outer)

    def _without_prefix(self, request):
        user = request.user
        if not user.is_authenticated or request.path_info.startswith(STUDYLESS_PREFIXES):
            return self.get_response(request)
        studies = list(studies_of(user)[:2])
        if len(studies) == 1:
            if request.path_info == "/" and request.method in ("GET", "HEAD"):
                # The way in (after signing in): to the study's own address, so that every
                # link of every page from there on carries the study.
                return redirect(f"{request.root_prefix}studies/{studies[0].nct_id}/")
            request.study = studies[0]
        elif len(studies) > 1 and request.method in ("GET", "HEAD"):
            return redirect("study-list")
        return self.get_response(request)
