"""The customer's whole pages kept in their page cache (boomcard.page_shell): each browser gets its
own CSRF tokens and its own nonce, the one its policy names; nothing of a request is stored; a
page with a message is shown as it is and never kept; another customer never gets the page; a
change shows at once; and the pages work without the cache."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache, caches
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from accounts import outbox
from accounts.models import Notice, User
from billing.models import Order
from boomcard.page_cache import customers_changed
from boomcard.page_fragments import FORM_TOKEN_MARKER, TOKEN_MARKER
from boomcard.page_shell import NONCE_MARKER, TIME_ISO_MARKER, TIME_MARKER
from plans.models import Line, Plan
from tests.accounts.test_page_cache import UNREACHABLE_CACHE
from tests.billing.test_cached_pages import open_order
from tests.billing.test_order_pages import listed, make_orders
from tests.factories import PASSWORD, LineFactory, UserFactory
from tests.helpers import capture_templates

pytestmark = pytest.mark.django_db

MARKERS = (TOKEN_MARKER, NONCE_MARKER, TIME_MARKER, TIME_ISO_MARKER, FORM_TOKEN_MARKER)


def customer_pages(line: Line, plans: dict[str, Plan]) -> dict[str, str]:
    """The pages bench/pages.py measures, with what each needs to be cacheable."""
    (paid,) = make_orders(line, [plans["basic-10"]], 1)
    pending = open_order(line, plans["basic-30"])
    return {
        "home": reverse("plans:home"),
        "line": reverse("plans:line", args=[line.pk]),
        "orders": reverse("billing:orders"),
        "order": reverse("billing:order", args=[paid.public_id]),
        "receipt": reverse("billing:receipt", args=[paid.public_id]),
        "renew": reverse("billing:renew", args=[line.pk]),
        "pay": reverse("billing:pay", args=[pending.public_id]),
        "recommend": reverse("plans:recommend"),
        "notices": reverse("accounts:notices"),
        "support": reverse("accounts:support"),
    }


def browser(customer: User) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(customer)
    return client


def nonces(page: str) -> set[str]:
    return set(re.findall(r'nonce="([^"]*)"', page))


def csrf_values(page: str) -> list[str]:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)


def policy_nonce(response) -> str:
    match = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


def stored() -> dict[str, str]:
    """Every key and value in the cache's Redis database, as text."""
    redis = cache._cache.get_client()  # type: ignore[attr-defined]
    return {key.decode(): str(redis.get(key)) for key in redis.keys("*")}


def test_two_browsers_get_their_own_tokens_and_nonces_and_the_cache_holds_none(
    customer, line, plans, django_assert_num_queries
):
    paths = customer_pages(line, plans)
    first, second = browser(customer), browser(customer)
    seen: list[str] = []
    for name, path in paths.items():
        first_response = first.get(path)
        with django_assert_num_queries(0, info=name):  # the whole page from the cache
            second_response = second.get(path)
        pages = []
        for response in (first_response, second_response):
            assert response.status_code == 200, name
            page = response.content.decode()
            assert all(marker not in page for marker in MARKERS), name
            # One nonce on every script of the page, and it is the one the policy allows.
            assert nonces(page) == {policy_nonce(response)}, name
            assert csrf_values(page), name
            pages.append(page)
        assert nonces(pages[0]).isdisjoint(nonces(pages[1])), name
        assert set(csrf_values(pages[0])).isdisjoint(csrf_values(pages[1])), name
        seen += [*nonces(pages[0]), *nonces(pages[1]), *csrf_values(pages[0]), *csrf_values(pages[1])]
    secrets = [client.cookies["csrftoken"].value for client in (first, second)]
    assert len(set(secrets)) == 2
    values = stored()
    kept = [key for key, value in values.items() if ":page:" in key and str(NONCE_MARKER) in value]
    assert len(kept) == len(paths)  # every page is kept, with the marker in its nonce's place
    for key, value in values.items():
        assert all(each not in value for each in seen + secrets), key


