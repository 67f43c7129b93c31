"""The reads behind a line's summary (the home page's cards, the line page, the run-out sweep) and
the catalogue's offers (the renewal page, the recommender) in hand-written SQL: the customer's
lines with their plans and freshness, their live buckets with their plans, their daily totals,
and the plans on sale with their prices. The instances are the ones the ORM would make
(``boomcard.rows``); the queries are the ones it made, without its ~3 ms of building and
compiling them and making the rows on every first view after a change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import DateField, DateTimeField

from boomcard.rows import Read, Rows, Selected, column_reader, read, table, with_related
from plans.models import Bucket, DailyUsage, Line, Plan, Price

_line, _line_plan = Selected(Line, "l"), Selected(Plan, "p")
_plan, _plan_price = Selected(Plan, "p"), Selected(Price, "c")
_bucket, _bucket_plan = Selected(Bucket, "b"), Selected(Plan, "p")


def _in(values: Sequence[object]) -> str:
    """Placeholders for ``IN (...)``: SQLite has no arrays."""
    return ", ".join(["%s"] * len(values))


def _moment(at: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(at)


def lines_with_freshness(*, owner_id: int, line_id: int | None = None) -> list[Line]:
    """The customer's lines (or the one ``line_id`` of theirs) in the order they were added, each
    with its plan and ``usage_updated_at``: the time of its newest usage record, kept on its
    latest daily row that has one (a subquery per line on the daily rows' (line, day) index, read
    backwards: one row, rarely two). One query."""
    return read(lines_read(owner_id=owner_id, line_id=line_id))


def lines_read(*, owner_id: int, line_id: int | None = None) -> Read[list[Line]]:
    query = (
        f"SELECT {_line.columns}, {_line_plan.columns},"  # noqa: S608 (names from the models)
        f" (SELECT d.last_at FROM {table(DailyUsage)} d"
        " WHERE d.line_id = l.id AND d.last_at IS NOT NULL ORDER BY d.day DESC LIMIT 1)"
        f" FROM {table(Line)} l LEFT OUTER JOIN {table(Plan)} p ON p.id = l.plan_id"
        " WHERE l.owner_id = %s"
    )
    params: list[Any] = [owner_id]
    if line_id is not None:
        query += " AND l.id = %s"
        params.append(line_id)
    query += " ORDER BY l.added_at, l.id"
    return Read(query, params, _lines)


def _lines(rows: Rows) -> list[Line]:
    at = column_reader(DateTimeField)
    lines = []
    for row in rows:
        line = _line.instance(row)
        with_related(line, "plan", _line_plan.instance_or_none(row, _line.width))
        line.usage_updated_at = at(row[-1])  # type: ignore[attr-defined]
        lines.append(line)
    return lines


@dataclass(frozen=True)
class LinesOf:
    """Which lines a read of buckets or days is about: ``ids``; or, given ``owner_id``, their lines
    (the one ``line_id`` of theirs, when given), so that it can be sent beside the read of those
    lines without waiting for their ids (``boomcard.rows.read_together``)."""

    ids: Sequence[int] = ()
    owner_id: int | None = None
    line_id: int | None = None

    def condition(self, column: str) -> tuple[str, list[Any]]:
        """``column`` among these lines, and its parameters."""
        if self.owner_id is None:
            return f"{column} IN ({_in(self.ids)})", list(self.ids)
        owners = f"{column} IN (SELECT o.id FROM {table(Line)} o WHERE o.owner_id = %s"  # noqa: S608 (names from the models)
        if self.line_id is None:
            return owners + ")", [self.owner_id]
        return owners + " AND o.id = %s)", [self.owner_id, self.line_id]


def buckets_of(line_ids: Sequence[int], *, now: datetime, started: bool) -> list[Bucket]:
    """The lines' buckets that have not expired by ``now`` (only those begun by then when
    ``started``), each with its plan, in order of expiry. One query."""
    return read(buckets_read(LinesOf(ids=line_ids), now=now, started=started)) if line_ids else []


def buckets_read(lines_of: LinesOf, *, now: datetime, started: bool) -> Read[list[Bucket]]:
    """``buckets_of`` these lines."""
    lines, params = lines_of.condition("b.line_id")
    query = (
        f"SELECT {_bucket.columns}, {_bucket_plan.columns}"  # noqa: S608 (names from the models)
        f" FROM {table(Bucket)} b INNER JOIN {table(Plan)} p ON p.id = b.plan_id"
        f" WHERE {lines} AND b.expires_at > %s"
    )
    params.append(_moment(now))
    if started:
        query += " AND b.starts_at <= %s"
        params.append(_moment(now))
    query += " ORDER BY b.expires_at, b.id"
    return Read(query, params, _buckets)


def _buckets(rows: Rows) -> list[Bucket]:
    buckets = []
    for row in rows:
        bucket = _bucket.instance(row)
        with_related(bucket, "plan", _bucket_plan.instance(row, _bucket.width))
        buckets.append(bucket)
    return buckets


# A line's day as the pages read it: the day, data, data overage, talk time, talk-time overage,
# SMS, SMS overage.
DayRow = tuple[int, date, int, int, int, int, int, int]


def days_of(line_ids: Sequence[int], *, first: date, last: date) -> list[DayRow]:
    """The lines' daily totals from ``first`` to ``last``: (line id, day, data, data overage,
    voice, voice overage, SMS, SMS overage), in no order. One query."""
    return read(days_read(LinesOf(ids=line_ids), first=first, last=last)) if line_ids else []


def days_read(lines_of: LinesOf, *, first: date, last: date) -> Read[list[DayRow]]:
    """``days_of`` these lines."""
    lines, params = lines_of.condition("d.line_id")
    query = (
        "SELECT d.line_id, d.day, d.data, d.data_overage, d.voice, d.voice_overage, d.sms, d.sms_overage"  # noqa: S608
        f" FROM {table(DailyUsage)} d WHERE {lines} AND d.day >= %s AND d.day <= %s"
    )
    adapt = connection.ops.adapt_datefield_value
    return Read(query, [*params, adapt(first), adapt(last)], _days)


def _days(rows: Rows) -> list[DayRow]:
    day = column_reader(DateField)
    return [(row[0], day(row[1]), *row[2:]) for row in rows]


def plans_with_price(*, currency: str) -> list[Plan]:
    """The plans on sale in the catalogue's order, each with its price in ``currency`` as
    ``price_in`` (a list of it, or empty: what ``prefetch_related(..., to_attr=...)`` gives). One
    query, where the ORM's prefetch made two."""
    query = (
        f"SELECT {_plan.columns}, {_plan_price.columns}"  # noqa: S608 (names from the models)
        f" FROM {table(Plan)} p LEFT OUTER JOIN {table(Price)} c ON c.plan_id = p.id AND c.currency = %s"
        " WHERE p.is_active ORDER BY p.sort_order, p.code"
    )
    plans = []
    with connection.cursor() as cursor:
        cursor.execute(query, [currency])
        for row in cursor.fetchall():
            plan = _plan.instance(row)
            price = _plan_price.instance_or_none(row, _plan.width)
            if price is not None:
                with_related(price, "plan", plan)  # as the prefetch does
            plan.price_in = [price] if price is not None else []  # type: ignore[attr-defined]
            plans.append(plan)
    return plans
