"""Django's Redis cache backend, with one redis-py client per connection pool.

Django's backend builds a new ``redis.Redis`` for every cache operation, and building one copies
its table of some 170 response callbacks: on a page served from the cache (a session read and
a page-cache read) that was a tenth of the request. A client over a connection pool is safe to
share between threads, so each pool gets one, kept for the life of the process.

It also sends stores with a read, in one round trip (``get_many_storing``, for
``boomcard.page_cache.stores_deferred``): each value is serialized when it is handed over
(``frozen``), so what is stored is the value as it was then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    # Django's, undeclared in django-stubs.
    _get_connection_pool: Callable[[bool], Any]
    _client: Callable[..., Any]
    _serializer: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # Two threads may both build one here; either will do.
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    _cache: RedisCacheClient  # Django's (a cached property), undeclared in django-stubs

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def frozen(self, value: Any) -> Any:
        """``value`` as the cache stores it, made now: a store sent later (``get_many_storing``,
        ``set_many_frozen``) stores the value as it was here, whatever is done to it meanwhile."""
        return self._cache._serializer.dumps(value)

    def get_many_storing(self, keys: list[str], stores: dict[str, Any], timeout: int) -> dict[str, Any]:
        """``get_many(keys)``, with ``stores`` (each a ``frozen`` value) set first, for
        ``timeout`` seconds: one round trip for both."""
        found = {self.make_and_validate_key(key): key for key in keys}
        pipeline = self._cache.get_client(write=True).pipeline(transaction=False)
        self._frozen_set(pipeline, stores, timeout)
        pipeline.mget(list(found))
        values = pipeline.execute()[-1]
        loads = self._cache._serializer.loads
        return {key: loads(value) for key, value in zip(found.values(), values, strict=True) if value is not None}

    def set_many_frozen(self, stores: dict[str, Any], timeout: int) -> None:
        """Set ``stores`` (each a ``frozen`` value) for ``timeout`` seconds: one round trip."""
        pipeline = self._cache.get_client(write=True).pipeline(transaction=False)
        self._frozen_set(pipeline, stores, timeout)
        pipeline.execute()

    def _frozen_set(self, pipeline: Any, stores: dict[str, Any], timeout: int) -> None:
        seconds = self.get_backend_timeout(timeout)
        for key, value in stores.items():
            pipeline.set(self.make_and_validate_key(key), value, ex=seconds)
