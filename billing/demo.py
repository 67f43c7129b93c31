"""Two orders on a demo line, for the pages that show orders: one paid (it has a receipt) and one
waiting to be paid. The browser tests and the Lighthouse bench need both on hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from billing.models import Order, OrderItem
from plans.models import Bucket, Line, Plan


@dataclass(frozen=True)
class DemoOrders:
    paid: Order
    pending: Order


def demo_orders_create(*, paid_line: Line, pending_line: Line | None = None, plan_code: str = "basic-30") -> DemoOrders:
    """A fulfilled renewal of ``paid_line`` by card (its bucket included) and an open renewal of
    ``pending_line`` (the same line unless given), both of ``plan_code`` in CNY."""
    assert paid_line.owner is not None
    pending_line = pending_line or paid_line
    plan = Plan.objects.get(code=plan_code)
    amount = plan.prices.get(currency="CNY").amount_minor
    now = timezone.now()
    paid = Order.objects.create(
        user=paid_line.owner, line=paid_line, plan=plan, kind=Order.Kind.RENEWAL, amount_minor=amount,
        currency="CNY", status=Order.Status.FULFILLED, card_brand="visa", card_last4="4242", paid_at=now,
    )  # fmt: skip
    bucket = Bucket.objects.create(line=paid_line, plan=plan, starts_at=now, expires_at=now + timedelta(days=30))
    OrderItem.objects.create(order=paid, position=0, plan=plan, amount_minor=amount, bucket=bucket)
    pending = Order.objects.create(
        user=paid_line.owner, line=pending_line, plan=plan, kind=Order.Kind.RENEWAL, amount_minor=amount, currency="CNY"
    )
    OrderItem.objects.create(order=pending, position=0, plan=plan, amount_minor=amount)
    return DemoOrders(paid=paid, pending=pending)
