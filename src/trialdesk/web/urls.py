from django.urls import include, path

from trialdesk.crf import views as crf_views
from trialdesk.subjects import views as subject_views
from trialdesk.web import views as study_views
from trialdesk.web import worklists

urlpatterns = [
    path("", study_views.home, name="home"),
    path("studies/", study_views.study_list, name="study-list"),
    path("accounts/", include("trialdesk.accounts.urls")),  # login, logout, two-factor
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("trialdesk.api.urls")),  # REST API: /api/openapi.json, /api/docs; /studies/<NCT id>/api/…
    path("redcap/", include("trialdesk.api.redcap.urls")),  # REDCap-compatible API: the study is the token's
    path("sites/<str:site_code>/", study_views.site_page, name="site"),
    path("queries/", include("trialdesk.queries.urls")),
    path("", include("trialdesk.cardiac.urls")),  # the cardiac hold: a subject's, the study's list
    path("", include("trialdesk.treatment.urls")),  # an investigator validates the computed dose
    path("pharmacy/", include("trialdesk.pharmacy.urls")),  # drug accountability
    path("deviations/", include("trialdesk.deviations.urls")),  # deviations, the site's treatment worklist
    path("assessments/", include("trialdesk.assessments.urls")),  # response confirmation
    path("reports/", include("trialdesk.reports.urls")),
    path("exports/", include("trialdesk.exports.urls")),  # ODM and tidy CSV downloads
    path("study/", include("trialdesk.studies.urls")),
    path("work/", include("trialdesk.workspace.urls")),  # each role's worklists, the subject search
    path("administration/", include("trialdesk.administration.urls")),  # users, memberships, sites
    path("dashboards/", include("trialdesk.dashboards.urls")),  # charts
    path("monitoring/", include("trialdesk.monitoring.urls")),  # monitoring visit reports
    path("jobs/", include("trialdesk.jobs.urls")),  # background jobs and their progress
    path("worklists/eligibility-changed/", worklists.eligibility_changed, name="eligibility-changed"),
    path("", include("trialdesk.subjects.urls")),
    path("subjects/<int:subject_id>/", subject_views.casebook, name="subject-casebook"),
    path(
        "subjects/<int:subject_id>/visits/<str:visit_code>/forms/<str:form_code>/",
        crf_views.form_page,
        name="visit-form",
    ),
    path("subjects/<int:subject_id>/logs/<str:form_code>/new/", crf_views.form_page, name="log-form-new"),
    path(
        "subjects/<int:subject_id>/logs/<str:form_code>/<int:repeat>/",
        crf_views.form_page,
        name="log-form",
    ),
    path(
        "subjects/<int:subject_id>/logs/<str:form_code>/<int:repeat>/void/",
        crf_views.void_log_entry,
        name="log-form-void",
    ),
    path("safety/", include("trialdesk.safety.urls")),
    path("audit/", include("trialdesk.audit_viewer.urls")),
    path("audit/", include("trialdesk.signatures.urls")),
    path("audit/", include("trialdesk.locks.urls")),
]

# Error pages (trialdesk.accounts): in the user's language, no detail leaked; 413 for oversized posts.
handler400 = "trialdesk.accounts.errors.bad_request"
