"""`trialdesk manage unlock_account USERNAME --reason "..."`: lift a lockout before its
cool-off ends. Audited (account_unlocked)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from trialdesk.accounts.services import unlock_account
from trialdesk.audit.services import Actor


class Command(BaseCommand):
    help = "Lift the sign-in lockout of a username (from every address) before the cool-off ends."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why (kept in the audit trail)")

    def handle(self, *args, username, reason, **options):
        if not reason.strip():
            raise CommandError("a reason is required")
        count = unlock_account(username, Actor.system("manage"), reason.strip())
        cleared = ngettext("%(count)d lockout record cleared", "%(count)d lockout records cleared", count)
        self.stdout.write(f"{username}: {cleared % {'count': count}}.")
