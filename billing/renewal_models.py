"""The renewal auto-renew makes of one line expiry: when the customer was told, whether they
skipped it, and the plan they chose for it (kept apart from billing.models, which is long enough)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AutoRenewal(models.Model):
    """The automatic renewal of one line's expiry, made on demand: by the sweep when it sends the
    notice before the charge, or when the customer skips it or picks its plan earlier. Unique per
    (line, expiry), so there is one notice and one decision per expiry; a renewal moves the line's
    expiry, and the next expiry is a new row, charged normally. The charge and the customer's
    changes lock this row (billing.services), so a skip either comes before the charge (no charge)
    or after it (refused: the order exists)."""

    line = models.ForeignKey("plans.Line", on_delete=models.CASCADE, related_name="+", verbose_name=_("line"))
    expires_at = models.DateTimeField(_("line expiry"))
    # The plan chosen for this renewal; null: the line's plan at the time of the charge.
    plan = models.ForeignKey(
        "plans.Plan", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan")
    )
    notified_at = models.DateTimeField(_("customer told at"), null=True, blank=True)
    skipped_at = models.DateTimeField(_("skipped at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("automatic renewal")
        verbose_name_plural = _("automatic renewals")
        constraints = [
            models.UniqueConstraint(fields=["line", "expires_at"], name="billing_autorenewal_once_per_expiry")
        ]
        indexes = [
            # The charge sweep's read: renewals told and not skipped, by the expiry they renew.
            models.Index(
                fields=["expires_at"],
                condition=Q(notified_at__isnull=False, skipped_at__isnull=True),
                name="billing_autorenewal_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.expires_at:%Y-%m-%d %H:%M}"
