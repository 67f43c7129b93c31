"""Who a request comes from, and how often they may do a thing.

Limits are named in ``settings.RATE_LIMITS`` (``"20/m"``: twenty a minute). Each is a fixed
window counted in Django's cache: Redis in production and the tests, so every web process
counts together. The window's number is part of the key, so a window ends when the clock says
so (``time_machine`` moves it in the tests), whatever the cache's own expiry does.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 60 * 60}


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
