"""The customer's order list, order page, receipt and payment page: what they show and to whom."""

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing.models import Order, OrderItem
from plans.models import Line, Plan
from tests.billing.stripe_events import start_order
from tests.card_payments import pay_by_card
from tests.factories import LineFactory, UserFactory, price_shown

pytestmark = pytest.mark.django_db


def make_orders(line: Line, plans: list[Plan], count: int, status: str = Order.Status.FULFILLED) -> list[Order]:
    """``count`` closed orders on ``line``, an hour apart, the newest first, cycling through ``plans``."""
    now = timezone.now()
    assert line.owner is not None
    orders = Order.objects.bulk_create(
        Order(
            user=line.owner,
            line=line,
            plan=plans[n % len(plans)],
            kind=Order.Kind.RENEWAL,
            amount_minor=3800 + n,
            currency="CNY",
            status=status,
            created_at=now - timedelta(hours=n),
        )
        for n in range(count)
    )
    OrderItem.objects.bulk_create(
        OrderItem(order=order, position=0, plan=order.plan, amount_minor=order.amount_minor) for order in orders
    )
    return orders


def listed(page: str) -> list[str]:
    """The order ids an orders page links to, top to bottom."""
    return re.findall(r'href="/billing/orders/(BM[0-9A-Z]+)/"', page)


def test_orders_page_lists_only_the_customers_orders_newest_first(client, customer, line, plans):
    mine = make_orders(line, [plans["basic-10"], plans["topup-5"]], 3)
    make_orders(LineFactory.create(owner=UserFactory.create()), [plans["basic-10"]], 2)
    client.force_login(customer)

    page = client.get(reverse("billing:orders")).content.decode()

    assert listed(page) == [order.public_id for order in mine]
    assert price_shown(plans["basic-10"]) in page
    assert "Basic 10 GB" in page
    assert "Data top-up 5 GB" in page


def test_orders_page_shows_25_orders_on_two_pages(client, customer, line, plans):
    orders = make_orders(line, [plans["basic-10"]], 25)
    client.force_login(customer)

    first = client.get(reverse("billing:orders")).content.decode()
    second = client.get(reverse("billing:orders"), {"page": 2}).content.decode()

    assert listed(first) == [order.public_id for order in orders[:20]]
    assert listed(second) == [order.public_id for order in orders[20:]]
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    assert 'href="?page=2"' in first


def test_orders_page_without_orders_says_so(client, customer):
    client.force_login(customer)

    page = client.get(reverse("billing:orders")).content.decode()

    assert "No orders yet." in page


