"""Disputes tell staff and take nothing from the customer; wallet refunds stop at Stripe's window.

Dispute events are signed here exactly as Stripe signs them, carrying Stripe's documented dispute
object, about payments that really succeeded on localstripe."""

import secrets
import time
import zoneinfo
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import EmailDelivery, StaffAlert
from accounts.outbox import email_send, outbox_due
from billing import gateway, services, tasks
from billing.models import Dispute, Order, Refund, StripeEvent
from plans.models import Bucket
from tests.billing.refund_pages import refund_in_admin, refunds_at_stripe
from tests.billing.stripe_events import deliver_event, event_body, post_event, start_order, stripe_get
from tests.billing.test_refunds import CHANGELIST
from tests.factories import price_minor
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

DUE_BY = int(time.time()) + 10 * 24 * 3600


def charge_of(localstripe: str, order: Order) -> str:
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    return str(intent["charges"]["data"][0]["id"])


def dispute_object(order: Order, charge_id: str, **changes: Any) -> dict[str, Any]:
    """Stripe's dispute object, as its API reference documents it."""
    dispute = {
        "id": "dp_" + secrets.token_hex(12),
        "object": "dispute",
        "amount": order.amount_minor,
        "currency": order.currency.lower(),
        "charge": charge_id,
        "payment_intent": order.payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": DUE_BY, "has_evidence": False, "past_due": False, "submission_count": 0},
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "created": int(time.time()),
    }
    dispute.update(changes)
    return dispute


def staff_emails() -> list[EmailDelivery]:
    return list(EmailDelivery.objects.filter(staff_alert__isnull=False))


# --- A dispute opens ---------------------------------------------------------------------------


def test_dispute_marks_the_order_disputed_keeps_the_bucket_and_emails_staff(
    client, customer, plans, fulfilled_order, localstripe, mailoutbox
):
    order = fulfilled_order
    bucket = Bucket.objects.get(order_item__order=order)
    charge_id = charge_of(localstripe, order)
    dispute = dispute_object(order, charge_id)

    outcome = deliver_event(client, event_body("charge.dispute.created", dispute))

    assert outcome == f"order {order.public_id}: dispute {dispute['id']} needs_response"
    [recorded] = Dispute.objects.all()
    assert recorded.order == order
    assert (recorded.stripe_dispute_id, recorded.charge_id, recorded.status, recorded.reason) == (
        dispute["id"],
        charge_id,
        Dispute.Status.NEEDS_RESPONSE,
        "fraudulent",
    )
    assert (recorded.amount_minor, recorded.currency) == (price_minor(plans["basic-10"]), "CNY")
    assert recorded.evidence_due_by is not None
    assert int(recorded.evidence_due_by.timestamp()) == DUE_BY
    # The customer keeps what was paid for until staff decide.
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.get(order_item__order=order).data_left == bucket.data_left > 0
    assert not Refund.objects.exists()
    # One email to staff, written with the dispute and left to the outbox (task, or sweep).
    [delivery] = staff_emails()
    assert (delivery.to, delivery.status) == (settings.SUPPORT_EMAIL, EmailDelivery.Status.PENDING)
    assert delivery.staff_alert is not None
    assert delivery.staff_alert.kind == StaffAlert.Kind.DISPUTE
    assert delivery.pk in outbox_due(now=timezone.now() + timedelta(minutes=3))
    assert customer.notices.count() == 1  # the payment confirmation only: the customer is not told

    assert email_send(delivery_id=delivery.pk) == "sent"

    [email] = mailoutbox
    assert email.to == [settings.SUPPORT_EMAIL]
    assert order.public_id in email.subject
    admin_link = settings.SITE_URL.rstrip("/") + reverse("admin:billing_order_change", args=[order.pk])
    html = email.alternatives[0][0]
    for text in (email.body, html):
        assert order.public_id in text
        assert str(customer.phone) in text
        assert "38.00" in text
        assert "fraudulent" in text
        assert admin_link in text
    due = timezone.localtime(recorded.evidence_due_by, zoneinfo.ZoneInfo(settings.CUSTOMER_DEFAULT_TIME_ZONE))
    assert f"{due:%Y-%m-%d %H:%M}" in email.body


