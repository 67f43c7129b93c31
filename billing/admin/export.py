"""Orders as CSV for a range of days, for staff who may see orders (``billing.view_order``).

A small streaming view rather than django-import-export: its export builds the whole file in
memory (a tablib Dataset) before sending a byte, and a year of orders is 100,000 rows. Here the
rows are read from the database in chunks (``iterator``) and written to the response as they
come, so memory stays flat whatever the range. Each export is recorded in the audit trail: it
carries customers' numbers.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.admin_site import admin_page, carrier_day
from accounts.models import User
from billing.models import Order, Refund
from boomcard.audit import audit_action
from boomcard.formats import EXPONENT

# At most a year (a leap year's 366 days) at once.
MAX_DAYS = 366
CHUNK_SIZE = 2000
FIELDS = (
    "public_id",
    "created_at",
    "paid_at",
    "user__phone",
    "line__msisdn",
    "plan__code",
    "kind",
    "status",
    "payment_method_type",
    "amount_minor",
    "currency",
    "refunded_minor",
    "failure_reason",
)
# A spreadsheet runs a cell that starts like a formula; a number with its sign is left alone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class OrderExportForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("First day"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("Last day"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is not None and end is not None:
            if end < start:
                self.add_error("end", _("The last day must be on or after the first day."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "end", _("Export at most %(days)d days (a year) at once; narrow the range.") % {"days": MAX_DAYS}
                )
        return cleaned


def major_units(amount_minor: int, currency: str) -> str:
    """``3800`` CNY → ``38.00``: a plain number a spreadsheet can add up."""
    return str(Decimal(int(amount_minor)).scaleb(-EXPONENT.get(currency, 2)))


def cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "as_e164"):
        return str(value.as_e164)
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def order_rows(*, first: date, last: date) -> Iterator[list[str]]:
    """One row per order made from ``first`` to ``last`` (days in the carrier's time zone, both
    included), oldest first, with what was refunded of it. One query, read in chunks."""
    zone = ZoneInfo(settings.USAGE_DAY_TIME_ZONE)
    refunded = (
        Refund.objects.filter(order=OuterRef("pk"), status=Refund.Status.SUCCEEDED)
        .values("order")
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    orders = (
        Order.objects.filter(
            created_at__gte=datetime.combine(first, time.min, tzinfo=zone),
            created_at__lt=datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
        )
        .annotate(refunded_minor=Coalesce(Subquery(refunded), 0))
        .order_by("created_at", "id")
        .values_list(*FIELDS)
    )
    for row in orders.iterator(chunk_size=CHUNK_SIZE):
        values = dict(zip(FIELDS, row, strict=True))
        values["amount_minor"] = major_units(values["amount_minor"], values["currency"])
        values["refunded_minor"] = major_units(values["refunded_minor"], values["currency"])
        yield [cell(values[name], zone) for name in FIELDS]


def header() -> list[str]:
    zone = settings.USAGE_DAY_TIME_ZONE
    return [
        _("order"),
        _("created (%(zone)s)") % {"zone": zone},
        _("paid (%(zone)s)") % {"zone": zone},
        _("customer's number"),
        _("line number"),
        _("plan"),
        _("kind"),
        _("status"),
        _("paid by"),
        _("amount"),
        _("currency"),
        _("refunded amount"),
        _("why the payment failed"),
    ]


class _Echo:
    """A file that hands back what is written to it, for csv.writer to format one row at a time."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]], *, head: list[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A byte-order mark first: without it Excel reads UTF-8 as the local code page, and Chinese
    # turns to nonsense.
    yield "\ufeff" + writer.writerow(head)
    for row in rows:
        yield writer.writerow(row)


@admin_page("billing/order/export/", name="billing_order_export")
def order_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The export's page: a range of days, then the file."""
    if not request.user.has_perm("billing.view_order"):
        raise PermissionDenied
    today = carrier_day()[0].date()
    form = OrderExportForm(
        request.GET if "start" in request.GET or "end" in request.GET else None,
        initial={"start": today.replace(day=1), "end": today},
    )
    if form.is_bound and form.is_valid():
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
        staff = request.user
        assert isinstance(staff, User)  # the admin lets in only staff who logged in
        audit_action(
            actor=staff,
            obj=staff,
            action="orders_export",
            changes={"orders exported": ("", f"{first.isoformat()} – {last.isoformat()}")},
            request=request,
            start=first.isoformat(),
            end=last.isoformat(),
        )
        # The header is written now, in the staff member's language; the rows as they stream.
        lines = csv_lines(order_rows(first=first, last=last), head=header())
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="orders-{first.isoformat()}-{last.isoformat()}.csv"'
        return response
    context = {
        **admin.site.each_context(request),
        "title": _("Export orders"),
        "opts": Order._meta,
        "form": form,
        "max_days": MAX_DAYS,
        "time_zone": settings.USAGE_DAY_TIME_ZONE,
    }
    return TemplateResponse(request, "admin/billing/order/export.html", context)
