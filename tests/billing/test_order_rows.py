"""The hand-written reads of an order's pages (billing.order_rows) give what the ORM gives: the
order with its line and plan, its items with their plans and buckets, its notice and open refund,
the renewal page's open order and saved card; nothing of another's."""

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Notice
from accounts.notice_keys import order_fulfilled_key
from billing.models import Order, PaymentProfile, Refund
from billing.order_rows import items_of, notice_and_open_refund, open_order_and_card, order_of, order_page
from boomcard.rows import row_columns
from plans.models import Line, Plan
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_order_is_the_orms_with_its_line_and_plan(fulfilled_order):
    expected = Order.objects.select_related("line", "plan").get(pk=fulfilled_order.pk)
    with CaptureQueriesContext(connection) as queries:
        found = order_of(user_id=fulfilled_order.user_id, public_id=fulfilled_order.public_id)
        assert found is not None
        shown = (row_columns(found), row_columns(found.line), row_columns(found.plan))
    assert len(queries) == 1
    assert shown == (row_columns(expected), row_columns(expected.line), row_columns(expected.plan))
    assert found.action == expected.action  # a JSON column, decoded as the ORM decodes it
    assert order_of(user_id=UserFactory.create().pk, public_id=fulfilled_order.public_id) is None
    assert order_of(user_id=fulfilled_order.user_id, public_id="BMNOSUCHORDER0") is None


def test_the_items_are_the_orms_in_order_with_their_plans_and_buckets(fulfilled_order):
    expected = list(fulfilled_order.items.select_related("plan", "bucket").order_by("position"))
    with CaptureQueriesContext(connection) as queries:
        found = items_of(fulfilled_order)
        shown = [
            (row_columns(item), row_columns(item.plan), item.bucket and row_columns(item.bucket), item.order)
            for item in found
        ]
    assert len(queries) == 1
    assert shown == [
        (row_columns(item), row_columns(item.plan), item.bucket and row_columns(item.bucket), fulfilled_order)
        for item in expected
    ]
    assert all(item.bucket is not None for item in found)  # fulfilled: each item has its bucket


def test_an_item_not_yet_fulfilled_has_no_bucket(fulfilled_order):
    item = fulfilled_order.items.get()
    fulfilled_order.items.update(bucket=None)
    [found] = items_of(fulfilled_order)
    assert found.pk == item.pk
    assert found.bucket is None  # the outer join found none


def an_order(line: Line, plan: Plan, status: str) -> Order:
    assert line.owner is not None
    return Order.objects.create(
        user=line.owner, line=line, plan=plan, kind=Order.Kind.RENEWAL, amount_minor=100, currency="HKD", status=status
    )


def test_the_renewal_pages_open_order_and_saved_card_are_the_orms(customer, line, plans):
    """The line's open order (one at most) with its plan, and the customer's payment profile, or
    None for either, as ``.first()`` read them."""
    an_order(line, plans["basic-10"], Order.Status.FULFILLED)
    an_order(line, plans["basic-10"], Order.Status.CANCELLED)
    assert open_order_and_card(user_id=customer.pk, line_id=line.pk) == (None, None)
    opened = an_order(line, plans["basic-30"], Order.Status.FAILED)
    an_order(LineFactory.create(owner=customer), plans["basic-10"], Order.Status.PENDING)  # another line's
    profile = PaymentProfile.objects.create(user=customer, stripe_customer_id="cus_rows", card_last4="4242")
    with CaptureQueriesContext(connection) as queries:
        order, card = open_order_and_card(user_id=customer.pk, line_id=line.pk)
        assert order is not None
        assert card is not None
        shown = (row_columns(order), row_columns(order.plan), row_columns(card))
    assert len(queries) == 1
    expected = Order.objects.filter(line=line, status__in=Order.OPEN).select_related("plan").first()
    assert expected == opened
    assert shown == (row_columns(expected), row_columns(expected.plan), row_columns(profile))
    assert open_order_and_card(user_id=UserFactory.create().pk, line_id=line.pk) == (opened, None)
    opened.status = Order.Status.CANCELLED
    opened.save()
    assert open_order_and_card(user_id=customer.pk, line_id=line.pk) == (None, profile)


