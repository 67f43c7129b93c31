"""The usage service counts each record once: sent twice, repeated within a batch, in two
batches at once, or stored meanwhile for another line."""

import threading
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from plans.models import MB, DailyUsage, Line, UsageRecord
from plans.usage import apply, usage_ingest
from tests.factories import LineFactory
from tests.plans.usage_ingest.records import bucket, record, used

pytestmark = pytest.mark.django_db


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
