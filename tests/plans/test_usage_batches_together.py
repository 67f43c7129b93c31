"""Batches waiting on the usage queue are applied together by the first task to run: each keeps
its own report, an id in two of them counts once, a batch another worker holds is passed over,
no more than ``APPLY_TOGETHER`` go in one transaction, and a batch the database refuses holds
back no other."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import DataError
from django.utils import timezone

from plans.models import MB, DailyUsage, Line, UsageBatch, UsageRecord
from plans.usage import batches, usage_batch_accept, usage_batch_apply
from tests.factories import BucketFactory, LineFactory, PlanFactory
from tests.row_locks import rows_locked


def _record(line: Line | None, record_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": record_id,
        "msisdn": line.msisdn.as_e164 if line else "+12025550123",  # no such line
        "kind": "data",
        "amount": MB,
        "country": "HK",
        "at": (timezone.now() - timedelta(minutes=1)).isoformat(),
        **fields,
    }


def _accepted(*records: dict[str, Any]) -> int:
    """A pending batch, as the API stores it (its task is not run: the test runs it)."""
    batch_id = usage_batch_accept(records=list(records)).batch_id
    assert batch_id is not None
    return batch_id


def _report(batch_id: int) -> tuple[str, int, int, list[tuple[int, str, str]]]:
    batch = UsageBatch.objects.get(pk=batch_id)
    report = batch.report or {"accepted": 0, "duplicate": 0, "errors": []}
    errors = [(error["index"], error["id"], error["reason"]) for error in report["errors"]]
    return batch.status, report["accepted"], report["duplicate"], errors


@pytest.mark.django_db
def test_waiting_batches_are_applied_with_the_first_task_each_with_its_own_report():
    home = BucketFactory.create(line=(line := LineFactory.create()), plan=PlanFactory.create(data_mb=100))
    other = LineFactory.create()
    first = _accepted(_record(line, "a-1"), _record(line, "shared"))
    second = _accepted(_record(other, "b-1"), _record(line, "shared"), _record(None, "nowhere"))
    third = _accepted(_record(line, "c-1", amount=3 * MB))

    # The second batch's task runs first: it applies its own batch first, then the others.
    assert usage_batch_apply(batch_id=second) == "applied"
    assert [usage_batch_apply(batch_id=batch_id) for batch_id in (first, third)] == ["done", "done"]

    assert _report(second) == ("applied", 2, 0, [(2, "nowhere", "unknown line")])
    assert _report(first) == ("applied", 1, 1, [])  # "shared" counted in the second
    assert _report(third) == ("applied", 1, 0, [])
    home.refresh_from_db()
    assert home.data_used == 5 * MB  # a-1, shared once, c-1
    assert DailyUsage.objects.get(line=line).data == 5 * MB
    assert DailyUsage.objects.get(line=other).data_overage == MB  # no bucket: overage
    assert UsageRecord.objects.filter(record_id="shared").count() == 1
    assert UsageRecord.objects.count() == 4


@pytest.mark.django_db
def test_one_task_applies_at_most_apply_together_batches_oldest_first(monkeypatch):
    monkeypatch.setattr(batches, "APPLY_TOGETHER", 3)
    line = LineFactory.create()
    BucketFactory.create(line=line)
    waiting = [_accepted(_record(line, f"n-{n}")) for n in range(5)]

    assert usage_batch_apply(batch_id=waiting[2]) == "applied"

    statuses = dict(UsageBatch.objects.values_list("pk", "status"))
    # Its own, then the two that arrived first.
    assert [statuses[batch_id] for batch_id in waiting] == ["applied", "applied", "applied", "pending", "pending"]
    assert UsageRecord.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_a_batch_another_worker_holds_is_passed_over_not_waited_for():
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    first, held_batch, third = (_accepted(_record(line, f"h-{n}")) for n in range(3))
    with rows_locked(UsageBatch.objects.filter(pk=held_batch)):
        assert usage_batch_apply(batch_id=first) == "applied"  # would hang here if it waited
        assert usage_batch_apply(batch_id=held_batch) == "busy"

    assert [_report(batch_id)[0] for batch_id in (first, held_batch, third)] == ["applied", "pending", "applied"]
    assert usage_batch_apply(batch_id=held_batch) == "applied"
    home.refresh_from_db()
    assert home.data_used == 3 * MB
    assert UsageRecord.objects.count() == 3


@pytest.mark.django_db
def test_a_batch_the_database_refuses_holds_back_no_batch_grouped_with_it(monkeypatch):
    line = LineFactory.create()
    BucketFactory.create(line=line)
    refused = _accepted(_record(line, "refused"))
    good = _accepted(_record(line, "good"))
    applying = batches._apply

    def database_refusing(arrived, now):  # a value out of a column's range, say
        if any(record.record_id == "refused" for batch in arrived for record in batch.records):
            raise DataError("value out of range")
        applying(arrived, now)

    monkeypatch.setattr(batches, "_apply", database_refusing)

    # Tried with the older batch first, then alone.
    assert usage_batch_apply(batch_id=good) == "applied"
    with pytest.raises(DataError):
        usage_batch_apply(batch_id=refused)

    assert [_report(batch_id)[0] for batch_id in (refused, good)] == ["pending", "applied"]
    assert list(UsageRecord.objects.values_list("record_id", flat=True)) == ["good"]
