"""Sessions read from the cache and written through to the database.

Django's ``cached_db`` backend, with three changes:

- It keeps working while the cache is unreachable: every request then reads its session from
  the database (Django's own ``load`` fails on putting a database read back in the cache, and
  ``exists`` and ``delete``, hence log-in and log-out, on asking or telling the cache).
- The cached copy is read with the logged-in customer's user and page, in one round trip, where
  the request names its customer (``boomcard.page_cache.reads_ahead``).
- A cached copy lives at most ``SESSION_CACHE_SECONDS``, not the whole session lifetime: if the
  cache could not be told that a session ended (it was unreachable at log-out but kept its data),
  the copy it still holds is served for at most that long. An active customer costs one
  database read per that period.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db, db
from django.core.cache import DEFAULT_CACHE_ALIAS
from django.core.cache.backends.base import BaseCache

from boomcard.page_cache import read_with_customer

logger = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    # Set by Django's cached_db store; django-stubs does not declare it.
    _cache: BaseCache

    def _cache_ttl(self, expiry: datetime | None = None) -> int:
        return min(self.get_expiry_age(expiry=expiry), settings.SESSION_CACHE_SECONDS)

    def _cache_put(self, data: dict[str, Any], expiry: datetime | None = None) -> None:
        try:
            self._cache.set(self.cache_key, data, self._cache_ttl(expiry))
        except Exception as error:
            logger.warning("session cache unreachable (%r); the session is in the database", error)

    def exists(self, session_key: str) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception as error:
            logger.warning("session cache unreachable (%r); asking the database", error)
        return db.SessionStore.exists(self, session_key)

    def load(self) -> dict[str, Any]:
        try:
            data = self._cache_get(self.cache_key)
        except Exception as error:
            logger.warning("session cache unreachable (%r); reading the session from the database", error)
            data = None
        if data is None:
            stored = self._get_session_from_db()  # type: ignore[attr-defined]
            if stored is None:
                return {}
            data = self.decode(stored.session_data)
            self._cache_put(data, expiry=stored.expire_date)
        return data

    def _cache_get(self, key: str) -> Any:
        """The cached copy: read with the customer's user and page where the request names its
        customer (``boomcard.page_cache.reads_ahead``), when sessions share the page cache's."""
        if settings.SESSION_CACHE_ALIAS == DEFAULT_CACHE_ALIAS:
            return read_with_customer(key)
        return self._cache.get(key)

    def save(self, must_create: bool = False) -> None:
        db.SessionStore.save(self, must_create)
        self._cache_put(self._session)  # type: ignore[attr-defined]

    def delete(self, session_key: str | None = None) -> None:
        db.SessionStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key is None:
            return
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as error:
            logger.error("session cache unreachable (%r); an ended session may linger there briefly", error)
