"""The rows applying a batch reads and writes, as plain data, and the statements that write them.

A batch writes thousands of rows. On PostgreSQL the records are one binary COPY, and each other
write is one statement reading the rows as one JSON parameter, which spares building a model
instance per row and Django's CASE per bucket in bulk_update (quadratic in the number of
buckets). Other databases (SQLite, for the demo) take the ORM's way. ``_fast_sql`` chooses; its
callers look it up here each time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL

from plans.models import Bucket, DailyUsage, UsageBatch, UsageRecord
from plans.usage.records import UsageIn


@dataclass(slots=True)
class _Bucket:
    """What applying usage needs of an Bucket row (thousands a batch: no model instances)."""

    pk: int
    line_id: int
    plan_code: str
    countries: frozenset[str]
    starts_at: datetime
    expires_at: datetime
    data_total: int
    data_used: int
    voice_total: int
    voice_used: int
    sms_total: int
    sms_used: int


_BUCKET_COLUMNS = (
    "pk", "line_id", "plan__code", "countries", "starts_at", "expires_at",
    "data_total", "data_used", "voice_total", "voice_used", "sms_total", "sms_used",
)  # fmt: skip
# A record as applying stores it: a tuple of these columns (thousands a batch: no model instances),
# and their types, for a binary COPY (no text to make and parse).
_RECORD_COLUMNS = ("record_id", "line_id", "kind", "amount", "country", "at", "received_at", "overage")
_RecordRow = tuple[str, int, str, int, str, datetime, datetime, int]
_RECORD_TYPES = ("text", "int8", "text", "int8", "text", "timestamptz", "timestamptz", "int8")
# A line's day of usage (DailyUsage), in the order applying adds them up (``plans.usage.apply._DAY_SLOT``).
_DAY_FIELDS = ("data", "voice", "sms", "data_overage", "voice_overage", "sms_overage")
# A day's newest record, kept on its row (``DailyUsage.last_at``).
_LAST_FIELDS = ("last_at", "last_kind", "last_amount", "last_country")


def _fast_sql() -> bool:
    return connection.vendor == "postgresql"


def _one_of(values: Iterable[Any], db_type: str) -> list[Any] | RawSQL:
    """The right side of a ``__in`` filter on thousands of values (a batch's record ids, its
    lines). On PostgreSQL, one array parameter (``IN (SELECT unnest(%s))``): as a list, each value
    is a placeholder of its own, which psycopg splits and quotes one by one (5,000 record ids took
    ten times as long), and PostgreSQL may scan the table rather than probe its index."""
    if _fast_sql():
        return RawSQL(f"SELECT unnest(%s::{db_type}[])", (sorted(values),))  # noqa: S611 (db_type: ours)
    return list(values)


def _json(rows: Iterable[Any]) -> str:
    """Compact JSON (orjson: a 5,000-record batch in a tenth of the standard library's time);
    dates and times as ISO 8601."""
    return orjson.dumps(list(rows), default=lambda value: value.isoformat()).decode()


def _records_insert(rows: list[_RecordRow]) -> set[str]:
    """Store the records whose ids are new; their ids. (SQLite: one writer at a time, so the ids
    read first are still all there is when the rows are written.)"""
    stored = set(UsageRecord.objects.filter(record_id__in=[row[0] for row in rows]).values_list("record_id", flat=True))
    new = [row for row in rows if row[0] not in stored]
    UsageRecord.objects.bulk_create(
        [UsageRecord(**dict(zip(_RECORD_COLUMNS, row, strict=True))) for row in new], ignore_conflicts=True
    )
    return {row[0] for row in new}


def _records_insert_pg(rows: list[_RecordRow]) -> set[str]:
    """Store the records whose ids are new, in the order given (by id); their ids.

    The usual case, none stored yet: one COPY, in a savepoint (a third of the time of an INSERT
    from JSON, most of that PostgreSQL reading the JSON). Should one of them be stored already,
    or be stored meanwhile by another transaction (COPY waits for it, on the unique index, and
    fails if it commits), the savepoint is rolled back and the unique index decides, row by row:
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, which skips the stored ones. Either way each
    id is stored once, and every applier meets the ids in the same order."""
    try:
        with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
            statement = f"COPY plans_usagerecord ({', '.join(_RECORD_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            with cursor.copy(statement) as copy:
                copy.set_types(_RECORD_TYPES)
                for row in rows:
                    copy.write_row(row)
        return {row[0] for row in rows}
    except IntegrityError:
        pass  # an id stored already: the upsert below passes over it
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_usagerecord (record_id, line_id, kind, amount, country, at, received_at, overage)
            SELECT r.record_id, r.line_id, r.kind, r.amount, r.country, r.at, r.received_at, r.overage
            FROM json_populate_recordset(NULL::plans_usagerecord, %s::json) WITH ORDINALITY AS r
            ORDER BY r.ordinality
            ON CONFLICT (record_id) DO NOTHING
            RETURNING record_id
            """,
            [_json(dict(zip(_RECORD_COLUMNS, row, strict=True)) for row in rows)],
        )
        return {row[0] for row in cursor.fetchall()}


