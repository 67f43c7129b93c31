"""People: the customer (the phone number is the log-in), registration attempts, SMS codes, staff
enrolment codes and the demo's own accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


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

    phone = PhoneNumberField(_("mobile number"))
    password = models.CharField(_("password"), max_length=128)
    email = models.EmailField(_("email"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")

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

    phone = PhoneNumberField(_("mobile number"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("customer")
    )
    # A registration code proves its own attempt only.
    registration = models.ForeignKey(
        Registration,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="codes",
        verbose_name=_("registration"),
    )
    code_hash = models.CharField(_("code (hashed)"), max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        indexes = [models.Index(fields=["phone", "-created_at"], name="accounts_smscode_phone_recent")]

    def __str__(self) -> str:
        return f"{self.phone} {self.purpose} {self.created_at:%Y-%m-%d %H:%M}"


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
    code_hash = models.CharField(_("code (hashed)"), max_length=64, unique=True)
    device = models.ForeignKey(
        "otp_totp.TOTPDevice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("authenticator app"),
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
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="demo_account",
        verbose_name=_("customer"),
    )
    created_at = models.DateTimeField(_("made at"), default=timezone.now)

    class Meta:
        verbose_name = _("demo account")
        verbose_name_plural = _("demo accounts")

    def __str__(self) -> str:
        return str(self.user)
