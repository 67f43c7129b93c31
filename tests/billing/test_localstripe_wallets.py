"""Alipay, WeChat Pay, setup_future_usage, wallet refunds and disputes as the project's launcher
adds them to localstripe (billing/localstripe_extras/), driven by the real stripe SDK through
``billing.gateway.client()`` and plain HTTP for the wallet test page, as a browser would."""

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from billing import gateway
from tests.billing.test_localstripe_extras import Receiver, receiving

RETURN_URL = "https://boom.example/billing/orders/BM123/?from=alipay"
EVENTS = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "refund.updated",
    "charge.refund.updated",
    "charge.dispute.created",
]


@pytest.fixture
def wallet_events(localstripe: str) -> Iterator[Receiver]:
    with receiving(localstripe, "wallets-test", EVENTS) as found:
        yield found


def wallet_intent(sdk: Any, customer: str, amount: int = 3800) -> Any:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "cny",
        "customer": customer,
        "payment_method_types": ["card", "alipay", "wechat_pay"],
        "metadata": {"order": "BM123"},
    }
    return sdk.v1.payment_intents.create(params=params, options={"idempotency_key": f"order-{amount}-{customer}"})


def alipay_confirm(sdk: Any, intent_id: str) -> Any:
    return sdk.v1.payment_intents.confirm(
        intent_id, params={"payment_method_data": {"type": "alipay"}, "return_url": RETURN_URL}
    )


def wechat_confirm(sdk: Any, intent_id: str) -> Any:
    return sdk.v1.payment_intents.confirm(
        intent_id,
        params={
            "payment_method_data": {"type": "wechat_pay"},
            "payment_method_options": {"wechat_pay": {"client": "web"}},
        },
    )


def press(page_url: str, button: str) -> requests.Response:
    """Press a button on the test page as a browser would: read the page, post its form."""
    page = requests.get(page_url, timeout=10)
    assert page.status_code == 200
    forms = dict(
        (label, action)
        for action, label in re.findall(r'<form method="post" action="([^"]+)"><button[^>]*>([^<]+)<', page.text)
    )
    return requests.post(requests.compat.urljoin(page_url, forms[button]), allow_redirects=False, timeout=10)


# --- Alipay -------------------------------------------------------------------------------------


def test_alipay_confirm_answers_the_documented_redirect(sdk, stripe_customer, localstripe):
    intent = wallet_intent(sdk, stripe_customer)
    assert intent.payment_method_types == ["card", "alipay", "wechat_pay"]

    confirmed = alipay_confirm(sdk, intent.id)

    assert confirmed.status == "requires_action"
    action = confirmed.next_action.to_dict()
    assert action["type"] == "alipay_handle_redirect"
    redirect = action["alipay_handle_redirect"]
    assert redirect["url"].startswith(f"{localstripe}/_boom/wallet/{intent.id}/")
    assert redirect["return_url"] == RETURN_URL
    assert redirect["native_data"] is None
    method = sdk.v1.payment_methods.retrieve(confirmed.payment_method)
    assert method.type == "alipay"
    page = requests.get(redirect["url"], timeout=10)
    assert "38.00 CNY" in page.text
    assert "Alipay" in page.text
    assert "Authorize test payment" in page.text
    assert "Fail test payment" in page.text


def test_alipay_authorize_succeeds_redirects_to_return_url_and_sends_succeeded(sdk, stripe_customer, wallet_events):
    intent = wallet_intent(sdk, stripe_customer)
    url = alipay_confirm(sdk, intent.id).next_action.alipay_handle_redirect.url

    answer = press(url, "Authorize test payment")

    assert answer.status_code == 303
    back = urlsplit(answer.headers["Location"])
    assert back._replace(query="").geturl() == "https://boom.example/billing/orders/BM123/"
    assert parse_qs(back.query) == {
        "from": ["alipay"],
        "payment_intent": [intent.id],
        "payment_intent_client_secret": [intent.client_secret],
        "redirect_status": ["succeeded"],
    }
    paid = gateway.intent_retrieve(intent.id)
    assert paid.status == "succeeded"
    assert gateway.card_details(paid.payment_method_id).type == "alipay"
    charge = sdk.v1.payment_intents.retrieve(intent.id).to_dict()["latest_charge"]
    assert charge["status"] == "succeeded"
    assert charge["amount"] == 3800
    (event,) = wallet_events.events_about(intent.id, 1)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object["status"] == "succeeded"


