"""What a line holds: its allowance buckets (Bucket)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from plans.models.catalogue import Plan


class Bucket(models.Model):
    """One bucket of allowance on one line, usable from ``starts_at`` until ``expires_at``.

    Data is counted in bytes, voice in seconds, SMS one by one. ``used`` never exceeds ``total``
    (the database checks); what the network reports beyond every bucket is overage, kept on the
    daily usage row instead.
    """

    line = models.ForeignKey("plans.Line", verbose_name=_("line"), on_delete=models.CASCADE, related_name="buckets")
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+")
    is_addon = models.BooleanField(_("add-on pack"), default=False)
    countries = models.JSONField(_("countries"), default=list, blank=True)
    data_total = models.BigIntegerField(_("data total (bytes)"), default=0)
    data_used = models.BigIntegerField(_("data used (bytes)"), default=0)
    voice_total = models.BigIntegerField(_("voice total (seconds)"), default=0)
    voice_used = models.BigIntegerField(_("voice used (seconds)"), default=0)
    sms_total = models.IntegerField(_("SMS total"), default=0)
    sms_used = models.IntegerField(_("SMS used"), default=0)
    starts_at = models.DateTimeField(_("starts"))
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # What paid for a bucket is billing's to know: its OrderItem points here (``order_item``).

    class Meta:
        verbose_name = _("allowance bucket")
        verbose_name_plural = _("allowance buckets")
        indexes = [models.Index(fields=["line", "expires_at"], name="plans_bucket_line_expiry")]
        # Each constraint says what is wrong in words (a form shows it), not its name.
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("expires_at")),
                name="plans_bucket_starts_first",
                violation_error_message=_("A bucket must start before it expires."),
            ),
            models.CheckConstraint(
                condition=Q(data_used__gte=0, data_used__lte=F("data_total")),
                name="plans_bucket_data_in_range",
                violation_error_message=_("Data used must be between 0 and the data total."),
            ),
            models.CheckConstraint(
                condition=Q(voice_used__gte=0, voice_used__lte=F("voice_total")),
                name="plans_bucket_voice_in_range",
                violation_error_message=_("Voice used must be between 0 and the voice total."),
            ),
            models.CheckConstraint(
                condition=Q(sms_used__gte=0, sms_used__lte=F("sms_total")),
                name="plans_bucket_sms_in_range",
                violation_error_message=_("SMS used must be between 0 and the SMS total."),
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
