"""Accepting a batch now and applying it on the ``usage`` queue: a posted batch's good records
stored as one pending ``UsageBatch``, the task queued after the commit, the batch applied exactly
once, the sweep that finds batches whose task was lost, pruning, and the report the network reads."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from boomcard.startup import collector_paused
from boomcard.tasks import enqueue_on_commit
from plans.models import UsageBatch
from plans.usage import sql
from plans.usage.apply import Arrived, _apply
from plans.usage.records import MAX_BATCH, BatchTooLarge, RecordError, UsageIn, usage_records_check

logger = logging.getLogger(__name__)

# How UsageBatch.records holds a checked record: one list a record, the fields in this order
# (the record's index in the posted batch, then as UsageIn has them; the time as microseconds
# since 1970-01-01 UTC: exact, and a quarter of the time ISO 8601 takes to write, per record).
BATCH_FIELDS = ("index", "id", "msisdn", "iccid", "kind", "amount", "country", "at_us")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# A batch still pending this long after it arrived has lost its task (or the broker did): the
# sweep queues it again. Longer than a busy queue takes, so that the sweep seldom doubles a task.
BATCH_GRACE = timedelta(minutes=5)
BATCH_SWEEP_LIMIT = 500
# At most how many pending batches one task applies together (MAX_BATCH records each), oldest
# first: enough that a queue built up by a burst is drained in a few transactions (each rewrites
# its lines' buckets and days once, however many batches it holds), few enough that one holds its
# buckets' locks for well under a second (~0.6 s for twenty on the bench's two cores).
APPLY_TOGETHER = 20


@dataclass(frozen=True, slots=True)
class BatchAccepted:
    """What became of a posted batch at once: the batch its good records wait in (None when no
    record passed the checks, and nothing was stored), how many, and the records rejected."""

    batch_id: int | None
    queued: int
    errors: list[RecordError]


def usage_batch_accept(*, records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> BatchAccepted:
    """Check a batch of at most ``MAX_BATCH`` records and store the good ones as one pending
    ``UsageBatch``; one transaction, one row. After the commit a task on the ``usage`` queue is
    asked to apply it (``usage_batch_apply``).

    Guarantees: a batch that is stored is applied, exactly once: if the broker cannot take the
    task, or the task is lost, ``usage_batches_due`` finds the batch and the sweep queues it
    again. Records that fail the checks are reported here, with the batch's other rejections
    when it is applied; unknown lines and ids seen before are found when it is applied (against
    the lines and records as they are then). A batch with no good record is not stored.
    """
    if len(records) > MAX_BATCH:
        raise BatchTooLarge(f"at most {MAX_BATCH} records a batch")
    now = now or timezone.now()
    checked, errors = usage_records_check(records=records, now=now)
    if not checked:
        return BatchAccepted(batch_id=None, queued=0, errors=errors)
    stored = [  # BATCH_FIELDS
        [r.index, r.record_id, r.msisdn, r.iccid, r.kind, r.amount, r.country, (r.at - _EPOCH) // _MICROSECOND]
        for r in checked
    ]
    rejected = [error.as_dict() for error in errors]
    with transaction.atomic():
        insert = sql._batch_insert_pg if sql._fast_sql() else sql._batch_insert
        batch_id = insert(now, stored, rejected)
        from plans import tasks  # the tasks module imports this one

        # If the broker cannot take the task, the batch stays pending and the sweep queues it.
        enqueue_on_commit(tasks.usage_batch_apply_task, batch_id)
    return BatchAccepted(batch_id=batch_id, queued=len(checked), errors=errors)


def usage_batch_apply(*, batch_id: int, now: datetime | None = None) -> str:
    """Apply a pending batch to the buckets (as ``usage_ingest`` does) and mark it applied with
    its report, in one transaction: ``"applied"``. The batches waiting behind it, up to
    ``APPLY_TOGETHER`` in all and none another worker holds, are applied in the same transaction,
    each with its own report. A batch already applied is left alone (``"done"``), as is one
    another worker is applying right now (``"busy"``: its row is locked; should that worker die,
    its transaction rolls back, its task is delivered again and applies the batch, with any others
    still pending, and the sweep finds whatever is still pending after that). ``"missing"`` for
    no such batch.

    So a batch is applied once however often its task runs, and a worker killed mid-apply
    leaves every batch it held pending, not half applied. Should the database refuse a group
    (one batch it cannot take), the task applies its own batch alone, so that one batch holds
    back no other; should that fail too, the error is the task's and the batch stays pending.
    """
    now = now or timezone.now()
    with collector_paused():  # up to APPLY_TOGETHER * MAX_BATCH records alive at once
        try:
            with transaction.atomic():
                return _batch_apply(batch_id, now, together=APPLY_TOGETHER)
        except DatabaseError:
            logger.warning("usage batch %s: applying it with others failed; now alone", batch_id, exc_info=True)
        with transaction.atomic():
            return _batch_apply(batch_id, now, together=1)


def _batch_apply(batch_id: int, now: datetime, *, together: int) -> str:
    # The batch first, then (in _apply) its record ids, its buckets in pk order and its days: one
    # lock order for every applier.
    locked = sql._batch_lock(batch_id)
    if locked is None:
        return "missing" if not UsageBatch.objects.filter(pk=batch_id).exists() else "busy"
    status, received_at, rows = locked
    if status == UsageBatch.Status.APPLIED:
        return "done"
    # Batches waiting behind this one are applied with it, this one first and then the others
    # oldest first (an id in two of them counts in the first): every batch over the same lines
    # rewrites their buckets and daily totals, so a queue applied together writes those rows once
    # rather than once a batch. Each keeps its own report; their tasks then find them done.
    group = [(batch_id, received_at, rows), *sql._batches_claim(besides=batch_id, limit=together - 1)]
    batches = {pk: Arrived(records=_records_read(rows), received_at=received_at) for pk, received_at, rows in group}
    _apply(list(batches.values()), now)
    for pk, batch in batches.items():
        batch.report.errors.sort(key=lambda error: error.index)
        UsageBatch.objects.filter(pk=pk).update(
            status=UsageBatch.Status.APPLIED, applied_at=now, report=batch.report.as_dict()
        )
    return "applied"


def _records_read(rows: list[list[Any]]) -> list[UsageIn]:
    """A stored batch's records (``BATCH_FIELDS``) as the checks made them."""
    epoch, microsecond = _EPOCH, _MICROSECOND
    return [  # positional, which takes a third less time than by name
        UsageIn(index, record_id, msisdn, iccid, kind, amount, country, epoch + at_us * microsecond)
        for index, record_id, msisdn, iccid, kind, amount, country, at_us in rows
    ]


