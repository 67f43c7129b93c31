"""The run-out forecast and the freshness stamp on the home card and the line page (issue 18), in
English and Chinese, with the meter's data attributes the browser journey reads."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from plans.models import Bucket, DailyUsage, Line, UsageRecord, usage_day
from plans.services import bucket_grant
from tests.factories import LineFactory, usage_applied

pytestmark = pytest.mark.django_db

GB = 1024**3
HOUR = timedelta(hours=1)


@pytest.fixture
def line(plans, midday) -> Line:
    """A line on Basic 10 GB for 10 more days, 7 GB used, 1 GB a day for the last week."""
    now = timezone.now()
    line = LineFactory.create(owned=True)
    bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=20))
    Bucket.objects.filter(line=line).update(data_used=7 * GB)
    history(line, GB, days=7)
    usage_at(line, now - timedelta(minutes=5))
    line.refresh_from_db()
    return line


def history(line: Line, amount: int, *, days: int) -> None:
    today = usage_day(timezone.now())
    DailyUsage.objects.bulk_create(
        DailyUsage(line=line, day=today - timedelta(days=n), data=amount) for n in range(1, days + 1)
    )


def usage_at(line: Line, at: datetime) -> None:
    usage_applied(line, at=at, amount=1000)


def meters(html: str) -> list[tuple[str, str]]:
    """Each meter's (data-forecast-runout, data-updated-at)."""
    return re.findall(r'data-forecast-runout="([^"]*)" data-updated-at="([^"]*)"', html)


def pages(client: Client, line: Line) -> list[str]:
    assert line.owner is not None
    client.force_login(line.owner)
    cache.clear()
    home, detail = client.get("/"), client.get(f"/lines/{line.pk}/")
    assert home.status_code == detail.status_code == 200
    return [home.content.decode(), detail.content.decode()]


def test_the_home_card_and_the_line_page_say_when_the_data_runs_out(client, line):
    # 3 GB left at 1 GB a day: today, tomorrow, the day after; the fourth day finds none.
    runs_out = usage_day(timezone.now()) + timedelta(days=3)
    days_early = (usage_day(line.expires_at) - runs_out).days
    for html in pages(client, line):
        assert [runout for runout, _ in meters(html)] == [runs_out.isoformat()]
        assert f"your data runs out around {runs_out:%B} {runs_out.day}, {days_early} days before the plan ends" in html
        assert 'class="forecast forecast-warn"' in html


def test_in_chinese(line):
    chinese = Client(headers={"Accept-Language": "zh-hans"})
    line.owner.language = "zh-hans"
    line.owner.save(update_fields=["language"])
    runs_out = usage_day(timezone.now()) + timedelta(days=3)
    days_early = (usage_day(line.expires_at) - runs_out).days
    for html in pages(chinese, line):
        assert f"按目前用量，流量预计 {runs_out:%m}月{runs_out.day}日 用完，比到期早 {days_early} 天。" in html
        assert "更新于 5" in html
        assert "分钟前" in html


def test_a_line_that_lasts_says_so_and_carries_no_date(client, line):
    Bucket.objects.filter(line=line).update(data_used=0)  # 10 GB for 10 days at 1 GB a day... and a bit
    history(line, 0, days=0)
    DailyUsage.objects.filter(line=line).update(data=GB // 2)
    for html in pages(client, line):
        assert [runout for runout, _ in meters(html)] == [""]
        assert "At this pace, your data lasts until the plan ends." in html


def test_too_little_history_says_nothing(client, line):
    DailyUsage.objects.filter(line=line, day__lt=usage_day(timezone.now()) - timedelta(days=2)).delete()
    for html in pages(client, line):
        assert [runout for runout, _ in meters(html)] == [""]
        assert 'class="forecast' not in html


def test_a_pack_bought_today_moves_the_date(client, line, plans):
    before = meters(pages(client, line)[0])[0][0]
    bucket_grant(line=line, plan=plans["topup-5"])
    after = meters(pages(client, line)[0])
    assert date.fromisoformat(after[0][0]) == date.fromisoformat(before) + timedelta(days=5)


def test_the_freshness_stamp_is_the_newest_usage_record(client, line):
    newest = UsageRecord.objects.filter(line=line).latest("at").at
    for html in pages(client, line):
        stamps = {datetime.fromisoformat(updated) for _, updated in meters(html)}
        assert stamps == {newest}
        assert "Updated 5\xa0minutes ago" in html
        assert "the figures may be behind" not in html


def test_over_six_hours_without_usage_the_page_says_the_figures_may_be_behind(client, line):
    DailyUsage.objects.filter(line=line).exclude(last_at=None).update(last_at=timezone.now() - 7 * HOUR)
    for html in pages(client, line):
        assert "Updated 7\xa0hours ago" in html
        assert "has not reported this line's use for over 6 hours: the figures may be behind." in html
        assert 'class="freshness freshness-warn"' in html


def test_a_line_the_network_never_reported_has_no_stamp(client, line):
    DailyUsage.objects.filter(line=line).delete()
    UsageRecord.objects.filter(line=line).delete()
    for html in pages(client, line):
        assert {updated for _, updated in meters(html)} == {""}
        assert 'class="freshness' not in html
