"""Webhooks fulfil from the signed event's intent: what Stripe is still asked, and what not.

A succeeded (or cancelled) intent never changes again, so its snapshot is applied as it is, and
what paid comes from the event too when it is a wallet or the customer's saved card: the event is
fulfilled with Stripe out of reach. Any other snapshot may be stale, so for an open order Stripe
is asked; if Stripe does not answer, nothing is stored and Stripe redelivers."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import EmailDelivery, Notice
from billing.models import Order, PaymentProfile, StripeEvent
from plans.models import Bucket
from tests.billing.test_wallets import alipay_succeeded
from tests.billing.test_webhooks import event_body, pay_at_stripe, post_event, start_order

pytestmark = pytest.mark.django_db

NOWHERE = "http://127.0.0.1:9"  # nothing listens there

# A succeeded event for an open order: the order, with whether the event is stored and the saved
# card (1); BEGIN, the lock (2); the grant (items, savepoint, line, line update, bucket, release,
# item update: 7); the order, the line again (2); the notice and its email (savepoint, select,
# savepoint, insert, release, insert, release: 7); the event (1); COMMIT (1). Was 24, with a
# call to Stripe for the card and the event stored in a transaction of its own.
SUCCEEDED_QUERIES = 21


@pytest.fixture
def paid_order(client, customer, line, localstripe, card) -> tuple[Order, dict[str, Any]]:
    """An order whose intent succeeded at Stripe, and the intent as Stripe now gives it."""
    order = start_order(client, customer, line)
    return order, pay_at_stripe(localstripe, order, card("ok"))


def _card_saved(order: Order, payment_method_id: str) -> None:
    PaymentProfile.objects.filter(user_id=order.user_id).update(
        card_payment_method_id=payment_method_id, card_brand="visa", card_last4="4242"
    )


def test_succeeded_event_paid_with_the_saved_card_asks_stripe_nothing(
    client, customer, paid_order, settings, django_assert_num_queries
):
    order, intent = paid_order
    _card_saved(order, intent["payment_method"])
    settings.STRIPE_API_BASE = NOWHERE

    stripe = Client()  # Stripe posts with no session: not the customer's logged-in client
    with django_assert_num_queries(SUCCEEDED_QUERIES):
        response = post_event(stripe, event_body("payment_intent.succeeded", intent))

    assert (response.status_code, response.json()["outcome"]) == (200, f"order {order.public_id}: fulfilled")
    order.refresh_from_db()
    assert (order.status, order.card_brand, order.card_last4) == (Order.Status.FULFILLED, "visa", "4242")
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    assert EmailDelivery.objects.filter(notice__user=customer).count() == 1
    assert StripeEvent.objects.get().outcome == f"order {order.public_id}: fulfilled"


def test_succeeded_wallet_event_asks_stripe_nothing(client, customer, line, localstripe, settings):
    order = start_order(client, customer, line)
    paid: dict[str, Any] = alipay_succeeded(intent_id=str(order.payment_intent_id))
    settings.STRIPE_API_BASE = NOWHERE

    response = post_event(client, event_body("payment_intent.succeeded", paid))

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.payment_method_type, order.card_last4) == (Order.Status.FULFILLED, "alipay", "")
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1


def test_a_failure_for_an_open_order_with_stripe_out_of_reach_is_applied_as_it_stands(client, paid_order, settings):
    """Stripe is asked whether the failure still holds (the retry may have paid); when it does
    not answer, the event is applied as it stands (no 5xx: a payment service fault is not the
    webhook's to pass on), and the success that follows still fulfils the order, once."""
    order, intent = paid_order
    stale = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}
    settings.STRIPE_API_BASE = NOWHERE

    response = post_event(client, event_body("payment_intent.payment_failed", stale))

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED

    assert post_event(client, event_body("payment_intent.succeeded", intent)).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_stale_failure_for_a_fulfilled_order_is_stored_without_asking_stripe(client, paid_order, settings):
    order, intent = paid_order
    post_event(client, event_body("payment_intent.succeeded", intent))
    stale = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}
    settings.STRIPE_API_BASE = NOWHERE

    response = post_event(client, event_body("payment_intent.payment_failed", stale))

    assert (response.status_code, response.json()["outcome"]) == (200, f"order {order.public_id}: fulfilled")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert StripeEvent.objects.count() == 2
