"""What an order buys: its items, each priced from the catalogue when the order is made and
granted once when it is paid (called by ``billing.services.orders`` under the order's lock)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from billing.models import Order, OrderItem
from plans.models import Bucket, Plan
from plans.pricing import FlexibleChoice, quote
from plans.services import bucket_grant, bucket_withdraw

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemPrice:
    """One unit to buy and what it costs, from the catalogue (never from the browser)."""

    plan: Plan
    amount_minor: int
    currency: str
    choice: FlexibleChoice | None = None
    in_turn: bool = False  # starts when the order's previous item of the same plan ends

    @property
    def fields(self) -> tuple[int, int | None, int | None, int, bool]:
        """What an item row holds of it, to compare an open order with what is asked for."""
        choice = self.choice
        data_gb, minutes = (choice.data_gb, choice.minutes) if choice else (None, None)
        return (self.plan.pk, data_gb, minutes, self.amount_minor, self.in_turn)


def item_priced(*, plan: Plan, currency: str, choice: FlexibleChoice | None = None) -> ItemPrice:
    """``plan`` at the catalogue's price in ``currency``; ValidationError when it is not on sale
    (in that currency), or the flexible amounts are out of bounds."""
    if not plan.is_active:
        raise ValidationError(_("This plan is no longer on sale."), code="not_on_sale")
    money = quote(plan=plan, currency=currency, choice=choice)
    return ItemPrice(plan=plan, amount_minor=money.amount_minor, currency=money.currency, choice=choice)


def items_in_grant_order(items: Sequence[ItemPrice]) -> list[ItemPrice]:
    """Base plans first (they move the expiry; the order's headline is the first item), then the
    packs, each group as given."""
    return sorted(items, key=lambda item: item.plan.is_addon)


def order_items_create(*, order: Order, items: Sequence[ItemPrice]) -> None:
    """The order's item rows, in the order given (inside the transaction that made the order)."""
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            position=position,
            plan=item.plan,
            flex_data_gb=item.choice.data_gb if item.choice else None,
            flex_minutes=item.choice.minutes if item.choice else None,
            amount_minor=item.amount_minor,
            in_turn=item.in_turn,
        )
        for position, item in enumerate(items)
    )


def order_items_match(*, order: Order, items: Sequence[ItemPrice]) -> bool:
    """Whether the order's rows are exactly ``items``, in that order, at those prices."""
    rows = order.items.order_by("position").values_list(
        "plan_id", "flex_data_gb", "flex_minutes", "amount_minor", "in_turn"
    )
    return list(rows) == [item.fields for item in items]


def order_items_grant_locked(*, order: Order, now: datetime) -> list[Bucket] | None:
    """A bucket for every item of the locked order that has none yet, in position order (the
    base plan first), each linked to its item; the buckets of all its items. None, and nothing
    granted, when the items do not add up to what the order charged: staff look at it.

    An item ``in_turn`` starts when the order's previous item of the same plan ends (packs bought
    to last a trip's days, one after another); every other item starts ``now``.

    Exactly once: the caller holds the order's lock and items already granted are skipped; the
    item's one-to-one link to its bucket is the database's guard."""
    items = list(order.items.select_related("plan", "bucket").order_by("position"))
    if not items or sum(item.amount_minor for item in items) != order.amount_minor:
        logger.error("order %s: items do not add up to %s", order.public_id, order.amount_minor)
        return None
    buckets = []
    ends: dict[int, datetime] = {}  # plan -> when the order's last bucket of it ends
    for item in items:
        if item.bucket is None:
            choice = None
            if item.plan.is_flexible:
                choice = FlexibleChoice(item.flex_data_gb or 0, item.flex_minutes or 0)
            start = max(now, ends.get(item.plan_id, now)) if item.in_turn else now
            item.bucket = bucket_grant(line=order.line, plan=item.plan, choice=choice, now=start)
            item.save(update_fields=["bucket"])
        ends[item.plan_id] = item.bucket.expires_at
        buckets.append(item.bucket)
    return buckets


def order_items_withdraw_locked(*, order: Order, now: datetime) -> None:
    """Take back what is left of every bucket the locked order made (a refund), the last granted
    first, so each base plan's days come off the top of the stack."""
    items = order.items.select_related("bucket__plan").filter(bucket__isnull=False).order_by("-position")
    for item in items:
        assert item.bucket is not None
        bucket_withdraw(bucket=item.bucket, now=now)
