"""Customers with saved cards, and succeeded PaymentIntents, on localstripe: made over HTTP as
Stripe.js and Stripe's dashboard would, so that the app later finds them as on Stripe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from django.conf import settings

from billing import gateway
from billing.models import PaymentProfile

CARD_OK = "4242424242424242"


def _post(path: str, data: dict[str, str]) -> dict[str, Any]:
    answer = requests.post(
        f"{settings.STRIPE_API_BASE}{path}", data=data, auth=(settings.STRIPE_SECRET_KEY, ""), timeout=30
    )
    answer.raise_for_status()
    return dict(answer.json())


def card_make() -> str:
    """A PaymentMethod for the test card that always pays, as the payment page makes one."""
    method = _post(
        "/v1/payment_methods",
        {
            "type": "card",
            "card[number]": CARD_OK,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
    )
    return str(method["id"])


def wipe() -> None:
    """Forget every object localstripe holds. It keeps them in memory and some of its look-ups
    go through all of them, so its answers slow down as a run piles up thousands of intents."""
    requests.delete(f"{settings.STRIPE_API_BASE}/_config/data", timeout=30).raise_for_status()


def profiles_with_cards(user_ids: list[int]) -> dict[int, PaymentProfile]:
    """A Stripe customer with a saved card for each user (as turning auto-renew on leaves it),
    replacing the users' payment profiles."""

    def one(user_id: int) -> PaymentProfile:
        customer_id = gateway.customer_create(
            user_id=user_id,
            email=f"bench{user_id}@bench.example",
            phone="",
            idempotency_key=f"bench-customer-{user_id}",
        )
        card = gateway.card_attach(customer_id=customer_id, payment_method_id=card_make())
        return PaymentProfile(
            user_id=user_id,
            stripe_customer_id=customer_id,
            card_payment_method_id=card.payment_method_id,
            card_brand=card.brand,
            card_last4=card.last4,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        profiles = list(pool.map(one, user_ids))
    PaymentProfile.objects.filter(user_id__in=user_ids).delete()
    PaymentProfile.objects.bulk_create(profiles)
    return {profile.user_id: profile for profile in profiles}


def intents_succeeded(orders: list[tuple[str, int, str, PaymentProfile]]) -> list[dict[str, Any]]:
    """For each (order public id, amount, currency, payer): a PaymentIntent that succeeded, as
    Stripe holds it after the customer paid. In the order given; one in three paid with the
    payer's saved card, one with Alipay and one with WeChat Pay (confirmed by the server, then
    "Authorize test payment" on the local Stripe's test page), so events of every kind arrive."""

    def one(numbered: tuple[int, tuple[str, int, str, PaymentProfile]]) -> dict[str, Any]:
        n, (public_id, amount, currency, profile) = numbered
        method = (gateway.CARD, gateway.ALIPAY, gateway.WECHAT_PAY)[n % 3]
        made = {
            "amount": str(amount),
            "currency": currency.lower(),
            "customer": profile.stripe_customer_id,
            "payment_method_types[]": method,
            "metadata[order]": public_id,
        }
        if method == gateway.CARD:
            intent = _post(
                "/v1/payment_intents", {**made, "payment_method": profile.card_payment_method_id, "confirm": "true"}
            )
        else:
            intent = _post("/v1/payment_intents", made)
            confirmed = _post(f"/v1/payment_intents/{intent['id']}/confirm", _wallet_confirm(method))
            step = confirmed["next_action"]
            page = step[step["type"]]["url" if method == gateway.ALIPAY else "hosted_instructions_url"]
            requests.post(f"{page.rstrip('/')}/authorize", allow_redirects=False, timeout=30).raise_for_status()
            intent = _get(f"/v1/payment_intents/{intent['id']}")
        if intent["status"] != "succeeded":
            raise RuntimeError(f"intent for {public_id} ({method}): {intent['status']}")
        return intent

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, enumerate(orders)))


def _wallet_confirm(method: str) -> dict[str, str]:
    if method == gateway.ALIPAY:
        return {"payment_method_data[type]": method, "return_url": "https://boom.example/billing/orders/bench/"}
    return {"payment_method_data[type]": method, "payment_method_options[wechat_pay][client]": "web"}


def _get(path: str) -> dict[str, Any]:
    answer = requests.get(f"{settings.STRIPE_API_BASE}{path}", auth=(settings.STRIPE_SECRET_KEY, ""), timeout=30)
    answer.raise_for_status()
    return dict(answer.json())
