"""`trialdesk manage reset_two_factor USERNAME --reason "lost phone"`: the user enrols a new
device at their next sign-in. Audited (two_factor_reset)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from trialdesk.accounts.services import reset_two_factor
from trialdesk.audit.services import Actor


class Command(BaseCommand):
    help = "Remove a user's two-step sign-in devices (lost phone); they enrol again at next sign-in."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")

    def handle(self, *args, username, reason, **options):
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not reason.strip():
            raise CommandError("a reason is required")
        count = reset_two_factor(user, Actor.system("manage"), reason.strip())
        removed = ngettext("%(count)d device removed", "%(count)d devices removed", count) % {"count": count}
        self.stdout.write(f"{username}: {removed}; a new one is enrolled at the next sign-in.")
