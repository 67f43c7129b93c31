"""What localstripe lacks and the app needs, added to it before it serves.

localstripe (PyPI, 1.15.10, a development requirement only) is the fake Stripe server the
development stack and the tests run; ``manage.py run_localstripe`` calls ``install(server.app)``
once, before serving. Each addition follows Stripe's documented behaviour, so the app can use
Stripe as Stripe is meant to be used (see ../shared/STRIPE-LOCAL.md), one module a subject:

- ``idempotency``: ``Idempotency-Key`` replays the first answer, as Stripe does.
- ``missing``: Stripe's 404 ``resource_missing`` with its ``param``.
- ``refunds``: refund events and checks, listing refunds; wallet refunds go pending → succeeded.
- ``intents``: ``payment_method_types``, ``setup_future_usage`` (the card is then saved to the
  customer), confirm with ``payment_method``/``payment_method_data``/``return_url``, Stripe's
  decline and failure details.
- ``wallets`` and ``wallet_page``: Alipay and WeChat Pay next actions, and the test page with
  "Authorize test payment" / "Fail test payment" (``/_boom/wallet/<intent>/<token>``);
  ``POST /_config/boom/wechat_pay qr_seconds=N`` sets how long a QR code lasts.
- ``stripe_js``: what a page may do with the publishable key, and Stripe.js's
  ``confirmCardPayment`` with a card element, ``handleCardAction`` and ``createPaymentMethod``.
- ``disputes``: Stripe's test card 4000000000000259 is paid, then disputed.

The site never imports this package.
"""

from __future__ import annotations

from aiohttp import web

from billing.localstripe_extras import disputes, idempotency, intents, missing, refunds, stripe_js, wallet_page, wallets
from billing.localstripe_extras.common import on_wipe, replaced_routes_middleware, request_middleware

_installed = False


def install(app: web.Application) -> None:
    """Add the extensions to localstripe's app (``localstripe.server.app``), once.

    Must run before the app serves: aiohttp freezes an app's routes and middlewares when it starts.
    """
    global _installed
    if _installed:
        return
    if app.frozen or app.middlewares.frozen:
        raise RuntimeError("install() must run before the app serves: its middlewares are frozen by then")
    # Outermost, before localstripe's own: it sees the final answer, errors already turned into
    # responses, and takes a key before the request's body has arrived.
    app.middlewares.insert(0, idempotency.idempotency_middleware)
    app.middlewares.insert(1, request_middleware)
    stripe_js.install(app)  # in place of localstripe's auth_middleware
    # Innermost: it sees the request's parameters and the lookup that failed.
    app.middlewares.append(missing.resource_missing_middleware)
    app.middlewares.append(replaced_routes_middleware)
    on_wipe(idempotency.idempotency_keys_forget)
    missing.install()
    refunds.install()
    wallets.install(app)
    wallet_page.install(app)
    intents.install()
    disputes.install(app)
    _installed = True
