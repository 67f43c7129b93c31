from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Length, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.validators import validate_eid, validate_iccid

# Lets constraints say iccid__length__gte=19.
models.CharField.register_lookup(Length)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **fields: Any) -> User:
        if fields.get("email"):
            fields["email"] = self.normalize_email(fields["email"])
        user = self.model(phone=phone, **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **fields: Any) -> User:
        fields.update(is_staff=True, is_superuser=True, is_active=True)
        fields.setdefault("phone_verified_at", timezone.now())
        return self.create_user(phone, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer (or a staff member). The mobile number is the log-in name.

    Staff may also have a short ``username`` to log in to the admin with; customers log in with
    their number or their email.
    """

    phone = PhoneNumberField(_("mobile number"), unique=True)
    username = models.CharField(_("staff log-in name"), max_length=64, unique=True, null=True, blank=True, default=None)
    email = models.EmailField(_("email"), blank=True, help_text=_("Needed for receipts."))
    # A new address waits here until the customer follows the link sent to it
    # (accounts.email_change): until then receipts and log-ins keep to ``email``.
    email_pending = models.EmailField(_("new email, not yet confirmed"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.CUSTOMER_DEFAULT_TIME_ZONE)
    phone_verified_at = models.DateTimeField(_("number verified at"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    # Not a column: the bell's count, read with the logged-in user (accounts.backends).
    unread_notice_count: int | None = None

    USERNAME_FIELD = "phone"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_unique_ci"
            ),
        ]

    def __str__(self) -> str:
        return self.username or str(self.phone)

    @property
    def phone_verified(self) -> bool:
        return self.phone_verified_at is not None


class Registration(models.Model):
    """One attempt to register a number: what was typed (the password as a hash), kept with the
    codes sent for it (``SmsCode.registration``) rather than on an account.

    The account is made, with this attempt's data, only when one of its own codes is entered
    (accounts.registration), so a later attempt for the same number changes nothing of an
    earlier one.
    """

    phone = PhoneNumberField()
    password = models.CharField(max_length=128)
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration")

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"


class SmsCode(models.Model):
    """A six-digit code sent by SMS to prove that someone holds a number.

    Only a keyed hash of the code is stored. The newest unused code for a number and purpose (and
    registration) is the one that counts; it expires after ``LIFETIME`` and dies after ``MAX_ATTEMPTS`` wrong tries.
    """

    class Purpose(models.TextChoices):
        REGISTER = "register", _("registration")
        PASSWORD_RESET = "password_reset", _("password reset")
        ADD_LINE = "add_line", _("adding a line")
        SUPPORT = "support", _("writing to support")

    phone = PhoneNumberField()
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    # A registration code proves its own attempt only.
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.CASCADE, related_name="codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        indexes = [models.Index(fields=["phone", "-created_at"], name="accounts_smscode_phone_recent")]

    def __str__(self) -> str:
        return f"{self.phone} {self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


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
        constraints = [
            models.CheckConstraint(
                condition=models.Q(iccid__length__gte=19, iccid__length__lte=20),
                name="accounts_line_iccid_length",
            ),
            models.CheckConstraint(
                condition=models.Q(eid="") | models.Q(eid__length=32), name="accounts_line_eid_length"
            ),
            models.UniqueConstraint(fields=["eid"], condition=~models.Q(eid=""), name="accounts_line_eid_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(status="available", owner__isnull=True)
                    | (~models.Q(status="available") & models.Q(owner__isnull=False))
                ),
                name="accounts_line_owned_unless_available",
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


class Notice(models.Model):
    """A message to a customer, shown in the site (and, by the outbox, sent by email).

    ``key`` makes "once per" rules hold in the database: one low-balance notice per bucket and
    threshold, one reminder per line and expiry date, one confirmation per order.
    """

    class Kind(models.TextChoices):
        LOW_BALANCE = "low_balance", _("Data running low")
        PAYMENT_CONFIRMED = "payment_confirmed", _("Payment confirmed")
        PAYMENT_NEEDED = "payment_needed", _("Payment needed")
        REFUNDED = "refunded", _("Refund")
        RENEWAL_REMINDER = "renewal_reminder", _("Renewal reminder")
        SUPPORT_RECEIVED = "support_received", _("Support request received")
        # Security notices (accounts.security_notices).
        PASSWORD_RESET = "password_reset", _("Password reset")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        TWO_FACTOR_ON = "two_factor_on", _("Two-step log-in turned on")
        TWO_FACTOR_OFF = "two_factor_off", _("Two-step log-in turned off")
        EMAIL_CHANGED = "email_changed", _("Email changed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_notice_user_recent")]

    def __str__(self) -> str:
        return self.key


class StaffAlert(models.Model):
    """Something staff must look at (a disputed payment), emailed to ``SUPPORT_EMAIL`` through the
    outbox. ``key`` makes it once-only, like a notice's; ``link`` is a path in the admin."""

    class Kind(models.TextChoices):
        DISPUTE = "dispute", _("Payment disputed")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True)
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("staff alert")
        verbose_name_plural = _("staff alerts")

    def __str__(self) -> str:
        return self.key


