"""A webhook storm over real HTTP: 500 orders whose payments really succeeded at (local)Stripe,
2,000 signed events about them (two ``succeeded`` with different ids, and stale
``payment_failed`` and ``canceled`` copies), every event delivered twice, shuffled, from 8
threads at once against the live server, while a real Celery worker with two processes works
through the stored events (so two events of one order are often processed at the same moment).
Every delivery is answered 200 at once, each copy as a duplicate; each order is fulfilled once,
with one bucket, one notice and one email row, and its line moves by one plan's validity."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from django.db.models import Count
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from accounts.models import EmailDelivery, Notice
from billing.models import Order, StripeEvent
from plans.models import Bucket, Line, Plan
from tests.billing.stripe_events import event_body, stripe_signature
from tests.celery_worker import Worker, wait_until
from tests.factories import UserFactory
from tests.reliability.conftest import broker_idle, orders_paid_at_stripe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]

ORDERS = 500
SENDERS = 8
PLAN = "basic-10"


def _events_for(order: Order, intent: dict[str, Any]) -> list[bytes]:
    """Four events about one paid order: ``succeeded`` twice (two event ids, as when Stripe sends
    a second one), and stale copies saying the payment failed or was cancelled, which must not
    move a paid order back (the app asks Stripe, and Stripe says it succeeded)."""
    failed = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    canceled = {**intent, "status": "canceled"}
    return [
        event_body("payment_intent.succeeded", intent),
        event_body("payment_intent.succeeded", intent),
        event_body("payment_intent.payment_failed", failed),
        event_body("payment_intent.canceled", canceled),
    ]


def test_webhook_storm_fulfils_each_order_exactly_once_and_never_answers_5xx(
    live_server: LiveServer,
    localstripe: str,
    plans: dict[str, Plan],
    worker: Callable[..., AbstractContextManager[Worker]],
) -> None:
    customer = UserFactory.create(email="storm@example.com")
    plan = plans[PLAN]
    paid = orders_paid_at_stripe(customer, plan, localstripe, ORDERS)
    old_expiry: dict[int, datetime] = {}
    for order, _intent in paid:
        assert order.line.expires_at is not None
        old_expiry[order.line_id] = order.line.expires_at

    events = [body for order, intent in paid for body in _events_for(order, intent)]
    assert len(events) == 4 * ORDERS == 2000
    deliveries = events * 2
    random.Random(20260).shuffle(deliveries)
    url = live_server.url + reverse("billing:stripe_webhook")
    local = threading.local()

    def deliver(body: bytes) -> tuple[int, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        # Signed when sent, as Stripe does (each delivery is signed afresh).
        response = local.session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body)},
            timeout=60,
        )
        answer = response.json() if response.status_code == 200 else {}
        return response.status_code, "duplicate" if answer.get("duplicate") else "stored"

    with worker(concurrency=2) as running:
        started = time.monotonic()
        with ThreadPoolExecutor(SENDERS) as pool:
            answers = list(pool.map(deliver, deliveries))
        storm_seconds = time.monotonic() - started

        statuses = Counter(status for status, _answer in answers)
        assert statuses == {200: 4000}, f"answers by status: {dict(statuses)}"
        # Each event id is stored and queued once; its second delivery, however close, is a no-op.
        assert Counter(answer for _status, answer in answers) == {"stored": 2000, "duplicate": 2000}
        assert StripeEvent.objects.count() == 2000
        unprocessed = StripeEvent.objects.filter(processed_at__isnull=True)
        wait_until(
            lambda: not unprocessed.exists(), timeout=150, what="every event processed", details=running.log_tail
        )
        worked_seconds = time.monotonic() - started
        wait_until(broker_idle, timeout=20, what="the broker to be idle", details=running.log_tail)
    assert "Traceback" not in running.log()
    # Each event was acted on once: the outcome of a second run would be "duplicate" or "done".
    assert not StripeEvent.objects.filter(outcome__in=["duplicate", ""]).exists()

    order_ids = [order.pk for order, _intent in paid]
    orders = Order.objects.filter(pk__in=order_ids)
    assert Counter(orders.values_list("status", flat=True)) == {Order.Status.FULFILLED: ORDERS}
    # One bucket per order (the database makes it one-to-one) and no bucket from anywhere else.
    buckets = Bucket.objects.filter(line__owner=customer)
    assert buckets.count() == ORDERS
    assert set(buckets.values_list("order_item__order_id", flat=True)) == set(order_ids)
    # Each line moved once, by one plan's validity.
    expiries = dict(Line.objects.filter(owner=customer).values_list("pk", "expires_at"))
    assert {pk: expiry and expiry - old_expiry[pk] for pk, expiry in expiries.items()} == dict.fromkeys(
        old_expiry, timedelta(days=plan.validity_days)
    )
    # One confirmation notice and one email row per order.
    notices = Notice.objects.filter(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED)
    assert notices.count() == ORDERS
    assert set(notices.values_list("key", flat=True)) == {f"order-fulfilled:{pk}" for pk in order_ids}
    per_notice = EmailDelivery.objects.filter(notice__in=notices).values("notice").annotate(n=Count("id"))
    assert {row["n"] for row in per_notice} == {1}
    assert per_notice.count() == ORDERS
    print(
        f"webhook storm: {len(deliveries)} deliveries answered in {storm_seconds:.1f} s, "
        f"every event processed after {worked_seconds:.1f} s"
    )