def test_the_language_switch_goes_back_to_the_address_asked_for(customer, line, plans):
    client = browser(customer)
    for path in ("/billing/orders/", "/billing/orders/?page=1", "/billing/orders/"):
        page = client.get(path).content.decode()
        assert f'name="next" value="{path}"' in page


def test_a_message_is_shown_once_and_never_kept(customer, line, plans, django_assert_num_queries):
    make_orders(line, [plans["basic-10"]], 2)
    client = browser(customer)
    path = reverse("billing:orders")
    client.get(path)  # the page is kept
    # A message waiting in the cookie, as a view before a redirect leaves it.
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Flash for the shell test")])  # type: ignore[attr-defined]
    with_message = client.get(path).content.decode()
    assert "Flash for the shell test" in with_message
    assert len(listed(with_message)) == 2
    with django_assert_num_queries(0):  # the kept page again, without the message
        again = client.get(path).content.decode()
    assert "Flash for the shell test" not in again
    assert len(listed(again)) == 2
    assert all("Flash for the shell test" not in value for value in stored().values())


def test_a_message_after_a_post_shows_on_the_help_page_once(customer):
    client = browser(customer)
    path = reverse("accounts:support")
    token = re.search(r'name="token" value="([^"]+)"', client.get(path).content.decode())
    assert token
    answer = client.post(
        path, {"topic": "other", "message": "My data stops in Japan.", "token": token.group(1)}, follow=True
    )
    assert "Thank you. We have your message" in answer.content.decode()
    assert "My data stops in Japan." in answer.content.decode()
    page = client.get(path).content.decode()
    assert "Thank you. We have your message" not in page
    assert "My data stops in Japan." in page
    assert all("Thank you" not in value for value in stored().values())


def test_another_customer_never_gets_the_page(customer, line, plans):
    Line.objects.filter(pk=line.pk).update(nickname="Grandma's phone")
    paths = customer_pages(line, plans)
    mine = browser(customer)
    for path in paths.values():
        assert mine.get(path).status_code == 200
    assert "Grandma&#x27;s phone" in mine.get(paths["home"]).content.decode()
    other = browser(UserFactory.create())
    for name in ("home", "orders", "notices", "support", "recommend"):
        page = other.get(paths[name]).content.decode()
        assert "Grandma" not in page, name
        assert listed(page) == [], name
    for name in ("line", "order", "receipt", "renew", "pay"):
        assert other.get(paths[name]).status_code == 404, name


def test_a_change_shows_at_once_on_a_kept_page(customer, line, plans):
    make_orders(line, [plans["basic-10"]], 1)
    client = browser(customer)
    path = reverse("billing:orders")
    assert len(listed(client.get(path).content.decode())) == 1
    assert 'class="bell-count"' not in client.get(path).content.decode()
    newest = open_order(line, plans["basic-30"])
    outbox.notice_create(user=customer, kind=Notice.Kind.SUPPORT_RECEIVED, key="shell-test", email=False)
    page = client.get(path).content.decode()
    assert listed(page)[0] == newest.public_id
    assert 'class="bell-count">1<' in page
    newest.status = Order.Status.CANCELLED
    newest.save()
    assert client.get(reverse("billing:pay", args=[newest.public_id])).status_code == 302


def test_the_home_page_says_when_it_was_served(customer, line):
    client = browser(customer)
    times = []
    for _ in range(2):
        page = client.get(reverse("plans:home")).content.decode()
        match = re.search(r'data-rendered-at="([^"]+)"', page)
        assert match
        assert re.search(r"Offline, as of \d\d:\d\d<", page)
        times.append(match.group(1))
    assert times[1] >= times[0]
    assert times[0].startswith("20")


