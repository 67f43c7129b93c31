"""Usage records from the mobile network: checking a batch, then applying it to the buckets.

The API (``plans.api``) checks a batch and stores its good records as one pending
``UsageBatch`` (``usage_batch_accept``), answering at once; a task on the ``usage`` queue then
applies it (``usage_batch_apply``), and a sweep queues any batch whose task was lost
(``usage_batches_due``). ``manage.py import_usage`` checks and applies in one go
(``usage_ingest``). Checking a record needs no database (``usage_records_check``); applying a
batch is one transaction with a fixed number of queries, however many records or lines it holds.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import phonenumbers
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, CharField, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.outbox import notices_email
from boomcard.page_cache import customers_changed
from plans.models import DailyUsage, Entitlement, Line, UsageBatch, UsageRecord

logger = logging.getLogger(__name__)

MAX_BATCH = 5000
MAX_ID_LENGTH = 64  # UsageRecord.record_id
# A record may be stamped a little ahead of our clock; further ahead is a clock the network must fix.
FUTURE_TOLERANCE = timedelta(minutes=5)
# Far beyond any real record, and far below the columns' limits once summed over a day's batches
# (DailyUsage.sms is a 32-bit integer).
MAX_AMOUNT = {"data": 10**13, "voice": 10**8, "sms": 10**4}
# Remaining data, in percent of the bucket, at which the customer is told.
LOW_DATA_THRESHOLDS = (25, 10, 0)

# ISO 3166-1 alpha-2, every code assigned, plus XK (Kosovo), which roaming partners report.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 (a table reads better than 250 quoted strings)
)

# Which Entitlement fields a kind of usage draws on, and where it goes in a day's totals
# (data, voice, sms, then their overage).
_BUCKET_FIELDS = {
    "data": ("data_used", "data_total"),
    "voice": ("voice_used", "voice_total"),
    "sms": ("sms_used", "sms_total"),
}
_DAY_SLOT = {"data": 0, "voice": 1, "sms": 2}
_DAY_FIELDS = ("data", "voice", "sms", "data_overage", "voice_overage", "sms_overage")
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_ICCID = re.compile(r"[0-9]{19,20}")


@dataclass(slots=True)
class UsageIn:
    """A record that passed the checks. Its line is named by ``msisdn`` (E.164) or ``iccid``.

    Not frozen, though nothing changes one: thousands are made a batch, and a frozen dataclass
    takes four times as long to make. A UsageBatch stores it as a list (``BATCH_FIELDS``)."""

    index: int
    record_id: str
    msisdn: str | None
    iccid: str | None
    kind: str
    amount: int
    country: str
    at: datetime  # in UTC


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why the record at ``index`` of the batch was rejected: the first field found wrong."""

    index: int
    id: str | int | None
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class IngestReport:
    """What became of a batch: each record is accepted, a duplicate or rejected."""

    accepted: int = 0
    duplicate: int = 0
    errors: list[RecordError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors],
        }


class BatchTooLarge(ValueError):
    pass


# --- Checking -------------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason


def usage_records_check(
    *, records: Sequence[Mapping[str, Any]], now: datetime
) -> tuple[list[UsageIn], list[RecordError]]:
    """Split ``records`` (as the network sends them) into good ones and errors, without the database.

    Whether the line exists and whether the id was seen before is for ``usage_ingest`` to find.
    """
    latest = now + FUTURE_TOLERANCE
    good: list[UsageIn] = []
    errors: list[RecordError] = []
    msisdns: dict[str, str] = {}  # as sent -> E.164, parsed once per batch
    for index, record in enumerate(records):
        try:
            good.append(_record_check(index, record, latest, msisdns))
        except _Bad as bad:
            raw_id = record.get("id")
            shown_id = raw_id if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
            errors.append(RecordError(index=index, id=shown_id, field=bad.field, reason=bad.reason))
    return good, errors


