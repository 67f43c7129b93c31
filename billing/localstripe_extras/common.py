"""What the extensions share: Stripe's error shape, the fake's own address, forgetting on a wipe,
and the plain HTML pages the fake shows a person (the wallet test page)."""

from __future__ import annotations

import html
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import resources, server
from localstripe.errors import UserError

_origin: ContextVar[str] = ContextVar("origin", default="http://127.0.0.1:8420")
_wipe_callbacks: list[Callable[[], None]] = []
_replaced_routes: dict[tuple[str, str], Handler] = {}


def error(status: int, message: str, **fields: Any) -> UserError:
    """An error in Stripe's shape: ``{"error": {"type", "message", "code"?, "param"?}}``."""
    return UserError(status, message, dict(fields))


def origin() -> str:
    """The address the current request reached the fake at (``http://127.0.0.1:8420``): links the
    fake hands out (the wallet test page) must work from the browser that asked."""
    return _origin.get()


def on_wipe(callback: Callable[[], None]) -> None:
    """Run ``callback`` when ``DELETE /_config/data`` wipes the objects: what belongs to them goes too."""
    _wipe_callbacks.append(callback)


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    _origin.set(str(request.url.origin()))
    response = await handler(request)
    if request.method == "DELETE" and request.path == "/_config/data":
        for callback in _wipe_callbacks:
            callback()
    return response


def route_replace(method: str, path: str, func: Callable[..., Any]) -> None:
    """Answer one of localstripe's own routes (``/v1/payment_intents/{id}/confirm``) with ``func``,
    called as localstripe calls its own: localstripe bound its routes to its functions on import."""
    _replaced_routes[(method, path)] = server.api_extra(func, path)


@web.middleware
async def replaced_routes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    replaced = _replaced_routes.get((request.method, resource.canonical)) if resource is not None else None
    return await (replaced or handler)(request)


def intent_get(intent_id: str) -> Any:
    """The intent, or None: for work done later (a timer) on an intent a wipe may have removed."""
    return resources.store.get(f"payment_intent:{intent_id}")


def page(title: str, body: str, status: int = 200) -> web.Response:
    """A small HTML page; ``body`` is already escaped HTML."""
    text = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.6rem 1rem;margin:.3rem .3rem 0 0}"
        ".test{background:#fff3cd;padding:.5rem;border-radius:.3rem}</style>"
        f'</head><body><p class="test">TEST MODE: localstripe, extended by the project\'s launcher</p>'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )
    return web.Response(text=text, status=status, content_type="text/html")


# Currencies Stripe counts in whole units (docs.stripe.com/currencies#zero-decimal), of those the
# fake might see; the others in hundredths.
ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "pyg", "xof", "xaf", "ugx", "rwf", "mga", "kmf", "gnf", "djf", "bif"}


def money(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"
