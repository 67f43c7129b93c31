"""The catalogue (Plan, Price) and what a line holds (Entitlement buckets) and used (UsageRecord)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from boomcard.formats import GB as GB  # the units data is counted in, for the apps above
from boomcard.formats import MB as MB

CURRENCIES = [("CNY", "CNY ¥"), ("HKD", "HKD $"), ("USD", "USD $")]


class Plan(models.Model):
    """Something a customer can buy for a line: a base plan (moves the expiry) or an add-on pack."""

    class Kind(models.TextChoices):
        BASIC = "basic", _("Basic")
        BIG_DATA = "big_data", _("Big data")
        ROAMING = "roaming", _("Roaming")
        FLEXIBLE = "flexible", _("Flexible")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    is_addon = models.BooleanField(
        _("add-on pack"), default=False, help_text=_("Adds allowance without moving the line's expiry.")
    )
    name_en = models.CharField(_("name (English)"), max_length=80)
    name_zh = models.CharField(_("name (Chinese)"), max_length=80)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    data_mb = models.PositiveIntegerField(_("data (MB)"), default=0)
    minutes = models.PositiveIntegerField(_("minutes"), default=0)
    sms = models.PositiveIntegerField(_("SMS"), default=0)
    validity_days = models.PositiveSmallIntegerField(_("validity (days)"))
    countries = models.JSONField(
        _("countries"),
        default=list,
        blank=True,
        help_text=_('ISO country codes where a roaming pack works, e.g. ["JP", "KR"]. Empty: home.'),
    )
    # A flexible plan: the customer picks data (GB) and minutes (in hundreds) within these bounds.
    flex_data_gb_min = models.PositiveSmallIntegerField(_("flexible: least GB"), default=0)
    flex_data_gb_max = models.PositiveSmallIntegerField(_("flexible: most GB"), default=0)
    flex_minutes_min = models.PositiveIntegerField(_("flexible: least minutes"), default=0)
    flex_minutes_max = models.PositiveIntegerField(_("flexible: most minutes"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="plans_plan_validity_positive"),
            models.CheckConstraint(
                condition=~Q(kind="flexible") | Q(is_addon=False), name="plans_plan_flexible_is_base"
            ),
            models.CheckConstraint(
                condition=Q(flex_data_gb_min__lte=F("flex_data_gb_max"))
                & Q(flex_minutes_min__lte=F("flex_minutes_max")),
                name="plans_plan_flex_bounds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    @property
    def name(self) -> str:
        return self.name_zh if _is_chinese() else self.name_en

    @property
    def description(self) -> str:
        return self.description_zh if _is_chinese() else self.description_en

    @property
    def is_flexible(self) -> bool:
        return self.kind == self.Kind.FLEXIBLE

    @property
    def is_roaming(self) -> bool:
        return bool(self.countries)


def _is_chinese() -> bool:
    return (translation.get_language() or settings.LANGUAGE_CODE).startswith("zh")


class Price(models.Model):
    """What a plan costs in one currency, in minor units (fen, cents).

    For a flexible plan ``amount_minor`` is the base, plus ``per_gb_minor`` for each GB and
    ``per_100_minutes_minor`` for each hundred minutes the customer picks.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES)
    amount_minor = models.PositiveIntegerField(_("price (minor units)"))
    per_gb_minor = models.PositiveIntegerField(_("flexible: per GB (minor units)"), default=0)
    per_100_minutes_minor = models.PositiveIntegerField(_("flexible: per 100 minutes (minor units)"), default=0)

    class Meta:
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [models.UniqueConstraint(fields=["plan", "currency"], name="plans_price_one_per_currency")]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.currency} {self.amount_minor}"


