"""Two-step log-in (django-otp): setting up the authenticator app, the recovery codes, checking a
code, turning it off. Each function is one transaction."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.enrolment import enrolment_code_hold, enrolment_code_use
from accounts.models import Notice, User
from accounts.security_notices import security_notice_create

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_CODES_NAME = "Recovery codes"


def recovery_code_clean(code: str) -> str:
    """A recovery code as stored: lower case, without the spaces or dashes people type."""
    return "".join(code.split()).replace("-", "").lower()


def two_factor_setup_start(*, user: User, enrolment_code: str = "") -> TOTPDevice:
    """A new authenticator for ``user``, not yet confirmed (one left half set up is replaced).

    Refused (code ``already_on``) while two-step log-in is on: turn it off first. Staff need a
    live ``enrolment_code`` of theirs (else ``enrolment_code``), held for this authenticator.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise ValidationError(_("Two-step log-in is already on."), code="already_on")
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
        if user.is_staff:
            enrolment_code_hold(user=user, code=enrolment_code, device=device)
        return device


def two_factor_setup_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn two-step log-in on once the first code from the app is right.

    Returns the authenticator and ``RECOVERY_CODE_COUNT`` fresh recovery codes, each good for
    one log-in; they are shown to the customer once. Staff use up the enrolment code held for
    it (ValidationError ``enrolment_code`` when it is no longer live). A wrong code is counted by the device
    (it makes the next try wait) and raises ValidationError (``wrong`` or ``throttled``).
    """
    error: ValidationError | None = None
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
        if device is None:
            raise ValidationError(_("Start the set-up again."), code="no_device")
        error = _device_verify(device, code)
        if error is None:
            if user.is_staff:
                enrolment_code_use(user=user, device=device)
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            StaticDevice.objects.filter(user=user).delete()
            recovery = StaticDevice.objects.create(user=user, name=RECOVERY_CODES_NAME, confirmed=True)
            codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
            StaticToken.objects.bulk_create([StaticToken(device=recovery, token=code) for code in codes])
            security_notice_create(user=user, kind=Notice.Kind.TWO_FACTOR_ON)
            return device, codes
    raise error


def two_factor_verify(*, user: User, code: str) -> Device:
    """The device that accepts ``code``: the authenticator for six digits, else the recovery
    codes, each of which works once (it is deleted as it is used).

    ValidationError ``throttled`` while the device makes the customer wait after wrong codes
    (nothing is tried or counted), ``wrong`` otherwise; a wrong code is counted (committed).
    """
    code = recovery_code_clean(code)
    # Six digits are the app's code; recovery codes have eight characters.
    is_app_code = len(code) == 6 and code.isascii() and code.isdigit()
    model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if is_app_code else StaticDevice
    error: ValidationError | None = None
    with transaction.atomic():
        # Locked, so that one recovery code cannot log in twice at the same moment.
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None:
            raise _wrong_code()
        error = _device_verify(device, code)
        if error is None:
            return device
    raise error


def two_factor_disable(*, user: User, code: str) -> None:
    """Turn two-step log-in off: a current code (or a recovery code) is needed, and then the
    authenticator and the recovery codes are deleted, and the customer told."""
    two_factor_verify(user=user, code=code)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        security_notice_create(user=user, kind=Notice.Kind.TWO_FACTOR_OFF)


def _device_verify(device: TOTPDevice | StaticDevice, code: str) -> ValidationError | None:
    """None if ``device`` accepts ``code``; else the error to raise once the transaction has
    committed the device's count of wrong codes."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        locked_until = (details or {}).get("locked_until")
        seconds = max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1
        return ValidationError(
            ngettext(
                "Too many wrong codes. Please wait %(seconds)d second and try again.",
                "Too many wrong codes. Please wait %(seconds)d seconds and try again.",
                seconds,
            )
            % {"seconds": seconds},
            code="throttled",
        )
    if device.verify_token(code):
        return None
    return _wrong_code()


def _wrong_code() -> ValidationError:
    return ValidationError(_("That code is not right."), code="wrong")
