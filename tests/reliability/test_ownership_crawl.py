"""Customer A asks for every address that takes an id, filled with customer B's ids: each is
"not found", by GET and by POST wherever the view takes a POST, and changes nothing of B's.

The addresses come from the URL resolver, so a new one that takes an id fails this test until
the crawl is told how to fill it (``FILL``) or why it needs no filling (``PUBLIC``). The same
addresses asked by B himself are found, which shows the crawl fills them right.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice, SupportMessage, SupportRequest, User
from accounts.support import support_request_create
from billing import services as billing
from billing.models import Order, PaymentProfile
from plans.models import Bucket, Line, Plan
from plans.services import bucket_grant
from tests.card_payments import pay_by_card
from tests.factories import LineFactory, UserFactory
from tests.reliability.conftest import stripe_api, stripe_card

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]

# Addresses with an id in them, and what fills each of their parameters: one of B's lines, or
# one of B's orders (by its public id), or one of B's support requests.
FILL: dict[str, dict[str, str]] = {
    "plans:line": {"pk": "line"},
    "billing:renew": {"line_id": "line"},
    "billing:renew_now": {"line_id": "line"},
    "billing:renew_price": {"line_id": "line"},
    "billing:auto_renew": {"line_id": "line"},
    "billing:order": {"public_id": "order"},
    "billing:pay": {"public_id": "order"},
    "billing:pay_card": {"public_id": "order"},
    "billing:pay_wallet": {"public_id": "order"},
    "billing:order_status": {"public_id": "order"},
    "billing:receipt": {"public_id": "order"},
    "billing:receipt_pdf": {"public_id": "order"},
    "billing:order_cancel": {"public_id": "order"},
    "accounts:support_thread": {"pk": "support_request"},
}
# Addresses whose parameter names something public: the catalogue's plans.
PUBLIC = {"plans:detail"}
# The network's API: what it opens is signed with a network key, never a customer's session
# (a logged-in customer gets 401, checked below).
NETWORK = {"plans:api_usage_batch"}
# The staff's site: a customer gets none of its pages (checked below on its front page).
STAFF_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    parameters: tuple[str, ...]


def routes_with_parameters(
    patterns: list[Any] | None = None, namespace: str = "", prefix: str = "", inherited: tuple[str, ...] = ()
) -> Iterator[Route]:
    """Every named address that takes a parameter, by a path converter or a named regex group,
    its own or one of the includes it sits in."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        own = tuple(pattern.pattern.converters) or tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
            yield from routes_with_parameters(
                pattern.url_patterns, inner, prefix + str(pattern.pattern), inherited + own
            )
        elif isinstance(pattern, URLPattern):
            parameters = inherited + own
            if parameters:
                name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name)
                yield Route(name, prefix + str(pattern.pattern), parameters)


@dataclass
class Customer:
    user: User
    client: Client
    line: Line
    orders: list[Order]


@pytest.fixture
def two_customers(plans: dict[str, Plan], localstripe: str) -> tuple[Customer, Customer]:
    """A and B, each with a line; B also with a paid order (fulfilled) and an open one."""

    def customer(email: str) -> Customer:
        user = UserFactory.create(email=email)
        line = LineFactory.create(owner=user)
        bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
        client = Client(headers={"Accept-Language": "en"})
        client.force_login(user)
        return Customer(user, client, line, [])

    a, b = customer("a@example.com"), customer("b@example.com")
    api = stripe_api(localstripe)
    paid = billing.order_start(user=b.user, line=b.line, plan=plans["basic-10"], currency="CNY")
    paid = pay_by_card(b.client, paid, stripe_card(api, localstripe), localstripe=localstripe).order
    assert paid.status == Order.Status.FULFILLED
    second_line = LineFactory.create(owner=b.user)
    bucket_grant(line=second_line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=20))
    open_order = billing.order_start(user=b.user, line=second_line, plan=plans["basic-10"], currency="CNY")
    b.orders = [paid, open_order]
    return a, b


def _b_state(b: Customer) -> list[Any]:
    """All of B's rows that a request could change, as values."""
    owners: list[tuple[type[Model], str]] = [
        (Line, "owner"),
        (Order, "user"),
        (Bucket, "line__owner"),
        (Notice, "user"),
        (EmailDelivery, "notice__user"),
        (SupportRequest, "user"),
        (SupportMessage, "request__user"),
        (PaymentProfile, "user"),
    ]
    return [sorted(map(str, model._default_manager.filter(**{owner: b.user}).values())) for model, owner in owners]