def _record_check(index: int, record: Mapping[str, Any], latest: datetime, msisdns: dict[str, str]) -> UsageIn:
    record_id = _id_check(record.get("id"))
    msisdn, iccid = record.get("msisdn") or None, record.get("iccid") or None
    if msisdn is not None and iccid is not None:
        raise _Bad("msisdn", "give msisdn or iccid, not both")
    if msisdn is None and iccid is None:
        raise _Bad("msisdn", "msisdn or iccid is required")
    if msisdn is not None:
        sent = msisdn
        msisdn = msisdns.get(sent) if isinstance(sent, str) else None
        if msisdn is None:
            msisdn = msisdns[sent] = _msisdn_check(sent)
    elif not isinstance(iccid, str) or not _ICCID.fullmatch(iccid):
        raise _Bad("iccid", "iccid must be 19 or 20 digits")
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in _DAY_SLOT:
        raise _Bad("kind", "kind must be data, voice or sms")
    amount = record.get("amount")
    if amount is None:
        raise _Bad("amount", "amount is missing")
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise _Bad("amount", "amount must be a whole number")
    if amount < 0:
        raise _Bad("amount", "amount must not be negative")
    if amount > MAX_AMOUNT[kind]:
        raise _Bad("amount", f"amount must not exceed {MAX_AMOUNT[kind]} for {kind}")
    country = record.get("country")
    if not isinstance(country, str) or not country.isascii() or (country := country.upper()) not in COUNTRIES:
        raise _Bad("country", "unknown country (ISO 3166 alpha-2 expected)")
    at = _at_check(record.get("at"), latest)
    return UsageIn(index, record_id, msisdn, iccid, kind, amount, country, at)


def _id_check(raw: object) -> str:
    if raw is None or raw == "":
        raise _Bad("id", "id is missing")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise _Bad("id", "id must be a string")
    if len(raw) > MAX_ID_LENGTH:
        raise _Bad("id", f"id is longer than {MAX_ID_LENGTH} characters")
    if not raw.isprintable():
        raise _Bad("id", "id must be printable text")
    return raw


