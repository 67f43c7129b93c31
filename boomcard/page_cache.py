"""What a customer's pages show, cached per customer and dropped as soon as it changes.

Each customer has a *generation*, a random token in the cache. A value is stored with the
generation it was built in and is served only while that is still the customer's generation.
Whatever changes what a customer's pages show (their lines, their buckets, their orders) calls
``pages_changed`` with their ids (the apps connect their models' signals to it: see
``plans.signals`` and ``billing.signals``), which gives each a new generation, and again once the
transaction has committed: the next read finds its value under the old one and rebuilds. A reader
that built a value from the data just before a change stores it under the old generation, where
nobody looks for it. A customer with no generation (none changed in the last
``GENERATION_SECONDS``) gets one at the first read, before it builds.

The customer's account (their user row and the bell's count of unread notices, which every
request reads: ``accounts.backends``) has a generation of its own, ``ACCOUNT``, which only a
change to the account or the notices renews (``customers_changed``, which renews the pages' too:
they show the bell and the language). A usage batch or a payment, by far the most frequent
changes, then leaves the logged-in user cached, and its first view reads only the page.

What every customer's pages show of the catalogue (the plans, their names and prices) is under a
generation shared by all, ``CATALOGUE``, renewed by any change to a plan or a price
(``catalogue_changed``, from ``plans.signals``): a page is served only while both its customer's
generation and the catalogue's are those it was built in. While it builds, the catalogue's
generation is known (``catalogue_generation``), and what reads the catalogue keeps it in each
process under that (``plans.selectors.catalogue``): the first view after a customer's change then
reads the catalogue from no database, and no page shows a price a minute old.

Values also expire after ``settings.PAGE_CACHE_SECONDS``: what depends on the clock (the days
and hours left) is never older than that, nor is anything a lost invalidation would leave behind
(the cache was unreachable just then).

In a request, what is built is stored with the request's next read of the cache, or as it ends,
rather than on its own (``stores_deferred``). And a request for a page reads the page with the
customer's first read, their user's (``reads_ahead``): the page is kept under its address, the
one name known before the user is read, with the rest of what it depends on (the view's name
for it, the language and the time zone) as its *variant*, checked when it is read. Where the
request names its customer (a cookie, ``boomcard.middleware.PageCacheMiddleware``), their user
and page are read with its session, before the session says whose they are; only the session's
customer's are served. So a warm view makes one round trip (the session, the user and the page),
the first after a change two (the value built is stored as the request ends).

The cache speeds pages up and nothing depends on it: when it cannot be reached, values are built
from the database each time, and the page is the same.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.db import transaction

from boomcard.redis_cache import RedisCache

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Longer than any value lives: a generation that expires only costs its customer one rebuild.
GENERATION_SECONDS = 24 * 60 * 60

# The generations: what the customer's pages show, and their account (the user and the bell).
PAGES, ACCOUNT = "generation", "account-generation"
# The catalogue's, one for every customer: their pages are under it too.
CATALOGUE = "boom:catalogue:generation"

# The catalogue's generation the value being built (``customer_cached``) is stored under.
_catalogue_building: ContextVar[str | None] = ContextVar("boom_catalogue_building", default=None)


def _generation_key(user_id: int, of: str = PAGES) -> str:
    return f"boom:customer:{user_id}:{of}"


def _value_key(user_id: int, name: str) -> str:
    return f"boom:customer:{user_id}:{name}"


def customer_cached(user_id: int, name: str, build: Callable[[], T], *, of: str = PAGES, variant: str = "") -> T:
    """The customer's value ``name``: from the cache if it was built in their current
    generation (``of``: ``PAGES``, or ``ACCOUNT`` for what shows only the account) and, for
    their pages, the catalogue's, and as the same ``variant`` (what else it depends on that its
    name does not say); otherwise ``build()``, stored for the next request. One round trip to
    the cache on a hit (none for a value read ahead: ``reads_ahead``), two on a miss (three where
    a generation is missing, which is started before the build); in a request, the store goes
    with its next read of the cache, or as it ends (``stores_deferred``)."""
    keys = _keys(user_id, name, of)
    value_key = keys[-1]
    try:
        found = _read(user_id, keys)
    except Exception as error:  # the cache is down: serve from the database
        logger.warning("page cache unreachable (%r); building %s for customer %s", error, name, user_id)
        return build()
    generations = tuple(found.get(key) for key in keys[:-1])
    stored = found.get(value_key)
    if None not in generations and isinstance(stored, tuple) and stored[0] == (*generations, variant):
        value: T = stored[1]
        return value
    try:
        # Started before building, so that a change made while building renews it.
        generations = tuple(generation or _started(key) for key, generation in zip(keys[:-1], generations, strict=True))
    except Exception as error:
        logger.warning("page cache unreachable (%r); building %s for customer %s", error, name, user_id)
        return build()
    building = _catalogue_building.set(generations[1] if of == PAGES else None)
    try:
        value = build()
    finally:
        _catalogue_building.reset(building)
    if None not in generations:
        try:
            _store(value_key, ((*generations, variant), value))
        except Exception as error:
            logger.warning("page cache unreachable (%r); %s for customer %s not stored", error, name, user_id)
    return value


def _keys(user_id: int, name: str, of: str) -> list[str]:
    """What the value ``name`` is read with: its generations, then the value's own key."""
    return [_generation_key(user_id, of), *([CATALOGUE] if of == PAGES else []), _value_key(user_id, name)]