def _posted(name: str, card: str) -> dict[str, str]:
    """A valid form for the address, so that only the owner check can stop it."""
    return {
        "billing:renew": {"plan": "basic-10"},
        "billing:auto_renew": {"enabled": "on", "payment_method": card},
        "billing:pay_card": {"save_card": "on"},
        "billing:pay_wallet": {"method": "alipay"},
        "accounts:support_thread": {"body": "Any news on this?"},
    }.get(name, {})


def test_every_address_with_an_id_is_not_found_for_another_customers_id(
    two_customers: tuple[Customer, Customer], localstripe: str
) -> None:
    a, b = two_customers
    routes = [r for r in routes_with_parameters() if r.name.split(":")[0] not in STAFF_NAMESPACES]
    unknown = [r for r in routes if r.name not in FILL and r.name not in PUBLIC | NETWORK]
    assert not unknown, f"addresses with ids the crawl does not know how to fill (add them to FILL): {unknown}"
    assert {r.name for r in routes} == set(FILL) | PUBLIC | NETWORK, "FILL, PUBLIC or NETWORK names a gone address"
    for name in NETWORK:
        assert a.client.get(reverse(name, args=[1])).status_code == 401
    for route in routes:
        if route.name in FILL:
            assert set(route.parameters) == set(FILL[route.name]), route

    api = stripe_api(localstripe)
    b_request = support_request_create(user=b.user, topic="other", message="Where is my eSIM?")
    values: dict[str, list[int | str]] = {
        "line": [b.line.pk, b.orders[1].line_id],
        "order": [o.public_id for o in b.orders],
        "support_request": [b_request.pk],
    }
    asked: list[tuple[str, str, dict[str, str], int]] = []
    before = _b_state(b)
    for name, fills in FILL.items():
        (parameter, kind), *rest = fills.items()
        assert not rest, "one parameter per address so far"
        for value in values[kind]:
            url = reverse(name, kwargs={parameter: value})
            data = _posted(name, stripe_card(api, localstripe))
            asked.append(("get", url, {}, a.client.get(url).status_code))
            asked.append(("post", url, data, a.client.post(url, data).status_code))
    # Nothing of B's changed, not even by a valid form posted to B's line or order.
    assert _b_state(b) == before

    # B, asking the same, is found (or told the method is not taken): the crawl filled them right.
    for method, url, data, status_for_a in asked:
        status_for_b = getattr(b.client, method)(url, data).status_code
        if status_for_b == 405:  # the view takes no such request: nothing to find
            assert status_for_a in (404, 405), (method, url, status_for_a)
        else:
            assert status_for_b != 404, (method, url)
            assert status_for_a == 404, (method, url, status_for_a)


def test_ids_in_query_strings_and_forms_are_not_another_customers(two_customers: tuple[Customer, Customer]) -> None:
    a, b = two_customers
    # The recommender starts from one of the customer's lines, named in the query string.
    assert a.client.get(reverse("plans:recommend"), {"line": b.line.pk}).status_code == 404
    assert b.client.get(reverse("plans:recommend"), {"line": b.line.pk}).status_code == 200
    # The support form offers only the customer's own lines.
    response = a.client.post(
        reverse("accounts:support"), {"topic": "other", "line": b.line.pk, "message": "Please look at this line."}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["line"]
    assert not SupportRequest.objects.exists()


def test_staff_site_gives_a_customer_none_of_its_pages(two_customers: tuple[Customer, Customer]) -> None:
    """The admin's addresses take ids too (``STAFF_NAMESPACES``): a customer gets none of them,
    whatever the ids, with B's line as the object where one is asked for."""
    a, b = two_customers
    admin_routes = [r for r in routes_with_parameters() if r.name.split(":")[0] in STAFF_NAMESPACES]
    assert admin_routes
    fill = {"app_label": "accounts", "model_name": "line", "object_id": str(b.line.pk)}
    urls = [reverse("admin:index")]
    for route in admin_routes:
        try:
            urls.append(reverse(route.name, kwargs={p: fill.get(p, str(b.line.pk)) for p in route.parameters}))
        except NoReverseMatch:  # an app label or model the admin does not have: no such page
            continue
    assert len(urls) > len(admin_routes) // 2
    for url in urls:
        response = a.client.get(url)
        assert response.status_code in (302, 403, 404), (url, response.status_code)
        assert str(b.line.msisdn) not in response.content.decode(), url
