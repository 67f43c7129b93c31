"""What localstripe lacks and the app needs, added to it before it serves.

localstripe (PyPI, 1.15.10, a development requirement only) is the fake Stripe server the
development stack and the tests run; ``manage.py run_localstripe`` calls ``install(server.app)``
once, before serving. Each addition follows Stripe's documented behaviour, so the app can use
Stripe as Stripe is meant to be used (see ../shared/STRIPE-LOCAL.md):

- Idempotency keys (docs.stripe.com/api/idempotent_requests): a POST's ``Idempotency-Key``,
  scoped to the API key, replays the first answer for 24 hours; other parameters under the same
  key are a 400 ``idempotency_error``; a key whose first request is still running is a 409
  ``idempotency_key_in_use``. ``DELETE /_config/data`` forgets the keys with the objects.
- Refunds: ``charge.refunded`` and ``refund.created`` are sent (localstripe sends neither); a
  refund beyond what remains is refused (``charge_already_refunded``, ``amount_too_large``);
  ``reason`` is accepted; ``GET /v1/refunds`` filters by ``payment_intent``, ``charge`` and
  ``created``, newest first.
- Missing objects: 404 ``resource_missing`` with Stripe's ``param`` and "No such ..." message
  (localstripe says only "Not Found").

The site never imports this module. More belongs here the same way (the wallets' next actions).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import resources, server
from localstripe.errors import UserError
from localstripe.webhooks import schedule_webhook

IDEMPOTENCY_KEY_LIFETIME = 24 * 60 * 60  # seconds, as Stripe keeps them
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")

_installed = False


def install(app: web.Application) -> None:
    """Add the extensions to localstripe's app (``localstripe.server.app``), once.

    Must run before the app serves: aiohttp freezes an app's middlewares when it starts.
    """
    global _installed
    if _installed:
        return
    if app.frozen or app.middlewares.frozen:
        raise RuntimeError("install() must run before the app serves: its middlewares are frozen by then")
    # Outermost, before localstripe's own: it sees the final answer, errors already turned into
    # responses, and takes a key before the request's body has arrived.
    app.middlewares.insert(0, idempotency_middleware)
    # Innermost: it sees the request's parameters and the lookup that failed.
    app.middlewares.append(resource_missing_middleware)
    resources.StripeObject._api_retrieve = classmethod(_retrieve)
    resources.Refund._api_create = classmethod(_refund_create)
    resources.Refund._api_list_all = classmethod(_refund_list)
    _installed = True


def _error(status: int, message: str, **fields: str) -> UserError:
    """An error in Stripe's shape: ``{"error": {"type", "message", "code"?, "param"?}}``."""
    return UserError(status, message, dict(fields))


# --- Idempotency keys -------------------------------------------------------------------------


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
    if request.method == "DELETE" and request.path == "/_config/data":
        response = await handler(request)
        idempotency_keys_forget()
        return response
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


# --- Missing objects --------------------------------------------------------------------------

# The name Stripe gives an object's id in the path, where it is not "id".
_PATH_PARAMS = {"payment_intent": "intent"}
_localstripe_retrieve = resources.StripeObject._api_retrieve.__func__


class ResourceMissing(UserError):
    """Stripe's 404: ``No such payment_intent: 'pi_...'``, code ``resource_missing``."""

    def __init__(self, object_name: str, object_id: str) -> None:
        param = _PATH_PARAMS.get(object_name, "id")
        super().__init__(404, f"No such {object_name}: '{object_id}'", {"code": "resource_missing", "param": param})
        self.object_id = object_id


def _retrieve(cls: Any, object_id: str) -> Any:
    try:
        return _localstripe_retrieve(cls, object_id)
    except UserError as error:
        if error.code == 404 and not isinstance(error, ResourceMissing):
            raise ResourceMissing(cls.object, object_id) from None
        raise