@dataclass
class _Ahead:
    """A request's reading ahead (``reads_ahead``): the customer's pages still to read with
    their first read, the customer the request names (``customer``: whose user is read too, with
    the first read of any key), then what that read found (None where a key was absent)."""

    names: tuple[str, ...]
    customer: int | None = None
    pending: bool = True
    found: dict[str, Any] = field(default_factory=dict)


_ahead: ContextVar[_Ahead | None] = ContextVar("boom_page_cache_ahead", default=None)

# The name a customer's logged-in user is kept under (``accounts.backends``), read ahead with
# their pages when the request names them (``reads_ahead``'s ``customer``).
USER = "user"


@contextmanager
def reads_ahead(*names: str, customer: int | None = None) -> Iterator[None]:
    """Within it (a request for a page: ``boomcard.middleware.PageCacheMiddleware``), the first
    read of a customer's value (their user, which the authentication reads) also reads their
    pages ``names``, with the generations those are under, in the same round trip; reading one
    of them afterwards (``customer_cached``) asks the cache nothing more.

    Where the request names its customer (``customer``, a hint from its cookie: the session is
    what says who it is), the first read of the cache (the session's, ``read_with_customer``)
    also reads their user and pages: a warm view then makes one round trip. Only values under
    the customer's own keys are ever served from what was read, so a hint that names someone
    else costs a read and serves nothing of theirs.

    What was read ahead is forgotten as soon as the request changes a customer's data
    (``pages_changed`` and the others): their pages are read again."""
    token = _ahead.set(_Ahead(names, customer) if names or customer is not None else None)
    try:
        yield
    finally:
        _ahead.reset(token)


def read_with_customer(key: str) -> Any:
    """``cache.get(key)``, read with the user and pages of the customer the request names
    (``reads_ahead``), if nothing was read ahead yet. Raises as ``cache.get`` does."""
    ahead = _ahead.get()
    if ahead is None or ahead.customer is None or not ahead.pending:
        return cache.get(key)
    return _read_ahead(ahead, ahead.customer, [key]).get(key)


def _read(user_id: int, keys: list[str]) -> dict[str, Any]:
    """``keys`` as the cache holds them: from what was read ahead where it holds them all;
    otherwise read, with what is still to read ahead (``reads_ahead``) for the customer."""
    ahead = _ahead.get()
    if ahead is not None and ahead.found and all(key in ahead.found for key in keys):
        found = {key: ahead.found[key] for key in keys if ahead.found[key] is not None}
        del ahead.found[keys[-1]]  # a value is read ahead for one read: the next asks the cache
        return found
    if ahead is None or not ahead.pending:
        return _get_many(keys)
    return _read_ahead(ahead, user_id, keys)


def _read_ahead(ahead: _Ahead, user_id: int, keys: list[str]) -> dict[str, Any]:
    """``keys``, read with the customer's pages to read ahead (and their user, where the request
    named them): those are kept in ``ahead.found`` for the reads to come."""
    reads = [(name, PAGES) for name in ahead.names]
    if ahead.customer is not None:
        reads.insert(0, (USER, ACCOUNT))
    extra = [key for name, of in reads for key in _keys(user_id, name, of) if key not in keys]
    ahead.pending = False
    found = _get_many([*keys, *dict.fromkeys(extra)])
    ahead.found.update({key: found.get(key) for key in extra})
    return found