def test_the_pages_work_without_the_cache(customer, line, plans):
    paths = customer_pages(line, plans)
    with override_settings(CACHES=UNREACHABLE_CACHE):
        client = Client(headers={"Accept-Language": "en"})
        response = client.post(reverse("accounts:login"), {"username": str(customer.phone), "password": PASSWORD})
        assert response.status_code == 302
        for name, path in paths.items():
            for _ in range(2):
                response = client.get(path)
                assert response.status_code == 200, name
                page = response.content.decode()
                assert all(marker not in page for marker in MARKERS), name
                assert nonces(page) == {policy_nonce(response)}, name
                assert csrf_values(page), name


def test_each_line_gets_its_own_page(customer, line, plans):
    other = LineFactory.create(owner=customer, nickname="Second line")
    client = browser(customer)
    assert "Second line" not in client.get(reverse("plans:line", args=[line.pk])).content.decode()
    assert "Second line" in client.get(reverse("plans:line", args=[other.pk])).content.decode()


def test_an_address_naming_what_a_page_does_not_read_is_drawn_not_kept(customer, line, plans):
    """Each address is part of a kept page's name: ``?x=1``, ``?x=2``... would make one each. A
    query string naming anything but what the page reads gives the page, drawn, and keeps none."""
    client = browser(customer)
    for name, path in customer_pages(line, plans).items():
        assert client.get(path).status_code == 200, name  # kept whole
        before = {key for key in stored() if ":page:" in key}
        for n in range(3):
            response = client.get(f"{path}?utm_source={n}")
            assert response.status_code == 200, name
            assert not any(marker in response.content.decode() for marker in MARKERS), name
        assert {key for key in stored() if ":page:" in key} == before, name
    # What a page does read still keeps it: the orders' page number, the recommender's answers.
    for path in (f"{reverse('billing:orders')}?page=1", f"{reverse('plans:recommend')}?data_gb=5&minutes=100"):
        before = {key for key in stored() if ":page:" in key}
        assert client.get(path).status_code == 200
        assert len({key for key in stored() if ":page:" in key} - before) == 1, path


def normalised(page: str) -> str:
    """A page without what each request puts in it: tokens, nonces and the time served."""
    page = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+"', r'\1"', page)
    page = re.sub(r'(name="token" value=")[^"]+"', r'\1"', page)
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    return re.sub(r'data-rendered-at="[^"]+"|as of \d\d:\d\d', "", page)


def test_after_a_change_the_frame_is_reused_and_the_page_is_the_same(customer, line, plans):
    """The first view after a change draws the view's own HTML and reuses the page around it
    (base.html and the page's title and scripts), drawn once per process: the page is the one a
    process with nothing kept draws."""
    paths = customer_pages(line, plans)
    client = browser(customer)
    for name, path in paths.items():
        client.get(path)  # the frame is drawn and kept
        customers_changed([customer.pk])
        with capture_templates() as drawn:
            after_change = client.get(path).content.decode()
        assert "base.html" not in drawn, name
        caches["fragments"].clear()
        customers_changed([customer.pk])
        with capture_templates() as drawn:
            fresh = client.get(path).content.decode()
        assert "base.html" in drawn, name
        assert normalised(after_change) == normalised(fresh), name


def test_the_frame_follows_what_it_shows(customer, line, plans):
    """The frame's title (a line's name) and the bell are in its key: a rename or a notice shows
    at once, though the frame of the page before is still kept."""
    client = browser(customer)
    path = reverse("plans:line", args=[line.pk])
    client.get(path)
    line.nickname = "Travel phone"
    line.save()
    assert "<title>Travel phone · Boom</title>" in client.get(path).content.decode()
    outbox.notice_create(user=customer, kind=Notice.Kind.SUPPORT_RECEIVED, key="frame-test", email=False)
    assert 'class="bell-count">1<' in client.get(path).content.decode()
    other = browser(UserFactory.create())  # another customer's frames are their own
    assert 'class="bell-count"' not in other.get(reverse("accounts:support")).content.decode()