class Entitlement(models.Model):
    """One bucket of allowance on one line, usable from ``starts_at`` until ``expires_at``.

    Data is counted in bytes, voice in seconds, SMS one by one. ``used`` never exceeds ``total``
    (the database checks); what the network reports beyond every bucket is overage, kept on the
    daily usage row instead.
    """

    line = models.ForeignKey("accounts.Line", on_delete=models.CASCADE, related_name="entitlements")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+")
    is_addon = models.BooleanField(default=False)
    countries = models.JSONField(default=list, blank=True)
    data_total = models.BigIntegerField(default=0)
    data_used = models.BigIntegerField(default=0)
    voice_total = models.BigIntegerField(default=0)
    voice_used = models.BigIntegerField(default=0)
    sms_total = models.IntegerField(default=0)
    sms_used = models.IntegerField(default=0)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    # What paid for a bucket is billing's to know: its OrderItem points here (``order_item``).

    class Meta:
        verbose_name = _("allowance bucket")
        verbose_name_plural = _("allowance buckets")
        indexes = [models.Index(fields=["line", "expires_at"], name="plans_entitlement_line_expiry")]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("expires_at")), name="plans_entitlement_starts_first"),
            models.CheckConstraint(
                condition=Q(data_used__gte=0, data_used__lte=F("data_total")), name="plans_entitlement_data_in_range"
            ),
            models.CheckConstraint(
                condition=Q(voice_used__gte=0, voice_used__lte=F("voice_total")),
                name="plans_entitlement_voice_in_range",
            ),
            models.CheckConstraint(
                condition=Q(sms_used__gte=0, sms_used__lte=F("sms_total")), name="plans_entitlement_sms_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} on {self.line_id} until {self.expires_at:%Y-%m-%d}"

    @property
    def data_left(self) -> int:
        return self.data_total - self.data_used

    @property
    def voice_left(self) -> int:
        return self.voice_total - self.voice_used

    @property
    def sms_left(self) -> int:
        return self.sms_total - self.sms_used

    def is_live(self, at: object = None) -> bool:
        now = at or timezone.now()
        return bool(self.starts_at <= now < self.expires_at)  # type: ignore[operator]

    def covers(self, country: str) -> bool:
        """Whether usage in ``country`` can come from this bucket."""
        return not self.countries or country in self.countries


class UsageRecord(models.Model):
    """One usage record from the network. Its id is unique, so a record counts once."""

    class Kind(models.TextChoices):
        DATA = "data", _("Data")
        VOICE = "voice", _("Voice")
        SMS = "sms", _("SMS")

    # Unique through Meta.constraints rather than unique=True, which would also add a
    # varchar_pattern_ops index for LIKE that nothing uses and every insert pays for.
    record_id = models.CharField(max_length=64)
    # No index of its own: plans_usage_line_at, (line_id, at), serves every filter on the line.
    line = models.ForeignKey("accounts.Line", on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.BigIntegerField()
    country = models.CharField(max_length=2)
    at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    overage = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        indexes = [models.Index(fields=["line", "at"], name="plans_usage_line_at")]
        constraints = [
            models.UniqueConstraint(fields=["record_id"], name="plans_usage_record_id_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="plans_usage_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.record_id


def usage_day(at: datetime) -> date:
    """The day a usage record counts on: the calendar day in the carrier's time zone."""
    return at.astimezone(ZoneInfo(settings.USAGE_DAY_TIME_ZONE)).date()


class DailyUsage(models.Model):
    """A line's usage on one day (in the carrier's time zone): what the usage chart draws."""

    line = models.ForeignKey("accounts.Line", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    data = models.BigIntegerField(default=0)
    voice = models.BigIntegerField(default=0)
    sms = models.IntegerField(default=0)
    data_overage = models.BigIntegerField(default=0)
    voice_overage = models.BigIntegerField(default=0)
    sms_overage = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [models.UniqueConstraint(fields=["line", "day"], name="plans_dailyusage_one_per_day")]

    def __str__(self) -> str:
        return f"{self.line_id} {self.day}"


class UsageBatch(models.Model):
    """A batch of usage records as the network posted it, checked and waiting to be applied.

    ``POST /api/usage/`` stores the records that passed the checks here, in one row, and answers
    at once; a task on the ``usage`` queue applies them to the buckets (plans.usage) and marks the
    batch applied in the same transaction, so a batch is applied once, however often its task
    runs. ``records`` holds each record as a list (see ``plans.usage.batches.BATCH_FIELDS``); ``errors``
    the records rejected when the batch arrived; ``report`` what applying it found.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPLIED = "applied", _("applied")

    received_at = models.DateTimeField(default=timezone.now)
    records = models.JSONField()
    record_count = models.PositiveIntegerField()
    errors = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    applied_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("usage batch")
        verbose_name_plural = _("usage batches")
        # The sweep's read: batches still pending, oldest first. Applied ones leave the index.
        indexes = [models.Index(fields=["received_at"], condition=Q(status="pending"), name="plans_usagebatch_pending")]
        constraints = [
            models.CheckConstraint(condition=Q(record_count__gt=0), name="plans_usagebatch_not_empty"),
            models.CheckConstraint(
                condition=Q(status="pending", applied_at__isnull=True, report__isnull=True)
                | Q(status="applied", applied_at__isnull=False, report__isnull=False),
                name="plans_usagebatch_applied_with_report",
            ),
        ]

    def __str__(self) -> str:
        return f"usage batch {self.pk} ({self.status})"


class UsageBatchKey(models.Model):
    """The idempotency key a batch was posted under: the network's ``Idempotency-Key`` header, or
    else the request's signature. The same key again answers this batch, and stores nothing; the
    same key with another body (``body_sha256``) is refused. Kept, and deleted, with its batch."""

    key = models.CharField(max_length=300, primary_key=True)
    batch = models.OneToOneField(UsageBatch, on_delete=models.CASCADE, related_name="idempotency_key")
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("usage batch key")
        verbose_name_plural = _("usage batch keys")

    def __str__(self) -> str:
        return f"{self.key} -> batch {self.batch_id}"