def test_staff_email_is_in_the_site_language(client, fulfilled_order, localstripe, mailoutbox):
    deliver_event(client, event_body("charge.dispute.created", dispute_object(fulfilled_order, "ch_x")))
    [delivery] = staff_emails()

    email_send(delivery_id=delivery.pk)

    assert settings.LANGUAGE_CODE == "zh-hans"
    assert "付款争议" in mailoutbox[0].subject
    assert "举证截止" in mailoutbox[0].body


def test_the_same_dispute_again_changes_nothing_more(client, fulfilled_order, localstripe):
    dispute = dispute_object(fulfilled_order, charge_of(localstripe, fulfilled_order))
    body = event_body("charge.dispute.created", dispute)
    deliver_event(client, body)

    again = deliver_event(client, body)
    other_event = deliver_event(client, event_body("charge.dispute.created", dispute))

    assert again == "duplicate"
    assert other_event == f"order {fulfilled_order.public_id}: dispute {dispute['id']} needs_response"
    assert Dispute.objects.count() == 1
    assert len(staff_emails()) == 1
    assert StaffAlert.objects.count() == 1
    assert StripeEvent.objects.filter(type="charge.dispute.created").count() == 2


def test_dispute_status_only_moves_forward_and_staff_are_told_once(client, fulfilled_order, localstripe):
    dispute = dispute_object(fulfilled_order, charge_of(localstripe, fulfilled_order))
    # Stripe's events arrive out of order: the update first, then the close, then the opening.
    deliver_event(client, event_body("charge.dispute.updated", {**dispute, "status": "under_review"}))
    assert Dispute.objects.get().status == Dispute.Status.UNDER_REVIEW
    deliver_event(client, event_body("charge.dispute.closed", {**dispute, "status": "won"}))
    assert Dispute.objects.get().status == Dispute.Status.WON

    deliver_event(client, event_body("charge.dispute.created", dispute))
    deliver_event(client, event_body("charge.dispute.updated", {**dispute, "status": "under_review"}))

    assert Dispute.objects.get().status == Dispute.Status.WON
    assert len(staff_emails()) == 1
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED


def test_dispute_naming_only_its_charge_is_matched_through_stripe(client, fulfilled_order, localstripe):
    dispute = dispute_object(fulfilled_order, charge_of(localstripe, fulfilled_order), payment_intent=None)

    outcome = deliver_event(client, event_body("charge.dispute.created", dispute))

    assert outcome == f"order {fulfilled_order.public_id}: dispute {dispute['id']} needs_response"
    assert Dispute.objects.get().order == fulfilled_order
    assert len(staff_emails()) == 1


def test_dispute_naming_only_its_charge_waits_when_stripe_does_not_answer(
    client, fulfilled_order, localstripe, settings
):
    dispute = dispute_object(fulfilled_order, charge_of(localstripe, fulfilled_order), payment_intent=None)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    response = post_event(client, event_body("charge.dispute.created", dispute))

    # Stored and answered; the task finds Stripe silent and is tried again later (a retry with
    # back-off in the worker), the event left unprocessed for the next try or the sweep.
    assert response.status_code == 200
    stored = StripeEvent.objects.get()
    with pytest.raises(gateway.GatewayUnavailable):
        tasks.stripe_event_process_task(stored.pk)
    stored.refresh_from_db()
    assert stored.processed_at is None
    assert not Dispute.objects.exists()

    settings.STRIPE_API_BASE = localstripe  # Stripe answers again: the next try records it
    assert tasks.stripe_event_process_task(stored.pk).endswith("needs_response")
    assert Dispute.objects.get().order == fulfilled_order
    assert StripeEvent.objects.get().payment_intent_id == fulfilled_order.payment_intent_id