def usage_batches_due(*, now: datetime | None = None, limit: int = BATCH_SWEEP_LIMIT) -> list[int]:
    """Batches still pending ``BATCH_GRACE`` after they arrived (their task was lost, or the
    broker was down), oldest first: one query on a partial index of the pending batches."""
    now = now or timezone.now()
    return list(
        UsageBatch.objects.filter(status=UsageBatch.Status.PENDING, received_at__lte=now - BATCH_GRACE)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )


BATCH_PRUNE_CHUNK = 1_000


def usage_batches_prune(*, now: datetime | None = None) -> int:
    """Delete the applied batches that arrived more than ``USAGE_BATCH_KEEP_DAYS`` ago, a chunk
    at a time; how many. Their records stay in plans_usagerecord. A batch still pending is kept,
    however old: it has yet to be applied. Ids grow with arrival, so each chunk is read from the
    start of the primary key and stops at the first thousand it finds."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.USAGE_BATCH_KEEP_DAYS)
    deleted = 0
    while True:
        chunk = list(
            UsageBatch.objects.filter(status=UsageBatch.Status.APPLIED, received_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:BATCH_PRUNE_CHUNK]
        )
        if not chunk:
            return deleted
        deleted += UsageBatch.objects.filter(pk__in=chunk).delete()[1].get(UsageBatch._meta.label, 0)


def usage_batch_report(*, batch: UsageBatch) -> dict[str, Any]:
    """What the network reads about a batch: its status and, once applied, what became of each
    record (accepted, duplicate, or rejected with index, id, field and reason)."""
    applied = batch.report if batch.status == UsageBatch.Status.APPLIED else None
    errors = [*batch.errors, *(applied["errors"] if applied else [])]
    errors.sort(key=lambda error: error["index"])
    return {
        "batch": batch.pk,
        "status": batch.status,
        "received_at": batch.received_at.isoformat(),
        "applied_at": batch.applied_at.isoformat() if batch.applied_at else None,
        "queued": batch.record_count,
        "accepted": applied["accepted"] if applied else None,
        "duplicate": applied["duplicate"] if applied else None,
        "rejected": len(errors),
        "errors": errors,
    }
