"""Stripe's webhooks delivered: each event's signature checked (made here exactly as Stripe
signs), stored and answered at once, then processed by the worker exactly once, and swept again
where its processing was lost; about intents that really exist on localstripe."""

import functools
import time
from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from billing import gateway, sweeps, tasks
from billing.models import Order, StripeEvent
from plans.models import Bucket
from tests.billing.stripe_events import (
    deliver_event,
    event_body,
    events_process,
    post_event,
    stripe_signature,
)

pytestmark = pytest.mark.django_db


# --- Signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: "", id="missing"),
        pytest.param(lambda body: stripe_signature(body, secret="whsec_someone_else"), id="wrong-secret"),
        pytest.param(lambda body: stripe_signature(body + b" "), id="body-changed"),
        pytest.param(lambda body: stripe_signature(body, timestamp=int(time.time()) - 3600), id="an-hour-old"),
        pytest.param(lambda body: stripe_signature(body, timestamp=int(time.time()) + 3600), id="an-hour-ahead"),
        # Well over 300 s: the stamp is whole seconds, and a slow machine reaches the check later.
        pytest.param(lambda body: stripe_signature(body, timestamp=int(time.time()) + 310), id="over-5-min-ahead"),
        pytest.param(lambda body: "t=1,v1=00", id="garbage"),
    ],
)
def test_webhook_without_a_valid_signature_is_refused_and_nothing_is_stored_or_queued(
    client, paid_order, forge, queued
):
    order, intent = paid_order
    body = event_body("payment_intent.succeeded", intent)

    with queued() as sent:
        response = post_event(client, body, signature=forge(body))

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert sent == []
    assert events_process() == {}
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not Bucket.objects.filter(order_item__order=order).exists()


def test_webhook_stamped_a_little_ahead_of_our_clock_is_taken(client, paid_order):
    _order, intent = paid_order
    body = event_body("payment_intent.succeeded", intent)

    response = post_event(client, body, signature=stripe_signature(body, timestamp=int(time.time()) + 60))

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1


# --- Answered at once, processed by the worker -------------------------------------------------


def test_webhook_is_answered_before_the_order_is_fulfilled_and_the_task_fulfils_it(
    client, customer, paid_order, queued
):
    """Stripe gets its 200 as soon as the event is stored: the order is still pending then, and one
    task is queued on commit; the task (the worker's code) fulfils the order."""
    order, intent = paid_order

    with queued() as sent:
        response = post_event(client, event_body("payment_intent.succeeded", intent, event_id="evt_first"))

    assert (response.status_code, response.json()) == (200, {"received": True})
    stored = StripeEvent.objects.get(event_id="evt_first")
    assert (stored.processed_at, stored.outcome, stored.attempts) == (None, "", 0)
    assert stored.payment_intent_id == order.payment_intent_id
    assert stored.retry_at is not None
    assert stored.retry_at > stored.received_at
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert sent == [stored.pk]

    assert tasks.stripe_event_process_task(stored.pk) == f"order {order.public_id}: fulfilled"

    order.refresh_from_db()
    stored.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert stored.processed_at is not None
    assert stored.outcome == f"order {order.public_id}: fulfilled"
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    # The task delivered again (acks_late, a lost worker) finds its event processed.
    assert tasks.stripe_event_process_task(stored.pk) == "done"
    assert Bucket.objects.filter(order_item__order=order).count() == 1


def test_duplicate_delivery_is_answered_200_and_queues_nothing_new(client, paid_order, queued):
    _order, intent = paid_order
    body = event_body("payment_intent.succeeded", intent, event_id="evt_copy")

    with queued() as sent:
        first = post_event(client, body)
        second = post_event(client, body)

    assert first.json() == {"received": True}
    assert (second.status_code, second.json()) == (200, {"received": True, "duplicate": True})
    assert sent == [StripeEvent.objects.get(event_id="evt_copy").pk]


def test_webhook_is_stored_and_answered_while_the_broker_is_down(client, paid_order, monkeypatch, caplog):
    """The task cannot be queued: Stripe still gets its 200 (the event is stored), a warning is
    logged, and the sweep queues it once it is due."""
    order, intent = paid_order

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(tasks.stripe_event_process_task, "apply_async", broker_down)
    with caplog.at_level("WARNING", logger="boomcard.tasks"), TestCase.captureOnCommitCallbacks(execute=True):
        response = post_event(client, event_body("payment_intent.succeeded", intent, event_id="evt_no_broker"))

    assert response.json() == {"received": True}
    assert "not queued" in caplog.text
    stored = StripeEvent.objects.get(event_id="evt_no_broker")
    assert stored.processed_at is None
    assert sweeps.stripe_events_due() == []  # not yet due
    assert sweeps.stripe_events_due(now=stored.received_at + timedelta(minutes=2)) == [stored.pk]
    assert tasks.stripe_event_process_task(stored.pk) == f"order {order.public_id}: fulfilled"


