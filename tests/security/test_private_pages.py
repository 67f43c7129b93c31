"""No page of a logged-in customer is kept by a cache: the line page shows the eSIM activation
code, the receipt what was paid. Every address of the customer's apps is asked, filled with the
customer's own ids, and whatever it answers says ``Cache-Control: no-store``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from billing import services as billing
from billing.models import Order
from plans.models import Plan
from plans.services import bucket_grant
from tests.card_payments import pay_by_card
from tests.factories import LineFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

APPS = {"accounts", "plans", "billing"}
# Signed by the network or Stripe, never a customer's session; and the way out, asked last.
NOT_PAGES = {"plans:api_usage", "plans:api_usage_batch", "billing:stripe_webhook", "accounts:logout"}


def _names(patterns: list[Any], namespace: str = "") -> Iterator[tuple[str, tuple[str, ...]]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _names(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and pattern.name and namespace in APPS:
            yield f"{namespace}:{pattern.name}", tuple(pattern.pattern.converters)


def _no_store(response: Any) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_every_page_of_a_logged_in_customer_says_no_store(plans: dict[str, Plan], localstripe: str, card) -> None:
    user = UserFactory.create(email="private@example.com")
    line = LineFactory.create(owner=user)
    bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)
    order = billing.order_start(user=user, line=line, plan=plans["basic-10"], currency="CNY")
    order = pay_by_card(client, order, card(), localstripe=localstripe).order
    assert order.status == Order.Status.FULFILLED
    fill = {"pk": line.pk, "line_id": line.pk, "public_id": order.public_id, "code": "basic-10"}

    asked: dict[str, int] = {}
    cached: list[str] = []
    for name, parameters in _names(get_resolver().url_patterns):
        if name in NOT_PAGES:
            continue
        url = reverse(name, kwargs={parameter: fill[parameter] for parameter in parameters})
        response = client.get(url)
        asked[name] = response.status_code
        if not _no_store(response):
            cached.append(f"{name} {url} {response.status_code} {response.get('Cache-Control')!r}")

    assert not cached, cached
    # The crawl reached the pages that matter, not only redirects.
    assert asked["plans:line"] == 200
    assert asked["billing:receipt"] == 200
    assert asked["billing:orders"] == 200
    assert asked["plans:home"] == 200


def test_line_page_with_the_activation_code_and_receipt_are_not_stored(
    plans: dict[str, Plan],
) -> None:
    user = UserFactory.create()
    line = LineFactory.create(owner=user)
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(user)

    response = client.get(reverse("plans:line", args=[line.pk]))

    assert response.status_code == 200
    assert "LPA:1$" in response.content.decode()
    assert _no_store(response)
    assert "private" in response["Cache-Control"]


def test_public_pages_for_a_visitor_are_not_marked_private(client) -> None:
    response = client.get(reverse("plans:catalogue"))

    assert response.status_code == 200
    assert not _no_store(response)
