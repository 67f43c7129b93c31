"""The predictive alert: a notice and email when a line's data, at its own pace, runs out
``ALERT_DAYS_EARLY`` days or more before its plan ends; once per line and expiry.

A sweep, once a day in the morning (``plans.tasks.runout_alerts_send_task``), over the lines used
the day before: read in pages of ``BATCH`` through the daily totals' (day, line) index, so that
its cost follows the lines in use, not every line there is. A page costs a fixed number of
queries (the lines, 4 weeks of their daily totals, their live buckets, the alerts already sent),
plus one write per alert. The alert's key (``accounts.notice_keys.data_runout_key``) makes it
once per expiry, however often the sweep runs and even when two run at once; a renewal moves the
expiry, and with it the next alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.notice_keys import data_runout_key
from accounts.outbox import notice_create
from boomcard.page_cache import customers_changed
from plans.forecast import ALERT_DAYS_EARLY
from plans.models import DailyUsage, Line, usage_day
from plans.selectors import LineSummary, summaries_of

BATCH = 1000


def runout_alerts_send(*, now: datetime | None = None) -> int:
    """Alert the owners of the lines used yesterday whose data runs out early at this pace.
    Returns how many alerts went out."""
    now = now or timezone.now()
    yesterday = usage_day(now) - timedelta(days=1)
    used = DailyUsage.objects.filter(day=yesterday).order_by("line_id").values_list("line_id", flat=True)
    sent, after = 0, 0
    while True:
        line_ids = list(used.filter(line_id__gt=after)[:BATCH])
        if not line_ids:
            return sent
        after = line_ids[-1]
        sent += _alert(line_ids, now)
        if len(line_ids) < BATCH:
            return sent


def _alert(line_ids: list[int], now: datetime) -> int:
    lines = list(
        Line.objects.filter(pk__in=line_ids, owner__isnull=False, expires_at__gt=now + timedelta(days=ALERT_DAYS_EARLY))
        .select_related("owner")
        .only("pk", "msisdn", "expires_at", "owner__id", "owner__email")
    )
    due = {
        data_runout_key(line_id=summary.line.pk, expires_at=_iso(summary.line)): summary
        for summary in summaries_of(lines, now=now)
        if summary.data_forecast.worth_an_alert
    }
    sent_before = set(Notice.objects.filter(key__in=list(due)).values_list("key", flat=True))
    sent = 0
    for key, summary in due.items():
        if key not in sent_before and _notify(key, summary):
            sent += 1
    return sent


def _notify(key: str, summary: LineSummary) -> bool:
    line, forecast = summary.line, summary.data_forecast
    # The query read only owned lines, and an alert is only for a forecast with a date.
    assert line.owner is not None
    assert forecast.runs_out_on is not None
    with transaction.atomic():
        notice = notice_create(
            user=line.owner,
            kind=Notice.Kind.DATA_RUNOUT,
            key=key,
            line=line,
            # The renewal page offers the line's top-up packs.
            link=reverse("billing:renew", args=[line.pk]),
            params={
                "msisdn": str(line.msisdn),
                "runs_out_on": forecast.runs_out_on.isoformat(),
                "expires_at": _iso(line),
                "days_early": forecast.days_early,
            },
        )
        if notice is not None:
            customers_changed([line.owner_id])
    return notice is not None


def _iso(line: Line) -> str:
    return line.expires_at.isoformat() if line.expires_at else ""
