"""POST /api/usage/: the answer the network reads at once (202 and a batch), and what it reads
once the batch's task has run. Signatures, the status endpoint and what a body must be:
test_requests.py."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import EmailDelivery, Notice
from plans import tasks, usage
from plans.models import MB, DailyUsage, UsageBatch, UsageRecord
from tests.factories import BucketFactory, LineFactory, PlanFactory, UserFactory
from tests.plans.usage_api.network import apply_queued, post, record, status

pytestmark = pytest.mark.django_db


def test_signed_batch_is_accepted_with_202_and_applied_by_its_task(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)

    response = post(client, {"records": [record(line, "a"), record(line, "b", amount=2 * MB)]})

    assert response.status_code == 202
    batch = UsageBatch.objects.get()
    assert response.json() == {
        "batch": batch.pk,
        "status": "pending",
        "status_url": f"/api/usage/batches/{batch.pk}/",
        "queued": 2,
        "rejected": 0,
        "errors": [],
    }
    assert queued == [batch.pk]
    home.refresh_from_db()
    assert home.data_used == 0
    assert not UsageRecord.objects.exists()

    assert apply_queued(queued) == ["applied"]

    home.refresh_from_db()
    assert home.data_used == 3 * MB
    assert DailyUsage.objects.get(line=line).data == 3 * MB
    answer = status(client, batch.pk).json()
    assert (answer["status"], answer["accepted"], answer["duplicate"], answer["rejected"]) == ("applied", 2, 0, 0)
    assert answer["applied_at"] is not None


def test_status_of_a_pending_batch_says_so_and_lists_what_was_rejected_at_once(client):
    line = LineFactory.create()
    batch_id = post(client, {"records": [record(line, "a"), record(line, "b", kind="fax")]}).json()["batch"]

    response = status(client, batch_id)

    assert response.status_code == 200
    answer = response.json()
    assert answer == {
        "batch": batch_id,
        "status": "pending",
        "received_at": answer["received_at"],
        "applied_at": None,
        "queued": 1,
        "accepted": None,
        "duplicate": None,
        "rejected": 1,
        "errors": [{"id": "b", "index": 1, "field": "kind", "reason": "kind must be data, voice or sms"}],
    }


def test_batch_sent_twice_counts_once(client, queued):
    line = LineFactory.create()
    payload = {"records": [record(line, "a"), record(line, "b")]}

    now = int(time.time())
    first = post(client, payload, timestamp=now).json()["batch"]
    # Signed anew (the very same signed request would answer the first batch: test_signing).
    second = post(client, payload, timestamp=now - 1).json()["batch"]
    assert second != first
    apply_queued(queued)

    assert UsageRecord.objects.count() == 2
    assert status(client, first).json()["accepted"] == 2
    answer = status(client, second).json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (0, 2, 0)


def test_record_in_two_batches_counts_once_whichever_is_applied_first(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    first = post(client, {"records": [record(line, "a"), record(line, "b")]}).json()["batch"]
    second = post(client, {"records": [record(line, "b"), record(line, "c")]}).json()["batch"]

    tasks.usage_batch_apply_task(second)
    tasks.usage_batch_apply_task(first)

    home.refresh_from_db()
    assert home.data_used == 3 * MB
    assert [status(client, batch).json()["duplicate"] for batch in (first, second)] == [1, 0]


def test_rejected_records_are_listed_at_once_and_unknown_lines_once_applied(client, queued):
    line = LineFactory.create()

    response = post(
        client,
        {
            "records": [
                record(line, "good"),
                record(line, "late", at="2025-01-01T10:00:00"),
                {"msisdn": line.msisdn.as_e164, "kind": "sms", "amount": 1, "country": "HK"},
                record(line, "stranger", msisdn="+85251999998"),
            ]
        },
    )

    assert response.status_code == 202
    answer = response.json()
    assert (answer["queued"], answer["rejected"]) == (2, 2)
    assert answer["errors"] == [
        {"id": "late", "index": 1, "field": "at", "reason": "time needs a UTC offset"},
        {"id": None, "index": 2, "field": "id", "reason": "id is missing"},
    ]
    apply_queued(queued)
    report = status(client, answer["batch"]).json()
    assert (report["accepted"], report["duplicate"], report["rejected"]) == (1, 0, 3)
    assert report["errors"] == [
        {"id": "late", "index": 1, "field": "at", "reason": "time needs a UTC offset"},
        {"id": None, "index": 2, "field": "id", "reason": "id is missing"},
        {"id": "stranger", "index": 3, "field": "msisdn", "reason": "unknown line"},
    ]


def test_batch_whose_every_record_is_rejected_is_not_stored(client, queued):
    line = LineFactory.create()

    response = post(client, {"records": [record(line, "a", amount=-1)]})

    assert response.status_code == 200
    assert response.json() == {
        "batch": None,
        "queued": 0,
        "rejected": 1,
        "errors": [{"id": "a", "index": 0, "field": "amount", "reason": "amount must not be negative"}],
    }
    assert not UsageBatch.objects.exists()
    assert queued == []


def test_what_the_fast_json_reader_refuses_is_still_read_record_by_record(client, queued):
    """orjson refuses integers past 64 bits and NaN; the standard library reads them, so a
    batch holding one still gets each record judged on its own."""
    line = LineFactory.create()
    good = json.dumps(record(line, "good"))
    huge = json.dumps(record(line, "huge")).replace(f'"amount": {MB}', '"amount": 100000000000000000000000000000')
    not_a_number = json.dumps(record(line, "nan")).replace(f'"amount": {MB}', '"amount": NaN')
    body = f'{{"records": [{good}, {huge}, {not_a_number}]}}'.encode()

    answer = post(client, body=body).json()

    assert (answer["queued"], answer["rejected"]) == (1, 2)
    assert [(error["id"], error["field"]) for error in answer["errors"]] == [("huge", "amount"), ("nan", "amount")]


def test_empty_batch_is_answered_with_zeros_and_stores_nothing(client):
    response = post(client, {"records": []})

    assert response.status_code == 200
    assert response.json() == {"batch": None, "queued": 0, "rejected": 0, "errors": []}
    assert not UsageBatch.objects.exists()


def test_roaming_pack_pays_before_home_plan_and_the_rest_is_overage(client, queued):
    line = LineFactory.create()
    home = BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=2))
    pack = BucketFactory.create(
        line=line, plan=PlanFactory.create(data_mb=1, countries=["JP"], is_addon=True, kind="roaming"), countries=["JP"]
    )

    post(client, {"records": [record(line, "abroad", country="JP", amount=4 * MB)]})
    apply_queued(queued)

    pack.refresh_from_db()
    home.refresh_from_db()
    assert (pack.data_left, home.data_left) == (0, 0)
    assert UsageRecord.objects.get(record_id="abroad").overage == MB
    assert DailyUsage.objects.get(line=line).data_overage == MB


def test_low_data_notice_and_its_email_are_written_when_the_batch_is_applied(client, queued):
    line = LineFactory.create(owner=UserFactory.create(email="someone@example.com"))
    BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=100))

    post(client, {"records": [record(line, "big", amount=80 * MB)]})
    assert not Notice.objects.exists()
    apply_queued(queued)

    notice = Notice.objects.get(kind=Notice.Kind.LOW_BALANCE)
    assert notice.params["threshold"] == 25
    assert EmailDelivery.objects.filter(notice=notice).count() == 1


def test_task_run_twice_applies_the_batch_once(client, queued):
    line = LineFactory.create(owner=UserFactory.create(email="someone@example.com"))
    home = BucketFactory.create(line=line, plan=PlanFactory.create(data_mb=100))
    batch_id = post(client, {"records": [record(line, "a", amount=95 * MB)]}).json()["batch"]

    assert tasks.usage_batch_apply_task(batch_id) == "applied"
    assert tasks.usage_batch_apply_task(batch_id) == "done"

    home.refresh_from_db()
    assert home.data_used == 95 * MB
    assert UsageRecord.objects.count() == 1
    assert DailyUsage.objects.get(line=line).data == 95 * MB
    assert Notice.objects.count() == 2  # 25 % and 10 %, once each
    assert status(client, batch_id).json()["accepted"] == 1


def test_prune_deletes_applied_batches_past_their_keep_days_and_keeps_their_records(client, queued, settings):
    settings.USAGE_BATCH_KEEP_DAYS = 30
    line = LineFactory.create()
    old, recent = (post(client, {"records": [record(line, name)]}).json()["batch"] for name in "ab")
    assert apply_queued(queued) == ["applied", "done"]  # the second applied with the first
    pending = post(client, {"records": [record(line, "c")]}).json()["batch"]
    long_ago = timezone.now() - timedelta(days=31)
    UsageBatch.objects.filter(pk__in=[old, pending]).update(received_at=long_ago)

    assert tasks.usage_batches_prune_task() == 1

    assert set(UsageBatch.objects.values_list("pk", flat=True)) == {recent, pending}  # pending: still to apply
    assert UsageRecord.objects.filter(record_id="a").exists()
    assert status(client, old).status_code == 404


def test_task_for_a_batch_that_does_not_exist_does_nothing():
    assert tasks.usage_batch_apply_task(987654) == "missing"


def test_sweep_queues_batches_pending_five_minutes_after_they_arrived(client, queued, monkeypatch):
    line = LineFactory.create()
    applied = post(client, {"records": [record(line, "c")]}).json()["batch"]
    tasks.usage_batch_apply_task(applied)
    UsageBatch.objects.filter(pk=applied).update(received_at=timezone.now() - timedelta(minutes=6))
    stale = post(client, {"records": [record(line, "a")]}).json()["batch"]
    UsageBatch.objects.filter(pk=stale).update(received_at=timezone.now() - timedelta(minutes=6))
    fresh = post(client, {"records": [record(line, "b")]}).json()["batch"]
    swept: list[int] = []
    monkeypatch.setattr(tasks.usage_batch_apply_task, "delay", swept.append)

    assert tasks.usage_batches_sweep_task() == 1

    assert swept == [stale]
    assert fresh not in usage.usage_batches_due()
    later = timezone.now() + timedelta(minutes=10)
    assert usage.usage_batches_due(now=later) == [stale, fresh]
    tasks.usage_batch_apply_task(stale)  # and fresh with it, pending behind it
    assert usage.usage_batches_due(now=later) == []