@pytest.mark.parametrize("count", [5, 50])
def test_orders_page_takes_the_same_number_of_queries_however_many_orders(
    client, customer, line, plans, count, django_assert_num_queries
):
    other_line = LineFactory.create(owner=customer)
    make_orders(line, [plans["basic-10"], plans["basic-30"]], count // 2)
    make_orders(other_line, [plans["topup-5"], plans["bigdata-100"]], count - count // 2)
    client.force_login(customer)
    cache.clear()

    # Cold: session, the user with the unread-notice badge, one page of orders with lines and
    # plans and how many pages there are.
    with django_assert_num_queries(3):
        response = client.get(reverse("billing:orders"))
    assert len(listed(response.content.decode())) == min(count, 20)
    # Warm: the session, the user, the badge and the page's body come from the cache.
    with django_assert_num_queries(0):
        client.get(reverse("billing:orders"))


def test_receipt_shows_what_was_bought_and_how_it_was_paid(client, customer, line, plans, localstripe, card):
    order = start_order(client, customer, line)
    pay_by_card(client, order, card("ok"), localstripe=localstripe)
    order.refresh_from_db()
    assert order.paid_at is not None

    page = client.get(reverse("billing:receipt", args=[order.public_id])).content.decode()

    paid_at = timezone.localtime(order.paid_at, zoneinfo.ZoneInfo(customer.time_zone))
    assert order.public_id in page
    assert paid_at.strftime("%Y-%m-%d %H:%M") in page
    assert "Basic 10 GB" in page
    assert str(line.msisdn) in page
    assert price_shown(plans["basic-10"]) in page
    assert "Visa •••• 4242" in page
    assert "Paid and added" in page


def test_receipt_of_an_unpaid_order_sends_to_the_order_page(client, customer, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=Order.Status.PENDING)
    client.force_login(customer)

    response = client.get(reverse("billing:receipt", args=[order.public_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:order", args=[order.public_id])


@pytest.mark.parametrize(
    ("status", "refreshes"),
    [
        (Order.Status.PENDING, True),
        (Order.Status.REQUIRES_ACTION, True),
        (Order.Status.FULFILLED, False),
        (Order.Status.CANCELLED, False),
        (Order.Status.REFUNDED, False),
    ],
)
def test_order_page_refreshes_itself_only_while_the_order_is_open(client, customer, line, plans, status, refreshes):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=status)
    client.force_login(customer)

    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()

    assert ('<meta http-equiv="refresh"' in page) is refreshes


@pytest.mark.parametrize("status", [Order.Status.FULFILLED, Order.Status.CANCELLED, Order.Status.REFUNDED])
def test_pay_page_of_a_closed_order_sends_to_the_order_page(client, customer, line, plans, status):
    [order] = make_orders(line, [plans["basic-10"]], 1, status=status)
    client.force_login(customer)

    response = client.get(reverse("billing:pay", args=[order.public_id]))

    assert response.status_code == 302
    assert response["Location"] == reverse("billing:order", args=[order.public_id])


def test_order_pages_ask_a_visitor_to_log_in(customer: User, line, plans):
    [order] = make_orders(line, [plans["basic-10"]], 1)
    visitor = Client()

    assert visitor.get(reverse("billing:orders")).status_code == 302
    for name in ("billing:order", "billing:pay", "billing:receipt"):
        response = visitor.get(reverse(name, args=[order.public_id]))
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_a_pack_bought_for_a_line_without_a_plan_says_what_was_bought_and_until_when(client, customer, plans):
    from plans.services import bucket_grant

    planless = LineFactory.create(owner=customer)
    order = Order.objects.create(
        user=customer,
        line=planless,
        plan=plans["roam-jpkr-7"],
        kind=Order.Kind.ADDON,
        amount_minor=3000,
        currency="CNY",
        status=Order.Status.FULFILLED,
    )
    pack = bucket_grant(line=planless, plan=plans["roam-jpkr-7"])
    OrderItem.objects.create(order=order, position=0, plan=order.plan, amount_minor=3000, bucket=pack)
    client.force_login(customer)

    page = client.get(reverse("billing:order", args=[order.public_id])).content.decode()

    until = timezone.localtime(pack.expires_at, zoneinfo.ZoneInfo(customer.time_zone)).strftime("%Y-%m-%d %H:%M")
    assert f"Japan &amp; Korea 5 GB, 7 days can be used until <strong>{until}</strong>" in page
    assert "Japan, South Korea" in page
    assert "New expiry" not in page


def test_orders_list_is_drawn_again_only_when_what_it_shows_changes(client, customer, line, plans, monkeypatch):
    import importlib

    from django.core.cache import caches

    from boomcard.page_cache import customers_changed

    # The module, not the view of the same name that billing.views exports.
    order_views = importlib.import_module("billing.views.orders")

    orders = make_orders(line, [plans["basic-10"]], 3)
    client.force_login(customer)
    cache.clear()
    caches["fragments"].clear()
    drawn: list[str] = []
    draw = order_views.fragment_render

    def counted(name: str, context: dict) -> str:
        drawn.append(name)
        return draw(name, context)

    monkeypatch.setattr(order_views, "fragment_render", counted)

    first = client.get(reverse("billing:orders")).content.decode()
    # A notice or a usage batch: the customer's pages are rebuilt, the list is not redrawn.
    customers_changed([customer.pk])
    again = client.get(reverse("billing:orders")).content.decode()
    assert listed(again) == listed(first) == [order.public_id for order in orders]
    assert drawn == ["billing/orders_body.html"]

    # A refund changes what a row shows: drawn anew, with the new status.
    Order.objects.filter(pk=orders[0].pk).update(status=Order.Status.REFUNDED)
    customers_changed([customer.pk])
    page = client.get(reverse("billing:orders")).content.decode()
    assert len(drawn) == 2
    assert "status-refunded" in page
    assert "status-refunded" not in first
