"""Paying an order by card as the payment page does, for every test that pays.

The page (static/js/pay.js) posts to ``billing:pay_card`` (only "save this card"), which answers
the order's intent's client secret; it confirms that intent once with Stripe.js
(``confirmCardPayment`` with the card element: the card, the publishable key and the client
secret, and the one 3-D Secure box if the bank asks), then opens the order page, which asks
Stripe and fulfils. ``pay_by_card`` does the same with a card made beforehand (``card("ok")``),
through Django's test client or a ``requests`` session on a live server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from billing.models import Order

# Stripe's test cards: paid at once, asks for 3-D Secure, declined when charged.
CARDS = {
    "ok": "4242424242424242",
    "3ds": "4000002500003155",
    "declined": "4000000000000341",
}


@dataclass(frozen=True)
class CardPayment:
    answer: dict[str, Any]  # what pay_card answered: client_secret (or status if closed), or error
    confirmed: dict[str, Any]  # what confirmCardPayment gave: {"paymentIntent": ...} or {"error": ...}
    order: Order  # as it is once the order page was opened
    page: str  # the order page

    @property
    def status(self) -> str:
        return str(self.order.status)

    @property
    def error(self) -> dict[str, Any]:
        """Stripe.js's error, as the page gets it (``code``, ``decline_code``, ``message``)."""
        return dict(self.confirmed.get("error") or {})


def stripe_js_confirm(
    localstripe: str, client_secret: str, payment_method: str, *, three_d_secure: bool = True
) -> dict[str, Any]:
    """``stripe.confirmCardPayment(client_secret, {payment_method: {card}})``: confirm the intent
    with the card, authenticated as the browser is (publishable key and client secret); in the
    3-D Secure box, press Complete (``three_d_secure``) or Fail. Returns what Stripe.js returns."""
    intent_id = client_secret.split("_secret_")[0]
    browser = {"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": client_secret}
    response = requests.post(
        f"{localstripe}/v1/payment_intents/{intent_id}/confirm",
        json={**browser, "payment_method": payment_method},
        timeout=30,
    )
    if response.status_code != 200:
        return {"error": response.json().get("error") or {"message": response.text}}
    intent = response.json()
    if intent["status"] == "requires_action":
        response = requests.post(
            f"{localstripe}/v1/payment_intents/{intent_id}/_authenticate",
            params={"success": "true" if three_d_secure else "false"},
            json=browser,
            timeout=30,
        )
        response.raise_for_status()
        intent = response.json()
        if intent["status"] != "succeeded":
            return {"error": {**(intent.get("last_payment_error") or {}), "payment_intent": intent}}
    return {"paymentIntent": intent}


def card_prepare(
    browser: Client | requests.Session, public_id: str, *, save_card: bool = False, base: str = ""
) -> dict[str, Any]:
    """The page's first step: post "save this card" to ``billing:pay_card``; its JSON answer."""
    card_url = reverse("billing:pay_card", args=[public_id])
    data = {"save_card": "on"} if save_card else {}
    if isinstance(browser, requests.Session):
        # The page the customer is on gives the CSRF token that the script sends.
        browser.get(base + reverse("billing:pay", args=[public_id]), timeout=60)
        token = browser.cookies.get(settings.CSRF_COOKIE_NAME, "")
        response = browser.post(base + card_url, data=data, headers={"X-CSRFToken": token}, timeout=60)
        assert response.status_code == 200, (response.status_code, response.text[:500])
        return dict(response.json())
    reply = browser.post(card_url, data)
    assert reply.status_code == 200, (reply.status_code, reply.content[:500])
    return dict(reply.json())


def pay_by_card(
    browser: Client | requests.Session,
    order: Order,
    payment_method: str,
    *,
    localstripe: str,
    save_card: bool = False,
    three_d_secure: bool = True,
    base: str = "",
) -> CardPayment:
    """Pay ``order`` with the card ``payment_method`` as the page does. ``browser`` is logged in
    as the order's customer: Django's test client, or a ``requests`` session on the live server
    at ``base``. Stripe's refusal is in ``.error``; the outcome is ``.order`` / ``.status``."""
    answer = card_prepare(browser, order.public_id, save_card=save_card, base=base)
    confirmed: dict[str, Any] = {}
    if answer.get("client_secret"):
        confirmed = stripe_js_confirm(
            localstripe, answer["client_secret"], payment_method, three_d_secure=three_d_secure
        )
    order_url = answer.get("order_url") or reverse("billing:order", args=[order.public_id])
    if answer.get("error") or confirmed.get("error"):
        page = ""  # the page shows the error and stays
    elif isinstance(browser, requests.Session):
        opened = browser.get(base + order_url, timeout=60)
        assert opened.status_code == 200, (opened.status_code, opened.text[:500])
        page = opened.text
    else:
        shown = browser.get(order_url)
        assert shown.status_code == 200, (shown.status_code, shown.content[:500])
        page = shown.content.decode()
    return CardPayment(answer=answer, confirmed=confirmed, order=Order.objects.get(pk=order.pk), page=page)
