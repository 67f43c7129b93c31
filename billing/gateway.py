"""The one module that talks to Stripe.

It speaks in the app's own types (``Intent``, ``Card``, ``Refund``, ``Event``) and turns Stripe's
errors into the gateway's (``CardDeclined``, ``GatewayUnavailable``, ``GatewayError``), so the rest
of the code never sees a Stripe object. The same calls work against Stripe and against
localstripe (see ../shared/STRIPE-LOCAL.md for what localstripe accepts).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

# Stripe's names for the methods the payment page offers, and the currencies Stripe takes
# each in (Alipay and WeChat Pay for a Hong Kong or Singapore account).
CARD, ALIPAY, WECHAT_PAY = "card", "alipay", "wechat_pay"
METHOD_CURRENCIES = {
    CARD: {"CNY", "HKD", "USD"},
    ALIPAY: {"CNY", "HKD", "USD"},
    WECHAT_PAY: {"CNY", "HKD", "USD"},
}


class GatewayError(Exception):
    """Stripe refused or failed; ``message`` is safe to show a customer."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class CardDeclined(GatewayError):
    """The bank said no (declined, insufficient funds, expired card...)."""


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached, or answered with a server error: try again later."""


class WebhookSignatureInvalid(GatewayError):
    pass


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled
    amount_minor: int
    currency: str  # upper case, as the app stores it
    client_secret: str
    customer_id: str = ""
    payment_method_id: str = ""
    payment_method_type: str = ""
    failure_message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class Card:
    payment_method_id: str
    brand: str
    last4: str
    type: str = CARD  # Stripe's payment method type: card, alipay, wechat_pay


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount_minor: int


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object: dict[str, Any]


@functools.cache
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    # Retries are the app's business (reconciliation), not the SDK's: a retried POST could
    # make a second intent on localstripe, which ignores idempotency keys.
    return stripe.StripeClient(api_key, base_addresses={"api": api_base}, max_network_retries=0)


def client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _translate(error: stripe.StripeError) -> GatewayError:
    if isinstance(error, stripe.CardError):
        return CardDeclined(error.user_message or str(error), code=error.code or "card_declined")
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (error.http_status or 0) >= 500:
        return GatewayUnavailable(
            _("The payment service is not answering. Please try again in a minute."), code="unavailable"
        )
    return GatewayError(
        error.user_message or _("The payment could not be processed."), code=error.code or "stripe_error"
    )


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except stripe.StripeError as error:
        raise _translate(error) from error


def _intent(obj: Any) -> Intent:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    error = data.get("last_payment_error") or {}
    payment_method = data.get("payment_method") or ""
    if isinstance(payment_method, dict):
        payment_method = payment_method.get("id", "")
    method_type = (error.get("payment_method") or {}).get("type", "") if isinstance(error, dict) else ""
    types = data.get("payment_method_types") or []
    return Intent(
        id=data["id"],
        status=data["status"],
        amount_minor=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        client_secret=data.get("client_secret") or "",
        customer_id=(data.get("customer") or "") if isinstance(data.get("customer"), str | type(None)) else "",
        payment_method_id=payment_method,
        payment_method_type=method_type or (types[0] if len(types) == 1 else ""),
        failure_message=(error.get("message") or "") if isinstance(error, dict) else "",
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
    )


def customer_create(*, user_id: int, email: str, phone: str) -> str:
    params: dict[str, Any] = {"metadata": {"user_id": str(user_id)}, "phone": phone}
    if email:
        params["email"] = email
    customer = _call(client().v1.customers.create, params=params, options={"idempotency_key": f"customer-{user_id}"})
    return str(customer.id)


def setup_intent_create(*, customer_id: str) -> str:
    """A SetupIntent's client secret, for the page's card form (``confirmCardSetup``)."""
    intent = _call(client().v1.setup_intents.create, params={"customer": customer_id, "usage": "off_session"})
    return str(intent.client_secret)


def card_attach(*, customer_id: str, payment_method_id: str) -> Card:
    """Attach a card the page collected to the customer (localstripe's SetupIntent does not)."""
    method = _call(client().v1.payment_methods.retrieve, payment_method_id)
    if getattr(method, "customer", None) != customer_id:
        method = _call(client().v1.payment_methods.attach, payment_method_id, params={"customer": customer_id})
    card = method.to_dict().get("card") or {}
    return Card(payment_method_id=method.id, brand=str(card.get("brand", "")), last4=str(card.get("last4", "")))


def card_details(payment_method_id: str) -> Card:
    """What paid: the payment method's type, and for a card its brand and last 4 digits."""
    method = _call(client().v1.payment_methods.retrieve, payment_method_id)
    data = method.to_dict()
    card = data.get("card") or {}
    return Card(
        payment_method_id=method.id,
        brand=str(card.get("brand", "")),
        last4=str(card.get("last4", "")),
        type=str(data.get("type") or CARD),
    )


def intent_create(
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    order_public_id: str,
    idempotency_key: str,
    payment_method_types: list[str],
) -> Intent:
    intent = _call(
        client().v1.payment_intents.create,
        params={
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method_types": payment_method_types,
            "metadata": {"order": order_public_id},
        },
        options={"idempotency_key": idempotency_key},
    )
    return _intent(intent)


def intent_pay_with_card(*, intent_id: str, payment_method_id: str) -> Intent:
    """Confirm the order's intent with a card. A decline raises ``CardDeclined``; a card that
    needs 3-D Secure comes back ``requires_action`` for the page to finish."""
    _call(client().v1.payment_intents.update, intent_id, params={"payment_method": payment_method_id})
    return _intent(_call(client().v1.payment_intents.confirm, intent_id))


def intent_charge_off_session(
    *,
    amount_minor: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    order_public_id: str,
    idempotency_key: str,
) -> Intent:
    """Charge a saved card with the customer away (auto-renew). Declines raise ``CardDeclined``;
    a bank that wants the customer gives ``requires_action``."""
    intent = _call(
        client().v1.payment_intents.create,
        params={
            "amount": amount_minor,
            "currency": currency.lower(),
            "customer": customer_id,
            "payment_method": payment_method_id,
            "payment_method_types": [CARD],
            "off_session": True,
            "confirm": True,
            "metadata": {"order": order_public_id},
        },
        options={"idempotency_key": idempotency_key},
    )
    return _intent(intent)


def intent_retrieve(intent_id: str) -> Intent:
    return _intent(_call(client().v1.payment_intents.retrieve, intent_id))


def intent_cancel(intent_id: str) -> Intent:
    return _intent(_call(client().v1.payment_intents.cancel, intent_id))


def refund_create(*, intent_id: str, idempotency_key: str) -> Refund:
    refund = _call(
        client().v1.refunds.create, params={"payment_intent": intent_id}, options={"idempotency_key": idempotency_key}
    )
    return Refund(id=str(refund.id), status=str(refund.status), amount_minor=int(refund.amount))


def webhook_event(*, payload: bytes, signature: str) -> Event:
    """Verify a webhook's signature with the signing secret and read the event.

    A correctly signed body that is not an event as Stripe makes them is refused like a bad
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


def intent_from_event(event: Event) -> Intent | None:
    """The PaymentIntent an event is about, read from the event itself (no request)."""
    obj = event.object
    if obj.get("object") == "payment_intent":
        return _intent(obj)
    return None


def intent_id_of_event(event: Event) -> str:
    obj = event.object
    if obj.get("object") == "payment_intent":
        return str(obj.get("id", ""))
    return str(obj.get("payment_intent") or "")


def charge_fully_refunded(event: Event) -> bool:
    """Whether a ``charge.refunded`` event says the whole charge was given back: Stripe sends the
    same event for a partial refund."""
    obj = event.object
    return obj.get("object") == "charge" and obj.get("refunded") is True


def methods_for(currency: str) -> list[str]:
    return [method for method, currencies in METHOD_CURRENCIES.items() if currency in currencies]
