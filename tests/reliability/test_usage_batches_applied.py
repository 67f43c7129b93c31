"""The usage feed with a real Celery worker, Redis and PostgreSQL: a batch posted to the API is
applied by the worker on the ``usage`` queue, and a worker killed in the middle of applying one
leaves it pending, to be applied once when the task is delivered again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from plans.models import MB, Bucket, Line, UsageBatch, UsageRecord
from plans.signing import usage_signature
from tests.celery_worker import VISIBILITY_TIMEOUT, Worker, wait_until
from tests.factories import BucketFactory, LineFactory
from tests.reliability.conftest import broker_idle
from tests.row_locks import rows_locked, waiting_for_a_lock

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

StartWorker = Callable[..., AbstractContextManager[Worker]]


def signed(body: bytes, *, method: str = "POST", path: str = "/api/usage/") -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = usage_signature(key=settings.USAGE_API_KEYS[0], timestamp=stamp, method=method, path=path, body=body)
    return {"X-Boom-Timestamp": stamp, "X-Boom-Signature": signature}


def post_batch(line: Line, ids: list[str]) -> int:
    at = (timezone.now() - timedelta(minutes=1)).isoformat()
    records = [
        {"id": record_id, "msisdn": line.msisdn.as_e164, "kind": "data", "amount": MB, "country": "HK", "at": at}
        for record_id in ids
    ]
    body = json.dumps({"records": records}).encode()
    response = Client().post(reverse("plans:api_usage"), body, content_type="application/json", headers=signed(body))
    assert response.status_code == 202, response.content[:500]
    return int(response.json()["batch"])


def batch_status(batch_id: int) -> dict[str, Any]:
    url = reverse("plans:api_usage_batch", args=[batch_id])
    answer: dict[str, Any] = Client().get(url, headers=signed(b"", method="GET", path=url)).json()
    return answer


def applied(batch_id: int) -> bool:
    return UsageBatch.objects.filter(pk=batch_id, status=UsageBatch.Status.APPLIED).exists()


def test_posted_batch_is_applied_by_the_usage_worker(worker: StartWorker) -> None:
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    with worker() as running:
        batch_id = post_batch(line, ["w-1", "w-2", "w-3"])
        wait_until(lambda: applied(batch_id), timeout=20, what=f"batch {batch_id} applied", details=running.log_tail)
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    answer = batch_status(batch_id)
    assert (answer["status"], answer["accepted"], answer["duplicate"], answer["rejected"]) == ("applied", 3, 0, 0)
    home.refresh_from_db()
    assert home.data_used == 3 * MB


def _bucket_held(bucket: Bucket) -> AbstractContextManager[None]:
    """The bucket's row lock held by another connection meanwhile, as a long batch of another
    worker would. (Not the line's: applying locks no line, and the records' foreign-key checks
    would wait on it only inside COMMIT, which a killed worker's backend still completes.)"""
    return rows_locked(Bucket.objects.filter(pk=bucket.pk))


def _killed_mid_apply(running: Worker) -> None:
    """Kill the worker once it waits for the held bucket: it has locked its batches and stored
    their records, mid-apply."""
    wait_until(waiting_for_a_lock, timeout=20, what="the worker to wait for the bucket", details=running.log_tail)
    running.kill()


def test_worker_killed_mid_apply_leaves_the_batch_pending_and_it_is_applied_once(worker: StartWorker) -> None:
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    with _bucket_held(home), worker() as first:
        batch_id = post_batch(line, ["k-1", "k-2"])
        _killed_mid_apply(first)
    assert not applied(batch_id)
    assert not UsageRecord.objects.exists()

    # The task was never acknowledged: Redis hands it to the next worker after the visibility timeout.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    with worker() as second:
        wait_until(lambda: applied(batch_id), timeout=30, what=f"batch {batch_id} applied", details=second.log_tail)
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    assert UsageRecord.objects.count() == 2
    home = Bucket.objects.get(pk=home.pk)
    assert home.data_used == 2 * MB
    assert batch_status(batch_id)["accepted"] == 2


def test_worker_killed_applying_batches_together_leaves_them_all_pending_then_each_applied_once(
    worker: StartWorker,
) -> None:
    # Three batches wait in the queue before any worker runs, an id in all three: the first task
    # applies them together, and is killed waiting for the bucket.
    line = LineFactory.create()
    home = BucketFactory.create(line=line)
    with _bucket_held(home):
        batch_ids = [post_batch(line, [f"t{n}-1", f"t{n}-2", "in-every-batch"]) for n in range(3)]
        with worker(concurrency=2) as first:
            _killed_mid_apply(first)
    assert not any(applied(batch_id) for batch_id in batch_ids)
    assert not UsageRecord.objects.exists()

    # The killed task is delivered again (the others may have found their batch held, and ended):
    # it applies all three, and whatever else runs finds them done.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    with worker(concurrency=2) as second:
        wait_until(
            lambda: all(applied(batch_id) for batch_id in batch_ids),
            timeout=30,
            what=f"batches {batch_ids} applied",
            details=second.log_tail,
        )
        wait_until(broker_idle, timeout=10, what="the broker to be idle")
    assert UsageRecord.objects.count() == 7
    assert Bucket.objects.get(pk=home.pk).data_used == 7 * MB
    answers = [batch_status(batch_id) for batch_id in batch_ids]
    assert sorted(answer["accepted"] for answer in answers) == [2, 2, 3]
    assert sorted(answer["duplicate"] for answer in answers) == [0, 1, 1]