def test_the_order_pages_notice_and_open_refund_are_the_orms(customer, line, plans):
    """The order's confirmation notice (its key, the customer's) and its newest open refund, or
    None for either, as ``.first()`` read them."""
    order = an_order(line, plans["basic-10"], Order.Status.FULFILLED)
    other = an_order(line, plans["basic-10"], Order.Status.REFUNDED)
    assert notice_and_open_refund(order) == (None, None)
    Refund.objects.create(order=order, amount_minor=10, currency="HKD", status=Refund.Status.SUCCEEDED)
    Refund.objects.create(order=other, amount_minor=10, currency="HKD", status=Refund.Status.PENDING)
    older = Refund.objects.create(
        order=order, amount_minor=20, currency="HKD", created_at=timezone.now() - timedelta(minutes=5)
    )
    newer = Refund.objects.create(order=order, amount_minor=30, currency="HKD", status=Refund.Status.PENDING)
    Notice.objects.create(user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED, key=order_fulfilled_key(order_id=other.pk))
    notice = Notice.objects.create(
        user=customer, kind=Notice.Kind.PAYMENT_CONFIRMED, key=order_fulfilled_key(order_id=order.pk)
    )
    with CaptureQueriesContext(connection) as queries:
        found_notice, found_refund = notice_and_open_refund(order)
        assert found_notice is not None
        assert found_refund is not None
        shown = (row_columns(found_notice), row_columns(found_refund))
    assert len(queries) == 1
    expected = order.refunds.filter(status__in=Refund.OPEN).first()
    assert expected == newer != older
    assert shown == (row_columns(notice), row_columns(expected))
    Refund.objects.filter(pk=newer.pk).update(status=Refund.Status.FAILED)
    assert notice_and_open_refund(order) == (notice, older)


def row_shown(order: Order) -> tuple[object, ...]:
    """What a row of the orders list shows of ``order``."""
    return (
        order.public_id,
        order.status,
        order.amount_minor,
        order.currency,
        order.created_at,
        order.line.msisdn,
        order.plan.name,
    )


def test_a_page_of_the_orders_list_is_the_orms_page(customer, line, plans):
    """The page's orders newest first, with what a row shows read and the rest deferred as
    ``QuerySet.only`` defers it; the number of pages counted in the same query; a number past
    the end gives the last page."""
    for n in range(5):
        an_order(line, plans["basic-10" if n % 2 else "basic-30"], Order.Status.FULFILLED)
    an_order(LineFactory.create(owner=UserFactory.create()), plans["basic-10"], Order.Status.FULFILLED)
    newest_first = Order.objects.filter(user=customer).select_related("line", "plan").order_by("-created_at", "-id")
    orm = Paginator(
        newest_first.only(
            "public_id",
            "status",
            "amount_minor",
            "currency",
            "created_at",
            "line__msisdn",
            "plan__name_en",
            "plan__name_zh",
        ),
        2,
    )
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as queries:
            page = order_page(user_id=customer.pk, number=number, per_page=2)
            shown = [row_shown(order) for order in page.items]
        assert len(queries) == 1
        expected = orm.page(number)
        assert shown == [row_shown(order) for order in expected]
        assert (page.num_pages, page.has_previous, page.has_next) == (3, expected.has_previous(), expected.has_next())
        assert [order.get_deferred_fields() for order in page.items] == [
            order.get_deferred_fields() for order in expected
        ]
        assert len({id(order.line) for order in page.items}) == 1  # one instance of the line, shared
    assert order_page(user_id=customer.pk, number=9, per_page=2) == order_page(
        user_id=customer.pk, number=3, per_page=2
    )
    nobody = order_page(user_id=UserFactory.create().pk, number=1, per_page=2)
    assert (nobody.items, nobody.num_pages, nobody.has_next) == ([], 1, False)
