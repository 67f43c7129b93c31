"""Renewing and paying by card against localstripe, through the pages the customer uses."""

from datetime import timedelta

import pytest
from django.urls import reverse

from billing.models import Order
from plans.models import Bucket
from tests.card_payments import pay_by_card, stripe_js_confirm
from tests.factories import price_minor, price_shown

pytestmark = pytest.mark.django_db


def test_renewal_page_shows_plan_price_and_new_expiry(client, customer, line, plans):
    client.force_login(customer)
    page = client.get(reverse("billing:renew", args=[line.pk])).content.decode()
    assert "Renew your current plan" in page
    assert price_shown(plans["basic-10"]) in page
    new_expiry = (line.expires_at + timedelta(days=30)).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    assert new_expiry.strftime("%Y-%m-%d %H:%M") in page


def test_card_payment_renews_the_line_once(client, customer, line, plans, localstripe, card):
    client.force_login(customer)
    old_expiry = line.expires_at
    response = client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    assert response["Location"] == reverse("billing:pay", args=[order.public_id])
    assert order.amount_minor == price_minor(plans["basic-10"])
    assert order.currency == "CNY"
    assert (order.payment_intent_id or "").startswith("pi_")

    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe)
    assert payment.answer["client_secret"] == order.client_secret
    assert payment.status == "fulfilled"
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.card_last4 == "4242"
    assert line.expires_at == old_expiry + timedelta(days=30)
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind="payment_confirmed").count() == 1
    assert "Payment received" in payment.page

    # A second look changes nothing.
    client.get(reverse("billing:order", args=[order.public_id]))
    assert Bucket.objects.filter(line=line).count() == 2


def test_three_d_secure_once_then_the_order_page_fulfils(client, customer, line, localstripe, card):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-30"})
    order = Order.objects.get()
    payment = pay_by_card(client, order, card("3ds"), localstripe=localstripe)
    assert payment.confirmed["paymentIntent"]["status"] == "succeeded"
    assert payment.status == Order.Status.FULFILLED
    assert payment.order.kind == Order.Kind.CHANGE
    assert payment.order.card_last4 == "3155"
    assert "Payment received" in payment.page


def test_declined_card_says_why_and_the_same_order_can_be_paid_again(client, customer, line, localstripe, card):
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    declined = pay_by_card(client, order, card("declined"), localstripe=localstripe)
    assert (declined.error["code"], declined.error["decline_code"]) == ("card_declined", "generic_decline")
    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    order.refresh_from_db()
    assert (order.status, order.failure_code) == (Order.Status.FAILED, "generic_decline")
    assert "Your bank declined the payment." in page

    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe)
    assert payment.status == "fulfilled"
    assert Order.objects.count() == 1


def test_a_decline_the_app_has_not_heard_of_is_recorded_and_a_retry_gets_a_fresh_intent(
    client, customer, line, localstripe, card
):
    """The webhook of the decline is late and the customer did not open the order page: the next
    try finds the failed intent at Stripe, records why, and pays a fresh intent."""
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    first_intent = order.payment_intent_id
    pay_by_card(client, order, card("declined"), localstripe=localstripe)

    answer = client.post(reverse("billing:pay_card", args=[order.public_id])).json()

    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert order.payment_intent_id != first_intent
    assert answer["client_secret"] == order.client_secret
    assert pay_by_card(client, order, card("ok"), localstripe=localstripe).status == "fulfilled"


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
    failed = pay_by_card(client, order, card("3ds"), localstripe=localstripe, three_d_secure=False)
    assert failed.error["code"] == "payment_intent_authentication_failure"

    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert "failed authentication" in order.failure_reason
    assert order.failure_code == "payment_intent_authentication_failure"
    assert "Your bank could not confirm it was you (3-D Secure)." in page
    assert not Bucket.objects.filter(order_item__order=order).exists()

    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe)
    assert payment.status == "fulfilled"
    assert Order.objects.count() == 1
    assert Bucket.objects.filter(order_item__order=order).count() == 1


def test_paying_an_order_paid_meanwhile_sends_the_page_to_the_order(client, customer, line, localstripe, card):
    """Another tab paid it: pay_card gives no client secret, only where to go."""
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    pay_by_card(client, order, card("ok"), localstripe=localstripe)

    answer = client.post(reverse("billing:pay_card", args=[order.public_id])).json()

    assert answer == {"status": "fulfilled", "order_url": reverse("billing:order", args=[order.public_id])}


def test_a_payment_confirmed_at_stripe_the_app_has_not_heard_of_is_fulfilled_by_the_next_press(
    client, customer, line, localstripe, card
):
    """The tab closed after Stripe.js confirmed: pressing Pay again finds the intent paid."""
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    stripe_js_confirm(localstripe, order.client_secret, card("ok"))

    answer = client.post(reverse("billing:pay_card", args=[order.public_id])).json()

    assert answer["status"] == "fulfilled"
    assert "client_secret" not in answer
    assert Bucket.objects.filter(order_item__order=order).count() == 1


def test_the_order_page_that_settles_the_payment_counts_its_notice_in_the_bell(
    client, customer, line, localstripe, card
):
    """The page that asks Stripe and fulfils the order says the confirmation is in the notices:
    its bell counts it, though the account was read before the notice was written."""
    client.force_login(customer)
    client.post(reverse("billing:renew", args=[line.pk]), {"plan": "basic-10"})
    order = Order.objects.get()
    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe)
    assert payment.status == Order.Status.FULFILLED
    assert "A confirmation is in your notices" in payment.page
    assert 'class="bell-count">1<' in payment.page
