"""A batch posted twice is stored once: the network's retry of a post whose answer it lost (same
``Idempotency-Key``, or the very same signed request) gets the first batch's answer again.

Kept out of ``plans.usage``, which checks and applies the records: this only decides whether a
post is new, around ``usage.usage_batch_accept``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from plans import usage
from plans.models import UsageBatch, UsageBatchKey

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# As Stripe takes them: up to 255 visible ASCII characters.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyInvalid(ValueError):
    """The ``Idempotency-Key`` header is not 1 to 255 visible ASCII characters."""


class IdempotencyKeyReused(ValueError):
    """The key was used before for a different body."""


@dataclass(frozen=True, slots=True)
class BatchPosted:
    """What a post made: the batch as ``usage_batch_accept`` reports it, its status now, and
    whether it is the first batch again (``replayed``) rather than a new one."""

    accepted: usage.BatchAccepted
    status: str
    replayed: bool


def usage_post_key(*, header: str | None, signature: str) -> str:
    """The idempotency key of a post: the ``Idempotency-Key`` header if sent, else its (checked,
    lower-case) signature, which names one body at one time for one address."""
    if header is None:
        return f"sig:{signature}"
    if not _IDEMPOTENCY_KEY.fullmatch(header):
        raise IdempotencyKeyInvalid(f"{IDEMPOTENCY_KEY_HEADER} must be 1 to 255 visible ASCII characters")
    return f"key:{header}"


def usage_post_replay(*, key: str, body: bytes) -> BatchPosted | None:
    """The first batch posted under ``key`` (None if none was): raises ``IdempotencyKeyReused``
    if it was posted with another body. One query."""
    first = UsageBatchKey.objects.select_related("batch").filter(key=key).first()
    if first is None:
        return None
    if first.body_sha256 != hashlib.sha256(body).hexdigest():
        raise IdempotencyKeyReused(f"{IDEMPOTENCY_KEY_HEADER} was used before for a different body")
    batch = first.batch
    errors = [usage.RecordError(**error) for error in batch.errors]
    accepted = usage.BatchAccepted(batch_id=batch.pk, queued=batch.record_count, errors=errors)
    return BatchPosted(accepted=accepted, status=batch.status, replayed=True)


def usage_post_accept(
    *, key: str, body: bytes, records: Sequence[Mapping[str, Any]], now: datetime | None = None
) -> BatchPosted:
    """Store the post's good records as one batch under ``key`` (``usage.usage_batch_accept``),
    unless a batch is stored under it already: then answer that one, and store nothing.

    Guarantees: one batch per key, however many posts race: the key's row is written in the
    batch's transaction and is unique, so the loser of a race rolls back its batch (and the task
    it would have queued) and answers the winner's. A post with no good record stores no batch
    and no key.
    """
    if (replayed := usage_post_replay(key=key, body=body)) is not None:
        return replayed
    try:
        with transaction.atomic():
            accepted = usage.usage_batch_accept(records=records, now=now)
            if accepted.batch_id is not None:
                UsageBatchKey.objects.create(
                    key=key, batch_id=accepted.batch_id, body_sha256=hashlib.sha256(body).hexdigest()
                )
    except IntegrityError:
        if (replayed := usage_post_replay(key=key, body=body)) is None:
            raise
        return replayed
    return BatchPosted(accepted=accepted, status=UsageBatch.Status.PENDING.value, replayed=False)