def _msisdn_check(raw: object) -> str:
    if not isinstance(raw, str):
        raise _Bad("msisdn", "msisdn must be a string")
    if _E164.fullmatch(raw):
        return raw
    try:
        number = phonenumbers.parse(raw, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _Bad("msisdn", "msisdn is not a phone number") from None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _at_check(raw: object, latest: datetime) -> datetime:
    if raw is None or raw == "":
        raise _Bad("at", "time is missing")
    if not isinstance(raw, str):
        raise _Bad("at", "time must be an ISO 8601 string")
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise _Bad("at", "time is not ISO 8601") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise _Bad("at", "time needs a UTC offset")
    try:
        at = at.astimezone(UTC)
    except OverflowError:
        raise _Bad("at", "time is out of range") from None
    # Its day (plans.models.usage_day) must exist too: a day either side of datetime's range is
    # beyond any zone's offset. (A comparison: converting each record to the zone costs more.)
    if not _EARLIEST <= at <= _LATEST:
        raise _Bad("at", "time is out of range")
    if at > latest:
        raise _Bad("at", "time is more than 5 minutes ahead")
    return at


# --- Applying -------------------------------------------------------------------------------


def usage_ingest(*, records: Sequence[Mapping[str, Any]], now: datetime | None = None) -> IngestReport:
    """Check a batch of at most ``MAX_BATCH`` records and apply the good, new ones; one transaction.

    Guarantees: a record id counts once, however often and however concurrently it is sent (a
    repeat, in this batch or a later one, is a duplicate and changes nothing). Bad records are
    reported and the good ones kept. Each new record is taken, per line in time order, from the
    buckets live at its time that cover its country: roaming packs for that country first, then
    home buckets, the one expiring first first; what no bucket holds is overage, on the record and
    on the line's day, never a negative balance. A bucket whose data falls to 25 %, 10 % and
    nothing gets one low-balance notice (and its email) per threshold. Lines are locked in pk order, so
    concurrent batches neither deadlock nor apply a record twice. A fixed number of queries.
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


# A record id stored meanwhile for a line the batch did not lock (only a confused sender gives
# one id to two lines) sends the batch round again, to find it stored.
_ATTEMPTS = 3


class _RaceLost(Exception):
    pass


def _apply_in_transaction(checked: list[UsageIn], now: datetime) -> IngestReport:
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                return _apply(checked, now, received_at=now)
        except _RaceLost:
            if attempt == _ATTEMPTS:
                raise
            attempt += 1


@dataclass(slots=True)
class _Line:
    pk: int
    owner_id: int | None
    records: list[UsageIn] = field(default_factory=list)


@dataclass(slots=True)
class _Bucket:
    """What applying usage needs of an Entitlement row (thousands a batch: no model instances)."""

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


def _apply(checked: list[UsageIn], now: datetime, *, received_at: datetime) -> IngestReport:
    applied = IngestReport()
    lines_by_msisdn, lines_by_iccid = _lines_lock(checked)

    # Which line each record is for; the first of repeated ids in the batch is the one that counts.
    seen: set[str] = set()
    candidates: list[tuple[UsageIn, _Line]] = []
    for record in checked:
        line = lines_by_msisdn.get(record.msisdn) if record.msisdn else lines_by_iccid.get(record.iccid or "")
        if line is None:
            named_by = "msisdn" if record.msisdn else "iccid"
            applied.errors.append(
                RecordError(index=record.index, id=record.record_id, field=named_by, reason="unknown line")
            )
        elif record.record_id in seen:
            applied.duplicate += 1
        else:
            seen.add(record.record_id)
            candidates.append((record, line))
    if not candidates:
        return applied

    # The lines are locked, so no one else can be storing records of theirs now.
    stored = set(UsageRecord.objects.filter(record_id__in=_one_of(seen, "text")).values_list("record_id", flat=True))
    lines: dict[int, _Line] = {}
    for record, line in candidates:
        if record.record_id in stored:
            applied.duplicate += 1
        else:
            line.records.append(record)
            lines[line.pk] = line
    if not lines:
        return applied

    buckets = _buckets_by_line(lines, checked)
    data_used_before = {bucket.pk: bucket.data_used for line_buckets in buckets.values() for bucket in line_buckets}
    changed: dict[int, _Bucket] = {}
    days: dict[tuple[int, date], list[int]] = {}
    new_records: list[dict[str, Any]] = []
    # plans.models.usage_day, with the zone looked up once a batch rather than once a record.
    day_zone = ZoneInfo(settings.USAGE_DAY_TIME_ZONE)
    in_time_order = attrgetter("at", "index")
    for line_pk in sorted(lines):
        line_buckets = buckets.get(line_pk, [])
        records = lines[line_pk].records
        records.sort(key=in_time_order)
        for record in records:
            overage = _take(record, line_buckets, changed) if line_buckets else record.amount
            totals = days.get((line_pk, day := record.at.astimezone(day_zone).date()))
            if totals is None:
                totals = days[line_pk, day] = [0, 0, 0, 0, 0, 0]
            slot = _DAY_SLOT[record.kind]
            totals[slot] += record.amount - overage
            totals[slot + 3] += overage
            new_records.append(
                {
                    "record_id": record.record_id,
                    "line_id": line_pk,
                    "kind": record.kind,
                    "amount": record.amount,
                    "country": record.country,
                    "at": record.at,
                    "overage": overage,
                }
            )

    # In id order, so that two transactions inserting the same ids meet them in the same order.
    new_records.sort(key=lambda row: row["record_id"])
    if _fast_sql():
        _records_insert_pg(new_records, received_at)
        _buckets_save_pg(changed.values())
        _days_add_pg(days)
    else:
        _records_insert(new_records, received_at)
        _buckets_save(changed.values())
        _days_add(days)
    applied.accepted = len(new_records)
    _low_data_notify(lines, changed, data_used_before, now)
    customers_changed(line.owner_id for line in lines.values())
    return applied


def _lines_lock(checked: list[UsageIn]) -> tuple[dict[str, _Line], dict[str, _Line]]:
    """Find the batch's lines and lock them, in pk order: one query."""
    msisdns = {record.msisdn for record in checked if record.msisdn}
    iccids = {record.iccid for record in checked if record.iccid}
    if _fast_sql():
        # Each list as one array parameter (see _one_of); PostgreSQL ORs two index scans. (Not
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
        Line.objects.select_for_update(no_key=True)
        # The number as the E.164 text stored (the column's index still serves): the field would
        # parse every number again, both ways.
        .annotate(msisdn_text=Cast("msisdn", CharField()))
        .filter(named)
        .order_by("pk")
        .values_list("pk", "msisdn_text", "iccid", "owner_id")
    )
    for pk, msisdn, iccid, owner_id in rows:
        line = _Line(pk=pk, owner_id=owner_id)
        by_msisdn[msisdn] = line
        by_iccid[iccid] = line
    return by_msisdn, by_iccid


def _buckets_by_line(lines: dict[int, _Line], checked: list[UsageIn]) -> dict[int, list[_Bucket]]:
    """The buckets of ``lines`` live at some time of the batch, locked, each line's in the order
    usage is taken from them: roaming packs first, then home buckets; expiring first first."""
    first = min(record.at for record in checked)
    last = max(record.at for record in checked)
    buckets: dict[int, list[_Bucket]] = defaultdict(list)
    rows = (
        Entitlement.objects.select_for_update(of=("self",), no_key=True)
        .filter(line_id__in=_one_of(lines, "bigint"), starts_at__lte=last, expires_at__gt=first)
        .order_by("pk")
        .values_list(*_BUCKET_COLUMNS)
    )
    for pk, line_id, plan_code, countries, *rest in rows:
        buckets[line_id].append(_Bucket(pk, line_id, plan_code, frozenset(countries), *rest))
    for line_buckets in buckets.values():
        line_buckets.sort(key=lambda bucket: (not bucket.countries, bucket.expires_at, bucket.pk))
    return buckets


