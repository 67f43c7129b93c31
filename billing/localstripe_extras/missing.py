"""Missing objects: Stripe's 404 ``resource_missing`` with its ``param`` and "No such ..." message
(localstripe says only "Not Found")."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from localstripe import resources, server
from localstripe.errors import UserError


def install() -> None:
    resources.StripeObject._api_retrieve = classmethod(_retrieve)


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
