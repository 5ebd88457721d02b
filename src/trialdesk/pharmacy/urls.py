from django.urls import path

from trialdesk.pharmacy import views

app_name = "pharmacy"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("csv/", views.summary_csv, name="summary-csv"),
    path("sites/<str:site_code>/", views.site_accountability, name="site"),
    path("sites/<str:site_code>/csv/", views.site_accountability_csv, name="site-csv"),
    path("sites/<str:site_code>/shipments/new/", views.shipment_new, name="shipment-new"),
    path("sites/<str:site_code>/disposals/new/", views.disposal_new, name="disposal-new"),
    path("sites/<str:site_code>/verify/", views.verify, name="verify"),
]
