"""Twenty browsers of one customer renew the same line at the same moment, over real HTTP, then
all twenty pay at the same moment, each with its own card: one order, one PaymentIntent and one
Stripe customer at (local)Stripe, and one charge."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
import requests
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from accounts.models import User
from billing.models import Order, PaymentProfile
from plans.models import Bucket, Line
from tests.card_payments import CardPayment, pay_by_card
from tests.reliability.conftest import csrf_from, site_browser, stripe_api, stripe_card, stripe_list

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

BROWSERS = 20
T = TypeVar("T")


def _all_at_once(
    work: list[tuple[requests.Session, dict[str, str]]],
    send: Callable[[requests.Session, dict[str, str]], T],
) -> list[T]:
    """Run ``send(browser, data)`` for every browser on its own thread, released together."""
    start = threading.Barrier(len(work))

    def one(item: tuple[requests.Session, dict[str, str]]) -> T:
        start.wait(timeout=30)
        return send(*item)

    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(one, work))


def test_twenty_browsers_renewing_one_line_at_once_make_one_order_one_intent_and_one_charge(
    live_server: LiveServer, localstripe: str, customer: User, line: Line, broker: str
) -> None:
    base = live_server.url
    renew_url = base + reverse("billing:renew", args=[line.pk])
    browsers = [site_browser(customer) for _ in range(BROWSERS)]
    tokens = [csrf_from(browser, renew_url) for browser in browsers]
    old_expiry = line.expires_at
    assert old_expiry is not None

    def renew(browser: requests.Session, data: dict[str, str]) -> requests.Response:
        return browser.post(renew_url, data=data, allow_redirects=False, timeout=60)

    answers = _all_at_once(
        [(b, {"plan": "basic-10", "csrfmiddlewaretoken": t}) for b, t in zip(browsers, tokens, strict=True)], renew
    )

    assert [a.status_code for a in answers] == [302] * BROWSERS, [a.text[:300] for a in answers if a.status_code != 302]
    [order] = Order.objects.filter(line=line)
    assert {a.headers["Location"] for a in answers} == {reverse("billing:pay", args=[order.public_id])}
    api = stripe_api(localstripe)
    intents = stripe_list(api, localstripe, "payment_intents")
    assert [i["id"] for i in intents if i["metadata"].get("order") == order.public_id] == [order.payment_intent_id]
    assert len(intents) == 1
    assert len(stripe_list(api, localstripe, "customers")) == 1
    assert PaymentProfile.objects.filter(user=customer).count() == 1

    # Every browser opens the payment page, collects its own card, and pays at the same moment:
    # Stripe takes the first confirmation and refuses the others (the intent is paid by then).
    cards = [stripe_card(api, localstripe) for _ in browsers]

    def pay(browser: requests.Session, data: dict[str, str]) -> CardPayment:
        return pay_by_card(browser, order, data["payment_method"], localstripe=localstripe, base=base)

    payments = _all_at_once([(b, {"payment_method": c}) for b, c in zip(browsers, cards, strict=True)], pay)

    # Each browser's card was taken, refused by Stripe (the intent paid by then), or not even
    # tried: the order was paid by the time the browser asked to pay (no client secret).
    confirmed = [p for p in payments if "paymentIntent" in p.confirmed]
    refused = [p for p in payments if p.error]
    too_late = [p for p in payments if not p.confirmed and p.answer["status"] == Order.Status.FULFILLED]
    assert [p.confirmed["paymentIntent"]["status"] for p in confirmed] == ["succeeded"]
    assert len(confirmed) + len(refused) + len(too_late) == BROWSERS, [p.answer for p in payments]
    assert confirmed[0].status == Order.Status.FULFILLED
    # The others, on the order page, see it paid too.
    for browser in browsers:
        assert "Payment received" in browser.get(base + reverse("billing:order", args=[order.public_id])).text
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    charges = stripe_list(api, localstripe, "charges")
    assert [c["payment_intent"] for c in charges] == [order.payment_intent_id]
    assert Bucket.objects.filter(order_item__order=order).count() == 1
    line.refresh_from_db()
    assert line.expires_at == old_expiry + timedelta(days=30)
    assert Order.objects.filter(line=line).count() == 1
