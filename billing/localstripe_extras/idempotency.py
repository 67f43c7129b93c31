"""Idempotency keys (docs.stripe.com/api/idempotent_requests), which localstripe ignores.

A POST's ``Idempotency-Key``, scoped to the API key, replays the first answer for 24 hours; other
parameters under the same key are a 400 ``idempotency_error``; a key whose first request is still
running is a 409 ``idempotency_key_in_use``. ``DELETE /_config/data`` forgets the keys with the
objects.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import server

IDEMPOTENCY_KEY_LIFETIME = 24 * 60 * 60  # seconds, as Stripe keeps them


@dataclass(frozen=True)
class _Saved:
    endpoint: str  # "POST /v1/payment_intents"
    params: str  # the parsed body and query, as canonical JSON
    status: int
    body: bytes
    content_type: str
    expires_at: float


# (API key, idempotency key) -> the saved answer, or None while the first request runs.
_idempotency_keys: dict[tuple[str, str], _Saved | None] = {}


def idempotency_keys_forget() -> None:
    _idempotency_keys.clear()


async def _signature(request: web.Request) -> tuple[str, str]:
    # What the SDK sends is form-encoded: compare it parsed, as localstripe reads it.
    body = await server.get_post_data(request, remove_auth=False) or {}
    query = server.unflatten_data(request.query) if request.query else {}
    params = json.dumps({"body": body, "query": query}, sort_keys=True, default=str)
    return f"{request.method} {request.path}", params


def _kept_body(response: web.StreamResponse) -> bytes | None:
    """The answer's body if Stripe would save it: only once the endpoint began executing. A 402
    (declined card) follows a charge; localstripe's other 4xx are its parameter checks, made
    before anything changes. 5xx are not kept: here they are localstripe's gaps, not outcomes."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return None
    return response.body if 200 <= response.status < 300 or response.status == 402 else None


def _idempotency_error(status: int, message: str, key: str, **fields: str) -> web.Response:
    body = {"error": {"type": "idempotency_error", "message": message, **fields}}
    return web.json_response(body, status=status, headers={"Idempotency-Key": key})


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    key = request.headers.get("Idempotency-Key", "")
    api_key = server.get_api_key(request)
    if request.method != "POST" or not key or api_key is None:
        return await handler(request)

    scope, now = (api_key, key), time.time()
    if scope in _idempotency_keys:
        saved = _idempotency_keys[scope]
        if saved is None:
            return _idempotency_error(
                409,
                "There is currently another in-progress request using this Stripe API key and idempotency "
                "key. Please try again later.",
                key,
                code="idempotency_key_in_use",
            )
        if saved.expires_at > now:
            endpoint, params = await _signature(request)
            if endpoint != saved.endpoint:
                return _idempotency_error(
                    400,
                    "Keys for idempotent requests can only be used for the same endpoint they were first used "
                    f"for ('{saved.endpoint}' vs '{endpoint}'). Try using a key other than '{key}' if you "
                    "meant to execute a different request.",
                    key,
                )
            if params != saved.params:
                return _idempotency_error(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first "
                    f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                    key,
                )
            headers = {"Idempotency-Key": key, "Idempotent-Replayed": "true"}
            return web.Response(status=saved.status, body=saved.body, content_type=saved.content_type, headers=headers)

    _idempotency_keys[scope] = None  # taken before the first await: a second request now gets the 409
    try:
        endpoint, params = await _signature(request)
        response = await handler(request)
    except BaseException:
        _idempotency_keys.pop(scope, None)
        raise
    body = _kept_body(response)
    if body is not None and scope in _idempotency_keys:  # not wiped meanwhile
        for expired in [s for s, v in _idempotency_keys.items() if v is not None and v.expires_at <= now]:
            del _idempotency_keys[expired]
        _idempotency_keys[scope] = _Saved(
            endpoint, params, response.status, body, response.content_type, now + IDEMPOTENCY_KEY_LIFETIME
        )
    else:
        _idempotency_keys.pop(scope, None)
    response.headers["Idempotency-Key"] = key
    return response
