"""What Stripe's events do: a succeeded intent fulfils its order once (whatever else arrives, in
whatever order), a refund made at Stripe withdraws what it paid for, an event is fulfilled from
its signed body while Stripe is out of reach, and staff see where each event stands; about
intents that really exist (and really succeeded) on localstripe."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from billing.models import Order, StripeEvent
from plans.models import Bucket
from tests.billing.stripe_events import (
    deliver_event,
    event_body,
    start_order,
    stripe_get,
    stripe_post,
)
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db


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
