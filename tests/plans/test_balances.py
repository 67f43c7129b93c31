"""The home page and the line page: what is left, until when, in a fixed number of queries."""

import re
import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from plans.models import GB, MB, Bucket, DailyUsage, Line, Plan, UsageRecord, usage_day
from plans.services import bucket_grant
from tests.factories import LineFactory, UserFactory

pytestmark = pytest.mark.django_db


def local(customer: User, moment: datetime) -> datetime:
    """``moment`` on the customer's clock, as their pages show it."""
    return timezone.localtime(moment, zoneinfo.ZoneInfo(customer.time_zone))


def test_renewing_moves_the_expiry_from_the_later_of_now_and_the_current_expiry(plans):
    line = LineFactory.create(owner=UserFactory.create())
    now = timezone.now()
    first = bucket_grant(line=line, plan=plans["basic-10"], now=now)
    assert first.expires_at == now + timedelta(days=30)
    second = bucket_grant(line=line, plan=plans["basic-30"], now=now + timedelta(days=10))
    assert second.starts_at == now + timedelta(days=10)
    assert second.expires_at == now + timedelta(days=60)
    line.refresh_from_db()
    assert line.expires_at == now + timedelta(days=60)
    assert line.plan == plans["basic-30"]
    # After expiry, a renewal counts from now.
    later = now + timedelta(days=100)
    third = bucket_grant(line=line, plan=plans["basic-10"], now=later)
    assert third.expires_at == later + timedelta(days=30)


def test_add_on_pack_adds_allowance_without_moving_the_expiry(plans):
    line = LineFactory.create(owner=UserFactory.create())
    now = timezone.now()
    bucket_grant(line=line, plan=plans["basic-10"], now=now)
    pack = bucket_grant(line=line, plan=plans["roam-jpkr-7"], now=now)
    line.refresh_from_db()
    assert line.expires_at == now + timedelta(days=30)
    assert line.plan == plans["basic-10"]
    assert pack.expires_at == now + timedelta(days=7)
    assert pack.countries == ["JP", "KR"]


def test_home_shows_what_is_left_on_each_live_bucket(client, plans):
    customer = UserFactory.create()
    line = LineFactory.create(owner=customer, nickname="Work phone")
    now = timezone.now()
    base = bucket_grant(line=line, plan=plans["basic-30"], now=now - timedelta(days=10))
    Bucket.objects.filter(pk=base.pk).update(data_used=20 * GB)
    topup = bucket_grant(line=line, plan=plans["topup-5"], now=now - timedelta(days=1))
    Bucket.objects.filter(pk=topup.pk).update(data_used=1 * GB)
    # An expired bucket no longer counts.
    old = bucket_grant(line=line, plan=plans["topup-5"], now=now - timedelta(days=40))
    assert old.expires_at < now
    client.force_login(customer)
    page = client.get("/").content.decode()
    assert "Work phone" in page
    # Each allowance with the day it ends: the plan with the line, the top-up 9 days later.
    assert "10 GB left of 30 GB" in page
    assert "4 GB left of 5 GB" in page
    assert f"Ends on {local(customer, topup.expires_at):%Y-%m-%d}" in page
    assert "20 days left" in page  # 19 days and some hours: part of a day counts as a day
    assert f'href="/lines/{line.pk}/"' in page


def test_right_after_buying_30_days_the_home_card_and_line_page_say_30_days_left(client, plans):
    customer = UserFactory.create(language="zh-hans")
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"])
    client.force_login(customer)
    for url in ("/", reverse("plans:line", args=[line.pk])):
        page = client.get(url).content.decode()
        assert "剩余 30 天" in page, url
        assert "剩余 29 天" not in page, url
    # Under a day: hours, part of an hour counting as one.
    Line.objects.filter(pk=line.pk).update(expires_at=timezone.now() + timedelta(hours=5, minutes=30))
    cache.clear()
    assert "剩余 6 小时" in client.get(reverse("plans:line", args=[line.pk])).content.decode()


def test_a_line_without_a_plan_offers_to_choose_one_and_shows_what_its_pack_has_left(client, plans):
    customer = UserFactory.create(language="zh-hans")
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["roam-hkmo-7"])
    client.force_login(customer)
    for url in ("/", reverse("plans:line", args=[line.pk])):
        page = client.get(url).content.decode()
        assert "该号码已无可用余量" not in page, url
        assert re.search(rf'href="/lines/{line.pk}/renew/"[^>]*>选择套餐</a>', page), url
        assert "此号码还没有套餐" in page, url
        assert "3 GB" in page, url


