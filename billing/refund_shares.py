"""How much of an order is left to refund, and what refunding part of it takes back.

A refund of part of what is still paid for takes back the same share of what is left of the
order's buckets (data, minutes, SMS not yet used): refunding 40 % of an order takes back 40 % of
each bucket's remaining allowance; refunding half of what is left after that takes back half of
what is left then. Refunding all that is left is a full refund: the order becomes refunded and
its buckets are withdrawn, days included (``plans.services.bucket_withdraw``).

The staff's confirmation page reads ``refund_preview`` before the refund is made; the service
(``billing.services.refunds``) takes back the same share once Stripe says the refund succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from billing.models import Order, OrderItem, Refund
from plans.models import Bucket
from plans.services import Allowance, bucket_share


def order_refunded(*, order: Order) -> int:
    """What Stripe has given back of ``order`` so far, in minor units."""
    total = order.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount_minor"))["total"]
    return int(total or 0)


def order_refund_left(*, order: Order) -> int:
    """What may still be refunded of ``order``, in minor units: its amount less the refunds that
    succeeded and those still under way at Stripe (0 for an order that was never paid)."""
    if order.status not in (Order.Status.PAID, Order.Status.FULFILLED):
        return 0
    taken = order.refunds.filter(status__in=(Refund.Status.SUCCEEDED, *Refund.OPEN)).aggregate(
        total=Sum("amount_minor")
    )["total"]
    return max(order.amount_minor - int(taken or 0), 0)


@dataclass(frozen=True)
class BucketTakeBack:
    """One bucket of the order: what is left in it, what the refund takes back, what stays."""

    bucket: Bucket
    left: Allowance
    taken: Allowance

    @property
    def after(self) -> Allowance:
        return Allowance(
            self.left.data - self.taken.data, self.left.voice - self.taken.voice, self.left.sms - self.taken.sms
        )


@dataclass(frozen=True)
class RefundPreview:
    """What refunding ``amount_minor`` of an order will do, for the confirmation to say."""

    amount_minor: int
    currency: str
    paid_minor: int  # what the customer paid and has not been given back (the share's whole)
    left_minor: int  # what may still be refunded (less refunds under way)
    full: bool  # refunds all that is left: the order becomes refunded, its buckets withdrawn
    buckets: list[BucketTakeBack]

    @property
    def share_percent(self) -> Decimal:
        """The share of what is left that is taken back, in percent, to one decimal."""
        if self.full or not self.paid_minor:
            return Decimal(100)
        return (Decimal(100) * self.amount_minor / self.paid_minor).quantize(Decimal("0.1"))


def _left(bucket: Bucket, now: datetime) -> Allowance:
    if bucket.expires_at <= now:
        return Allowance()
    return Allowance(bucket.data_left, bucket.voice_left, bucket.sms_left)


def order_buckets(*, order: Order) -> list[Bucket]:
    """The buckets the order's items made, in position order, with their plans (one query)."""
    items = OrderItem.objects.filter(order=order, bucket__isnull=False).select_related("bucket__plan", "bucket__line")
    return [item.bucket for item in items.order_by("position") if item.bucket is not None]


def refund_preview(*, order: Order, amount_minor: int, now: datetime | None = None) -> RefundPreview:
    """What refunding ``amount_minor`` of ``order`` takes back, computed as the service will."""
    now = now or timezone.now()
    paid = order.amount_minor - order_refunded(order=order)
    left = order_refund_left(order=order)
    full = amount_minor >= paid
    buckets = []
    for bucket in order_buckets(order=order):
        remaining = _left(bucket, now)
        taken = remaining if full else bucket_share(bucket=bucket, part=amount_minor, whole=paid, now=now)
        buckets.append(BucketTakeBack(bucket=bucket, left=remaining, taken=taken))
    return RefundPreview(
        amount_minor=amount_minor,
        currency=order.currency,
        paid_minor=paid,
        left_minor=left,
        full=full,
        buckets=buckets,
    )
