"""The reads behind the renewal, payment and order pages."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from billing.models import Order, OrderItem, PaymentProfile
from billing.order_rows import items_of, open_order_and_card_read, order_of
from boomcard.rows import read_together
from plans.models import Line, Plan, Price
from plans.pricing import Money
from plans.selectors import catalogue, offered_price
from plans.summary_sql import lines_read, lines_with_freshness


def customer_line(*, user: User, line_id: int) -> Line:
    """One of the customer's lines with its plan (another's: 404). One query."""
    found = lines_with_freshness(owner_id=user.pk, line_id=line_id)
    if not found:
        raise Http404("no such line")
    return found[0]


def customer_order(*, user: User, public_id: str) -> Order:
    """The customer's own order with its line and plan (another's: 404). One query."""
    order = order_of(user_id=user.pk, public_id=public_id)
    if order is None:
        raise Http404("no such order")
    return order


def order_items(*, order: Order) -> list[OrderItem]:
    """What the order buys, in position order, with each item's plan and bucket (one query)."""
    return items_of(order)


@dataclass(frozen=True)
class ItemGroup:
    """Items of one plan (and flexible amounts) next to each other in an order, shown as one row:
    how many, what they cost together, and until when the last of their buckets runs."""

    plan: Plan
    flex_data_gb: int | None
    flex_minutes: int | None
    quantity: int
    amount_minor: int
    expires_at: datetime | None
    countries: list[str]
    in_turn: bool = False  # the copies run one after another


def item_groups(items: list[OrderItem]) -> list[ItemGroup]:
    """``items`` (in position order) with neighbours of the same plan and amounts merged."""
    groups: list[ItemGroup] = []
    for item in items:
        expires_at = item.bucket.expires_at if item.bucket else None
        last = groups[-1] if groups else None
        if last and (last.plan.pk, last.flex_data_gb, last.flex_minutes, last.in_turn) == (
            item.plan_id,
            item.flex_data_gb,
            item.flex_minutes,
            item.in_turn,
        ):
            groups[-1] = replace(
                last,
                quantity=last.quantity + 1,
                amount_minor=last.amount_minor + item.amount_minor,
                expires_at=max((when for when in (last.expires_at, expires_at) if when), default=None),
            )
        else:
            countries = list(item.bucket.countries if item.bucket else item.plan.countries)
            flex = (item.flex_data_gb, item.flex_minutes)
            groups.append(ItemGroup(item.plan, *flex, 1, item.amount_minor, expires_at, countries, item.in_turn))
    return groups


def customer_currency(*, user: User | None) -> str:
    """The currency the customer last paid in (what auto-renew and one-tap renewals charge)."""
    last = Order.objects.filter(user=user).exclude(status=Order.Status.CANCELLED).order_by("-created_at").first()
    return last.currency if last else settings.DEFAULT_CURRENCY


def customer_orders(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(user=user).select_related("line", "plan").order_by("-created_at", "-id")


@dataclass(frozen=True)
class Offer:
    plan: Plan
    price: Price
    new_expiry: datetime | None  # None for an add-on pack, which leaves the expiry alone

    @property
    def money(self) -> Money:
        return Money(self.price.amount_minor, self.price.currency)


@dataclass(frozen=True)
class RenewalOptions:
    line: Line
    currency: str
    current: Offer | None
    base_plans: list[Offer]
    addons: list[Offer]
    flexible: Offer | None
    open_order: Order | None
    saved_card: PaymentProfile | None


def renewal_options(*, user: User, line_id: int, currency: str, now: datetime | None = None) -> RenewalOptions:
    """What the renewal page offers for one of the customer's lines, in a fixed number of queries:
    the current plan first, the other base plans, add-on packs, the flexible plan."""
    now = now or timezone.now()
    # The line and its open order with the saved card, in one round trip (boomcard.rows).
    found, (open_order, saved_card) = read_together(
        lines_read(owner_id=user.pk, line_id=line_id), open_order_and_card_read(user_id=user.pk, line_id=line_id)
    )
    if not found:
        raise Http404("no such line")
    line = found[0]
    start = max(now, line.expires_at or now)
    current, base_plans, addons, flexible = None, [], [], None
    for plan in catalogue(currency=currency):
        price = offered_price(plan)
        if price is None:
            continue
        offer = Offer(
            plan=plan, price=price, new_expiry=None if plan.is_addon else start + timedelta(days=plan.validity_days)
        )
        if plan.is_flexible:
            flexible = offer
        elif plan.is_addon:
            addons.append(offer)
        elif plan.pk == line.plan_id:
            current = offer
        else:
            base_plans.append(offer)
    return RenewalOptions(
        line=line,
        currency=currency,
        current=current,
        base_plans=base_plans,
        addons=addons,
        flexible=flexible,
        open_order=open_order,
        saved_card=saved_card,
    )


@dataclass(frozen=True)
class Receipt:
    """What a receipt shows beyond the order: its items, the seller, the period the order's
    buckets cover, and the tax the price includes (in minor units, rounded half up)."""

    order: Order
    items: list[ItemGroup]
    seller_name: str
    seller_address: str
    seller_tax_id: str
    period_start: datetime | None
    period_end: datetime | None
    tax_rate: Decimal | None  # percent; None: no tax line for this currency
    tax_minor: int
    net_minor: int


RECEIPT_STATUSES = (Order.Status.FULFILLED, Order.Status.PAID, Order.Status.REFUNDED)


def tax_included(*, amount_minor: int, rate: Decimal) -> int:
    """The tax inside a tax-inclusive price: ``amount × rate / (100 + rate)``, in minor units."""
    return int((Decimal(amount_minor) * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def customer_receipt(*, user: User, public_id: str) -> Receipt:
    """The customer's own order with what its receipt needs, in two queries (another's: 404)."""
    order = customer_order(user=user, public_id=public_id)
    items = order_items(order=order)
    buckets = [item.bucket for item in items if item.bucket is not None]
    rate = settings.RECEIPT_TAX_RATES.get(order.currency)
    tax = tax_included(amount_minor=order.amount_minor, rate=rate) if rate else 0
    return Receipt(
        order=order,
        items=item_groups(items),
        seller_name=settings.RECEIPT_SELLER_NAME,
        seller_address=settings.RECEIPT_SELLER_ADDRESS,
        seller_tax_id=settings.RECEIPT_SELLER_TAX_ID,
        period_start=min((bucket.starts_at for bucket in buckets), default=None),
        period_end=max((bucket.expires_at for bucket in buckets), default=None),
        tax_rate=rate,
        tax_minor=tax,
        net_minor=order.amount_minor - tax,
    )


def orders_for_desk(*, user: User, limit: int = 20) -> tuple[list[Order], int]:
    """The customer's latest orders with their line and plan, and what was refunded of each
    (``refunded_minor``), and how many orders they have in all: 2 queries."""
    orders: list[Order] = list(
        customer_orders(user=user).annotate(
            refunded_minor=Sum("refunds__amount_minor", filter=Q(refunds__status="succeeded"), default=0)
        )[:limit]
    )
    total = Order.objects.filter(user=user).aggregate(count=Count("pk"))["count"]
    return orders, int(total)
