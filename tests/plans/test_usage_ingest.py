"""The usage service: which bucket pays, overage, daily totals, duplicates, alerts, queries."""

import threading
from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import EmailDelivery, Notice
from plans.models import MB, Bucket, DailyUsage, Line, UsageRecord, usage_day
from plans.services import bucket_grant
from plans.usage import MAX_BATCH, BatchTooLarge, apply, sql, usage_ingest, usage_records_check
from tests.factories import BucketFactory, LineFactory, PlanFactory, UserFactory

pytestmark = pytest.mark.django_db

_ids = count(1)


def record(line: Line, **fields: Any) -> dict[str, Any]:
    """A good data record for ``line``, a minute old, in Hong Kong, unless ``fields`` say otherwise."""
    at = fields.pop("at", timezone.now() - timedelta(minutes=1))
    return {
        "id": f"r-{next(_ids)}",
        "msisdn": line.msisdn.as_e164,
        "kind": "data",
        "amount": MB,
        "country": "HK",
        "at": at.isoformat() if isinstance(at, datetime) else at,
        **fields,
    }


def bucket(line: Line, *, data_mb: int = 100, roaming: list[str] | None = None, **fields: Any) -> Bucket:
    plan = PlanFactory.create(
        data_mb=data_mb, countries=roaming or [], is_addon=bool(roaming), kind="roaming" if roaming else "basic"
    )
    return BucketFactory.create(line=line, plan=plan, **fields)


def used(bucket: Bucket) -> Bucket:
    bucket.refresh_from_db()
    return bucket


@pytest.fixture(params=["postgresql", "orm"])
def both_ways(request, monkeypatch):
    """Runs the test with PostgreSQL's bulk statements and with the ORM's (SQLite's way, for the demo)."""
    if request.param == "orm":
        monkeypatch.setattr(sql, "_fast_sql", lambda: False)


# --- Counting once ----------------------------------------------------------------------------


@pytest.mark.usefixtures("both_ways")
def test_record_sent_twice_counts_once():
    line = LineFactory.create()
    home = bucket(line)
    sent = record(line, amount=3 * MB)

    first = usage_ingest(records=[sent])
    second = usage_ingest(records=[sent])

    assert (first.accepted, first.duplicate, first.rejected) == (1, 0, 0)
    assert (second.accepted, second.duplicate, second.rejected) == (0, 1, 0)
    assert used(home).data_used == 3 * MB
    assert UsageRecord.objects.filter(record_id=sent["id"]).count() == 1
    assert DailyUsage.objects.get(line=line).data == 3 * MB


