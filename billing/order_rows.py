"""An order as its pages read it (the order, its receipt, the pay page), in hand-written SQL: the
order with its line and plan, and its items with their plans and buckets. The instances are the
ones the ORM would make (``boomcard.rows``); the queries are the ones it made, without its
building and compiling them and making the rows on every first view after a change (BENCHMARKS.md)."""

from __future__ import annotations

from django.db import connection

from billing.models import Order, OrderItem
from boomcard.rows import Selected, table, with_related
from plans.models import Bucket, Line, Plan

_order, _order_line, _order_plan = Selected(Order, "o"), Selected(Line, "l"), Selected(Plan, "p")
_item, _item_plan, _item_bucket = Selected(OrderItem, "i"), Selected(Plan, "p"), Selected(Bucket, "b")


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
    query = (
        f"SELECT {_item.columns}, {_item_plan.columns}, {_item_bucket.columns}"  # noqa: S608 (names from the models)
        f" FROM {table(OrderItem)} i INNER JOIN {table(Plan)} p ON p.id = i.plan_id"
        f" LEFT OUTER JOIN {table(Bucket)} b ON b.id = i.bucket_id"
        " WHERE i.order_id = %s ORDER BY i.position"
    )
    items = []
    with connection.cursor() as cursor:
        cursor.execute(query, [order.pk])
        for row in cursor.fetchall():
            item = _item.instance(row)
            with_related(item, "order", order)
            with_related(item, "plan", _item_plan.instance(row, _item.width))
            with_related(item, "bucket", _item_bucket.instance_or_none(row, _item.width + _item_plan.width))
            items.append(item)
    return items
