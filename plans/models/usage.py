"""What a line used: the network's usage records, their daily totals, and the batches they
arrive in."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from boomcard.fields import StoredJSONField


class UsageRecord(models.Model):
    """One usage record from the network. Its id is unique, so a record counts once.

    The network's log, hundreds of thousands of rows an hour, written by ``plans.usage`` and read
    by nothing but its id (the duplicates check) and the staff's admin. Each index or key on it is
    paid by every record stored (a COPY of 500,000 records: 0.19 of the speed into a bare table
    with the ``(line, at)`` index and the foreign key, 0.5-0.6 without them), so it has neither: a
    line's last usage is kept on its daily totals (``DailyUsage.last_at``), and the line is one
    applying has just read (``plans.usage.apply._lines_find``).
    """

    class Kind(models.TextChoices):
        DATA = "data", _("Data")
        VOICE = "voice", _("Voice")
        SMS = "sms", _("SMS")

    # Unique through Meta.constraints rather than unique=True, which would also add a
    # varchar_pattern_ops index for LIKE that nothing uses and every insert pays for.
    record_id = models.CharField(_("record id"), max_length=64)
    # No index and no constraint in the database (see above). Django still deletes a line's
    # records with it (a scan of the table: staff delete lines seldom, and never one with orders,
    # which ``billing.Order.line`` protects).
    line = models.ForeignKey(
        "plans.Line",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("line"),
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    amount = models.BigIntegerField(_("amount"))
    country = models.CharField(_("country"), max_length=2)
    at = models.DateTimeField(_("used at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    overage = models.BigIntegerField(_("overage"), default=0)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
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

    line = models.ForeignKey("plans.Line", on_delete=models.CASCADE, related_name="+", verbose_name=_("line"))
    day = models.DateField(_("day"))
    data = models.BigIntegerField(_("data (bytes)"), default=0)
    voice = models.BigIntegerField(_("voice (seconds)"), default=0)
    sms = models.IntegerField(_("SMS"), default=0)
    data_overage = models.BigIntegerField(_("data overage (bytes)"), default=0)
    voice_overage = models.BigIntegerField(_("voice overage (seconds)"), default=0)
    sms_overage = models.IntegerField(_("SMS overage"), default=0)
    # The day's newest record: on a line's latest day, when the line was last used and what for
    # (the cards' freshness, the support desk). Empty on days no record was applied to (the demo's
    # history).
    last_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_kind = models.CharField(_("last usage kind"), max_length=8, blank=True, default="")
    last_amount = models.BigIntegerField(_("last usage amount"), null=True, blank=True)
    last_country = models.CharField(_("last usage country"), max_length=2, blank=True, default="")

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        constraints = [models.UniqueConstraint(fields=["line", "day"], name="plans_dailyusage_one_per_day")]
        # The run-out alerts' sweep reads the lines used on a day, in pages by line (plans.runout).
        indexes = [models.Index(fields=["day", "line"], name="plans_dailyusage_day_line")]

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

    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    records = StoredJSONField(_("records"))
    record_count = models.PositiveIntegerField(_("number of records"))
    errors = models.JSONField(_("rejected records"), default=list)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    report = models.JSONField(_("report"), null=True, blank=True)

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

    key = models.CharField(_("idempotency key"), max_length=300, primary_key=True)
    batch = models.OneToOneField(
        UsageBatch, on_delete=models.CASCADE, related_name="idempotency_key", verbose_name=_("usage batch")
    )
    body_sha256 = models.CharField(_("body hash (SHA-256)"), max_length=64)

    class Meta:
        verbose_name = _("usage batch key")
        verbose_name_plural = _("usage batch keys")

    def __str__(self) -> str:
        return f"{self.key} -> batch {self.batch_id}"
