"""Administration without the admin site (issue 15): users, memberships, sites, the user-access
history; the invitation link; every user's own account page."""

from django.urls import path

from trialdesk.administration import views

app_name = "administration"
urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/invite/", views.invite, name="invite"),
    path("users/<int:user_id>/", views.user_page, name="user"),
    path("users/<int:user_id>/deactivate/", views.deactivate, name="deactivate"),
    path("users/<int:user_id>/reactivate/", views.reactivate, name="reactivate"),
    path("users/<int:user_id>/reset-two-factor/", views.reset_two_factor, name="reset-two-factor"),
    path("users/<int:user_id>/unlock/", views.unlock, name="unlock"),
    path("users/<int:user_id>/resend-invitation/", views.resend_invitation, name="resend-invitation"),
    path("users/<int:user_id>/memberships/", views.add_membership, name="add-membership"),
    path("memberships/<int:membership_id>/end/", views.end_membership, name="end-membership"),
    path("sites/", views.sites, name="sites"),
    path("access-history/", views.access_history, name="access-history"),
    path("access-history.csv", views.access_history_csv, name="access-history-csv"),
    # the link of an invitation e-mail (?t=<signed token>): the invitee chooses a password
    path("invitation/", views.accept_invitation, name="accept-invitation"),
    path("account/", views.account, name="account"),
]
