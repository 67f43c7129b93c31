"""The wallet test page, as Stripe's test mode shows for a redirect or QR payment: the amount, the
method, and two buttons, "Authorize test payment" and "Fail test payment".

``GET /_boom/wallet/<intent id>/<attempt token>`` is where Alipay's ``url`` and WeChat Pay's
``data`` and ``hosted_instructions_url`` lead; the buttons post to ``.../authorize`` and
``.../fail``. Alipay then sends the browser back to ``return_url`` with ``payment_intent``,
``payment_intent_client_secret`` and ``redirect_status`` (``succeeded`` or ``failed``), as Stripe
does; WeChat Pay shows the outcome (the customer's phone would). ``.../qr.png`` and ``.../qr.svg``
draw the code. The token is the attempt's: a page of an older attempt, or of an intent no longer
awaiting the customer, says so (409) and changes nothing.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from billing.localstripe_extras import wallets
from billing.localstripe_extras.common import intent_get, money, page

METHOD_NAMES = {"alipay": "Alipay", "wechat_pay": "WeChat Pay"}
PREFIX = "/_boom/wallet/{intent}/{token}"


def install(app: web.Application) -> None:
    app.router.add_get(PREFIX, show)
    app.router.add_post(PREFIX + "/authorize", authorize)
    app.router.add_post(PREFIX + "/fail", fail)
    app.router.add_get(PREFIX + "/qr.{kind:png|svg}", qr)


def _attempt(request: web.Request) -> tuple[Any, wallets.Attempt | None]:
    intent = intent_get(request.match_info["intent"])
    if intent is None:
        raise web.HTTPNotFound(text="No such payment_intent.")
    return intent, wallets.attempt_current(intent, request.match_info["token"])


def _not_awaiting(intent: Any) -> web.Response:
    body = (
        f"<p>This test payment is no longer awaiting the customer: the PaymentIntent "
        f"<code>{html.escape(intent.id)}</code> is <strong>{html.escape(str(intent.status))}</strong>. "
        "Nothing was changed.</p>"
        "<p>If a QR code expired or the payment was confirmed again, use the newest link.</p>"
    )
    return page("Test payment not awaiting action", body, status=409)


async def show(request: web.Request) -> web.Response:
    intent, attempt = _attempt(request)
    if attempt is None:
        return _not_awaiting(intent)
    name = METHOD_NAMES[attempt.method]
    action = html.escape(request.path)
    qr = ""
    if attempt.method == "wechat_pay":
        qr = (
            f'<p><img src="{action}/qr.png" alt="WeChat Pay QR code (test)" width="185" height="185"></p>'
            f"<p>The code expires at {attempt.expires_at} (Unix time).</p>"
        )
    body = (
        f"<p>{html.escape(name)} payment of <strong>{html.escape(money(intent.amount, intent.currency))}</strong> "
        f"for <code>{html.escape(intent.id)}</code>.</p>{qr}"
        f'<form method="post" action="{action}/authorize"><button type="submit">Authorize test payment</button></form>'
        f'<form method="post" action="{action}/fail"><button type="submit">Fail test payment</button></form>'
    )
    return page(f"{name} test payment", body)


async def authorize(request: web.Request) -> web.Response:
    intent, attempt = _attempt(request)
    if attempt is None:
        return _not_awaiting(intent)
    wallets.attempt_authorize(intent)
    return _outcome(intent, attempt, "succeeded")


async def fail(request: web.Request) -> web.Response:
    intent, attempt = _attempt(request)
    if attempt is None:
        return _not_awaiting(intent)
    wallets.attempt_fail(intent)
    return _outcome(intent, attempt, "failed")


def _outcome(intent: Any, attempt: wallets.Attempt, redirect_status: str) -> web.Response:
    if attempt.method == "alipay":
        raise web.HTTPSeeOther(
            _with_query(
                attempt.return_url,
                payment_intent=intent.id,
                payment_intent_client_secret=intent.client_secret,
                redirect_status=redirect_status,
            )
        )
    if redirect_status == "succeeded":
        return page("Paid", f"<p>Paid {html.escape(money(intent.amount, intent.currency))} with WeChat Pay (test).</p>")
    return page("Payment failed", "<p>The WeChat Pay test payment failed. Nothing was charged.</p>")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


async def qr(request: web.Request) -> web.Response:
    _intent, attempt = _attempt(request)
    if attempt is None or attempt.method != "wechat_pay":
        raise web.HTTPNotFound(text="This code is no longer valid.")
    kind = request.match_info["kind"]
    return web.Response(
        body=wallets.qr_image(attempt.url, kind), content_type=f"image/{'svg+xml' if kind == 'svg' else kind}"
    )
