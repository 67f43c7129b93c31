"""Alipay and WeChat Pay, tested at the gateway boundary: localstripe does not implement them, so
these tests use PaymentIntents in the shapes Stripe documents (https://docs.stripe.com/api/payment_intents/object,
https://docs.stripe.com/payments/alipay/accept-a-payment, https://docs.stripe.com/payments/wechat-pay/accept-a-payment)
and signed webhook events made here."""

from typing import Any
from unittest import mock

import pytest
from django.urls import reverse

from accounts.models import Notice
from billing import gateway
from billing.models import Order
from plans.models import Bucket
from tests.billing.stripe_events import deliver_event, event_body, start_order, stripe_get


def alipay_succeeded(*, intent_id: str = "pi_3AlipayOk", amount: int = 3800, currency: str = "cny") -> dict[str, Any]:
    """A PaymentIntent after the customer approved it in Alipay, as Stripe returns it."""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": amount,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_abc",
        "confirmation_method": "automatic",
        "created": 1_700_000_000,
        "currency": currency,
        "customer": "cus_Alipay",
        "last_payment_error": None,
        "latest_charge": "ch_3AlipayOk",
        "livemode": False,
        "metadata": {"order": "BMALIPAY"},
        "next_action": None,
        "payment_method": "pm_1AlipayMethod",
        "payment_method_options": {"alipay": {}},
        "payment_method_types": ["alipay"],
        "status": "succeeded",
    }


def alipay_failed() -> dict[str, Any]:
    """The customer cancelled in the Alipay app: back to requires_payment_method, with the error."""
    return {
        **alipay_succeeded(intent_id="pi_3AlipayNo"),
        "amount_received": 0,
        "latest_charge": None,
        "payment_method": None,
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "status": "requires_payment_method",
        "last_payment_error": {
            "code": "payment_intent_payment_attempt_failed",
            "doc_url": "https://stripe.com/docs/error-codes/payment-intent-payment-attempt-failed",
            "message": "The payment failed.",
            "type": "invalid_request_error",
            "payment_method": {
                "id": "pm_1AlipayMethod",
                "object": "payment_method",
                "alipay": {},
                "billing_details": {"address": None, "email": None, "name": None, "phone": None},
                "created": 1_700_000_000,
                "customer": None,
                "livemode": False,
                "metadata": {},
                "type": "alipay",
            },
        },
    }


def wechat_pay_waiting(*, intent_id: str = "pi_3WechatQr", amount: int = 4200, currency: str = "hkd") -> dict[str, Any]:
    """Confirmed with WeChat Pay: the page shows the QR code Stripe returns until it is scanned."""
    return {
        **alipay_succeeded(intent_id=intent_id, amount=amount, currency=currency),
        "amount_received": 0,
        "latest_charge": None,
        "payment_method": "pm_1WechatMethod",
        "payment_method_options": {"wechat_pay": {"client": "web"}},
        "payment_method_types": ["wechat_pay"],
        "status": "requires_action",
        "next_action": {
            "type": "wechat_pay_display_qr_code",
            "wechat_pay_display_qr_code": {
                "data": "weixin://wxpay/bizpayurl?pr=abc123",
                "hosted_instructions_url": "https://pay.stripe.com/wechat_pay/qr/test_abc",
                "image_data_url": "data:image/png;base64,iVBORw0KGgo=",
                "image_url_png": "https://qr.stripe.com/test_abc.png",
                "image_url_svg": "https://qr.stripe.com/test_abc.svg",
            },
        },
    }


def stripe_answers(*intents: dict[str, Any]) -> Any:
    """Patch the gateway's retrieve so Stripe "says" these intents (localstripe cannot)."""
    by_id = {intent["id"]: gateway.intent_from_data(intent) for intent in intents}
    return mock.patch("billing.gateway.intent_retrieve", side_effect=lambda intent_id: by_id[intent_id])


# --- Creating the intent -----------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["CNY", "HKD", "USD"])
def test_intent_offers_card_alipay_and_wechat_pay_in_each_currency(currency):
    stripe = mock.MagicMock()
    stripe.v1.payment_intents.create.return_value = {
        **alipay_succeeded(currency=currency.lower()),
        "status": "requires_payment_method",
        "payment_method": None,
        "payment_method_types": ["card", "alipay", "wechat_pay"],
    }

    with mock.patch.object(gateway, "client", return_value=stripe):
        intent = gateway.intent_create(
            amount_minor=3800,
            currency=currency,
            customer_id="cus_1",
            order_public_id="BMTEST",
            idempotency_key="order-BMTEST-intent",
            payment_method_types=gateway.methods_for(currency),
        )

    call = stripe.v1.payment_intents.create.call_args
    assert {"card", "alipay", "wechat_pay"} <= set(call.kwargs["params"]["payment_method_types"])
    assert call.kwargs["params"]["currency"] == currency.lower()
    assert call.kwargs["params"]["metadata"] == {"order": "BMTEST"}
    assert call.kwargs["options"] == {"idempotency_key": "order-BMTEST-intent"}
    assert (intent.status, intent.currency) == ("requires_payment_method", currency)


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "amount"), [("CNY", 3800), ("HKD", 4200), ("USD", 550)])
def test_renewing_in_each_currency_asks_stripe_for_the_wallets(client, customer, line, localstripe, currency, amount):
    """The same, through the renewal page, with the real client watched on its way to localstripe."""
    payment_intents = gateway.client().v1.payment_intents
    client.force_login(customer)

    with mock.patch.object(payment_intents, "create", wraps=payment_intents.create) as create:
        client.post(f"{reverse('billing:renew', args=[line.pk])}?currency={currency}", {"plan": "basic-10"})

    order = Order.objects.get()
    assert (order.amount_minor, order.currency) == (amount, currency)
    params = create.call_args.kwargs["params"]
    assert {"card", "alipay", "wechat_pay"} <= set(params["payment_method_types"])
    assert (params["amount"], params["currency"]) == (amount, currency.lower())
    page = client.get(reverse("billing:pay", args=[order.public_id])).content.decode()
    assert "Pay with Alipay" in page
    assert "Pay with WeChat Pay" in page


