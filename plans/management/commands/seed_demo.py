from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import demo
from accounts.enrolment import enrolment_code_create
from accounts.selectors import two_factor_enabled
from plans import demo as plans_demo


class Command(BaseCommand):
    help = (
        "Create (or restore) the demo customer, their lines and the staff user, and print the staff "
        "user's enrolment code. Safe to run again; refused with DJANGO_ENV=production."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # The demo's passwords are published in the README.
            raise CommandError("seed_demo makes accounts with published passwords: it does not run in production.")
        try:
            with transaction.atomic():
                accounts = demo.seed_accounts()
                plans_demo.seed_lines(accounts.customer)
                plans = plans_demo.seed_catalogue()
                plans_demo.seed_line_plans(accounts.customer, plans)
        except demo.DemoAccountTaken as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Customer log-in: {demo.DEMO_PHONE} / {demo.DEMO_PASSWORD}"))
        self.stdout.write(
            self.style.SUCCESS(f"Staff (admin at /admin/): {demo.ADMIN_USERNAME} / {demo.ADMIN_PASSWORD}")
        )
        if two_factor_enabled(user=accounts.admin):
            self.stdout.write("The staff user's authenticator app is set up already.")
        else:
            made = enrolment_code_create(user=accounts.admin)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Staff enrolment code, for setting up the authenticator app (24 hours, once): {made.code}"
                )
            )
