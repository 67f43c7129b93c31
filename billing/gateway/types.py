"""The gateway's own types: what the rest of the app knows of Stripe's objects and errors.

Built from Stripe's answers by ``intent_from_data`` and ``refund_from_data`` (a dict, or a Stripe
object with ``to_dict``); nothing here imports the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Stripe's names for the methods the payment page offers, and the currencies Stripe takes
# each in (Alipay and WeChat Pay for a Hong Kong or Singapore account).
CARD, ALIPAY, WECHAT_PAY = "card", "alipay", "wechat_pay"
METHOD_CURRENCIES = {
    CARD: {"CNY", "HKD", "USD"},
    ALIPAY: {"CNY", "HKD", "USD"},
    WECHAT_PAY: {"CNY", "HKD", "USD"},
}
# How long after the payment Stripe still refunds each wallet method (cards: no app-side limit).
REFUND_WINDOW_DAYS = {ALIPAY: 90, WECHAT_PAY: 180}


class GatewayError(Exception):
    """Stripe refused or failed; ``message`` is safe to show a customer."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class CardDeclined(GatewayError):
    """The bank said no (declined, insufficient funds, expired card...)."""


# Why ``card_attach`` refused a payment method: it is saved to another Stripe customer.
CARD_OF_ANOTHER_CUSTOMER = "payment_method_of_another_customer"


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached, answered too slowly, or answered with a server error: try again
    later. Stripe may or may not have acted: a retry with the same idempotency key finds out."""


class NotFound(GatewayError):
    """Stripe answered 404: the object (an intent, a customer) is gone. That is an answer, not an
    outage: the caller closes what depended on it. ``param`` names the parameter Stripe blamed."""

    def __init__(self, message: str, *, code: str = "resource_missing", param: str = "") -> None:
        super().__init__(message, code=code)
        self.param = param


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
    failure_code: str = ""  # Stripe's decline_code, or its error code: what the page translates
    metadata: dict[str, str] = field(default_factory=dict)
    setup_future_usage: str = ""  # "off_session": the card is kept for auto-renew once it pays
    next_action: NextAction | None = None

    # What the app asks of an intent's state: services read these, never the raw status.
    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def canceled(self) -> bool:
        return self.status == "canceled"

    @property
    def needs_action(self) -> bool:
        """The customer must finish paying (3-D Secure, Alipay, WeChat Pay)."""
        return self.status == "requires_action"

    @property
    def awaiting_payment_method(self) -> bool:
        """Never tried, or its last try failed (then ``failure_message`` says why)."""
        return self.status == "requires_payment_method"

    @property
    def failed_try(self) -> bool:
        """Its last try was declined; it may be tried again."""
        return self.awaiting_payment_method and bool(self.failure_message)

    @property
    def payable(self) -> bool:
        """The page can still confirm it."""
        return self.status in {"requires_payment_method", "requires_confirmation", "requires_action"}


@dataclass(frozen=True)
class NextAction:
    """What the customer must do for a ``requires_action`` intent (Stripe's ``next_action``)."""

    type: str  # use_stripe_sdk / redirect_to_url (3-D Secure), alipay_handle_redirect, wechat_pay_display_qr_code
    url: str = ""  # where to send the browser (Alipay), or Stripe's instructions page (WeChat Pay)
    qr_data: str = ""  # what the WeChat Pay QR code holds
    expires_at: int | None = None  # when the QR code stops working (Unix time)


def next_action_from_data(data: Any) -> NextAction | None:
    if not isinstance(data, dict) or not data.get("type"):
        return None
    kind = str(data["type"])
    found = data.get(kind)
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "wechat_pay_display_qr_code":
        expires = detail.get("expires_at")
        return NextAction(
            type=kind,
            url=str(detail.get("hosted_instructions_url") or ""),
            qr_data=str(detail.get("data") or ""),
            expires_at=int(expires) if isinstance(expires, int | float) else None,
        )
    return NextAction(type=kind, url=str(detail.get("url") or ""))


@dataclass(frozen=True)
class Card:
    payment_method_id: str
    brand: str
    last4: str
    type: str = CARD  # Stripe's payment method type: card, alipay, wechat_pay


@dataclass(frozen=True)
class Refund:
    id: str
    status: str  # pending, requires_action, succeeded, failed, canceled
    amount_minor: int
    currency: str = ""
    payment_intent_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    failure_reason: str = ""


@dataclass(frozen=True)
class Dispute:
    """A cardholder's (or wallet user's) dispute of a charge, as Stripe last described it."""

    id: str
    status: str  # warning_needs_response, warning_under_review, warning_closed, needs_response, under_review, won, lost
    reason: str  # fraudulent, duplicate, product_not_received, ... (Stripe's codes)
    amount_minor: int
    currency: str  # upper case, as the app stores it
    charge_id: str = ""
    payment_intent_id: str = ""
    evidence_due_by: int | None = None  # Unix time
    created: int | None = None  # Unix time


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    object: dict[str, Any]


def intent_from_data(obj: Any) -> Intent:
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
        failure_code=str(error.get("decline_code") or error.get("code") or "") if isinstance(error, dict) else "",
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        setup_future_usage=_setup_future_usage(data),
        next_action=next_action_from_data(data.get("next_action")),
    )


def _setup_future_usage(data: dict[str, Any]) -> str:
    """Whether the card is kept once it pays: the intent's own ``setup_future_usage``, or the
    card's in ``payment_method_options`` (which overrides it; "none" means not kept)."""
    options = data.get("payment_method_options")
    card = options.get("card") if isinstance(options, dict) else None
    usage = card.get("setup_future_usage") if isinstance(card, dict) else None
    if usage is None:
        usage = data.get("setup_future_usage")
    return "" if usage in (None, "", "none") else str(usage)


def refund_from_data(obj: Any) -> Refund:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return Refund(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        amount_minor=int(data["amount"]),
        currency=str(data.get("currency") or "").upper(),
        payment_intent_id=str(data.get("payment_intent") or ""),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        failure_reason=str(data.get("failure_reason") or ""),
    )


def dispute_from_data(obj: Any) -> Dispute:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    evidence = data.get("evidence_details")
    due = evidence.get("due_by") if isinstance(evidence, dict) else None
    created = data.get("created")
    return Dispute(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        reason=str(data.get("reason") or ""),
        amount_minor=int(data["amount"]),
        currency=str(data.get("currency") or "").upper(),
        charge_id=_id_of(data.get("charge")),
        payment_intent_id=_id_of(data.get("payment_intent")),
        evidence_due_by=int(due) if isinstance(due, int | float) else None,
        created=int(created) if isinstance(created, int | float) else None,
    )


def _id_of(value: Any) -> str:
    """An id Stripe gives as a string, or inside the object when it was expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if isinstance(value, str) else ""


def methods_for(currency: str) -> list[str]:
    return [method for method, currencies in METHOD_CURRENCIES.items() if currency in currencies]
