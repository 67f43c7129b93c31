"""The admin front page's billing panels: today's payments by method and currency, and today's
failed payments by their reason, each row a link to the orders it counts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.admin_site import carrier_day, changelist_url, dashboard_panel
from billing import gateway
from billing.models import Order
from boomcard.formats import money

METHOD_NAMES = {gateway.CARD: _("Card"), gateway.ALIPAY: _("Alipay"), gateway.WECHAT_PAY: _("WeChat Pay")}
# The reasons listed one by one; any others are counted in the total, linked to all of today's.
FAILURE_REASONS_SHOWN = 8


@dataclass(frozen=True)
class PaymentTotal:
    """Orders paid today by one method in one currency."""

    method: str
    currency: str
    count: int
    amount_minor: int


@dataclass(frozen=True)
class FailureCount:
    reason: str
    count: int


def payment_totals(*, start: datetime, end: datetime) -> list[PaymentTotal]:
    """Orders paid in [start, end), whatever became of them since (a refund later does not undo
    the payment), counted and summed per method and currency. One query."""
    rows = (
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("payment_method_type", "currency")
        .annotate(count=Count("id"), amount=Sum("amount_minor"))
        .order_by("payment_method_type", "currency")
    )
    return [
        PaymentTotal(
            method=row["payment_method_type"], currency=row["currency"], count=row["count"], amount_minor=row["amount"]
        )
        for row in rows
    ]


def failure_counts(*, start: datetime, end: datetime) -> tuple[int, list[FailureCount]]:
    """Orders whose payment failed and that last changed in [start, end) (still failed: one the
    customer then paid is paid), in all and for the commonest reasons. Two queries."""
    failed = Order.objects.filter(status=Order.Status.FAILED, updated_at__gte=start, updated_at__lt=end)
    reasons = failed.values("failure_reason").annotate(count=Count("id")).order_by("-count", "failure_reason")
    shown = [FailureCount(reason=row["failure_reason"], count=row["count"]) for row in reasons[:FAILURE_REASONS_SHOWN]]
    return failed.count(), shown


@dashboard_panel(template="admin/dashboard/payments.html", permission="billing.view_order", position=10)
def payments_panel(request: HttpRequest) -> dict[str, Any]:
    start, end = carrier_day()
    totals = payment_totals(start=start, end=end)
    paid_today = {"paid_at__gte": start, "paid_at__lt": end}
    rows = [
        {
            "method": METHOD_NAMES.get(total.method, total.method) if total.method else _("Not recorded"),
            "currency": total.currency,
            "count": total.count,
            "amount": money(total.amount_minor, total.currency),
            "link": changelist_url(
                Order, payment_method_type=total.method, currency__exact=total.currency, **paid_today
            ),
        }
        for total in totals
    ]
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, int] = defaultdict(int)
    for total in totals:
        counts[total.currency] += total.count
        amounts[total.currency] += total.amount_minor
    currency_rows = [
        {
            "currency": currency,
            "count": counts[currency],
            "amount": money(amounts[currency], currency),
            "link": changelist_url(Order, currency__exact=currency, **paid_today),
        }
        for currency in sorted(counts)
    ]
    return {
        "rows": rows,
        "currency_rows": currency_rows,
        "all_link": changelist_url(Order, **paid_today),
        "export_link": reverse("admin:billing_order_export"),
    }


@dashboard_panel(template="admin/dashboard/failures.html", permission="billing.view_order", position=20)
def failures_panel(request: HttpRequest) -> dict[str, Any]:
    start, end = carrier_day()
    total, reasons = failure_counts(start=start, end=end)
    failed_today = {"status__exact": Order.Status.FAILED, "updated_at__gte": start, "updated_at__lt": end}
    return {
        "total": total,
        "rows": [
            {
                "reason": failure.reason,
                "count": failure.count,
                "link": changelist_url(Order, failure_reason=failure.reason, **failed_today),
            }
            for failure in reasons
        ],
        "all_link": changelist_url(Order, **failed_today),
    }