@web.middleware
async def resource_missing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Name the parameter that carried a missing id (``customer``, ``payment_intent``...), as
    Stripe does; an id in the path keeps the name ``_retrieve`` gave it."""
    try:
        return await handler(request)
    except ResourceMissing as error:
        if request.match_info.get("id") != error.object_id:
            params = dict(server.unflatten_data(request.query)) if request.query else {}
            if request.method == "POST":
                params.update(await server.get_post_data(request) or {})
            for name, value in params.items():
                if value == error.object_id:
                    error.body["error"]["param"] = name
                    break
        raise


# --- Refunds ----------------------------------------------------------------------------------


def _refunded_charge(data: dict[str, Any]) -> Any:
    """The charge a refund request is about, or None to let localstripe refuse the request."""
    charge_id, intent_id = data.get("charge"), data.get("payment_intent")
    if isinstance(charge_id, str):
        return resources.Charge._api_retrieve(charge_id)
    if isinstance(intent_id, str):
        intent = resources.PaymentIntent._api_retrieve(intent_id)
        if intent.latest_charge is None:  # localstripe would fail on it with a 500
            raise _error(
                400,
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        return intent.latest_charge
    return None


def _refund_create(cls: Any, reason: Any = None, **data: Any) -> Any:
    if reason is not None and reason not in REFUND_REASONS:
        raise _error(
            400, "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
        )
    charge = _refunded_charge(data)
    if charge is not None and charge.status == "succeeded":
        remaining = charge.amount - charge.amount_refunded
        if remaining <= 0:
            raise _error(400, f"Charge {charge.id} has already been refunded.", code="charge_already_refunded")
        amount = resources.try_convert_to_int(data.get("amount"))
        if isinstance(amount, int) and amount > remaining:
            raise _error(
                400,
                f"Refund amount ({amount} {charge.currency}) is greater than unrefunded amount on charge "
                f"({remaining} {charge.currency}).",
                code="amount_too_large",
                param="amount",
            )
        if data.get("amount") is None:
            data["amount"] = remaining  # localstripe would refund the whole charge again
    refund = cls(**data)
    refund.reason = reason
    charge = resources.Charge._api_retrieve(refund.charge)
    refund.payment_intent = refund.payment_intent or charge.payment_intent
    # As Stripe does, for a partial refund too; localstripe sends them about 1 s later, signed.
    schedule_webhook(resources.Event("charge.refunded", charge))
    schedule_webhook(resources.Event("refund.created", refund))
    return refund


def _refund_intent(refund: Any) -> Any:
    if getattr(refund, "payment_intent", None):
        return refund.payment_intent
    charge = resources.store.get(f"charge:{refund.charge}")
    return charge.payment_intent if charge is not None else None


def _created_filter(created: Any) -> Callable[[int], bool]:
    """Stripe's ``created`` filter: a timestamp, or ``created[gt|gte|lt|lte]``."""
    compare: dict[str, Callable[[int, int], bool]] = {
        "gt": int.__gt__,
        "gte": int.__ge__,
        "lt": int.__lt__,
        "lte": int.__le__,
    }
    bounds = created if isinstance(created, dict) else {"eq": created}
    checks: list[tuple[Callable[[int, int], bool], int]] = []
    for op, value in bounds.items():
        number = resources.try_convert_to_int(value)
        if not isinstance(number, int) or op not in (*compare, "eq"):
            raise _error(400, "Invalid created: must be an integer timestamp or a range", param="created")
        checks.append((compare.get(op, int.__eq__), number))
    return lambda stamp: all(check(stamp, number) for check, number in checks)


def _refund_list(
    cls: Any,
    url: str,
    charge: Any = None,
    payment_intent: Any = None,
    created: Any = None,
    limit: Any = None,
    starting_after: Any = None,
    **unknown: Any,
) -> Any:
    if unknown:
        name = next(iter(unknown))
        raise _error(400, f"Received unknown parameter: {name}", param=name)
    for param, value, kind in (
        ("charge", charge, resources.Charge),
        ("payment_intent", payment_intent, resources.PaymentIntent),
    ):
        if value is not None:
            if not isinstance(value, str):
                raise _error(400, f"Invalid {param}: must be a string", param=param)
            kind._api_retrieve(value)  # 404 if it does not exist
    in_range = _created_filter(created) if created is not None else (lambda stamp: True)
    number = resources.try_convert_to_int(limit)
    if limit is not None and not (isinstance(number, int) and 1 <= number <= 100):
        raise _error(400, "Invalid limit: must be between 1 and 100", param="limit")
    # The store keeps the order objects were made in: newest first, ties on the second included.
    refunds = [obj for key, obj in resources.store.items() if key.startswith("refund:")][::-1]
    refunds.sort(key=lambda refund: refund.created, reverse=True)
    listing = resources.List(url, limit=number, starting_after=starting_after)
    listing._list = [
        refund
        for refund in refunds
        if (charge is None or refund.charge == charge)
        and (payment_intent is None or _refund_intent(refund) == payment_intent)
        and in_range(refund.created)
    ]
    return listing
