"""Renewing and paying. Views parse, call a service, and render; amounts come from the server.
Split by subject: ``orders`` (renew, order page, list, receipt), ``pay`` (the payment page and
the card), ``suggestion`` (buying a recommendation whole), ``auto_renew``, ``wallets`` (Alipay,
WeChat Pay, the order's status), ``webhooks`` (Stripe's events)."""

from billing.views.auto_renew import auto_renew
from billing.views.orders import order_cancel, order_detail, orders, receipt, receipt_pdf, renew, renew_now, renew_price
from billing.views.pay import card_setup, pay, pay_card
from billing.views.suggestion import suggestion
from billing.views.wallets import order_status, pay_wallet
from billing.views.webhooks import stripe_webhook

__all__ = [
    "auto_renew",
    "card_setup",
    "order_cancel",
    "order_detail",
    "order_status",
    "orders",
    "pay",
    "pay_card",
    "pay_wallet",
    "receipt",
    "receipt_pdf",
    "renew",
    "renew_now",
    "renew_price",
    "stripe_webhook",
    "suggestion",
]
