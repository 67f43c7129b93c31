"""Applying checked records to the buckets: which bucket pays, overage, the lines' daily totals,
duplicates, and the low-balance notices. ``usage_ingest`` checks and applies a batch in one go;
``plans.usage.batches`` applies a stored batch through the same ``_apply``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, CharField, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.notice_keys import low_balance_key
from accounts.outbox import notices_email
from boomcard.page_cache import customers_changed, pages_changed
from plans.models import Bucket, Line
from plans.usage import sql
from plans.usage.records import MAX_BATCH, BatchTooLarge, IngestReport, RecordError, UsageIn, usage_records_check

# Remaining data, in percent of the bucket, at which the customer is told.
LOW_DATA_THRESHOLDS = (25, 10, 0)

# Which Bucket fields a kind of usage draws on, and where it goes in a day's totals
# (data, voice, sms, then their overage: ``sql._DAY_FIELDS``).
_BUCKET_FIELDS = {
    "data": ("data_used", "data_total"),
    "voice": ("voice_used", "voice_total"),
    "sms": ("sms_used", "sms_total"),
}
_DAY_SLOT = {"data": 0, "voice": 1, "sms": 2}


def usage_ingest(*, records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> IngestReport:
    """Check a batch of at most ``MAX_BATCH`` records and apply the good, new ones; one transaction.

    Guarantees: a record id counts once, however often and however concurrently it is sent (a
    repeat, in this batch or a later one, is a duplicate and changes nothing). Bad records are
    reported and the good ones kept. Each new record is taken, per line in time order, from the
    buckets live at its time that cover its country: roaming packs for that country first, then
    home buckets, the one expiring first first; what no bucket holds is overage, on the record and
    on the line's day, never a negative balance. A bucket whose data falls to 25 %, 10 % and
    nothing gets one low-balance notice (and its email) per threshold. Concurrent batches neither
    deadlock nor apply a record twice (see ``_apply``). A fixed number of queries.
    """
    if len(records) > MAX_BATCH:
        raise BatchTooLarge(f"at most {MAX_BATCH} records a batch")
    now = now or timezone.now()
    checked, errors = usage_records_check(records=records, now=now)
    report = IngestReport(errors=errors)
    if checked:
        applied = _apply_in_transaction(checked, now)
        report.accepted, report.duplicate = applied.accepted, applied.duplicate
        report.errors.extend(applied.errors)
        report.errors.sort(key=lambda error: error.index)
    return report


def _apply_in_transaction(checked: list[UsageIn], now: datetime) -> IngestReport:
    batch = Arrived(records=checked, received_at=now)
    with transaction.atomic():
        _apply([batch], now)
    return batch.report


@dataclass(slots=True)
class Arrived:
    """Checked records that arrived together (a posted batch), and what became of them once applied."""

    records: list[UsageIn]
    received_at: datetime
    report: IngestReport = field(default_factory=IngestReport)


@dataclass(slots=True)
class _Line:
    pk: int
    owner_id: int | None
    records: list[UsageIn] = field(default_factory=list)
    # The records in time order, each with its kind's place in a day's totals and its day's
    # totals (``_line_date``).
    dated: list[tuple[UsageIn, int, list[int]]] = field(default_factory=list)


def _apply(batches: list[Arrived], now: datetime) -> None:
    """Apply ``batches`` together in the current transaction, concurrently with other appliers.
    Each batch's report says what became of its records as if the batches were applied one after
    the other in the order given: an id in two of them counts in the first.

    First the new records are stored, without a lock of ours, and the unique record id says which
    are new, exactly once (``sql._records_insert_pg``: one COPY while none is stored yet, else
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING``; a batch inserting the same id at the same time
    waits for this one to commit or roll back, then finds it stored).
    Then each line's new records are put in time order across the batches and dated, still
    without a lock; only then are the live buckets of those lines locked, in pk order, and usage
    taken from them, record by record; the buckets, the records' overage and the daily totals are
    written in one statement each, however many batches there are. Two appliers wait on each other
    only from the bucket locks to the commit, and every applier takes its locks in one order
    (record ids, then bucket pks, then (line, day)), so they never deadlock."""
    every_record = [record for batch in batches for record in batch.records]
    lines_by_msisdn, lines_by_iccid = _lines_find(every_record)

    # Which line each record is for; the first of repeated ids is the one that counts.
    seen: set[str] = set()
    candidates: list[tuple[UsageIn, _Line, Arrived]] = []
    for batch in batches:
        for record in batch.records:
            line = lines_by_msisdn.get(record.msisdn) if record.msisdn else lines_by_iccid.get(record.iccid or "")
            if line is None:
                named_by = "msisdn" if record.msisdn else "iccid"
                batch.report.errors.append(
                    RecordError(index=record.index, id=record.record_id, field=named_by, reason="unknown line")
                )
            elif record.record_id in seen:
                batch.report.duplicate += 1
            else:
                seen.add(record.record_id)
                candidates.append((record, line, batch))
    if not candidates:
        return

    # Stored first, overage 0 (set below for the few that have some); in id order, so that two
    # transactions inserting the same ids meet them in the same order.
    candidates.sort(key=lambda candidate: candidate[0].record_id)
    rows: list[sql._RecordRow] = [  # sql._RECORD_COLUMNS
        (record.record_id, line.pk, record.kind, record.amount, record.country, record.at, batch.received_at, 0)
        for record, line, batch in candidates
    ]
    insert = sql._records_insert_pg if sql._fast_sql() else sql._records_insert
    new_ids = insert(rows)
    lines: dict[int, _Line] = {}
    for record, line, batch in candidates:
        if record.record_id in new_ids:
            batch.report.accepted += 1
            line.records.append(record)
            lines[line.pk] = line
        else:
            batch.report.duplicate += 1
    if not lines:
        return

    # Before any lock: each line's records in time order, each with its day's totals.
    days: dict[tuple[int, date], list[int]] = {}
    newest: dict[tuple[int, date], UsageIn] = {}  # each day's newest record (its line's last usage)
    day_zone = ZoneInfo(settings.USAGE_DAY_TIME_ZONE)
    for line in lines.values():
        _line_date(line, day_zone, days, newest)

    buckets = _buckets_by_line(lines, every_record)
    data_used_before = {bucket.pk: bucket.data_used for line_buckets in buckets.values() for bucket in line_buckets}
    changed: dict[int, sql._Bucket] = {}
    overages: dict[str, int] = {}
    for line_pk in sorted(lines):
        line_buckets = buckets.get(line_pk)
        for record, slot, totals in lines[line_pk].dated:
            amount = record.amount
            overage = _take(record, line_buckets, changed) if line_buckets else amount
            totals[slot] += amount - overage
            if overage:
                totals[slot + 3] += overage
                overages[record.record_id] = overage

    if sql._fast_sql():
        sql._buckets_save_pg(changed.values())
        sql._overage_set_pg(overages)
        sql._days_add_pg(days, newest)
    else:
        sql._buckets_save(changed.values())
        sql._overage_set(overages)
        sql._days_add(days, newest)
    _low_data_notify(lines, changed, data_used_before, now)
    pages_changed(line.owner_id for line in lines.values())


def _line_date(
    line: _Line, day_zone: ZoneInfo, days: dict[tuple[int, date], list[int]], newest: dict[tuple[int, date], UsageIn]
) -> None:
    """Put ``line``'s records in time order, each with the totals of its day in ``day_zone``
    (``plans.models.usage_day``), made at zero in ``days``; and each day's newest record in
    ``newest``. None of it depends on the buckets, so it is done before they are locked.

    In time order, a line's records fall in runs of one day: a record is put in its day only
    where it ends the run before (a comparison with the day's end), so a batch works out a few
    days a line rather than one a record."""
    line.records.sort(key=attrgetter("at", "index"))
    line_pk, dated, slots = line.pk, line.dated, _DAY_SLOT
    # Replaced at the first record, which always ends this run.
    key, totals, day_ends = (line_pk, date.min), [], _BEFORE_ANY_RECORD
    for record in line.records:
        if record.at >= day_ends:
            day = record.at.astimezone(day_zone).date()
            key, day_ends = (line_pk, day), _day_end(day, day_zone)
            totals = days.setdefault(key, [0, 0, 0, 0, 0, 0])
        dated.append((record, slots[record.kind], totals))
        newest[key] = record


# Before any record's time (the checks keep them a day inside datetime's range).
_BEFORE_ANY_RECORD = datetime.min.replace(tzinfo=UTC)


def _day_end(day: date, day_zone: ZoneInfo) -> datetime:
    """When ``day`` ends in ``day_zone`` (the next day's first moment; where its midnight is
    skipped, the moment the clocks jump), in UTC."""
    next_day = day + timedelta(days=1)
    return datetime.combine(next_day, time(), tzinfo=day_zone).astimezone(UTC)


def _lines_find(checked: list[UsageIn]) -> tuple[dict[str, _Line], dict[str, _Line]]:
    """Find the batch's lines: one query, no lock (the buckets are what applying locks)."""
    msisdns = {record.msisdn for record in checked if record.msisdn}
    iccids = {record.iccid for record in checked if record.iccid}
    if sql._fast_sql():
        # Each list as one array parameter (see sql._one_of); PostgreSQL ORs two index scans. (Not
        # two IN (SELECT unnest(...)) subqueries: ORed, those make it read every line.)
        named = Q(
            RawSQL(
                '"plans_line"."msisdn" = ANY(%s::text[]) OR "plans_line"."iccid" = ANY(%s::text[])',
                (sorted(msisdns), sorted(iccids)),
                output_field=BooleanField(),
            )
        )
    else:
        named = Q()
        if msisdns:
            named |= Q(msisdn_text__in=msisdns)
        if iccids:
            named |= Q(iccid__in=iccids)
    by_msisdn: dict[str, _Line] = {}
    by_iccid: dict[str, _Line] = {}
    rows = (
        Line.objects
        # The number as the E.164 text stored (the column's index still serves): the field would
        # parse every number again, both ways.
        .annotate(msisdn_text=Cast("msisdn", CharField()))
        .filter(named)
        .values_list("pk", "msisdn_text", "iccid", "owner_id")
    )
    for pk, msisdn, iccid, owner_id in rows:
        line = _Line(pk=pk, owner_id=owner_id)
        by_msisdn[msisdn] = line
        by_iccid[iccid] = line
    return by_msisdn, by_iccid


def _buckets_by_line(lines: dict[int, _Line], checked: list[UsageIn]) -> dict[int, list[sql._Bucket]]:
    """The buckets of ``lines`` live at some time of the batch, locked in pk order, each line's in
    the order usage is taken from them: roaming packs first, then home buckets; expiring first first."""
    first = min(record.at for record in checked)
    last = max(record.at for record in checked)
    buckets: dict[int, list[sql._Bucket]] = defaultdict(list)
    if sql._fast_sql():
        for locked in sql._buckets_lock_pg(lines, first, last):
            buckets[locked.line_id].append(locked)
    else:
        rows = (
            Bucket.objects.select_for_update(of=("self",), no_key=True)
            .filter(line_id__in=list(lines), starts_at__lte=last, expires_at__gt=first)
            .order_by("pk")
            .values_list(*sql._BUCKET_COLUMNS)
        )
        for pk, line_id, plan_code, countries, *rest in rows:
            buckets[line_id].append(sql._Bucket(pk, line_id, plan_code, frozenset(countries), *rest))
    for line_buckets in buckets.values():
        line_buckets.sort(key=lambda bucket: (not bucket.countries, bucket.expires_at, bucket.pk))
    return buckets


def _take(record: UsageIn, buckets: list[sql._Bucket], changed: dict[int, sql._Bucket]) -> int:
    """Take ``record`` from the first buckets that can pay for it; return what none could (overage)."""
    left = record.amount
    if not left:
        return 0
    used_field, total_field = _BUCKET_FIELDS[record.kind]
    at, country = record.at, record.country
    for bucket in buckets:
        if not (bucket.starts_at <= at < bucket.expires_at) or (bucket.countries and country not in bucket.countries):
            continue
        used = getattr(bucket, used_field)
        free = getattr(bucket, total_field) - used
        if free > 0:
            changed[bucket.pk] = bucket
            if free >= left:
                setattr(bucket, used_field, used + left)
                return 0
            setattr(bucket, used_field, used + free)
            left -= free
    return left


def _low_data_notify(
    lines: dict[int, _Line], changed: dict[int, sql._Bucket], data_used_before: dict[int, int], now: datetime
) -> None:
    """One notice per bucket and threshold its data crossed in this batch, with its email row (the
    outbox) in the same transaction; the notice's key keeps it once."""
    notices = []
    for bucket in sorted(changed.values(), key=lambda bucket: bucket.pk):
        owner_id = lines[bucket.line_id].owner_id
        total = bucket.data_total
        if owner_id is None or total <= 0 or bucket.data_used == data_used_before[bucket.pk]:
            continue
        left_before, left = total - data_used_before[bucket.pk], total - bucket.data_used
        for threshold in LOW_DATA_THRESHOLDS:
            if left * 100 <= total * threshold < left_before * 100:
                notices.append(
                    Notice(
                        user_id=owner_id,
                        line_ref=bucket.line_id,
                        kind=Notice.Kind.LOW_BALANCE,
                        key=low_balance_key(bucket_id=bucket.pk, threshold=threshold),
                        params={
                            "threshold": threshold,
                            "bucket_id": bucket.pk,
                            "plan_code": bucket.plan_code,
                            "data_left": left,
                            "roaming": bool(bucket.countries),
                        },
                        # Straight to the line's renewal page, which offers renewing and top-up packs.
                        link=reverse("billing:renew", args=[bucket.line_id]),
                        created_at=now,
                    )
                )
    if notices:
        Notice.objects.bulk_create(notices, ignore_conflicts=True)
        notices_email(notices=notices)
        customers_changed(notice.user_id for notice in notices)  # the bell: bulk_create sends no signal