def test_repeated_id_within_a_batch_counts_once():
    line = LineFactory.create()
    home = bucket(line)
    sent = record(line, amount=MB)

    report = usage_ingest(records=[sent, dict(sent), dict(sent, amount=5 * MB)])

    assert (report.accepted, report.duplicate) == (1, 2)
    assert used(home).data_used == MB


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_with_the_same_records_apply_them_once():
    # Committed data, and a connection per thread, as two web workers would have.
    line, other = LineFactory.create(), LineFactory.create()
    home, other_home = bucket(line), bucket(other)
    batch = [record(line, amount=MB) for _ in range(50)] + [record(other, amount=MB) for _ in range(50)]
    reports = []
    start = threading.Barrier(4)

    def send(records: list[dict[str, Any]]) -> None:
        start.wait()
        try:
            reports.append(usage_ingest(records=records))
        finally:
            connections.close_all()

    # Half the senders list the lines the other way round: the lock order must not follow them.
    threads = [threading.Thread(target=send, args=(order,)) for order in (batch, batch[::-1], batch, batch[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(reports) == 4
    assert sum(report.accepted for report in reports) == 100
    assert sum(report.duplicate for report in reports) == 300
    assert used(home).data_used == 50 * MB
    assert used(other_home).data_used == 50 * MB
    assert DailyUsage.objects.get(line=line).data == 50 * MB


@pytest.mark.django_db(transaction=True)
def test_record_stored_meanwhile_for_another_line_is_not_applied_twice(monkeypatch):
    # A confused sender gives one id to two lines in two batches at once. The other batch commits
    # the id between this one's look-up of its lines and its insert: the insert finds the id
    # stored and counts the record as a duplicate, instead of charging a second line for it.
    line, other = LineFactory.create(), LineFactory.create()
    home = bucket(line)
    find_lines = apply._lines_find
    calls: list[int] = []

    def other_batch_commits(*args: Any) -> Any:
        found = find_lines(*args)
        thread = threading.Thread(target=_store_elsewhere, args=("shared", other))
        thread.start()
        thread.join()
        calls.append(1)
        return found

    monkeypatch.setattr(apply, "_lines_find", other_batch_commits)

    report = usage_ingest(records=[record(line, id="shared", amount=MB), record(line, id="own", amount=MB)])

    assert (report.accepted, report.duplicate) == (1, 1)
    assert len(calls) == 1
    assert used(home).data_used == MB
    assert DailyUsage.objects.get(line=line).data == MB
    assert UsageRecord.objects.get(record_id="shared").line == other


def _store_elsewhere(record_id: str, line: Line) -> None:
    try:
        UsageRecord.objects.create(
            record_id=record_id, line=line, kind="data", amount=1, country="HK", at=timezone.now()
        )
    finally:
        connections.close_all()


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


# --- Bad records --------------------------------------------------------------------------------


def test_batch_with_bad_records_keeps_the_good_ones():
    line = LineFactory.create()
    home = bucket(line)

    report = usage_ingest(
        records=[
            record(line, id="good-1", amount=MB),
            record(line, id="bad", amount=-1),
            record(line, id="good-2", amount=2 * MB),
            record(line, id="nobody", msisdn="+85251999999"),
        ]
    )

    assert (report.accepted, report.duplicate, report.rejected) == (2, 0, 2)
    assert [error.as_dict() for error in report.errors] == [
        {"id": "bad", "index": 1, "field": "amount", "reason": "amount must not be negative"},
        {"id": "nobody", "index": 3, "field": "msisdn", "reason": "unknown line"},
    ]
    assert used(home).data_used == 3 * MB
    assert set(UsageRecord.objects.values_list("record_id", flat=True)) == {"good-1", "good-2"}


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"id": None}, "id", "id is missing"),
        ({"id": ""}, "id", "id is missing"),
        ({"id": "x" * 65}, "id", "id is longer than 64 characters"),
        ({"id": ["r"]}, "id", "id must be a string"),
        ({"id": "r\x00"}, "id", "id must be printable text"),
        ({"iccid": "89852030000000000001"}, "msisdn", "give msisdn or iccid, not both"),
        ({"msisdn": None}, "msisdn", "msisdn or iccid is required"),
        ({"msisdn": "call me"}, "msisdn", "msisdn is not a phone number"),
        ({"msisdn": 85251000000}, "msisdn", "msisdn must be a string"),
        ({"msisdn": None, "iccid": "8985"}, "iccid", "iccid must be 19 or 20 digits"),
        ({"kind": "mms"}, "kind", "kind must be data, voice or sms"),
        ({"kind": None}, "kind", "kind must be data, voice or sms"),
        ({"amount": -5}, "amount", "amount must not be negative"),
        ({"amount": 1.5}, "amount", "amount must be a whole number"),
        ({"amount": "100"}, "amount", "amount must be a whole number"),
        ({"amount": True}, "amount", "amount must be a whole number"),
        ({"amount": None}, "amount", "amount is missing"),
        ({"amount": 10**13 + 1}, "amount", "amount must not exceed 10000000000000 for data"),
        ({"kind": "sms", "amount": 10**4 + 1}, "amount", "amount must not exceed 10000 for sms"),
        ({"country": "XX"}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"country": "JPN"}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"country": None}, "country", "unknown country (ISO 3166 alpha-2 expected)"),
        ({"at": None}, "at", "time is missing"),
        ({"at": "yesterday"}, "at", "time is not ISO 8601"),
        ({"at": 1700000000}, "at", "time must be an ISO 8601 string"),
        ({"at": "2025-03-01T10:00:00"}, "at", "time needs a UTC offset"),
        ({"at": "0001-01-01T00:00:00+01:00"}, "at", "time is out of range"),
    ],
)
def test_bad_record_is_rejected_naming_its_field_and_reason(change, field, reason):
    line = LineFactory.create()
    bad = record(line, **change)

    report = usage_ingest(records=[bad])

    assert report.accepted == 0
    assert [(error.index, error.field, error.reason) for error in report.errors] == [(0, field, reason)]
    assert not UsageRecord.objects.exists()