def test_an_old_allowance_and_a_renewal_are_shown_each_with_the_day_it_ends(client, plans):
    customer = UserFactory.create()
    line = LineFactory.create(owner=customer)
    now = timezone.now()
    old = bucket_grant(line=line, plan=plans["basic-30"], now=now - timedelta(days=2))
    Bucket.objects.filter(pk=old.pk).update(data_used=18 * GB)
    new = bucket_grant(line=line, plan=plans["basic-30"], now=now - timedelta(days=1))
    pack = bucket_grant(line=line, plan=plans["roam-jpkr-7"], now=now - timedelta(days=1))
    client.force_login(customer)

    page = client.get("/").content.decode()

    assert "42 GB left of 60 GB" not in page
    ends = [f"Ends on {local(customer, bucket.expires_at):%Y-%m-%d}" for bucket in (old, new)]
    assert page.index(ends[0]) < page.index("12 GB left of 30 GB") < page.index(ends[1])
    assert page.index(ends[1]) < page.index("30 GB left of 30 GB")
    assert f"Japan &amp; Korea 5 GB, 7 days: 5 GB left, until {local(customer, pack.expires_at):%Y-%m-%d %H:%M}" in page
    # The line page lists each bucket with its own dates.
    detail = client.get(reverse("plans:line", args=[line.pk])).content.decode()
    for bucket in (old, new, pack):
        assert f"to {local(customer, bucket.expires_at):%Y-%m-%d %H:%M}" in detail


def test_one_allowance_ending_with_the_line_shows_no_extra_date(client, plans):
    customer = UserFactory.create()
    line = LineFactory.create(owner=customer)
    bucket_grant(line=line, plan=plans["basic-10"])
    client.force_login(customer)
    page = client.get("/").content.decode()
    assert "10 GB left of 10 GB" in page
    assert "Ends on" not in page


def test_low_data_and_expired_lines_are_shown_as_warnings(client, plans):
    customer = UserFactory.create()
    low = LineFactory.create(owner=customer, nickname="Low")
    bucket = bucket_grant(line=low, plan=plans["basic-10"])
    Bucket.objects.filter(pk=bucket.pk).update(data_used=9 * GB)
    expired = LineFactory.create(owner=customer, nickname="Gone")
    bucket_grant(line=expired, plan=plans["basic-10"], now=timezone.now() - timedelta(days=31))
    client.force_login(customer)
    page = client.get("/").content.decode()
    assert "Running low" in page
    assert "meter-warn" in page
    assert "Expired on" in page
    assert "badge-expired" in page


