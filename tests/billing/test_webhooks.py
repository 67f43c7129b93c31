"""Stripe's webhooks: signed events made here exactly as Stripe signs them, about intents that
really exist (and really succeeded) on localstripe."""

import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.conf import settings
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, User
from billing import gateway, sweeps, tasks
from billing.models import Order, StripeEvent
from plans.models import Bucket, Line
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

STRIPE_AUTH = ("sk_test_boom_local", "")


# --- Helpers shared with the other billing tests ------------------------------------------------


def stripe_signature(body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: HMAC-SHA256 of ``"<t>.<body>"``."""
    t = int(time.time()) if timestamp is None else timestamp
    key = (secret or settings.STRIPE_WEBHOOK_SECRET).encode()
    digest = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def post_event(client: Client, body: bytes, *, signature: str | None = None) -> Any:
    """Deliver an event as Stripe does (signed now, unless a signature is given)."""
    headers = {} if signature == "" else {"Stripe-Signature": signature or stripe_signature(body)}
    return client.post(reverse("billing:stripe_webhook"), data=body, content_type="application/json", headers=headers)


def events_process() -> dict[str, str]:
    """What the ``billing`` worker does with the events stored and not yet processed, done here, in
    this process and the test's transaction: the task's body for each, oldest first (the tasks
    queued on commit never leave a test that does not commit). Their outcomes, by event id."""
    pending = StripeEvent.objects.filter(processed_at__isnull=True).order_by("pk").values_list("pk", "event_id")
    return {event_id: tasks.stripe_event_process_task(pk) for pk, event_id in list(pending)}


def deliver_event(client: Client, body: bytes) -> str:
    """Deliver a signed event as Stripe does, see it answered 200 at once, then process what is
    stored as the worker would (``events_process``): the event's outcome, or ``"duplicate"``
    when the answer said it was a copy of one stored before."""
    response = post_event(client, body)
    assert response.status_code == 200, response.content
    if response.json().get("duplicate"):
        return "duplicate"
    return events_process()[json.loads(body)["id"]]


def stripe_get(localstripe: str, path: str) -> dict[str, Any]:
    response = requests.get(f"{localstripe}{path}", auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def stripe_post(localstripe: str, path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
    response = requests.post(f"{localstripe}{path}", data=data or {}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return dict(response.json())


def start_order(client: Client, customer: User, line: Line, plan: str = "basic-10") -> Order:
    """The customer presses Renew: a pending order with its intent on localstripe."""
    client.force_login(customer)
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": plan})
    assert response.status_code == 302
    order = Order.objects.get(line=line, status=Order.Status.PENDING)
    assert order.payment_intent_id
    return order


def pay_at_stripe(localstripe: str, order: Order, payment_method_id: str) -> dict[str, Any]:
    """The payment goes through at Stripe without the app hearing of it (the customer closed the
    tab before the return page): attach the card, confirm the intent. Returns the intent."""
    intent_id = str(order.payment_intent_id)
    intent = stripe_get(localstripe, f"/v1/payment_intents/{intent_id}")
    stripe_post(localstripe, f"/v1/payment_methods/{payment_method_id}/attach", {"customer": intent["customer"]})
    stripe_post(localstripe, f"/v1/payment_intents/{intent_id}", {"payment_method": payment_method_id})
    stripe_post(localstripe, f"/v1/payment_intents/{intent_id}/confirm")
    intent = stripe_get(localstripe, f"/v1/payment_intents/{intent_id}")
    assert intent["status"] == "succeeded"
    return intent


# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def paid_order(client, customer, line, localstripe, card) -> tuple[Order, dict[str, Any]]:
    """An order whose intent succeeded at Stripe, and the intent as Stripe now gives it."""
    order = start_order(client, customer, line)
    return order, pay_at_stripe(localstripe, order, card("ok"))


# --- Signatures -------------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch, django_capture_on_commit_callbacks):
    """``with queued() as tasks:`` runs the callbacks the block leaves for its commit, as a commit
    would, and collects the events whose processing they queued (stored rows' ids) instead of
    sending them to the broker."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.stripe_event_process_task, "apply_async", lambda args, **options: sent.extend(args))

    @contextlib.contextmanager
    def capture():
        with django_capture_on_commit_callbacks(execute=True):
            yield sent

    return capture


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


# --- Fulfilment -------------------------------------------------------------------------------


def test_succeeded_webhook_fulfils_the_order_before_the_customer_returns(client, customer, line, paid_order):
    order, intent = paid_order
    old_expiry = line.expires_at

    outcome = deliver_event(client, event_body("payment_intent.succeeded", intent, event_id="evt_paid_1"))

    assert outcome == f"order {order.public_id}: fulfilled"
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.card_last4 == "4242"
    assert line.expires_at == old_expiry + timedelta(days=30)
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    assert EmailDelivery.objects.filter(notice__user=customer).count() == 1
    stored = StripeEvent.objects.get(event_id="evt_paid_1")
    assert stored.payment_intent_id == order.payment_intent_id
    assert stored.processed_at is not None

    # The customer comes back to the order page afterwards: it finds the order done.
    page = client.get(reverse("billing:order", args=[order.public_id]))

    assert page.status_code == 200
    assert "Payment received" in page.content.decode()
    assert Bucket.objects.filter(line=line).count() == 2
    assert customer.notices.count() == 1
    assert EmailDelivery.objects.count() == 1
    line.refresh_from_db()
    assert line.expires_at == old_expiry + timedelta(days=30)


def test_second_delivery_of_the_same_event_changes_nothing(client, customer, line, paid_order):
    order, intent = paid_order
    body = event_body("payment_intent.succeeded", intent, event_id="evt_twice")

    first = deliver_event(client, body)
    second = deliver_event(client, body)

    assert first == f"order {order.public_id}: fulfilled"
    assert second == "duplicate"
    assert StripeEvent.objects.count() == 1
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert Bucket.objects.filter(line=line).count() == 2
    assert customer.notices.count() == 1


def test_failure_event_after_success_never_moves_the_order_back(client, line, paid_order):
    order, intent = paid_order
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    bucket = Bucket.objects.get(order_item__order=order)
    stale = {
        **intent,
        "status": "requires_payment_method",
        "last_payment_error": {
            "code": "card_declined",
            "message": "Your card was declined.",
            "type": "card_error",
            "payment_method": {"id": "pm_old", "object": "payment_method", "type": "card"},
        },
    }

    for event_type in ("payment_intent.payment_failed", "payment_intent.requires_action", "payment_intent.canceled"):
        assert deliver_event(client, event_body(event_type, stale)) == f"order {order.public_id}: fulfilled"

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.failure_reason == ""
    assert Bucket.objects.get(order_item__order=order).data_left == bucket.data_left > 0
    assert StripeEvent.objects.count() == 4
    assert not StripeEvent.objects.filter(processed_at__isnull=True).exists()


def test_late_copy_of_a_failure_arriving_first_is_overtaken_by_the_success_event(client, customer, paid_order):
    """Events come in any order: the failure of an earlier try, delivered late while the order is
    open, may be stale, so the app asks Stripe, which says the intent succeeded: the order is
    fulfilled then; Stripe's success event, whenever it lands, adds nothing more."""
    order, intent = paid_order
    stale = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}

    first = deliver_event(client, event_body("payment_intent.payment_failed", stale))
    order.refresh_from_db()
    assert (first, order.status) == (f"order {order.public_id}: fulfilled", Order.Status.FULFILLED)

    deliver_event(client, event_body("payment_intent.succeeded", intent))
    deliver_event(client, event_body("payment_intent.payment_failed", stale))

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1


def test_success_event_for_another_amount_adds_nothing_and_holds_the_order_for_staff(
    client, customer, line, localstripe
):
    """The signed event is Stripe's word, and the amount is still checked against the order's."""
    order = start_order(client, customer, line)
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")

    outcome = deliver_event(
        client, event_body("payment_intent.succeeded", {**intent, "status": "succeeded", "amount": 1})
    )

    assert outcome == f"order {order.public_id}: paid"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.failure_reason == "amount mismatch: check by hand"
    assert not Bucket.objects.filter(order_item__order=order).exists()


def test_event_for_an_unknown_intent_is_stored_and_acknowledged(client, customer, line, localstripe):
    stranger = {
        "id": "pi_not_ours",
        "object": "payment_intent",
        "amount": 100,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {},
    }

    outcome = deliver_event(client, event_body("payment_intent.succeeded", stranger, event_id="evt_stranger"))

    assert outcome == "unknown intent"
    stored = StripeEvent.objects.get(event_id="evt_stranger")
    assert stored.payment_intent_id == "pi_not_ours"
    assert stored.payload["id"] == "pi_not_ours"
    assert stored.outcome == "unknown intent"
    assert not Order.objects.exists()


def test_event_of_a_type_not_handled_is_stored_and_ignored(client, db):
    outcome = deliver_event(client, event_body("customer.created", {"id": "cus_1", "object": "customer"}))

    assert outcome == "ignored"
    assert StripeEvent.objects.get().type == "customer.created"


# --- Refunds made at Stripe ---------------------------------------------------------------------


def test_charge_refunded_marks_the_order_refunded_and_withdraws_its_bucket(
    client, customer, line, localstripe, paid_order
):
    order, intent = paid_order
    old_expiry = line.expires_at
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    # Staff refund in Stripe's dashboard; Stripe then tells the app with charge.refunded.
    stripe_post(localstripe, "/v1/refunds", {"payment_intent": str(order.payment_intent_id)})
    charge_id = intent["charges"]["data"][0]["id"]
    charge = stripe_get(localstripe, f"/v1/charges/{charge_id}")
    assert (charge["refunded"], charge["amount_refunded"]) == (True, 3800)

    outcome = deliver_event(client, event_body("charge.refunded", charge))

    assert outcome == f"order {order.public_id}: refunded"
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert order.refunded_at is not None
    bucket = Bucket.objects.get(order_item__order=order)
    assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)
    assert line.expires_at == old_expiry
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1

    # Stripe sends it again: nothing more happens.
    deliver_event(client, event_body("charge.refunded", charge))
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


