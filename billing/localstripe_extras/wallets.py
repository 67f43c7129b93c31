"""Alipay and WeChat Pay, as Stripe's test mode offers them (localstripe has neither).

Confirming an intent with a wallet's payment method (``payment_method_data[type]=alipay``) starts
a payment attempt: the intent is ``requires_action`` with Stripe's next action
(docs.stripe.com/api/payment_intents/object#payment_intent_object-next_action):

- Alipay: ``alipay_handle_redirect`` {``url``, ``native_url``, ``native_data``, ``return_url``};
  ``return_url`` is required.
- WeChat Pay (``payment_method_options[wechat_pay][client]=web``): ``wechat_pay_display_qr_code``
  {``data``, ``image_data_url``, ``image_url_png``, ``image_url_svg``,
  ``hosted_instructions_url``, ``expires_at``}. The code expires after ``qr_seconds`` (set with
  ``POST /_config/boom/wechat_pay qr_seconds=N``; ``DELETE /_config/data`` resets it); then the
  attempt fails as Stripe's does.

The URLs lead to the test page (``wallet_page``), where "Authorize test payment" makes the charge
(``payment_intent.succeeded``) and "Fail test payment" fails the attempt: the intent goes back to
``requires_payment_method`` with ``last_payment_error`` and ``payment_intent.payment_failed`` is
sent. Confirming again starts a new attempt; the old one's links stop working.
"""

from __future__ import annotations

import asyncio
import base64
import io
import secrets
import time
from dataclasses import dataclass
from typing import Any

import segno
from aiohttp import web
from localstripe import resources, server
from localstripe.webhooks import schedule_webhook

from billing.localstripe_extras.common import error, intent_get, on_wipe, origin

WALLETS = ("alipay", "wechat_pay")
QR_SECONDS = 5 * 60  # how long a WeChat Pay code works: Stripe's last a few minutes
WECHAT_CLIENTS = ("web",)  # "ios" and "android" need an app_id the app does not have

_config: dict[str, int] = {"qr_seconds": QR_SECONDS}
_localstripe_method_init = resources.PaymentMethod.__init__


def install(app: web.Application) -> None:
    resources.PaymentMethod.__init__ = _method_init
    app.router.add_post("/_config/boom/wechat_pay", config_wechat_pay)
    on_wipe(lambda: _config.update(qr_seconds=QR_SECONDS))


