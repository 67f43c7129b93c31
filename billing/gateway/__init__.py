"""The one place that talks to Stripe.

It speaks in the app's own types (``Intent``, ``Card``, ``Refund``, ``Event``, in ``types``) and
turns Stripe's errors into the gateway's (``CardDeclined``, ``GatewayUnavailable``, ``NotFound``,
``GatewayError``), so the rest of the code never sees a Stripe object. Webhook events are read in
``events``. The same calls work against Stripe and against localstripe extended by the project's
launcher (see ../shared/STRIPE-LOCAL.md and ``billing/localstripe_extras/``).
"""

from __future__ import annotations

import functools
from typing import Any

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from billing.gateway.events import (
    dispute_of_event,
    intent_id_of_event,
    intent_of_event,
    refunds_of_event,
    webhook_event,
)
from billing.gateway.types import (
    ALIPAY,
    CARD,
    CARD_OF_ANOTHER_CUSTOMER,
    METHOD_CURRENCIES,
    REFUND_WINDOW_DAYS,
    WECHAT_PAY,
    Card,
    CardDeclined,
    Dispute,
    Event,
    GatewayError,
    GatewayUnavailable,
    Intent,
    NextAction,
    NotFound,
    Refund,
    WebhookSignatureInvalid,
    intent_from_data,
    methods_for,
    refund_from_data,
)

__all__ = [
    "ALIPAY",
    "CARD",
    "CARD_OF_ANOTHER_CUSTOMER",
    "METHOD_CURRENCIES",
    "REFUND_WINDOW_DAYS",
    "WECHAT_PAY",
    "Card",
    "CardDeclined",
    "Dispute",
    "Event",
    "GatewayError",
    "GatewayUnavailable",
    "Intent",
    "NextAction",
    "NotFound",
    "Refund",
    "WebhookSignatureInvalid",
    "dispute_of_event",
    "intent_id_of_event",
    "intent_of_event",
    "methods_for",
    "refunds_of_event",
    "webhook_event",
]


@functools.cache
def _client(api_key: str, api_base: str, timeouts: tuple[float, float], retries: int) -> stripe.StripeClient:
    # Explicit timeouts (the SDK waits 80 s by default): a web request or a worker never hangs on
    # Stripe, and a call that timed out is retried with its idempotency key, which tells whether
    # Stripe had acted. The SDK retries connection errors, 409s and 5xx ``retries`` times, adding
    # an idempotency key to any POST that has none.
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=timeouts),
        max_network_retries=retries,
    )


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        (settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_TIMEOUT),
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def _translate(error: stripe.StripeError) -> GatewayError:
    status = error.http_status or 0
    if isinstance(error, stripe.CardError):
        # The bank's reason (insufficient_funds, expired_card...) when Stripe gives one: what the
        # customer is told, in their language.
        decline_code = getattr(error.error, "decline_code", None) if error.error else None
        return CardDeclined(error.user_message or str(error), code=decline_code or error.code or "card_declined")
    if status == 404:
        return NotFound(error.user_message or str(error), param=str(getattr(error, "param", "") or ""))
    # 409: another request with the same idempotency key is still being handled; try again later.
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or status == 409 or status >= 500:
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


def customer_create(*, user_id: int, email: str, phone: str, idempotency_key: str) -> str:
    params: dict[str, Any] = {"metadata": {"user_id": str(user_id)}, "phone": phone}
    if email:
        params["email"] = email
    customer = _call(client().v1.customers.create, params=params, options={"idempotency_key": idempotency_key})
    return str(customer.id)


def setup_intent_create(*, customer_id: str) -> str:
    """A SetupIntent's client secret, for saving a card without paying (``confirmCardSetup`` on the
    auto-renew page). Paying saves a card with ``setup_future_usage`` instead (``intent_card_prepare``)."""
    intent = _call(client().v1.setup_intents.create, params={"customer": customer_id, "usage": "off_session"})
    return str(intent.client_secret)


