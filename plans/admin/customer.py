"""The customer's lines on their page in the admin (accounts.admin.customer_page): each line by
number, with its plan, expiry, what is left in each live bucket (in GB, minutes and SMS) and the
network's last usage record."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.admin import UserAdmin
from accounts.admin.customer_page import CustomerPanel
from accounts.models import User
from boomcard.formats import (
    country_names,
    data_amount,
    date_time,
    minutes,
    phone_number,
    sms_count,
    time_left,
)
from plans.models import Bucket, UsageRecord
from plans.selectors import lines_for_desk


def _bucket_row(bucket: Bucket) -> dict[str, Any]:
    return {
        "plan": bucket.plan.name,
        "where": country_names(bucket.countries) if bucket.countries else "",
        "data": f"{data_amount(bucket.data_left)} / {data_amount(bucket.data_total)}",
        "voice": f"{minutes(bucket.voice_left)} / {minutes(bucket.voice_total)}",
        "sms": f"{sms_count(bucket.sms_left)} / {sms_count(bucket.sms_total)}",
        "expires_at": date_time(bucket.expires_at),
    }


def _usage_text(record: UsageRecord | None) -> str:
    if record is None:
        return ""
    if record.kind == UsageRecord.Kind.DATA:
        amount = data_amount(record.amount)
    elif record.kind == UsageRecord.Kind.VOICE:
        amount = minutes(record.amount)
    else:
        amount = sms_count(record.amount)
    return f"{date_time(record.at)} · {record.get_kind_display()} {amount} · {record.country}"


def lines_panel(request: HttpRequest, customer: User) -> dict[str, Any]:
    """Two queries."""
    now = timezone.now()
    rows = []
    for shown in lines_for_desk(user=customer, now=now):
        line = shown.line
        expires = ""
        if line.expires_at is not None:
            left = line.expires_at - now
            expires = date_time(line.expires_at) + (f" ({time_left(left)})" if left.total_seconds() > 0 else "")
        rows.append(
            {
                "number": phone_number(line.msisdn),
                "link": reverse("admin:plans_line_change", args=[line.pk]),
                "nickname": line.nickname,
                "status": line.get_status_display(),
                "plan": line.plan.name if line.plan else "",
                "expires": expires,
                "expired": line.is_expired(now),
                "auto_renew": line.auto_renew,
                "buckets": [_bucket_row(bucket) for bucket in shown.buckets],
                "last_usage": _usage_text(shown.last_usage),
            }
        )
    return {"lines": rows}


UserAdmin.panel_add(CustomerPanel("lines", 10, gettext_lazy("Lines"), "admin/plans/customer_lines.html", lines_panel))