def test_alipay_fail_sends_payment_failed_and_redirects_failed(sdk, stripe_customer, wallet_events):
    intent = wallet_intent(sdk, stripe_customer)
    url = alipay_confirm(sdk, intent.id).next_action.alipay_handle_redirect.url

    answer = press(url, "Fail test payment")

    assert parse_qs(urlsplit(answer.headers["Location"]).query)["redirect_status"] == ["failed"]
    failed = sdk.v1.payment_intents.retrieve(intent.id)
    assert failed.status == "requires_payment_method"
    assert failed.payment_method is None
    error = failed.last_payment_error.to_dict()
    assert error["code"] == "payment_intent_payment_attempt_failed"
    assert error["message"]
    assert error["payment_method"]["type"] == "alipay"
    assert gateway.intent_from_data(failed).payment_method_type == "alipay"
    (event,) = wallet_events.events_about(intent.id, 1)
    assert event.type == "payment_intent.payment_failed"
    assert event.data.object["last_payment_error"]["code"] == "payment_intent_payment_attempt_failed"


def test_second_click_on_the_test_page_answers_a_clear_page_and_changes_nothing(sdk, stripe_customer):
    intent = wallet_intent(sdk, stripe_customer)
    url = alipay_confirm(sdk, intent.id).next_action.alipay_handle_redirect.url
    press(url, "Authorize test payment")

    again = requests.post(f"{url}/fail", allow_redirects=False, timeout=10)
    page = requests.get(url, timeout=10)

    assert again.status_code == 409
    assert "no longer awaiting" in again.text
    assert page.status_code == 409
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_alipay_confirm_without_return_url_is_refused(sdk, stripe_customer):
    intent = wallet_intent(sdk, stripe_customer)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.payment_intents.confirm(intent.id, params={"payment_method_data": {"type": "alipay"}})
    assert refused.value.param == "return_url"
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_wallet_not_in_the_intents_types_is_refused(sdk, stripe_customer):
    intent = sdk.v1.payment_intents.create(params={"amount": 3800, "currency": "cny", "customer": stripe_customer})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        alipay_confirm(sdk, intent.id)
    assert refused.value.code == "payment_intent_incompatible_payment_method"


def test_wallet_with_setup_future_usage_is_refused_until_it_is_unset(sdk, stripe_customer):
    intent = wallet_intent(sdk, stripe_customer)
    sdk.v1.payment_intents.update(intent.id, params={"setup_future_usage": "off_session"})
    with pytest.raises(stripe.InvalidRequestError) as refused:
        alipay_confirm(sdk, intent.id)
    assert refused.value.param == "setup_future_usage"

    unset = sdk.v1.payment_intents.update(intent.id, params={"setup_future_usage": ""})

    assert unset.setup_future_usage is None
    assert alipay_confirm(sdk, intent.id).status == "requires_action"


# --- WeChat Pay ---------------------------------------------------------------------------------


