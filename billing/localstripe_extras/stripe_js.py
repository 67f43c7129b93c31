"""What the browser may do with the publishable key, as with Stripe.js, and the stand-in Stripe.js.

Stripe lets a page holding only the publishable key make a PaymentMethod, and confirm or read a
PaymentIntent whose client secret it holds; localstripe accepts neither. Here
``POST /v1/payment_methods``, ``POST /v1/payment_intents/<id>/confirm`` and
``GET /v1/payment_intents/<id>`` take a ``pk_`` key (``key`` in the body or query, or
``Authorization: Bearer pk_...``); the two about an intent only with that intent's own
``client_secret``. Everything else keeps localstripe's rules. The wallet test page
(``/_boom/``) is open, as Stripe's is: its address carries the attempt's token.

``/js.stripe.com/v3/`` serves localstripe's script with ``stripe_js.js`` appended: it makes
``confirmCardPayment(secret, {payment_method: {card}})``, ``handleCardAction`` and
``createPaymentMethod`` do what Stripe.js does (see that file).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import resources, server

from billing.localstripe_extras.common import error

SCRIPT = Path(server.__file__).with_name("localstripe-v3.js")
EXTRAS = Path(__file__).with_name("stripe_js.js")
_INTENT_PATHS = {
    "POST": re.compile(r"^/v1/payment_intents/(pi_\w+)/confirm$"),
    "GET": re.compile(r"^/v1/payment_intents/(pi_\w+)$"),
}


def install(app: web.Application) -> None:
    position = app.middlewares.index(server.auth_middleware)
    app.middlewares[position] = auth_middleware


def _publishable_key(request: web.Request, data: dict[str, Any]) -> str | None:
    key = data.get("key")
    header = request.headers.get("Authorization", "")
    if not isinstance(key, str) and header.startswith("Bearer "):
        key = header.removeprefix("Bearer ")
    return key if isinstance(key, str) and key.startswith("pk_") and len(key) > 5 else None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_boom/"):
        return await handler(request)
    if request.method == "GET" and request.path == "/js.stripe.com/v3/":
        script = SCRIPT.read_text() + "\n" + EXTRAS.read_text()
        return web.Response(text=script, content_type="application/javascript")
    if server.get_api_key(request) is not None or request.method not in _INTENT_PATHS:
        return await server.auth_middleware(request, handler)
    if request.method == "POST":
        data = await server.get_post_data(request, remove_auth=False) or {}
    else:
        data = server.unflatten_data(request.query)
    if _publishable_key(request, data) is None:
        return await server.auth_middleware(request, handler)
    if request.method == "POST" and request.path == "/v1/payment_methods":
        return await handler(request)
    found = _INTENT_PATHS[request.method].match(request.path)
    if found is None:
        return await server.auth_middleware(request, handler)
    intent = resources.store.get(f"payment_intent:{found.group(1)}")
    if intent is not None and data.get("client_secret") != intent.client_secret:
        raise error(
            400 if "client_secret" in data else 401,
            "The client_secret provided does not match the client_secret associated with the PaymentIntent."
            if "client_secret" in data
            else "A publishable key may act on a PaymentIntent only with its client_secret.",
            param="client_secret",
        )
    return await handler(request)
