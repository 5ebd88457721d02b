from django.urls import path

from trialdesk.deviations import views

app_name = "deviations"

urlpatterns = [
    path("", views.study_deviations, name="list"),
    path("csv/", views.study_deviations_csv, name="csv"),
    path("sites/<str:site_code>/", views.site_deviations, name="site"),
    path("sites/<str:site_code>/csv/", views.site_deviations_csv, name="site-csv"),
    path("sites/<str:site_code>/worklist/", views.site_worklist, name="worklist"),
    path("subjects/<int:subject_id>/acknowledge/", views.acknowledge_deviation, name="acknowledge"),
]