def test_expiry_is_shown_in_the_customers_time_zone(client, plans):
    customer = UserFactory.create(time_zone="America/New_York")
    line = LineFactory.create(owner=customer)
    expires = timezone.now().replace(microsecond=0) + timedelta(days=5)
    Line.objects.filter(pk=line.pk).update(expires_at=expires)
    client.force_login(customer)
    page = client.get("/").content.decode()
    local = timezone.localtime(expires, timezone=__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert local.strftime("%Y-%m-%d %H:%M") in page


def test_line_page_shows_buckets_chart_and_esim_install(client, plans):
    customer = UserFactory.create()
    line = LineFactory.create(owner=customer, smdp_address="smdp.boom.example", matching_id="ABC-123")
    bucket_grant(line=line, plan=plans["basic-10"])
    bucket_grant(line=line, plan=plans["roam-eu-15"])
    DailyUsage.objects.create(line=line, day=usage_day(timezone.now()), data=2 * GB)
    client.force_login(customer)
    page = client.get(reverse("plans:line", args=[line.pk])).content.decode()
    assert "Basic 10 GB" in page
    assert "Europe 10 GB, 15 days" in page
    assert "Works in" in page
    assert "<svg" in page
    assert 'class="bar"' in page
    assert "LPA:1$smdp.boom.example$ABC-123" in page
    assert "esim_qrcode_provisioning?carddata=LPA%3A1%24smdp.boom.example%24ABC-123" in page


def test_another_customers_line_is_404(client, plans):
    theirs = LineFactory.create(owner=UserFactory.create())
    client.force_login(UserFactory.create())
    assert client.get(reverse("plans:line", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("plans:line", args=[999_999])).status_code == 404


def test_line_page_needs_log_in(client):
    line = LineFactory.create(owner=UserFactory.create())
    assert client.get(reverse("plans:line", args=[line.pk])).status_code == 302


def _customer_with(plans, lines: int, buckets_per_line: int, usage_rows: int):
    customer = UserFactory.create()
    now = timezone.now()
    for index in range(lines):
        line = LineFactory.create(owner=customer)
        bucket_grant(line=line, plan=plans["basic-30"], now=now)
        for _ in range(buckets_per_line - 1):
            bucket_grant(line=line, plan=plans["roam-jpkr-7"], now=now)
        UsageRecord.objects.bulk_create(
            UsageRecord(
                record_id=f"{customer.pk}-{index}-{n}",
                line=line,
                kind="data",
                amount=1000,
                country="CN",
                at=now - timedelta(minutes=n),
            )
            for n in range(usage_rows)
        )
        DailyUsage.objects.bulk_create(
            DailyUsage(line=line, day=usage_day(now - timedelta(days=d)), data=d * 1000) for d in range(30)
        )
    return customer


@pytest.mark.parametrize(("lines", "buckets", "records"), [(1, 2, 10), (10, 50, 1_000)])
def test_home_page_query_count_is_fixed(client, plans, django_assert_num_queries, lines, buckets, records):
    customer = _customer_with(plans, lines, buckets, records)
    client.force_login(customer)
    cache.clear()
    # Cold: session, the user with the unread notices (the bell), lines (with the time of their
    # newest usage record, a subquery), live buckets, 4 weeks of daily totals (the forecasts).
    with django_assert_num_queries(5):
        response = client.get("/")
    assert response.status_code == 200
    assert response.content.decode().count('class="card line') == lines
    # Warm: all of it from the customer's page cache (boomcard.page_cache).
    with django_assert_num_queries(0):
        again = client.get("/")
    assert again.content.decode().count('class="card line') == lines


@pytest.mark.parametrize(("buckets", "records"), [(2, 10), (50, 100_000)])
def test_line_page_query_count_is_fixed(client, plans, django_assert_num_queries, buckets, records):
    customer = _customer_with(plans, 1, buckets, records)
    line = Line.objects.get(owner=customer)
    client.force_login(customer)
    cache.clear()
    # Cold: session, the user with the unread notices (the bell), line, buckets, 30 days of usage.
    with django_assert_num_queries(5):
        response = client.get(reverse("plans:line", args=[line.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('class="bucket"') == buckets
    # Warm: all of it from the cache (the page's content from the customer's page cache).
    with django_assert_num_queries(0):
        client.get(reverse("plans:line", args=[line.pk]))


def test_catalogue_lists_plans_by_kind_in_the_chosen_currency(client, plans):
    page = client.get(reverse("plans:catalogue") + "?currency=HKD")
    text = page.content.decode()
    assert "HK$75.00" in text  # basic-30 in HKD
    assert "Add-on packs" in text
    assert "Flexible" in text
    # The choice is remembered.
    assert "HK$42.00" in client.get(reverse("plans:catalogue")).content.decode()


def test_catalogue_query_count_is_fixed(client, plans, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get(reverse("plans:catalogue"))


def test_plan_page_and_unknown_plan(client, plans):
    assert (
        "Japan &amp; Korea 5 GB, 7 days" in client.get(reverse("plans:detail", args=["roam-jpkr-7"])).content.decode()
    )
    assert client.get(reverse("plans:detail", args=["no-such-plan"])).status_code == 404
    Plan.objects.filter(code="basic-10").update(is_active=False)
    assert client.get(reverse("plans:detail", args=["basic-10"])).status_code == 404


def test_unknown_currency_falls_back_to_the_default(client, plans):
    assert "¥38.00" in client.get(reverse("plans:catalogue") + "?currency=XYZ").content.decode()


def test_withdrawing_an_earlier_renewal_takes_back_its_days_from_the_later_one(plans):
    from plans.services import bucket_withdraw

    line = LineFactory.create(owner=UserFactory.create())
    now = timezone.now()
    bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=20))  # ends in 10 days
    first = bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=2))  # +30: 40
    second = bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=1))  # +30: 70
    line.refresh_from_db()
    assert line.expires_at == now + timedelta(days=70)

    bucket_withdraw(bucket=first, now=now)

    line.refresh_from_db()
    second.refresh_from_db()
    first.refresh_from_db()
    assert line.expires_at == now + timedelta(days=40)
    assert second.expires_at == now + timedelta(days=40)
    assert first.expires_at == now
    assert first.data_total == first.data_used


def test_withdrawing_the_latest_renewal_puts_the_expiry_back(plans):
    from plans.services import bucket_withdraw

    line = LineFactory.create(owner=UserFactory.create())
    now = timezone.now()
    bucket_grant(line=line, plan=plans["basic-10"], now=now - timedelta(days=20))
    latest = bucket_grant(line=line, plan=plans["basic-30"], now=now - timedelta(days=1))
    bucket_withdraw(bucket=latest, now=now)
    line.refresh_from_db()
    assert line.expires_at == now + timedelta(days=10)
    assert line.plan == plans["basic-10"]


def test_withdrawing_a_bucket_takes_what_is_left_now_not_when_the_refund_read_it(plans):
    # The refund reads the order's buckets, then withdraws them; a usage batch applied in between
    # (the applier locks the bucket, not the line) has used more of it. Withdrawing leaves it
    # holding nothing, its use as the network reported it, not a total below what was used.
    from plans.services import bucket_withdraw
    from plans.usage import usage_ingest

    line = LineFactory.create(owner=UserFactory.create())
    bucket = bucket_grant(line=line, plan=plans["basic-10"], now=timezone.now() - timedelta(days=1))
    read_by_the_refund = Bucket.objects.get(pk=bucket.pk)
    record = {
        "id": "used-meanwhile",
        "msisdn": line.msisdn.as_e164,
        "kind": "data",
        "amount": 5 * MB,
        "country": "CN",
        "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    }
    assert usage_ingest(records=[record]).accepted == 1

    bucket_withdraw(bucket=read_by_the_refund)

    bucket.refresh_from_db()
    assert (bucket.data_used, bucket.data_total) == (5 * MB, 5 * MB)