# What the current request has built and not yet stored (``stores_deferred``): a key and the value
# as it was built, made ready for the cache then (``frozen``). None where stores are sent at once.
_deferred: ContextVar[dict[str, Any] | None] = ContextVar("boom_page_cache_deferred", default=None)


@contextmanager
def stores_deferred() -> Iterator[None]:
    """Within it (a request: ``boomcard.middleware.PageCacheMiddleware``), what
    ``customer_cached`` builds is stored with the next read of the cache, in the same round trip,
    or at the end, all in one: the first view after a notice reads the user with the page
    (``reads_ahead``), builds both and stores both as it ends; a value built before another is
    read (a page not read ahead) goes with that read. Each value is
    stored as it was when it was built (``frozen``), whatever the request adds to it afterwards
    (to the user, its permissions and its second step's device, say). A cache that cannot
    send a store with a read stores at once."""
    sender = _sender()
    token = _deferred.set(None if sender is None else {})
    try:
        yield
    finally:
        stores = _deferred.get()
        _deferred.reset(token)
        if stores and sender is not None:
            try:
                sender.set_many_frozen(stores, settings.PAGE_CACHE_SECONDS)
            except Exception as error:  # the values are built again by the next request
                logger.warning("page cache unreachable (%r); %d values not stored", error, len(stores))


def _sender() -> RedisCache | None:
    """The cache, where it can send stores with a read (Redis); None where it cannot (the files
    of the embedded default)."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    return backend if isinstance(backend, RedisCache) else None


def _get_many(keys: list[str]) -> dict[str, Any]:
    stores, sender = _deferred.get(), _sender()
    if not stores or sender is None:
        return cache.get_many(keys)
    sending = dict(stores)
    stores.clear()  # sent now, or lost with the cache: either way not again
    return sender.get_many_storing(keys, sending, settings.PAGE_CACHE_SECONDS)


def _store(key: str, value: Any) -> None:
    stores, sender = _deferred.get(), _sender()
    if stores is None or sender is None:
        cache.set(key, value, settings.PAGE_CACHE_SECONDS)
    else:
        stores[key] = sender.frozen(value)


def _started(key: str) -> str | None:
    """A new generation under ``key``, or the one another request started first."""
    generation = secrets.token_hex(8)
    if cache.add(key, generation, GENERATION_SECONDS):
        return generation
    found: str | None = cache.get(key)
    return found


def catalogue_generation() -> str | None:
    """The catalogue's generation while a customer's page is being built (``customer_cached``):
    what the page reads of the catalogue may be kept under it. None anywhere else."""
    return _catalogue_building.get()


def pages_changed(user_ids: Iterable[int | None]) -> None:
    """What these customers' pages show has changed, their account not (a usage batch, a
    payment, a line renamed): each gets a new pages generation now, and another when the current
    transaction commits, since a request in between may have rebuilt their values from the data
    as it was before. Ids that are None (a line without an owner) are skipped.

    A new generation rather than none: the first read after a change then finds the generation
    it stores under with the value it looks for, in one round trip, where a deleted one had to be
    started again first (``customer_cached``)."""
    _renew(user_ids, (PAGES,))


def customers_changed(user_ids: Iterable[int | None]) -> None:
    """These customers' accounts have changed (their user row, their notices), and so what their
    pages show: as ``pages_changed``, for both generations. Whatever writes a user or a notice
    without a signal (``QuerySet.update``, ``bulk_create``) calls it."""
    _renew(user_ids, (PAGES, ACCOUNT))


def catalogue_changed() -> None:
    """A plan or a price has changed: the catalogue gets a new generation now and when the
    current transaction commits, and with it every customer's pages."""
    _renew_keys([CATALOGUE])


def _renew(user_ids: Iterable[int | None], generations: tuple[str, ...]) -> None:
    _renew_keys(
        sorted({_generation_key(user_id, of) for user_id in user_ids if user_id is not None for of in generations})
    )


def _renew_keys(keys: list[str]) -> None:
    if keys:
        _forget(keys)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: _forget(keys))


def _forget(keys: list[str]) -> None:
    """A new random generation for each key, in one round trip: no value was stored under it.
    What the request read ahead is forgotten (``reads_ahead``): it may be under the old one."""
    if (ahead := _ahead.get()) is not None:
        ahead.found.clear()
    try:
        cache.set_many({key: secrets.token_hex(8) for key in keys}, GENERATION_SECONDS)
    except Exception as error:
        # The values left behind expire after PAGE_CACHE_SECONDS.
        logger.warning("page cache unreachable (%r); %d customers' pages may lag", error, len(keys))
