"""Who a request comes from, and how often they may do a thing.

Limits are named in ``settings.RATE_LIMITS`` (``"20/m"``: twenty a minute). Each is a fixed
window counted in Django's cache: Redis in production and the tests, so every web process
counts together. The window's number is part of the key, so a window ends when the clock says
so (``time_machine`` moves it in the tests), whatever the cache's own expiry does.

One way to limit: a view takes ``@rate_limited(name)``, a service calls ``rate_limit_check``;
either raises ``RateLimited``, and ``RateLimitedMiddleware`` alone answers it (429).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 60 * 60}

_View = TypeVar("_View", bound=Callable[..., Any])


def client_address(request: HttpRequest) -> str:
    """The visitor's address: ``REMOTE_ADDR``, or behind ``PROXY_COUNT`` reverse proxies the
    address the outermost one saw, which is that many entries from the right of
    X-Forwarded-For (entries further left are the client's own say, and can be forged).

    django-axes reads addresses through this too (``AXES_CLIENT_IP_CALLABLE``).
    """
    proxies = settings.PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                logger.warning("X-Forwarded-For entry %r is not an address; using REMOTE_ADDR", candidate)
    return str(request.META.get("REMOTE_ADDR", ""))


def _counted_as(key: str) -> str:
    """One phone or home usually holds a whole IPv6 /64: count such addresses by it."""
    try:
        address = ipaddress.ip_address(key)
    except ValueError:
        return key
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return key


def rate_limit_hit(*, name: str, key: str) -> int:
    """Count one request by ``key`` (an address, or anything else that names a client) against
    the limit ``name``.

    Returns 0 while the count is within the limit, else how many seconds are left until the
    window ends and requests are allowed again. The key is stored hashed. If the cache cannot
    be reached the request is let through: a Redis outage must not lock everyone out.
    """
    count_allowed, period = settings.RATE_LIMITS[name].split("/")
    seconds = PERIODS[period]
    now = time.time()
    window = int(now // seconds)
    digest = hashlib.sha256(_counted_as(key).encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{name}:{window}:{digest}"
    try:
        cache.add(cache_key, 0, timeout=seconds + 5)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=seconds + 5)
            count = 1
    except Exception as error:  # whatever the cache's client raises: fail open, and say so
        logger.warning("rate limit %s not counted (%r); request allowed", name, error)
        return 0
    if count <= int(count_allowed):
        return 0
    return max(1, math.ceil((window + 1) * seconds - now))


class RateLimited(Exception):
    """A client is over a rate limit: raised by services and views, answered in one place
    (``RateLimitedMiddleware``) with 429 and ``Retry-After``.

    ``wait`` is the seconds until the limit's window ends; ``message``, if given, is what the
    customer is told (translated, and saying when to come back), else the page's own text.
    """

    def __init__(self, wait: int, message: str | None = None) -> None:
        super().__init__(message or f"rate limited for {wait} seconds")
        self.wait = wait
        self.message = message


def rate_limit_check(*, name: str, key: str, message: Callable[[int], str] | None = None) -> None:
    """Count one request by ``key`` against the limit ``name`` (``rate_limit_hit``), and raise
    ``RateLimited`` past it; ``message(wait)`` words the refusal for the customer."""
    if wait := rate_limit_hit(name=name, key=key):
        raise RateLimited(wait, message(wait) if message is not None else None)


def rate_limited(name: str, *, key: Callable[[HttpRequest], str] = client_address) -> Callable[[_View], _View]:
    """The view decorator: each request to the view counts against the limit ``name`` for
    ``key(request)`` (the client's address by default), and past it the view is not run:
    ``RateLimited`` is raised, which the middleware answers with 429."""

    def decorator(view: _View) -> _View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            rate_limit_check(name=name, key=key(request))
            return view(request, *args, **kwargs)

        return cast(_View, wrapped)

    return decorator


class RateLimitedMiddleware:
    """The one place a ``RateLimited`` becomes an answer: 429 with ``Retry-After``, as JSON
    (``{"error": ..., "retry_after": seconds}``) to the API and to scripts that ask for JSON, else
    the rate-limited page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponseBase | None:
        if not isinstance(exception, RateLimited):
            return None
        return rate_limited_response(request, exception)


def rate_limited_response(request: HttpRequest, limited: RateLimited) -> HttpResponseBase:
    response: HttpResponseBase
    if request.path.startswith("/api/") or request.headers.get("Accept") == "application/json":
        error = limited.message or f"too many requests; try again in {limited.wait} seconds"
        response = JsonResponse({"error": error, "retry_after": limited.wait}, status=429)
    else:
        context = {"minutes": math.ceil(limited.wait / 60), "message": limited.message}
        response = render(request, "rate_limited.html", context, status=429)
    response["Retry-After"] = str(limited.wait)
    return response