def test_dispute_for_an_unknown_intent_is_stored_and_ignored(client, fulfilled_order, localstripe):
    dispute = dispute_object(fulfilled_order, "ch_elsewhere", payment_intent="pi_not_ours")

    outcome = deliver_event(client, event_body("charge.dispute.created", dispute))

    assert outcome == "unknown intent"
    assert StripeEvent.objects.get().outcome == "unknown intent"
    assert not Dispute.objects.exists()
    assert staff_emails() == []


# --- Staff see it in the admin ------------------------------------------------------------------


def test_admin_lists_disputed_orders_and_shows_the_dispute_on_the_order(
    client, staff, customer, fulfilled_order, localstripe
):
    other = start_order(Client(), customer, fulfilled_order.line, plan="topup-5")
    dispute = dispute_object(fulfilled_order, charge_of(localstripe, fulfilled_order))
    deliver_event(client, event_body("charge.dispute.created", dispute))
    log_in_with_second_step(client, staff)

    disputed = client.get(CHANGELIST, {"disputed": "yes"}).content.decode()
    undisputed = client.get(CHANGELIST, {"disputed": "no"}).content.decode()
    page = client.get(reverse("admin:billing_order_change", args=[fulfilled_order.pk])).content.decode()

    assert fulfilled_order.public_id in disputed
    assert other.public_id not in disputed
    assert other.public_id in undisputed
    assert fulfilled_order.public_id not in undisputed
    assert dispute["id"] in page
    assert "Needs a response" in page
    assert "fraudulent" in page


# --- Refund windows -----------------------------------------------------------------------------


def paid_by(order: Order, method: str, days_ago: int) -> Order:
    # Noon UTC: the same calendar day in UTC and in the customers' zone.
    paid_at = (timezone.now() - timedelta(days=days_ago)).replace(hour=12, minute=0, second=0, microsecond=0)
    Order.objects.filter(pk=order.pk).update(payment_method_type=method, paid_at=paid_at)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(
    ("method", "days_ago", "name", "window"),
    [("alipay", 91, "Alipay", 90), ("wechat_pay", 181, "WeChat Pay", 180)],
)
def test_wallet_refund_past_its_window_is_refused_and_stripe_is_not_asked(
    fulfilled_order, localstripe, method, days_ago, name, window
):
    order = paid_by(fulfilled_order, method, days_ago)

    with pytest.raises(ValidationError) as refused:
        services.order_refund(order=order, reason="test")

    assert refused.value.messages == [
        f"{name} payments can be refunded up to {window} days after payment; "
        f"this one was paid on {order.paid_at:%Y-%m-%d}."
    ]
    assert not Refund.objects.exists()
    assert refunds_at_stripe(localstripe, order) == []
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


@pytest.mark.parametrize(("method", "days_ago"), [("alipay", 89), ("wechat_pay", 179), ("card", 400)])
def test_refund_inside_the_window_goes_ahead(fulfilled_order, localstripe, method, days_ago):
    order = paid_by(fulfilled_order, method, days_ago)

    refund = services.order_refund(order=order, reason="test")

    assert refund.status == Refund.Status.SUCCEEDED
    assert len(refunds_at_stripe(localstripe, order)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_admin_shows_the_refund_window_refusal(client, staff, fulfilled_order, localstripe):
    order = paid_by(fulfilled_order, "alipay", 120)
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, order)

    assert shown == [
        f"Alipay payments can be refunded up to 90 days after payment; this one was paid on {order.paid_at:%Y-%m-%d}."
    ]
    assert not Refund.objects.exists()


def test_refund_window_refusal_is_translated(fulfilled_order, localstripe):
    order = paid_by(fulfilled_order, "wechat_pay", 200)

    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        services.order_refund(order=order, reason="test")

    [message] = refused.value.messages
    assert "微信支付" in message
    assert "180" in message
    assert f"{order.paid_at:%Y-%m-%d}" in message
