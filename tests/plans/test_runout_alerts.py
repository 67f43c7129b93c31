"""The predictive alert (plans.runout): a notice and email when the data, at the line's pace, runs
out 3 or more days before the plan ends; once per line and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone, translation

from accounts.models import EmailDelivery, Notice
from accounts.notice_text import notice_text
from accounts.outbox import email_send
from plans import runout
from plans.models import Bucket, DailyUsage, Line, usage_day
from plans.services import bucket_grant
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db

GB = 1024**3
DAY = timedelta(days=1)


def running_low(plans, *, per_day: int = GB, used: int = 7 * GB, age_days: int = 20) -> Line:
    """A line on Basic 10 GB, ``age_days`` into its 30, ``used`` spent, ``per_day`` the last week."""
    now = timezone.now()
    line = LineFactory.create(owned=True)
    bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=age_days))
    Bucket.objects.filter(line=line).update(data_used=used)
    today = usage_day(now)
    DailyUsage.objects.bulk_create(
        DailyUsage(line=line, day=today - timedelta(days=n), data=per_day) for n in range(1, 8)
    )
    line.refresh_from_db()
    return line


def alerts(line: Line) -> list[Notice]:
    return list(Notice.objects.filter(line_ref=line.pk, kind=Notice.Kind.DATA_RUNOUT).order_by("pk"))


def test_a_line_running_out_early_is_alerted_once_per_expiry(plans, mailoutbox):
    line = running_low(plans)
    assert runout.runout_alerts_send() == 1
    assert runout.runout_alerts_send() == 0  # the sweep again: nothing more
    [notice] = alerts(line)
    runs_out = usage_day(timezone.now()) + 3 * DAY
    assert line.expires_at is not None
    assert notice.params["runs_out_on"] == runs_out.isoformat()
    assert notice.params["days_early"] == (usage_day(line.expires_at) - runs_out).days
    assert notice.link == f"/lines/{line.pk}/renew/"
    assert notice.user_id == line.owner_id
    delivery = EmailDelivery.objects.get(notice=notice)
    assert email_send(delivery_id=delivery.pk) == "sent"
    assert mailoutbox[0].subject == "Boom: Your data may run out early"
    assert f"runs out around {runs_out:%B} {runs_out.day}" in mailoutbox[0].body


def test_a_renewal_moves_the_expiry_and_the_next_alert_with_it(plans):
    line = running_low(plans)
    assert runout.runout_alerts_send() == 1
    bucket_grant(line=line, plan=plans["basic-10"])  # renewed: a new expiry, 10 GB more
    # The old allowance spent, and 8 GB of the new one already: 2 GB left for 40 days.
    Bucket.objects.filter(line=line).update(data_used=10 * GB)
    Bucket.objects.filter(pk=Bucket.objects.filter(line=line).latest("expires_at").pk).update(data_used=8 * GB)
    assert runout.runout_alerts_send() == 1
    assert len({notice.params["expires_at"] for notice in alerts(line)}) == 2


def test_no_alert_for_a_line_that_lasts_has_little_history_or_ends_soon(plans):
    lasts = running_low(plans, per_day=GB // 10)
    new = running_low(plans)
    DailyUsage.objects.filter(line=new, day__lt=usage_day(timezone.now()) - 2 * DAY).delete()
    ends_soon = running_low(plans, age_days=28, used=9 * GB)  # 2 days left: renewal reminders say it
    assert runout.runout_alerts_send() == 0
    assert alerts(lasts) == alerts(new) == alerts(ends_soon) == []


def test_only_lines_used_yesterday_are_read(plans):
    line = running_low(plans)
    DailyUsage.objects.filter(line=line, day=usage_day(timezone.now()) - DAY).delete()
    assert runout.runout_alerts_send() == 0
    # The next morning, after a day of use, it goes out.
    with time_machine.travel(timezone.now() + DAY, tick=False):
        DailyUsage.objects.create(line=line, day=usage_day(timezone.now()) - DAY, data=GB)
        assert runout.runout_alerts_send() == 1


def test_the_sweep_reads_in_pages_of_a_fixed_number_of_queries(plans, django_assert_max_num_queries, monkeypatch):
    for _ in range(5):
        running_low(plans, per_day=GB // 10)  # lasts: read, not alerted
    monkeypatch.setattr(runout, "BATCH", 2)
    # 3 pages of (the page of line ids, the lines, their buckets, their totals, alerts sent) and
    # one empty page: never a query per line.
    with django_assert_max_num_queries(3 * 5 + 1):
        assert runout.runout_alerts_send() == 0


def test_the_notice_reads_in_both_languages(plans):
    line = running_low(plans)
    runout.runout_alerts_send()
    [notice] = alerts(line)
    english = notice_text(notice)
    assert english.title == "Your data may run out early"
    assert "Add a top-up pack to keep going." in english.body
    with translation.override("zh-hans"):
        chinese = notice_text(notice)
    assert chinese.title == "流量可能提前用完"
    assert "加购流量包即可继续使用" in chinese.body
    assert chinese.action == "查看流量包"
