"""Usage records from the mobile network: checking a batch, then applying it to the buckets.

The API (``plans.api``) checks a batch and stores its good records as one pending
``UsageBatch`` (``usage_batch_accept``), answering at once; a task on the ``usage`` queue then
applies it (``usage_batch_apply``), and a sweep queues any batch whose task was lost
(``usage_batches_due``). ``manage.py import_usage`` checks and applies in one go
(``usage_ingest``). Checking a record needs no database (``usage_records_check``); applying a
batch is one transaction with a fixed number of queries, however many records or lines it holds.

The package's modules: ``records`` (checking), ``apply`` (applying to the buckets), ``batches``
(accepting, queuing and applying a stored batch) and ``sql`` (the rows and statements that write
them). Only the names below are for the rest of the project.
"""

from plans.usage.apply import usage_ingest
from plans.usage.batches import (
    BatchAccepted,
    usage_batch_accept,
    usage_batch_apply,
    usage_batch_report,
    usage_batches_due,
    usage_batches_prune,
)
from plans.usage.records import MAX_BATCH, BatchTooLarge, RecordError, usage_records_check

__all__ = [
    "MAX_BATCH",
    "BatchAccepted",
    "BatchTooLarge",
    "RecordError",
    "usage_batch_accept",
    "usage_batch_apply",
    "usage_batch_report",
    "usage_batches_due",
    "usage_batches_prune",
    "usage_ingest",
    "usage_records_check",
]
