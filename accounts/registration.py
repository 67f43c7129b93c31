"""Registering a number, and proving it with the code sent to it.

Each attempt is a ``Registration``: the password (as a hash), the email and the language are
kept with it and with the codes sent for it, not on an account. The account is made from an
attempt only when one of that attempt's own codes is entered, so a second attempt for the same
number can neither change the first one's data nor use its code.

The register page answers the same whether or not the number (or the email) already has an
account, and does the same work: a number that has one is sent a warning instead of a code
(stored as a code nobody knows, so that the limits and the verify page behave alike), and the
account that holds the email is warned by SMS after the request.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import PhoneNumber

from accounts.email_change import email_change_request
from accounts.models import Registration, SmsCode, User
from accounts.services import sms_code_check, sms_code_send
from accounts.sms import SmsError, send_sms
from boomcard.page_cache import customers_changed
from boomcard.ratelimit import RateLimited
from boomcard.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)


def _account(phone: PhoneNumber) -> User | None:
    """The account that holds ``phone``: only a verified number makes one."""
    return User.objects.filter(phone=phone, phone_verified_at__isnull=False).first()


def _login_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('accounts:login')}"


def _number_taken_text(language: str) -> str:
    with translation.override(language or translation.get_language()):
        return _(
            "Someone tried to register a new Boom account with this number, which already has one. "
            "If it was you, log in or reset your password at %(url)s. If not, ignore this message."
        ) % {"url": _login_url()}


def _code_send(*, registration: Registration, client_address: str) -> None:
    """A code for ``registration``, or, if its number already has an account, a warning to that
    number in place of the code."""
    account = _account(registration.phone)
    sms_code_send(
        phone=registration.phone,
        purpose=SmsCode.Purpose.REGISTER,
        registration=registration,
        language=registration.language,
        client_address=client_address,
        instead=None if account is None else _number_taken_text(account.language or registration.language),
    )


def registration_start(
    *, phone: PhoneNumber, password: str, email: str = "", language: str = "", client_address: str = ""
) -> Registration:
    """Keep a registration attempt and send its code.

    Answers (and works) the same for a number or an email that already has an account: that
    number gets a warning instead of a code, and the account with that email is warned by SMS
    after the commit. The SMS code limits refuse (ValidationError) in the same way for every
    number. Nothing is kept when the code cannot be sent.
    """
    email = User.objects.normalize_email(email)
    validate_password(password, User(phone=phone, email=email))
    with transaction.atomic():
        registration = Registration.objects.create(
            phone=phone, password=make_password(password), email=email, language=language
        )
        _code_send(registration=registration, client_address=client_address)
        email_owner = (
            User.objects.filter(email__iexact=email, phone_verified_at__isnull=False).exclude(phone=phone).first()
            if email
            else None
        )
        if email_owner is not None:
            from accounts.tasks import email_in_use_warn_task  # the tasks module imports this one

            # Off the request, so that the page takes the same time whether the email is in use
            # or not. If the broker cannot take it, the warning is dropped.
            enqueue_on_commit(email_in_use_warn_task, email_owner.pk)
    return registration


def registration_code_resend(*, registration: Registration, client_address: str = "") -> None:
    """A new code for the attempt (the SMS code limits apply)."""
    _code_send(registration=registration, client_address=client_address)


def registration_resume(*, user: User, client_address: str = "") -> tuple[Registration, ValidationError | None]:
    """An attempt to verify an account left unverified by the registrations of before
    ``Registration`` (its holder has just given its password): its data, and a code.

    Returns the attempt and, if the code could not be sent, why; the attempt is kept either way,
    so that a new code can be asked for on the verify page.
    """
    registration = Registration.objects.create(
        phone=user.phone, password=user.password, email=user.email, language=user.language
    )
    try:
        _code_send(registration=registration, client_address=client_address)
    except ValidationError as error:
        return registration, error
    except RateLimited as limited:
        return registration, ValidationError(str(limited.message))
    return registration, None


def registration_pending(*, registration_id: int) -> Registration | None:
    """The attempt still waiting for its code, if any."""
    return Registration.objects.filter(pk=registration_id, completed_at__isnull=True).first()


def registration_complete(*, registration: Registration, code: str) -> User:
    """Make the account from the attempt once one of its own codes is right.

    The account gets this attempt's password and language, and its email as the address waiting
    for confirmation (a link is sent to it), and nothing from any other attempt. An account left
    unverified from before is taken over by it (the code proves who holds the number); a
    verified one is not (``registered``). An email that another account took meanwhile is left
    out.
    """
    sms_code_check(phone=registration.phone, purpose=SmsCode.Purpose.REGISTER, code=code, registration=registration)
    now = timezone.now()
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.completed_at is not None:
            raise ValidationError(_("There is no code waiting for this number. Ask for a new one."), code="no_code")
        user = User.objects.select_for_update().filter(phone=registration.phone).first()
        if user is not None and user.phone_verified:
            raise ValidationError(_("This number already has an account. Log in instead."), code="registered")
        user = user or User(phone=registration.phone)
        user.password = registration.password
        user.language = registration.language
        user.phone_verified_at = now
        # The email, like any new address, is used only once its link is followed: it waits as
        # the pending address, and the link goes to it with this commit (accounts.email_change).
        user.email = ""
        user.save()
        email_taken = User.objects.filter(email__iexact=registration.email).exclude(pk=user.pk).exists()
        if registration.email and not email_taken:
            user = email_change_request(user=user, email=registration.email)
        registration.completed_at = now
        registration.password = ""
        registration.save(update_fields=["completed_at", "password"])
    customers_changed([user.pk])
    return user


# --- The warning to the account whose email someone registered with ---------------------------


def email_in_use_warn(*, user_id: int) -> None:
    """Tell the account's number that someone registered with its email. Best effort: a failed
    SMS is logged, not retried (it is a courtesy, and the registration got no further)."""
    user = User.objects.filter(pk=user_id, phone_verified_at__isnull=False).first()
    if user is None:
        return
    with translation.override(user.language or settings.LANGUAGE_CODE):
        body = _(
            "Someone tried to register a new Boom account with your email address. If it was you, "
            "log in or reset your password at %(url)s. If not, ignore this message."
        ) % {"url": _login_url()}
    try:
        send_sms(to=str(user.phone.as_e164), body=body)
    except SmsError as error:
        logger.warning("email-in-use warning to user %s not sent (%r)", user_id, error)
