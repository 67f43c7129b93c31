"""Fewer round trips to Redis for the page cache (boomcard.middleware.PageCacheMiddleware): a
request for a page reads it with the session and the customer's user, whom the customer cookie
names (boomcard.page_cache.reads_ahead), and what the request builds is stored with its next
read, or as it ends (stores_deferred), each value as it was built. The cookie is a hint: a
session's page is its own customer's whatever the cookie names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from redis.connection import Connection

from boomcard import page_cache
from boomcard.middleware import CUSTOMER_COOKIE
from boomcard.redis_cache import RedisCache
from plans.services import bucket_grant
from tests.factories import PASSWORD, LineFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(customer, plans) -> Client:
    line = LineFactory.create(owner=customer, nickname="Work phone")
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(hours=1))
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    assert client.get("/").status_code == 200  # the session and the account cached
    assert client.cookies[CUSTOMER_COOKIE].value.startswith(f"{customer.pk}.")  # set by the first page read
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


def test_a_page_is_read_with_the_session_and_the_user(signed_in):
    """A warm view: the session, the user and the page together, in one round trip."""
    with round_trips() as sent:
        page = signed_in.get("/")
    assert page.status_code == 200
    assert "Work phone" in page.content.decode()
    assert len(sent) == 1


def test_without_the_customer_cookie_the_page_is_read_with_the_user(signed_in):
    """The session first, then the user and the page together (and the cookie set again)."""
    del signed_in.cookies[CUSTOMER_COOKIE]
    with round_trips() as sent:
        page = signed_in.get("/")
    assert "Work phone" in page.content.decode()
    assert len(sent) == 2
    assert CUSTOMER_COOKIE in signed_in.cookies


def test_the_first_view_after_a_change_reads_once_and_stores_once(signed_in):
    """After a notice (``customers_changed``) the view builds the user and the page, after a usage
    batch (``pages_changed``: the account still cached) the page alone: either way the session,
    the user and the page read together, then what was built stored as the request ends."""
    assert first_view_trips(signed_in, page_cache.customers_changed) == 2
    assert first_view_trips(signed_in, page_cache.pages_changed) == 2


def test_a_cookie_naming_another_customer_reads_and_serves_nothing_of_theirs(signed_in, customer, plans):
    """The session says whose page it is, and the cookie is signed for its own session: one
    made up, or copied from another customer's browser, is ignored (the view reads as without
    a cookie) and set right; the page is the session's own customer's."""
    other = UserFactory.create()
    LineFactory.create(owner=other, nickname="Their phone")
    theirs = Client(headers={"Accept-Language": "en"})
    theirs.force_login(other)
    assert "Their phone" in theirs.get("/").content.decode()  # their user and page cached
    for cookie in (str(other.pk), f"{other.pk}.forged", theirs.cookies[CUSTOMER_COOKIE].value):
        signed_in.cookies[CUSTOMER_COOKIE] = cookie
        with round_trips() as sent:
            page = signed_in.get("/").content.decode()
        assert "Work phone" in page
        assert "Their phone" not in page
        assert len(sent) == 2, cookie  # the session, then the user and the page: nothing read ahead
        assert signed_in.cookies[CUSTOMER_COOKIE].value.startswith(f"{customer.pk}.")  # set right again


def test_the_customer_cookie_is_signed_for_its_session_and_renewed_with_its_key(signed_in, customer):
    """A new session key (a log-in again, say) makes the cookie stale: it is ignored, and set
    again for the new key."""
    before = signed_in.cookies[CUSTOMER_COOKIE].value
    signed_in.logout()
    signed_in.force_login(customer)  # another session for the same customer
    signed_in.cookies[CUSTOMER_COOKIE] = before
    signed_in.get("/")
    after = signed_in.cookies[CUSTOMER_COOKIE].value
    assert after.startswith(f"{customer.pk}.")
    assert after != before
    with round_trips() as sent:
        signed_in.get("/")
    assert len(sent) == 1


@pytest.mark.parametrize("named", ["", "abc", "-1", "1" * 40, "²", "1.", ".x"])
def test_a_malformed_customer_cookie_is_ignored(signed_in, customer, named):
    signed_in.cookies[CUSTOMER_COOKIE] = named
    page = signed_in.get("/")
    assert "Work phone" in page.content.decode()
    assert signed_in.cookies[CUSTOMER_COOKIE].value.startswith(f"{customer.pk}.")


def test_the_customer_cookie_is_set_at_log_in_and_dropped_at_log_out(client, customer):
    response = client.post(reverse("accounts:login"), {"username": "13800138000", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[CUSTOMER_COOKIE]
    assert cookie.value.startswith(f"{customer.pk}.")
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    response = client.post(reverse("accounts:logout"))
    assert response.cookies[CUSTOMER_COOKIE].value == ""  # expired
    assert CUSTOMER_COOKIE not in {name for name, morsel in client.cookies.items() if morsel.value}


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