def _overage_set(overages: dict[str, int]) -> None:
    for record_id, overage in sorted(overages.items()):
        UsageRecord.objects.filter(record_id=record_id).update(overage=overage)


def _overage_set_pg(overages: dict[str, int]) -> None:
    """The overage of the records just stored that have some (no bucket could pay all of them)."""
    if not overages:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE plans_usagerecord AS r SET overage = v.overage
            FROM unnest(%s::text[], %s::bigint[]) AS v (record_id, overage)
            WHERE r.record_id = v.record_id
            """,
            [list(overages), list(overages.values())],
        )


def _buckets_lock_pg(line_ids: Iterable[int], first: datetime, last: datetime) -> list[_Bucket]:
    """The live buckets of these lines between ``first`` and ``last``, locked in pk order: one
    statement, read straight from the cursor (no model, no JSONField per row)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.id, b.line_id, p.code, b.countries::text, b.starts_at, b.expires_at,
                   b.data_total, b.data_used, b.voice_total, b.voice_used, b.sms_total, b.sms_used
            FROM plans_bucket AS b JOIN plans_plan AS p ON p.id = b.plan_id
            WHERE b.line_id = ANY(%s::bigint[]) AND b.starts_at <= %s AND b.expires_at > %s
            ORDER BY b.id
            FOR NO KEY UPDATE OF b
            """,
            [sorted(line_ids), last, first],
        )
        return [
            _Bucket(pk, line_id, code, frozenset(orjson.loads(countries)), *rest)
            for pk, line_id, code, countries, *rest in cursor.fetchall()
        ]


def _batch_insert(received_at: datetime, records: list[list[Any]], errors: list[dict[str, Any]]) -> int:
    batch = UsageBatch.objects.create(
        received_at=received_at, records=records, record_count=len(records), errors=errors
    )
    return batch.pk


def _batch_insert_pg(received_at: datetime, records: list[list[Any]], errors: list[dict[str, Any]]) -> int:
    """The batch's row, its records as compact JSON text made here (half the time of the
    JSONField's way: no spaces, no adapter), stored as that text (a ``json`` column)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_usagebatch (received_at, records, record_count, errors, status)
            VALUES (%s, %s::json, %s, %s::jsonb, %s)
            RETURNING id
            """,
            [received_at, _json(records), len(records), _json(errors), UsageBatch.Status.PENDING],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _batch_lock(batch_id: int) -> tuple[str, datetime, list[list[Any]]] | None:
    """The batch's status, arrival and records (``plans.usage.batches.BATCH_FIELDS``), its row
    locked; None when it is missing or another worker holds it. One query; on PostgreSQL the
    records come as the text stored (``json``) for orjson."""
    if not _fast_sql():
        batch = (
            UsageBatch.objects.select_for_update(skip_locked=True)
            .filter(pk=batch_id)
            .values_list("status", "received_at", "records")
            .first()
        )
        return None if batch is None else (batch[0], batch[1], batch[2])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, received_at, records::text FROM plans_usagebatch WHERE id = %s FOR UPDATE SKIP LOCKED",
            [batch_id],
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1], orjson.loads(row[2]))


def _batches_claim(*, besides: int, limit: int) -> list[tuple[int, datetime, list[list[Any]]]]:
    """Up to ``limit`` other pending batches, oldest first, their rows locked: each as (id,
    arrival, records). Rows another worker holds are passed over, not waited for (``SKIP
    LOCKED``), so claiming never waits and two workers never claim the same batch. One query, on
    the partial index of the pending batches."""
    if limit <= 0:
        return []
    if not _fast_sql():
        pending = (
            UsageBatch.objects.select_for_update(skip_locked=True)
            .filter(status=UsageBatch.Status.PENDING)
            .exclude(pk=besides)
            .order_by("received_at", "pk")
        )
        return list(pending.values_list("pk", "received_at", "records")[:limit])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT id, received_at, records::text FROM plans_usagebatch
            WHERE status = %s AND id <> %s
            ORDER BY received_at, id
            LIMIT %s
            FOR UPDATE SKIP LOCKED
            """,
            [UsageBatch.Status.PENDING, besides, limit],
        )
        return [(pk, received_at, orjson.loads(records)) for pk, received_at, records in cursor.fetchall()]


def _buckets_save(buckets: Iterable[_Bucket]) -> None:
    Bucket.objects.bulk_update(
        [
            Bucket(id=b.pk, data_used=b.data_used, voice_used=b.voice_used, sms_used=b.sms_used)
            for b in sorted(buckets, key=lambda bucket: bucket.pk)
        ],
        ["data_used", "voice_used", "sms_used"],
        batch_size=500,
    )


