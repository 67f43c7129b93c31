"""Low-data notices (once per bucket and threshold, emailed through the outbox) and the service's
query count, which does not grow with the records."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from plans.models import MB, Line
from plans.usage import usage_ingest
from tests.factories import LineFactory, UserFactory
from tests.plans.usage_ingest.records import bucket, record, used

pytestmark = pytest.mark.django_db


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
