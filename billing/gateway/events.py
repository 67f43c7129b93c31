"""Stripe's webhooks: the signature checked, the event read into the gateway's types."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import stripe
from django.conf import settings

from billing.gateway.types import (
    Dispute,
    Event,
    Intent,
    Refund,
    WebhookSignatureInvalid,
    dispute_from_data,
    intent_from_data,
    refund_from_data,
)


def _stamped_in_the_future(signature: str, now: float) -> bool:
    """Whether the header's ``t=`` is more than Stripe's tolerance ahead of our clock. Stripe's own
    check (``verify_header``) refuses only what is too old, so an event signed with a clock set
    ahead, or stamped ahead to outlive the window, would be taken for as long as it likes."""
    for part in signature.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "t" and value.strip().isdigit() and int(value) > now + stripe.Webhook.DEFAULT_TOLERANCE:
            return True
    return False


def webhook_event(*, payload: bytes, signature: str) -> Event:
    """Verify a webhook's signature with the signing secret and read the event.

    A signature stamped more than five minutes ahead of our clock is refused, as one more than
    five minutes old is. A correctly signed body that is not an event as Stripe makes them is refused like a bad
    signature, rather than failing further on: it must be a JSON object whose ``id`` and ``type``
    are strings that fit their columns, whose ``data.object`` is an object with string ids, and
    which PostgreSQL can store (no NUL character, no NaN or infinite number).
    """

    def refuse_constant(name: str) -> float:
        raise ValueError(f"{name} is not JSON that PostgreSQL stores")

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"{text} is out of range")
        return number

    def storable(value: Any) -> bool:
        if isinstance(value, str):
            value.encode()  # a lone surrogate (JSON's "\\ud800") raises UnicodeEncodeError, a ValueError
            return "\x00" not in value
        if isinstance(value, dict):
            return all(storable(key) and storable(item) for key, item in value.items())
        if isinstance(value, list):
            return all(storable(item) for item in value)
        return True

    def short_id(value: Any, limit: int = 255) -> bool:
        return isinstance(value, str) and len(value) <= limit

    if _stamped_in_the_future(signature, time.time()):
        raise WebhookSignatureInvalid("signature timestamp is in the future", code="signature")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, signature, settings.STRIPE_WEBHOOK_SECRET, stripe.Webhook.DEFAULT_TOLERANCE
        )
        data = json.loads(text, parse_constant=refuse_constant, parse_float=finite)
        body = data.get("data") if isinstance(data, dict) else None
        obj = (body.get("object") if isinstance(body, dict) else None) or {}
        well_formed = (
            isinstance(data, dict)
            and bool(data.get("id"))
            and short_id(data.get("id"))
            and bool(data.get("type"))
            and short_id(data.get("type"), 100)
            and isinstance(obj, dict)
            and all(obj.get(key) is None or short_id(obj[key]) for key in ("id", "payment_intent"))
            and storable(data)
        )
    except (ValueError, RecursionError, stripe.SignatureVerificationError) as error:
        raise WebhookSignatureInvalid("invalid signature or payload", code="signature") from error
    if not well_formed:
        raise WebhookSignatureInvalid("signed, but not a Stripe event", code="malformed")
    return Event(id=data["id"], type=data["type"], object=obj)


def intent_of_event(event: Event) -> Intent | None:
    """The PaymentIntent a ``payment_intent.*`` event carries, as Stripe had it when it sent the
    event. The signature proves Stripe said so; being older than Stripe's present state is fine,
    since an order's state only moves forward."""
    obj = event.object
    if obj.get("object") != "payment_intent":
        return None
    try:
        return intent_from_data(obj)
    except (KeyError, TypeError, ValueError):
        return None


def refunds_of_event(event: Event) -> list[Refund] | None:
    """The refunds a ``charge.refunded`` or ``refund.*`` event carries; None when it does not list
    them (Stripe leaves a charge's ``refunds`` out unless expanded): then ask Stripe."""
    obj = event.object
    try:
        if obj.get("object") == "refund":
            return [refund_from_data(obj)]
        listed = obj.get("refunds")
        if obj.get("object") == "charge" and isinstance(listed, dict) and isinstance(listed.get("data"), list):
            return [refund_from_data(item) for item in listed["data"]]
    except (KeyError, TypeError, ValueError):
        pass
    return None


def dispute_of_event(event: Event) -> Dispute | None:
    """The dispute a ``charge.dispute.*`` event carries; None if it carries none."""
    if event.object.get("object") != "dispute":
        return None
    try:
        return dispute_from_data(event.object)
    except (KeyError, TypeError, ValueError):
        return None


def intent_id_of_event(event: Event) -> str:
    obj = event.object
    if obj.get("object") == "payment_intent":
        return str(obj.get("id", ""))
    return str(obj.get("payment_intent") or "")
