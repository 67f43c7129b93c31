"""Resetting a forgotten password with a code sent by SMS.

A number without an account gets the same answers as one with: a code is recorded for it (one
nobody knows, and no SMS is sent), so the number's limits count it and the confirm page counts
wrong codes for it in the same way.
"""

from __future__ import annotations

import math

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from phonenumber_field.phonenumber import PhoneNumber

from accounts.lockout import login_failures_forget
from accounts.models import Notice, SmsCode, User
from accounts.security_notices import security_notice_create
from accounts.services import sms_code_check, sms_code_send
from boomcard.ratelimit import rate_limit_check


def _account(phone: PhoneNumber) -> User | None:
    return User.objects.filter(phone=phone, phone_verified_at__isnull=False, is_active=True).first()


def _too_many_resets(wait: int) -> str:
    minutes = math.ceil(wait / 60)
    return ngettext(
        "Too many password resets were asked for from your network. Please try again in %(minutes)d minute.",
        "Too many password resets were asked for from your network. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def password_reset_request(*, phone: PhoneNumber, language: str = "", client_address: str = "") -> None:
    """Send a reset code if the number has an account; answer the same either way.

    Refuses (``RateLimited``) past the ``password_reset`` limit of ``client_address``, when given.
    Without an account nothing is sent, but a code nobody knows is stored: the limits per number
    (``too_soon``, ``too_many``) and per address (``RateLimited``) count it as a real one.
    """
    if client_address:
        rate_limit_check(name="password_reset", key=client_address, message=_too_many_resets)
    user = _account(phone)
    sms_code_send(
        phone=phone,
        purpose=SmsCode.Purpose.PASSWORD_RESET,
        user=user,
        language=language,
        client_address=client_address,
        instead=None if user is not None else "",
    )


def password_reset_confirm(*, phone: PhoneNumber, code: str, password: str) -> User:
    """Set a new password for the account behind ``phone`` once the reset code is right, and
    lift any lockout of the account: an SMS code always lets the owner back in. The customer is
    told (notice and email) in the same transaction.

    The code is checked before the account is looked for, so a number without an account gets
    the same "not right, n tries left" answers as one with; the password is checked against the
    number only, for the same reason.
    """
    validate_password(password, User(phone=phone))
    sms_code_check(phone=phone, purpose=SmsCode.Purpose.PASSWORD_RESET, code=code)
    with transaction.atomic():
        user = _account(phone)
        if user is None:  # closed between the code and now
            raise ValidationError(_("There is no code waiting for this number. Ask for a new one."), code="no_code")
        user.set_password(password)
        user.save(update_fields=["password"])
        security_notice_create(user=user, kind=Notice.Kind.PASSWORD_RESET)
    login_failures_forget(user=user)
    return user
