from django.urls import path

from trialdesk.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.page, name="page"),
    path("chart.svg", views.chart_svg, name="chart"),
]
