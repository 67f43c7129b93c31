"""The mobile network's usage feed, as one more kind of traffic in the bank test: signed batches
of data records for the customers' lines, posted over HTTP while they renew, refunds race and a
worker is killed; some sent again with their Idempotency-Key, some again as a new batch. Then the
books of usage: every record counted once, and on every line what the network reported is what
its buckets, its records' overage and its daily totals hold."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import connection
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone

from plans.models import Bucket, DailyUsage, Line, UsageBatch, UsageRecord
from plans.signing import usage_signature

EVERY = 0.4  # seconds between two batches
RECORDS = 40  # a batch
MAX_MB = 120  # a record's data, at most: enough that some buckets run low and some run out


class UsageFeed:
    """Posts a batch every ``EVERY`` seconds from a thread of its own until stopped; remembers
    what it sent (each record's line and amount) and the batches the API answered with."""

    def __init__(self, base: str, lines: list[Line], record: Any) -> None:
        self.url = base + reverse("plans:api_usage")
        self.path = reverse("plans:api_usage")
        self.names = {line.pk: line.msisdn.as_e164 for line in lines}
        self.record = record
        self.sent: dict[str, tuple[int, int]] = {}  # record id -> (line, bytes)
        self.batches: set[int] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.random = random.Random(2026)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        session = requests.Session()
        n = 0
        try:
            while not self.stop.wait(EVERY):
                n += 1
                records = [self._record(f"bank-{n}-{k}") for k in range(RECORDS)]
                body = json.dumps({"records": records}).encode()
                key = f"bank-batch-{n}"
                self._post(session, body, key, "usage batch")
                if n % 4 == 0:  # the network did not hear the answer: the same post again
                    self._post(session, body, key, "usage batch again (same key)")
                if n % 6 == 0:  # sent again as a batch of its own: every record a duplicate
                    self._post(session, body, f"{key}-resent", "usage batch resent (new key)")
        except Exception as error:
            self.record.problem(f"the usage feed stopped: {error!r}")
        finally:
            session.close()
            connection.close()

    def _record(self, record_id: str) -> dict[str, Any]:
        line_id = self.random.choice(list(self.names))
        amount = self.random.randrange(1, MAX_MB * 2**20)
        self.sent[record_id] = (line_id, amount)
        at = timezone.now() - timedelta(seconds=self.random.randrange(1, 60))
        return {
            "id": record_id,
            "msisdn": self.names[line_id],
            "kind": "data",
            "amount": amount,
            "country": "CN",
            "at": at.isoformat(),
        }

    def _post(self, session: requests.Session, body: bytes, key: str, what: str) -> None:
        stamp = str(int(time.time()))
        signature = usage_signature(
            key=settings.USAGE_API_KEYS[0], timestamp=stamp, method="POST", path=self.path, body=body
        )
        headers = {
            "Content-Type": "application/json",
            "X-Boom-Timestamp": stamp,
            "X-Boom-Signature": signature,
            "Idempotency-Key": key,
        }
        try:
            response = session.post(self.url, data=body, headers=headers, timeout=30)
        except requests.RequestException as error:
            self.record.answer(what, None, error)
            return
        self.record.answer(what, response)
        if response.status_code == 202:
            self.batches.add(int(response.json()["batch"]))
            self.record.count(what)
        else:
            self.record.problem(f"{what} -> {response.status_code}: {response.text[:200]!r}")


def usage_books(feed: UsageFeed) -> list[str]:
    """What is wrong with the usage books: every batch applied, every record sent stored once and
    counted by one batch, and on each line the bytes the network reported = the bytes its buckets
    used + its records' overage = its daily totals (data and overage)."""
    problems = []
    pending = UsageBatch.objects.filter(pk__in=feed.batches).exclude(status=UsageBatch.Status.APPLIED)
    if pending.exists():
        problems.append(f"usage batches never applied: {sorted(pending.values_list('pk', flat=True))[:20]}")
    stored = set(UsageRecord.objects.filter(record_id__startswith="bank-").values_list("record_id", flat=True))
    if stored != set(feed.sent):
        problems.append(
            f"usage records: {len(feed.sent)} sent, {len(stored)} stored, {len(stored ^ set(feed.sent))} differ"
        )
    accepted = sum(
        report["accepted"]
        for report in UsageBatch.objects.filter(pk__in=feed.batches).values_list("report", flat=True)
        if report
    )
    if accepted != len(feed.sent):
        problems.append(f"usage batches accepted {accepted} records in all, for {len(feed.sent)} sent")

    reported: dict[int, int] = defaultdict(int)
    for line_id, amount in feed.sent.values():
        reported[line_id] += amount
    used = dict(
        Bucket.objects.filter(line_id__in=reported)
        .values("line_id")
        .annotate(n=Sum("data_used"))
        .values_list("line_id", "n")
    )
    overage = dict(
        UsageRecord.objects.filter(line_id__in=reported)
        .values("line_id")
        .annotate(n=Sum("overage"))
        .values_list("line_id", "n")
    )
    daily = dict(
        DailyUsage.objects.filter(line_id__in=reported)
        .values("line_id")
        .annotate(n=Sum(F("data") + F("data_overage")))
        .values_list("line_id", "n")
    )
    for line_id, total in sorted(reported.items()):
        held = (used.get(line_id) or 0) + (overage.get(line_id) or 0)
        if not total == held == daily.get(line_id):
            problems.append(
                f"line {line_id}: the network reported {total} bytes; buckets used + overage = {held}, "
                f"daily totals {daily.get(line_id)}"
            )
    return problems