# --- Reading Stripe's answers -------------------------------------------------------------------


def test_succeeded_alipay_intent_is_read_as_paid_by_alipay():
    intent = gateway.intent_from_data(alipay_succeeded())

    assert intent.succeeded
    assert (intent.id, intent.amount_minor, intent.currency) == ("pi_3AlipayOk", 3800, "CNY")
    assert intent.payment_method_type == "alipay"
    assert intent.payment_method_id == "pm_1AlipayMethod"
    assert intent.customer_id == "cus_Alipay"
    assert intent.metadata == {"order": "BMALIPAY"}
    assert intent.failure_message == ""


def test_failed_alipay_intent_gives_the_reason_and_the_method():
    intent = gateway.intent_from_data(alipay_failed())

    assert intent.status == "requires_payment_method"
    assert intent.payment_method_type == "alipay"
    assert intent.failure_message == "The payment failed."
    assert intent.payment_method_id == ""


def test_wechat_pay_intent_waiting_for_the_qr_code_is_read_as_requires_action():
    intent = gateway.intent_from_data(wechat_pay_waiting())

    assert intent.status == "requires_action"
    assert not intent.succeeded
    assert intent.payment_method_type == "wechat_pay"
    assert (intent.amount_minor, intent.currency) == (4200, "HKD")


# --- Webhooks and the return page -------------------------------------------------------------


@pytest.mark.django_db
def test_alipay_success_webhook_fulfils_the_order_and_the_receipt_says_alipay(client, customer, line, localstripe):
    """Stripe's answer is the documented Alipay intent, given by patching
    ``billing.gateway.intent_retrieve`` (the service asks Stripe, and localstripe has no Alipay)."""
    order = start_order(client, customer, line)
    paid = alipay_succeeded(intent_id=str(order.payment_intent_id))
    paid["metadata"] = {"order": order.public_id}

    with stripe_answers(paid):
        outcome = deliver_event(client, event_body("payment_intent.succeeded", paid))

    assert outcome == f"order {order.public_id}: fulfilled"
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert order.payment_method_type == "alipay"
    assert (order.card_brand, order.card_last4) == ("", "")
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert customer.notices.filter(kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    receipt = client.get(reverse("billing:receipt", args=[order.public_id])).content.decode()
    assert "Alipay" in receipt


@pytest.mark.django_db
def test_failed_alipay_webhook_leaves_the_order_open_with_the_reason(client, customer, line, localstripe):
    order = start_order(client, customer, line)
    failed = {**alipay_failed(), "id": str(order.payment_intent_id)}

    with stripe_answers(failed):
        outcome = deliver_event(client, event_body("payment_intent.payment_failed", failed))

    assert outcome == f"order {order.public_id}: failed"
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert order.failure_reason == "The payment failed."
    assert not Bucket.objects.filter(order_item__order=order).exists()


@pytest.mark.django_db
def test_wechat_pay_qr_code_shown_moves_the_order_to_waiting(client, customer, line, localstripe):
    order = start_order(client, customer, line)
    waiting = wechat_pay_waiting(intent_id=str(order.payment_intent_id), amount=3800, currency="cny")

    with stripe_answers(waiting):
        deliver_event(client, event_body("payment_intent.requires_action", waiting))
        page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.REQUIRES_ACTION
    assert '<meta http-equiv="refresh"' in page


@pytest.mark.django_db
def test_return_page_after_alipay_redirect_trusts_stripe_not_the_query_string(client, customer, line, localstripe):
    order = start_order(client, customer, line)
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    assert intent["status"] == "requires_payment_method"
    returned = (
        f"{reverse('billing:order', args=[order.public_id])}?payment_intent={order.payment_intent_id}"
        f"&payment_intent_client_secret={order.client_secret}&redirect_status=succeeded"
    )

    # Alipay sent the customer back saying "succeeded", but Stripe says the intent is unpaid.
    page = client.get(returned).content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert "Payment received" not in page
    assert '<meta http-equiv="refresh"' in page
    assert not Bucket.objects.filter(order_item__order=order).exists()

    # Once Stripe says succeeded, the same address shows the order paid.
    paid = {**alipay_succeeded(intent_id=str(order.payment_intent_id)), "metadata": {"order": order.public_id}}
    with stripe_answers(paid):
        page = client.get(returned).content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert "Payment received" in page
    assert '<meta http-equiv="refresh"' not in page


@pytest.mark.django_db
def test_return_page_ignores_a_query_string_naming_another_paid_intent(client, customer, line, localstripe):
    order = start_order(client, customer, line)
    unpaid = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    someone_elses = alipay_succeeded(intent_id="pi_3SomeoneElse")
    url = reverse("billing:order", args=[order.public_id])

    # Stripe would call the other intent paid; only the order's own intent counts.
    with stripe_answers(unpaid, someone_elses):
        page = client.get(f"{url}?payment_intent=pi_3SomeoneElse&redirect_status=succeeded").content.decode()

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.payment_intent_id == unpaid["id"]
    assert "Payment received" not in page
