"""Paying by card as Stripe recommends: one PaymentIntent, confirmed once by the page; "save this
card" is ``setup_future_usage`` on it, and the card paid with is then the one auto-renew charges;
every refusal is told in the customer's language; the page and the webhook racing fulfil once."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import EmailDelivery, Notice, User
from billing import services, tasks
from billing.models import Order, PaymentProfile, StripeEvent
from billing.payment_errors import MESSAGES, payment_error_message
from plans.models import Bucket, Line
from tests.billing.stripe_events import deliver_event, event_body, post_event, start_order, stripe_get
from tests.card_payments import card_prepare, pay_by_card, stripe_js_confirm

# --- "Save this card" ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["ok", "3ds"])
def test_save_card_sets_setup_future_usage_and_auto_renew_then_charges_that_card(
    client: Client, customer: User, line: Line, localstripe: str, card: Callable[[str], str], kind: str
) -> None:
    order = start_order(client, customer, line)

    payment = pay_by_card(client, order, card(kind), localstripe=localstripe, save_card=True)

    assert payment.status == Order.Status.FULFILLED
    paid_with = payment.confirmed["paymentIntent"]["payment_method"]
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    # For the card only: the same intent could still be paid with a wallet, which is not kept.
    assert intent["payment_method_options"]["card"]["setup_future_usage"] == "off_session"
    assert not intent["setup_future_usage"]
    profile = PaymentProfile.objects.get(user=customer)
    last4 = "4242" if kind == "ok" else "3155"
    assert (profile.card_payment_method_id, profile.card_brand, profile.card_last4) == (paid_with, "visa", last4)
    # Stripe kept the card on the customer: it can be charged with the customer away.
    assert stripe_get(localstripe, f"/v1/payment_methods/{paid_with}")["customer"] == profile.stripe_customer_id

    services.auto_renew_set(line=line, enabled=True)
    Line.objects.filter(pk=line.pk).update(expires_at=timezone.now() + timedelta(hours=30))
    renewal = services.auto_renew_charge(line=line)

    assert renewal is not None
    charged = stripe_get(localstripe, f"/v1/payment_intents/{renewal.payment_intent_id}")
    assert (charged["payment_method"], charged["customer"]) == (paid_with, profile.stripe_customer_id)
    assert renewal.card_last4 == last4
    # 4000 0025 0000 3155 asked for 3-D Secure when the customer paid, and, set up for
    # off-session use then, is charged with the customer away without asking again (as on Stripe).
    assert renewal.status == Order.Status.FULFILLED


def card_usage(localstripe: str, order: Order) -> str:
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    return str(intent["payment_method_options"]["card"]["setup_future_usage"])


@pytest.mark.django_db
def test_unticking_save_card_unsets_setup_future_usage_and_keeps_no_card(
    client: Client, customer: User, line: Line, localstripe: str, card: Callable[[str], str]
) -> None:
    order = start_order(client, customer, line)
    card_prepare(client, order.public_id, save_card=True)  # ticked, then the bank said no
    assert card_usage(localstripe, order) == "off_session"

    payment = pay_by_card(client, order, card("ok"), localstripe=localstripe, save_card=False)

    assert payment.status == Order.Status.FULFILLED
    assert card_usage(localstripe, order) == "none"
    assert not PaymentProfile.objects.get(user=customer).has_card


@pytest.mark.django_db
def test_card_saved_when_the_webhook_fulfils_before_the_customer_returns(
    client: Client, customer: User, line: Line, localstripe: str, card: Callable[[str], str]
) -> None:
    order = start_order(client, customer, line)
    answer = card_prepare(client, order.public_id, save_card=True)
    confirmed = stripe_js_confirm(localstripe, answer["client_secret"], card("ok"))
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")

    assert (
        deliver_event(client, event_body("payment_intent.succeeded", intent)) == f"order {order.public_id}: fulfilled"
    )
    client.get(reverse("billing:order", args=[order.public_id]))

    profile = PaymentProfile.objects.get(user=customer)
    assert profile.card_payment_method_id == confirmed["paymentIntent"]["payment_method"]
    assert profile.card_last4 == "4242"


# --- Every refusal in the customer's language -------------------------------------------------

ISSUE_CODES = [
    "card_declined",
    "insufficient_funds",
    "expired_card",
    "incorrect_cvc",
    "authentication_required",
    "payment_intent_authentication_failure",  # 3-D Secure failed
    "payment_intent_payment_attempt_failed",  # a wallet's payment failed
]


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_decline_code_has_a_chinese_message(code: str) -> None:
    english = payment_error_message(code, "Your card was declined.")
    with translation.override("zh-hans"):
        chinese = payment_error_message(code, "Your card was declined.")
    assert english != chinese, f"{code}: {english!r} has no Chinese translation"
    assert re.search(r"[\u4e00-\u9fff]", chinese)
    assert "Your card" not in chinese


def test_a_code_not_listed_shows_stripes_message_in_a_translated_sentence() -> None:
    with translation.override("zh-hans"):
        message = payment_error_message("some_new_code", "Something new happened.")
    assert message.endswith("Something new happened.")
    assert re.search(r"[\u4e00-\u9fff]", message)


@pytest.mark.django_db
def test_pay_page_gives_the_script_every_message_in_chinese(
    client: Client, customer: User, line: Line, localstripe: str
) -> None:
    order = start_order(client, customer, line)
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    page = client.get(reverse("billing:pay", args=[order.public_id]), headers={"Accept-Language": "zh-CN"})

    attribute = re.search(r'data-messages="([^"]*)"', page.content.decode())
    assert attribute
    messages = json.loads(unescape(attribute.group(1)))
    with translation.override("zh-hans"):
        assert messages == {code: str(message) for code, message in MESSAGES.items()}
    for code in ISSUE_CODES:
        assert re.search(r"[\u4e00-\u9fff]", messages[code]), code


@pytest.mark.django_db
@pytest.mark.parametrize("code", ISSUE_CODES)
def test_a_failed_order_shows_why_in_chinese_on_the_order_and_pay_pages(
    client: Client, customer: User, line: Line, localstripe: str, code: str
) -> None:
    order = start_order(client, customer, line)
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.FAILED, failure_code=code, failure_reason="Stripe's English reason."
    )
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])
    with translation.override("zh-hans"):
        expected = payment_error_message(code)

    for name in ("billing:pay", "billing:order"):
        response = client.get(reverse(name, args=[order.public_id]), headers={"Accept-Language": "zh-CN"})
        page = unescape(response.content.decode())
        assert expected in page, name
        assert "Stripe's English reason." not in page, name


@pytest.mark.django_db
def test_a_decline_reaches_the_order_page_in_chinese(
    client: Client, customer: User, line: Line, localstripe: str, card: Callable[[str], str]
) -> None:
    order = start_order(client, customer, line)
    declined = pay_by_card(client, order, card("declined"), localstripe=localstripe)
    customer.language = "zh-hans"
    customer.save(update_fields=["language"])

    page = unescape(client.get(reverse("billing:order", args=[order.public_id])).content.decode())

    order.refresh_from_db()
    assert order.failure_code == declined.error["decline_code"] == "generic_decline"
    with translation.override("zh-hans"):
        assert payment_error_message("generic_decline") in page


# --- The page and the webhook at once -----------------------------------------------------------


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, released together; their results, or their exceptions."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            start.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as error:  # reported by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_card_payment_and_its_webhook_arriving_together_fulfil_once_without_error(
    customer: User, line: Line, localstripe: str, card: Callable[[str], str]
) -> None:
    """Stripe.js confirmed (3-D Secure once, save card on); then the page opens the order page
    while Stripe's webhook lands, several times over, on threads, each event processed at once
    as the worker would: one fulfilment, no error."""
    old_expiry = line.expires_at
    assert old_expiry is not None
    browsers = []
    for _ in range(4):
        browser = Client(headers={"Accept-Language": "en"})
        browser.force_login(customer)
        browsers.append(browser)
    order = start_order(browsers[0], customer, line)
    answer = card_prepare(browsers[0], order.public_id, save_card=True)
    confirmed = stripe_js_confirm(localstripe, answer["client_secret"], card("3ds"))
    assert confirmed["paymentIntent"]["status"] == "succeeded"
    intent = stripe_get(localstripe, f"/v1/payment_intents/{order.payment_intent_id}")
    bodies = [event_body("payment_intent.succeeded", intent) for _ in range(2)]
    order_url = reverse("billing:order", args=[order.public_id])

    def page(browser: Client) -> Callable[[], Any]:
        return lambda: browser.get(order_url)

    def webhook(browser: Client, body: bytes) -> Callable[[], Any]:
        def deliver() -> Any:
            response = post_event(browser, body)
            stored = StripeEvent.objects.get(event_id=json.loads(body)["id"])
            tasks.stripe_event_process_task(stored.pk)  # what the worker runs, racing the pages
            return response

        return deliver

    results = _race(
        [page(b) for b in browsers] + [webhook(b, body) for b in browsers[:2] for body in (*bodies, bodies[0])]
    )

    errors = [r for r in results if isinstance(r, BaseException) or r.status_code != 200]
    assert errors == []
    for response in results[: len(browsers)]:
        assert "Payment received" in response.content.decode()
    order.refresh_from_db()
    line.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    assert line.expires_at == old_expiry + timedelta(days=30)
    assert Notice.objects.filter(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED).count() == 1
    assert EmailDelivery.objects.filter(notice__user=customer).count() == 1
    assert PaymentProfile.objects.get(user=customer).card_last4 == "3155"