# --- Stripe out of reach ------------------------------------------------------------------------


def test_webhook_fulfils_from_the_signed_event_while_stripe_is_unreachable(
    client, customer, line, localstripe, paid_order, settings
):
    """The event needs no answer from Stripe: a slow or unreachable Stripe neither delays nor
    fails it, and Stripe's redelivery of the same event changes nothing."""
    order, intent = paid_order
    body = event_body("payment_intent.succeeded", intent, event_id="evt_offline")
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    outcome = deliver_event(client, body)
    redelivery = deliver_event(client, body)

    assert (outcome, redelivery) == (f"order {order.public_id}: fulfilled", "duplicate")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert StripeEvent.objects.get().event_id == "evt_offline"
    assert customer.notices.count() == 1


def test_partial_refund_at_stripe_leaves_the_order_and_its_bucket(client, customer, line, localstripe, paid_order):
    """Stripe sends charge.refunded for a partial refund too (a goodwill credit in the dashboard):
    it must not take the whole bucket away."""
    order, intent = paid_order
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    line.refresh_from_db()
    expiry = line.expires_at
    stripe_post(localstripe, "/v1/refunds", {"payment_intent": str(order.payment_intent_id), "amount": "500"})
    charge = stripe_get(localstripe, f"/v1/charges/{intent['charges']['data'][0]['id']}")
    assert (charge["refunded"], charge["amount_refunded"]) == (False, 500)

    outcome = deliver_event(client, event_body("charge.refunded", charge))

    assert "partial refund" in outcome
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.get(order_item__order=order).data_left > 0
    assert line.expires_at == expiry
    assert not customer.notices.filter(kind=Notice.Kind.REFUNDED).exists()


# --- Staff see where each event stands ---------------------------------------------------------


def test_admin_lists_events_by_state_processed_waiting_or_given_up(client, staff, db):
    now = timezone.now()
    made = {
        state: StripeEvent.objects.create(
            event_id=f"evt_{state}",
            type="customer.created",
            payload={},
            processed_at=now if state == "processed" else None,
            attempts=StripeEvent.SWEEP_ATTEMPTS if state == "given_up" else 1,
            retry_at=now,
        )
        for state in ("processed", "waiting", "given_up")
    }
    log_in_with_second_step(client, staff)
    changelist = reverse("admin:billing_stripeevent_changelist")

    for state, event in made.items():
        page = client.get(changelist, {"state": state}).content.decode()
        assert event.event_id in page
        assert [other.event_id for other in made.values() if other.event_id in page] == [event.event_id]
    everything = client.get(changelist).content.decode()
    assert f"given up after {StripeEvent.SWEEP_ATTEMPTS} tries" in everything
    assert "waiting" in everything
