"""Figure 2: usage records per second through ``POST /api/usage/`` against PostgreSQL's COPY of
the same rows into an unindexed table of the same shape, two ways in one pass: (a) accepted,
every batch answered 202 and stored; (b) applied, from the first request until the Celery
worker on the ``usage`` queue has applied every batch."""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from bench import seed, stack
from bench.load import Request, send_all
from plans.models import Plan, UsageBatch, UsageRecord
from plans.signing import usage_signature

COLUMNS = ("record_id", "line_id", "kind", "amount", "country", "at", "received_at", "overage")
KINDS = ("data",) * 16 + ("voice",) * 3 + ("sms",)
COUNTRIES = ("HK",) * 17 + ("CN", "JP", "GB")


@dataclass
class UsageResult:
    records: int
    lines: int
    batch: int
    client_threads: int
    # (a) From the first request to the last answer: every batch answered 202 and stored.
    accept_seconds: float
    # (b) From the first request until the worker had applied every batch.
    applied_seconds: float = 0.0
    copy_seconds: list[float] = field(default_factory=list)
    # COPY into a table with plans_usagerecord's key, index and constraints: what the
    # table itself costs, whatever the code in front of it.
    copy_indexed_seconds: list[float] = field(default_factory=list)
    # The same as the table was before plans migration 0006: its (line, at) index and foreign key.
    copy_before_seconds: list[float] = field(default_factory=list)

    @property
    def accept_rate(self) -> float:
        return self.records / self.accept_seconds

    @property
    def applied_rate(self) -> float:
        return self.records / self.applied_seconds

    @property
    def copy_rate(self) -> float:
        return self.records / statistics.median(self.copy_seconds)

    @property
    def accept_ratio(self) -> float:
        return self.accept_rate / self.copy_rate

    @property
    def applied_ratio(self) -> float:
        return self.applied_rate / self.copy_rate

    @property
    def copy_indexed_ratio(self) -> float:
        return statistics.median(self.copy_seconds) / statistics.median(self.copy_indexed_seconds)

    @property
    def copy_before_ratio(self) -> float:
        return statistics.median(self.copy_seconds) / statistics.median(self.copy_before_seconds)


@dataclass
class Feed:
    bodies: list[bytes]
    copy_text: bytes


