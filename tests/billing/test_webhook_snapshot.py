"""Webhooks fulfil from the signed event's intent: what Stripe is still asked, and what not.

A succeeded (or cancelled) intent never changes again, so its snapshot is applied as it is, and
what paid comes from the event too when it is a wallet or the customer's saved card: the event is
fulfilled with Stripe out of reach. Any other snapshot may be stale, so for an open order Stripe
is asked; if Stripe does not answer, it is applied as it stands. The webhook itself only stores
the event (one statement) and answers; the task on the ``billing`` queue does the rest."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import EmailDelivery, Notice
from billing import tasks
from billing.models import Order, PaymentProfile, StripeEvent
from plans.models import Bucket
from tests.billing.stripe_events import deliver_event, event_body, pay_at_stripe, post_event, start_order
from tests.billing.test_wallets import alipay_succeeded

pytestmark = pytest.mark.django_db

NOWHERE = "http://127.0.0.1:9"  # nothing listens there

# The webhook's answer: the event stored (one INSERT ... ON CONFLICT DO NOTHING RETURNING), and
# nothing else (Stripe posts with no session; the task is queued after, not in, the database).
ANSWER_QUERIES = 1
# Processing a succeeded event for an open order, in the worker: the stored event (1); the order
# with the saved card (1); BEGIN, the lock (2); the grant (items, savepoint, line, line update,
# bucket, release, item update: 7); the order, the line again (2); the notice and its email
# (savepoint, select, savepoint, insert, release, insert, release: 7); the event marked processed
# (1); COMMIT (1). Was 21 inside the webhook's request, before it answered.
SUCCEEDED_QUERIES = 22


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
    with django_assert_num_queries(ANSWER_QUERIES):
        response = post_event(stripe, event_body("payment_intent.succeeded", intent))
    assert (response.status_code, response.json()) == (200, {"received": True})
    stored = StripeEvent.objects.get()

    with django_assert_num_queries(SUCCEEDED_QUERIES):
        outcome = tasks.stripe_event_process_task(stored.pk)

    assert outcome == f"order {order.public_id}: fulfilled"
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

    assert deliver_event(client, event_body("payment_intent.succeeded", paid)) == f"order {order.public_id}: fulfilled"

    order.refresh_from_db()
    assert (order.status, order.payment_method_type, order.card_last4) == (Order.Status.FULFILLED, "alipay", "")
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1


def test_a_failure_for_an_open_order_with_stripe_out_of_reach_is_applied_as_it_stands(client, paid_order, settings):
    """Stripe is asked whether the failure still holds (the retry may have paid); when it does
    not answer, the event is applied as it stands (as it was when the webhook applied it before
    answering), and the success that follows still fulfils the order, once."""
    order, intent = paid_order
    stale = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}
    settings.STRIPE_API_BASE = NOWHERE

    assert (
        deliver_event(client, event_body("payment_intent.payment_failed", stale)) == f"order {order.public_id}: failed"
    )

    assert StripeEvent.objects.count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED

    assert deliver_event(client, event_body("payment_intent.succeeded", intent)).endswith(": fulfilled")
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


def test_stale_failure_for_a_fulfilled_order_is_stored_without_asking_stripe(client, paid_order, settings):
    order, intent = paid_order
    deliver_event(client, event_body("payment_intent.succeeded", intent))
    stale = {**intent, "status": "requires_payment_method", "last_payment_error": {"message": "declined"}}
    settings.STRIPE_API_BASE = NOWHERE

    outcome = deliver_event(client, event_body("payment_intent.payment_failed", stale))

    assert outcome == f"order {order.public_id}: fulfilled"
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert StripeEvent.objects.count() == 2
