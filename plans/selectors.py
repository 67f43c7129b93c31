"""The reads behind the catalogue, the home page and the line page, each in a fixed number of
queries however many lines, buckets or usage records there are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import F, Min, OuterRef, Prefetch, Subquery, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from boomcard import formats
from boomcard.page_cache import catalogue_generation
from boomcard.rows import read_together
from plans.forecast import HISTORY_DAYS, UNKNOWN, Allowance, Forecast, forecast
from plans.models import Bucket, DailyUsage, Line, Plan, Price, UsageRecord, usage_day
from plans.summary_sql import (
    DayRow,
    LinesOf,
    buckets_of,
    buckets_read,
    days_of,
    days_read,
    lines_read,
    plans_with_price,
)

# The catalogue as read under each of its generations, in this process (a few: the currencies).
_CATALOGUES_KEPT = 8
_catalogues: dict[tuple[str, str], list[Plan]] = {}


def catalogue(*, currency: str) -> list[Plan]:
    """Plans on sale with their price in ``currency`` (as ``plan.price_in``), in 1 query; none
    while a customer's page is being built, once this process has read the catalogue in its
    current generation (``boomcard.page_cache.catalogue_generation``: a change to a plan or a
    price renews it). The plans are then shared by the pages that read them: read, never
    changed."""
    generation = catalogue_generation()
    if generation is None:
        return plans_with_price(currency=currency)
    key = (generation, currency)
    plans = _catalogues.get(key)
    if plans is None:
        if len(_catalogues) >= _CATALOGUES_KEPT:
            _catalogues.clear()  # the generations before the current one, never asked for again
        plans = _catalogues[key] = plans_with_price(currency=currency)
    return list(plans)


def offered_price(plan: Plan) -> Price | None:
    """The price ``catalogue`` fetched with ``plan``, in the currency it was asked for."""
    prices: list[Price] = getattr(plan, "price_in", [])
    return prices[0] if prices else None


def plan_on_sale(*, code: str, currency: str) -> Plan:
    prices = Prefetch("prices", queryset=Price.objects.filter(currency=currency), to_attr="price_in")
    plan = Plan.objects.filter(is_active=True, code=code).prefetch_related(prices).first()
    if plan is None:
        raise Http404("no such plan on sale")
    return plan


@dataclass
class Balance:
    """What is left in a set of buckets, and what they held (ending on ``ends_on``, in the
    customer's time zone, when they all end the same day)."""

    ends_on: date | None = None
    data_left: int = 0
    data_total: int = 0
    voice_left: int = 0
    voice_total: int = 0
    sms_left: int = 0
    sms_total: int = 0

    def add(self, bucket: Bucket) -> None:
        self.data_left += bucket.data_left
        self.data_total += bucket.data_total
        self.voice_left += bucket.voice_left
        self.voice_total += bucket.voice_total
        self.sms_left += bucket.sms_left
        self.sms_total += bucket.sms_total


@dataclass
class LineSummary:
    line: Line
    home: Balance  # every live home bucket together
    roaming: list[Bucket] = field(default_factory=list)
    now: datetime = field(default_factory=timezone.now)
    # The live home buckets summed per day they end: an old allowance is not counted under a
    # later date.
    home_by_end: list[Balance] = field(default_factory=list)
    home_buckets: list[Bucket] = field(default_factory=list)
    # When the data and the talk time run out at the line's pace (``forecast_from``).
    data_forecast: Forecast = UNKNOWN
    voice_forecast: Forecast = UNKNOWN

    def add(self, bucket: Bucket) -> None:
        """Count a live bucket (in order of expiry): a roaming pack is shown on its own, home
        buckets are summed, all together and per day they end."""
        if bucket.countries:
            self.roaming.append(bucket)
            return
        self.home.add(bucket)
        self.home_buckets.append(bucket)
        ends_on = timezone.localdate(bucket.expires_at)
        if not self.home_by_end or self.home_by_end[-1].ends_on != ends_on:
            self.home_by_end.append(Balance(ends_on=ends_on))
        self.home_by_end[-1].add(bucket)

    @property
    def home_ends_apart(self) -> bool:
        """Some home allowance ends on another day than the line: each shows its own date."""
        line_ends_on = timezone.localdate(self.line.expires_at) if self.line.expires_at else None
        return any(group.ends_on != line_ends_on for group in self.home_by_end)

    @property
    def is_expired(self) -> bool:
        return self.line.is_expired(self.now)

    @property
    def usage_updated_at(self) -> datetime | None:
        """When the newest usage record applied to the line was made: how fresh its figures are
        (``summary_sql.lines_with_freshness`` reads it; None when the network has reported nothing yet)."""
        latest: datetime | None = getattr(self.line, "usage_updated_at", None)
        return min(latest, self.now) if latest else None

    @property
    def usage_updated_text(self) -> str:
        latest = self.usage_updated_at
        return formats.updated_ago(latest, self.now) if latest else ""

    @property
    def usage_may_be_behind(self) -> bool:
        """The network has not reported the line's use for over ``USAGE_STALE_AFTER``."""
        latest = self.usage_updated_at
        return latest is not None and self.now - latest > USAGE_STALE_AFTER

    def forecast_from(self, history: list[DayTotals]) -> None:
        """Set the data and talk-time forecasts from the line's daily totals (``HISTORY_DAYS`` of
        them, as ``line_summaries`` reads them). An expired line, or one without a home allowance
        of the kind, has none."""
        if self.is_expired or self.line.expires_at is None:
            return
        today, ends_on = usage_day(self.now), usage_day(self.line.expires_at)
        data = {day: amount for day, amount, _ in history}
        voice = {day: seconds for day, _, seconds in history}
        buckets = self.home_buckets
        data_left = [Allowance(usage_day(b.expires_at), b.data_left) for b in buckets if b.data_total]
        voice_left = [Allowance(usage_day(b.expires_at), b.voice_left) for b in buckets if b.voice_total]
        self.data_forecast = forecast(used=data, today=today, allowances=data_left, ends_on=ends_on)
        self.voice_forecast = forecast(used=voice, today=today, allowances=voice_left, ends_on=ends_on)

    @property
    def time_left(self) -> timedelta:
        if self.line.expires_at is None or self.is_expired:
            return timedelta(0)
        return self.line.expires_at - self.now

    @property
    def under_a_day_left(self) -> bool:
        return self.time_left <= timedelta(days=1)

    @property
    def expires_within_a_week(self) -> bool:
        return self.time_left < timedelta(days=7)


# A day of a line's use: the day, its data (bytes) and its talk time (seconds), overage included.
DayTotals = tuple[date, int, int]

# Usage the network has not reported for this long may be missing from a line's figures.
USAGE_STALE_AFTER = timedelta(hours=6)


def line_summaries(*, user: User, now: datetime | None = None) -> list[LineSummary]:
    """Each of the customer's lines with what is left on it now, how fresh that is and when it
    runs out at the line's pace: 3 queries (``plans.summary_sql``), sent together."""
    now = now or timezone.now()
    today = usage_day(now)
    lines, buckets, days = read_together(
        lines_read(owner_id=user.pk),
        buckets_read(LinesOf(owner_id=user.pk), now=now, started=True),
        days_read(LinesOf(owner_id=user.pk), first=today - timedelta(days=HISTORY_DAYS - 1), last=today),
    )
    return _summaries(lines, buckets, days, now=now)


def summaries_of(lines: list[Line], *, now: datetime) -> list[LineSummary]:
    """What is left on each of these lines now, and when it runs out at the line's pace, in
    their order: 2 queries (their live buckets, 4 weeks of their daily totals)."""
    ids = [line.pk for line in lines]
    today = usage_day(now)
    buckets = buckets_of(ids, now=now, started=True)
    return _summaries(lines, buckets, days_of(ids, first=today - timedelta(days=HISTORY_DAYS - 1), last=today), now=now)


def _summaries(lines: list[Line], buckets: list[Bucket], days: list[DayRow], *, now: datetime) -> list[LineSummary]:
    """The lines' summaries from their live buckets and their last ``HISTORY_DAYS`` days. A
    bucket or a day of a line not among them (added by a read made beside theirs) is left out."""
    summaries = {line.pk: LineSummary(line=line, home=Balance(), now=now) for line in lines}
    for bucket in buckets:
        if bucket.line_id in summaries:
            summaries[bucket.line_id].add(bucket)
    history: dict[int, list[DayTotals]] = {line_id: [] for line_id in summaries}
    for line_id, day, data, data_overage, voice, voice_overage, _, _ in days:
        if line_id in history:
            history[line_id].append((day, data + data_overage, voice + voice_overage))
    for line_id, totals in history.items():
        summaries[line_id].forecast_from(totals)
    return list(summaries.values())


@dataclass
class UsageDay:
    """One day of a line's use: data within and over its allowance (bytes); talk time (seconds)
    and SMS, overage included."""

    day: date
    data: int
    overage: int
    voice: int = 0
    sms: int = 0


@dataclass
class LineDetail:
    summary: LineSummary
    buckets: list[Bucket]
    usage: list[UsageDay]

    @property
    def usage_peak(self) -> int:
        return max((day.data + day.overage for day in self.usage), default=0)


USAGE_DAYS = 30


def line_detail(*, user: User, line_id: int, now: datetime | None = None) -> LineDetail:
    """One of the customer's lines (404 for anyone else's): its summary, its live and coming
    buckets, its use per day (data, talk time, SMS) for the last 30 days, and its forecasts. 3
    queries, sent together."""
    now = now or timezone.now()
    today = usage_day(now)
    first = today - timedelta(days=max(USAGE_DAYS, HISTORY_DAYS) - 1)
    found, buckets, days = read_together(
        lines_read(owner_id=user.pk, line_id=line_id),
        buckets_read(LinesOf(owner_id=user.pk, line_id=line_id), now=now, started=False),
        days_read(LinesOf(owner_id=user.pk, line_id=line_id), first=first, last=today),
    )
    if not found:
        raise Http404("no such line")
    line = found[0]
    summary = LineSummary(line=line, home=Balance(), now=now)
    for bucket in buckets:
        if bucket.starts_at <= now:
            summary.add(bucket)
    stored = {row[1]: row for row in days}
    summary.forecast_from(
        [
            (day, data + data_over, voice + voice_over)
            for _, day, data, data_over, voice, voice_over, _, _ in stored.values()
        ]
    )
    first = today - timedelta(days=USAGE_DAYS - 1)
    usage = []
    for offset in range(USAGE_DAYS):
        day = first + timedelta(days=offset)
        row = stored.get(day)
        if row is None:
            usage.append(UsageDay(day=day, data=0, overage=0))
        else:
            _, _, data, data_over, voice, voice_over, sms, sms_over = row
            usage.append(UsageDay(day=day, data=data, overage=data_over, voice=voice + voice_over, sms=sms + sms_over))
    return LineDetail(summary=summary, buckets=buckets, usage=usage)


def line_usage_totals(*, line: Line, days: int, now: datetime | None = None) -> dict[str, int]:
    """What a line used over its last ``days`` days, overage included, and over how many of them
    (``days``: from the first day with any use to today; 0 when none): one query."""
    today = usage_day(now or timezone.now())
    totals = DailyUsage.objects.filter(line=line, day__gte=today - timedelta(days=days - 1), day__lte=today).aggregate(
        data=Sum(F("data") + F("data_overage")),
        voice=Sum(F("voice") + F("voice_overage")),
        sms=Sum(F("sms") + F("sms_overage")),
        first=Min("day"),
    )
    first: date | None = totals.pop("first")
    return {"days": (today - first).days + 1 if first else 0} | {
        name: int(value or 0) for name, value in totals.items()
    }


@dataclass
class DeskLine:
    """A customer's line as the support desk sees it: every live bucket, and the network's last
    usage record for it (``last_usage`` is None when it has none)."""

    line: Line
    buckets: list[Bucket] = field(default_factory=list)
    last_usage: UsageRecord | None = None


def lines_for_desk(*, user: User, now: datetime | None = None) -> list[DeskLine]:
    """The customer's lines by number, with their live buckets and last usage: 2 queries however
    many lines and buckets (the last usage is kept on the line's latest daily row that has one, a
    subquery per line on the daily rows' (line, day) index)."""
    now = now or timezone.now()
    latest = DailyUsage.objects.filter(line=OuterRef("pk"), last_at__isnull=False).order_by("-day")
    lines = list(
        Line.objects.filter(owner=user)
        .select_related("plan")
        .annotate(
            last_usage_at=Subquery(latest.values("last_at")[:1]),
            last_usage_kind=Subquery(latest.values("last_kind")[:1]),
            last_usage_amount=Subquery(latest.values("last_amount")[:1]),
            last_usage_country=Subquery(latest.values("last_country")[:1]),
        )
        .order_by("msisdn")
    )
    shown = {}
    for line in lines:
        last = None
        if line.last_usage_at is not None:
            last = UsageRecord(
                line=line,
                at=line.last_usage_at,
                kind=line.last_usage_kind,
                amount=line.last_usage_amount,
                country=line.last_usage_country,
            )
        shown[line.pk] = DeskLine(line=line, last_usage=last)
    if shown:
        for bucket in buckets_of(list(shown), now=now, started=True):
            shown[bucket.line_id].buckets.append(bucket)
    return list(shown.values())
