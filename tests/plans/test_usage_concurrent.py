"""Batches applied at the same time over the same lines: none deadlocks, none waits for the whole
of another, and the buckets, overage and daily totals come out as if applied one after the other."""

import threading
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from plans.models import MB, DailyUsage, Line, UsageRecord
from plans.usage import usage_ingest
from tests.factories import BucketFactory, LineFactory, PlanFactory

_ids = count(1)


def _record(line: Line, amount: int, *, kind: str = "data") -> dict[str, Any]:
    return {
        "id": f"c-{next(_ids)}",
        "msisdn": line.msisdn.as_e164,
        "kind": kind,
        "amount": amount,
        "country": "HK",
        "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_lines_apply_every_record_once_without_deadlock():
    # Four batches, each over all ten lines (half of them listing the lines the other way round),
    # distinct ids; together they ask 40 MB of each line's 30 MB bucket: 10 MB is overage, however
    # the batches interleave.
    plan = PlanFactory.create(data_mb=30)
    lines = [LineFactory.create() for _ in range(10)]
    buckets = [BucketFactory.create(line=line, plan=plan) for line in lines]
    batches = []
    for n in range(4):
        ordered = lines if n % 2 == 0 else lines[::-1]
        batches.append([_record(line, 2 * MB) for line in ordered for _ in range(5)])
    reports = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(batches))

    def send(records: list[dict[str, Any]]) -> None:
        start.wait()
        try:
            reports.append(usage_ingest(records=records))
        except BaseException as error:  # a deadlock would surface here
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(report.accepted for report in reports) == 200
    assert sum(report.duplicate for report in reports) == 0
    for line, bucket in zip(lines, buckets, strict=True):
        bucket.refresh_from_db()
        assert bucket.data_used == 30 * MB
        day = DailyUsage.objects.get(line=line)
        assert (day.data, day.data_overage) == (30 * MB, 10 * MB)
        overage = sum(UsageRecord.objects.filter(line=line).values_list("overage", flat=True))
        assert overage == 10 * MB
    assert UsageRecord.objects.count() == 200
