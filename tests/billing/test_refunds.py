"""Staff find orders in the admin and refund them in full; Stripe (localstripe) really refunds."""

from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from billing.models import Order, Refund
from billing.sweeps import refunds_reconcile
from plans.models import Bucket
from tests.billing.test_webhooks import STRIPE_AUTH, start_order
from tests.factories import LineFactory, UserFactory, price_minor, price_shown
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:billing_order_changelist")


def refunds_at_stripe(localstripe: str, order: Order) -> list[dict[str, Any]]:
    response = requests.get(f"{localstripe}/v1/refunds", params={"limit": 100}, auth=STRIPE_AUTH, timeout=10)
    response.raise_for_status()
    return [refund for refund in response.json()["data"] if refund["payment_intent"] == order.payment_intent_id]


def refund_in_admin(client: Client, *orders: Order) -> list[str]:
    """Tick the orders in the admin list, run the refund action; the messages shown after."""
    response = client.post(
        CHANGELIST, {"action": "refund_in_full", "_selected_action": [order.pk for order in orders]}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def test_staff_refund_refunds_at_stripe_and_takes_back_the_bucket(
    client, staff, customer, line, plans, fulfilled_order, localstripe
):
    expiry_before_renewal = line.expires_at
    line.refresh_from_db()
    assert line.expires_at == expiry_before_renewal + timedelta(days=30)
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, fulfilled_order)

    assert shown == [f"{fulfilled_order.public_id}: refunded {price_shown(plans['basic-10'])}."]
    [refund] = refunds_at_stripe(localstripe, fulfilled_order)
    assert (refund["amount"], refund["status"]) == (price_minor(plans["basic-10"]), "succeeded")
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert fulfilled_order.refunded_at is not None
    bucket = Bucket.objects.get(order_item__order=fulfilled_order)
    assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)
    line.refresh_from_db()
    assert line.expires_at == expiry_before_renewal
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


def test_second_refund_is_refused_with_a_message_and_no_second_stripe_refund(
    client, staff, customer, fulfilled_order, localstripe
):
    log_in_with_second_step(client, staff)
    refund_in_admin(client, fulfilled_order)

    shown = refund_in_admin(client, fulfilled_order)

    assert shown == [f"{fulfilled_order.public_id}: This order is already refunded."]
    assert len(refunds_at_stripe(localstripe, fulfilled_order)) == 1
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


def test_refunding_a_pending_order_is_refused(client, staff, customer, line, localstripe):
    order = start_order(Client(), customer, line)
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, order)

    assert shown == [f"{order.public_id}: Only a paid order can be refunded."]
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert refunds_at_stripe(localstripe, order) == []


def test_each_selected_order_is_refunded_or_refused_on_its_own(client, staff, customer, fulfilled_order, localstripe):
    pending = start_order(Client(), customer, LineFactory.create(owner=customer), plan="topup-5")
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, fulfilled_order, pending)

    assert sorted(shown) == sorted(
        [f"{fulfilled_order.public_id}: refunded ¥38.00.", f"{pending.public_id}: Only a paid order can be refunded."]
    )
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED


def test_stripe_unreachable_during_a_refund_records_it_as_requested_and_the_sweep_refunds_it_once(
    client, staff, fulfilled_order, localstripe, settings
):
    log_in_with_second_step(client, staff)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    shown = refund_in_admin(client, fulfilled_order)

    assert shown == [
        f"{fulfilled_order.public_id}: refund of ¥38.00 requested, but the payment service has not answered yet. "
        "It is asked again within minutes; do not refund again."
    ]
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED
    assert Bucket.objects.get(order_item__order=fulfilled_order).data_left > 0
    [refund] = Refund.objects.filter(order=fulfilled_order)
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.REQUESTED, None)
    # Pressed again while it is open: the same refund, still not a second one.
    assert refund_in_admin(client, fulfilled_order) == shown
    assert Refund.objects.filter(order=fulfilled_order).count() == 1

    settings.STRIPE_API_BASE = localstripe
    result = refunds_reconcile(now=timezone.now() + timedelta(minutes=2))

    assert result["succeeded"] == 1
    [at_stripe] = refunds_at_stripe(localstripe, fulfilled_order)
    refund.refresh_from_db()
    fulfilled_order.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.SUCCEEDED, at_stripe["id"])
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert Bucket.objects.get(order_item__order=fulfilled_order).data_left == 0


def test_staff_who_may_only_view_orders_are_not_offered_the_refund(client, fulfilled_order, localstripe):
    viewer = UserFactory.create(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    log_in_with_second_step(client, viewer)

    page = client.get(CHANGELIST)
    shown = refund_in_admin(client, fulfilled_order)

    assert page.status_code == 200
    assert fulfilled_order.public_id in page.content.decode()
    assert "refund_in_full" not in page.content.decode()
    assert shown == []
    assert refunds_at_stripe(localstripe, fulfilled_order) == []
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED


# --- Looking orders up ------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["public_id", "phone", "payment_intent_id"])
def test_staff_find_an_order_by_id_phone_or_payment_intent(client, staff, customer, plans, fulfilled_order, term):
    query = {
        "public_id": fulfilled_order.public_id,
        "phone": str(customer.phone.as_e164),
        "payment_intent_id": fulfilled_order.payment_intent_id,
    }[term]
    log_in_with_second_step(client, staff)

    page = client.get(CHANGELIST, {"q": query}).content.decode()

    assert fulfilled_order.public_id in page
    assert price_shown(plans["basic-10"]) in page


def test_orders_are_read_only_in_the_admin(client, staff, plans, fulfilled_order):
    log_in_with_second_step(client, staff)
    change = reverse("admin:billing_order_change", args=[fulfilled_order.pk])

    page = client.get(change)
    posted = client.post(change, {"status": "pending", "amount_minor": "1"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert client.get(reverse("admin:billing_order_add")).status_code == 403
    assert client.get(reverse("admin:billing_order_delete", args=[fulfilled_order.pk])).status_code == 403
    fulfilled_order.refresh_from_db()
    assert (fulfilled_order.status, fulfilled_order.amount_minor) == (
        Order.Status.FULFILLED,
        price_minor(plans["basic-10"]),
    )


@pytest.mark.parametrize("model", ["stripeevent", "paymentprofile"])
def test_stripe_events_and_payment_profiles_are_read_only(client, staff, fulfilled_order, model):
    log_in_with_second_step(client, staff)

    assert client.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:billing_{model}_add")).status_code == 403