def lines_make(plans: dict[str, Plan], *, lines: int) -> list[int]:
    """``lines`` owned lines on basic-30, each with a live bucket (10 days in, 20 to go)."""
    owners = seed.users_insert(first=500_000, count=max(lines // 20, 1))
    seed.lines_insert(
        numbers=seed.USAGE_LINES,
        first=1,
        count=lines,
        owner_ids=owners,
        plan=plans["basic-30"],
        expires_at_sql="now + interval '20 days'",
    )
    line_ids = seed.lines_of(seed.USAGE_LINES, 1, lines)
    seed.buckets_insert(
        line_ids_sql=f"SELECT id FROM plans_line WHERE id BETWEEN {min(line_ids)} AND {max(line_ids)}",  # noqa: S608
        plan=plans["basic-30"],
        starts="now() - interval '10 days'",
        expires="now() + interval '20 days'",
    )
    return line_ids


def feed_make(line_ids: list[int], *, records: int, batch: int, now: datetime) -> Feed:
    """The network's feed: records spread at random over the lines and the last three days,
    named by number (4 in 5) or ICCID; as JSON batches, and as COPY text for the reference."""
    rng = random.Random(2026)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, msisdn, iccid FROM plans_line WHERE id = ANY(%s)", [line_ids])
        names = {pk: (msisdn, iccid) for pk, msisdn, iccid in cursor.fetchall()}
    received = now.isoformat()
    bodies = []
    copy_rows = io.StringIO()
    for first in range(0, records, batch):
        chunk = []
        for n in range(first, min(first + batch, records)):
            line_id = line_ids[rng.randrange(len(line_ids))]
            kind = rng.choice(KINDS)
            amount = {"data": rng.randrange(1_000, 5_000_000), "voice": rng.randrange(1, 600), "sms": 1}[kind]
            at = (now - timedelta(seconds=rng.randrange(3 * 24 * 3600))).isoformat()
            record: dict[str, object] = {"id": f"bench-{n:07d}", "kind": kind, "amount": amount, "at": at}
            record["country"] = rng.choice(COUNTRIES)
            msisdn, iccid = names[line_id]
            if rng.random() < 0.8:
                record["msisdn"] = msisdn
            else:
                record["iccid"] = iccid
            chunk.append(record)
            values = (record["id"], line_id, kind, amount, record["country"], at, received, 0)
            copy_rows.write("\t".join(str(value) for value in values) + "\n")
        bodies.append(json.dumps({"records": chunk}, separators=(",", ":")).encode())
    return Feed(bodies=bodies, copy_text=copy_rows.getvalue().encode())


COPY_TABLES = "bench_usage_copy, bench_usage_copy_indexed, bench_usage_copy_before"


def _copy_tables_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {COPY_TABLES}")
        # The columns, defaults and identity of plans_usagerecord; no index, key or constraint.
        cursor.execute("CREATE TABLE bench_usage_copy (LIKE plans_usagerecord INCLUDING DEFAULTS INCLUDING IDENTITY)")
        # And with everything plans_usagerecord has: its key, unique index and check (no foreign key
        # since plans migration 0006); then as it was before 0006, with its (line_id, at) index and
        # its foreign key to plans_line.
        for table in ("bench_usage_copy_indexed", "bench_usage_copy_before"):
            cursor.execute(f"CREATE TABLE {table} (LIKE plans_usagerecord INCLUDING ALL)")
        cursor.execute("CREATE INDEX ON bench_usage_copy_before (line_id, at)")
        cursor.execute(
            "ALTER TABLE bench_usage_copy_before ADD FOREIGN KEY (line_id) REFERENCES plans_line (id)"
            " DEFERRABLE INITIALLY DEFERRED"
        )


def copy_once(text: bytes, table: str = "bench_usage_copy") -> float:
    """COPY every row in one transaction; seconds from the statement to the commit."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    start = time.perf_counter()
    statement = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
    with raw.transaction(), raw.cursor() as cursor, cursor.copy(statement) as copy:
        for offset in range(0, len(text), 1 << 20):
            copy.write(text[offset : offset + (1 << 20)])
    return time.perf_counter() - start


def _signed(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Boom-Timestamp": timestamp,
        "X-Boom-Signature": usage_signature(
            key=stack.USAGE_KEY, timestamp=timestamp, method="POST", path=reverse("plans:api_usage"), body=body
        ),
    }


def measure(
    base_url: str, plans: dict[str, Plan], *, records: int, lines: int, batch: int, threads: int
) -> UsageResult:
    line_ids = lines_make(plans, lines=lines)
    seed.analyze()
    feed = feed_make(line_ids, records=records, batch=batch, now=timezone.now())
    _copy_tables_create()
    result = UsageResult(records=records, lines=lines, batch=batch, client_threads=threads, accept_seconds=0.0)
    # The reference before and after the API, so that a slow spell of the machine shows in both.
    result.copy_seconds += [copy_once(feed.copy_text), copy_once(feed.copy_text)]
    result.copy_indexed_seconds.append(copy_once(feed.copy_text, "bench_usage_copy_indexed"))
    result.copy_before_seconds.append(copy_once(feed.copy_text, "bench_usage_copy_before"))
    connection.close()  # the API's and the worker's processes get the database to themselves meanwhile
    requests = [Request("/api/usage/", body, _signed) for body in feed.bodies]
    with stack.usage_workers(dict(os.environ)):
        start = time.perf_counter()
        sent = send_all(base_url, requests, threads=threads)
        result.accept_seconds = sent.seconds
        result.applied_seconds = _until_applied(len(feed.bodies)) - start
    result.copy_seconds.append(copy_once(feed.copy_text))
    for _ in range(2):
        result.copy_indexed_seconds.append(copy_once(feed.copy_text, "bench_usage_copy_indexed"))
        result.copy_before_seconds.append(copy_once(feed.copy_text, "bench_usage_copy_before"))
    _check(sent.answers, records=records, batches=len(feed.bodies))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {COPY_TABLES}")
    return result


def _until_applied(batches: int, timeout: float = 1800) -> float:
    """Poll (one count on the pending batches' partial index, 20 times a second) until the
    ``batches`` batches are stored and none is pending; the time it was seen (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'pending') FROM plans_usagebatch")
            row = cursor.fetchone()
        assert row is not None
        if row[0] >= batches and row[1] == 0:
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"the usage batches were not all applied within {timeout:.0f} s; see var/bench/celery-usage.log")


def _check(answers: list[tuple[int, bytes]], *, records: int, batches: int) -> None:
    """Every batch answered 202 with every record queued, stored, and applied: every record
    accepted (none a duplicate or rejected) and in plans_usagerecord."""
    queued = 0
    for status, body in answers:
        if status != 202:
            raise RuntimeError(f"the usage API answered {status}: {body[:300]!r}")
        answer = json.loads(body)
        if answer["rejected"]:
            raise RuntimeError(f"records rejected: {answer['errors'][:3]}")
        queued += answer["queued"]
    reports = [report or {} for report in UsageBatch.objects.values_list("report", flat=True)]
    accepted = sum(report.get("accepted", 0) for report in reports)
    problems = [report for report in reports if report.get("duplicate") or report.get("rejected") or not report]
    stored = UsageRecord.objects.filter(record_id__startswith="bench-").count()
    if len(reports) != batches or problems or not queued == accepted == stored == records:
        raise RuntimeError(
            f"{records} records sent in {batches} batches: {queued} queued, {len(reports)} batches stored,"
            f" {accepted} accepted, {stored} in plans_usagerecord; {problems[:1]}"
        )