def test_time_more_than_five_minutes_ahead_is_rejected_and_less_is_kept():
    line = LineFactory.create()
    now = timezone.now()

    report = usage_ingest(
        records=[
            record(line, id="ahead", at=now + timedelta(minutes=5, seconds=1)),
            record(line, id="skew", at=now + timedelta(minutes=4)),
        ],
        now=now,
    )

    assert [(error.id, error.reason) for error in report.errors] == [("ahead", "time is more than 5 minutes ahead")]
    assert report.accepted == 1


def test_time_in_another_offset_and_lowercase_country_are_understood():
    line = LineFactory.create()
    at = (timezone.now() - timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(8 * 60))

    usage_ingest(records=[record(line, id="hk", at=at.isoformat(), country="jp")])

    stored = UsageRecord.objects.get(record_id="hk")
    assert stored.at == at
    assert stored.country == "JP"


def test_numeric_id_is_kept_as_text():
    line = LineFactory.create()

    usage_ingest(records=[record(line, id=42)])

    assert UsageRecord.objects.filter(record_id="42").exists()


def test_more_than_5000_records_is_refused_by_the_service():
    with pytest.raises(BatchTooLarge):
        usage_ingest(records=[{}] * (MAX_BATCH + 1))


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
_GOOD = {
    "id": "r-1",
    "msisdn": "+85251000001",
    "kind": "data",
    "amount": 1,
    "country": "HK",
    "at": "2025-01-01T00:00:00+08:00",
}
_text_like = st.sampled_from(["", "+85251000001", "8985203000000000001", "data", "sms", "JP", "2025-01-01T00:00"])
_mangled = st.dictionaries(
    st.sampled_from([*_GOOD, "iccid"]), _json | _text_like | st.integers(min_value=-(2**70), max_value=2**70)
)


@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_mangled.map(lambda changes: {**_GOOD, **changes}), max_size=5))
def test_any_records_are_checked_without_an_exception(records):
    good, errors = usage_records_check(records=records, now=timezone.now())
    assert len(good) + len(errors) == len(records)
    assert all(error.field in {*_GOOD, "iccid"} for error in errors)


# --- Low data alerts ----------------------------------------------------------------------------


def _notices() -> list[tuple[str, int]]:
    return sorted((notice.key, notice.params["threshold"]) for notice in Notice.objects.all())


def test_low_balance_notice_once_per_bucket_and_threshold():
    line = LineFactory.create(owner=UserFactory.create())
    home = bucket(line, data_mb=100)
    key = f"low-balance:{home.pk}"

    usage_ingest(records=[record(line, amount=70 * MB)])  # 30 % left
    assert _notices() == []
    usage_ingest(records=[record(line, amount=6 * MB)])  # 24 %
    assert _notices() == [(f"{key}:25", 25)]
    usage_ingest(records=[record(line, amount=2 * MB)])  # 22 %: still below 25, no second notice
    assert _notices() == [(f"{key}:25", 25)]
    usage_ingest(records=[record(line, amount=12 * MB)])  # 10 %
    assert _notices() == [(f"{key}:10", 10), (f"{key}:25", 25)]
    usage_ingest(records=[record(line, amount=50 * MB)])  # nothing left, and overage
    assert _notices() == [(f"{key}:0", 0), (f"{key}:10", 10), (f"{key}:25", 25)]
    usage_ingest(records=[record(line, amount=MB)])  # overage only
    assert Notice.objects.count() == 3


