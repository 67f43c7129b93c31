"""The places that reach under Django's public API, each pinned: if Django changes what they rely
on, these fail first (rather than the cache quietly building a client per call, or sessions
quietly losing their fallback to the database).

- ``boomcard.redis_cache``: Django's RedisCacheClient keeps its redis-py class in ``_client``,
  its pools behind ``_get_connection_pool(write)``, builds every client through
  ``get_client(key, *, write)``; Django's RedisCache builds its client from ``_class``.
- ``boomcard.sessions``: Django's cached_db SessionStore keeps its cache in ``_cache``, names
  entries ``cache_key_prefix`` + key (``cache_key``), reads rows with ``_get_session_from_db``,
  holds data in ``_session``; its ``create``, ``cycle_key`` and ``flush`` go through the
  ``save``, ``delete``, ``exists`` and ``load`` we override.
"""

import inspect
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient

from boomcard.redis_cache import RedisCache, RedisCacheClient
from boomcard.sessions import SessionStore


def _redis_location() -> str:
    location = settings.CACHES["default"]["LOCATION"]
    assert str(location).startswith("redis://"), "the tests run with REDIS_URL"
    return str(location)


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """Names, kinds and defaults (annotations aside: Django has none)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


# --- boomcard.redis_cache -------------------------------------------------------------------


def test_djangos_redis_cache_builds_its_client_from_class_attribute():
    cache: Any = RedisCache(_redis_location(), {})
    assert isinstance(cache._cache, RedisCacheClient)
    assert issubclass(RedisCache, DjangoRedisCache)


def test_djangos_redis_client_keeps_the_redis_class_and_one_pool_per_index():
    client: Any = DjangoRedisCacheClient([_redis_location()])
    assert client._client is redis.Redis
    pool = client._get_connection_pool(True)
    assert isinstance(pool, redis.ConnectionPool)
    assert client._get_connection_pool(True) is pool
    assert client._get_connection_pool(False) is pool  # one server: reads and writes share it
    assert _parameters(RedisCacheClient.get_client) == _parameters(DjangoRedisCacheClient.get_client)


def test_every_cache_operation_gets_its_client_through_get_client_and_one_is_built_per_pool(monkeypatch):
    cache: Any = RedisCache(_redis_location(), {"KEY_PREFIX": "private-api-test"})
    client = cache._cache
    built: list[redis.Redis] = []
    real = client._client

    def counting(**kwargs):
        built.append(real(**kwargs))
        return built[-1]

    monkeypatch.setattr(client, "_client", counting)
    cache.set("k", 1, 30)
    assert cache.get("k") == 1
    assert cache.incr("k") == 2
    assert cache.add("other", 1, 30)
    cache.delete_many(["k", "other"])
    assert cache.get("k") is None
    assert len(built) == 1
    assert list(client._clients.values()) == built


# --- boomcard.sessions ----------------------------------------------------------------------


def test_overridden_session_methods_keep_djangos_signatures():
    assert issubclass(SessionStore, cached_db.SessionStore)
    for name in ("load", "save", "exists", "delete"):
        assert _parameters(getattr(SessionStore, name)) == _parameters(getattr(cached_db.SessionStore, name)), name
    assert inspect.signature(cached_db.SessionStore.get_expiry_age).parameters.keys() >= {"kwargs"}


@pytest.mark.django_db
def test_djangos_cached_db_store_has_the_private_parts_ours_uses():
    store: Any = SessionStore()
    assert store._cache is caches[settings.SESSION_CACHE_ALIAS]
    assert store.cache_key_prefix == cached_db.KEY_PREFIX
    store["answer"] = 42
    store.save(must_create=True)
    key = store.session_key
    assert key is not None
    assert store.cache_key == cached_db.KEY_PREFIX + key
    assert store._session == {"answer": 42}
    row = store._get_session_from_db()
    assert isinstance(row, Session)
    assert row.session_key == key
    # Our save put it in the cache for at most SESSION_CACHE_SECONDS.
    assert store._cache.get(store.cache_key) == {"answer": 42}
    assert SessionStore(key).load() == {"answer": 42}


@pytest.mark.django_db
def test_djangos_create_cycle_key_and_flush_go_through_the_methods_we_override(monkeypatch):
    calls: list[str] = []
    for name in ("save", "delete", "exists", "load"):
        original = getattr(SessionStore, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SessionStore, name, spy)
    store = SessionStore()
    store.create()
    assert {"exists", "save"} <= set(calls)
    calls.clear()
    store["x"] = 1
    store.cycle_key()
    assert {"save", "delete"} <= set(calls)
    calls.clear()
    old = store.session_key
    store.flush()
    assert "delete" in calls
    assert not Session.objects.filter(session_key=old).exists()
