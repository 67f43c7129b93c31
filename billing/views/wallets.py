"""Alipay and WeChat Pay from the payment page, and the order's status for the page that waits."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import CustomerRequest
from billing import gateway, selectors, services
from billing.models import Order
from billing.views.messages import gateway_message
from boomcard.qr import qr_svg_draw

logger = logging.getLogger(__name__)

# A waiting page asks the server every few seconds; the server asks Stripe at most this often
# per order (the webhook is what normally moves it; this covers one that is late).
ASK_STRIPE_EVERY = 15


@login_required
@require_POST
def pay_wallet(request: CustomerRequest, public_id: str) -> HttpResponse:
    """Confirm the order with Alipay or WeChat Pay at Stripe, then show the order page, which
    sends the customer on to Alipay or draws the WeChat Pay QR code."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    method = request.POST.get("method", "")
    if method not in services.WALLETS:
        messages.error(request, _("Choose a way to pay."))
        return redirect("billing:pay", public_id=order.public_id)
    return_url = request.build_absolute_uri(reverse("billing:order", args=[order.public_id]))
    try:
        order = services.order_pay_with_wallet(order=order, method=method, return_url=return_url)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("billing:pay", public_id=order.public_id)
    except gateway.GatewayError as error:
        messages.error(request, gateway_message(error))
        return redirect("billing:pay", public_id=order.public_id)
    # ?go=1: the order page sends the customer straight on to Alipay (once: coming back from
    # Alipay lands on the plain order page, which offers the way back instead).
    return redirect(reverse("billing:order", args=[order.public_id]) + "?go=1")


@dataclass(frozen=True)
class WalletStep:
    """What the order page shows while the customer pays in a wallet."""

    method: str  # alipay or wechat_pay
    url: str  # Alipay's page; for WeChat Pay, Stripe's instructions (in test mode, its test page)
    go: bool = False  # send the browser to ``url`` at once
    qr_svg: SafeString | None = None
    expires_at: datetime | None = None
    expired: bool = False
    test_mode: bool = False


def wallet_step(order: Order, *, go: bool = False) -> WalletStep | None:
    """The wallet step the order waits on (from ``Order.action``, no call to Stripe), if any."""
    action = order.action or {}
    if order.status != Order.Status.REQUIRES_ACTION:
        return None
    test_mode = settings.STRIPE_SECRET_KEY.startswith("sk_test_")
    if action.get("type") == "alipay_handle_redirect" and action.get("url"):
        return WalletStep(method=gateway.ALIPAY, url=str(action["url"]), go=go, test_mode=test_mode)
    if action.get("type") == "wechat_pay_display_qr_code" and action.get("qr_data"):
        expires = action.get("expires_at")
        expires_at = datetime.fromtimestamp(expires, tz=UTC) if isinstance(expires, int | float) else None
        return WalletStep(
            method=gateway.WECHAT_PAY,
            url=str(action.get("url") or ""),
            qr_svg=qr_svg_draw(str(action["qr_data"])),
            expires_at=expires_at,
            expired=expires_at is not None and expires_at <= timezone.now(),
            test_mode=test_mode,
        )
    return None


@login_required
@require_GET
def order_status(request: CustomerRequest, public_id: str) -> JsonResponse:
    """The order's state as JSON, for the page waiting on a wallet or a bank: read from the
    database (the webhook moves it), asking Stripe itself only now and then."""
    order = selectors.customer_order(user=request.user, public_id=public_id)
    if order.is_open and order.payment_intent_id and _may_ask_stripe(order):
        try:
            order = services.order_fulfil(order=order)
        except gateway.GatewayError as error:
            logger.info("order %s: status not asked of Stripe (%s)", order.public_id, error.code)
    return JsonResponse({"status": order.status, "final": order.status in Order.FINAL})


def _may_ask_stripe(order: Order) -> bool:
    try:
        return bool(cache.add(f"order-status-asked:{order.pk}", 1, timeout=ASK_STRIPE_EVERY))
    except Exception:  # the cache is down: the webhook and reconciliation still move the order
        return False