def test_a_run_that_finds_its_event_processed_meanwhile_undoes_what_it_did(client, customer, paid_order, monkeypatch):
    """Two runs of one event (two workers, a redelivered task): the one that marks the event
    second, under the order's lock, rolls back its transaction, so it changes nothing."""
    order, intent = paid_order
    post_event(client, event_body("payment_intent.succeeded", intent, event_id="evt_raced"))
    stored = StripeEvent.objects.get(event_id="evt_raced")
    read_event = gateway.intent_of_event

    def other_run_marks_it_first(event):
        # Another run marks the event as processed after this one read it unprocessed.
        StripeEvent.objects.filter(pk=stored.pk).update(processed_at=timezone.now(), outcome="the other run")
        return read_event(event)

    monkeypatch.setattr(gateway, "intent_of_event", other_run_marks_it_first)

    assert tasks.stripe_event_process_task(stored.pk) == "duplicate"

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING  # this run's fulfilment was rolled back
    assert not Bucket.objects.filter(order_item__order=order).exists()
    assert not customer.notices.exists()
    assert StripeEvent.objects.get(pk=stored.pk).outcome == "the other run"


@pytest.mark.django_db(transaction=True)
def test_runs_at_once_of_one_event_and_of_two_events_of_one_order_fulfil_it_once(client, customer, paid_order):
    """Four runs released together on four threads (four connections), as two workers and a
    redelivery would: the same event twice, and a second event about the same payment twice.
    One fulfilment; each event marked once, by the run that applied it."""
    from tests.billing.test_pay_by_card import _race

    order, intent = paid_order
    for event_id in ("evt_one", "evt_two"):
        post_event(client, event_body("payment_intent.succeeded", intent, event_id=event_id))
    one, two = (StripeEvent.objects.get(event_id=event_id).pk for event_id in ("evt_one", "evt_two"))

    outcomes = _race([functools.partial(tasks.stripe_event_process_task, pk) for pk in (one, one, two, two)])

    fulfilled = f"order {order.public_id}: fulfilled"
    assert not [outcome for outcome in outcomes if isinstance(outcome, BaseException)], outcomes
    for runs in (outcomes[:2], outcomes[2:]):  # of each event, one run applied it; the other found it done
        assert runs.count(fulfilled) == 1, outcomes
        assert set(runs) <= {fulfilled, "duplicate", "done"}, outcomes
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    assert EmailDelivery.objects.filter(notice__user=customer).count() == 1
    assert set(StripeEvent.objects.values_list("outcome", flat=True)) == {fulfilled}


def test_unknown_stored_event_is_missing(db):
    assert tasks.stripe_event_process_task(987654) == "missing"


# --- The sweep -----------------------------------------------------------------------------------


def test_sweep_queues_an_unprocessed_event_again_with_a_growing_wait_then_gives_up(client, paid_order, monkeypatch):
    _order, intent = paid_order
    post_event(client, event_body("payment_intent.succeeded", intent, event_id="evt_lost"))
    stored = StripeEvent.objects.get(event_id="evt_lost")
    swept: list[int] = []
    monkeypatch.setattr(tasks.stripe_event_process_task, "delay", swept.append)

    assert tasks.stripe_events_sweep_task() == 0  # arrived less than a minute ago
    now = stored.received_at
    waits = []
    for _try in range(StripeEvent.SWEEP_ATTEMPTS):
        stored.refresh_from_db()
        assert stored.retry_at is not None
        assert sweeps.stripe_events_due(now=stored.retry_at - timedelta(seconds=1)) == []
        now = stored.retry_at
        assert sweeps.stripe_events_due(now=now) == [stored.pk]
        stored.refresh_from_db()
        assert stored.retry_at is not None
        waits.append(stored.retry_at - now)
    assert waits[:3] == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert max(waits) == timedelta(hours=1)

    # Given up: the sweep leaves it, and the admin shows it as given up.
    assert sweeps.stripe_events_due(now=now + timedelta(days=1)) == []
    stored.refresh_from_db()
    assert stored.given_up
    assert stored.attempts == StripeEvent.SWEEP_ATTEMPTS
    # A worker still processing it marks it processed, as any run does.
    assert tasks.stripe_event_process_task(stored.pk).endswith(": fulfilled")
    assert sweeps.stripe_events_due(now=now + timedelta(days=1)) == []


def test_sweep_leaves_processed_events(client, paid_order):
    _order, intent = paid_order
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    stored = StripeEvent.objects.get()

    assert sweeps.stripe_events_due(now=stored.received_at + timedelta(minutes=5)) == []
    stored.refresh_from_db()
    assert stored.attempts == 0
