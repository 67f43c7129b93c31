"""Which of a line's buckets pays for each record (its own allowance, the roaming pack abroad,
the one expiring first, live at the record's time), overage beyond them all, and the daily
totals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from plans.models import MB, DailyUsage, UsageRecord, usage_day
from plans.services import bucket_grant
from plans.usage import usage_ingest
from tests.factories import LineFactory, PlanFactory
from tests.plans.usage_ingest.records import bucket, record, used

pytestmark = pytest.mark.django_db


# --- Which bucket pays ------------------------------------------------------------------------


def test_data_voice_and_sms_draw_on_their_own_allowances():
    line = LineFactory.create()
    home = bucket(line, voice_total=600, sms_total=10)

    usage_ingest(
        records=[
            record(line, kind="data", amount=2 * MB),
            record(line, kind="voice", amount=90),
            record(line, kind="sms", amount=2),
        ]
    )

    home = used(home)
    assert (home.data_used, home.voice_used, home.sms_used) == (2 * MB, 90, 2)
    day = DailyUsage.objects.get(line=line)
    assert (day.data, day.voice, day.sms) == (2 * MB, 90, 2)


@pytest.mark.usefixtures("both_ways")
def test_roaming_pack_pays_before_home_plan_abroad():
    line = LineFactory.create()
    home = bucket(line, expires_at=timezone.now() + timedelta(days=2))
    japan = bucket(line, roaming=["JP", "KR"], expires_at=timezone.now() + timedelta(days=20))

    usage_ingest(records=[record(line, amount=4 * MB, country="JP")])

    assert used(japan).data_used == 4 * MB
    assert used(home).data_used == 0


def test_home_plan_pays_abroad_once_the_roaming_pack_is_empty():
    line = LineFactory.create()
    home = bucket(line)
    japan = bucket(line, roaming=["JP"], data_mb=1)

    usage_ingest(records=[record(line, amount=3 * MB, country="JP")])

    assert used(japan).data_used == MB
    assert used(home).data_used == 2 * MB


def test_roaming_pack_for_other_countries_never_pays():
    line = LineFactory.create()
    japan = bucket(line, roaming=["JP"])

    report = usage_ingest(records=[record(line, amount=MB, country="FR"), record(line, amount=MB, country="HK")])

    assert report.accepted == 2
    assert used(japan).data_used == 0
    assert sorted(UsageRecord.objects.values_list("overage", flat=True)) == [MB, MB]


def test_home_bucket_does_not_pay_for_roaming_pack_when_both_cover_at_home():
    line = LineFactory.create()
    home = bucket(line)
    japan = bucket(line, roaming=["JP"])

    usage_ingest(records=[record(line, amount=MB, country="HK")])

    assert used(home).data_used == MB
    assert used(japan).data_used == 0


def test_bucket_expiring_first_pays_first():
    line = LineFactory.create()
    later = bucket(line, expires_at=timezone.now() + timedelta(days=30))
    sooner = bucket(line, data_mb=2, expires_at=timezone.now() + timedelta(days=3))

    usage_ingest(records=[record(line, amount=3 * MB)])

    assert used(sooner).data_used == 2 * MB
    assert used(later).data_used == MB


@pytest.mark.usefixtures("both_ways")
def test_usage_beyond_every_bucket_is_overage_not_negative():
    line = LineFactory.create()
    home = bucket(line, data_mb=2, voice_total=60, sms_total=1)

    usage_ingest(
        records=[
            record(line, id="big", amount=5 * MB),
            record(line, id="call", kind="voice", amount=100),
            record(line, id="texts", kind="sms", amount=3),
        ]
    )

    home = used(home)
    assert (home.data_used, home.voice_used, home.sms_used) == (2 * MB, 60, 1)
    assert UsageRecord.objects.get(record_id="big").overage == 3 * MB
    assert UsageRecord.objects.get(record_id="big").amount == 5 * MB
    day = DailyUsage.objects.get(line=line)
    assert (day.data, day.data_overage) == (2 * MB, 3 * MB)
    assert (day.voice, day.voice_overage) == (60, 40)
    assert (day.sms, day.sms_overage) == (1, 2)


def test_line_without_any_bucket_records_everything_as_overage():
    line = LineFactory.create()

    report = usage_ingest(records=[record(line, id="lonely", amount=MB)])

    assert report.accepted == 1
    assert UsageRecord.objects.get(record_id="lonely").overage == MB
    assert DailyUsage.objects.get(line=line).data_overage == MB


def test_expired_bucket_is_not_used():
    line = LineFactory.create()
    now = timezone.now()
    expired = bucket(line, starts_at=now - timedelta(days=31), expires_at=now - timedelta(days=1))
    live = bucket(line)

    usage_ingest(records=[record(line, amount=MB)])

    assert used(expired).data_used == 0
    assert used(live).data_used == MB


def test_bucket_not_yet_started_is_not_used():
    line = LineFactory.create()
    now = timezone.now()
    coming = bucket(line, starts_at=now + timedelta(hours=1), expires_at=now + timedelta(days=30))

    usage_ingest(records=[record(line, id="early", amount=MB)])

    assert used(coming).data_used == 0
    assert UsageRecord.objects.get(record_id="early").overage == MB


def test_late_record_is_paid_by_the_bucket_live_at_its_time():
    line = LineFactory.create()
    now = timezone.now()
    old = bucket(line, starts_at=now - timedelta(days=30), expires_at=now - timedelta(hours=1))
    new = bucket(line, starts_at=now - timedelta(hours=1), expires_at=now + timedelta(days=30))

    usage_ingest(records=[record(line, amount=MB, at=now - timedelta(hours=2))])

    assert used(old).data_used == MB
    assert used(new).data_used == 0


def test_records_of_a_line_are_applied_in_time_order():
    # The first bucket alone is live at 10:00, both at 11:00. Sent out of order, the 11:00 record
    # would empty the first bucket and leave the 10:00 one unpaid.
    line = LineFactory.create()
    ten = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    first = bucket(line, data_mb=1, starts_at=ten - timedelta(hours=1), expires_at=ten + timedelta(hours=2))
    second = bucket(line, data_mb=1, starts_at=ten + timedelta(minutes=30), expires_at=ten + timedelta(days=5))

    usage_ingest(
        records=[
            record(line, id="eleven", amount=MB, at=ten + timedelta(hours=1)),
            record(line, id="ten", amount=MB, at=ten),
        ]
    )

    assert used(first).data_used == MB
    assert used(second).data_used == MB
    assert set(UsageRecord.objects.values_list("overage", flat=True)) == {0}


def test_buckets_granted_by_the_service_are_drawn_on():
    line = LineFactory.create()
    grant = bucket_grant(line=line, plan=PlanFactory.create(data_mb=10))

    usage_ingest(records=[record(line, amount=MB, at=timezone.now())])

    assert used(grant).data_used == MB


def test_line_is_found_by_iccid_or_by_a_number_written_another_way():
    line = LineFactory.create(msisdn="+85251990001")
    home = bucket(line)
    by_iccid = record(line, amount=MB)
    del by_iccid["msisdn"]
    by_iccid["iccid"] = line.iccid

    report = usage_ingest(records=[by_iccid, record(line, amount=MB, msisdn="+852 5199 0001")])

    assert (report.accepted, report.rejected) == (2, 0)
    assert used(home).data_used == 2 * MB


# --- Daily totals -----------------------------------------------------------------------------


@pytest.mark.usefixtures("both_ways")
def test_daily_totals_add_up_per_line_and_day():
    line, other = LineFactory.create(), LineFactory.create()
    now = timezone.now()
    bucket(line, data_mb=1, starts_at=now - timedelta(days=5))
    # 15:59 and 16:01 UTC fall on two days in Shanghai.
    evening = (now - timedelta(days=2)).replace(hour=15, minute=59, second=0, microsecond=0)
    morning = evening + timedelta(minutes=2)

    usage_ingest(records=[record(line, amount=MB // 2, at=evening), record(other, amount=100, at=evening)])
    usage_ingest(records=[record(line, amount=MB, at=evening), record(line, amount=7, at=morning)])

    rows = {row.day: row for row in DailyUsage.objects.filter(line=line)}
    assert set(rows) == {usage_day(evening), usage_day(morning)}
    assert usage_day(evening) != usage_day(morning)
    assert (rows[usage_day(evening)].data, rows[usage_day(evening)].data_overage) == (MB, MB // 2)
    assert (rows[usage_day(morning)].data, rows[usage_day(morning)].data_overage) == (0, 7)
    assert DailyUsage.objects.get(line=other).data_overage == 100