def _buckets_save_pg(buckets: Iterable[_Bucket]) -> None:
    rows = [
        {"id": b.pk, "data_used": b.data_used, "voice_used": b.voice_used, "sms_used": b.sms_used}
        for b in sorted(buckets, key=lambda bucket: bucket.pk)
    ]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE plans_bucket AS e
            SET data_used = v.data_used, voice_used = v.voice_used, sms_used = v.sms_used
            FROM json_populate_recordset(NULL::plans_bucket, %s::json) AS v
            WHERE e.id = v.id
            """,
            [_json(rows)],
        )


def _days_add(days: dict[tuple[int, date], list[int]], newest: dict[tuple[int, date], UsageIn]) -> None:
    """Add the batch's totals to the lines' daily rows, and each day's newest record where it is
    newer than the one kept: one read and one upsert.

    SQLite (the demo): this transaction has written already, so it holds the database's one write
    lock and no one else changes these rows between the read and the write. (On PostgreSQL the
    upsert adds in the database: ``_days_add_pg``.)
    """
    stored = {
        (row[0], row[1]): row[2:]
        for row in DailyUsage.objects.filter(
            line_id__in={line_pk for line_pk, _ in days}, day__in={day for _, day in days}
        ).values_list("line_id", "day", *_DAY_FIELDS, *_LAST_FIELDS)
    }
    rows = []
    for (line_pk, day), totals in sorted(days.items()):
        last = _last_of(newest[line_pk, day])
        before = stored.get((line_pk, day))
        if before is not None:
            kept_totals, kept_last = before[: len(_DAY_FIELDS)], before[len(_DAY_FIELDS) :]
            totals = [a + b for a, b in zip(totals, kept_totals, strict=True)]
            if kept_last[0] is not None and kept_last[0] > last["last_at"]:
                last = dict(zip(_LAST_FIELDS, kept_last, strict=True))
        rows.append(DailyUsage(line_id=line_pk, day=day, **dict(zip(_DAY_FIELDS, totals, strict=True)), **last))
    DailyUsage.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["line", "day"], update_fields=[*_DAY_FIELDS, *_LAST_FIELDS]
    )


def _last_of(record: UsageIn) -> dict[str, Any]:
    """A day's newest record, as the row keeps it (``_LAST_FIELDS``)."""
    return dict(zip(_LAST_FIELDS, (record.at, record.kind, record.amount, record.country), strict=True))


def _days_add_pg(days: dict[tuple[int, date], list[int]], newest: dict[tuple[int, date], UsageIn]) -> None:
    """Add the batch's totals to the lines' daily rows, and each day's newest record where it is
    newer than the one kept (the later applied where two are as new), in the database: one upsert."""
    rows = (
        {"line_id": line, "day": day, **dict(zip(_DAY_FIELDS, totals, strict=True)), **_last_of(newest[line, day])}
        for (line, day), totals in sorted(days.items())
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_dailyusage (line_id, day, data, voice, sms, data_overage, voice_overage, sms_overage,
                                          last_at, last_kind, last_amount, last_country)
            SELECT line_id, day, data, voice, sms, data_overage, voice_overage, sms_overage,
                   last_at, last_kind, last_amount, last_country
            FROM json_populate_recordset(NULL::plans_dailyusage, %s::json)
            ON CONFLICT (line_id, day) DO UPDATE SET
                data = plans_dailyusage.data + EXCLUDED.data,
                voice = plans_dailyusage.voice + EXCLUDED.voice,
                sms = plans_dailyusage.sms + EXCLUDED.sms,
                data_overage = plans_dailyusage.data_overage + EXCLUDED.data_overage,
                voice_overage = plans_dailyusage.voice_overage + EXCLUDED.voice_overage,
                sms_overage = plans_dailyusage.sms_overage + EXCLUDED.sms_overage,
                -- SET reads the row as it was: each CASE asks of the kept last_at (NULL: none kept).
                last_at = CASE WHEN plans_dailyusage.last_at > EXCLUDED.last_at
                    THEN plans_dailyusage.last_at ELSE EXCLUDED.last_at END,
                last_kind = CASE WHEN plans_dailyusage.last_at > EXCLUDED.last_at
                    THEN plans_dailyusage.last_kind ELSE EXCLUDED.last_kind END,
                last_amount = CASE WHEN plans_dailyusage.last_at > EXCLUDED.last_at
                    THEN plans_dailyusage.last_amount ELSE EXCLUDED.last_amount END,
                last_country = CASE WHEN plans_dailyusage.last_at > EXCLUDED.last_at
                    THEN plans_dailyusage.last_country ELSE EXCLUDED.last_country END
            """,
            [_json(rows)],
        )
