"""Alipay and WeChat Pay: the server confirms the order's intent, the customer finishes in the
wallet (Alipay's page, or the WeChat Pay QR code the order page draws), Stripe's webhook event
(processed by a task on the ``billing`` queue) or the order page asking Stripe fulfils the order
as for a card."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing import gateway
from billing.models import Order
from billing.services.orders import (
    _order_intent_replace,
    order_expire,
    order_intent_apply,
    order_intent_ensure,
)

WALLETS = (gateway.ALIPAY, gateway.WECHAT_PAY)


def order_pay_with_wallet(*, order: Order, method: str, return_url: str) -> Order:
    """Confirm the order's intent with ``method`` (Alipay or WeChat Pay) at Stripe and keep on the
    order what the customer must do next (``Order.action``: Alipay's address, or the QR code and
    when it expires). Asking again after a failed or expired try starts a fresh attempt; an
    order already paid is returned as it is. Raises ValidationError for a method that cannot
    take the order's currency; Stripe's trouble raises the gateway's errors, nothing is held."""
    if method not in WALLETS or method not in gateway.methods_for(order.currency):
        raise ValidationError(_("This payment method cannot take this currency."), code="method_not_offered")
    order = order_intent_ensure(order=order)
    if order.is_open and order.status == Order.Status.FAILED:
        order = _order_intent_replace(order=order)
    if not order.is_open:
        return order
    intent_id = str(order.payment_intent_id)
    try:
        intent = gateway.intent_pay_with_wallet(intent_id=intent_id, method=method, return_url=return_url)
    except gateway.NotFound:
        return order_expire(order=order)
    except gateway.GatewayUnavailable:
        raise
    except gateway.GatewayError:
        # Stripe refused to confirm (paid or cancelled meanwhile, say): its state now.
        intent = gateway.intent_retrieve(intent_id)
    # What paid is the wallet, not a card: the order shows it before Stripe says more.
    paid_with = gateway.Card(payment_method_id=intent.payment_method_id, brand="", last4="", type=method)
    return order_intent_apply(order=order, intent=intent, paid_with=paid_with)
