from typing import Any

from django.core.management.base import BaseCommand

from accounts import demo
from plans import demo as plans_demo


class Command(BaseCommand):
    help = "Create (or restore) the demo customer, their lines and the staff user. Safe to run again."

    def handle(self, *args: Any, **options: Any) -> None:
        customer = demo.seed_accounts()
        plans = plans_demo.seed_catalogue()
        plans_demo.seed_line_plans(customer, plans)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Customer: {demo.DEMO_PHONE} / {demo.DEMO_PASSWORD}; "
                f"staff: {demo.ADMIN_USERNAME} / {demo.ADMIN_PASSWORD}"
            )
        )