def card_attach(*, customer_id: str, payment_method_id: str) -> Card:
    """Attach a card the page collected to the customer (localstripe's SetupIntent does not).

    A payment method already attached to another Stripe customer is refused (``CardDeclined``
    with code ``CARD_OF_ANOTHER_CUSTOMER``), never used or moved: its id came from the browser,
    and it may be someone else's saved card."""
    method = _call(client().v1.payment_methods.retrieve, payment_method_id)
    owner = getattr(method, "customer", None)
    owner_id = owner if isinstance(owner, str) or owner is None else getattr(owner, "id", None)
    if owner_id is not None and owner_id != customer_id:
        raise CardDeclined("This card belongs to another customer.", code=CARD_OF_ANOTHER_CUSTOMER)
    if owner_id != customer_id:
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
    return intent_from_data(intent)


def intent_card_prepare(*, intent_id: str, save: bool) -> Intent:
    """Ready the order's intent for the page, which confirms it with the card (Stripe.js's
    ``confirmCardPayment``): with ``save``, Stripe keeps the card on the customer for off-session
    payments once it pays (``setup_future_usage``), without, it does not. Set for the card alone
    (``payment_method_options[card]``): the same intent may still be paid by Alipay or WeChat Pay,
    which cannot be kept for later."""
    usage = "off_session" if save else "none"
    params = {"payment_method_options": {"card": {"setup_future_usage": usage}}}
    return intent_from_data(_call(client().v1.payment_intents.update, intent_id, params=params))


def intent_pay_with_wallet(*, intent_id: str, method: str, return_url: str) -> Intent:
    """Confirm the order's intent with Alipay or WeChat Pay, server-side, as Stripe documents it:
    Alipay comes back ``requires_action`` with the address to send the customer to (and back to
    ``return_url``); WeChat Pay with the QR code the page draws (``client=web``)."""
    params: dict[str, Any] = {"payment_method_data": {"type": method}}
    if method == ALIPAY:
        params["return_url"] = return_url
    elif method == WECHAT_PAY:
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    else:
        raise ValueError(f"{method} is not a wallet")
    return intent_from_data(_call(client().v1.payment_intents.confirm, intent_id, params=params))


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
    return intent_from_data(intent)


def intent_retrieve(intent_id: str) -> Intent:
    return intent_from_data(_call(client().v1.payment_intents.retrieve, intent_id))


def intent_cancel(intent_id: str) -> Intent:
    return intent_from_data(_call(client().v1.payment_intents.cancel, intent_id))


def charge_intent_id(charge_id: str) -> str:
    """The PaymentIntent a charge belongs to ("" if none): how a dispute that names only its
    charge is matched to an order."""
    intent = _call(client().v1.charges.retrieve, charge_id).to_dict().get("payment_intent")
    return str(intent.get("id", "") if isinstance(intent, dict) else intent or "")


# The reasons Stripe itself knows (it shows them in its dashboard and to the card network).
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def refund_create(
    *, intent_id: str, amount_minor: int, idempotency_key: str, metadata: dict[str, str], reason: str = ""
) -> Refund:
    """Refund ``amount_minor`` of the intent's charge. The key comes from the app's own record of
    the refund, so asking again after a timeout returns the refund Stripe made, not a second one.
    ``reason`` is passed on when Stripe knows it (``REFUND_REASONS``)."""
    params: dict[str, Any] = {"payment_intent": intent_id, "amount": amount_minor, "metadata": metadata}
    if reason in REFUND_REASONS:
        params["reason"] = reason
    refund = _call(client().v1.refunds.create, params=params, options={"idempotency_key": idempotency_key})
    return refund_from_data(refund)


def refund_retrieve(refund_id: str) -> Refund:
    return refund_from_data(_call(client().v1.refunds.retrieve, refund_id))


def refunds_list(*, intent_id: str = "", created_after: int | None = None) -> list[Refund]:
    """Stripe's refunds of one intent, or all made since ``created_after`` (Unix time), every page."""
    params: dict[str, Any] = {"limit": 100}
    if intent_id:
        params["payment_intent"] = intent_id
    if created_after is not None:
        params["created"] = {"gte": created_after}
    refunds: list[Refund] = []
    while True:
        page = _call(client().v1.refunds.list, params=params)
        refunds.extend(refund_from_data(item) for item in page.data)
        if not page.has_more or not page.data:
            return refunds
        params["starting_after"] = page.data[-1].id
