"""Enrolment codes: what a staff member needs, besides the password, to set up the
authenticator app that lets them into the admin.

``two_factor_setup_start`` holds a code for the authenticator it makes (``enrolment_code_hold``)
and ``two_factor_setup_confirm`` uses it up when that authenticator is confirmed
(``enrolment_code_use``), in their own transactions. Customers set up two-step log-in without one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import EnrolmentCode, User

# Readable, unambiguous letters and digits (no 0/O, 1/I/L): 16 of them are 78 bits.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 16


@dataclass(frozen=True)
class NewEnrolmentCode:
    """A code just made: ``code`` is shown once and stored only as a hash."""

    user: User
    code: str
    expires_at: datetime


def enrolment_code_clean(code: str) -> str:
    """A code as hashed: upper case, without the spaces or dashes people type."""
    return "".join(code.split()).replace("-", "").upper()


def _code_hash(code: str) -> str:
    return salted_hmac("boom.enrolment_code", enrolment_code_clean(code), algorithm="sha256").hexdigest()


def enrolment_code_create(*, user: User, created_by: User | None = None) -> NewEnrolmentCode:
    """A new one-time code for staff member ``user``, valid for ``EnrolmentCode.LIFETIME``; any
    code of theirs not used yet stops working, so only the newest one is live.

    Refused (ValidationError ``not_staff``) for an account that is not active staff.
    """
    if not (user.is_active and user.is_staff):
        raise ValidationError(
            _("%(user)s is not an active staff member: enrolment codes are for staff.") % {"user": user},
            code="not_staff",
        )
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    code = "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        EnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        made = EnrolmentCode.objects.create(
            user=user,
            created_by=created_by,
            code_hash=_code_hash(code),
            created_at=now,
            expires_at=now + EnrolmentCode.LIFETIME,
        )
    return NewEnrolmentCode(user=user, code=code, expires_at=made.expires_at)


def enrolment_code_hold(*, user: User, code: str, device: TOTPDevice) -> EnrolmentCode:
    """Hold ``user``'s code for the authenticator ``device`` being set up. Call it inside the
    transaction that makes ``device``, with ``user`` locked.

    ValidationError ``enrolment_code`` if the code is missing, not ``user``'s, used or expired.
    """
    now = timezone.now()
    cleaned = enrolment_code_clean(code)
    found = (
        EnrolmentCode.objects.select_for_update().filter(user=user, code_hash=_code_hash(cleaned)).first()
        if cleaned
        else None
    )
    if found is None:
        if not cleaned:
            message = _("Staff need an enrolment code to set up two-step log-in. Ask another staff member for one.")
        else:
            message = _("That enrolment code is not right.")
        raise ValidationError(message, code="enrolment_code")
    if found.used_at is not None:
        raise ValidationError(
            _("That enrolment code was used already. Ask another staff member for a new one."), code="enrolment_code"
        )
    if found.expires_at <= now:
        raise ValidationError(
            _("That enrolment code has expired. Ask another staff member for a new one."), code="enrolment_code"
        )
    found.device = device
    found.save(update_fields=["device"])
    return found


def enrolment_code_use(*, user: User, device: TOTPDevice) -> None:
    """Use up the code held for ``device`` as it is confirmed. Call it inside the transaction that
    confirms it, with ``user`` locked.

    ValidationError ``enrolment_code`` if no live code is held for it (it expired meanwhile, or
    a newer code was made).
    """
    now = timezone.now()
    updated = EnrolmentCode.objects.filter(user=user, device=device, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if not updated:
        raise ValidationError(
            _("Your enrolment code has expired. Ask another staff member for a new one and start again."),
            code="enrolment_code",
        )
