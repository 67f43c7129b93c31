from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.enrolment import enrolment_code_create
from accounts.models import User
from accounts.phones import parse_phone


class Command(BaseCommand):
    help = (
        "Print a one-time enrolment code with which a staff member sets up their authenticator app "
        "(valid 24 hours; any earlier code of theirs stops working)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("who", help="the staff member's log-in name or phone number")

    def handle(self, *args: Any, **options: Any) -> None:
        who: str = options["who"]
        user = User.objects.filter(username=who).first()
        if user is None and (phone := parse_phone(who)) is not None:
            user = User.objects.filter(phone=phone).first()
        if user is None:
            raise CommandError(f"No account has the log-in name or phone number {who!r}.")
        try:
            made = enrolment_code_create(user=user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Enrolment code for {user}: {made.code} (valid until {made.expires_at:%Y-%m-%d %H:%M %Z})")
