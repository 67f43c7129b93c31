"""A line: one eSIM number, owned by a customer or waiting for one."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from plans.validators import validate_eid, validate_iccid

# Lets constraints say iccid__length__gte=19.
models.CharField.register_lookup(Length)


class Line(models.Model):
    """One eSIM number. Staff import lines unowned; a customer adds one by proving they hold it."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Not yet assigned")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    msisdn = PhoneNumberField(_("number"), unique=True)
    iccid = models.CharField(_("ICCID"), max_length=20, unique=True, validators=[validate_iccid])
    eid = models.CharField(_("EID"), max_length=32, blank=True, validators=[validate_eid])
    smdp_address = models.CharField(_("SM-DP+ address"), max_length=255)
    matching_id = models.CharField(_("matching ID"), max_length=255)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    nickname = models.CharField(_("nickname"), max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lines",
    )
    created_at = models.DateTimeField(_("imported"), default=timezone.now)
    added_at = models.DateTimeField(_("added to account"), null=True, blank=True)
    # Kept by the services that add base buckets: the current base plan and the latest expiry of
    # the base buckets, so that pages and the reminder sweeps need not scan the buckets.
    plan = models.ForeignKey(
        "plans.Plan", verbose_name=_("plan"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)

    class Meta:
        verbose_name = _("line")
        verbose_name_plural = _("lines")
        ordering = ["added_at", "id"]
        # Each constraint says what is wrong in words (a form shows it), not its name.
        constraints = [
            models.CheckConstraint(
                condition=models.Q(iccid__length__gte=19, iccid__length__lte=20),
                name="plans_line_iccid_length",
                violation_error_message=_("An ICCID is 19 or 20 digits."),
            ),
            models.CheckConstraint(
                condition=models.Q(eid="") | models.Q(eid__length=32),
                name="plans_line_eid_length",
                violation_error_message=_("An EID is 32 digits."),
            ),
            models.UniqueConstraint(
                fields=["eid"],
                condition=~models.Q(eid=""),
                name="plans_line_eid_unique",
                violation_error_message=_("Another line already has this EID."),
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="available", owner__isnull=True)
                    | (~models.Q(status="available") & models.Q(owner__isnull=False))
                ),
                name="plans_line_owned_unless_available",
                violation_error_message=_(
                    "A line with an owner is Active or Suspended; a line without one is Not yet assigned. "
                    "Choose an owner, or set the status to Not yet assigned."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.nickname or str(self.msisdn)

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def activation_code(self) -> str:
        """The LPA string a phone scans to download the eSIM profile."""
        return f"LPA:1${self.smdp_address}${self.matching_id}"