def test_wechat_confirm_answers_the_documented_qr_code(sdk, stripe_customer, localstripe):
    intent = wallet_intent(sdk, stripe_customer)
    before = int(time.time())

    confirmed = wechat_confirm(sdk, intent.id)

    assert confirmed.status == "requires_action"
    action = confirmed.next_action.to_dict()
    assert action["type"] == "wechat_pay_display_qr_code"
    qr = action["wechat_pay_display_qr_code"]
    assert qr["data"].startswith(f"{localstripe}/_boom/wallet/{intent.id}/")
    assert qr["hosted_instructions_url"] == qr["data"]
    assert qr["image_data_url"].startswith("data:image/png;base64,")
    assert before + 60 <= qr["expires_at"] <= before + 600
    png = requests.get(qr["image_url_png"], timeout=10)
    assert png.headers["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert requests.get(qr["image_url_svg"], timeout=10).text.lstrip().startswith("<?xml")
    assert gateway.intent_retrieve(intent.id).next_action == gateway.NextAction(
        type="wechat_pay_display_qr_code",
        url=qr["hosted_instructions_url"],
        qr_data=qr["data"],
        expires_at=qr["expires_at"],
    )


def test_wechat_authorize_shows_paid_and_sends_succeeded(sdk, stripe_customer, wallet_events):
    intent = wallet_intent(sdk, stripe_customer)
    url = wechat_confirm(sdk, intent.id).next_action.wechat_pay_display_qr_code.data

    answer = press(url, "Authorize test payment")

    assert answer.status_code == 200
    assert "Paid" in answer.text
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "succeeded"
    (event,) = wallet_events.events_about(intent.id, 1)
    assert event.type == "payment_intent.succeeded"


def test_wechat_confirm_needs_the_web_client(sdk, stripe_customer):
    intent = wallet_intent(sdk, stripe_customer)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.payment_intents.confirm(intent.id, params={"payment_method_data": {"type": "wechat_pay"}})
    assert refused.value.param == "payment_method_options[wechat_pay][client]"


def test_expired_code_fails_the_attempt_and_confirming_again_gives_a_new_code(
    sdk, stripe_customer, localstripe, wallet_events
):
    requests.post(f"{localstripe}/_config/boom/wechat_pay", data={"qr_seconds": "1"}, timeout=10).raise_for_status()
    intent = wallet_intent(sdk, stripe_customer)
    first = wechat_confirm(sdk, intent.id).next_action.wechat_pay_display_qr_code

    (event,) = wallet_events.events_about(intent.id, 1)

    assert event.type == "payment_intent.payment_failed"
    expired = sdk.v1.payment_intents.retrieve(intent.id)
    assert expired.status == "requires_payment_method"
    assert expired.last_payment_error.code == "payment_intent_payment_attempt_expired"
    assert expired.last_payment_error.payment_method.type == "wechat_pay"
    assert requests.get(first.data, timeout=10).status_code == 409

    requests.delete(f"{localstripe}/_config/data", timeout=10).raise_for_status()  # back to minutes
    intent = wallet_intent(sdk, sdk.v1.customers.create().id)
    wechat_confirm(sdk, intent.id)
    second = wechat_confirm(sdk, intent.id).next_action.wechat_pay_display_qr_code  # a new attempt
    assert second.expires_at >= int(time.time()) + 60
    assert requests.get(second.data, timeout=10).status_code == 200


def test_confirming_again_replaces_the_code(sdk, stripe_customer):
    intent = wallet_intent(sdk, stripe_customer)
    first = wechat_confirm(sdk, intent.id).next_action.wechat_pay_display_qr_code
    second = wechat_confirm(sdk, intent.id).next_action.wechat_pay_display_qr_code

    assert second.data != first.data
    assert requests.post(f"{first.data}/authorize", timeout=10).status_code == 409
    assert requests.get(second.data, timeout=10).status_code == 200
    assert sdk.v1.payment_intents.retrieve(intent.id).status == "requires_action"


# --- Refunds of wallet payments -----------------------------------------------------------------


def test_wallet_refund_is_pending_then_succeeded_with_refund_updated(sdk, stripe_customer, wallet_events):
    intent = wallet_intent(sdk, stripe_customer)
    press(alipay_confirm(sdk, intent.id).next_action.alipay_handle_redirect.url, "Authorize test payment")

    refund = gateway.refund_create(intent_id=intent.id, amount_minor=1000, idempotency_key="r-1", metadata={})

    assert refund.status == "pending"
    events = wallet_events.events_about(intent.id, 3)  # payment_intent.succeeded, then the refund's two
    updates = {event.type: event.data.object for event in events if event.type != "payment_intent.succeeded"}
    assert set(updates) == {"refund.updated", "charge.refund.updated"}
    for updated in updates.values():
        assert updated["id"] == refund.id
        assert updated["object"] == "refund"
        assert updated["status"] == "succeeded"
    assert gateway.refund_retrieve(refund.id).status == "succeeded"


def test_card_refund_succeeds_at_once(sdk, stripe_customer, card):
    intent = sdk.v1.payment_intents.create(
        params={"amount": 3800, "currency": "hkd", "payment_method": card("ok"), "confirm": True}
    )
    assert gateway.refund_create(intent_id=intent.id, amount_minor=3800, idempotency_key="r-2", metadata={}).status == (
        "succeeded"
    )
