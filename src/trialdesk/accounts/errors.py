"""Error responses at the HTTP layer: pages in the user's language that leak no detail."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.shortcuts import render
from django.views import defaults


def bad_request(request, exception=None):
    """handler400: an oversized post is 413 with the limit; other bad requests the 400 page."""
    if isinstance(exception, RequestDataTooBig):
        limit_mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        return render(request, "accounts/413.html", {"limit_mib": f"{limit_mib:g}"}, status=413)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return render(request, "accounts/413.html", {"too_many_fields": True}, status=413)
    return defaults.bad_request(request, exception)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent without a valid token (expired page, replayed post,
    another site). Nothing was saved; the reason stays in the server log, not on the page."""
    return render(request, "403_csrf.html", status=403)
