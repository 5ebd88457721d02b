from django.urls import path

from trialdesk.queries import views

app_name = "queries"

urlpatterns = [
    path("", views.query_list, name="list"),
    path("<int:query_id>/", views.query_detail, name="detail"),
    path("records/<int:record_id>/new/", views.raise_query_page, name="raise"),
    path("sdv/", views.sdv_progress_page, name="sdv-progress"),
    path("sdv/records/<int:record_id>/", views.sdv_mark, name="sdv-mark"),
]
