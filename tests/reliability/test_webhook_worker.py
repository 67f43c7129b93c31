"""Stripe's webhooks with a real Celery worker, Redis and PostgreSQL, over real HTTP: the event is
answered before the order is fulfilled, the worker fulfils it; a worker killed in the middle of
applying an event leaves it unprocessed, and the task delivered again applies it once; an event
that arrives while the broker is down is stored, answered, and processed once the sweep queues it."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from accounts.models import Notice
from billing import tasks
from billing.models import Order, StripeEvent
from boomcard.celery import app as celery_app
from plans.models import Bucket, Plan
from tests.billing.stripe_events import event_body, stripe_signature
from tests.celery_worker import VISIBILITY_TIMEOUT, Worker, wait_until
from tests.factories import UserFactory
from tests.reliability.conftest import broker_idle, orders_paid_at_stripe
from tests.row_locks import rows_locked, waiting_for_a_lock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

StartWorker = Callable[..., AbstractContextManager[Worker]]
NO_BROKER = "redis://127.0.0.1:9/0"  # nothing listens there


def _deliver(live_server: LiveServer, body: bytes) -> dict[str, Any]:
    response = requests.post(
        live_server.url + reverse("billing:stripe_webhook"),
        data=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body)},
        timeout=30,
    )
    assert response.status_code == 200, response.text[:500]
    return dict(response.json())


def _paid_order(localstripe: str, plans: dict[str, Plan]) -> tuple[Order, dict[str, Any]]:
    [(order, intent)] = orders_paid_at_stripe(UserFactory.create(), plans["basic-10"], localstripe, 1)
    return order, intent


def _fulfilled_once(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert Notice.objects.filter(user_id=order.user_id, kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1


def _status(order: Order) -> str:
    return str(Order.objects.values_list("status", flat=True).get(pk=order.pk))


def test_event_is_answered_before_the_worker_fulfils_the_order(
    live_server: LiveServer, localstripe: str, plans: dict[str, Plan], worker: StartWorker
) -> None:
    order, intent = _paid_order(localstripe, plans)

    # No worker yet: the answer comes, and the order is still pending when it does.
    assert _deliver(live_server, event_body("payment_intent.succeeded", intent, event_id="evt_w1")) == {
        "received": True
    }
    assert _status(order) == Order.Status.PENDING
    assert StripeEvent.objects.get(event_id="evt_w1").processed_at is None

    with worker() as running:
        wait_until(
            lambda: _status(order) == Order.Status.FULFILLED, timeout=30, what="fulfilled", details=running.log_tail
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
        # Stripe delivers the event again: answered as a duplicate, nothing queued, nothing more done.
        assert _deliver(live_server, event_body("payment_intent.succeeded", intent, event_id="evt_w1")) == {
            "received": True,
            "duplicate": True,
        }
        assert broker_idle()
    _fulfilled_once(order)
    stored = StripeEvent.objects.get(event_id="evt_w1")
    assert stored.processed_at is not None
    assert stored.outcome == f"order {order.public_id}: fulfilled"


def test_worker_killed_mid_apply_leaves_the_event_unprocessed_and_it_is_applied_once(
    live_server: LiveServer, localstripe: str, plans: dict[str, Plan], worker: StartWorker
) -> None:
    order, intent = _paid_order(localstripe, plans)
    with rows_locked(Order.objects.filter(pk=order.pk)), worker() as first:
        _deliver(live_server, event_body("payment_intent.succeeded", intent, event_id="evt_killed"))
        # The worker read the event and waits for the order's lock, in its transaction: mid-apply.
        wait_until(waiting_for_a_lock, timeout=20, what="the worker to wait for the order", details=first.log_tail)
        first.kill()
    assert _status(order) == Order.Status.PENDING
    assert StripeEvent.objects.get(event_id="evt_killed").processed_at is None

    # Never acknowledged: Redis hands the task to the next worker after the visibility timeout.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    with worker() as second:
        wait_until(
            lambda: _status(order) == Order.Status.FULFILLED, timeout=30, what="fulfilled", details=second.log_tail
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    _fulfilled_once(order)
    assert StripeEvent.objects.get(event_id="evt_killed").outcome == f"order {order.public_id}: fulfilled"


def test_event_arriving_while_the_broker_is_down_is_answered_and_the_sweep_has_it_processed(
    live_server: LiveServer,
    localstripe: str,
    plans: dict[str, Plan],
    worker: StartWorker,
    broker: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order, intent = _paid_order(localstripe, plans)
    with monkeypatch.context() as down:
        # The site's Celery app publishes to a broker that is not there (fresh connections).
        down.setitem(celery_app.conf, "broker_url", NO_BROKER)
        down.setattr(celery_app, "_pool", None)
        down.setattr(celery_app.amqp, "_producer_pool", None)
        started = time.monotonic()
        answer = _deliver(live_server, event_body("payment_intent.succeeded", intent, event_id="evt_nobroker"))
        assert answer == {"received": True}
        assert time.monotonic() - started < 10
    # Back to the real broker (fresh connections again).
    monkeypatch.setattr(celery_app, "_pool", None)
    monkeypatch.setattr(celery_app.amqp, "_producer_pool", None)
    stored = StripeEvent.objects.get(event_id="evt_nobroker")
    assert stored.processed_at is None

    with worker() as running:
        time.sleep(2)
        assert _status(order) == Order.Status.PENDING  # nothing was queued: the worker has nothing
        assert tasks.stripe_events_sweep_task() == 0  # not yet due
        StripeEvent.objects.filter(pk=stored.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
        assert tasks.stripe_events_sweep_task() == 1
        wait_until(
            lambda: _status(order) == Order.Status.FULFILLED, timeout=30, what="fulfilled", details=running.log_tail
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    _fulfilled_once(order)
    stored.refresh_from_db()
    assert (stored.attempts, stored.outcome) == (1, f"order {order.public_id}: fulfilled")
