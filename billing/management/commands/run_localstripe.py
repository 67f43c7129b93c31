"""Run localstripe, the fake Stripe server used in development and tests.

Unlike ``localstripe`` run by hand, this binds 127.0.0.1 only and keeps its state in memory
(localstripe otherwise pickles everything to /tmp after each write), and it registers this
site's webhook endpoint at start, since registrations do not survive a restart.

Before serving it installs ``billing.localstripe_extras``: what localstripe lacks and the app
relies on, as Stripe does it (idempotency keys, refund events and checks, listing refunds,
Stripe's 404 for missing objects, Alipay and WeChat Pay with their test page,
``setup_future_usage``, asynchronous wallet refunds, test disputes, and a Stripe.js that confirms
a card payment), so the app needs no workaround for the fake.
"""

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run localstripe on 127.0.0.1, in memory, with this site's webhook registered and the extensions."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", type=int, default=8420)
        parser.add_argument(
            "--webhook-url",
            default=f"{settings.SITE_URL.rstrip('/')}/stripe/webhook/",
            help="Where localstripe posts events (default: SITE_URL/stripe/webhook/).",
        )

    def handle(self, *args: Any, port: int, webhook_url: str, **options: Any) -> None:
        from aiohttp import web
        from localstripe import resources, server

        from billing import localstripe_extras

        resources.Store.dump_to_disk = lambda self: None  # state stays in memory
        localstripe_extras.install(server.app)
        server.register_webhook("boom", webhook_url, settings.STRIPE_WEBHOOK_SECRET, None)
        self.stdout.write(f"localstripe on http://127.0.0.1:{port}, webhooks to {webhook_url}")
        web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)
