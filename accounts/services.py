"""Every write on customers, their codes and their lines. Each function is one transaction."""

from __future__ import annotations

import csv
import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from phonenumber_field.phonenumber import PhoneNumber

from accounts.enrolment import enrolment_code_hold, enrolment_code_use
from accounts.models import Line, Notice, Registration, SmsCode, User
from accounts.page_cache import customers_changed
from accounts.security_notices import security_notice_create
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


def user_preferences_update(*, user: User, language: str, time_zone: str) -> User:
    """Language and time zone; the email changes through accounts.email_change."""
    user.language = language
    user.time_zone = time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


def user_language_set(*, user: User, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)
    customers_changed([user.pk])


# --- Two-step log-in (django-otp) ----------------------------------------------------------

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


# --- Lines ----------------------------------------------------------------------------------


def _claimable_line(*, user: User, msisdn: PhoneNumber) -> Line:
    line = Line.objects.filter(msisdn=msisdn).first()
    if line is not None and line.owner_id == user.pk:
        raise ValidationError(_("This line is already on your account."), code="already_yours")
    if line is None or line.status != Line.Status.AVAILABLE:
        # One answer for "not ours" and "someone else's": a number's owner is nobody else's business.
        raise ValidationError(_("This number is not a Boom line that can be added."), code="not_claimable")
    return line


def line_claim_start(*, user: User, msisdn: PhoneNumber, client_address: str = "") -> None:
    """Send a code to the line's own number, to prove the customer holds it."""
    _claimable_line(user=user, msisdn=msisdn)
    sms_code_send(
        phone=msisdn,
        purpose=SmsCode.Purpose.ADD_LINE,
        user=user,
        language=user.language,
        client_address=client_address,
    )


def line_claim_confirm(*, user: User, msisdn: PhoneNumber, code: str, nickname: str = "") -> Line:
    """Give the line to ``user`` once the code sent to it is right. Safe against a race: the line
    row is locked and must still be unowned."""
    _claimable_line(user=user, msisdn=msisdn)
    sms_code = sms_code_check(phone=msisdn, purpose=SmsCode.Purpose.ADD_LINE, code=code)
    if sms_code.user_id != user.pk:
        raise ValidationError(_("There is no code waiting for this number. Ask for a new one."), code="no_code")
    with transaction.atomic():
        line = Line.objects.select_for_update().get(msisdn=msisdn)
        if line.owner_id is not None:
            raise ValidationError(_("This number is not a Boom line that can be added."), code="not_claimable")
        line.owner = user
        line.status = Line.Status.ACTIVE
        line.nickname = nickname
        line.added_at = timezone.now()
        line.save(update_fields=["owner", "status", "nickname", "added_at"])
    return line


def line_rename(*, line: Line, nickname: str) -> Line:
    line.nickname = nickname
    line.save(update_fields=["nickname"])
    return line


# --- Importing lines ------------------------------------------------------------------------

LINE_IMPORT_COLUMNS = ("msisdn", "iccid", "eid", "smdp_address", "matching_id")


@dataclass
class LineImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def lines_import_csv(*, rows: Iterable[Mapping[str, str | None]]) -> LineImportReport:
    """Import unowned lines from CSV rows (header: msisdn, iccid, eid, smdp_address, matching_id).

    Each good row is saved on its own, so bad rows (reported with their row number in the file,
    the header being row 1) leave the good ones in place. A row identical to a stored line
    changes nothing, so importing the same file twice gives the same result; a row that changes
    a line already in a customer's hands is refused.
    """
    from accounts.forms import LineImportForm

    report = LineImportReport()
    seen: dict[str, int] = {}
    for row_number, row in enumerate(rows, start=2):
        data = {column: (row.get(column) or "").strip() for column in LINE_IMPORT_COLUMNS}
        iccid = data["iccid"]
        if iccid and iccid in seen:
            report.errors.append((row_number, _("ICCID repeats row %(row)d.") % {"row": seen[iccid]}))
            continue
        seen[iccid] = row_number
        existing = Line.objects.filter(iccid=iccid).first() if iccid else None
        form = LineImportForm(data, instance=existing)
        if not form.is_valid():
            report.errors.append((row_number, _flatten_errors(form.errors)))
            continue
        if existing is not None and not form.has_changed():
            report.unchanged += 1
            continue
        if existing is not None and existing.owner_id is not None:
            report.errors.append((row_number, _("This line belongs to a customer; change it in the admin.")))
            continue
        try:
            with transaction.atomic():
                form.save()
        except IntegrityError:
            report.errors.append((row_number, _("Conflicts with a line already stored.")))
            continue
        if existing is None:
            report.created += 1
        else:
            report.updated += 1
    return report


def _flatten_errors(errors: Mapping[str, Any]) -> str:
    parts = []
    for name, messages in errors.items():
        label = name if name != "__all__" else ""
        parts.append(f"{label}: {' '.join(messages)}" if label else " ".join(messages))
    return "; ".join(parts)


def read_line_csv(handle: Iterable[str]) -> csv.DictReader[str]:
    reader = csv.DictReader(handle)
    missing = [c for c in ("msisdn", "iccid", "smdp_address", "matching_id") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationError(
            _("The CSV header lacks: %(columns)s.") % {"columns": ", ".join(missing)}, code="bad_header"
        )
    return reader


# --- Notices --------------------------------------------------------------------------------


def notice_mark_read(*, user: User, notice_ids: list[int] | None = None) -> int:
    """Mark the customer's notices read (all of them when no ids are given)."""
    notices = Notice.objects.filter(user=user, read_at__isnull=True)
    if notice_ids is not None:
        notices = notices.filter(pk__in=notice_ids)
    marked = notices.update(read_at=timezone.now())
    customers_changed([user.pk])
    return marked
