"""Writes on the catalogue's side: granting allowance to a line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from plans.models import MB, Bucket, Line, Plan
from plans.pricing import FlexibleChoice, flexible_choice_check


def bucket_grant(
    *,
    line: Line,
    plan: Plan,
    choice: FlexibleChoice | None = None,
    now: datetime | None = None,
) -> Bucket:
    """Add one bucket of ``plan`` to ``line``, usable from ``now`` (at once, or later for a pack
    that runs after another one: billing passes when that one ends).

    A base plan moves the line's expiry to ``max(now, current expiry) + validity`` and becomes the
    line's plan; an add-on pack runs for its own validity and leaves the expiry alone. A flexible
    plan gives the amounts in ``choice``. The line row is locked, so two grants at once both count.
    A paid order's item links itself to the bucket (billing), one-to-one.
    """
    now = now or timezone.now()
    data_mb, minutes = plan.data_mb, plan.minutes
    if plan.is_flexible:
        if choice is None:
            raise ValueError("a flexible plan needs the amounts chosen")
        flexible_choice_check(plan, choice)
        data_mb, minutes = choice.data_gb * 1024, choice.minutes
    with transaction.atomic():
        line = Line.objects.select_for_update(no_key=True).get(pk=line.pk)
        validity = timedelta(days=plan.validity_days)
        if plan.is_addon:
            expires_at = now + validity
        else:
            expires_at = max(now, line.expires_at or now) + validity
            line.expires_at = expires_at
            line.plan = plan
            line.save(update_fields=["expires_at", "plan"])
        return Bucket.objects.create(
            line=line,
            plan=plan,
            is_addon=plan.is_addon,
            countries=plan.countries,
            data_total=data_mb * MB,
            voice_total=minutes * 60,
            sms_total=plan.sms,
            starts_at=now,
            expires_at=expires_at,
        )


def bucket_withdraw(*, bucket: Bucket, now: datetime | None = None) -> None:
    """Take away what is left in ``bucket`` (a refund), and give back the days it added.

    A pack that has not started yet keeps its dates and loses its allowance (the database checks
    starts_at < expires_at, so its expiry is not moved back to ``now``).
    A base plan's days were stacked on the line's expiry, and any renewal bought after it was
    stacked on top: so those later base buckets move back by the days of this one not yet
    reached, and the line's expiry and plan become what its other base buckets give. Locks the
    line, then the bucket (the usage feed's order), and reads what is used under the lock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        line = Line.objects.select_for_update(no_key=True).get(pk=bucket.line_id)
        # Read again under its lock: a usage batch applied since ``bucket`` was read used more of it.
        bucket = Bucket.objects.select_for_update(of=("self",), no_key=True).select_related("plan").get(pk=bucket.pk)
        bought_until = bucket.expires_at
        bucket.data_total, bucket.voice_total, bucket.sms_total = bucket.data_used, bucket.voice_used, bucket.sms_used
        if bucket.starts_at < now < bucket.expires_at:
            bucket.expires_at = now
        bucket.save(update_fields=["data_total", "voice_total", "sms_total", "expires_at"])
        if bucket.is_addon:
            return
        own_days_from = max(bought_until - timedelta(days=bucket.plan.validity_days), now)
        unused = max(bought_until - own_days_from, timedelta(0))
        others = Bucket.objects.filter(line=line, is_addon=False).exclude(pk=bucket.pk)
        if unused:
            for later in others.filter(expires_at__gt=bought_until).select_for_update(of=("self",), no_key=True):
                # Never before it starts (the database checks starts_at < expires_at).
                later.expires_at = max(later.expires_at - unused, later.starts_at + timedelta(seconds=1))
                later.save(update_fields=["expires_at"])
        latest = others.order_by("-expires_at").select_related("plan").first()
        line.expires_at = latest.expires_at if latest else now
        line.plan = latest.plan if latest else bucket.plan
        line.save(update_fields=["expires_at", "plan"])


@dataclass(frozen=True)
class Allowance:
    """An amount of allowance: bytes of data, seconds of talk, SMS."""

    data: int = 0
    voice: int = 0
    sms: int = 0

    def __add__(self, other: Allowance) -> Allowance:
        return Allowance(self.data + other.data, self.voice + other.voice, self.sms + other.sms)

    def __bool__(self) -> bool:
        return bool(self.data or self.voice or self.sms)


def bucket_share(*, bucket: Bucket, part: int, whole: int, now: datetime | None = None) -> Allowance:
    """``part``/``whole`` of what is left in ``bucket`` (rounded down: the customer keeps the
    fraction); nothing of a bucket that has expired. Reads only: what ``bucket_take_back_share``
    would take back, for a page to say before it is done."""
    now = now or timezone.now()
    if whole <= 0 or part <= 0 or bucket.expires_at <= now:
        return Allowance()
    part = min(part, whole)
    return Allowance(
        data=bucket.data_left * part // whole,
        voice=bucket.voice_left * part // whole,
        sms=bucket.sms_left * part // whole,
    )


def bucket_take_back_share(*, bucket: Bucket, part: int, whole: int, now: datetime | None = None) -> Allowance:
    """Take back ``part``/``whole`` of what is left in ``bucket`` now (a partial refund of what
    paid for it): its data, minutes and SMS totals go down by that share of what is not yet used,
    so used never exceeds total; its dates, and the line's expiry, stay. Locks the line, then the
    bucket (the usage feed's order), and reads what is left under the lock. Returns what was
    taken back."""
    with transaction.atomic():
        Line.objects.select_for_update(no_key=True).get(pk=bucket.line_id)
        locked = Bucket.objects.select_for_update(of=("self",), no_key=True).get(pk=bucket.pk)
        taken = bucket_share(bucket=locked, part=part, whole=whole, now=now)
        if taken:
            locked.data_total -= taken.data
            locked.voice_total -= taken.voice
            locked.sms_total -= taken.sms
            locked.save(update_fields=["data_total", "voice_total", "sms_total"])
    return taken


def line_validity_extend(*, line: Line, days: int, now: datetime | None = None) -> Bucket:
    """Give ``line`` ``days`` more days on the rule a renewal follows: its expiry moves to
    ``max(now, current expiry) + days``, and its current base bucket (the one ending last) is
    moved to the same moment, so the line's expiry stays its base buckets' latest end (what
    ``bucket_withdraw`` and the reminders rely on) and what is left in that bucket lasts as long.
    No allowance is added. The line and that bucket are locked; ValueError when the line has no
    base bucket (it never had a plan) or ``days`` is not positive.
    """
    if days < 1:
        raise ValueError("days must be positive")
    now = now or timezone.now()
    with transaction.atomic():
        line = Line.objects.select_for_update(no_key=True).get(pk=line.pk)
        bucket = (
            Bucket.objects.select_for_update(of=("self",), no_key=True)
            .filter(line=line, is_addon=False)
            .order_by("-expires_at", "-pk")
            .first()
        )
        if bucket is None:
            raise ValueError(f"line {line.pk} has no base bucket to extend")
        expires_at = max(now, line.expires_at or bucket.expires_at, bucket.expires_at) + timedelta(days=days)
        bucket.expires_at = expires_at
        bucket.save(update_fields=["expires_at"])
        line.expires_at = expires_at
        line.plan = line.plan or bucket.plan
        line.save(update_fields=["expires_at", "plan"])
        return bucket
