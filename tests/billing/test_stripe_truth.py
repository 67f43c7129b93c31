"""Stripe's word wins: an intent or customer Stripe no longer knows (404) closes what depended on
it instead of leaving it stuck, and a refund Stripe made while the app was not listening (the
answer lost to a timeout, or made in Stripe's dashboard with its event lost) is found by the
sweep and recorded once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from billing import gateway, services
from billing.models import Order, PaymentProfile, Refund
from billing.services.orders import PAYMENT_EXPIRED
from billing.sweeps import payments_reconcile, refunds_reconcile
from plans.models import Bucket
from tests.billing.stripe_events import STRIPE_AUTH, start_order
from tests.card_payments import pay_by_card
from tests.reliability.faults import StripeProxy

pytestmark = pytest.mark.django_db


def stripe_refunds(localstripe: str, order: Order) -> list[dict[str, Any]]:
    response = requests.get(
        f"{localstripe}/v1/refunds", params={"payment_intent": order.payment_intent_id}, auth=STRIPE_AUTH, timeout=10
    )
    response.raise_for_status()
    return list(response.json()["data"])


# --- 404 is an answer -----------------------------------------------------------------------------


def test_order_whose_intent_stripe_no_longer_knows_is_cancelled_by_reconciliation_and_the_line_renews_at_once(
    client, customer, line, localstripe, card
):
    order = start_order(client, customer, line)
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_gone_from_stripe")

    result = payments_reconcile(now=timezone.now() + timedelta(minutes=20))

    order.refresh_from_db()
    assert result["checked"] == 1
    assert (order.status, order.failure_reason) == (Order.Status.CANCELLED, PAYMENT_EXPIRED)
    fresh = start_order(client, customer, line)
    assert fresh.pk != order.pk
    assert fresh.payment_intent_id != "pi_gone_from_stripe"
    assert pay_by_card(client, fresh, card("ok"), localstripe=localstripe).status == "fulfilled"


def test_paying_an_order_whose_intent_is_gone_closes_it_instead_of_failing(client, customer, line, localstripe, card):
    order = start_order(client, customer, line)
    Order.objects.filter(pk=order.pk).update(payment_intent_id="pi_gone_from_stripe")

    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe)

    assert payment.answer["status"] == "cancelled"
    assert "client_secret" not in payment.answer
    assert "This order was cancelled" in payment.page
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert not Bucket.objects.filter(order_item__order=order).exists()


def test_a_stripe_customer_that_no_longer_exists_is_made_again_on_the_next_payment(
    client, customer, line, localstripe, card
):
    PaymentProfile.objects.create(
        user=customer,
        stripe_customer_id="cus_deleted_at_stripe",
        card_payment_method_id="pm_gone",
        card_brand="visa",
        card_last4="4242",
    )

    order = start_order(client, customer, line)

    profile = PaymentProfile.objects.get(user=customer)
    assert profile.stripe_customer_id.startswith("cus_")
    assert profile.stripe_customer_id != "cus_deleted_at_stripe"
    assert not profile.has_card  # the card went with the old customer
    assert pay_by_card(client, order, card("ok"), localstripe=localstripe).status == "fulfilled"


# --- Refunds Stripe made while the app was not listening ---------------------------------------


def test_a_refund_whose_answer_was_lost_is_found_by_the_sweep_and_not_made_twice(localstripe, fulfilled_order):
    """Stripe made the refund but the app timed out before the answer: the row stays requested;
    the sweep asks again with the same idempotency key and gets that refund back."""
    refund = Refund.objects.create(
        order=fulfilled_order, amount_minor=fulfilled_order.amount_minor, currency=fulfilled_order.currency
    )
    made = requests.post(
        f"{localstripe}/v1/refunds",
        data={
            "payment_intent": fulfilled_order.payment_intent_id,
            "amount": str(refund.amount_minor),
            "metadata[order]": fulfilled_order.public_id,
            "metadata[refund]": str(refund.pk),
        },
        headers={"Idempotency-Key": f"refund-{refund.pk}"},
        auth=STRIPE_AUTH,
        timeout=10,
    )
    made.raise_for_status()

    result = refunds_reconcile(now=timezone.now() + timedelta(minutes=2))

    refund.refresh_from_db()
    fulfilled_order.refresh_from_db()
    assert result["succeeded"] == 1
    assert [r["id"] for r in stripe_refunds(localstripe, fulfilled_order)] == [made.json()["id"]]
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.SUCCEEDED, made.json()["id"])
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert Bucket.objects.get(order_item__order=fulfilled_order).data_left == 0
    assert fulfilled_order.user.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


def test_a_refund_made_in_stripes_dashboard_whose_event_was_lost_is_found_by_the_sweep(localstripe, fulfilled_order):
    made = requests.post(
        f"{localstripe}/v1/refunds",
        data={"payment_intent": fulfilled_order.payment_intent_id},
        auth=STRIPE_AUTH,
        timeout=10,
    ).json()

    first = refunds_reconcile()
    second = refunds_reconcile()

    fulfilled_order.refresh_from_db()
    assert (first["found"], second["found"]) == (1, 0)
    [refund] = fulfilled_order.refunds.all()
    assert (refund.stripe_refund_id, refund.status, refund.amount_minor) == (
        made["id"],
        Refund.Status.SUCCEEDED,
        fulfilled_order.amount_minor,
    )
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert Bucket.objects.get(order_item__order=fulfilled_order).data_left == 0


def test_staff_refund_of_an_order_already_refunded_in_the_dashboard_records_that_refund(localstripe, fulfilled_order):
    made = requests.post(
        f"{localstripe}/v1/refunds",
        data={"payment_intent": fulfilled_order.payment_intent_id},
        auth=STRIPE_AUTH,
        timeout=10,
    ).json()

    refund = services.order_refund(order=fulfilled_order)

    fulfilled_order.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.SUCCEEDED, made["id"])
    assert len(stripe_refunds(localstripe, fulfilled_order)) == 1
    assert fulfilled_order.status == Order.Status.REFUNDED


# --- A call that timed out is asked again with its key --------------------------------------------


def test_renewing_again_after_stripe_lost_its_answer_gets_the_intent_stripe_made(
    client, customer, line, localstripe, settings
):
    """Stripe made the intent but its answer never came (the app gave up after STRIPE_TIMEOUT):
    pressing Renew again sends the same idempotency key, and Stripe answers with that intent."""
    settings.STRIPE_TIMEOUT = 1.0
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    client.force_login(customer)
    with StripeProxy(localstripe, lifetime=60) as proxy:
        settings.STRIPE_API_BASE = proxy.url
        PaymentProfile.objects.create(
            user=customer,
            stripe_customer_id=gateway.customer_create(
                user_id=customer.pk, email="", phone="", idempotency_key=f"customer-{customer.pk}"
            ),
        )
        proxy.lost(hold=2.0)
        first = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"}, follow=True)
        waiting = Order.objects.get(line=line, status__in=Order.OPEN)
        assert waiting.payment_intent_id is None  # the app never heard back...
        assert len(intents_for(localstripe, waiting)) == 1  # ...but Stripe made the intent
        proxy.passing()
        second = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})

    assert first.status_code == 200
    assert "not answering" in first.content.decode()
    assert second.status_code == 302
    order = Order.objects.get(line=line, status__in=Order.OPEN)
    assert order.pk == waiting.pk
    assert [i["id"] for i in intents_for(localstripe, order)] == [order.payment_intent_id]


def intents_for(localstripe: str, order: Order) -> list[dict[str, Any]]:
    intents = requests.get(f"{localstripe}/v1/payment_intents", params={"limit": 100}, auth=STRIPE_AUTH, timeout=10)
    return [i for i in intents.json()["data"] if i["metadata"].get("order") == order.public_id]