def _take(record: UsageIn, buckets: list[_Bucket], changed: dict[int, _Bucket]) -> int:
    """Take ``record`` from the first buckets that can pay for it; return what none could (overage)."""
    left = record.amount
    used_field, total_field = _BUCKET_FIELDS[record.kind]
    at, country = record.at, record.country
    for bucket in buckets:
        if left == 0:
            break
        if not (bucket.starts_at <= at < bucket.expires_at) or (bucket.countries and country not in bucket.countries):
            continue
        used = getattr(bucket, used_field)
        free = getattr(bucket, total_field) - used
        if free > 0:
            taken = min(free, left)
            setattr(bucket, used_field, used + taken)
            changed[bucket.pk] = bucket
            left -= taken
    return left


def _low_data_notify(
    lines: dict[int, _Line], changed: dict[int, _Bucket], data_used_before: dict[int, int], now: datetime
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
                        key=f"low-balance:{bucket.pk}:{threshold}",
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


# --- Accepting a batch now, applying it on the usage queue ------------------------------------

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
    when it is applied; unknown lines and ids seen before are found when it is applied (they
    need the line locks). A batch with no good record is not stored.
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
        batch_id = _batch_insert_pg(now, stored, rejected) if _fast_sql() else _batch_insert(now, stored, rejected)
        transaction.on_commit(lambda: _apply_soon(batch_id))
    return BatchAccepted(batch_id=batch_id, queued=len(checked), errors=errors)


def _apply_soon(batch_id: int) -> None:
    """Queue the task that applies a committed batch.

    Runs after the commit, so it must not fail the request: if the broker cannot take the task,
    the batch stays pending and the sweep queues it (as accounts.outbox._deliver_soon does for
    email). One quick retry rather than Celery's back-off, so that a broker outage does not also
    hold up every batch the network posts.
    """
    from plans.tasks import usage_batch_apply as task

    try:
        task.apply_async((batch_id,), retry_policy={"max_retries": 1, "interval_start": 0})
    except Exception as error:  # whatever the broker or its client raises: the sweep is the fallback
        logger.warning("usage batch %s not queued (%r); the sweep will queue it", batch_id, error)


def usage_batch_apply(*, batch_id: int, now: datetime | None = None) -> str:
    """Apply a pending batch to the buckets (as ``usage_ingest`` does) and mark it applied with
    its report, in one transaction: ``"applied"``. A batch already applied is left alone
    (``"done"``), as is one another worker is applying right now (``"busy"``: its row is locked;
    should that worker die, its transaction rolls back, its task is delivered again and the
    sweep finds the batch still pending). ``"missing"`` for no such batch.

    So a batch is applied once however often its task runs, and a worker killed mid-apply
    leaves it pending, not half applied.
    """
    now = now or timezone.now()
    attempt = 1
    while True:
        try:
            with transaction.atomic():
                return _batch_apply(batch_id, now)
        except _RaceLost:
            if attempt == _ATTEMPTS:
                raise
            attempt += 1


def _batch_apply(batch_id: int, now: datetime) -> str:
    # The batch first, then (in _apply) its lines in pk order: one lock order for every applier.
    batch = (
        UsageBatch.objects.select_for_update(skip_locked=True).only("status", "received_at").filter(pk=batch_id).first()
    )
    if batch is None:
        return "missing" if not UsageBatch.objects.filter(pk=batch_id).exists() else "busy"
    if batch.status == UsageBatch.Status.APPLIED:
        return "done"
    rows = UsageBatch.objects.filter(pk=batch_id).values_list("records", flat=True).get()
    checked = [
        UsageIn(
            index=index,
            record_id=record_id,
            msisdn=msisdn,
            iccid=iccid,
            kind=kind,
            amount=amount,
            country=country,
            at=_EPOCH + timedelta(microseconds=at_us),
        )
        for index, record_id, msisdn, iccid, kind, amount, country, at_us in rows
    ]
    report = _apply(checked, now, received_at=batch.received_at)
    report.errors.sort(key=lambda error: error.index)
    batch.status = UsageBatch.Status.APPLIED
    batch.applied_at = now
    batch.report = report.as_dict()
    batch.save(update_fields=["status", "applied_at", "report"])
    return "applied"


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


# --- Writing: the ORM, and PostgreSQL's faster way ---------------------------------------------
#
# A batch writes thousands of rows. On PostgreSQL each write is one statement reading the rows
# as one JSON parameter, which spares building a model instance per record and Django's CASE
# per bucket in bulk_update (quadratic in the number of buckets). Other databases (SQLite, for
# the demo) take the ORM's way.


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


def _records_insert(rows: list[dict[str, Any]], now: datetime) -> None:
    UsageRecord.objects.bulk_create([UsageRecord(received_at=now, **row) for row in rows], ignore_conflicts=True)


def _records_insert_pg(rows: list[dict[str, Any]], now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_usagerecord (record_id, line_id, kind, amount, country, at, received_at, overage)
            SELECT r.record_id, r.line_id, r.kind, r.amount, r.country, r.at, %s, r.overage
            FROM json_populate_recordset(NULL::plans_usagerecord, %s::json) AS r
            ON CONFLICT (record_id) DO NOTHING
            RETURNING record_id
            """,
            [now, _json(rows)],
        )
        inserted = len(cursor.fetchall())
    if inserted != len(rows):
        # Some id was stored meanwhile for a line this batch did not lock: start again.
        raise _RaceLost


def _batch_insert(received_at: datetime, records: list[list[Any]], errors: list[dict[str, Any]]) -> int:
    batch = UsageBatch.objects.create(
        received_at=received_at, records=records, record_count=len(records), errors=errors
    )
    return batch.pk


def _batch_insert_pg(received_at: datetime, records: list[list[Any]], errors: list[dict[str, Any]]) -> int:
    """The batch's row, its records as compact JSON text made here (half the time of the
    JSONField's way: no spaces, no adapter)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_usagebatch (received_at, records, record_count, errors, status)
            VALUES (%s, %s::jsonb, %s, %s::jsonb, %s)
            RETURNING id
            """,
            [received_at, _json(records), len(records), _json(errors), UsageBatch.Status.PENDING],
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _buckets_save(buckets: Iterable[_Bucket]) -> None:
    Entitlement.objects.bulk_update(
        [
            Entitlement(id=b.pk, data_used=b.data_used, voice_used=b.voice_used, sms_used=b.sms_used)
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
            UPDATE plans_entitlement AS e
            SET data_used = v.data_used, voice_used = v.voice_used, sms_used = v.sms_used
            FROM json_populate_recordset(NULL::plans_entitlement, %s::json) AS v
            WHERE e.id = v.id
            """,
            [_json(rows)],
        )


def _days_add(days: dict[tuple[int, date], list[int]]) -> None:
    """Add the batch's totals to the lines' daily rows: one read and one upsert.

    The line locks are held, so no one else changes these rows between the read and the write.
    """
    stored = {
        (row[0], row[1]): row[2:]
        for row in DailyUsage.objects.filter(
            line_id__in={line_pk for line_pk, _ in days}, day__in={day for _, day in days}
        ).values_list("line_id", "day", *_DAY_FIELDS)
    }
    rows = []
    for (line_pk, day), totals in sorted(days.items()):
        before = stored.get((line_pk, day))
        if before is not None:
            totals = [a + b for a, b in zip(totals, before, strict=True)]
        rows.append(DailyUsage(line_id=line_pk, day=day, **dict(zip(_DAY_FIELDS, totals, strict=True))))
    DailyUsage.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["line", "day"], update_fields=list(_DAY_FIELDS)
    )


def _days_add_pg(days: dict[tuple[int, date], list[int]]) -> None:
    """Add the batch's totals to the lines' daily rows, in the database: one upsert."""
    rows = (
        {"line_id": line_pk, "day": day, **dict(zip(_DAY_FIELDS, totals, strict=True))}
        for (line_pk, day), totals in sorted(days.items())
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO plans_dailyusage (line_id, day, data, voice, sms, data_overage, voice_overage, sms_overage)
            SELECT line_id, day, data, voice, sms, data_overage, voice_overage, sms_overage
            FROM json_populate_recordset(NULL::plans_dailyusage, %s::json)
            ON CONFLICT (line_id, day) DO UPDATE SET
                data = plans_dailyusage.data + EXCLUDED.data,
                voice = plans_dailyusage.voice + EXCLUDED.voice,
                sms = plans_dailyusage.sms + EXCLUDED.sms,
                data_overage = plans_dailyusage.data_overage + EXCLUDED.data_overage,
                voice_overage = plans_dailyusage.voice_overage + EXCLUDED.voice_overage,
                sms_overage = plans_dailyusage.sms_overage + EXCLUDED.sms_overage
            """,
            [_json(rows)],
        )
