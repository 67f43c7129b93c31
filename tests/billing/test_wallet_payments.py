"""Alipay and WeChat Pay end to end on the local Stripe: the pay page posts the method, the
server confirms the order's intent, the customer finishes on the wallet's test page (as in
Stripe's test mode), and the order page or the webhook fulfils the order once."""

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice, User
from billing import gateway, services
from billing.models import Order, PaymentProfile, Refund
from billing.sweeps import refunds_reconcile
from plans.models import Bucket, Line
from tests.billing.stripe_events import deliver_event, event_body, start_order, stripe_get
from tests.billing.test_localstripe_wallets import press
from tests.card_payments import card_prepare, pay_by_card

pytestmark = pytest.mark.django_db


def pay_with(client: Client, order: Order, method: str) -> Any:
    response = client.post(reverse("billing:pay_wallet", args=[order.public_id]), {"method": method})
    assert response.status_code == 302, response.content[:300]
    return response


def paid_once(customer: User, order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED, key=f"order-fulfilled:{order.pk}").count() == 1


def test_alipay_sends_the_customer_to_alipay_and_the_return_page_shows_it_paid(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    order = start_order(client, customer, line)

    response = pay_with(client, order, gateway.ALIPAY)
    page = client.get(response["Location"]).content.decode()

    order.refresh_from_db()
    assert response["Location"] == reverse("billing:order", args=[order.public_id]) + "?go=1"
    assert order.status == Order.Status.REQUIRES_ACTION
    assert order.payment_method_type == gateway.ALIPAY
    alipay_url = order.action["url"]
    assert order.action["type"] == "alipay_handle_redirect"
    assert f'data-go="{alipay_url}"' in page  # the page's script goes there at once
    assert "Continue to Alipay" in page

    back = press(alipay_url, "Authorize test payment")
    assert back.status_code == 303
    returned = urlsplit(back.headers["Location"])
    assert returned.path == reverse("billing:order", args=[order.public_id])
    assert "redirect_status=succeeded" in returned.query
    page = client.get(f"{returned.path}?{returned.query}").content.decode()

    paid_once(customer, order)
    assert "Payment received" in page
    assert "data-go" not in page
    receipt = client.get(reverse("billing:receipt", args=[order.public_id])).content.decode()
    assert "Alipay" in receipt


def test_alipay_failed_then_card_on_the_same_order_makes_one_payment(
    client: Client, customer: User, line: Line, localstripe: str, card: Any
) -> None:
    order = start_order(client, customer, line)
    pay_with(client, order, gateway.ALIPAY)
    order.refresh_from_db()

    back = press(order.action["url"], "Fail test payment")
    returned = urlsplit(back.headers["Location"])
    page = client.get(f"{returned.path}?{returned.query}").content.decode()

    order.refresh_from_db()
    assert "redirect_status=failed" in returned.query
    assert order.status == Order.Status.FAILED
    assert "Pay by card" in page
    assert "Try again" in page
    assert not Bucket.objects.filter(order_item__order=order).exists()

    assert pay_by_card(client, order, card("ok"), localstripe=localstripe).order.status == Order.Status.FULFILLED
    paid_once(customer, order)
    assert Order.objects.filter(line=line).count() == 1


def test_wechat_pay_draws_the_qr_code_and_the_webhook_moves_the_order_to_paid(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    order = start_order(client, customer, line)

    response = pay_with(client, order, gateway.WECHAT_PAY)
    page = client.get(response["Location"]).content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.REQUIRES_ACTION
    assert order.action["type"] == "wechat_pay_display_qr_code"
    assert order.action["qr_data"]
    assert '<div class="qr"' in page
    assert "<svg" in page  # drawn by the server, no image from elsewhere
    assert "Scan with WeChat to pay" in page
    assert "The code works until" in page
    assert order.action["url"] in page  # test mode: the link to Stripe's test page
    status_url = reverse("billing:order_status", args=[order.public_id])
    assert f'data-status-url="{status_url}"' in page
    assert client.get(status_url).json() == {"status": "requires_action", "final": False}

    # The customer scans and pays; Stripe's webhook arrives while the page is open.
    press(order.action["qr_data"], "Authorize test payment")
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert (
        deliver_event(client, event_body("payment_intent.succeeded", intent)) == f"order {order.public_id}: fulfilled"
    )

    assert client.get(status_url).json() == {"status": "fulfilled", "final": True}
    paid_once(customer, order)
    order.refresh_from_db()
    assert (order.payment_method_type, order.action) == (gateway.WECHAT_PAY, {})


def test_an_expired_wechat_pay_code_is_replaced_by_a_fresh_one_that_pays(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    requests.post(f"{localstripe}/_config/boom/wechat_pay", data={"qr_seconds": "1"}, timeout=10).raise_for_status()
    order = start_order(client, customer, line)
    pay_with(client, order, gateway.WECHAT_PAY)
    order.refresh_from_db()
    first_code = order.action["qr_data"]

    time.sleep(2.5)  # the code's lifetime, set above, passes: Stripe fails the attempt
    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert "Try again" in page

    requests.post(f"{localstripe}/_config/boom/wechat_pay", data={"qr_seconds": "300"}, timeout=10).raise_for_status()
    pay_with(client, order, gateway.WECHAT_PAY)
    order.refresh_from_db()
    assert order.status == Order.Status.REQUIRES_ACTION
    assert order.action["qr_data"] != first_code
    press(order.action["qr_data"], "Authorize test payment")
    client.get(reverse("billing:order", args=[order.public_id]))

    paid_once(customer, order)


def test_a_wallet_that_cannot_take_the_orders_currency_is_refused(
    client: Client, customer: User, line: Line, localstripe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(gateway.METHOD_CURRENCIES, gateway.WECHAT_PAY, {"HKD"})
    order = start_order(client, customer, line)  # in CNY

    pay_page = client.get(reverse("billing:pay", args=[order.public_id])).content.decode()
    response = client.post(reverse("billing:pay_wallet", args=[order.public_id]), {"method": "wechat_pay"}, follow=True)

    assert 'value="wechat_pay"' not in pay_page
    assert 'value="alipay"' in pay_page
    assert "This payment method cannot take this currency." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING


def test_a_wallet_refund_is_pending_until_stripe_confirms_it(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    order = start_order(client, customer, line)
    pay_with(client, order, gateway.ALIPAY)
    order.refresh_from_db()
    back = urlsplit(press(order.action["url"], "Authorize test payment").headers["Location"])
    client.get(f"{back.path}?{back.query}")

    refund = services.order_refund(order=Order.objects.get(pk=order.pk))
    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()

    assert refund.status == Refund.Status.PENDING
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert "is on its way" in page

    time.sleep(2.5)  # Stripe settles a wallet refund a moment later
    refunds_reconcile(now=timezone.now() + timedelta(minutes=2))
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (refund.status, order.status) == (Refund.Status.SUCCEEDED, Order.Status.REFUNDED)


def test_a_customer_who_ticked_save_card_can_still_pay_with_a_wallet(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    """ "Save this card" is set for the card alone: WeChat Pay, which Stripe cannot keep for later,
    still pays the same intent."""
    order = start_order(client, customer, line)
    card_prepare(client, order.public_id, save_card=True)

    pay_with(client, order, gateway.WECHAT_PAY)
    order.refresh_from_db()
    press(order.action["qr_data"], "Authorize test payment")
    client.get(reverse("billing:order", args=[order.public_id]))

    paid_once(customer, order)
    assert not PaymentProfile.objects.get(user=customer).has_card
