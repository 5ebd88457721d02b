"""Sign-in, sign-out and two-factor routes (included at /accounts/)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from trialdesk.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("two-factor/verify/", views.two_factor_verify, name="two-factor-verify"),
]
