"""Renewing and paying by card against localstripe, through the pages the customer uses."""

from datetime import timedelta

import pytest
from django.urls import reverse

from billing.models import Order
from plans.models import Entitlement
from tests.billing.conftest import authenticate

pytestmark = pytest.mark.django_db


def test_renewal_page_shows_plan_price_and_new_expiry(client, customer, line):
    client.force_login(customer)
    page = client.get(reverse("billing:renew", args=[line.pk])).content.decode()
    assert "Renew your current plan" in page
    assert "¥38.00" in page
    new_expiry = (line.expires_at + timedelta(days=30)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert new_expiry.strftime("%Y-%m-%d %H:%M") in page


def test_card_payment_renews_the_line_once(client, customer, line, localstripe, card):
    client.force_login(customer)
    old_expiry = line.expires_at
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    assert response["Location"] == reverse("billing:pay", args=[order.public_id])
    assert order.amount_minor == 3800
    assert order.currency == "CNY"
    assert (order.payment_intent_id or "").startswith("pi_")

    answer = client.post(reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("ok")}).json()
    assert answer["status"] == "fulfilled"
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.card_last4 == "4242"
    assert line.expires_at == old_expiry + timedelta(days=30)
    assert Entitlement.objects.filter(order=order).count() == 1
    assert customer.notices.filter(kind="payment_confirmed").count() == 1

    # The return page and a second look change nothing.
    client.get(reverse("billing:order", args=[order.public_id]))
    client.get(reverse("billing:order", args=[order.public_id]))
    assert Entitlement.objects.filter(line=line).count() == 2


def test_three_d_secure_then_the_order_page_fulfils(client, customer, line, localstripe, card):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-30"})
    order = Order.objects.get()
    answer = client.post(reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("3ds")}).json()
    assert answer["status"] == "requires_action"
    authenticate(localstripe, str(order.payment_intent_id), answer["client_secret"])
    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.kind == Order.Kind.CHANGE
    assert "Payment received" in page


def test_declined_card_says_why_and_the_same_order_can_be_paid_again(client, customer, line, localstripe, card):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    answer = client.post(
        reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("declined")}
    ).json()
    assert answer["status"] == "failed"
    assert "declined" in answer["error"]
    answer = client.post(reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("ok")}).json()
    assert answer["status"] == "fulfilled"
    assert Order.objects.count() == 1


def test_pressing_renew_twice_gives_one_order_and_one_intent(client, customer, line, localstripe):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    [order] = Order.objects.all()
    assert order.payment_intent_id


def test_failed_3d_secure_says_why_and_a_retry_on_the_same_order_pays(client, customer, line, localstripe, card):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    answer = client.post(reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("3ds")}).json()
    assert answer["status"] == "requires_action"
    authenticate(localstripe, str(order.payment_intent_id), answer["client_secret"], success=False)

    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert "failed authentication" in order.failure_reason
    assert "The payment did not go through" in page
    assert not Entitlement.objects.filter(order=order).exists()

    answer = client.post(reverse("billing:pay_card", args=[order.public_id]), {"payment_method": card("ok")}).json()
    assert answer["status"] == "fulfilled"
    assert Order.objects.count() == 1
    assert Entitlement.objects.filter(order=order).count() == 1
