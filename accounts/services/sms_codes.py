"""The SMS codes that prove a customer holds a number: sending one (within the limits) and
checking it. Each function is one transaction."""

from __future__ import annotations

import math
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from phonenumber_field.phonenumber import PhoneNumber

from accounts.models import Registration, SmsCode, User
from accounts.sms import SmsError, send_sms
from boomcard.ratelimit import rate_limit_check

CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_AFTER = timedelta(seconds=60)
CODE_MAX_PER_HOUR = 5


def _code_hash(*, phone: PhoneNumber, purpose: str, code: str) -> str:
    return salted_hmac(f"boom.smscode.{purpose}", f"{phone.as_e164}:{code}", algorithm="sha256").hexdigest()


def _sms_text(purpose: str, code: str) -> str:
    if purpose == SmsCode.Purpose.REGISTER:
        return _("Your Boom registration code is %(code)s. It is valid for 10 minutes.") % {"code": code}
    if purpose == SmsCode.Purpose.PASSWORD_RESET:
        return _("Your Boom password reset code is %(code)s. It is valid for 10 minutes.") % {"code": code}
    if purpose == SmsCode.Purpose.SUPPORT:
        return _("Your code to write to Boom support is %(code)s. It is valid for 10 minutes.") % {"code": code}
    return _("Your code to add this number to a Boom account is %(code)s. It is valid for 10 minutes.") % {"code": code}


def _too_many_codes(wait: int) -> str:
    minutes = math.ceil(wait / 60)
    return ngettext(
        "Too many codes were asked for from your network. Please try again in %(minutes)d minute.",
        "Too many codes were asked for from your network. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def sms_code_send(
    *,
    phone: PhoneNumber,
    purpose: str,
    user: User | None = None,
    language: str | None = None,
    client_address: str = "",
    registration: Registration | None = None,
    instead: str | None = None,
) -> SmsCode:
    """Send a fresh code to ``phone`` and store its hash.

    With ``instead``, that text is sent in place of a code (nothing is sent when it is empty)
    and the stored code is one nobody knows: the limits count it and the answers are those of a
    real code, so that a page cannot tell a number with an account from one without.

    Refuses (ValidationError, code ``too_soon`` or ``too_many``) a second code within
    ``CODE_RESEND_AFTER`` or a sixth within an hour for the same number, whatever the purpose;
    and (``RateLimited``) more than the ``sms`` rate limit from one
    ``client_address``, whatever the numbers, when the request's address is given. Nothing is
    stored when the SMS gateway fails.
    """
    now = timezone.now()
    with transaction.atomic():
        # Serialise senders for one number, so that two quick requests cannot both pass the limits.
        recent = list(
            SmsCode.objects.select_for_update()
            .filter(phone=phone, created_at__gte=now - timedelta(hours=1))
            .order_by("-created_at")
        )
        if recent and now - recent[0].created_at < CODE_RESEND_AFTER:
            wait = int((CODE_RESEND_AFTER - (now - recent[0].created_at)).total_seconds()) + 1
            raise ValidationError(
                ngettext(
                    "A code was just sent. You can ask for another in %(seconds)d second.",
                    "A code was just sent. You can ask for another in %(seconds)d seconds.",
                    wait,
                )
                % {"seconds": wait},
                code="too_soon",
            )
        if len(recent) >= CODE_MAX_PER_HOUR:
            raise ValidationError(
                _("Too many codes were sent to this number. Please try again in an hour."), code="too_many"
            )
        if client_address:
            rate_limit_check(name="sms", key=client_address, message=_too_many_codes)
        code = f"{secrets.randbelow(1_000_000):06d}"
        sms_code = SmsCode.objects.create(
            phone=phone,
            purpose=purpose,
            user=user,
            registration=registration,
            # A hash of six digits is hex: "-" makes one that no code matches.
            code_hash=_code_hash(phone=phone, purpose=purpose, code=code) if instead is None else "-",
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
        # Sent inside the transaction: if the gateway refuses, no code is stored or counted.
        with translation.override(language or translation.get_language()):
            body = _sms_text(purpose, code) if instead is None else instead
        try:
            if body:
                send_sms(to=str(phone.as_e164), body=body)
        except SmsError as exc:
            raise ValidationError(
                _("We could not send the SMS just now. Please try again in a minute."), code="sms_failed"
            ) from exc
    return sms_code


def sms_code_check(*, phone: PhoneNumber, purpose: str, code: str, registration: Registration | None = None) -> SmsCode:
    """Use up the newest code for ``phone``, ``purpose`` and ``registration`` if ``code`` matches it.

    A wrong try is counted (and committed) before the error is raised; after ``CODE_MAX_ATTEMPTS``
    wrong tries, or after expiry, the code is dead and the customer must ask for another.
    """
    error: ValidationError | None = None
    with transaction.atomic():
        sms_code = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, purpose=purpose, registration=registration, used_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if sms_code is None:
            raise ValidationError(_("There is no code waiting for this number. Ask for a new one."), code="no_code")
        if sms_code.expires_at <= timezone.now():
            raise ValidationError(_("This code has expired. Ask for a new one."), code="expired")
        if sms_code.attempts >= CODE_MAX_ATTEMPTS:
            raise ValidationError(_("Too many wrong tries. Ask for a new code."), code="too_many_attempts")
        if constant_time_compare(sms_code.code_hash, _code_hash(phone=phone, purpose=purpose, code=code.strip())):
            sms_code.used_at = timezone.now()
            sms_code.save(update_fields=["used_at"])
            return sms_code
        sms_code.attempts += 1
        sms_code.save(update_fields=["attempts"])
        left = CODE_MAX_ATTEMPTS - sms_code.attempts
        if left:
            error = ValidationError(
                ngettext(
                    "That code is not right. %(left)d try left.", "That code is not right. %(left)d tries left.", left
                )
                % {"left": left},
                code="wrong",
            )
        else:
            error = ValidationError(_("Too many wrong tries. Ask for a new code."), code="too_many_attempts")
    raise error