@pytest.mark.usefixtures("both_ways")
def test_batch_taking_a_bucket_from_30_to_5_percent_writes_both_notices():
    owner = UserFactory.create()
    line = LineFactory.create(owner=owner)
    home = bucket(line, data_mb=100, data_used=70 * MB)

    usage_ingest(records=[record(line, amount=20 * MB), record(line, amount=5 * MB)])

    notices = {notice.params["threshold"]: notice for notice in Notice.objects.all()}
    assert set(notices) == {25, 10}
    notice = notices[10]
    assert (notice.user, notice.line_ref, notice.kind) == (owner, line.pk, Notice.Kind.LOW_BALANCE)
    assert notice.key == f"low-balance:{home.pk}:10"
    assert notice.params == {
        "threshold": 10,
        "bucket_id": home.pk,
        "plan_code": home.plan.code,
        "data_left": 5 * MB,
        "roaming": False,
    }
    assert notice.link == reverse("billing:renew", args=[line.pk])  # renewing and top-up packs


def test_low_balance_notice_is_emailed_once_through_the_outbox():
    line = LineFactory.create(owner=UserFactory.create(email="low@example.com"))
    bucket(line, data_mb=100, data_used=70 * MB)

    usage_ingest(records=[record(line, amount=6 * MB)])
    usage_ingest(records=[record(line, amount=MB)])

    delivery = EmailDelivery.objects.get()
    assert delivery.to == "low@example.com"
    assert delivery.notice is not None
    assert delivery.notice.params["threshold"] == 25
    assert delivery.status == EmailDelivery.Status.PENDING


def test_customer_without_email_gets_the_notice_only():
    line = LineFactory.create(owner=UserFactory.create(email=""))
    bucket(line, data_mb=10)

    usage_ingest(records=[record(line, amount=10 * MB)])

    assert Notice.objects.count() == 3
    assert not EmailDelivery.objects.exists()


def test_roaming_pack_running_low_says_so():
    line = LineFactory.create(owner=UserFactory.create())
    japan = bucket(line, roaming=["JP"], data_mb=10)

    usage_ingest(records=[record(line, amount=10 * MB, country="JP")])

    assert {notice.params["threshold"] for notice in Notice.objects.all()} == {25, 10, 0}
    assert all(notice.params["roaming"] for notice in Notice.objects.all())
    assert {notice.params["bucket_id"] for notice in Notice.objects.all()} == {japan.pk}


def test_voice_and_sms_use_write_no_low_data_notice():
    line = LineFactory.create(owner=UserFactory.create())
    bucket(line, data_mb=1, voice_total=60, sms_total=1)

    usage_ingest(records=[record(line, kind="voice", amount=60), record(line, kind="sms", amount=1)])

    assert not Notice.objects.exists()


def test_line_without_owner_gets_no_notice_but_its_usage_counts():
    line = LineFactory.create()
    home = bucket(line, data_mb=10)

    usage_ingest(records=[record(line, amount=10 * MB)])

    assert used(home).data_left == 0
    assert not Notice.objects.exists()


# --- Queries ------------------------------------------------------------------------------------


def _batch(lines: list[Line], size: int) -> list[dict[str, Any]]:
    now = timezone.now()
    kinds = ["data", "voice", "sms"]
    return [
        record(
            lines[i % len(lines)],
            kind=kinds[i % 3],
            amount=2000 if i % 3 == 0 else 1,
            country="JP" if i % 2 else "HK",
            at=now - timedelta(days=i % 3, minutes=i),
        )
        for i in range(size)
    ]


def _queries_for(records: list[dict[str, Any]]) -> int:
    with CaptureQueriesContext(connection) as queries:
        report = usage_ingest(records=records)
    assert report.accepted == len(records)
    assert Notice.objects.exists()
    return len(queries)


def test_query_count_does_not_grow_with_records():
    def owned_lines(n: int) -> list[Line]:
        lines = [LineFactory.create(owner=UserFactory.create()) for _ in range(n)]
        for line in lines:
            # Tiny buckets, so that both batches use them, overflow them and write notices.
            bucket(line, data_mb=0, data_total=3000, starts_at=timezone.now() - timedelta(days=5))
            bucket(line, roaming=["JP"], data_mb=0, data_total=3000, starts_at=timezone.now() - timedelta(days=5))
        return lines

    few = _queries_for(_batch(owned_lines(2), 10))
    many = _queries_for(_batch(owned_lines(40), 1000))

    # Find the lines; store the records (COPY, in a savepoint of its own); lock the buckets, update
    # them, set the overage, add to the days, write the notices, find their emails to write, write
    # them; and the savepoint around it all.
    assert few == many == 13
