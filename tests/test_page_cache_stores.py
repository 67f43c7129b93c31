"""What a request builds for the page cache is stored with its next read, or as it ends
(boomcard.page_cache.stores_deferred, boomcard.middleware.PageCacheStoresMiddleware): fewer round
trips to Redis, and each value stored as it was built."""

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


def test_the_first_view_after_a_notice_stores_the_user_with_the_page_read(signed_in):
    """After a notice (``customers_changed``) the view reads the user again and stores it; the
    store goes with the page's read. So it makes the round trips the view after a usage batch
    makes (``pages_changed``: the account still cached): the session, the account, the page,
    the page stored."""
    assert first_view_trips(signed_in, page_cache.customers_changed) == 4
    assert first_view_trips(signed_in, page_cache.pages_changed) == 4


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