class EmailDelivery(models.Model):
    """The email for a notice, a support request or a staff alert, written in the same
    transaction (the outbox); a task sends it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("No longer needed")

    notice = models.OneToOneField(Notice, null=True, blank=True, on_delete=models.CASCADE, related_name="email")
    support_request = models.OneToOneField(
        "SupportRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="email"
    )
    staff_alert = models.OneToOneField(
        StaffAlert, null=True, blank=True, on_delete=models.CASCADE, related_name="email"
    )
    # The link that confirms a new address (``to``) for this customer (accounts.email_change);
    # the link itself is made when the email is sent, never stored.
    email_verification_for = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to = models.EmailField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when a sender takes the email (accounts.outbox.email_send): until then no one else
    # sends it; after it, the sender is taken to have died and the email is due again.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="pending"), name="accounts_email_pending_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.to} {self.status}"


class SupportRequest(models.Model):
    """A message to support, forwarded by email through the outbox: from a customer logged in,
    or from someone logged out who left an email to reply to or proved a number by SMS code."""

    class Topic(models.TextChoices):
        RENEWING = "renewing", _("Renewing or changing my plan")
        PAYING = "paying", _("Paying or a refund")
        ESIM = "esim", _("Installing the eSIM")
        DATA = "data", _("Data, calls or texts")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for an answer")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="support_requests"
    )
    # Who to answer when no one was logged in: an email, or a number proven by an SMS code.
    contact_email = models.EmailField(_("email"), blank=True)
    contact_phone = PhoneNumberField(_("mobile number"), blank=True)
    line = models.ForeignKey(Line, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    topic = models.CharField(_("topic"), max_length=16, choices=Topic.choices)
    message = models.TextField(_("message"), max_length=4000)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    # The form's own token: the same form posted again (a retry after an error) finds the request
    # it already made instead of making, and emailing, a second one.
    token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | ~models.Q(contact_email="") | ~models.Q(contact_phone=""),
                name="accounts_supportrequest_has_someone_to_answer",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic}"

    @property
    def reference(self) -> str:
        return f"S{self.pk:06d}"


class EnrolmentCode(models.Model):
    """A one-time code that lets one staff member set up their authenticator app: with the
    password alone, a staff account cannot get into the admin.

    Made by another staff member in the admin (``created_by``) or on the server with
    ``manage.py staff_enrolment_code`` (no ``created_by``). Only a keyed hash is stored. It is
    held for the authenticator being set up (``device``) and used up when that one is confirmed;
    it expires ``LIFETIME`` after it was made.
    """

    LIFETIME = timedelta(hours=24)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_codes", verbose_name=_("staff")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("made by"),
    )
    code_hash = models.CharField(max_length=64, unique=True)
    device = models.ForeignKey(
        "otp_totp.TOTPDevice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("made at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment code")
        verbose_name_plural = _("enrolment codes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class DemoAccount(models.Model):
    """An account that ``manage.py seed_demo`` created, and so may reset: it never touches any
    other account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="demo_account"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.user)