async def config_wechat_pay(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    seconds = resources.try_convert_to_int(data.get("qr_seconds"))
    if not isinstance(seconds, int) or seconds < 1:
        raise error(400, "qr_seconds must be a whole number of seconds, at least 1", param="qr_seconds")
    _config["qr_seconds"] = seconds
    return web.json_response(_config)


# --- Payment methods ------------------------------------------------------------------------------


def _method_init(self: Any, type: Any = None, billing_details: Any = None, metadata: Any = None, **kwargs: Any) -> None:
    if type not in WALLETS:
        _localstripe_method_init(self, type=type, billing_details=billing_details, metadata=metadata, **kwargs)
        return
    details = kwargs.pop(type, None)
    if kwargs:
        name = next(iter(kwargs))
        raise error(400, f"Received unknown parameter: {name}", param=name)
    if details not in (None, "") and not isinstance(details, dict):
        raise error(400, "Invalid object", param=type)
    if billing_details is not None and not isinstance(billing_details, dict):
        raise error(400, "Invalid object", param="billing_details")
    resources.StripeObject.__init__(self)
    self.type = type
    self.billing_details = billing_details or {}
    self.customer = None
    self.metadata = metadata or {}
    setattr(self, type, {})  # Stripe's alipay and wechat_pay hashes are empty


def method_from_data(data: Any, allowed_types: list[str]) -> Any:
    """A PaymentMethod made from a confirm's ``payment_method_data``, as Stripe makes one."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise error(400, "Missing required param: payment_method_data[type].", param="payment_method_data[type]")
    if data["type"] not in allowed_types:
        raise error(
            400,
            f"The PaymentMethod type {data['type']} is not in this PaymentIntent's payment_method_types "
            f"({', '.join(allowed_types)}).",
            code="payment_intent_incompatible_payment_method",
            param="payment_method_data[type]",
        )
    return resources.PaymentMethod(**data)


# --- Attempts -------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One wallet payment attempt awaiting the customer; kept on its intent as ``_wallet_attempt``."""

    token: str
    method: str  # alipay, wechat_pay
    payment_method: str
    url: str  # the test page
    return_url: str
    expires_at: int | None = None
    timer: asyncio.TimerHandle | None = None


def attempt_check(intent: Any, method: Any, *, return_url: Any) -> None:
    """Refuse, before anything changes, a confirm Stripe would refuse for this wallet."""
    options = intent.payment_method_options.get(method.type, {})
    if intent.setup_future_usage and options.get("setup_future_usage") != "none":
        raise error(
            400,
            f"The payment method type {method.type} cannot be saved for future use: unset setup_future_usage, "
            f"or set payment_method_options[{method.type}][setup_future_usage] to none.",
            param="setup_future_usage",
        )
    if method.type == "alipay" and not (isinstance(return_url, str) and return_url.startswith(("http://", "https://"))):
        raise error(400, "A return_url is required to confirm a PaymentIntent with alipay.", param="return_url")
    if method.type == "wechat_pay" and options.get("client") not in WECHAT_CLIENTS:
        raise error(
            400,
            "payment_method_options[wechat_pay][client] is required: web (ios and android need an app_id).",
            param="payment_method_options[wechat_pay][client]",
        )


def attempt_start(intent: Any, method: Any, *, return_url: Any) -> None:
    token = secrets.token_urlsafe(16)
    url = f"{origin()}/_boom/wallet/{intent.id}/{token}"
    attempt = Attempt(token=token, method=method.type, payment_method=method.id, url=url, return_url=return_url or "")
    if method.type == "alipay":
        intent.next_action = {
            "type": "alipay_handle_redirect",
            "alipay_handle_redirect": {"native_data": None, "native_url": url, "return_url": return_url, "url": url},
        }
    else:
        seconds = _config["qr_seconds"]
        attempt.expires_at = int(time.time()) + seconds
        attempt.timer = asyncio.get_running_loop().call_later(seconds, _expire_later, intent.id, token)
        intent.next_action = {
            "type": "wechat_pay_display_qr_code",
            "wechat_pay_display_qr_code": {
                "data": url,  # what the code holds: scanning it opens the test page
                "expires_at": attempt.expires_at,
                "hosted_instructions_url": url,
                "image_data_url": "data:image/png;base64," + base64.b64encode(qr_image(url, "png")).decode(),
                "image_url_png": f"{url}/qr.png",
                "image_url_svg": f"{url}/qr.svg",
            },
        }
    intent._wallet_attempt = attempt


def qr_image(data: str, kind: str) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind=kind, scale=5, border=2)
    return out.getvalue()


def attempt_abandon(intent: Any) -> None:
    attempt = getattr(intent, "_wallet_attempt", None)
    if attempt is not None and attempt.timer is not None:
        attempt.timer.cancel()
    intent._wallet_attempt = None


def attempt_current(intent: Any, token: str) -> Attempt | None:
    """The intent's attempt with this token if it still awaits the customer; an expired code fails
    its attempt here too, should its timer not have run yet."""
    attempt: Attempt | None = getattr(intent, "_wallet_attempt", None)
    if attempt is None or not secrets.compare_digest(attempt.token, token) or intent.status != "requires_action":
        return None
    if attempt.expires_at is not None and time.time() >= attempt.expires_at:
        attempt_expire(intent)
        return None
    return attempt


def attempt_authorize(intent: Any) -> None:
    """The customer approved: the charge is made and ``payment_intent.succeeded`` sent."""
    attempt_abandon(intent)
    intent.next_action = None
    intent._create_charge(on_failure_now=None)


def attempt_fail(intent: Any, *, code: str = "payment_intent_payment_attempt_failed", message: str = "") -> None:
    """The attempt failed: back to ``requires_payment_method``, as Stripe leaves it."""
    attempt: Attempt = intent._wallet_attempt
    method = resources.PaymentMethod._api_retrieve(attempt.payment_method)
    attempt_abandon(intent)
    intent._payment_error = {
        "code": code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message
        or "The latest payment attempt of this PaymentIntent has failed or been canceled, and the attached "
        "payment method has been removed. You can try confirming again with a new payment method.",
        "payment_method": method._export(),
        "type": "invalid_request_error",
    }
    intent.next_action = None
    intent.payment_method = None
    schedule_webhook(resources.Event("payment_intent.payment_failed", intent))


def attempt_expire(intent: Any) -> None:
    attempt_fail(
        intent,
        code="payment_intent_payment_attempt_expired",
        message="The latest payment attempt of this PaymentIntent has expired. You can try confirming again "
        "to make a new QR code.",
    )


def _expire_later(intent_id: str, token: str) -> None:
    intent = intent_get(intent_id)
    if intent is None:  # wiped meanwhile
        return
    attempt: Attempt | None = getattr(intent, "_wallet_attempt", None)
    if attempt is not None and attempt.token == token and intent.status == "requires_action":
        attempt_expire(intent)
