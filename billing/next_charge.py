"""The next automatic charge of a line: when it is due (the one timing rule, which the sweeps
follow), and what the auto-renew page and the line page show of it.

The notice goes out 24 hours before the charge, and the charge is made 48 hours before expiry
but never sooner than 24 hours after the notice. A notice sent late (auto-renew turned on less
than 72 hours before expiry) moves the charge later, but never past an hour before expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from billing.models import AutoRenewal, Order, PaymentProfile
from plans.line_hooks import NextCharge
from plans.models import Line, Plan, Price
from plans.selectors import catalogue, offered_price

AUTO_RENEW_WINDOW = timedelta(hours=48)  # the charge, at the latest this long before expiry
NOTICE_AHEAD = timedelta(hours=24)
NOTICE_WINDOW = AUTO_RENEW_WINDOW + NOTICE_AHEAD  # the notice sweep looks 72 hours ahead
LAST_CHANCE = timedelta(hours=1)
# The failure code of a charge refused by the customer's monthly limit (billing.payment_errors).
SPENDING_CAP_CODE = "spending_cap"


def charge_due_at(*, expires_at: datetime, notified_at: datetime) -> datetime:
    """When the renewal of ``expires_at`` is charged, its notice sent at ``notified_at``."""
    return min(max(expires_at - AUTO_RENEW_WINDOW, notified_at + NOTICE_AHEAD), expires_at - LAST_CHANCE)


def charge_expected_at(*, expires_at: datetime, notified_at: datetime | None, now: datetime) -> datetime:
    """As ``charge_due_at``; before the notice, counting on it going out when due (or now)."""
    return charge_due_at(expires_at=expires_at, notified_at=notified_at or max(now, expires_at - NOTICE_WINDOW))


def next_charge_of_line(line: Line, now: datetime | None = None) -> NextCharge | None:
    """The charge coming for the line's current expiry (the line loaded with its plan), or None
    when none will be made (auto-renew off, no saved card, no price in the customer's currency,
    a flexible plan, an order for it cancelled). One query, and none with auto-renew off."""
    if not (line.auto_renew and line.owner_id and line.plan_id and line.expires_at):
        return None
    now = now or timezone.now()
    renewal = AutoRenewal.objects.filter(line_id=line.pk, expires_at=line.expires_at)
    order = Order.objects.filter(line_id=line.pk, off_session=True, renews_expiry=line.expires_at)
    # The customer's currency as billing.selectors.customer_currency has it: the last order's.
    last_currency = (
        Order.objects.filter(user=OuterRef("user"))
        .exclude(status=Order.Status.CANCELLED)
        .order_by("-created_at")
        .values("currency")[:1]
    )
    chosen_plan = Plan.objects.filter(pk=OuterRef("chosen_plan"))
    row = (
        PaymentProfile.objects.filter(user_id=line.owner_id, card_payment_method_id__gt="")
        .annotate(
            pay_currency=Coalesce(Subquery(last_currency), Value(settings.DEFAULT_CURRENCY)),
            chosen_plan=Coalesce(
                Subquery(renewal.values("plan_id")[:1]), Value(line.plan_id), output_field=models.BigIntegerField()
            ),
            notified_at=Subquery(renewal.values("notified_at")[:1]),
            skipped_at=Subquery(renewal.values("skipped_at")[:1]),
            order_status=Subquery(order.values("status")[:1]),
            order_code=Subquery(order.values("failure_code")[:1]),
            order_public_id=Subquery(order.values("public_id")[:1]),
            order_amount=Subquery(order.values("amount_minor")[:1]),
            order_currency=Subquery(order.values("currency")[:1]),
        )
        .annotate(
            plan_code=Subquery(chosen_plan.values("code")[:1]),
            plan_name_en=Subquery(chosen_plan.values("name_en")[:1]),
            plan_name_zh=Subquery(chosen_plan.values("name_zh")[:1]),
            plan_kind=Subquery(chosen_plan.values("kind")[:1]),
            price=Subquery(
                Price.objects.filter(plan_id=OuterRef("chosen_plan"), currency=OuterRef("pay_currency")).values(
                    "amount_minor"
                )[:1]
            ),
        )
        .values(
            "card_brand",
            "card_last4",
            "pay_currency",
            "notified_at",
            "skipped_at",
            "order_status",
            "order_code",
            "order_public_id",
            "order_amount",
            "order_currency",
            "plan_code",
            "plan_name_en",
            "plan_name_zh",
            "plan_kind",
            "price",
        )
        .first()
    )
    if row is None:
        return None
    status = row["order_status"]
    if status is None and (row["price"] is None or row["plan_kind"] == Plan.Kind.FLEXIBLE):
        return None
    if status == Order.Status.CANCELLED:
        return None
    state, pay_link = NextCharge.State.DUE, ""
    if status == Order.Status.FAILED and row["order_code"] == SPENDING_CAP_CODE:
        state = NextCharge.State.CAPPED
    elif status in (Order.Status.FAILED, Order.Status.REQUIRES_ACTION):
        state = NextCharge.State.FAILED
    elif status is not None:
        state = NextCharge.State.CHARGING
    elif row["skipped_at"] is not None:
        state = NextCharge.State.SKIPPED
    if state in (NextCharge.State.CAPPED, NextCharge.State.FAILED):
        pay_link = reverse("billing:pay", args=[row["order_public_id"]])
    return NextCharge(
        state=state,
        at=charge_expected_at(expires_at=line.expires_at, notified_at=row["notified_at"], now=now),
        plan_code=row["plan_code"] or "",
        plan_name_en=row["plan_name_en"] or "",
        plan_name_zh=row["plan_name_zh"] or "",
        amount_minor=row["order_amount"] if status is not None else row["price"],
        currency=row["order_currency"] if status is not None else row["pay_currency"],
        card_brand=row["card_brand"],
        card_last4=row["card_last4"],
        notified=row["notified_at"] is not None,
        pay_link=pay_link,
    )


def plans_for_next_renewal(*, currency: str) -> list[tuple[Plan, Price]]:
    """The base plans on sale with a price in ``currency`` that auto-renew can charge (not the
    flexible plan, whose amounts the customer picks each time), in catalogue order: 1 query."""
    offers = []
    for plan in catalogue(currency=currency):
        price = offered_price(plan)
        if price is not None and not plan.is_addon and not plan.is_flexible:
            offers.append((plan, price))
    return offers
