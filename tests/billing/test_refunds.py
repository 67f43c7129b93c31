"""Staff find orders in the admin and refund them from the order's page, through a confirmation;
Stripe (localstripe) really refunds. Partial refunds, reasons and the audit trail:
``test_refund_page.py``."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from billing import services
from billing.models import Order, Refund
from billing.sweeps import refunds_reconcile
from plans.models import Bucket
from tests.billing.refund_pages import (
    confirmation,
    messages_shown,
    order_url,
    refund_in_admin,
    refund_preview,
    refund_url,
    refunds_at_stripe,
)
from tests.billing.stripe_events import start_order
from tests.factories import LineFactory, UserFactory, price_minor, price_shown
from tests.security.helpers import log_in_with_second_step

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:billing_order_changelist")


def test_staff_refund_refunds_at_stripe_and_takes_back_the_bucket(
    client, staff, customer, line, plans, fulfilled_order, localstripe
):
    expiry_before_renewal = line.expires_at
    line.refresh_from_db()
    assert line.expires_at == expiry_before_renewal + timedelta(days=30)
    log_in_with_second_step(client, staff)

    shown = refund_in_admin(client, fulfilled_order)

    [refund] = refunds_at_stripe(localstripe, fulfilled_order)
    assert shown == [f"Refunded {price_shown(plans['basic-10'])} (refund {refund['id']})."]
    assert (refund["amount"], refund["status"], refund["reason"]) == (
        price_minor(plans["basic-10"]),
        "succeeded",
        "requested_by_customer",
    )
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.REFUNDED
    assert fulfilled_order.refunded_at is not None
    bucket = Bucket.objects.get(order_item__order=fulfilled_order)
    assert (bucket.data_left, bucket.voice_left, bucket.sms_left) == (0, 0, 0)
    line.refresh_from_db()
    assert line.expires_at == expiry_before_renewal
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


def test_a_refunded_order_offers_no_second_refund_and_stripe_makes_no_second(
    client, staff, customer, fulfilled_order, localstripe
):
    log_in_with_second_step(client, staff)
    refund_in_admin(client, fulfilled_order)

    page = client.get(order_url(fulfilled_order)).content.decode()
    again = client.get(refund_url(fulfilled_order), follow=True)

    assert refund_url(fulfilled_order) not in page
    assert again.redirect_chain[-1][0] == order_url(fulfilled_order)
    assert messages_shown(again) == ["This order is already refunded."]
    with pytest.raises(ValidationError, match="already refunded"):
        services.order_refund(order=fulfilled_order)
    assert len(refunds_at_stripe(localstripe, fulfilled_order)) == 1
    assert customer.notices.filter(kind=Notice.Kind.REFUNDED).count() == 1


def test_refunding_a_pending_order_is_refused(client, staff, customer, line, localstripe):
    order = start_order(Client(), customer, line)
    log_in_with_second_step(client, staff)

    page = client.get(order_url(order)).content.decode()
    shown = client.get(refund_url(order), follow=True)

    assert refund_url(order) not in page
    assert messages_shown(shown) == ["Only a paid order can be refunded."]
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert refunds_at_stripe(localstripe, order) == []


def test_the_list_action_opens_one_orders_refund_page_and_never_refunds_in_bulk(
    client, staff, customer, fulfilled_order, localstripe
):
    other = start_order(Client(), customer, LineFactory.create(owner=customer), plan="topup-5")
    log_in_with_second_step(client, staff)

    one = client.post(CHANGELIST, {"action": "refund", "_selected_action": [fulfilled_order.pk]})
    both = client.post(
        CHANGELIST, {"action": "refund", "_selected_action": [fulfilled_order.pk, other.pk]}, follow=True
    )

    assert (one.status_code, one["Location"]) == (302, refund_url(fulfilled_order))
    assert messages_shown(both) == ["Refund one order at a time: select just one."]
    assert refunds_at_stripe(localstripe, fulfilled_order) == []
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED


def test_stripe_unreachable_during_a_refund_records_it_as_requested_and_the_sweep_refunds_it_once(
    client, staff, fulfilled_order, localstripe, settings
):
    log_in_with_second_step(client, staff)
    confirm = confirmation(refund_preview(client, fulfilled_order))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    shown = messages_shown(client.post(refund_url(fulfilled_order), confirm, follow=True))

    assert shown == [
        "Refund of ¥38.00 requested, but the payment service has not answered yet. "
        "It is asked again within minutes; do not refund again."
    ]
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED
    assert Bucket.objects.get(order_item__order=fulfilled_order).data_left > 0
    [refund] = Refund.objects.filter(order=fulfilled_order)
    assert (refund.status, refund.stripe_refund_id) == (Refund.Status.REQUESTED, None)
    # The same confirmation again: the same refund, still not a second one.
    assert messages_shown(client.post(refund_url(fulfilled_order), confirm, follow=True)) == shown
    # A new one while it is open: refused, with why.
    assert messages_shown(client.get(refund_url(fulfilled_order), follow=True)) == [
        "Nothing is left to refund of this order."
    ]
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

    listed = client.get(CHANGELIST).content.decode()
    page = client.get(order_url(fulfilled_order)).content.decode()
    acted = client.post(CHANGELIST, {"action": "refund", "_selected_action": [fulfilled_order.pk]})

    assert fulfilled_order.public_id in listed
    assert 'value="refund"' not in listed
    assert refund_url(fulfilled_order) not in page
    assert client.get(refund_url(fulfilled_order)).status_code == 403
    assert (
        client.post(refund_url(fulfilled_order), {"reason": "other", "amount": "1", "_confirm": "1"}).status_code == 403
    )
    assert acted.get("Location") != refund_url(fulfilled_order)
    assert refunds_at_stripe(localstripe, fulfilled_order) == []
    fulfilled_order.refresh_from_db()
    assert fulfilled_order.status == Order.Status.FULFILLED


def test_refunding_needs_the_pages_csrf_token(staff, fulfilled_order, localstripe):
    browser = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    log_in_with_second_step(browser, staff)

    posted = browser.post(
        refund_url(fulfilled_order), {"reason": "goodwill", "amount": "38.00", "key": "k" * 32, "_confirm": "1"}
    )

    assert posted.status_code == 403
    assert refunds_at_stripe(localstripe, fulfilled_order) == []


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
