"""The project's URLs plus probe views, so these tests do not depend on other pages' content."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpResponse
from django.urls import path

from trialdesk.audit.services import Actor, audited, record
from trialdesk.web import urls as project_urls

SECRET = "internal-detail-4242"


@login_required
def probe(request):
    return HttpResponse("probe page")


@login_required
def write(request):
    """A form post that writes an audit event, to show what a refused post leaves behind."""
    note = request.POST.get("note", "")
    with audited():
        record(Actor.person(request.user), "probe_write", object_type="probe", new_value=note[:50])
    return HttpResponse("written")


def boom(request):
    raise RuntimeError(SECRET)


def forbidden(request):
    raise PermissionDenied(SECRET)


def missing(request):
    raise Http404(SECRET)


def suspicious(request):
    raise SuspiciousOperation(SECRET)


urlpatterns = [
    path("_probe/", probe),
    path("_probe/write/", write),
    path("_probe/boom/", boom),
    path("_probe/forbidden/", forbidden),
    path("_probe/missing/", missing),
    path("_probe/suspicious/", suspicious),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
