"""Fewer round trips to Redis for the page cache (boomcard.middleware.PageCacheMiddleware): a
request for a page reads it with the customer's user (boomcard.page_cache.reads_ahead), and what
the request builds is stored with its next read, or as it ends (stores_deferred), each value as
it was built."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from redis.connection import Connection

from boomcard import page_cache
from boomcard.redis_cache import RedisCache
from plans.services import bucket_grant
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(customer, plans) -> Client:
    line = LineFactory.create(owner=customer, nickname="Work phone")
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(hours=1))
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    assert client.get("/").status_code == 200  # the session and the account cached
    return client


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """Counts the round trips to Redis made meanwhile: each command, or each pipeline of them, is
    sent in one write."""
    sent: list[int] = []
    real = Connection.send_packed_command

    def counted(connection: Connection, command: object, check_health: bool = True) -> None:
        sent.append(1)
        real(connection, command, check_health)

    with mock.patch.object(Connection, "send_packed_command", counted):
        yield sent


def first_view_trips(client: Client, change: Callable[[list[int]], None]) -> int:
    change([int(client.session["_auth_user_id"])])
    with round_trips() as sent:
        page = client.get("/")
    assert page.status_code == 200
    assert "Work phone" in page.content.decode()
    return len(sent)


def test_a_page_is_read_with_the_user(signed_in):
    """A warm view: the session, then the user and the page together."""
    with round_trips() as sent:
        page = signed_in.get("/")
    assert page.status_code == 200
    assert "Work phone" in page.content.decode()
    assert len(sent) == 2


def test_the_first_view_after_a_change_reads_once_and_stores_once(signed_in):
    """After a notice (``customers_changed``) the view builds the user and the page, after a usage
    batch (``pages_changed``: the account still cached) the page alone: either way the session,
    the user and the page read together, then what was built stored as the request ends."""
    assert first_view_trips(signed_in, page_cache.customers_changed) == 3
    assert first_view_trips(signed_in, page_cache.pages_changed) == 3


def test_a_page_read_ahead_is_read_again_after_the_request_changes_it(customer):
    """A request that changes the customer's data after their user was read (a view marking their
    notices read, say) gets the page as it is after the change, not as it was read ahead."""
    page_cache.customer_cached(customer.pk, "probe", lambda: "before")
    with page_cache.reads_ahead("probe"):
        page_cache.customer_cached(customer.pk, "user", lambda: "the user", of=page_cache.ACCOUNT)
        page_cache.pages_changed([customer.pk])
        assert page_cache.customer_cached(customer.pk, "probe", lambda: "after") == "after"


def test_a_page_read_ahead_is_served_once_and_as_its_own_variant(customer):
    page_cache.customer_cached(customer.pk, "probe", lambda: "in English", variant="en")
    page_cache.customer_cached(customer.pk, "user", lambda: "the user", of=page_cache.ACCOUNT)
    with page_cache.stores_deferred(), page_cache.reads_ahead("probe"), round_trips() as sent:
        page_cache.customer_cached(customer.pk, "user", lambda: "the user", of=page_cache.ACCOUNT)
        assert page_cache.customer_cached(customer.pk, "probe", lambda: "built", variant="en") == "in English"
        assert len(sent) == 1  # the page came with the user
        # Another variant of the same page (another language) is built, not served.
        assert page_cache.customer_cached(customer.pk, "probe", lambda: "in Chinese", variant="zh") == "in Chinese"
        assert len(sent) == 2


def test_the_user_is_stored_as_it_was_read_not_as_the_request_left_it(signed_in, customer):
    """The request adds to the user it read (its second step's device, from django-otp's
    middleware; its permissions once asked): none of that is stored for the next request, which
    may be another session's."""
    page_cache.customers_changed([customer.pk])
    assert signed_in.get("/").status_code == 200
    _generations, stored = cache.get(page_cache._value_key(customer.pk, "user"))
    assert stored.pk == customer.pk
    assert not hasattr(stored, "otp_device")
    assert not hasattr(stored, "_perm_cache")


def test_a_value_is_stored_as_built_when_the_request_ends(customer):
    built = {"shows": "as built"}
    with page_cache.stores_deferred():
        value = page_cache.customer_cached(customer.pk, "probe", lambda: built)
        value["shows"] = "changed afterwards"
        assert cache.get(page_cache._value_key(customer.pk, "probe")) is None  # not yet sent
    assert page_cache.customer_cached(customer.pk, "probe", lambda: {"shows": "built again"}) == {"shows": "as built"}


def test_stores_the_cache_cannot_take_are_lost_not_raised(customer, caplog):
    """Redis gone between the build and the store: the request goes on, and the next one builds again."""
    with (
        mock.patch.object(RedisCache, "set_many_frozen", side_effect=ConnectionError("gone")),
        page_cache.stores_deferred(),
    ):
        assert page_cache.customer_cached(customer.pk, "probe", lambda: "built") == "built"
    assert "1 values not stored" in caplog.text
    assert page_cache.customer_cached(customer.pk, "probe", lambda: "built again") == "built again"
