"""Redis stopped for ten seconds in the middle of a hundred card payments, with a real Celery
worker: every payment goes through while the broker is away, without waiting on it, and once it
is back every confirmation email is sent exactly once, whether its task was queued before the
outage (and sent, or lost with Redis's memory), never queued during it (the outbox sweep sends
it), or queued after it by a worker that had to reconnect.

Redis is shared by everyone's tests on this machine: the outage is kept to ten seconds and Redis
is always started again (``redis_stopped``)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.db.models import F
from django.test import Client
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, User
from accounts.tasks import outbox_sweep_task
from billing import services as billing
from billing.models import Order
from plans.models import Line, Plan
from tests.card_payments import pay_by_card
from tests.celery_worker import Worker, wait_until
from tests.factories import LineFactory
from tests.mail_backends import sent_emails
from tests.reliability.conftest import broker_idle, stripe_api, stripe_card
from tests.reliability.test_outbox_survives import redis_stopped

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

StartWorker = Callable[..., AbstractContextManager[Worker]]

PAYMENTS = 100
PAYERS = 4
OUTAGE = 10.0  # seconds Redis is down
# Payments are spread out so that some come before the outage, most during it, some after.
SPACING = 0.18  # seconds between the starts of two payments: 100 take 18 s
OUTAGE_STARTS = 3.0  # seconds after the first payment


@dataclass
class Payment:
    order: Order
    payment_method: str
    started: float = 0.0
    finished: float = 0.0
    status: str = ""


def test_hundred_payments_across_a_ten_second_broker_outage_each_send_one_confirmation_email(
    customer: User,
    plans: dict[str, Plan],
    localstripe: str,
    worker: StartWorker,
    mail_dir: Path,
) -> None:
    now = timezone.now()
    plan = plans["basic-10"]
    lines = Line.objects.bulk_create(
        [
            LineFactory.build(
                owner=customer, status=Line.Status.ACTIVE, added_at=now, plan=plan, expires_at=now + timedelta(days=5)
            )
            for _ in range(PAYMENTS)
        ]
    )
    # Orders with their intents, and the cards, are made before: the outage is for the payments.
    api = stripe_api(localstripe)
    payments = [
        Payment(
            order=billing.order_start(user=customer, line=line, plan=plan, currency="CNY"),
            payment_method=stripe_card(api, localstripe),
        )
        for line in lines
    ]
    queue = iter(enumerate(payments))
    queue_lock = threading.Lock()

    with worker() as running:
        t0 = time.monotonic()

        def payer() -> None:
            browser = Client(headers={"Accept-Language": "en"})
            browser.force_login(customer)
            try:
                while True:
                    with queue_lock:
                        index, payment = next(queue, (-1, None))
                    if payment is None:
                        return
                    time.sleep(max(0.0, t0 + index * SPACING - time.monotonic()))
                    payment.started = time.monotonic()
                    paid = pay_by_card(browser, payment.order, payment.payment_method, localstripe=localstripe)
                    payment.finished = time.monotonic()
                    payment.status = paid.status
            finally:
                connections.close_all()

        with ThreadPoolExecutor(PAYERS) as pool:
            payers = [pool.submit(payer) for _ in range(PAYERS)]
            time.sleep(max(0.0, t0 + OUTAGE_STARTS - time.monotonic()))
            # Redis refuses connections from the moment ``redis_stopped`` is entered (it only
            # takes a few seconds more to be sure of it): the ten seconds count from there.
            down_at = time.monotonic()
            with redis_stopped():
                time.sleep(max(0.0, down_at + OUTAGE - time.monotonic()))
            up_at = time.monotonic()
            assert OUTAGE <= up_at - down_at < OUTAGE + 3
            for each in payers:
                each.result(timeout=60)  # a payer's exception is raised here

        # Every payment went through, the broker being away or not, and none waited on it.
        # (pay_by_card checks that each answer was a 200.)
        assert Counter(p.status for p in payments) == {Order.Status.FULFILLED: PAYMENTS}
        during = [p for p in payments if down_at <= p.started and p.finished <= up_at]
        before = [p for p in payments if p.finished < down_at]
        after = [p for p in payments if p.started > up_at]
        spread = (len(before), len(during), len(after))
        assert len(before) >= 5, spread
        assert len(during) >= 40, spread
        assert len(after) >= 5, spread
        assert max(p.finished - p.started for p in during) < 5

        deliveries = EmailDelivery.objects.filter(notice__kind=Notice.Kind.PAYMENT_CONFIRMED, notice__user=customer)
        assert deliveries.count() == PAYMENTS
        # The emails of the payments made during the outage were never queued: they wait for the
        # sweep, which takes what has waited two minutes (as if they had).
        deliveries.update(created_at=F("created_at") - timedelta(minutes=3))
        assert outbox_sweep_task() >= 1
        wait_until(
            lambda: deliveries.filter(status=EmailDelivery.Status.SENT).count() == PAYMENTS,
            timeout=60,
            what=f"the {PAYMENTS} confirmation emails to be sent",
            details=running.log_tail,
        )
        wait_until(broker_idle, timeout=20, what="the broker to be idle", details=running.log_tail)

    emails = sent_emails(mail_dir)
    per_order = {p.order.public_id: sum(p.order.public_id in body for body in emails) for p in payments}
    assert Counter(per_order.values()) == {1: PAYMENTS}
    assert len(emails) == PAYMENTS
    assert set(deliveries.values_list("attempts", flat=True)) == {1}
    assert Order.objects.filter(line__in=lines, status=Order.Status.FULFILLED).count() == PAYMENTS
