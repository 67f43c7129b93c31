"""An order as its pages read it (the orders list, the order, its receipt, the pay page), in
hand-written SQL: a page of the list with the number of pages, the order with its line and plan,
its items with their plans and buckets, its confirmation notice and open refund; and what the
renewal page reads beyond its offers, a line's open order and the customer's saved card. The
instances are the ones the ORM would make (``boomcard.rows``); the queries are the ones it made,
without its building and compiling them and making the rows on every first view after a change
(BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil

from django.db import connection

from accounts.models import Notice
from accounts.notice_keys import order_fulfilled_key
from billing.models import Order, OrderItem, PaymentProfile, Refund
from boomcard.page_fragments import ListPage
from boomcard.rows import Read, Rows, Selected, read, table, with_related
from plans.models import Bucket, Line, Plan

_order, _order_line, _order_plan = Selected(Order, "o"), Selected(Line, "l"), Selected(Plan, "p")
_item, _item_plan, _item_bucket = Selected(OrderItem, "i"), Selected(Plan, "p"), Selected(Bucket, "b")
_card = Selected(PaymentProfile, "c")
_notice, _refund = Selected(Notice, "n"), Selected(Refund, "r")
# What a row of the orders list shows (billing/orders_body.html).
_listed = Selected(Order, "o", only=["public_id", "status", "amount_minor", "currency", "created_at", "line", "plan"])
_listed_line, _listed_plan = Selected(Line, "l", only=["msisdn"]), Selected(Plan, "p", only=["name_en", "name_zh"])


def order_page(*, user_id: int, number: int, per_page: int) -> ListPage[Order]:
    """Page ``number`` of the customer's orders, newest first, each with what its row shows (its
    line's number, its plan's names, one instance of each line and plan for the page; the rest
    deferred), and how many pages there are: one query, the count a window over the same rows. A
    number past the last page gives the last page, as ``Paginator.get_page`` does (then counted
    on its own first)."""
    query = (
        f"SELECT {_listed.columns}, {_listed_line.columns}, {_listed_plan.columns}, COUNT(*) OVER ()"  # noqa: S608
        f" FROM {table(Order)} o INNER JOIN {table(Line)} l ON l.id = o.line_id"
        f" INNER JOIN {table(Plan)} p ON p.id = o.plan_id"
        " WHERE o.user_id = %s ORDER BY o.created_at DESC, o.id DESC LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user_id, per_page, (number - 1) * per_page])
        rows = cursor.fetchall()
    if not rows:
        if number == 1:
            return ListPage(number=1, items=[], has_next=False, num_pages=1)
        count = Order.objects.filter(user_id=user_id).count()
        return order_page(user_id=user_id, number=max(1, ceil(count / per_page)), per_page=per_page)
    # A customer's few lines and plans recur down the page: each is made once and shared by its
    # orders, as a prefetch would (a line's number is parsed once, not once a row).
    orders: list[Order] = []
    lines: dict[int, Line] = {}
    plans: dict[int, Plan] = {}
    for row in rows:
        order = _listed.instance(row)
        line = lines.get(order.line_id)
        if line is None:
            line = lines[order.line_id] = _listed_line.instance(row, _listed.width)
        plan = plans.get(order.plan_id)
        if plan is None:
            plan = plans[order.plan_id] = _listed_plan.instance(row, _listed.width + _listed_line.width)
        with_related(order, "line", line)
        with_related(order, "plan", plan)
        orders.append(order)
    num_pages = ceil(rows[0][-1] / per_page)
    return ListPage(number=number, items=orders, has_next=number < num_pages, num_pages=num_pages)


def order_of(*, user_id: int, public_id: str) -> Order | None:
    """The customer's order ``public_id`` with its line and plan; None for anyone else's. One query."""
    query = (
        f"SELECT {_order.columns}, {_order_line.columns}, {_order_plan.columns}"  # noqa: S608 (names from the models)
        f" FROM {table(Order)} o INNER JOIN {table(Line)} l ON l.id = o.line_id"
        f" INNER JOIN {table(Plan)} p ON p.id = o.plan_id"
        " WHERE o.user_id = %s AND o.public_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [user_id, public_id])
        row = cursor.fetchone()
    if row is None:
        return None
    order = _order.instance(row)
    with_related(order, "line", _order_line.instance(row, _order.width))
    with_related(order, "plan", _order_plan.instance(row, _order.width + _order_line.width))
    return order


def items_of(order: Order) -> list[OrderItem]:
    """What ``order`` buys, in position order, each item with its plan and bucket (None until the
    order is fulfilled) and ``order`` itself. One query."""
    return read(items_read(order))


def items_read(order: Order) -> Read[list[OrderItem]]:
    query = (
        f"SELECT {_item.columns}, {_item_plan.columns}, {_item_bucket.columns}"  # noqa: S608 (names from the models)
        f" FROM {table(OrderItem)} i INNER JOIN {table(Plan)} p ON p.id = i.plan_id"
        f" LEFT OUTER JOIN {table(Bucket)} b ON b.id = i.bucket_id"
        " WHERE i.order_id = %s ORDER BY i.position"
    )

    def items(rows: Rows) -> list[OrderItem]:
        found = []
        for row in rows:
            item = _item.instance(row)
            with_related(item, "order", order)
            with_related(item, "plan", _item_plan.instance(row, _item.width))
            with_related(item, "bucket", _item_bucket.instance_or_none(row, _item.width + _item_plan.width))
            found.append(item)
        return found

    return Read(query, [order.pk], items)


def _newest(model: type[Order | Refund], column: str, statuses: Sequence[str]) -> str:
    """A subquery: the id of the newest ``model`` row whose ``column`` is the parameter and whose
    status is one of ``statuses`` (their parameters follow it)."""
    return (
        f"(SELECT newest.id FROM {table(model)} newest WHERE newest.{column} = %s"  # noqa: S608 (names from the models)
        f" AND newest.status IN ({', '.join(['%s'] * len(statuses))})"
        " ORDER BY newest.created_at DESC, newest.id DESC LIMIT 1)"
    )


def notice_and_open_refund(order: Order) -> tuple[Notice | None, Refund | None]:
    """The notice that confirmed ``order`` to its customer, and its newest open refund
    (``Refund.OPEN``), either None when there is none. One query."""
    return read(notice_and_open_refund_read(order))


def notice_and_open_refund_read(order: Order) -> Read[tuple[Notice | None, Refund | None]]:
    statuses = [str(status) for status in Refund.OPEN]
    query = (
        f"SELECT {_notice.columns}, {_refund.columns}"  # noqa: S608 (names from the models)
        " FROM (SELECT 1 AS one) just_one"
        f" LEFT OUTER JOIN {table(Notice)} n ON n.key = %s AND n.user_id = %s"
        f" LEFT OUTER JOIN {table(Refund)} r ON r.id = {_newest(Refund, 'order_id', statuses)}"
    )
    params = [order_fulfilled_key(order_id=order.pk), order.user_id, order.pk, *statuses]
    return Read(query, params, _notice_and_refund)


def _notice_and_refund(rows: Rows) -> tuple[Notice | None, Refund | None]:
    [row] = rows  # the one row the outer joins hang from
    return _notice.instance_or_none(row), _refund.instance_or_none(row, _notice.width)


def open_order_and_card(*, user_id: int, line_id: int) -> tuple[Order | None, PaymentProfile | None]:
    """The line's newest open order (``Order.OPEN``) with its plan, and the customer's payment
    profile (their saved card), either None when there is none: what ``Order.objects.filter(
    line=..., status__in=Order.OPEN).select_related("plan").first()`` and ``PaymentProfile.objects
    .filter(user=...).first()`` read. One query."""
    return read(open_order_and_card_read(user_id=user_id, line_id=line_id))


def open_order_and_card_read(*, user_id: int, line_id: int) -> Read[tuple[Order | None, PaymentProfile | None]]:
    """``open_order_and_card``, to be read beside the line (whose owner the caller checks)."""
    statuses = [str(status) for status in Order.OPEN]
    query = (
        f"SELECT {_order.columns}, {_order_plan.columns}, {_card.columns}"  # noqa: S608 (names from the models)
        " FROM (SELECT 1 AS one) just_one"
        f" LEFT OUTER JOIN {table(Order)} o ON o.id = {_newest(Order, 'line_id', statuses)}"
        f" LEFT OUTER JOIN {table(Plan)} p ON p.id = o.plan_id"
        f" LEFT OUTER JOIN {table(PaymentProfile)} c ON c.user_id = %s"
    )
    return Read(query, [line_id, *statuses, user_id], _open_order_and_card)


def _open_order_and_card(rows: Rows) -> tuple[Order | None, PaymentProfile | None]:
    [row] = rows  # the one row the outer joins hang from
    order = _order.instance_or_none(row)
    if order is not None:
        with_related(order, "plan", _order_plan.instance(row, _order.width))
    return order, _card.instance_or_none(row, _order.width + _order_plan.width)
